"""A lean async client for the few Kubernetes calls the API makes.

Configuration and credentials come from ``kubernetes_asyncio`` (kubeconfig or in-cluster,
including the in-cluster token refresh hook); requests go through one aiohttp session with
bodies serialised by orjson, because this is the hot path of every SCIM write and of every
watch event.

Errors form a small tree, each carrying the API server's ``Status`` body::

    KubeError                     any non-2xx answer or transport failure
    ├── NotFound                  404
    ├── AlreadyExists             409, reason AlreadyExists (create of a taken name)
    ├── Conflict                  409, reason Conflict (stale resourceVersion / precondition)
    ├── Gone                      410 (watch resourceVersion too old: relist)
    ├── Invalid                   422 (schema validation by the API server)
    ├── Forbidden                 401/403
    └── Unavailable               429, 5xx, timeouts, connection errors (retryable)
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

from zero_scim.kube.coordinates import GROUP, VERSION, Kind

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


class KubeError(Exception):
    def __init__(self, status: int, message: str, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body: Mapping[str, Any] = body or {}

    @property
    def reason(self) -> str:
        return str(self.body.get("reason", ""))


class NotFound(KubeError):
    pass


class AlreadyExists(KubeError):
    pass


class Conflict(KubeError):
    pass


class Gone(KubeError):
    pass


class Invalid(KubeError):
    pass


class Forbidden(KubeError):
    pass


class Unavailable(KubeError):
    pass


def error_for(status: int, body: Mapping[str, Any]) -> KubeError:
    message = str(body.get("message", "")) or f"HTTP {status}"
    if status == 404:
        return NotFound(status, message, body)
    if status == 409:
        if body.get("reason") == "AlreadyExists":
            return AlreadyExists(status, message, body)
        return Conflict(status, message, body)
    if status == 410:
        return Gone(status, message, body)
    if status == 422:
        return Invalid(status, message, body)
    if status in (401, 403):
        return Forbidden(status, message, body)
    if status == 429 or status >= 500:
        return Unavailable(status, message, body)
    return KubeError(status, message, body)


def resource_path(
    kind: Kind,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    path = f"/apis/{GROUP}/{VERSION}"
    if kind.namespaced and namespace is not None:
        path += f"/namespaces/{namespace}"
    path += f"/{kind.plural}"
    if name is not None:
        path += f"/{name}"
        if subresource is not None:
            path += f"/{subresource}"
    return path


def secrets_path(namespace: str, name: str | None = None) -> str:
    path = f"/api/v1/namespaces/{namespace}/secrets"
    return path if name is None else f"{path}/{name}"


class KubeApi:
    """Requests and watches against one API server."""

    def __init__(self, configuration: k8s_client.Configuration, *, timeout: float = 30.0):
        self._configuration = configuration
        self._host = configuration.host.rstrip("/")
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    async def connect(cls, kubeconfig: Path | None = None, *, timeout: float = 30.0) -> KubeApi:
        """Load credentials from ``kubeconfig``, else in-cluster, else the default kubeconfig."""
        configuration = k8s_client.Configuration()
        if kubeconfig is not None:
            await k8s_config.load_kube_config(
                config_file=str(kubeconfig), client_configuration=configuration
            )
        else:
            try:
                k8s_config.load_incluster_config(client_configuration=configuration)
            except k8s_config.ConfigException:
                await k8s_config.load_kube_config(client_configuration=configuration)
        return cls(configuration, timeout=timeout)

    def _ssl_context(self) -> ssl.SSLContext:
        cfg = self._configuration
        context = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
        if cfg.cert_file:
            context.load_cert_chain(cfg.cert_file, keyfile=cfg.key_file)
        if not cfg.verify_ssl:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, ssl=self._ssl_context())
            # Watch events can carry objects up to etcd's 1.5 MiB limit.
            self._session = aiohttp.ClientSession(connector=connector, read_bufsize=2**21)
        return self._session

    async def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": JSON}
        if content_type:
            headers["Content-Type"] = content_type
        auth = await self._configuration.auth_settings()
        bearer = auth.get("BearerToken")
        if bearer and bearer.get("value"):
            headers["Authorization"] = bearer["value"]
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = JSON,
    ) -> dict[str, Any]:
        data = None if body is None else orjson.dumps(body)
        headers = await self._headers(content_type if data is not None else None)
        try:
            async with self._get_session().request(
                method,
                self._host + path,
                params=params,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise Unavailable(0, f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        parsed: dict[str, Any] = {}
        if raw:
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                parsed = {"message": raw[:500].decode("utf-8", "replace")}
        if status >= 300:
            raise error_for(status, parsed)
        return parsed

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return await self.request("GET", path, params=params)

    async def create(self, path: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("POST", path, body=obj)

    async def replace(self, path: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("PUT", path, body=obj)

    async def merge_patch(self, path: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("PATCH", path, body=patch, content_type=MERGE_PATCH)

    async def delete(
        self, path: str, *, uid: str | None = None, resource_version: str | None = None
    ) -> dict[str, Any]:
        preconditions: dict[str, str] = {}
        if uid:
            preconditions["uid"] = uid
        if resource_version:
            preconditions["resourceVersion"] = resource_version
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if preconditions:
            body["preconditions"] = preconditions  # type: ignore[assignment]
        return await self.request("DELETE", path, body=body)

    async def list_pages(
        self, path: str, params: Mapping[str, str] | None = None, *, limit: int = 500
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """Yield (items, resourceVersion) page by page (``limit``/``continue``)."""
        query = dict(params or {})
        query["limit"] = str(limit)
        while True:
            page = await self.get(path, query)
            metadata = page.get("metadata", {})
            yield page.get("items", []), str(metadata.get("resourceVersion", ""))
            token = metadata.get("continue")
            if not token:
                return
            query["continue"] = token

    async def watch(
        self,
        path: str,
        *,
        resource_version: str,
        params: Mapping[str, str] | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield raw watch events (``{"type": ..., "object": ...}``) until the server ends it.

        ``ERROR`` events are turned into exceptions (410 → :class:`Gone`).
        """
        query = dict(params or {})
        query.update(
            {
                "watch": "true",
                "resourceVersion": resource_version,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": str(timeout_seconds),
            }
        )
        headers = await self._headers(None)
        # No total timeout: a watch is long-lived. A read timeout longer than the server's
        # own timeoutSeconds catches a silently stalled stream.
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self._timeout, sock_read=timeout_seconds + 30
        )
        try:
            async with self._get_session().get(
                self._host + path, params=query, headers=headers, timeout=timeout
            ) as resp:
                if resp.status >= 300:
                    raw = await resp.read()
                    try:
                        body = orjson.loads(raw) if raw else {}
                    except orjson.JSONDecodeError:
                        body = {}
                    raise error_for(resp.status, body)
                buffer = b""
                async for chunk in resp.content.iter_any():
                    buffer += chunk
                    while True:
                        newline = buffer.find(b"\n")
                        if newline < 0:
                            break
                        line, buffer = buffer[:newline], buffer[newline + 1 :]
                        if not line.strip():
                            continue
                        event = orjson.loads(line)
                        if event.get("type") == "ERROR":
                            status = event.get("object", {})
                            raise error_for(int(status.get("code", 500)), status)
                        yield event
        except (TimeoutError, aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise Unavailable(0, f"watch {path}: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
