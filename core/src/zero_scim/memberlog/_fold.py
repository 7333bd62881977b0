"""The fold: one group's log entries → its member set (newest complete snapshot, then
the Deltas after it, strictly in seq order).

:class:`MemberLog` folds incrementally, as the API's watch-fed index needs: entries
arrive from the watch (in creation order) and from the replica's own writes (possibly
ahead of the watch). Deltas are applied strictly in seq order; one whose predecessors
are missing waits in a buffer. A snapshot that arrives in order is a no-op (it states
exactly the set its writer derived from the same entries); a complete snapshot above a
gap replaces the set and skips the gap. :meth:`MemberLog.load` rebuilds from a full
list, :func:`fold` does it for a one-off read (the operator's full pass).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from zero_scim.memberlog._entries import Delta, Entry, SnapshotPart

Hook = Callable[[str], None]

#: The writer compacts a log with more entries than this once the operator synced them,
COMPACT_ABOVE = 64
#: and above this many entries in any case.
COMPACT_FORCE_ABOVE = 1024


def _ignore(_member: str) -> None:
    pass


@dataclass(slots=True)
class _Snapshot:
    parts: int
    received: dict[int, tuple[str, ...]] = field(default_factory=dict)
    displays: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.received) >= self.parts

    def members(self) -> Iterator[str]:
        for ids in self.received.values():
            yield from ids

    def receive(self, part: SnapshotPart) -> None:
        self.received[part.part] = part.members
        self.displays.update(part.displays)


class MemberLog:
    """The member set of one group, plus the bookkeeping of its entries' objects.

    ``on_add``/``on_remove`` are called for every member that enters or leaves the set
    (the API keeps its reverse index, member → groups, with them).
    """

    __slots__ = (
        "_buffer",
        "_on_add",
        "_on_remove",
        "_snapshots",
        "applied",
        "displays",
        "group_id",
        "latest",
        "members",
        "names",
    )

    def __init__(self, group_id: str = "", on_add: Hook = _ignore, on_remove: Hook = _ignore):
        self.group_id = group_id
        self.members: set[str] = set()
        self.displays: dict[str, str] = {}  # display sent by the client, for some members
        self.applied = 0  # the member set is exact up to this seq
        self.latest = 0  # highest seq seen (a writer takes latest + 1)
        self.names: dict[int, set[str]] = {}  # seq -> object names (for compaction)
        self._buffer: dict[int, Delta] = {}
        self._snapshots: dict[int, _Snapshot] = {}
        self._on_add = on_add
        self._on_remove = on_remove

    # -- reading -------------------------------------------------------------------------
    @property
    def entry_count(self) -> int:
        return sum(len(v) for v in self.names.values())

    @property
    def pending(self) -> bool:
        """True while entries wait for a missing predecessor."""
        return bool(self._buffer)

    def latest_complete_snapshot(self) -> int:
        complete = [seq for seq, snap in self._snapshots.items() if snap.complete]
        return max(complete, default=0)

    def needs_compaction(self, synced_seq: int) -> bool:
        """Should the writer replace the log by a snapshot (``synced_seq``: how far the
        operator has applied it)?"""
        entries = self.entry_count
        if entries <= COMPACT_ABOVE:
            return False
        return synced_seq >= self.applied or entries > COMPACT_FORCE_ABOVE

    def names_below(self, seq: int) -> list[str]:
        """The objects of every entry below ``seq`` (obsolete once a snapshot at ``seq``
        is complete)."""
        return [name for s, names in list(self.names.items()) if s < seq for name in names]

    # -- writing -------------------------------------------------------------------------
    def add(self, entry: Entry, name: str = "") -> None:
        seq = entry.seq
        if seq <= 0:
            return
        self.names.setdefault(seq, set()).add(name)
        self.latest = max(self.latest, seq)
        if isinstance(entry, SnapshotPart):
            snap = self._snapshots.setdefault(seq, _Snapshot(parts=entry.parts))
            snap.receive(entry)
            if seq > self.applied + 1 and snap.complete:
                self._replace(set(snap.members()), snap.displays)
                self.applied = seq
                self._buffer = {s: d for s, d in self._buffer.items() if s > seq}
        elif seq > self.applied:
            self._buffer[seq] = entry
        self._advance()

    def drop(self, seq: int, name: str = "") -> None:
        """An entry's object is gone (compacted): bookkeeping only, the set stays."""
        names = self.names.get(seq)
        if names is not None:
            names.discard(name)
            if not names:
                del self.names[seq]
                self._snapshots.pop(seq, None)

    def _advance(self) -> None:
        while True:
            following = self.applied + 1
            delta = self._buffer.pop(following, None)
            if delta is not None:
                for member in delta.add:
                    if member not in self.members:
                        self.members.add(member)
                        self._on_add(member)
                        if member in delta.displays:
                            self.displays[member] = delta.displays[member]
                for member in delta.remove:
                    if member in self.members:
                        self.members.discard(member)
                        self.displays.pop(member, None)
                        self._on_remove(member)
                self.applied = following
            elif following in self._snapshots:
                self.applied = following  # in order: states what we already have
            else:
                return

    def _replace(self, new: set[str], displays: dict[str, str] | None = None) -> None:
        for member in self.members - new:
            self._on_remove(member)
        for member in new - self.members:
            self._on_add(member)
        self.members = new
        self.displays = {m: d for m, d in (displays or {}).items() if m in new}

    def clear(self) -> None:
        self._replace(set())
        self.applied = self.latest = 0
        self.names.clear()
        self._buffer.clear()
        self._snapshots.clear()

    def load(self, entries: Iterable[tuple[str, Entry]]) -> None:
        """Rebuild from a full list of (object name, entry): the newest complete
        snapshot, then the entries after it in seq order."""
        listed = list(entries)
        self.clear()
        snapshots: dict[int, _Snapshot] = {}
        for _name, entry in listed:
            if isinstance(entry, SnapshotPart):
                snapshots.setdefault(entry.seq, _Snapshot(parts=entry.parts)).receive(entry)
        base = max((s for s, snap in snapshots.items() if snap.complete), default=0)
        if base:
            self._replace(set(snapshots[base].members()), snapshots[base].displays)
            self.applied = base
        for name, entry in sorted(listed, key=lambda e: e[1].seq):
            self.add(entry, name)


def fold(entries: Iterable[Entry]) -> set[str]:
    """The member set the entries state (the newest complete snapshot among them, then
    the Deltas after it in seq order, up to the first gap)."""
    log = MemberLog()
    log.load(("", entry) for entry in entries)
    return log.members


def net_changes(deltas: Iterable[Delta]) -> dict[str, bool]:
    """The net effect of Deltas applied in order, per member: True added, False removed
    (the last operation on a member wins)."""
    changes: dict[str, bool] = {}
    for delta in deltas:
        for member in delta.add:
            changes[member] = True
        for member in delta.remove:
            changes[member] = False
    return changes
