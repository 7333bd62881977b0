"""ZeroTenant: namespace, token Secret, downstream reachability, counts, resync, deletion,
and the org's single sign-on link (:mod:`.sso`).

Each tenant has one loop (a Kopf daemon) that owns its status. It wakes when the tenant
changes (spec or the rotate-token annotation), when the downstream's reachability
changes, when a rotation or the end of a grace period is due, when a resync is due, and
every ``status_interval`` to refresh the counts (taken from the in-memory indexes). The
status is patched only when something in it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import LABEL_TENANT, NAMESPACE, SECRET, TENANT
from zero_scim.kube.errors import KubeError, NotFound
from zero_scim.kube.objects import ZeroTenant, ZeroTenantStatus
from zero_scim.kube.tenants import NAMESPACE_CONFLICT
from zero_scim.kube.tokens import SECRET_NAME, format_time, parse_time
from zero_scim_operator import conditions
from zero_scim_operator.conditions import Condition
from zero_scim_operator.directory import Directory
from zero_scim_operator.downstream import Account, Group, ZeroAccountsClient
from zero_scim_operator.models import TenantConfig, TenantStatusPatch, as_json
from zero_scim_operator.services.common import EventSink, EventType, ReleaseOutcome, utcnow
from zero_scim_operator.services.downstream import Downstreams, TenantNotReady, TenantRuntime
from zero_scim_operator.services.failures import Backoff, DownstreamFailed
from zero_scim_operator.services.groups import GroupService
from zero_scim_operator.services.namespaces import Namespaces, Ownership
from zero_scim_operator.services.resync import ResyncReport, ResyncService
from zero_scim_operator.services.sso import SSO_SYNCED, SsoService
from zero_scim_operator.services.tokens import (
    Action,
    TokenResult,
    TokenService,
    TokenWriteFailed,
    precise_time,
)
from zero_scim_operator.services.wakeups import Wakeups
from zero_scim_operator.settings import OperatorConfig

logger = logging.getLogger(__name__)

READY = "Ready"
TOKEN_READY = "TokenReady"  # noqa: S105 (a condition type)
REACHABLE = "DownstreamReachable"
NAMESPACE_READY = "NamespaceReady"

#: How often an owned namespace is re-read when nothing is due (a claimant in conflict
#: re-reads its namespace every round).
RECHECK_INTERVAL = 300.0
DEPROVISION_CONCURRENCY = 16


@dataclass
class _Loop:
    """What the loop remembers between rounds (not status)."""

    next_recheck: float = 0.0
    next_probe: float = 0.0
    namespace: Condition | None = None
    owned: bool = False
    token: TokenResult | None = None
    token_condition: Condition | None = None
    #: When the token Secret was last re-issued (its rotated-at), while that token lasts.
    reissued_at: datetime | None = None
    reach: Condition | None = None
    last_resync_at: datetime | None = None
    resync_retry_at: float = 0.0
    resync_attempt: int = 0
    resync_task: asyncio.Task[ResyncReport] | None = None
    unpark_task: asyncio.Task[int] | None = None
    reachable_before: bool | None = None
    downstream_print: str | None = None


@dataclass(frozen=True, slots=True)
class _Token:
    """The token step's result: the Secret's state (None: unknown) and the condition."""

    result: TokenResult | None
    condition: Condition


@dataclass(frozen=True, slots=True)
class _Reach:
    """The downstream step's result: the runtime (None: not usable) and what the
    reachability condition says, with the time of the next probe."""

    runtime: TenantRuntime | None
    condition: Condition | None
    next_probe: float


class TenantService:
    def __init__(
        self,
        kube: KubeClient,
        directory: Directory,
        namespaces: Namespaces,
        downstreams: Downstreams,
        tokens: TokenService,
        resync: ResyncService,
        groups: GroupService,
        events: EventSink,
        config: OperatorConfig,
        sso: SsoService | None = None,
    ) -> None:
        self._kube = kube
        self._directory = directory
        self._namespaces = namespaces
        self._downstreams = downstreams
        self._tokens = tokens
        self._resync = resync
        self._groups = groups
        self._events = events
        self._config = config
        self._sso = sso or SsoService()
        self.wakeups = Wakeups()
        self._loops: dict[str, _Loop] = {}
        self._seen: dict[str, tuple[int, str | None, bool]] = {}
        self._resync_backoff = Backoff(5.0, 300.0)

    # -- signals -------------------------------------------------------------------------

    def wake(self, name: str, *, full: bool = True) -> None:
        self.wakeups.wake(name, full=full)

    def changed(self, tenant: TenantConfig) -> None:
        """A watch event of the tenant: wake its loop if the spec or a request changed.

        The loop's own status patches come back as events too; those change neither the
        generation nor the rotate-token annotation and wake nobody.
        """
        seen = (tenant.generation, tenant.rotate_request, tenant.deleting)
        if self._seen.get(tenant.name) != seen:
            self._seen[tenant.name] = seen
            self.wakeups.wake(tenant.name, full=True)

    def reachability_changed(self, namespace: str, reachable: bool) -> None:
        """Called by a tenant's gate when its downstream stops or starts answering."""
        ownership = self._namespaces.cached(namespace)
        owner = ownership.owner if ownership is not None else None
        loop = self._loops.get(owner) if owner is not None else None
        if owner is None or loop is None:
            return
        loop.next_probe = 0.0  # confirm with a probe, now
        self.wakeups.wake(owner)

    # -- the loop ------------------------------------------------------------------------

    async def run(self, name: str, body: Callable[[], ZeroTenant]) -> None:
        signal = self.wakeups.register(name)
        first = TenantConfig.from_object(body())
        loop = self._loops[name] = _Loop(
            last_resync_at=_time(first.status.get("lastSyncAt")),
            reachable_before=_condition_true(first.status, REACHABLE),
        )
        persisted: Mapping[str, object] = _persisted(first.status)
        full = True
        try:
            while True:
                tenant = TenantConfig.from_object(body())
                if tenant.deleting:
                    return
                try:
                    status, wake_in = await self.reconcile(tenant, loop, full=full)
                except Exception:
                    logger.exception("tenant %s: reconciliation failed", name)
                    wake_in = 10.0
                else:
                    if status != persisted:
                        try:
                            await self._kube.patch_status(TENANT, name, as_json(status))
                            persisted = status
                        except KubeError as exc:
                            logger.warning("tenant %s: cannot write status: %s", name, exc)
                            wake_in = min(wake_in, 5.0)
                full = await signal.wait(wake_in)
        finally:
            self._sso.forget(first)
            self.wakeups.unregister(name, signal)
            if self._loops.get(name) is loop:
                del self._loops[name]
            for task in (loop.resync_task, loop.unpark_task):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def reconcile(
        self, tenant: TenantConfig, loop: _Loop, *, full: bool
    ) -> tuple[TenantStatusPatch, float]:
        """One round; returns the status to have and the seconds until the next round."""
        now = utcnow()
        mono = asyncio.get_running_loop().time()
        generation = tenant.generation
        wake_in = self._config.status_interval
        if tenant.spec is None:
            reason, message = "InvalidSpec", tenant.spec_error or "invalid spec"
            return self._status(
                tenant,
                loop,
                [
                    conditions.false(READY, reason, message, generation),
                    conditions.unknown(TOKEN_READY, reason, message, generation),
                    conditions.unknown(REACHABLE, reason, message, generation),
                ],
                now,
            ), wake_in

        # The namespace first: nothing is done for a tenant that does not own it.
        if full or not loop.owned or mono >= loop.next_recheck:
            owned_before = loop.owned
            loop.namespace, loop.owned = await self._claim(tenant)
            loop.next_recheck = mono + RECHECK_INTERVAL
            if loop.owned and not owned_before:
                self._unpark(tenant, loop)
        if not loop.owned:
            loop.token = loop.token_condition = loop.reach = None
            assert loop.namespace is not None
            return self._not_owner(tenant, loop, loop.namespace, now), wake_in

        # The token Secret on every round: one deleted by anyone is issued again at once.
        token = await self._ensure_token(tenant, loop, now)
        loop.token, loop.token_condition = token.result or loop.token, token.condition
        if token.result is None:
            loop.next_recheck = 0.0  # the namespace itself may be gone: read it again
        if loop.token is not None and (at := loop.token.wake_at()) is not None:
            wake_in = min(wake_in, max(0.05, (at - now).total_seconds()))

        reach = await self._downstream(tenant, loop, mono, full=full)
        loop.reach, loop.next_probe = reach.condition, reach.next_probe
        runtime = reach.runtime
        if loop.reach is not None and loop.reach.reason != "Suspended":
            wake_in = min(wake_in, max(0.05, loop.next_probe - mono))
        reachable = loop.reach is not None and loop.reach.is_true
        wake_in = min(wake_in, self._schedule_resync(tenant, loop, runtime, reachable, now, mono))
        sso = await self._sso.reconcile(
            tenant, runtime if reachable else None, full=full, mono=mono
        )
        wake_in = min(wake_in, max(0.05, sso.wake_in))

        problems = [
            c for c in (loop.namespace, loop.token_condition, loop.reach) if c and not c.is_true
        ]
        if sso.blocks_ready and tenant.spec.sso is not None:
            problems.append(sso.condition)
        if not problems:
            ready = conditions.true(READY, "Ready", "syncing to Zero", generation)
        else:
            first = problems[0]
            ready = conditions.false(READY, first.reason, first.message, generation)
        parts = [ready, loop.token_condition, loop.reach, loop.namespace, sso.condition]
        return self._status(tenant, loop, [c for c in parts if c is not None], now), wake_in

    def _not_owner(
        self, tenant: TenantConfig, loop: _Loop, namespace: Condition, now: datetime
    ) -> TenantStatusPatch:
        """The status of a tenant that does not own its namespace: Ready=False, nothing
        else is done (no token, no downstream, no sign-in link)."""
        generation = tenant.generation
        why = f"{namespace.message}; nothing is synced for this ZeroTenant"
        return self._status(
            tenant,
            loop,
            [
                conditions.false(READY, namespace.reason, namespace.message, generation),
                conditions.unknown(TOKEN_READY, namespace.reason, why, generation),
                conditions.unknown(REACHABLE, namespace.reason, why, generation),
                namespace,
            ],
            now,
        )

    def _status(
        self, tenant: TenantConfig, loop: _Loop, updates: list[Condition], now: datetime
    ) -> TenantStatusPatch:
        token = loop.token
        rotation = token.next_rotation_at if token is not None else None
        previous = token.state.previous_expires_at if token is not None else None
        return {
            "observedGeneration": tenant.generation,
            "namespace": tenant.namespace,
            "tokenSecretName": SECRET_NAME if token is not None else None,
            "tokenRotatedAt": precise_time(token.state.rotated_at) if token else None,
            "nextRotationAt": precise_time(rotation) if rotation else None,
            "previousTokenExpiresAt": precise_time(previous) if previous else None,
            "userCount": self._directory.user_count(tenant.namespace),
            "groupCount": self._directory.group_count(tenant.namespace),
            "lastSyncAt": format_time(loop.last_resync_at) if loop.last_resync_at else None,
            "conditions": conditions.merge(tenant.status.get("conditions"), _order(updates), now),
        }

    # -- namespace and token -------------------------------------------------------------

    def _unpark(self, tenant: TenantConfig, loop: _Loop) -> None:
        """The tenant owns its namespace now: what waited for an owner goes on (users
        parked before the claim, group loops waiting for a wake-up)."""
        self._groups.wake_namespace(tenant.namespace)
        if loop.unpark_task is None or loop.unpark_task.done():
            loop.unpark_task = asyncio.create_task(
                self._resync.unpark(tenant.namespace), name=f"unpark {tenant.name}"
            )

    async def _claim(self, tenant: TenantConfig) -> tuple[Condition, bool]:
        """Claim the namespace (:mod:`.namespaces`): the condition, and whether we own it."""
        name = tenant.namespace
        generation = tenant.generation
        try:
            ownership = await self._namespaces.claim(tenant)
        except KubeError as exc:
            return conditions.false(NAMESPACE_READY, "NamespaceError", str(exc), generation), False
        if ownership.owned_by(tenant.name):
            ready = conditions.true(
                NAMESPACE_READY, "NamespaceReady", f"namespace {name}", generation
            )
            return ready, True
        if ownership.owner is None:  # it keeps changing under us: try again next round
            message = f"namespace {name} could not be labelled for this ZeroTenant"
            return conditions.false(NAMESPACE_READY, "NamespaceError", message, generation), False
        message = (
            f"namespace {name} is labelled for ZeroTenant {ownership.owner} "
            f"({LABEL_TENANT}={ownership.owner})"
        )
        return conditions.false(NAMESPACE_READY, NAMESPACE_CONFLICT, message, generation), False

    async def _ensure_token(self, tenant: TenantConfig, loop: _Loop, now: datetime) -> _Token:
        generation = tenant.generation
        issued = loop.token is not None or bool(tenant.status.get("tokenRotatedAt"))
        try:
            result = await self._tokens.reconcile(tenant, now, issued=issued)
        except TokenWriteFailed as exc:
            reason = "TokenSecretMissing" if exc.missing else "TokenSecretError"
            message = f"cannot write the token Secret {tenant.namespace}/{SECRET_NAME}: {exc}"
            return _Token(None, conditions.false(TOKEN_READY, reason, message, generation))
        except KubeError as exc:
            return _Token(
                None, conditions.false(TOKEN_READY, "TokenSecretError", str(exc), generation)
            )
        state = result.state
        if result.action is Action.REISSUE:
            loop.reissued_at = state.rotated_at
        elif loop.reissued_at is not None and state.rotated_at != loop.reissued_at:
            loop.reissued_at = None  # rotated since: the re-issued token is history
        if loop.reissued_at is not None:
            reason = "TokenReissued"
            message = (
                f"the token Secret was missing; a new token was issued at "
                f"{precise_time(state.rotated_at)} (the old one no longer works)"
            )
        elif state.previous_expires_at is not None:
            reason = "TokenRotated"
            message = (
                f"token rotated at {precise_time(state.rotated_at)}; the previous token is "
                f"accepted until {precise_time(state.previous_expires_at)}"
            )
        else:
            reason = "TokenRotated" if result.action in _ROTATIONS else "TokenIssued"
            message = f"token issued at {precise_time(state.rotated_at)}"
        return _Token(result, conditions.true(TOKEN_READY, reason, message, generation))

    # -- downstream ----------------------------------------------------------------------

    async def _downstream(
        self, tenant: TenantConfig, loop: _Loop, mono: float, *, full: bool
    ) -> _Reach:
        generation = tenant.generation
        probe_due = full or mono >= loop.next_probe
        probe_interval = self._config.probe_interval
        try:
            if probe_due:
                runtime = await self._downstreams.refresh(tenant.namespace)
            else:
                runtime = await self._downstreams.get(tenant.namespace)
        except TenantNotReady as exc:
            make = conditions.unknown if exc.reason == "Suspended" else conditions.false
            retry = 5.0 if exc.transient else probe_interval
            return _Reach(None, make(REACHABLE, exc.reason, exc.message, generation), mono + retry)
        except KubeError as exc:
            condition = conditions.false(REACHABLE, "ApiKeyUnreadable", str(exc), generation)
            return _Reach(None, condition, mono + 5.0)
        if probe_due:
            condition = await self._probe(tenant, runtime)
            retry = probe_interval if condition.is_true else min(probe_interval, 10.0)
            return _Reach(runtime, condition, mono + retry)
        if not runtime.gate.reachable:
            message = str(runtime.gate.last_error or "failing")
            condition = conditions.false(REACHABLE, "Unreachable", message, generation)
            return _Reach(runtime, condition, loop.next_probe)
        return _Reach(runtime, loop.reach, loop.next_probe)

    async def _probe(self, tenant: TenantConfig, runtime: TenantRuntime) -> Condition:
        """One cheap authenticated request: is Zero there, and does it take our key?"""
        generation = tenant.generation
        budget = float(runtime.spec.timeout_seconds) + 1.0
        try:
            await runtime.call(_first_account, budget=budget)
        except DownstreamFailed as failed:
            verdict = failed.verdict
            return conditions.false(REACHABLE, verdict.tenant_reason, verdict.message, generation)
        return conditions.true(
            REACHABLE,
            "Reachable",
            f"{runtime.spec.base_url} (org {runtime.spec.org_id})",
            generation,
        )

    # -- resync --------------------------------------------------------------------------

    def _schedule_resync(
        self,
        tenant: TenantConfig,
        loop: _Loop,
        runtime: TenantRuntime | None,
        reachable: bool,
        now: datetime,
        mono: float,
    ) -> float:
        """Collect a finished resync, start one if due; the seconds until the next is due."""
        idle = self._config.status_interval
        task = loop.resync_task
        if task is not None and task.done():
            loop.resync_task = None
            self._collect(tenant, loop, task, now, mono)
        recovered = reachable and loop.reachable_before is False
        loop.reachable_before = reachable
        if runtime is None or not reachable:
            return idle
        assert tenant.spec is not None and tenant.spec.downstream is not None
        changed = loop.downstream_print not in (None, runtime.fingerprint)
        loop.downstream_print = runtime.fingerprint
        if changed or recovered:
            self._groups.wake_namespace(tenant.namespace)  # parked groups try again
            loop.resync_retry_at = 0.0
        if loop.resync_task is not None:
            return idle
        if not self._directory.settled(mono):
            return 1.0  # the initial listing still streams in: the directory is not complete
        if mono < loop.resync_retry_at:
            return max(0.05, loop.resync_retry_at - mono)
        interval = tenant.spec.downstream.resync_interval.total_seconds()
        due_in = 0.0
        if not (changed or recovered) and loop.last_resync_at is not None:
            due_in = (loop.last_resync_at - now).total_seconds() + interval
        if interval <= 0 and not (changed or recovered):
            return idle
        if due_in > 0:
            return max(0.05, due_in)
        loop.resync_task = asyncio.create_task(
            self._resync.run(tenant, runtime), name=f"resync {tenant.name}"
        )
        loop.resync_task.add_done_callback(lambda _: self.wakeups.wake(tenant.name, full=False))
        return idle

    def _collect(
        self,
        tenant: TenantConfig,
        loop: _Loop,
        task: asyncio.Task[ResyncReport],
        now: datetime,
        mono: float,
    ) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            loop.resync_attempt += 1
            loop.resync_retry_at = mono + self._resync_backoff.delay(loop.resync_attempt)
            logger.warning("tenant %s: resync failed: %s", tenant.name, error)
            self._events.post(tenant.reference, "Warning", "ResyncFailed", str(error))
            return
        report = task.result()
        loop.resync_attempt = 0
        loop.last_resync_at = now
        logger.info("tenant %s: resync: %s", tenant.name, report.summary())
        if report.drift or report.failures:
            kind: EventType = "Warning" if report.failures else "Normal"
            self._events.post(tenant.reference, kind, "DriftRepaired", report.summary())

    # -- deletion ------------------------------------------------------------------------

    async def delete(self, tenant: TenantConfig) -> ReleaseOutcome:
        """Apply the tenant's deletion policy (see docs/operator.md, "Deleting a tenant").

        Only the namespace's owner (its label) deletes anything: a tenant that merely
        claims another tenant's namespace goes without touching its token Secret, the
        namespace or Zero, whatever its policy.
        """
        policy = tenant.spec.deletion_policy if tenant.spec is not None else "Retain"
        try:
            ownership = await self._namespaces.read(tenant.namespace)
        except KubeError as exc:
            return ReleaseOutcome(False, "KubernetesError", str(exc), retry_after=10.0)
        refusal = self._not_ours(tenant, ownership)
        if refusal is not None:
            return refusal
        if policy == "Retain":
            try:
                await self._delete_token_secret(tenant)
            except KubeError as exc:
                return ReleaseOutcome(False, "KubernetesError", str(exc), retry_after=10.0)
            self._downstreams.invalidate(tenant.namespace)
            return ReleaseOutcome(
                True, "Retained", "Zero accounts, groups and the namespace are kept"
            )
        try:
            runtime = await self._downstreams.get(tenant.namespace, deprovisioning=True)
        except TenantNotReady as exc:
            if exc.transient:
                return ReleaseOutcome(False, exc.reason, exc.message, retry_after=10.0)
            return ReleaseOutcome(
                True,
                "DeprovisionImpossible",
                f"{exc.message}; Zero accounts and groups are left as they are",
                warn=True,
            )
        try:
            deleted = await self._deprovision(runtime)
        except DownstreamFailed as failed:
            message = failed.verdict.message
            return ReleaseOutcome(False, "DeprovisionFailed", message, retry_after=30.0, warn=True)
        try:
            if ownership.exists:  # only the namespace that was read as ours
                with contextlib.suppress(NotFound):
                    await self._kube.delete(
                        NAMESPACE, tenant.namespace, resource_version=ownership.resource_version
                    )
        except KubeError as exc:  # a Conflict too: it changed; the retry reads it again
            return ReleaseOutcome(False, "KubernetesError", str(exc), retry_after=10.0)
        self._downstreams.invalidate(tenant.namespace)
        return ReleaseOutcome(
            True,
            "Deprovisioned",
            f"{deleted} accounts and groups deleted in Zero; namespace {tenant.namespace} deleted",
        )

    def _not_ours(self, tenant: TenantConfig, ownership: Ownership) -> ReleaseOutcome | None:
        """Why a deletion must leave everything alone (None: the tenant owns its namespace,
        or the namespace is gone and nobody else claims it)."""
        name = tenant.namespace
        kept = "its token Secret, the namespace and Zero are left as they are"
        if ownership.exists and ownership.owner not in (tenant.name, None):
            message = f"namespace {name} belongs to ZeroTenant {ownership.owner}: {kept}"
            return ReleaseOutcome(True, NAMESPACE_CONFLICT, message)
        if ownership.exists and ownership.owner is None:
            message = f"namespace {name} was never labelled for this ZeroTenant: {kept}"
            return ReleaseOutcome(True, "NotOwner", message)
        others = [t.name for t in self._directory.tenants_of(name) if t.name != tenant.name]
        if not ownership.exists and others:
            message = f"namespace {name} is gone and ZeroTenant {others[0]} claims it: {kept}"
            return ReleaseOutcome(True, NAMESPACE_CONFLICT, message)
        return None

    async def _delete_token_secret(self, tenant: TenantConfig) -> None:
        """Delete the token Secret if it is this tenant's (label and ownerReference)."""
        secret = await self._kube.find(SECRET, SECRET_NAME, tenant.namespace)
        if secret is None:
            return
        metadata = secret["metadata"]
        owners = {ref.get("uid") for ref in metadata.get("ownerReferences") or []}
        labelled = (metadata.get("labels") or {}).get(LABEL_TENANT)
        if labelled != tenant.name and tenant.uid not in owners:
            logger.warning(
                "token Secret of %s is not ZeroTenant %s's", tenant.namespace, tenant.name
            )
            return
        with contextlib.suppress(NotFound):
            await self._kube.delete(SECRET, SECRET_NAME, tenant.namespace, uid=metadata.get("uid"))

    async def _deprovision(self, runtime: TenantRuntime) -> int:
        budget = self._config.retry_budget
        accounts = await runtime.call(lambda z: _keys(z.iter_accounts()), budget=budget)
        groups = await runtime.call(lambda z: _keys(z.iter_groups()), budget=budget)
        semaphore = asyncio.Semaphore(DEPROVISION_CONCURRENCY)

        async def delete(kind: str, key: str) -> None:
            async with semaphore:
                if kind == "group":
                    await runtime.call(lambda z: z.delete_group(key), budget=budget)
                else:
                    await runtime.call(lambda z: z.delete_account(key), budget=budget)

        await asyncio.gather(
            *(delete("group", k) for k in groups), *(delete("account", k) for k in accounts)
        )
        await runtime.call(lambda z: z.put_sso(None), budget=budget)  # nobody signs in any more
        return len(accounts) + len(groups)


