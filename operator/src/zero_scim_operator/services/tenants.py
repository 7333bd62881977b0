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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import LABEL_PART_OF, LABEL_TENANT, NAMESPACE, SECRET, TENANT
from zero_scim.kube.errors import KubeError, NotFound
from zero_scim.kube.objects import Namespace, ZeroTenant, ZeroTenantStatus
from zero_scim.kube.tokens import SECRET_NAME, format_time, parse_time
from zero_scim_operator import conditions
from zero_scim_operator.conditions import Condition
from zero_scim_operator.directory import Directory
from zero_scim_operator.downstream import DownstreamError, PermanentError
from zero_scim_operator.models import TenantConfig
from zero_scim_operator.services.common import EventSink, EventType, ReleaseOutcome, utcnow
from zero_scim_operator.services.downstream import (
    Downstreams,
    TenantNotReady,
    TenantRuntime,
    is_auth_failure,
)
from zero_scim_operator.services.gate import Backoff
from zero_scim_operator.services.groups import GroupService
from zero_scim_operator.services.resync import ResyncReport, ResyncService
from zero_scim_operator.services.sso import SSO_SYNCED, SsoService
from zero_scim_operator.services.tokens import Action, TokenResult, TokenService, precise_time
from zero_scim_operator.services.wakeups import Wakeups
from zero_scim_operator.settings import OperatorConfig

logger = logging.getLogger(__name__)

READY = "Ready"
TOKEN_READY = "TokenReady"  # noqa: S105 (a condition type)
REACHABLE = "DownstreamReachable"

#: How often the namespace and the token Secret are re-read when nothing is due.
RECHECK_INTERVAL = 300.0
DEPROVISION_CONCURRENCY = 16


@dataclass
class _Loop:
    """What the loop remembers between rounds (not status)."""

    next_recheck: float = 0.0
    next_probe: float = 0.0
    namespace: Condition | None = None
    token: TokenResult | None = None
    token_condition: Condition | None = None
    reach: Condition | None = None
    last_resync_at: datetime | None = None
    resync_retry_at: float = 0.0
    resync_attempt: int = 0
    resync_task: asyncio.Task[ResyncReport] | None = None
    reachable_before: bool | None = None
    downstream_print: str | None = None


