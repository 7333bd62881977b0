"""The watch-fed index, alone: pure unit tests over hand-made objects (no cluster).

The same objects the API server would send (built by the codec and the member-log
encoder), fed as watch events and write-through puts, in the orders that happen when
watches and this replica's own writes interleave.
"""

from __future__ import annotations

import uuid

from zero_scim import memberlog
from zero_scim.jsondata import JsonObject
from zero_scim.kube.objects import ScimGroup, ScimMemberBatch, ScimUser
from zero_scim.memberlog import Delta, GroupRef, SnapshotPart
from zero_scim_api.storage.codec import Meta, group_object, user_object
from zero_scim_api.storage.index import ClusterIndex, GroupEntry, TenantIndex

NS = "tenant-a"


def meta(modified: str = "2026-01-01T00:00:00.000Z") -> Meta:
    return Meta(created="2026-01-01T00:00:00.000Z", last_modified=modified, version="v")


def user(
    doc: JsonObject,
    *,
    scim_id: str | None = None,
    rv: int = 1,
    modified: str = "2026-01-01T00:00:00.000Z",
    deleting: bool = False,
) -> ScimUser:
    obj = user_object(doc, scim_id=scim_id or str(uuid.uuid4()), meta=meta(modified), namespace=NS)
    obj["metadata"]["resourceVersion"] = str(rv)
    obj["metadata"]["uid"] = str(uuid.uuid4())
    if deleting:
        obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:01Z"
        obj["metadata"]["finalizers"] = ["zeroscim.io/downstream"]
    return obj


def group(doc: JsonObject, *, scim_id: str | None = None, rv: int = 1) -> ScimGroup:
    obj = group_object(doc, scim_id=scim_id or str(uuid.uuid4()), meta=meta(), namespace=NS)
    obj["metadata"]["resourceVersion"] = str(rv)
    obj["metadata"]["uid"] = str(uuid.uuid4())
    return obj


def batch(entry: GroupEntry, item: Delta | SnapshotPart, *, rv: int) -> ScimMemberBatch:
    ref = GroupRef(NS, entry.object_name, entry.uid, entry.id)
    obj = memberlog.encode(item, ref)
    obj["metadata"]["resourceVersion"] = str(rv)
    return obj


def name_of(obj: ScimUser | ScimGroup | ScimMemberBatch) -> str:
    return obj["metadata"].get("name", "")


def put_group(index: TenantIndex, obj: ScimGroup) -> GroupEntry:
    entry = index.put_group(obj)
    assert entry is not None
    return entry


# --- resourceVersion ordering ---------------------------------------------------------------


def test_an_older_event_does_not_overwrite_a_newer_write() -> None:
    index = TenantIndex(NS)
    scim_id = str(uuid.uuid4())
    newer = user({"userName": "a@x.io", "title": "new"}, scim_id=scim_id, rv=20)
    older = user({"userName": "a@x.io", "title": "old"}, scim_id=scim_id, rv=10)
    index.put_user(newer)  # this replica's write-through
    kept = index.put_user(older)  # the watch delivers an earlier version afterwards
    assert kept is not None and kept.rv == 20
    entry = index.user(scim_id)
    assert entry is not None and entry.doc()["title"] == "new"


def test_a_same_version_event_is_not_applied_twice() -> None:
    index = TenantIndex(NS)
    obj = user({"userName": "same@x.io"}, rv=5)
    first = index.put_user(obj)
    again = index.put_user(obj)
    assert first is again
    assert index.user_count == 1


def test_a_newer_version_replaces_the_entry_and_its_keys() -> None:
    index = TenantIndex(NS)
    scim_id = str(uuid.uuid4())
    index.put_user(
        user({"userName": "k@x.io", "externalId": "e1", "emails": [{"value": "Old@x.io"}]},
             scim_id=scim_id, rv=1)
    )  # fmt: skip
    index.put_user(
        user({"userName": "k@x.io", "externalId": "e2", "emails": [{"value": "New@x.io"}]},
             scim_id=scim_id, rv=2)
    )  # fmt: skip
    assert index.user_ids_by_external_id("e1") == frozenset()
    assert index.user_ids_by_external_id("e2") == {scim_id}
    assert index.user_ids_by_email("old@x.io") == frozenset()
    assert index.user_ids_by_email("NEW@X.IO") == {scim_id}


