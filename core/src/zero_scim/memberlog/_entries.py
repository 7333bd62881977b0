"""Member-log entries: typed values, their ScimMemberBatch objects, their names.

An entry is a :class:`Delta` (ids added, then ids removed) or one part of a
:class:`SnapshotPart` set (the whole member set as of its seq, in parts of at most
:data:`MAX_IDS_PER_ENTRY` ids). :func:`encode` and :func:`decode` are exact inverses
for what the API writes; :func:`header` is an entry without its ids (what the operator
keeps in memory for every entry).
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from zero_scim.kube.coordinates import (
    API_VERSION,
    GROUP_KIND,
    LABEL_GROUP,
    LABEL_PART_OF,
    MEMBER_BATCH,
    PART_OF,
)
from zero_scim.kube.objects import EntryType, ScimMemberBatch, ScimMemberBatchSpec

#: Most ids in one entry (the CRD's ``maxItems``; etcd's object size limit decides it).
MAX_IDS_PER_ENTRY = 20_000

_SUFFIX = re.compile(r"-\d{10}(-p\d+)?$")


@dataclass(frozen=True, slots=True)
class Delta:
    """A member change: ``add`` is applied before ``remove`` (the API keeps them disjoint).

    ``displays``: the display text a client sent with some added members.
    """

    seq: int
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    displays: Mapping[str, str] = field(default_factory=dict)

    def at(self, seq: int) -> Delta:
        return replace(self, seq=seq)


@dataclass(frozen=True, slots=True)
class SnapshotPart:
    """Part ``part`` of ``parts`` of the whole member set as of ``seq``."""

    seq: int
    members: tuple[str, ...] = ()
    part: int = 0
    parts: int = 1
    displays: Mapping[str, str] = field(default_factory=dict)

    def at(self, seq: int) -> SnapshotPart:
        return replace(self, seq=seq)


Entry = Delta | SnapshotPart


@dataclass(frozen=True, slots=True)
class EntryHeader:
    """An entry without its ids: where it is in the log and what it is."""

    name: str
    seq: int
    type: EntryType
    part: int = 0
    parts: int = 1


@dataclass(frozen=True, slots=True)
class GroupRef:
    """The ScimGroup a log belongs to (entries are owned by it: garbage-collected with it)."""

    namespace: str
    object_name: str
    uid: str
    scim_id: str


# -- names ---------------------------------------------------------------------------------


def entry_name(group_object: str, seq: int, part: int = 0) -> str:
    """``<group object>-<seq:010d>``, and ``-p<part>`` for a snapshot's later parts."""
    base = f"{group_object}-{seq:010d}"
    return base if part == 0 else f"{base}-p{part}"


def group_of(obj: ScimMemberBatch) -> str:
    """The ScimGroup object an entry belongs to: its ``zeroscim.io/group`` label, else
    its name without the seq suffix."""
    metadata = obj["metadata"]
    label = (metadata.get("labels") or {}).get(LABEL_GROUP)
    return label if label else _SUFFIX.sub("", metadata.get("name", ""))


# -- reading -------------------------------------------------------------------------------


def _ints(spec: ScimMemberBatchSpec) -> tuple[int, int, int] | None:
    try:
        seq = int(spec.get("seq", 0))
        part = int(spec.get("part", 0) or 0)
        parts = max(1, int(spec.get("parts", 1) or 1))
    except (TypeError, ValueError):
        return None
    return (seq, part, parts) if seq > 0 else None


_TYPES: dict[object, EntryType] = {"Delta": "Delta", "Snapshot": "Snapshot"}


def header(obj: ScimMemberBatch) -> EntryHeader | None:
    """The entry's place and type; None for an object that is no valid entry."""
    spec = obj.get("spec", {})
    numbers = _ints(spec)
    kind = _TYPES.get(spec.get("type"))
    if numbers is None or kind is None:
        return None
    seq, part, parts = numbers
    return EntryHeader(obj["metadata"].get("name", ""), seq, kind, part, parts)


