"""The one Kubernetes client of zero-scim: aiohttp + orjson, typed by :class:`Kind`.

Every SCIM write of the API and every watch event it indexes goes through here, so the
transport is lean: one ``aiohttp`` session (one connection pool, TLS set up once),
bodies serialised and parsed by orjson, no generated models, nothing per call beyond
building the path, asking the credentials for the header (a cached value; see
:mod:`zero_scim.kube.config`) and the request itself. Answers are the TypedDicts of
:mod:`zero_scim.kube.objects`; failures are the tree of :mod:`zero_scim.kube.errors`.

Each call takes ``timeout`` (seconds, the whole call); without it the client's
``timeout`` applies, which the caller sets once (``KubeClient(config, timeout=10)``).
Watches have no total timeout: they are bounded by the server's ``timeoutSeconds`` and
a read timeout slightly longer than that, which also catches a silently stalled stream.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Literal, cast

import aiohttp
import orjson

from zero_scim.jsondata import JsonMapping, JsonObject
from zero_scim.kube.config import KubeConfig, load_config
from zero_scim.kube.coordinates import Kind
from zero_scim.kube.errors import (
    NotFound,
    RequestInfo,
    Unavailable,
    error_for,
    parse_retry_after,
)
from zero_scim.kube.objects import ObjectList, ObjectT, Status, WatchEvent

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
DEFAULT_TIMEOUT = 30.0
#: Watch events can carry objects up to etcd's 1.5 MiB limit.
READ_BUFFER = 2**21

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class KubeClient:
    """Requests and watches against one API server, through one pooled session."""

    def __init__(
        self, config: KubeConfig, *, timeout: float = DEFAULT_TIMEOUT, pool_limit: int = 0
    ) -> None:
        self.config = config
        #: The default timeout of every call (seconds); a call's ``timeout`` overrides it.
        self.timeout = timeout
        self._server = config.server.rstrip("/")
        self._pool_limit = pool_limit
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    async def connect(
        cls,
        kubeconfig: str | os.PathLike[str] | None = None,
        *,
        context: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        pool_limit: int = 0,
    ) -> KubeClient:
        """A client for the configuration :func:`~zero_scim.kube.config.load_config` finds."""
        config = await load_config(kubeconfig, context=context)
        return cls(config, timeout=timeout, pool_limit=pool_limit)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- transport -----------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_limit, ssl=self.config.ssl_context())
            self._session = aiohttp.ClientSession(connector=connector, read_bufsize=READ_BUFFER)
        return self._session

    async def _headers(self, content_type: str | None, accept: str = JSON) -> dict[str, str]:
        headers = {"Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type
        authorization = await self.config.credentials.authorization()
        if authorization is not None:
            headers["Authorization"] = authorization.header
        return headers

    async def _send(
        self,
        method: Method,
        path: str,
        *,
        params: Mapping[str, str] | None,
        data: bytes | None,
        content_type: str,
        accept: str,
        timeout: float | None,
    ) -> tuple[int, bytes, str | None]:
        headers = await self._headers(content_type if data is not None else None, accept)
        try:
            async with self._get_session().request(
                method,
                self._server + path,
                params=params,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                return resp.status, await resp.read(), resp.headers.get("Retry-After")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise Unavailable(
                f"{type(exc).__name__}: {exc}", request=RequestInfo(method, path)
            ) from exc

    async def request(
        self,
        method: Method,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        content_type: str = JSON,
        timeout: float | None = None,
    ) -> JsonObject:
        """One call; the parsed JSON answer, or the :class:`KubeError` for a non-2xx one."""
        data = None if body is None else orjson.dumps(body)
        code, raw, retry_after = await self._send(
            method,
            path,
            params=params,
            data=data,
            content_type=content_type,
            accept=JSON,
            timeout=timeout,
        )
        parsed: JsonObject = {}
        if raw:
            try:
                loaded = orjson.loads(raw)
            except orjson.JSONDecodeError:
                loaded = {"message": raw[:500].decode("utf-8", "replace")}
            if isinstance(loaded, dict):
                parsed = loaded
        if code >= 300:
            raise error_for(
                code,
                cast(Status, parsed),
                RequestInfo(method, path),
                retry_after=parse_retry_after(retry_after),
            )
        return parsed

    async def get_bytes(
        self, path: str, *, accept: str = "*/*", timeout: float | None = None
    ) -> bytes:
        """GET an endpoint that does not answer JSON (``/metrics``, ``/readyz``)."""
        code, raw, retry_after = await self._send(
            "GET", path, params=None, data=None, content_type=JSON, accept=accept, timeout=timeout
        )
        if code >= 300:
            message = raw[:500].decode("utf-8", "replace")
            raise error_for(
                code,
                {"message": message},
                RequestInfo("GET", path),
                retry_after=parse_retry_after(retry_after),
            )
        return raw

    # -- reads ---------------------------------------------------------------------------

    async def get(
        self,
        kind: Kind[ObjectT],
        name: str,
        namespace: str | None = None,
        *,
        timeout: float | None = None,
    ) -> ObjectT:
        """The object; :class:`~zero_scim.kube.errors.NotFound` if there is none."""
        answer = await self.request("GET", kind.path(namespace, name), timeout=timeout)
        return cast(ObjectT, answer)

    async def find(
        self,
        kind: Kind[ObjectT],
        name: str,
        namespace: str | None = None,
        *,
        timeout: float | None = None,
    ) -> ObjectT | None:
        """The object, or None if there is none."""
        try:
            return await self.get(kind, name, namespace, timeout=timeout)
        except NotFound:
            return None

    async def list_page(
        self,
        kind: Kind[ObjectT],
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        timeout: float | None = None,
    ) -> ObjectList[ObjectT]:
        """One page of a list (all objects without ``limit``).

        ``resource_version="0"`` reads the API server's watch cache: cheap, and at least
        as fresh as anything the caller has seen through a watch.
        """
        params: dict[str, str] = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        if resource_version is not None:
            params["resourceVersion"] = resource_version
        if limit is not None:
            params["limit"] = str(limit)
        if continue_token:
            params["continue"] = continue_token
        answer = await self.request("GET", kind.path(namespace), params=params, timeout=timeout)
        answer.setdefault("items", [])
        return cast(ObjectList[ObjectT], answer)

    async def list_pages(
        self,
        kind: Kind[ObjectT],
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        timeout: float | None = None,
    ) -> AsyncIterator[ObjectList[ObjectT]]:
        """Every page of a consistent list (``limit``/``continue``), in order."""
        token: str | None = None
        while True:
            page = await self.list_page(
                kind,
                namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                limit=limit,
                continue_token=token,
                timeout=timeout,
            )
            yield page
            token = page.get("metadata", {}).get("continue")
            if not token:
                return

    async def list_all(
        self,
        kind: Kind[ObjectT],
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
    ) -> tuple[list[ObjectT], str]:
        """All objects (paginated) and the list's resourceVersion (to watch from)."""
        items: list[ObjectT] = []
        version = ""
        async for page in self.list_pages(
            kind, namespace, label_selector=label_selector, field_selector=field_selector,
            limit=limit,
        ):  # fmt: skip
            items.extend(page["items"])
            version = page.get("metadata", {}).get("resourceVersion", "")
        return items, version

    async def watch(
        self,
        kind: Kind[ObjectT],
        namespace: str | None = None,
        *,
        resource_version: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[WatchEvent[ObjectT]]:
        """Events from ``resource_version`` on (bookmarks included) until the server ends
        the watch after ``timeout_seconds``.

        ``ERROR`` events become exceptions (410 → :class:`~zero_scim.kube.errors.Gone`:
        relist); a broken or stalled stream is :class:`~zero_scim.kube.errors.Unavailable`.
        """
        path = kind.path(namespace)
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        request = RequestInfo("GET", path)
        headers = await self._headers(None)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.timeout, sock_read=timeout_seconds + 30
        )
        try:
            async with self._get_session().get(
                self._server + path, params=query, headers=headers, timeout=timeout
            ) as resp:
                if resp.status >= 300:
                    raw = await resp.read()
                    try:
                        body = orjson.loads(raw) if raw else {}
                    except orjson.JSONDecodeError:
                        body = {}
                    status = cast(Status, body if isinstance(body, dict) else {})
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                    raise error_for(resp.status, status, request, retry_after=retry_after)
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
                            status = cast(Status, event.get("object") or {})
                            raise error_for(int(status.get("code", 500)), status, request)
                        yield cast(WatchEvent[ObjectT], event)
        except (TimeoutError, aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise Unavailable(f"watch: {type(exc).__name__}: {exc}", request=request) from exc

    # -- writes --------------------------------------------------------------------------

    async def create(
        self,
        kind: Kind[ObjectT],
        obj: ObjectT,
        namespace: str | None = None,
        *,
        timeout: float | None = None,
    ) -> ObjectT:
        """Create ``obj`` (in ``namespace``, else its ``metadata.namespace``).

        :class:`~zero_scim.kube.errors.AlreadyExists` if the name is taken: a create is
        the precondition "this name is free".
        """
        where = namespace if namespace is not None else obj["metadata"].get("namespace")
        answer = await self.request("POST", kind.path(where), body=obj, timeout=timeout)
        return cast(ObjectT, answer)

    async def replace(
        self, kind: Kind[ObjectT], obj: ObjectT, *, timeout: float | None = None
    ) -> ObjectT:
        """PUT the whole object; its ``metadata.resourceVersion`` (if set) is the
        precondition (:class:`~zero_scim.kube.errors.Conflict` if it is stale)."""
        metadata = obj["metadata"]
        path = kind.path(metadata.get("namespace"), metadata.get("name", ""))
        answer = await self.request("PUT", path, body=obj, timeout=timeout)
        return cast(ObjectT, answer)

    async def merge_patch(
        self,
        kind: Kind[ObjectT],
        name: str,
        patch: JsonMapping,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        subresource: str | None = None,
        timeout: float | None = None,
    ) -> ObjectT:
        """An RFC 7386 merge patch; with ``resource_version``, only if the object is still
        at that version (:class:`~zero_scim.kube.errors.Conflict` otherwise)."""
        body: JsonObject = dict(patch)
        if resource_version is not None:
            metadata = body.get("metadata")
            body["metadata"] = {
                **(metadata if isinstance(metadata, dict) else {}),
                "resourceVersion": resource_version,
            }
        answer = await self.request(
            "PATCH",
            kind.path(namespace, name, subresource),
            body=body,
            content_type=MERGE_PATCH,
            timeout=timeout,
        )
        return cast(ObjectT, answer)

    async def patch_status(
        self,
        kind: Kind[ObjectT],
        name: str,
        status: JsonMapping,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        timeout: float | None = None,
    ) -> ObjectT:
        """Merge-patch the ``status`` subresource (see :meth:`merge_patch`)."""
        return await self.merge_patch(
            kind,
            name,
            {"status": dict(status)},
            namespace,
            resource_version=resource_version,
            subresource="status",
            timeout=timeout,
        )

    async def delete(
        self,
        kind: Kind[ObjectT],
        name: str,
        namespace: str | None = None,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
        grace_period_seconds: int | None = None,
        timeout: float | None = None,
    ) -> ObjectT | None:
        """Delete, if the object is still the one with ``uid``/``resource_version``
        (:class:`~zero_scim.kube.errors.Conflict` otherwise).

        ``grace_period_seconds`` (Pods): how long the kubelet lets the containers stop
        instead of the Pod's own ``terminationGracePeriodSeconds``.

        Returns None if the server answered with a ``Status`` (the object is gone: how
        custom resources and Secrets answer), else the object as the server returned it:
        still there with its finalizers pending and a ``deletionTimestamp`` (a
        Namespace, or any object with finalizers).
        """
        preconditions: dict[str, str] = {}
        if uid:
            preconditions["uid"] = uid
        if resource_version:
            preconditions["resourceVersion"] = resource_version
        body: JsonObject = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if preconditions:
            body["preconditions"] = dict(preconditions)
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        answer = await self.request(
            "DELETE", kind.path(namespace, name), body=body, timeout=timeout
        )
        if answer.get("kind") == "Status":
            return None
        return cast(ObjectT, answer)