_STATUS_FIELDS = (
    "observedGeneration",
    "namespace",
    "tokenSecretName",
    "tokenRotatedAt",
    "nextRotationAt",
    "previousTokenExpiresAt",
    "userCount",
    "groupCount",
    "lastSyncAt",
    "conditions",
)
_ROTATIONS = (Action.ROTATE_SCHEDULED, Action.ROTATE_REQUESTED)
_ORDER = {READY: 0, TOKEN_READY: 1, REACHABLE: 2, NAMESPACE_READY: 3, SSO_SYNCED: 4}


def _order(updates: list[Condition]) -> list[Condition]:
    return sorted(updates, key=lambda c: _ORDER.get(c.type, 9))


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _condition_true(status: ZeroTenantStatus, type_: str) -> bool | None:
    found = conditions.find(status.get("conditions"), type_)
    return None if found is None else found.get("status") == "True"


def _persisted(status: ZeroTenantStatus) -> Mapping[str, object]:
    """The status as it is, to compare with what :meth:`TenantService.reconcile` says."""
    return {key: status.get(key) for key in _STATUS_FIELDS}


async def _first_account(zero: ZeroAccountsClient) -> None:
    async with contextlib.aclosing(zero.iter_accounts(page_size=1)) as accounts:
        async for _ in accounts:
            break


async def _keys(items: AsyncIterator[Account] | AsyncIterator[Group]) -> list[str]:
    return [item.external_key async for item in items]
