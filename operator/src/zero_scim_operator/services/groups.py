"""ScimGroup → Zero group, and its members from the member log, applied as deltas.

Each group has a loop (a Kopf daemon) that owns its status: it upserts the group when
its generation changes, applies the member-log entries above ``membersSyncedSeq`` in
batches of at most 1,000 keys per downstream call, and records progress in one status
patch per round. A 50,000-member group is never re-sent: an ordinary change costs work
proportional to the change; only a gap in the log (or a resync) diffs the whole set
against Zero's member listing, and even then only the difference is sent.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from zero_scim import memberlog
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import GROUP_KIND, MEMBER_BATCH
from zero_scim.kube.errors import Conflict, KubeError, NotFound
from zero_scim.kube.objects import Condition, ScimGroup, ScimGroupStatus
from zero_scim.kube.tokens import format_time
from zero_scim.memberlog import Delta, EntryHeader, SnapshotPart
from zero_scim_operator import conditions
from zero_scim_operator.directory import SYNCED, Directory
from zero_scim_operator.downstream import (
    MAX_BATCH,
    ConflictError,
    DownstreamError,
    MembershipChange,
    PermanentError,
    TransientError,
)
from zero_scim_operator.mapping import InvalidObject, external_key, group_input
from zero_scim_operator.models import ScimObject
from zero_scim_operator.services.common import (
    EventSink,
    ReleaseOutcome,
    truncate,
    utcnow,
)
from zero_scim_operator.services.downstream import (
    Downstreams,
    TenantNotReady,
    TenantRuntime,
    delete_downstream,
    is_auth_failure,
)
from zero_scim_operator.services.gate import Backoff
from zero_scim_operator.services.users import CONFLICT_BACKOFF
from zero_scim_operator.services.wakeups import Wakeups
from zero_scim_operator.settings import OperatorConfig

logger = logging.getLogger(__name__)

READ_CONCURRENCY = 8
WAIT_RETRY = 1.0


@dataclass
class GroupState:
    """The group's status as this loop knows it (it is the only writer)."""

    observed_generation: int | None = None
    downstream_id: str | None = None
    synced_seq: int = 0
    member_count: int | None = None
    last_synced_at: str | None = None
    last_error: str | None = None
    conditions: list[Condition] = field(default_factory=list)

    @classmethod
    def from_status(cls, status: ScimGroupStatus) -> GroupState:
        count = status.get("memberCount")
        return cls(
            observed_generation=status.get("observedGeneration"),
            downstream_id=status.get("downstreamId"),
            synced_seq=int(status.get("membersSyncedSeq") or 0),
            member_count=int(count) if isinstance(count, int) else None,
            last_synced_at=status.get("lastSyncedAt"),
            last_error=status.get("lastError"),
            conditions=list(status.get("conditions") or []),
        )

    def render(self) -> dict[str, Any]:
        return {
            "observedGeneration": self.observed_generation,
            "downstreamId": self.downstream_id,
            "membersSyncedSeq": self.synced_seq,
            "memberCount": self.member_count,
            "lastSyncedAt": self.last_synced_at,
            "lastError": self.last_error,
            "conditions": self.conditions,
        }


class Retry(Exception):
    """A round failed in a way that clears up by itself; try again after ``delay``."""

    def __init__(self, reason: str, message: str, delay: float | None, *, warn: bool) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.delay = delay  # None: wait for a wake-up (tenant fixed, spec changed, resync)
        self.warn = warn
        #: Progress made before the failure (group upserted, some member batches sent).
        self.state: GroupState | None = None
        self.partial: MembershipChange | None = None


@dataclass(frozen=True)
class Round:
    state: GroupState
    retry_after: float | None  # None: sleep until woken
    full_pending: bool = False


@dataclass
class _Loop:
    """Per-loop memory that is not status: retry counters, the member wait clock."""

    attempt: int = 0
    waiting_since: float | None = None


