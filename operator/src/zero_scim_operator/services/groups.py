"""ScimGroup → Zero group, and its members from the member log, applied as deltas.

Each group has a loop (a Kopf daemon) that owns its status: it upserts the group when
its generation changes, applies the member-log entries above ``membersSyncedSeq`` in
batches of at most 1,000 keys per downstream call, and records progress in one status
patch per round. A 50,000-member group is never re-sent: an ordinary change costs work
proportional to the change; only a gap in the log (or a resync) diffs the whole set
against Zero's member listing, and even then only the difference is sent.

Every step of a round returns what it achieved as a value -- a :class:`Round` (the
state reached, and the :class:`Problem` that stopped it, if one did) or a
:class:`Sent` (the member batches that went through before one failed) -- so a round
that fails half-way still records the progress it made (the group upserted, the exact
count after some batches).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar

from zero_scim import memberlog
from zero_scim.kube.coordinates import GROUP_KIND, MEMBER_BATCH
from zero_scim.kube.errors import Conflict, KubeError, NotFound
from zero_scim.kube.objects import Condition, ScimGroup, ScimGroupStatus
from zero_scim.kube.tokens import format_time
from zero_scim.memberlog import Delta, EntryHeader, SnapshotPart
from zero_scim_operator import conditions
from zero_scim_operator.directory import SYNCED
from zero_scim_operator.downstream import MAX_BATCH, MembershipChange, ZeroAccountsClient
from zero_scim_operator.mapping import InvalidObject, external_key, group_input
from zero_scim_operator.models import GroupStatusPatch, ScimObject, as_json
from zero_scim_operator.services.common import ReleaseOutcome, truncate, utcnow
from zero_scim_operator.services.downstream import TenantNotReady, TenantRuntime
from zero_scim_operator.services.failures import DownstreamFailed, Verdict
from zero_scim_operator.services.objects import ObjectService
from zero_scim_operator.services.wakeups import Wakeups

logger = logging.getLogger(__name__)

READ_CONCURRENCY = 8
WAIT_RETRY = 1.0
#: Retry delay after the API server failed to give a member-log entry.
KUBE_RETRY = 5.0


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

    def render(self) -> GroupStatusPatch:
        patch: GroupStatusPatch = {
            "downstreamId": self.downstream_id,
            "membersSyncedSeq": self.synced_seq,
            "memberCount": self.member_count,
            "lastSyncedAt": self.last_synced_at,
            "lastError": self.last_error,
            "conditions": self.conditions,
        }
        if self.observed_generation is not None:
            patch["observedGeneration"] = self.observed_generation
        return patch


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a round stopped early (its ``Synced=False`` condition) and when to retry."""

    reason: str
    message: str
    delay: float | None  # None: wait for a wake-up (tenant fixed, spec changed, resync)
    warn: bool


@dataclass(frozen=True)
class Round:
    """What a round (or one of its steps) achieved: the state it reached, and the
    problem that stopped it, if any."""

    state: GroupState
    retry_after: float | None  # None: sleep until woken
    full_pending: bool = False
    problem: Problem | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    """The member batches that went through (summed), and the problem that stopped the
    rest, if one did."""

    change: MembershipChange
    problem: Problem | None = None


@dataclass(frozen=True, slots=True)
class _Compacted:
    """A member-log entry disappeared between the index and the read."""

    name: str


@dataclass
class _Loop:
    """Per-loop memory that is not status: retry counters, the member wait clock."""

    attempt: int = 0
    waiting_since: float | None = None


def _stopped(state: GroupState, problem: Problem) -> Round:
    return Round(state, problem.delay, problem=problem)


