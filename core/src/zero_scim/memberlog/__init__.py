"""The member log: how a group's members are stored, written and read (pure; no I/O).

A group's members live in ``ScimMemberBatch`` objects, a per-group log (etcd cannot
hold 50,000 members in one object, and Entra sends many small member PATCHes)::

    <group object>-0000000001          Delta     add [a, b]
    <group object>-0000000002          Delta     add [c], remove [a]
    <group object>-0000000003          Snapshot  part 0 of 2: [b, …]
    <group object>-0000000003-p1       Snapshot  part 1 of 2: [c, …]
    <group object>-0000000004          Delta     remove [b]

* A writer takes seq ``latest + 1`` by *creating* that name; ``AlreadyExists`` means
  another writer took it, so seq order is creation order (:func:`entry_name`).
* A complete Snapshot at *s* states the whole set as of *s*; entries below it are then
  obsolete and deleted (compaction, :meth:`MemberLog.needs_compaction`). An incomplete
  one (a crash mid-write) is ignored.
* Readers fold the newest complete Snapshot and the Deltas after it, strictly in seq
  order (:class:`MemberLog`, :func:`fold`): the API's index incrementally, the operator
  for a full pass.
* The operator applies the Deltas above ``status.membersSyncedSeq`` downstream, or
  reconciles in full when entries it needs were compacted away (:func:`plan`).

The API writes (:func:`encode`, :func:`delta_chunks`, :func:`snapshot_parts`) and reads
(:class:`MemberLog`); the operator reads (:func:`header`, :func:`plan`, :func:`decode`,
:func:`fold`, :func:`net_changes`). Nothing here does I/O.
"""

from zero_scim.memberlog._entries import (
    MAX_IDS_PER_ENTRY,
    Delta,
    Entry,
    EntryHeader,
    GroupRef,
    SnapshotPart,
    decode,
    delta_chunks,
    encode,
    entry_name,
    group_of,
    header,
    snapshot_parts,
)
from zero_scim.memberlog._fold import (
    COMPACT_ABOVE,
    COMPACT_FORCE_ABOVE,
    MemberLog,
    fold,
    net_changes,
)
from zero_scim.memberlog._plan import (
    MAX_DELTAS_PER_ROUND,
    Deltas,
    Full,
    Nothing,
    Plan,
    Wait,
    plan,
)

__all__ = [
    "COMPACT_ABOVE",
    "COMPACT_FORCE_ABOVE",
    "MAX_DELTAS_PER_ROUND",
    "MAX_IDS_PER_ENTRY",
    "Delta",
    "Deltas",
    "Entry",
    "EntryHeader",
    "Full",
    "GroupRef",
    "MemberLog",
    "Nothing",
    "Plan",
    "SnapshotPart",
    "Wait",
    "decode",
    "delta_chunks",
    "encode",
    "entry_name",
    "fold",
    "group_of",
    "header",
    "net_changes",
    "plan",
    "snapshot_parts",
]
