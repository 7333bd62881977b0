"""Which entries a group's sync must read and apply downstream (the operator's plan).

The operator has applied everything up to ``status.membersSyncedSeq`` (S):

* **Deltas**: the entries S+1, S+2, … are all present → apply their Deltas in order (a
  Snapshot met in order restates what the Deltas before it produced: nothing to do).
* **Full**: an entry the operator needs is gone (compacted away — a gap), or a full pass
  was asked for (resync, unknown member count) → take the newest complete Snapshot, the
  Deltas after it, and diff the result against the downstream's member listing.
* **Wait**: the log is incomplete right now (a Snapshot still being written); try again.
* **Nothing**: the group is synced up to the newest entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zero_scim.memberlog._entries import EntryHeader

#: Most Deltas applied in one round (the round then records its progress and goes on).
MAX_DELTAS_PER_ROUND = 200


@dataclass(frozen=True)
class Nothing:
    pass


@dataclass(frozen=True)
class Deltas:
    entries: tuple[EntryHeader, ...]  # Deltas only, in seq order
    upto: int  # the seq the group is synced to once they are applied


@dataclass(frozen=True)
class Full:
    snapshot: tuple[EntryHeader, ...]  # all parts of the base Snapshot (empty: none)
    deltas: tuple[EntryHeader, ...]  # Deltas after it, in seq order
    upto: int


@dataclass(frozen=True)
class Wait:
    why: str


Plan = Nothing | Deltas | Full | Wait


def _by_seq(entries: Iterable[EntryHeader]) -> dict[int, list[EntryHeader]]:
    by_seq: dict[int, list[EntryHeader]] = defaultdict(list)
    for entry in entries:
        by_seq[entry.seq].append(entry)
    return by_seq


def complete_snapshots(
    by_seq: dict[int, list[EntryHeader]],
) -> dict[int, tuple[EntryHeader, ...]]:
    """Every seq whose Snapshot has all its parts, with the parts in order."""
    result: dict[int, tuple[EntryHeader, ...]] = {}
    for seq, items in by_seq.items():
        snapshots = [e for e in items if e.type == "Snapshot"]
        if not snapshots:
            continue
        parts = snapshots[0].parts
        by_part = {e.part: e for e in snapshots}
        if set(by_part) >= set(range(parts)):
            result[seq] = tuple(by_part[p] for p in range(parts))
    return result


def plan(entries: Sequence[EntryHeader], synced_seq: int, *, full: bool = False) -> Plan:
    """What to do for a group synced to ``synced_seq`` whose log holds ``entries``."""
    by_seq = _by_seq(entries)
    latest = max(by_seq, default=0)
    if not full:
        if latest <= synced_seq:
            return Nothing()
        deltas: list[EntryHeader] = []
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


def _full(by_seq: dict[int, list[EntryHeader]], latest: int) -> Plan:
    snapshots = complete_snapshots(by_seq)
    base = max((s for s in snapshots if s <= latest), default=0)
    deltas: list[EntryHeader] = []
    for seq in range(base + 1, latest + 1):
        items = by_seq.get(seq)
        if not items:
            return Wait(f"member log entry {seq} is missing and no complete snapshot covers it")
        delta = next((e for e in items if e.type == "Delta"), None)
        if delta is not None:
            deltas.append(delta)
    return Full(snapshots.get(base, ()), tuple(deltas), latest)
