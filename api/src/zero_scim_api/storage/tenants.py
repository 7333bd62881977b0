"""Tenants and their bearer tokens, kept current by two watches.

ZeroTenant objects (cluster-scoped) say which namespaces are tenants. Token Secrets are
watched with ``fieldSelector=metadata.name=zero-scim-token`` across namespaces: RBAC can
then grant the API ``get/list/watch`` on Secrets restricted to that one resource name
(``resourceNames``), so it can read no other Secret anywhere. A token Secret outside a
tenant's namespace authenticates nothing.

What is kept per namespace is a :class:`TokenDigests`: SHA-256 digests and the previous
token's expiry, never the plaintext. A new, rotated or removed token takes effect as soon
as its watch event arrives (milliseconds), without a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import SECRET, TENANT
from zero_scim.kube.objects import Secret, WatchEventType, ZeroTenant
from zero_scim.kube.tenants import NAMESPACE_CONFLICT, Tenant
from zero_scim.kube.tokens import SECRET_NAME, TokenDigests, digest, digests_from_secret_data
from zero_scim_api.storage.watcher import OnRestart, Watcher


class TenantRegistry:
    def __init__(
        self,
        kube: KubeClient,
        *,
        on_restart: OnRestart | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
        self._tenants: dict[str, Tenant] = {}  # tenant name -> tenant
        self._by_namespace: dict[str, Tenant] = {}
        self._refused: set[str] = set()  # tenants whose namespace claim the operator refused
        self._digests: dict[str, TokenDigests] = {}  # namespace -> digests
        self._lookup: dict[bytes, str] = {}  # token digest -> namespace
        self._tenant_watcher = Watcher(
            kube,
            "zerotenants",
            TENANT,
            on_reset=self._reset_tenants,
            on_event=self._tenant_event,
            on_restart=on_restart,
        )
        self._secret_watcher = Watcher(
            kube,
            "token-secrets",
            SECRET,
            field_selector=f"metadata.name={SECRET_NAME}",
            on_reset=self._reset_secrets,
            on_event=self._secret_event,
            on_restart=on_restart,
        )

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._tenant_watcher.start()
        self._secret_watcher.start()

    async def stop(self) -> None:
        await self._tenant_watcher.stop()
        await self._secret_watcher.stop()

    @property
    def synced(self) -> bool:
        return self._tenant_watcher.synced.is_set() and self._secret_watcher.synced.is_set()

    async def wait_synced(self) -> None:
        await self._tenant_watcher.synced.wait()
        await self._secret_watcher.synced.wait()

    # -- queries -----------------------------------------------------------------------
    def authenticate(self, token: str) -> Tenant | None:
        presented = digest(token)
        namespace = self._lookup.get(presented)
        if namespace is None:
            return None
        tenant = self._by_namespace.get(namespace)
        digests = self._digests.get(namespace)
        if tenant is None or digests is None or not digests.accepts(presented, self._clock()):
            return None
        return tenant

    def tenants(self) -> list[Tenant]:
        return list(self._tenants.values())

    # -- tenants -----------------------------------------------------------------------
    @staticmethod
    def _tenant_of(obj: ZeroTenant) -> Tenant | None:
        tenant = Tenant.from_object(obj)
        return None if tenant.deleting else tenant  # a tenant being deleted authenticates none

    @staticmethod
    def _refused_claim(obj: ZeroTenant) -> bool:
        """The operator found the namespace labelled for another tenant (NamespaceConflict)."""
        conditions = obj.get("status", {}).get("conditions", [])
        return any(c.get("reason") == NAMESPACE_CONFLICT for c in conditions)

    def _reset_tenants(self, items: list[ZeroTenant]) -> None:
        self._tenants = {t.name: t for t in (self._tenant_of(o) for o in items) if t is not None}
        self._refused = {o["metadata"].get("name", "") for o in items if self._refused_claim(o)}
        self._rebuild_namespaces()

    def _tenant_event(self, event_type: WatchEventType, obj: ZeroTenant) -> None:
        name = obj["metadata"].get("name", "")
        tenant = None if event_type == "DELETED" else self._tenant_of(obj)
        if tenant is None:
            self._tenants.pop(name, None)
        else:
            self._tenants[name] = tenant
        if tenant is not None and self._refused_claim(obj):
            self._refused.add(name)
        else:
            self._refused.discard(name)
        self._rebuild_namespaces()

    def _rebuild_namespaces(self) -> None:
        # Two tenants claiming one namespace: the namespace's label decides, and the
        # operator reports that on the claimant (NamespaceConflict), which then
        # authenticates nothing here — not even while the owner is being deleted. Before
        # the operator has looked at a new claimant, the first by name stands in.
        by_namespace: dict[str, Tenant] = {}
        for name in sorted(self._tenants.keys() - self._refused):
            tenant = self._tenants[name]
            by_namespace.setdefault(tenant.namespace, tenant)
        self._by_namespace = by_namespace

    # -- secrets -----------------------------------------------------------------------
    def _reset_secrets(self, items: list[Secret]) -> None:
        self._digests = {
            s["metadata"].get("namespace", ""): digests_from_secret_data(s.get("data"))
            for s in items
        }
        self._rebuild_lookup()

    def _secret_event(self, event_type: WatchEventType, obj: Secret) -> None:
        namespace = obj["metadata"].get("namespace", "")
        if event_type == "DELETED":
            self._digests.pop(namespace, None)
        else:
            self._digests[namespace] = digests_from_secret_data(obj.get("data"))
        self._rebuild_lookup()

    def _rebuild_lookup(self) -> None:
        lookup: dict[bytes, str] = {}
        for namespace, digests in self._digests.items():
            for value in (digests.current, digests.previous):
                if value is not None:
                    lookup[value] = namespace
        self._lookup = lookup
