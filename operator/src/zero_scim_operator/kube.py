"""Kubernetes access for the services: namespaces, Secrets, custom objects, status patches.

Kopf watches and patches what its handlers return; everything else the operator does in
the API server goes through :class:`Kube` (kubernetes_asyncio). Responses are read as
plain JSON mappings (no generated models) and failures become the small exception tree
below, so services never see a library exception::

    KubeError              any failed call (.status, .reason)
    ├── NotFound           404
    └── Conflict           409: AlreadyExists, or a resourceVersion precondition failed
"""

from __future__ import annotations

import base64
import inspect
import json
import os
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from kubernetes_asyncio import client, config

from zero_scim.kube.coordinates import GROUP, VERSION, Kind

MERGE_PATCH = "application/merge-patch+json"


class KubeError(Exception):
    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    pass


@dataclass(frozen=True)
class SecretState:
    """A Secret as read: decoded data, metadata the operator cares about."""

    namespace: str
    name: str
    resource_version: str
    data: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    creation_timestamp: str | None = None
    owner_references: list[dict[str, Any]] = field(default_factory=list)


async def load_configuration(kubeconfig: str | None = None) -> client.Configuration:
    """Client configuration: the Pod's service account, else the kubeconfig file
    (``kubeconfig``, else ``$KUBECONFIG`` as it is *now*, else ``~/.kube/config``)."""
    configuration = client.Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        path = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
        await config.load_kube_config(config_file=path, client_configuration=configuration)
    return configuration


async def bearer_token(configuration: client.Configuration) -> str | None:
    """The bearer token the configuration authenticates with, if any."""
    header = configuration.get_api_key_with_prefix("BearerToken")
    if inspect.isawaitable(header):
        header = await header
    if not header:
        return None
    return str(header).split(" ", 1)[-1]


def _decode_secret(raw: Mapping[str, Any]) -> SecretState:
    metadata = raw.get("metadata", {})
    data: dict[str, str] = {}
    for key, value in (raw.get("data") or {}).items():
        try:
            data[key] = base64.b64decode(value).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue  # not ours to read; left as it is by replace()
    return SecretState(
        namespace=str(metadata.get("namespace", "")),
        name=str(metadata.get("name", "")),
        resource_version=str(metadata.get("resourceVersion", "")),
        data=data,
        labels=dict(metadata.get("labels") or {}),
        annotations=dict(metadata.get("annotations") or {}),
        creation_timestamp=metadata.get("creationTimestamp"),
        owner_references=list(metadata.get("ownerReferences") or []),
    )