class TenantService:
    def __init__(
        self,
        kube: KubeClient,
        directory: Directory,
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
        tenant = self._directory.tenant(namespace)
        if tenant is None:
            return
        loop = self._loops.get(tenant.name)
        if loop is not None:
            loop.next_probe = 0.0  # confirm with a probe, now
        self.wakeups.wake(tenant.name)

    # -- the loop ------------------------------------------------------------------------

    async def run(self, name: str, body: Callable[[], ZeroTenant]) -> None:
        signal = self.wakeups.register(name)
        first = TenantConfig.from_object(body())
        loop = self._loops[name] = _Loop(
            last_resync_at=_time(first.status.get("lastSyncAt")),
            reachable_before=_condition_true(first.status, REACHABLE),
        )
        persisted = {k: first.status.get(k) for k in _STATUS_FIELDS}
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
                            await self._kube.patch_status(TENANT, name, status)
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
            if loop.resync_task is not None:
                loop.resync_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await loop.resync_task

    async def reconcile(
        self, tenant: TenantConfig, loop: _Loop, *, full: bool
    ) -> tuple[dict[str, Any], float]:
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
        owners = self._directory.tenants_of(tenant.namespace)
        if owners and owners[0].name != tenant.name:
            message = f"namespace {tenant.namespace} belongs to ZeroTenant {owners[0].name}"
            return self._status(
                tenant,
                loop,
                [conditions.false(READY, "NamespaceConflict", message, generation)],
                now,
            ), wake_in

        token_due = loop.token is not None and _due(loop.token.wake_at(), now)
        if full or token_due or mono >= loop.next_recheck:
            loop.namespace = await self._ensure_namespace(tenant)
            loop.token_condition = await self._ensure_token(tenant, loop, now)
            loop.next_recheck = mono + RECHECK_INTERVAL
        if loop.token is not None and (at := loop.token.wake_at()) is not None:
            wake_in = min(wake_in, max(0.05, (at - now).total_seconds()))

        runtime = await self._downstream(tenant, loop, mono, full=full)
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

    def _status(
        self, tenant: TenantConfig, loop: _Loop, updates: list[Condition], now: datetime
    ) -> dict[str, Any]:
        token = loop.token
        status: dict[str, Any] = {
            "observedGeneration": tenant.generation,
            "namespace": tenant.namespace,
            "tokenSecretName": SECRET_NAME if token is not None else None,
            "tokenRotatedAt": precise_time(token.state.rotated_at) if token else None,
            "nextRotationAt": (
                precise_time(token.next_rotation_at) if token and token.next_rotation_at else None
            ),
            "previousTokenExpiresAt": (
                precise_time(token.state.previous_expires_at)
                if token and token.state.previous_expires_at
                else None
            ),
            "userCount": self._directory.user_count(tenant.namespace),
            "groupCount": self._directory.group_count(tenant.namespace),
            "lastSyncAt": format_time(loop.last_resync_at) if loop.last_resync_at else None,
            "conditions": conditions.merge(tenant.status.get("conditions"), _order(updates), now),
        }
        return status

    # -- namespace and token -------------------------------------------------------------

    async def _ensure_namespace(self, tenant: TenantConfig) -> Condition:
        name = tenant.namespace
        labels = {LABEL_TENANT: tenant.name, LABEL_PART_OF: "zero-scim"}
        generation = tenant.generation
        try:
            namespace = await self._kube.find(NAMESPACE, name)
            if namespace is None:
                new: Namespace = {"metadata": {"name": name, "labels": labels}}
                await self._kube.create(NAMESPACE, new)
            else:
                current = namespace["metadata"].get("labels") or {}
                owner = current.get(LABEL_TENANT)
                if owner not in (None, tenant.name):
                    return conditions.false(
                        "NamespaceReady",
                        "NamespaceConflict",
                        f"namespace {name} is labelled for ZeroTenant {owner}",
                        generation,
                    )
                if owner is None:
                    await self._kube.merge_patch(
                        NAMESPACE, name, {"metadata": {"labels": dict(labels)}}
                    )
        except KubeError as exc:
            return conditions.false("NamespaceReady", "NamespaceError", str(exc), generation)
        return conditions.true("NamespaceReady", "NamespaceReady", f"namespace {name}", generation)

    async def _ensure_token(self, tenant: TenantConfig, loop: _Loop, now: datetime) -> Condition:
        generation = tenant.generation
        try:
            result = await self._tokens.reconcile(tenant, now)
        except KubeError as exc:
            loop.next_recheck = 0.0
            return conditions.false(TOKEN_READY, "TokenSecretError", str(exc), generation)
        loop.token = result
        state = result.state
        if state.previous_expires_at is not None:
            message = (
                f"token rotated at {precise_time(state.rotated_at)}; the previous token is "
                f"accepted until {precise_time(state.previous_expires_at)}"
            )
        else:
            message = f"token issued at {precise_time(state.rotated_at)}"
        reason = (
            "TokenRotated"
            if result.action in _ROTATIONS or state.previous_expires_at
            else "TokenIssued"
        )
        return conditions.true(TOKEN_READY, reason, message, generation)

    # -- downstream ----------------------------------------------------------------------

    async def _downstream(
        self, tenant: TenantConfig, loop: _Loop, mono: float, *, full: bool
    ) -> TenantRuntime | None:
        generation = tenant.generation
        probe_due = full or mono >= loop.next_probe
        try:
            if probe_due:
                runtime = await self._downstreams.refresh(tenant.namespace)
            else:
                runtime = await self._downstreams.get(tenant.namespace)
        except TenantNotReady as exc:
            make = conditions.unknown if exc.reason == "Suspended" else conditions.false
            loop.reach = make(REACHABLE, exc.reason, exc.message, generation)
            loop.next_probe = mono + self._config.probe_interval
            return None
        except KubeError as exc:
            loop.reach = conditions.false(REACHABLE, "ApiKeyUnreadable", str(exc), generation)
            loop.next_probe = mono + 5.0
            return None
        if probe_due:
            loop.reach = await self._probe(tenant, runtime)
            loop.next_probe = mono + self._config.probe_interval
            if not loop.reach.is_true:
                loop.next_probe = mono + min(self._config.probe_interval, 10.0)
        elif not runtime.gate.reachable:
            loop.reach = conditions.false(
                REACHABLE, "Unreachable", str(runtime.gate.last_error or "failing"), generation
            )
        return runtime

    async def _probe(self, tenant: TenantConfig, runtime: TenantRuntime) -> Condition:
        """One cheap authenticated request: is Zero there, and does it take our key?"""
        generation = tenant.generation
        budget = float(runtime.spec.timeout_seconds) + 1.0
        try:
            await runtime.call(_first_account, budget=budget)
        except PermanentError as exc:
            if is_auth_failure(exc):
                self._downstreams.invalidate(tenant.namespace)
                return conditions.false(REACHABLE, "Unauthorized", str(exc), generation)
            return conditions.false(REACHABLE, "Rejected", str(exc), generation)
        except DownstreamError as exc:
            return conditions.false(REACHABLE, "Unreachable", str(exc), generation)
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
        """Apply the tenant's deletion policy (see docs/operator.md, "Deleting a tenant")."""
        policy = tenant.spec.deletion_policy if tenant.spec is not None else "Retain"
        owners = self._directory.tenants_of(tenant.namespace)
        if owners and owners[0].name != tenant.name:
            return ReleaseOutcome(True, "NamespaceConflict", "the namespace is another tenant's")
        if policy == "Retain":
            try:
                with contextlib.suppress(NotFound):
                    await self._kube.delete(SECRET, SECRET_NAME, tenant.namespace)
            except KubeError as exc:
                return ReleaseOutcome(False, "KubernetesError", str(exc), retry_after=10.0)
            self._downstreams.invalidate(tenant.namespace)
            return ReleaseOutcome(
                True, "Retained", "Zero accounts, groups and the namespace are kept"
            )
        try:
            runtime = await self._downstreams.get(tenant.namespace, deprovisioning=True)
        except TenantNotReady as exc:
            return ReleaseOutcome(
                True,
                "DeprovisionImpossible",
                f"{exc.message}; Zero accounts and groups are left as they are",
                warn=True,
            )
        try:
            deleted = await self._deprovision(runtime)
        except DownstreamError as exc:
            return ReleaseOutcome(False, "DeprovisionFailed", str(exc), retry_after=30.0, warn=True)
        try:
            with contextlib.suppress(NotFound):
                await self._kube.delete(NAMESPACE, tenant.namespace)
        except KubeError as exc:
            return ReleaseOutcome(False, "KubernetesError", str(exc), retry_after=10.0)
        self._downstreams.invalidate(tenant.namespace)
        return ReleaseOutcome(
            True,
            "Deprovisioned",
            f"{deleted} accounts and groups deleted in Zero; namespace {tenant.namespace} deleted",
        )

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
_ORDER = {READY: 0, TOKEN_READY: 1, REACHABLE: 2, "NamespaceReady": 3, SSO_SYNCED: 4}


def _order(updates: list[Condition]) -> list[Condition]:
    return sorted(updates, key=lambda c: _ORDER.get(c.type, 9))


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _due(at: datetime | None, now: datetime) -> bool:
    return at is not None and now >= at


def _condition_true(status: ZeroTenantStatus, type_: str) -> bool | None:
    found = conditions.find(status.get("conditions"), type_)
    return None if found is None else found.get("status") == "True"


async def _first_account(zero: Any) -> None:
    accounts = zero.iter_accounts(page_size=1)
    try:
        async for _ in accounts:
            break
    finally:
        await accounts.aclose()


async def _keys(items: Any) -> list[str]:
    return [item.external_key async for item in items]
