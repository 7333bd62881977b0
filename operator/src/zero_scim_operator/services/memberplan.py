"""Which member-log entries a group's sync must read and apply (pure; no I/O).

The log (docs/architecture.md, "Group members") is a sequence of ScimMemberBatch
entries: Deltas (add/remove lists) and Snapshots (the whole set as of their seq, maybe in
parts). The operator has applied everything up to ``status.membersSyncedSeq`` (S):

* **Deltas**: the entries S+1, S+2, … are all present → apply their Deltas in order (a
  Snapshot met in order restates what the Deltas before it produced: nothing to do).
* **Full**: an entry the operator needs is gone (compacted away — a gap), or a full pass
  was asked for (resync, unknown member count) → take the newest complete Snapshot, the
  Deltas after it, and diff the result against Zero's member listing.
* **Wait**: the log is incomplete right now (a Snapshot still being written); try again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zero_scim_operator.models import BatchEntry

#: Most Deltas applied in one round (the round then records its progress and goes on).
MAX_DELTAS_PER_ROUND = 200


@dataclass(frozen=True)
class Nothing:
    pass


@dataclass(frozen=True)
class Deltas:
    entries: tuple[BatchEntry, ...]  # Deltas only, in seq order
    upto: int  # the seq the group is synced to once they are applied


@dataclass(frozen=True)
class Full:
    snapshot: tuple[BatchEntry, ...]  # all parts of the base Snapshot (empty: none)
    deltas: tuple[BatchEntry, ...]  # Deltas after it, in seq order
    upto: int


@dataclass(frozen=True)
class Wait:
    why: str


Plan = Nothing | Deltas | Full | Wait


def _by_seq(entries: Iterable[BatchEntry]) -> dict[int, list[BatchEntry]]:
    by_seq: dict[int, list[BatchEntry]] = defaultdict(list)
    for entry in entries:
        by_seq[entry.seq].append(entry)
    return by_seq


def complete_snapshots(by_seq: dict[int, list[BatchEntry]]) -> dict[int, tuple[BatchEntry, ...]]:
    result: dict[int, tuple[BatchEntry, ...]] = {}
    for seq, items in by_seq.items():
        snapshots = [e for e in items if e.type == "Snapshot"]
        if not snapshots:
            continue
        parts = snapshots[0].parts
        by_part = {e.part: e for e in snapshots}
        if set(by_part) >= set(range(parts)):
            result[seq] = tuple(by_part[p] for p in range(parts))
    return result


def plan(entries: Sequence[BatchEntry], synced_seq: int, *, full: bool = False) -> Plan:
    by_seq = _by_seq(entries)
    latest = max(by_seq, default=0)
    if not full:
        if latest <= synced_seq:
            return Nothing()
        deltas: list[BatchEntry] = []
        upto = synced_seq
        for seq in range(synced_seq + 1, latest + 1):
            items = by_seq.get(seq)
            if not items:
                break  # a gap: the entries we need were compacted away
            delta = next((e for e in items if e.type == "Delta"), None)
            if delta is not None:
                if len(deltas) >= MAX_DELTAS_PER_ROUND:
                    return Deltas(tuple(deltas), upto)
                deltas.append(delta)
            upto = seq
        else:
            return Deltas(tuple(deltas), upto)
    return _full(by_seq, latest)


def _full(by_seq: dict[int, list[BatchEntry]], latest: int) -> Plan:
    snapshots = complete_snapshots(by_seq)
    base = max((s for s in snapshots if s <= latest), default=0)
    deltas: list[BatchEntry] = []
    for seq in range(base + 1, latest + 1):
        items = by_seq.get(seq)
        if not items:
            return Wait(f"member log entry {seq} is missing and no complete snapshot covers it")
        delta = next((e for e in items if e.type == "Delta"), None)
        if delta is not None:
            deltas.append(delta)
    return Full(snapshots.get(base, ()), tuple(deltas), latest)
