"""The writer of the group member log (``zero_scim.memberlog``): Deltas and compaction.

* A member change becomes Delta entries (:func:`memberlog.delta_chunks`: one entry per
  10,000 adds + 10,000 removes). Each takes seq ``latest + 1`` by *creating* that name;
  ``AlreadyExists`` means another replica took it, and the writer moves on to the next.
* Compaction (in the background, when :meth:`MemberLog.needs_compaction` says so): a
  Snapshot of the current set at the next seq, then the entries below it are deleted.
  A snapshot loses its seq whenever a member change takes that seq first; it then
  tries again at the following seq, with a growing pause, until it succeeds or
  :data:`COMPACT_PATIENCE` seconds have passed since it last lost a seq (or waited for
  missing entries that long) — so a burst of changes cannot leave a log uncompacted when
  the burst ends, however long the burst (the last write may be the one that asked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Final

from zero_scim import memberlog
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import MEMBER_BATCH
from zero_scim.kube.errors import AlreadyExists, NotFound
from zero_scim.memberlog import Entry, GroupRef
from zero_scim.scim import ServiceUnavailable
from zero_scim_api.storage.index import ClusterIndex, GroupEntry
from zero_scim_api.storage.results import MemberDelta

log = logging.getLogger(__name__)

#: Attempts at the next free seq before a member change gives up (503).
SEQ_ATTEMPTS: Final = 64
#: Seconds a compaction keeps trying after it last lost a seq to a member change (or
#: while it waits for entries still missing from the index).
COMPACT_PATIENCE: Final = 30.0


class MemberLogWriter:
    def __init__(self, kube: KubeClient, index: ClusterIndex) -> None:
        self._kube = kube
        self._index = index
        self._compacting: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def append(self, namespace: str, group: GroupEntry, delta: MemberDelta) -> None:
        """Write a net member change as Delta entries (adds apply before removes)."""
        for entry in memberlog.delta_chunks(delta.add, delta.remove, delta.displays):
            await self._write_entry(namespace, group, entry)
        self._maybe_compact(namespace, group)

    async def drain(self) -> None:
        """Wait for background compactions (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- internals -----------------------------------------------------------------------
    async def _write_entry(
        self, namespace: str, group: GroupEntry, entry: Entry, *, fixed: bool = False
    ) -> int:
        """Create one entry at the next free seq (``fixed``: at ``entry.seq`` or not at
        all — :class:`AlreadyExists`). Returns its seq."""
        index = self._index.tenant(namespace)
        log_ = index.member_log(group)
        ref = GroupRef(namespace, group.object_name, group.uid, group.id)
        current = entry.seq if fixed else log_.latest + 1
        for _attempt in range(SEQ_ATTEMPTS):
            obj = memberlog.encode(entry.at(current), ref)
            try:
                created = await self._kube.create(MEMBER_BATCH, obj, namespace)
            except AlreadyExists:
                if fixed:
                    raise
                current = max(current + 1, log_.latest + 1)
                continue
            index.put_batch(created)
            return current
        raise ServiceUnavailable(
            "too many concurrent member changes of this group; retry", retry_after=1
        )

    def _maybe_compact(self, namespace: str, group: GroupEntry) -> None:
        index = self._index.tenant(namespace)
        log_ = index.member_log(group)
        if not log_.needs_compaction(group.synced_seq):
            return
        key = (namespace, group.id)
        if key in self._compacting or log_.pending:
            return
        self._compacting.add(key)
        task = asyncio.get_running_loop().create_task(self._compact(namespace, group, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _compact(self, namespace: str, group: GroupEntry, key: tuple[str, str]) -> None:
        """Write a Snapshot of the current set, then delete the entries it supersedes."""
        try:
            log_ = self._index.tenant(namespace).member_log(group)
            loop = asyncio.get_running_loop()
            give_up = loop.time() + COMPACT_PATIENCE
            pause = 0.05
            while loop.time() < give_up:
                if log_.pending or log_.applied != log_.latest:
                    pass  # entries still arriving: the set is not exact yet
                else:
                    seq = log_.latest + 1
                    parts = memberlog.snapshot_parts(seq, sorted(log_.members), log_.displays)
                    try:
                        for part in parts:
                            await self._write_entry(namespace, group, part, fixed=True)
                    except AlreadyExists:
                        # A member change took this seq first: the burst goes on, and the
                        # log will need this snapshot all the more when it ends. Patience
                        # counts from the last lost seq, so a burst that outlasts it (a
                        # busy API server) cannot end with the log left uncompacted.
                        give_up = loop.time() + COMPACT_PATIENCE
                    else:
                        for name in log_.names_below(seq):
                            with contextlib.suppress(NotFound):
                                await self._kube.delete(MEMBER_BATCH, name, namespace)
                        return
                await asyncio.sleep(pause * (0.5 + random.random()))
                pause = min(pause * 2, 1.0)
            log.warning("compacting the member log of group %s: no free seq; later", group.id)
        except Exception:  # background work: log, never crash the loop
            log.exception("compacting the member log of group %s failed", group.id)
        finally:
            self._compacting.discard(key)
