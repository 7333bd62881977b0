"""One group's member log, folded into the current member set (see docs/architecture.md).

Entries arrive from the watch (in creation order) and from this replica's own writes
(possibly ahead of the watch). Deltas are applied strictly in seq order; an entry whose
predecessors are missing waits in a buffer. A snapshot that arrives in order is a no-op
(it states exactly the set its writer derived from the same entries); a complete
snapshot above a gap replaces the set and skips the gap.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Hook = Callable[[str], None]


@dataclass(slots=True)
class _Delta:
    add: list[str]
    remove: list[str]
    displays: dict[str, str]


@dataclass(slots=True)
class _Snapshot:
    parts: int
    received: dict[int, list[str]] = field(default_factory=dict)
    displays: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.received) >= self.parts

    def members(self) -> Iterable[str]:
        for ids in self.received.values():
            yield from ids


def _displays(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {sys.intern(k): v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}


def _ids(raw: Any) -> list[str]:
    return [sys.intern(x) for x in raw if isinstance(x, str)] if isinstance(raw, list) else []


class MemberLog:
    """Member set of one group plus the bookkeeping of its ScimMemberBatch objects."""

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

    def __init__(self, group_id: str, on_add: Hook, on_remove: Hook) -> None:
        self.group_id = group_id
        self.members: set[str] = set()
        self.displays: dict[str, str] = {}  # display sent by the client, for some members
        self.applied = 0  # the member set is exact up to this seq
        self.latest = 0  # highest seq seen (a writer takes latest + 1)
        self.names: dict[int, set[str]] = {}  # seq -> object names (for compaction)
        self._buffer: dict[int, _Delta] = {}
        self._snapshots: dict[int, _Snapshot] = {}
        self._on_add = on_add
        self._on_remove = on_remove

    # -- reading ---------------------------------------------------------------------
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

    # -- writing ---------------------------------------------------------------------
    def add_entry(self, name: str, spec: dict[str, Any]) -> None:
        seq = int(spec.get("seq", 0))
        if seq <= 0:
            return
        self.names.setdefault(seq, set()).add(name)
        self.latest = max(self.latest, seq)
        if spec.get("type") == "Snapshot":
            snap = self._snapshots.setdefault(
                seq, _Snapshot(parts=max(1, int(spec.get("parts", 1))))
            )
            snap.received[int(spec.get("part", 0))] = _ids(spec.get("add"))
            snap.displays.update(_displays(spec.get("displays")))
            if seq > self.applied + 1 and snap.complete:
                self._replace(set(snap.members()), snap.displays)
                self.applied = seq
                self._buffer = {s: d for s, d in self._buffer.items() if s > seq}
        elif seq > self.applied:
            self._buffer[seq] = _Delta(
                _ids(spec.get("add")), _ids(spec.get("remove")), _displays(spec.get("displays"))
            )
        self._advance()

    def drop_entry(self, name: str, spec: dict[str, Any]) -> None:
        seq = int(spec.get("seq", 0))
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

    def load(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Rebuild from a full list: newest complete snapshot, then later deltas."""
        self.clear()
        complete: dict[int, _Snapshot] = {}
        for _name, spec in entries:
            if spec.get("type") == "Snapshot":
                seq = int(spec.get("seq", 0))
                snap = complete.setdefault(seq, _Snapshot(parts=max(1, int(spec.get("parts", 1)))))
                snap.received[int(spec.get("part", 0))] = _ids(spec.get("add"))
                snap.displays.update(_displays(spec.get("displays")))
        base = max((s for s, snap in complete.items() if snap.complete), default=0)
        if base:
            self._replace(set(complete[base].members()), complete[base].displays)
            self.applied = base
        for name, spec in sorted(entries, key=lambda e: int(e[1].get("seq", 0))):
            self.add_entry(name, spec)