@dataclass(eq=False, repr=False)
class GroupService(ObjectService):
    noun: ClassVar[str] = "group"

    wakeups: Wakeups = field(default_factory=Wakeups, init=False)

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
                        GROUP_KIND, name, as_json(rendered), namespace, resource_version=version
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
        """One round; a failed one records its problem (condition, Event) on the state it
        reached."""
        now = utcnow()
        result = await self._round(group, state, loop, full=full)
        problem = result.problem
        if problem is None:
            loop.attempt = 0
            return result
        error = truncate(f"{problem.reason}: {problem.message}")
        if problem.warn and state.last_error != error:
            self._events.post(group.ref.as_reference(), "Warning", problem.reason, problem.message)
        condition = conditions.false(SYNCED, problem.reason, problem.message, group.generation)
        failed = replace(
            result.state,
            last_error=error,
            conditions=conditions.merge(state.conditions, [condition], now),
        )
        loop.attempt += 1
        return Round(failed, problem.delay, full_pending=full, problem=problem)

    async def _round(
        self, group: ScimObject, state: GroupState, loop: _Loop, *, full: bool
    ) -> Round:
        try:
            runtime = await self._downstreams.get(group.namespace)
        except TenantNotReady as exc:
            delay = KUBE_RETRY if exc.transient else None
            return _stopped(state, Problem(exc.reason, exc.message, delay, warn=False))
        try:
            key = external_key(group.spec)
            desired = group_input(group.spec)
        except InvalidObject as exc:
            return _stopped(state, Problem("InvalidGroup", str(exc), None, warn=True))

        now = utcnow()
        before = _progress(state)
        if full or state.observed_generation != group.generation or not state.downstream_id:
            try:
                upserted = await runtime.call(
                    lambda z: z.upsert_group(key, desired), budget=self._config.retry_budget
                )
            except DownstreamFailed as failed:
                return _stopped(state, self._problem(failed.verdict, loop))
            state = replace(
                state, downstream_id=upserted.resource.id, observed_generation=group.generation
            )
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
            applied = await self._apply(runtime, group, key, state, plan, loop)
            if applied.problem is not None:
                return applied
            state = applied.state
            retry_after = applied.retry_after
            full_pending = applied.full_pending
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
        return Round(state, retry_after, full_pending)

    def _problem(self, verdict: Verdict, loop: _Loop) -> Problem:
        """A failed call as the round reports it: the verdict says when to retry."""
        return Problem(
            verdict.reason, verdict.message, verdict.delay(loop.attempt, self._rng), warn=True
        )

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
        if isinstance(plan, memberlog.Deltas):
            read = await self._read(group, list(plan.entries))
            if not isinstance(read, list):
                return self._unread(state, read)
            ops = memberlog.net_changes(e for e in read if isinstance(e, Delta))
            sent = await self._change(runtime, key, ops, loop)
            done = sent.change.added - sent.change.removed
            state = replace(state, member_count=max(0, (state.member_count or 0) + done))
            if sent.problem is not None:  # the count stays exact across the retry
                return _stopped(state, sent.problem)
        else:
            read = await self._read(group, [*plan.snapshot, *plan.deltas])
            if not isinstance(read, list):
                return self._unread(state, read)
            desired = memberlog.fold(read)
            try:
                current = await runtime.call(
                    lambda z: _collect(z.iter_members(key)), budget=self._config.retry_budget
                )
            except DownstreamFailed as failed:
                return _stopped(state, self._problem(failed.verdict, loop))
            ops = {k: True for k in desired - current}
            ops.update({k: False for k in current - desired})
            sent = await self._change(runtime, key, ops, loop)
            if sent.problem is not None:  # the next full pass counts again
                return _stopped(state, sent.problem)
            count = len(current) + sent.change.added - sent.change.removed
            state = replace(state, member_count=max(0, count))
        adds = {k for k, add in ops.items() if add}
        waiting = [k for k in sent.change.missing if k in adds and self._may_appear(group, k)]
        full = isinstance(plan, memberlog.Full)
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

    @staticmethod
    def _unread(state: GroupState, read: Problem | _Compacted) -> Round:
        if isinstance(read, _Compacted):
            return Round(state, 0.0, full_pending=True)  # entries vanished: a full pass
        return _stopped(state, read)

    def _may_appear(self, group: ScimObject, member_id: str) -> bool:
        """Is a member reported missing by Zero worth waiting for (its account is coming)?"""
        entries = self._directory.users_with_id(group.namespace, member_id)
        if not entries:
            return True  # not seen yet (or not a user at all: the wait is bounded)
        return any(not e.deleting and not e.has_account and not e.handled for e in entries)

    async def _change(
        self, runtime: TenantRuntime, key: str, ops: Mapping[str, bool], loop: _Loop
    ) -> Sent:
        """Send the changes in batches of at most 1,000 keys; sum what went through."""
        items = list(ops.items())
        added = removed = 0
        missing: list[str] = []
        for start in range(0, len(items), MAX_BATCH):
            chunk = items[start : start + MAX_BATCH]
            add = [k for k, is_add in chunk if is_add]
            remove = [k for k, is_add in chunk if not is_add]
            send = functools.partial(
                ZeroAccountsClient.change_members, group_key=key, add=add, remove=remove
            )
            try:
                result = await runtime.call(send, budget=self._config.retry_budget)
            except DownstreamFailed as failed:
                partial = MembershipChange(added=added, removed=removed, missing=missing)
                return Sent(partial, self._problem(failed.verdict, loop))
            added += result.added
            removed += result.removed
            missing += result.missing
        return Sent(MembershipChange(added=added, removed=removed, missing=missing))

    async def _read(
        self, group: ScimObject, entries: list[EntryHeader]
    ) -> list[Delta | SnapshotPart] | Problem | _Compacted:
        """The entries' contents, in order (bounded parallel reads)."""
        semaphore = asyncio.Semaphore(READ_CONCURRENCY)

        async def one(entry: EntryHeader) -> Delta | SnapshotPart | _Compacted:
            async with semaphore:
                body = await self._kube.find(MEMBER_BATCH, entry.name, group.namespace)
            decoded = memberlog.decode(body) if body is not None else None
            return _Compacted(entry.name) if decoded is None else decoded

        try:
            read = await asyncio.gather(*(one(e) for e in entries))
        except KubeError as exc:
            return Problem("KubernetesError", str(exc), KUBE_RETRY, warn=False)
        contents: list[Delta | SnapshotPart] = []
        for item in read:
            if isinstance(item, _Compacted):
                return item
            contents.append(item)
        return contents

    # -- deletion ------------------------------------------------------------------------

    async def release(self, group: ScimObject) -> ReleaseOutcome:
        return await self._delete(group, lambda zero, k: zero.delete_group(k), "InvalidGroup")


def _members_changed(before: GroupStatusPatch, after: GroupStatusPatch) -> bool:
    return (before.get("membersSyncedSeq"), before.get("memberCount")) != (
        after.get("membersSyncedSeq"),
        after.get("memberCount"),
    )


def _progress(state: GroupState) -> tuple[object, ...]:
    """What changes when a round achieves something downstream."""
    return (state.downstream_id, state.observed_generation, state.synced_seq, state.member_count)


async def _collect(members: AsyncIterator[str]) -> set[str]:
    return {key async for key in members}