def _encode(data: Mapping[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in data.items()}


class Kube:
    """One pooled connection to the API server, for the operator's own calls."""

    def __init__(self, api: client.ApiClient, *, timeout: float = 30.0) -> None:
        self._api = api
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        self._timeout = timeout

    @classmethod
    async def connect(cls, kubeconfig: str | None = None, *, timeout: float = 30.0) -> Kube:
        """In-cluster credentials if running in a Pod, else ``kubeconfig``/``$KUBECONFIG``."""
        configuration = await load_configuration(kubeconfig)
        configuration.connection_pool_maxsize = 32
        return cls(client.ApiClient(configuration), timeout=timeout)

    async def close(self) -> None:
        await self._api.close()

    # -- plumbing ------------------------------------------------------------------------

    async def _call(self, request: Awaitable[Any], what: str) -> dict[str, Any]:
        try:
            response = await request
        except client.ApiException as exc:
            raise _error(exc.status, exc.body, what) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeError(f"{what}: {type(exc).__name__}: {exc}") from exc
        try:
            body = await response.read()
            status = response.status
        finally:
            response.release()
        if not 200 <= status <= 299:
            raise _error(status, body, what)
        result: dict[str, Any] = json.loads(body) if body else {}
        return result

    def _opts(self, **extra: Any) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self._timeout, **extra}

    # -- namespaces ----------------------------------------------------------------------

    async def get_namespace(self, name: str) -> dict[str, Any] | None:
        try:
            return await self._call(
                self._core.read_namespace(name, **self._opts()), f"read namespace {name}"
            )
        except NotFound:
            return None

    async def create_namespace(self, name: str, labels: Mapping[str, str]) -> dict[str, Any]:
        body = {"metadata": {"name": name, "labels": dict(labels)}}
        return await self._call(
            self._core.create_namespace(body, **self._opts()), f"create namespace {name}"
        )

    async def label_namespace(self, name: str, labels: Mapping[str, str]) -> dict[str, Any]:
        return await self._call(
            self._core.patch_namespace(
                name,
                {"metadata": {"labels": dict(labels)}},
                **self._opts(_content_type=MERGE_PATCH),
            ),
            f"label namespace {name}",
        )

    async def delete_namespace(self, name: str) -> bool:
        try:
            await self._call(
                self._core.delete_namespace(name, **self._opts()), f"delete namespace {name}"
            )
        except NotFound:
            return False
        return True

    # -- secrets -------------------------------------------------------------------------

    async def read_secret(self, namespace: str, name: str) -> SecretState | None:
        try:
            raw = await self._call(
                self._core.read_namespaced_secret(name, namespace, **self._opts()),
                f"read secret {namespace}/{name}",
            )
        except NotFound:
            return None
        return _decode_secret(raw)

    async def create_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        *,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: Mapping[str, Any] | None = None,
    ) -> SecretState:
        """Create a Secret; :class:`Conflict` if it exists already."""
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels),
            "annotations": dict(annotations),
        }
        if owner is not None:
            metadata["ownerReferences"] = [dict(owner)]
        body = {"metadata": metadata, "type": "Opaque", "data": _encode(data)}
        raw = await self._call(
            self._core.create_namespaced_secret(namespace, body, **self._opts()),
            f"create secret {namespace}/{name}",
        )
        return _decode_secret(raw)

    async def replace_secret(
        self,
        current: SecretState,
        data: Mapping[str, str],
        *,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: Mapping[str, Any] | None = None,
    ) -> SecretState:
        """Replace a Secret's data, only if it is still at ``current.resource_version``.

        The resourceVersion is the lock: a concurrent writer (another operator process)
        makes this raise :class:`Conflict`, and the caller re-reads and decides again.
        """
        owners = [o for o in current.owner_references if owner is None or o != owner]
        if owner is not None:
            owners = [o for o in owners if o.get("uid") != owner.get("uid")] + [dict(owner)]
        metadata: dict[str, Any] = {
            "name": current.name,
            "namespace": current.namespace,
            "resourceVersion": current.resource_version,
            "labels": dict(labels),
            "annotations": dict(annotations),
        }
        if owners:
            metadata["ownerReferences"] = owners
        body = {"metadata": metadata, "type": "Opaque", "data": _encode(data)}
        raw = await self._call(
            self._core.replace_namespaced_secret(
                current.name, current.namespace, body, **self._opts()
            ),
            f"replace secret {current.namespace}/{current.name}",
        )
        return _decode_secret(raw)

    async def delete_secret(self, namespace: str, name: str) -> bool:
        try:
            await self._call(
                self._core.delete_namespaced_secret(name, namespace, **self._opts()),
                f"delete secret {namespace}/{name}",
            )
        except NotFound:
            return False
        return True

    # -- custom objects ------------------------------------------------------------------

    async def get_object(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            if kind.namespaced:
                request = self._custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, kind.plural, name, **self._opts()
                )
            else:
                request = self._custom.get_cluster_custom_object(
                    GROUP, VERSION, kind.plural, name, **self._opts()
                )
            return await self._call(request, f"read {kind.kind} {namespace}/{name}")
        except NotFound:
            return None

    async def list_objects(
        self, kind: Kind, namespace: str, *, label_selector: str = "", cached: bool = False
    ) -> list[dict[str, Any]]:
        """All objects of ``kind`` in ``namespace`` matching the selector.

        ``cached=True`` reads from the API server's watch cache (``resourceVersion=0``):
        cheap, and at least as fresh as anything the operator has seen through a watch.
        """
        options: dict[str, Any] = {}
        if label_selector:
            options["label_selector"] = label_selector
        if cached:
            options["resource_version"] = "0"
        raw = await self._call(
            self._custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, kind.plural, **self._opts(**options)
            ),
            f"list {kind.plural} in {namespace}",
        )
        items: list[dict[str, Any]] = raw.get("items", [])
        return items

    async def patch_status(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        """Merge-patch ``status``; with ``resource_version``, only if still at that version."""
        body: dict[str, Any] = {"status": dict(status)}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        options = self._opts(_content_type=MERGE_PATCH)
        if kind.namespaced:
            assert namespace is not None
            request = self._custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, kind.plural, name, body, **options
            )
        else:
            request = self._custom.patch_cluster_custom_object_status(
                GROUP, VERSION, kind.plural, name, body, **options
            )
        return await self._call(request, f"patch {kind.kind} {namespace or ''}/{name} status")


def _error(status: int | None, body: Any, what: str) -> KubeError:
    reason = ""
    message = ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        try:
            parsed = json.loads(body)
            reason = str(parsed.get("reason", ""))
            message = str(parsed.get("message", ""))
        except (ValueError, AttributeError):
            message = body[:500]
    text = f"{what}: {status} {reason} {message}".strip()
    if status == 404:
        return NotFound(text, status=status, reason=reason)
    if status == 409:
        return Conflict(text, status=status, reason=reason)
    return KubeError(text, status=status, reason=reason)
