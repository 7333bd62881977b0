"""Per-tenant downstream runtimes: a client (base URL + API key) and its :class:`Gate`.

A runtime is built on first use from the namespace's tenant -- the one its label names
(:mod:`.namespaces`) -- and the API key in the Secret its spec references, and rebuilt
when either changes. Everything a tenant-level problem can be (no tenant, suspended, no
downstream configured, the API key missing or refused) is a :class:`TenantNotReady` with
a reason: objects then wait for the tenant instead of retrying one by one (the tenant's
resync picks them up).

Every call goes through :meth:`TenantRuntime.call`: the gate's rules, then -- if it
failed for good -- the one classification (:mod:`.failures`) and what the tenant does
about it (a refused key drops the runtime, so the next call re-reads the key); the
caller gets :class:`~.failures.DownstreamFailed` with the verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import SECRET
from zero_scim.kube.errors import KubeError
from zero_scim.kube.secrets import DecodedSecret
from zero_scim.kube.tenants import NAMESPACE_CONFLICT
from zero_scim_operator.directory import Directory
from zero_scim_operator.downstream import DownstreamError, ZeroAccountsClient
from zero_scim_operator.models import DownstreamSpec, TenantConfig
from zero_scim_operator.services.common import ReleaseOutcome
from zero_scim_operator.services.failures import Backoff, Classifier, DownstreamFailed, Failure
from zero_scim_operator.services.gate import Gate
from zero_scim_operator.services.namespaces import Namespaces
from zero_scim_operator.services.transport import AiohttpTransport
from zero_scim_operator.settings import OperatorConfig

T = TypeVar("T")
logger = logging.getLogger(__name__)

ClientFactory = Callable[[str, str, str, float], ZeroAccountsClient]

#: How long a replaced client stays open for requests still in flight.
CLOSE_DELAY = 60.0


#: Reasons of objects parked because no tenant owns their namespace (yet).
OWNERLESS = frozenset({"NoTenant", NAMESPACE_CONFLICT})


class TenantNotReady(Exception):
    """The namespace's tenant cannot sync now; ``reason`` is a condition reason.

    ``transient``: it clears up by itself (the API server did not answer), so the object
    retries; otherwise it waits for the tenant to change.
    """

    def __init__(self, reason: str, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.transient = transient


def _default_client(url: str, org: str, key: str, timeout: float) -> ZeroAccountsClient:
    return ZeroAccountsClient(url, org, key, timeout=timeout, transport=AiohttpTransport())


@dataclass
class TenantRuntime:
    tenant: TenantConfig
    spec: DownstreamSpec
    client: ZeroAccountsClient
    gate: Gate
    fingerprint: str
    classifier: Classifier
    #: Called once a call was refused (401/403): the runtime is dropped.
    on_unauthorized: Callable[[TenantRuntime], None]

    async def call(self, fn: Callable[[ZeroAccountsClient], Awaitable[T]], *, budget: float) -> T:
        """``fn(client)`` under the gate's rules; :class:`DownstreamFailed` if it failed."""
        client = self.client
        try:
            return await self.gate.run(lambda: fn(client), budget=budget)
        except DownstreamError as exc:
            verdict = self.classifier.classify(exc)
            if verdict.failure is Failure.UNAUTHORIZED:
                self.on_unauthorized(self)
            raise DownstreamFailed(verdict) from exc