class GroupService:
    def __init__(
        self,
        downstreams: Downstreams,
        directory: Directory,
        kube: KubeClient,
        events: EventSink,
        config: OperatorConfig,
    ) -> None:
        self._downstreams = downstreams
        self._directory = directory
        self._kube = kube
        self._events = events
        self._config = config
        self._backoff = Backoff(config.backoff_base, config.backoff_cap)
        self._rng = random.Random()
        self.wakeups = Wakeups()

    # -- signals -------------------------------------------------------------------------

    def wake(self, namespace: str, name: str, *, full: bool = False) -> None:
        self.wakeups.wake((namespace, name), full=full)

    def wake_namespace(self, namespace: str, *, full: bool = False) -> int:
        woken = 0
        for key in self.wakeups.registered():
            if isinstance(key, tuple) and key[0] == namespace:
                woken += self.wakeups.wake(key, full=full)
        return woken

    # -- the loop ------------------------------------------------------------------------

    async def run(self, namespace: str, name: str, body: Callable[[], ScimGroup]) -> None:
        """Reconcile the group whenever woken (or a retry is due), until cancelled.

        The loop keeps the group's status in memory (it is its only writer) and writes it
        with the resourceVersion of its previous write as a precondition: if anyone else
        wrote in between (a second operator process, a spec change), the write fails with
        409, the loop reloads the status from the API server and does the round again --
        idempotently -- so ``membersSyncedSeq`` and ``memberCount`` stay exact.
        """
        key = (namespace, name)
        signal = self.wakeups.register(key)
        current = body()
        state = GroupState.from_status(current.get("status") or {})
        version: str | None = current["metadata"].get("resourceVersion")
        persisted = state.render()
        loop = _Loop()
        retry_after: float | None = 0.0
        full = False
        try:
            while True:
                full = await signal.wait(retry_after) or full
                group = ScimObject.from_object(body())
                if group.deleting:
                    return
                try:
                    result = await self.reconcile(group, state, loop, full=full)
                except Exception:
                    logger.exception("group %s/%s: reconciliation failed", *key)
                    retry_after = 10.0
                    continue
                state, retry_after, full = result.state, result.retry_after, result.full_pending
                rendered = state.render()
                if rendered == persisted:
                    continue
                try:
                    written = await self._kube.patch_status(
                        GROUP_KIND, name, rendered, namespace, resource_version=version
                    )
                except NotFound:
                    return
                except Conflict:
                    # Someone else wrote first. If it was another operator process that
                    # applied the same member-log entries at the same time, the deltas each
                    # of us sent overlapped and neither count is exact (nor, if one of us
                    # saw fewer entries, the set): after membership work, the next round is
                    # a full pass that diffs against Zero's listing, which sees both.
                    full = full or _members_changed(persisted, rendered)
                    try:
                        fresh = await self._kube.find(GROUP_KIND, name, namespace)
                    except KubeError as exc:
                        logger.warning("group %s/%s: cannot reload status: %s", *key, exc)
                        retry_after = 5.0
                        continue
                    if fresh is None:
                        return
                    state = GroupState.from_status(fresh.get("status") or {})
                    version = fresh["metadata"].get("resourceVersion")
                    persisted = state.render()
                    retry_after = 0.0
                    continue
                except KubeError as exc:
                    logger.warning("group %s/%s: cannot write status: %s", *key, exc)
                    retry_after = min(retry_after or 5.0, 5.0)
                    continue
                persisted = rendered
                version = written["metadata"].get("resourceVersion")
        finally:
            self.wakeups.unregister(key, signal)

    async def reconcile(
        self, group: ScimObject, state: GroupState, loop: _Loop, *, full: bool = False
    ) -> Round:
        now = utcnow()
        try:
            state, round_ = await self._reconcile(group, state, loop, full=full)
        except Retry as exc:
            error = truncate(f"{exc.reason}: {exc.message}")
            if exc.warn and state.last_error != error:
                self._events.post(group.ref.as_reference(), "Warning", exc.reason, exc.message)
            condition = conditions.false(SYNCED, exc.reason, exc.message, group.generation)
            failed = replace(
                exc.state or state,
                last_error=error,
                conditions=conditions.merge(state.conditions, [condition], now),
            )
            loop.attempt += 1
            return Round(failed, exc.delay, full_pending=full)
        loop.attempt = 0
        return round_

    async def _reconcile(
        self, group: ScimObject, state: GroupState, loop: _Loop, *, full: bool
    ) -> tuple[GroupState, Round]:
        progress = [state]
        try:
            return await self._steps(group, progress, loop, full=full)
        except Retry as exc:
            if exc.state is None:
                exc.state = progress[-1]
            raise

    async def _steps(
        self, group: ScimObject, progress: list[GroupState], loop: _Loop, *, full: bool
    ) -> tuple[GroupState, Round]:
        state = progress[-1]
        try:
            runtime = await self._downstreams.get(group.namespace)
        except TenantNotReady as exc:
            raise Retry(exc.reason, exc.message, None, warn=False) from exc
        try:
            key = external_key(group.spec)
            desired = group_input(group.spec)
        except InvalidObject as exc:
            raise Retry("InvalidGroup", str(exc), None, warn=True) from exc

        now = utcnow()
        before = _progress(state)
        if full or state.observed_generation != group.generation or not state.downstream_id:
            upserted = await self._call(
                runtime, group, lambda z: z.upsert_group(key, desired), loop.attempt
            )
            state = replace(
                state, downstream_id=upserted.resource.id, observed_generation=group.generation
            )
            progress.append(state)
        if state.member_count is None:
            full = True  # first sync (or status lost): count the members exactly once
        entries = self._directory.batches(group.namespace, group.name)
        plan = memberlog.plan(entries, state.synced_seq, full=full)
        if isinstance(plan, memberlog.Full) and plan.upto < state.synced_seq:
            # The status (written by another process) is ahead of this process's watch:
            # a full pass now would undo entries it has not seen yet.
            plan = memberlog.Wait(
                f"member log seen up to {plan.upto}, status at {state.synced_seq}"
            )
        retry_after: float | None = None
        full_pending = False
        if isinstance(plan, memberlog.Wait):
            logger.info("group %s/%s: %s", group.namespace, group.name, plan.why)
            retry_after = WAIT_RETRY
            full_pending = True
        elif isinstance(plan, memberlog.Deltas | memberlog.Full):
            outcome = await self._apply(runtime, group, key, state, plan, loop)
            state = outcome.state
            retry_after = outcome.retry_after
            full_pending = outcome.full_pending
        condition = conditions.true(
            SYNCED,
            "Synced",
            f"group {state.downstream_id}; members synced to seq {state.synced_seq}",
            group.generation,
        )
        state = replace(
            state,
            last_synced_at=format_time(now) if _progress(state) != before else state.last_synced_at,
            last_error=None,
            conditions=conditions.merge(state.conditions, [condition], now),
        )
        if (
            retry_after is None
            and memberlog.plan(
                self._directory.batches(group.namespace, group.name), state.synced_seq
            )
            != memberlog.Nothing()
        ):
            retry_after = 0.0  # more entries arrived meanwhile (or a round was capped)
        return state, Round(state, retry_after, full_pending)

    async def _call(self, runtime: TenantRuntime, group: ScimObject, fn: Any, attempt: int) -> Any:
        try:
            return await runtime.call(fn, budget=self._config.retry_budget)
        except ConflictError as exc:
            delay = CONFLICT_BACKOFF.delay(attempt, self._rng)
            raise Retry("Conflict", str(exc), delay, warn=True) from exc
        except TransientError as exc:
            delay = self._backoff.delay(attempt, self._rng)
            raise Retry("DownstreamUnavailable", str(exc), delay, warn=True) from exc
        except PermanentError as exc:
            if is_auth_failure(exc):
                self._downstreams.invalidate(group.namespace)
                raise Retry("DownstreamUnauthorized", str(exc), None, warn=True) from exc
            raise Retry("Rejected", str(exc), None, warn=True) from exc
        except DownstreamError as exc:
            raise Retry("Rejected", str(exc), None, warn=True) from exc

    # -- members -------------------------------------------------------------------------

    async def _apply(
        self,
        runtime: TenantRuntime,
        group: ScimObject,
        key: str,
        state: GroupState,
        plan: memberlog.Deltas | memberlog.Full,
        loop: _Loop,
    ) -> Round:
        try:
            if isinstance(plan, memberlog.Deltas):
                ops = await self._net_ops(group, plan.entries)
                base = state.member_count or 0
                try:
                    change = await self._change(runtime, group, key, ops, loop.attempt)
                except Retry as exc:
                    if exc.partial is not None:  # keep the count exact across the retry
                        done = exc.partial.added - exc.partial.removed
                        exc.state = replace(state, member_count=max(0, base + done))
                    raise
                count = base + change.added - change.removed
            else:
                desired = await self._desired(group, plan)
                current = await self._call(
                    runtime, group, lambda z: _collect(z.iter_members(key)), loop.attempt
                )
                ops = {k: True for k in desired - current}
                ops.update({k: False for k in current - desired})
                change = await self._change(runtime, group, key, ops, loop.attempt)
                count = len(current) + change.added - change.removed
        except _Compacted:
            return Round(state, 0.0, full_pending=True)  # entries vanished: a full pass
        adds = {k for k, add in ops.items() if add}
        waiting = [k for k in change.missing if k in adds and self._may_appear(group, k)]
        full = isinstance(plan, memberlog.Full)
        state = replace(state, member_count=max(0, count))
        if waiting:
            now = asyncio.get_running_loop().time()
            if loop.waiting_since is None:
                loop.waiting_since = now
            if now - loop.waiting_since < self._config.member_wait:
                return Round(state, WAIT_RETRY, full_pending=full)  # not advancing the seq
            self._events.post(
                group.ref.as_reference(),
                "Warning",
                "MembersMissing",
                f"{len(waiting)} member(s) have no account in Zero (e.g. {waiting[0]}); "
                "they are added by the tenant's next resync once their accounts exist",
            )
        loop.waiting_since = None
        return Round(replace(state, synced_seq=plan.upto), None)

    def _may_appear(self, group: ScimObject, member_id: str) -> bool:
        """Is a member reported missing by Zero worth waiting for (its account is coming)?"""
        entries = [e for e in self._directory.users_with_id(group.namespace, member_id)]
        if not entries:
            return True  # not seen yet (or not a user at all: the wait is bounded)
        return any(not e.deleting and not e.has_account and not e.handled for e in entries)

    async def _change(
        self,
        runtime: TenantRuntime,
        group: ScimObject,
        key: str,
        ops: Mapping[str, bool],
        attempt: int,
    ) -> MembershipChange:
        """Send the changes in batches of at most 1,000 keys; sum the results."""
        items = list(ops.items())
        added = removed = 0
        missing: list[str] = []
        for start in range(0, len(items), MAX_BATCH):
            chunk = items[start : start + MAX_BATCH]
            add = [k for k, is_add in chunk if is_add]
            remove = [k for k, is_add in chunk if not is_add]
            try:
                result: MembershipChange = await self._call(
                    runtime,
                    group,
                    lambda z, a=add, r=remove: z.change_members(key, a, r),
                    attempt,
                )
            except Retry as exc:
                exc.partial = MembershipChange(added=added, removed=removed, missing=missing)
                raise
            added += result.added
            removed += result.removed
            missing += result.missing
        return MembershipChange(added=added, removed=removed, missing=missing)

    async def _net_ops(self, group: ScimObject, entries: Iterable[EntryHeader]) -> dict[str, bool]:
        """The net effect of Deltas applied in order: the last operation on a key wins."""
        read = await self._read(group, list(entries))
        return memberlog.net_changes(e for e in read if isinstance(e, Delta))

    async def _desired(self, group: ScimObject, plan: memberlog.Full) -> set[str]:
        """The member set: the plan's base Snapshot and the Deltas after it, folded."""
        return memberlog.fold(await self._read(group, [*plan.snapshot, *plan.deltas]))

    async def _read(
        self, group: ScimObject, entries: list[EntryHeader]
    ) -> list[Delta | SnapshotPart]:
        """The entries' contents, in order (bounded parallel reads)."""
        semaphore = asyncio.Semaphore(READ_CONCURRENCY)

        async def one(entry: EntryHeader) -> Delta | SnapshotPart:
            async with semaphore:
                try:
                    body = await self._kube.find(MEMBER_BATCH, entry.name, group.namespace)
                except KubeError as exc:
                    raise Retry("KubernetesError", str(exc), 5.0, warn=False) from exc
            decoded = memberlog.decode(body) if body is not None else None
            if decoded is None:
                raise _Compacted(entry.name)
            return decoded

        return list(await asyncio.gather(*(one(e) for e in entries)))

    # -- deletion ------------------------------------------------------------------------

    async def release(self, group: ScimObject) -> ReleaseOutcome:
        try:
            key = external_key(group.spec)
        except InvalidObject as exc:
            return ReleaseOutcome(True, "InvalidGroup", str(exc))
        return await delete_downstream(
            self._downstreams,
            group.namespace,
            "group",
            key,
            lambda zero, k: zero.delete_group(k),
            budget=self._config.retry_budget,
            retry_after=self._backoff.delay(0, self._rng),
        )


def _members_changed(before: Mapping[str, object], after: Mapping[str, object]) -> bool:
    fields = ("membersSyncedSeq", "memberCount")
    return any(before.get(f) != after.get(f) for f in fields)


def _progress(state: GroupState) -> tuple[object, ...]:
    """What changes when a round achieves something downstream."""
    return (state.downstream_id, state.observed_generation, state.synced_seq, state.member_count)


class _Compacted(Exception):
    """A member-log entry disappeared between the index and the read."""


async def _collect(members: Any) -> set[str]:
    return {key async for key in members}