def _ids(raw: object) -> tuple[str, ...]:
    # Interned: the API's index shares each id's string between users and member sets.
    if not isinstance(raw, list):
        return ()
    return tuple(sys.intern(x) for x in raw if isinstance(x, str))


def _displays(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {sys.intern(k): v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}


def decode(obj: ScimMemberBatch) -> Entry | None:
    """The entry an object holds; None for an object that is no valid entry."""
    spec = obj.get("spec", {})
    numbers = _ints(spec)
    if numbers is None:
        return None
    seq, part, parts = numbers
    kind = _TYPES.get(spec.get("type"))
    displays = _displays(spec.get("displays"))
    if kind == "Snapshot":
        return SnapshotPart(seq, _ids(spec.get("add")), part, parts, displays)
    if kind == "Delta":
        return Delta(seq, _ids(spec.get("add")), _ids(spec.get("remove")), displays)
    return None


# -- writing -------------------------------------------------------------------------------


def encode(entry: Entry, group: GroupRef) -> ScimMemberBatch:
    """The ScimMemberBatch that holds ``entry`` in ``group``'s log."""
    kind: EntryType
    if isinstance(entry, Delta):
        kind, add, remove, part, parts = "Delta", entry.add, entry.remove, 0, 1
    else:
        kind, add, remove, part, parts = "Snapshot", entry.members, (), entry.part, entry.parts
    spec: ScimMemberBatchSpec = {
        "groupId": group.scim_id,
        "seq": entry.seq,
        "type": kind,
        "part": part,
        "parts": parts,
    }
    if add:
        spec["add"] = list(add)
    if remove:
        spec["remove"] = list(remove)
    if entry.displays:
        spec["displays"] = dict(entry.displays)
    return {
        "apiVersion": API_VERSION,
        "kind": MEMBER_BATCH.kind,
        "metadata": {
            "name": entry_name(group.object_name, entry.seq, part),
            "namespace": group.namespace,
            "labels": {LABEL_GROUP: group.object_name, LABEL_PART_OF: PART_OF},
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": GROUP_KIND.kind,
                    "name": group.object_name,
                    "uid": group.uid,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "spec": spec,
    }


def delta_chunks(
    add: Sequence[str], remove: Sequence[str], displays: Mapping[str, str] | None = None
) -> list[Delta]:
    """A net member change as Deltas of at most ``MAX_IDS_PER_ENTRY // 2`` adds and as
    many removes each (their seq is 0 until the writer takes one: :meth:`Delta.at`)."""
    size = MAX_IDS_PER_ENTRY // 2
    adds = [tuple(add[i : i + size]) for i in range(0, len(add), size)]
    removes = [tuple(remove[i : i + size]) for i in range(0, len(remove), size)]
    empty: tuple[str, ...] = ()
    chunks: list[Delta] = []
    for chunk_add, chunk_remove in itertools.zip_longest(adds, removes, fillvalue=empty):
        shown = {m: displays[m] for m in chunk_add if m in displays} if displays else {}
        chunks.append(Delta(0, chunk_add, chunk_remove, shown))
    return chunks


def snapshot_parts(
    seq: int, members: Sequence[str], displays: Mapping[str, str] | None = None
) -> list[SnapshotPart]:
    """The whole member set as of ``seq`` in parts of at most ``MAX_IDS_PER_ENTRY`` ids
    (one empty part for an empty set)."""
    chunks = [
        tuple(members[i : i + MAX_IDS_PER_ENTRY]) for i in range(0, len(members), MAX_IDS_PER_ENTRY)
    ] or [()]
    shown = displays or {}
    return [
        SnapshotPart(seq, chunk, part, len(chunks), {m: shown[m] for m in chunk if m in shown})
        for part, chunk in enumerate(chunks)
    ]