# --- tombstones -------------------------------------------------------------------------------


def test_a_late_event_for_a_deleted_user_does_not_bring_it_back() -> None:
    index = TenantIndex(NS)
    obj = user({"userName": "gone@x.io"}, rv=7)
    scim_id = obj["spec"]["id"]
    index.put_user(obj)
    index.drop_user({"metadata": {"name": name_of(obj), "resourceVersion": "8"}})
    assert index.user(scim_id) is None
    index.put_user(obj)  # the watch's MODIFIED at rv 7 arrives after the deletion
    assert index.user(scim_id) is None
    assert index.user_id_by_username("gone@x.io") is None


def test_a_user_created_again_after_its_deletion_is_there() -> None:
    index = TenantIndex(NS)
    obj = user({"userName": "again@x.io"}, rv=7)
    index.put_user(obj)
    index.drop_user({"metadata": {"name": name_of(obj), "resourceVersion": "8"}})
    fresh = user({"userName": "again@x.io"}, rv=9)  # same object name, a new user
    index.put_user(fresh)
    assert index.user_id_by_username("AGAIN@x.io") == fresh["spec"]["id"]


def test_a_deleting_user_is_kept_by_object_name_but_not_served() -> None:
    index = TenantIndex(NS)
    obj = user({"userName": "fin@x.io"}, rv=3, deleting=True)
    index.put_user(obj)
    assert index.user(obj["spec"]["id"]) is None
    assert index.user_id_by_username("fin@x.io") is None
    occupant = index.user_object(name_of(obj))
    assert occupant is not None and occupant.deleting


def test_a_dropped_group_takes_its_member_log_with_it() -> None:
    index = TenantIndex(NS)
    entry = put_group(index, group({"displayName": "G"}, rv=1))
    index.put_batch(batch(entry, Delta(1, add=("m1",)), rv=2))
    assert index.groups_of("m1") == {entry.id}
    index.drop_group({"metadata": {"name": entry.object_name, "resourceVersion": "3"}})
    assert index.group(entry.id) is None
    assert index.groups_of("m1") == frozenset()
    index.put_group(group({"displayName": "G"}, scim_id=entry.id, rv=1))  # late event
    assert index.group(entry.id) is None


# --- renames ----------------------------------------------------------------------------------


def test_a_rename_moves_the_user_to_its_new_object_and_keys() -> None:
    index = TenantIndex(NS)
    scim_id = str(uuid.uuid4())
    before = user({"userName": "before@x.io"}, scim_id=scim_id, rv=1)
    after = user(
        {"userName": "after@x.io"}, scim_id=scim_id, rv=2, modified="2026-01-02T00:00:00.000Z"
    )
    index.put_user(before)
    index.put_user(after)  # created first; the old object is deleted next
    entry = index.user(scim_id)
    assert entry is not None and entry.object_name == name_of(after)
    assert index.user_id_by_username("after@x.io") == scim_id
    assert index.user_id_by_username("before@x.io") is None
    assert [e.object_name for e in index.user_alternates(scim_id)] == [name_of(before)]
    index.drop_user({"metadata": {"name": name_of(before), "resourceVersion": "3"}})
    assert index.user_alternates(scim_id) == []
    assert index.user(scim_id) is not None and index.user_count == 1


def test_an_older_object_of_a_renamed_user_does_not_win() -> None:
    index = TenantIndex(NS)
    scim_id = str(uuid.uuid4())
    after = user(
        {"userName": "after@x.io"}, scim_id=scim_id, rv=5, modified="2026-01-02T00:00:00.000Z"
    )
    before = user({"userName": "before@x.io"}, scim_id=scim_id, rv=4)
    index.put_user(after)
    index.put_user(before)  # the watch replays the old object after the rename
    entry = index.user(scim_id)
    assert entry is not None and entry.object_name == name_of(after)
    assert index.user_id_by_username("before@x.io") is None