def _fingerprint(tenant: TenantConfig, spec: DownstreamSpec, api_key: str) -> str:
    raw = "\0".join(
        (
            tenant.uid,
            spec.base_url,
            spec.org_id,
            str(spec.timeout_seconds),
            str(spec.max_concurrency),
            hashlib.sha256(api_key.encode()).hexdigest(),
        )
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


class Downstreams:
    """The runtimes of all tenants, by namespace."""

    def __init__(
        self,
        kube: KubeClient,
        config: OperatorConfig,
        directory: Directory,
        namespaces: Namespaces,
        *,
        client_factory: ClientFactory = _default_client,
        on_reachability: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._kube = kube
        self._config = config
        self._directory = directory
        self._namespaces = namespaces
        self._client_factory = client_factory
        self._on_reachability = on_reachability
        self.classifier = Classifier(Backoff(config.backoff_base, config.backoff_cap))
        self._runtimes: dict[str, TenantRuntime] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._retired: dict[ZeroAccountsClient, asyncio.Task[None]] = {}

    def peek(self, namespace: str) -> TenantRuntime | None:
        return self._runtimes.get(namespace)

    async def owner(self, namespace: str) -> TenantConfig:
        """The tenant that owns ``namespace`` (its label names it), or TenantNotReady."""
        claimants = self._directory.tenants_of(namespace)
        if not claimants:
            raise TenantNotReady("NoTenant", f"no ZeroTenant declares namespace {namespace}")
        try:
            ownership = await self._namespaces.ownership(namespace)
        except KubeError as exc:
            message = f"cannot read namespace {namespace}: {exc}"
            raise TenantNotReady("KubernetesError", message, transient=True) from exc
        for tenant in claimants:
            if ownership.owned_by(tenant.name):
                return tenant
        names = ", ".join(t.name for t in claimants)
        if ownership.owner is None:
            message = f"namespace {namespace} is not labelled for ZeroTenant {names} (yet)"
            raise TenantNotReady("NoTenant", message)
        message = (
            f"namespace {namespace} is labelled for ZeroTenant {ownership.owner}, "
            f"not for {names}, which claim it too"
        )
        raise TenantNotReady(NAMESPACE_CONFLICT, message)

    async def check(
        self, namespace: str, *, deprovisioning: bool = False
    ) -> tuple[TenantConfig, DownstreamSpec]:
        """The namespace's tenant and downstream spec, or :class:`TenantNotReady`.

        ``deprovisioning``: for the tenant's own deletion, which must reach Zero even
        though the tenant is being deleted (or suspended).
        """
        tenant = await self.owner(namespace)
        if tenant.deleting and not deprovisioning:
            raise TenantNotReady("TenantDeleting", f"ZeroTenant {tenant.name} is being deleted")
        if tenant.spec is None:
            raise TenantNotReady("InvalidTenant", f"ZeroTenant {tenant.name}: {tenant.spec_error}")
        if tenant.spec.suspend and not deprovisioning:
            raise TenantNotReady("Suspended", f"ZeroTenant {tenant.name} is suspended")
        if tenant.spec.downstream is None:
            raise TenantNotReady("NoDownstream", f"ZeroTenant {tenant.name} has no spec.downstream")
        return tenant, tenant.spec.downstream

    async def get(self, namespace: str, *, deprovisioning: bool = False) -> TenantRuntime:
        """The runtime for ``namespace`` (built or rebuilt as needed)."""
        tenant, spec = await self.check(namespace, deprovisioning=deprovisioning)
        runtime = self._runtimes.get(namespace)
        if runtime is not None and runtime.tenant == tenant:
            return runtime
        lock = self._locks.setdefault(namespace, asyncio.Lock())
        async with lock:
            runtime = self._runtimes.get(namespace)
            if runtime is not None and runtime.tenant == tenant:
                return runtime
            return await self._build(namespace, tenant, spec)

    async def refresh(self, namespace: str) -> TenantRuntime:
        """Re-read the API key and rebuild the runtime if anything changed."""
        tenant, spec = await self.check(namespace)
        lock = self._locks.setdefault(namespace, asyncio.Lock())
        async with lock:
            return await self._build(namespace, tenant, spec)

    def invalidate(self, namespace: str, runtime: TenantRuntime | None = None) -> None:
        """Forget the runtime (``runtime``: only if it is still that one), e.g. after a
        401: the next call re-reads the API key."""
        current = self._runtimes.get(namespace)
        if current is None or (runtime is not None and current is not runtime):
            return
        del self._runtimes[namespace]
        self._close_later(current.client)

    async def _build(
        self, namespace: str, tenant: TenantConfig, spec: DownstreamSpec
    ) -> TenantRuntime:
        api_key = await self._read_api_key(namespace, tenant, spec)
        fingerprint = _fingerprint(tenant, spec, api_key)
        current = self._runtimes.get(namespace)
        if current is not None and current.fingerprint == fingerprint:
            current.tenant = tenant  # same downstream: keep client, gate and its state
            return current
        config = self._config
        gate = Gate(
            max_concurrency=spec.max_concurrency,
            backoff=self.classifier.backoff,
            breaker_threshold=config.breaker_threshold,
            breaker_backoff=Backoff(1.0, config.breaker_cap),
            on_change=self._reachability_callback(namespace),
        )
        client = self._client_factory(
            spec.base_url, spec.org_id, api_key, float(spec.timeout_seconds)
        )
        runtime = TenantRuntime(
            tenant,
            spec,
            client,
            gate,
            fingerprint,
            self.classifier,
            lambda failed: self.invalidate(namespace, failed),
        )
        self._runtimes[namespace] = runtime
        if current is not None:
            self._close_later(current.client)
        return runtime

    async def _read_api_key(
        self, namespace: str, tenant: TenantConfig, spec: DownstreamSpec
    ) -> str:
        ref = spec.api_key_secret_ref
        try:
            secret = await self._kube.find(SECRET, ref.name, namespace)
        except KubeError as exc:
            raise TenantNotReady(
                "ApiKeyUnreadable", f"Secret {namespace}/{ref.name}: {exc}"
            ) from exc
        if secret is None:
            raise TenantNotReady(
                "ApiKeyMissing", f"Secret {namespace}/{ref.name} (the Zero API key) does not exist"
            )
        key = DecodedSecret.from_object(secret).data.get(ref.key, "").strip()
        if not key:
            raise TenantNotReady(
                "ApiKeyMissing", f"Secret {namespace}/{ref.name} has no key {ref.key!r}"
            )
        return key

    def _reachability_callback(self, namespace: str) -> Callable[[bool], None]:
        def changed(reachable: bool) -> None:
            if self._on_reachability is not None:
                self._on_reachability(namespace, reachable)

        return changed

    def _close_later(self, client: ZeroAccountsClient) -> None:
        async def close() -> None:
            await asyncio.sleep(CLOSE_DELAY)
            self._retired.pop(client, None)
            await client.aclose()

        self._retired[client] = asyncio.create_task(close())

    async def close(self) -> None:
        """Close every client (idempotent)."""
        for client, task in list(self._retired.items()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.aclose()
        self._retired.clear()
        for runtime in self._runtimes.values():
            await runtime.client.aclose()
        self._runtimes.clear()


async def delete_downstream(
    downstreams: Downstreams,
    namespace: str,
    noun: str,
    key: str,
    delete: Callable[[ZeroAccountsClient, str], Awaitable[bool]],
    *,
    budget: float,
    retry_after: float,
) -> ReleaseOutcome:
    """Delete one account or group in Zero before its object goes (``noun`` names it).

    Tenant-level problems and refusals release the object (the tenant's next resync
    deletes what was left); transient failures ask to be retried after ``retry_after``.
    """
    try:
        runtime = await downstreams.get(namespace)
    except TenantNotReady as exc:
        if exc.transient:
            return ReleaseOutcome(False, exc.reason, exc.message, retry_after=retry_after)
        return ReleaseOutcome(
            True,
            exc.reason,
            f"{exc.message}; the {noun} is left to the tenant's next resync",
            warn=exc.reason not in ("NoTenant", "TenantDeleting"),
        )
    try:
        deleted = await runtime.call(lambda zero: delete(zero, key), budget=budget)
    except DownstreamFailed as failed:
        verdict = failed.verdict
        if verdict.transient:
            return ReleaseOutcome(
                False, verdict.reason, verdict.message, retry_after=retry_after, warn=True
            )
        message = f"{verdict.message}; the {noun} is left to the tenant's next resync"
        return ReleaseOutcome(True, "DeleteRefused", message, warn=True)
    if deleted:
        return ReleaseOutcome(True, "Deleted", f"{noun} {key} deleted")
    return ReleaseOutcome(True, "AlreadyGone", f"{noun} {key} did not exist")
