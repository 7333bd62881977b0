"""Tenants and their bearer tokens, kept current by watches.

ZeroTenant objects (cluster-scoped) say which namespaces are tenants. For each tenant
the registry watches that namespace's token Secret (label ``zeroscim.io/token=true``,
name ``zero-scim-token``) — a namespaced watch, so the API needs read access to Secrets
only in tenant namespaces. What is kept per tenant is a :class:`TokenDigests`: SHA-256
digests and the previous token's expiry, never the plaintext. A new, rotated or removed
token takes effect as soon as its watch event arrives (milliseconds), without a restart.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from zero_scim.api.storage.kubeapi import KubeApi, resource_path, secrets_path
from zero_scim.api.storage.watcher import OnRestart, Watcher
from zero_scim.k8s.coordinates import LABEL_TOKEN, TENANT, tenant_namespace
from zero_scim.k8s.tokens import SECRET_NAME, TokenDigests, digest, digests_from_secret_data


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    namespace: str


class TenantRegistry:
    def __init__(
        self,
        kube: KubeApi,
        *,
        on_restart: OnRestart | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._kube = kube
        self._on_restart = on_restart
        self._clock = clock
        self._tenants: dict[str, Tenant] = {}
        self._digests: dict[str, TokenDigests] = {}
        self._lookup: dict[bytes, str] = {}  # token digest -> tenant name
        self._secret_watchers: dict[str, Watcher] = {}  # tenant name -> watcher
        self._watcher = Watcher(
            kube,
            "zerotenants",
            resource_path(TENANT),
            on_reset=self._reset_tenants,
            on_event=self._tenant_event,
            on_restart=on_restart,
        )

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._watcher.start()

    async def stop(self) -> None:
        await self._watcher.stop()
        for watcher in list(self._secret_watchers.values()):
            await watcher.stop()
        self._secret_watchers.clear()

    @property
    def synced(self) -> bool:
        return self._watcher.synced.is_set() and all(
            w.synced.is_set() for w in self._secret_watchers.values()
        )

    async def wait_synced(self) -> None:
        await self._watcher.synced.wait()
        for watcher in list(self._secret_watchers.values()):
            await watcher.synced.wait()

    # -- queries -----------------------------------------------------------------------
    def authenticate(self, token: str) -> Tenant | None:
        presented = digest(token)
        name = self._lookup.get(presented)
        if name is None:
            return None
        digests = self._digests.get(name)
        if digests is None or not digests.accepts(presented, self._clock()):
            return None
        return self._tenants.get(name)

    def tenants(self) -> list[Tenant]:
        return list(self._tenants.values())

    # -- tenants -----------------------------------------------------------------------
    @staticmethod
    def _tenant_of(obj: dict[str, Any]) -> Tenant | None:
        metadata = obj.get("metadata", {})
        if metadata.get("deletionTimestamp"):
            return None  # a tenant being deleted no longer authenticates
        return Tenant(name=str(metadata.get("name", "")), namespace=tenant_namespace(obj))

    def _reset_tenants(self, items: list[dict[str, Any]]) -> None:
        wanted = {t.name: t for t in (self._tenant_of(o) for o in items) if t is not None}
        for name in list(self._tenants):
            if name not in wanted:
                self._remove_tenant(name)
        for tenant in wanted.values():
            self._set_tenant(tenant)

    def _tenant_event(self, event_type: str, obj: dict[str, Any]) -> None:
        name = str(obj.get("metadata", {}).get("name", ""))
        tenant = None if event_type == "DELETED" else self._tenant_of(obj)
        if tenant is None:
            self._remove_tenant(name)
        else:
            self._set_tenant(tenant)

    def _set_tenant(self, tenant: Tenant) -> None:
        current = self._tenants.get(tenant.name)
        if current == tenant:
            return
        if current is not None:
            self._remove_tenant(tenant.name)
        self._tenants[tenant.name] = tenant
        watcher = Watcher(
            self._kube,
            f"secrets:{tenant.namespace}",
            secrets_path(tenant.namespace),
            params={"labelSelector": f"{LABEL_TOKEN}=true"},
            on_reset=functools.partial(self._reset_secrets, tenant),
            on_event=functools.partial(self._secret_event, tenant),
            on_restart=self._on_restart,
        )
        self._secret_watchers[tenant.name] = watcher
        watcher.start()

    def _remove_tenant(self, name: str) -> None:
        self._tenants.pop(name, None)
        self._digests.pop(name, None)
        self._rebuild_lookup()
        watcher = self._secret_watchers.pop(name, None)
        if watcher is not None:
            # Stopping awaits the task; do it in the background (this runs in a callback).
            asyncio.get_running_loop().create_task(watcher.stop())

    # -- secrets -----------------------------------------------------------------------
    def _reset_secrets(self, tenant: Tenant, items: list[dict[str, Any]]) -> None:
        secret = next((s for s in items if s.get("metadata", {}).get("name") == SECRET_NAME), None)
        self._set_digests(tenant, secret)

    def _secret_event(self, tenant: Tenant, event_type: str, obj: dict[str, Any]) -> None:
        if obj.get("metadata", {}).get("name") != SECRET_NAME:
            return
        self._set_digests(tenant, None if event_type == "DELETED" else obj)

    def _set_digests(self, tenant: Tenant, secret: dict[str, Any] | None) -> None:
        if self._tenants.get(tenant.name) != tenant:
            return  # a late event from a watcher of a tenant that changed or left
        if secret is None:
            self._digests.pop(tenant.name, None)
        else:
            self._digests[tenant.name] = digests_from_secret_data(secret.get("data"))
        self._rebuild_lookup()

    def _rebuild_lookup(self) -> None:
        lookup: dict[bytes, str] = {}
        for name, digests in self._digests.items():
            for value in (digests.current, digests.previous):
                if value is not None:
                    lookup[value] = name
        self._lookup = lookup