def test_when_the_winning_object_goes_the_other_takes_over() -> None:
    index = TenantIndex(NS)
    scim_id = str(uuid.uuid4())
    old = user({"userName": "old@x.io"}, scim_id=scim_id, rv=1)
    new = user({"userName": "new@x.io"}, scim_id=scim_id, rv=2, modified="2026-01-03T00:00:00.000Z")
    index.put_user(old)
    index.put_user(new)
    index.drop_user({"metadata": {"name": name_of(new), "resourceVersion": "3"}})
    entry = index.user(scim_id)
    assert entry is not None and entry.object_name == name_of(old)
    assert index.user_id_by_username("old@x.io") == scim_id


# --- secondary keys ---------------------------------------------------------------------------


def test_username_keys_are_caseless_and_normalised() -> None:
    index = TenantIndex(NS)
    nfd = "Jose\u0301@x.io"  # é as e + combining acute
    obj = user({"userName": nfd})
    index.put_user(obj)
    assert index.user_id_by_username("JOSÉ@X.IO") == obj["spec"]["id"]  # NFC, other case
    assert index.user_id_by_username("jose@x.io") is None


def test_email_and_display_name_keys_are_caseless_and_normalised() -> None:
    index = TenantIndex(NS)
    u = user({"userName": "e@x.io", "emails": [{"value": "Rene\u0301@X.io"}]})
    index.put_user(u)
    g = put_group(index, group({"displayName": "Équipe STRASSE"}))
    assert index.user_ids_by_email("RENÉ@x.io") == {u["spec"]["id"]}
    assert index.group_ids_by_display_name("E\u0301quipe strasse") == {g.id}
    assert index.group_ids_by_display_name("équipe straße") == {g.id}  # full case folding


def test_a_shared_key_holds_every_id_until_each_goes() -> None:
    index = TenantIndex(NS)
    a = user({"userName": "a@x.io", "externalId": "shared"})
    b = user({"userName": "b@x.io", "externalId": "shared"})
    index.put_user(a)
    index.put_user(b)
    assert index.user_ids_by_external_id("shared") == {a["spec"]["id"], b["spec"]["id"]}
    index.drop_user({"metadata": {"name": name_of(a), "resourceVersion": "9"}})
    assert index.user_ids_by_external_id("shared") == {b["spec"]["id"]}
    g1 = put_group(index, group({"displayName": "Same"}))
    g2 = put_group(index, group({"displayName": "same"}))
    assert index.group_ids_by_display_name("SAME") == {g1.id, g2.id}


def test_a_group_renamed_is_found_only_by_its_new_display_name() -> None:
    index = TenantIndex(NS)
    scim_id = str(uuid.uuid4())
    put_group(index, group({"displayName": "Before", "externalId": "x1"}, scim_id=scim_id, rv=1))
    put_group(index, group({"displayName": "After", "externalId": "x2"}, scim_id=scim_id, rv=2))
    assert index.group_ids_by_display_name("before") == frozenset()
    assert index.group_ids_by_display_name("after") == {scim_id}
    assert index.group_ids_by_external_id("x1") == frozenset()
    assert index.group_ids_by_external_id("x2") == {scim_id}


# --- member sets ------------------------------------------------------------------------------


def test_member_deltas_apply_in_seq_order_whatever_order_they_arrive() -> None:
    index = TenantIndex(NS)
    entry = put_group(index, group({"displayName": "G"}))
    index.put_batch(batch(entry, Delta(2, remove=("a",), add=("c",)), rv=12))
    assert index.members(entry) == set()  # seq 1 not seen yet: nothing applied
    index.put_batch(batch(entry, Delta(1, add=("a", "b")), rv=11))
    assert index.members(entry) == {"b", "c"}
    assert index.groups_of("a") == frozenset()
    assert index.groups_of("c") == {entry.id}
    assert index.member_log(entry).latest == 2


def test_a_snapshot_stands_for_the_deltas_below_it() -> None:
    index = TenantIndex(NS)
    entry = put_group(index, group({"displayName": "G"}))
    index.put_batch(batch(entry, Delta(1, add=("a", "b")), rv=11))
    index.put_batch(batch(entry, Delta(2, add=("c",)), rv=12))
    index.put_batch(batch(entry, SnapshotPart(3, members=("a", "b", "c")), rv=13))
    log = index.member_log(entry)
    assert sorted(log.names_below(3)) == [
        memberlog.entry_name(entry.object_name, 1),
        memberlog.entry_name(entry.object_name, 2),
    ]
    for seq, rv in ((1, 14), (2, 15)):  # compaction deletes them: bookkeeping only
        index.drop_batch(batch(entry, Delta(seq), rv=rv))
    assert index.members(entry) == {"a", "b", "c"}
    assert log.entry_count == 1
    index.put_batch(batch(entry, Delta(4, remove=("b",)), rv=16))
    assert index.members(entry) == {"a", "c"}


def test_a_snapshot_ahead_of_the_log_replaces_the_set() -> None:
    index = TenantIndex(NS)
    entry = put_group(index, group({"displayName": "G"}))
    index.put_batch(batch(entry, Delta(1, add=("a",)), rv=11))
    # seq 2 was compacted away before this replica saw it: the snapshot at 3 is the set.
    index.put_batch(batch(entry, SnapshotPart(3, members=("b", "c")), rv=13))
    assert index.members(entry) == {"b", "c"}
    assert index.groups_of("a") == frozenset()
    assert index.member_log(entry).applied == 3


def test_the_reverse_index_follows_members_across_groups() -> None:
    index = TenantIndex(NS)
    g1 = put_group(index, group({"displayName": "One"}))
    g2 = put_group(index, group({"displayName": "Two"}))
    index.put_batch(batch(g1, Delta(1, add=("u",)), rv=2))
    index.put_batch(batch(g2, Delta(1, add=("u",)), rv=3))
    assert index.groups_of("u") == {g1.id, g2.id}
    index.put_batch(batch(g1, Delta(2, remove=("u",)), rv=4))
    assert index.groups_of("u") == {g2.id}


def test_a_member_batch_before_its_group_is_kept_for_it() -> None:
    index = TenantIndex(NS)
    obj = group({"displayName": "Late"})
    name = name_of(obj)
    ref = GroupRef(NS, name, obj["metadata"].get("uid", ""), obj["spec"]["id"])
    early = memberlog.encode(Delta(1, add=("m",)), ref)
    early["metadata"]["resourceVersion"] = "5"
    index.put_batch(early)  # the batches watch is ahead of the groups watch
    entry = put_group(index, obj)
    assert index.members(entry) == {"m"}


def test_a_watch_reset_rebuilds_the_member_sets() -> None:
    cluster = ClusterIndex()
    index = cluster.tenant(NS)
    entry = put_group(index, group({"displayName": "G"}))
    index.put_batch(batch(entry, Delta(1, add=("stale",)), rv=2))
    cluster.reset_batches([batch(entry, Delta(1, add=("x", "y")), rv=2)])
    assert index.members(entry) == {"x", "y"}
    assert index.groups_of("stale") == frozenset()
    assert index.groups_of("x") == {entry.id}


# --- the cluster index ------------------------------------------------------------------------


def test_events_go_to_their_namespace_and_a_reset_empties_the_rest() -> None:
    cluster = ClusterIndex()
    obj = user({"userName": "n@x.io"})
    cluster.user_event("ADDED", obj)
    assert cluster.tenant(NS).user(obj["spec"]["id"]) is not None
    assert cluster.tenant("other").user(obj["spec"]["id"]) is None
    cluster.reset_users([])  # the relist holds no users any more
    assert cluster.tenant(NS).user(obj["spec"]["id"]) is None
    cluster.user_event("ADDED", obj)
    cluster.user_event("DELETED", {**obj, "metadata": {**obj["metadata"], "resourceVersion": "2"}})
    assert cluster.tenant(NS).user(obj["spec"]["id"]) is None
