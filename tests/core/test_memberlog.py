"""The member log (zero_scim.memberlog): entries and their objects, the fold, the plan.

Pure: no API server. The fold is what the API's index does with the watch; the plan is
what the operator does with ``status.membersSyncedSeq``.
"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zero_scim import memberlog
from zero_scim.kube.coordinates import LABEL_GROUP, MEMBER_BATCH
from zero_scim.kube.objects import ScimMemberBatch
from zero_scim.memberlog import (
    Delta,
    EntryHeader,
    GroupRef,
    MemberLog,
    SnapshotPart,
)

GROUP = GroupRef(namespace="ns", object_name="g-abc", uid="uid-1", scim_id="abc")


def delta(seq: int, add: list[str] | None = None, remove: list[str] | None = None) -> Delta:
    return Delta(seq, tuple(add or ()), tuple(remove or ()))


def snapshot(seq: int, members: list[str], part: int = 0, parts: int = 1) -> SnapshotPart:
    return SnapshotPart(seq, tuple(members), part, parts)


def new_log() -> tuple[MemberLog, dict[str, int]]:
    reverse: dict[str, int] = {}

    def on_add(member: str) -> None:
        reverse[member] = reverse.get(member, 0) + 1

    def on_remove(member: str) -> None:
        reverse[member] -= 1
        if not reverse[member]:
            del reverse[member]

    return MemberLog("g", on_add, on_remove), reverse


# -- entries and their objects -------------------------------------------------------------


def test_names_carry_the_seq_and_the_part() -> None:
    assert memberlog.entry_name("g-abc", 7) == "g-abc-0000000007"
    assert memberlog.entry_name("g-abc", 7, 2) == "g-abc-0000000007-p2"


def test_a_delta_is_encoded_as_the_api_writes_it_and_decodes_back() -> None:
    entry = Delta(3, ("a", "b"), ("c",), {"a": "Ada"})
    obj = memberlog.encode(entry, GROUP)
    assert obj["kind"] == MEMBER_BATCH.kind
    assert obj["metadata"]["name"] == "g-abc-0000000003"
    assert obj["metadata"]["namespace"] == "ns"
    assert obj["metadata"]["labels"][LABEL_GROUP] == "g-abc"
    (owner,) = obj["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("ScimGroup", "g-abc", "uid-1")
    assert obj["spec"] == {
        "groupId": "abc",
        "seq": 3,
        "type": "Delta",
        "part": 0,
        "parts": 1,
        "add": ["a", "b"],
        "remove": ["c"],
        "displays": {"a": "Ada"},
    }
    assert memberlog.decode(obj) == entry
    assert memberlog.header(obj) == EntryHeader("g-abc-0000000003", 3, "Delta", 0, 1)
    assert memberlog.group_of(obj) == "g-abc"


def test_a_snapshot_part_round_trips_and_empty_lists_are_left_out() -> None:
    entry = SnapshotPart(9, ("x",), part=1, parts=2)
    obj = memberlog.encode(entry, GROUP)
    assert obj["metadata"]["name"] == "g-abc-0000000009-p1"
    assert obj["spec"] == {
        "groupId": "abc",
        "seq": 9,
        "type": "Snapshot",
        "part": 1,
        "parts": 2,
        "add": ["x"],
    }
    assert memberlog.decode(obj) == entry
    empty = memberlog.encode(SnapshotPart(4), GROUP)
    assert "add" not in empty["spec"] and "remove" not in empty["spec"]
    assert memberlog.decode(empty) == SnapshotPart(4)


def _raw(spec: dict[str, object], name: str = "g-abc-0000000001") -> ScimMemberBatch:
    return {"metadata": {"name": name}, "spec": spec}  # type: ignore[typeddict-item]


@pytest.mark.parametrize(
    "spec",
    [
        {"groupId": "abc", "seq": 0, "type": "Delta"},  # no seq
        {"groupId": "abc", "seq": -1, "type": "Delta"},
        {"groupId": "abc", "seq": "x", "type": "Delta"},
        {"groupId": "abc", "seq": 1, "type": "Other"},
        {"groupId": "abc", "seq": 1, "type": "Delta", "parts": "many"},
    ],
)
def test_objects_that_are_no_valid_entry_are_ignored(spec: dict[str, object]) -> None:
    assert memberlog.decode(_raw(spec)) is None
    assert memberlog.header(_raw(spec)) is None


def test_the_group_of_an_unlabelled_entry_comes_from_its_name() -> None:
    assert memberlog.group_of(_raw({}, "g-abc-0000000012-p3")) == "g-abc"
    assert memberlog.group_of(_raw({}, "g-abc-0000000012")) == "g-abc"


def test_large_changes_are_split_into_entries_of_bounded_size() -> None:
    add = [f"a{i}" for i in range(25_000)]
    remove = [f"r{i}" for i in range(3)]
    chunks = memberlog.delta_chunks(add, remove, {"a1": "One", "a24999": "Last"})
    assert [len(c.add) for c in chunks] == [10_000, 10_000, 5_000]
    assert [len(c.remove) for c in chunks] == [3, 0, 0]
    assert chunks[0].displays == {"a1": "One"} and chunks[2].displays == {"a24999": "Last"}
    assert all(c.seq == 0 for c in chunks) and chunks[1].at(5).seq == 5
    assert memberlog.delta_chunks([], []) == []


def test_a_snapshot_is_split_into_parts_and_an_empty_set_has_one_part() -> None:
    members = [f"m{i:05d}" for i in range(45_000)]
    parts = memberlog.snapshot_parts(12, members, {"m00001": "One"})
    assert [(p.seq, p.part, p.parts, len(p.members)) for p in parts] == [
        (12, 0, 3, 20_000),
        (12, 1, 3, 20_000),
        (12, 2, 3, 5_000),
    ]
    assert parts[0].displays == {"m00001": "One"} and not parts[1].displays
    assert memberlog.snapshot_parts(3, []) == [SnapshotPart(3, (), 0, 1)]


# -- the fold (the API's index) ------------------------------------------------------------


def test_deltas_in_order() -> None:
    log, reverse = new_log()
    log.add(delta(1, add=["a", "b"]), "e1")
    log.add(delta(2, add=["c"], remove=["a"]), "e2")
    assert log.members == {"b", "c"}
    assert set(reverse) == {"b", "c"}
    assert (log.applied, log.latest) == (2, 2)


def test_an_entry_ahead_of_a_gap_waits_for_its_predecessor() -> None:
    log, _ = new_log()
    log.add(delta(1, add=["u"]), "e1")
    log.add(delta(3, add=["u"]), "e3")  # our own write, ahead of the watch
    waiting = log.pending
    assert waiting and log.applied == 1
    log.add(delta(2, remove=["u"]), "e2")  # another replica's earlier entry
    assert not log.pending
    assert log.members == {"u"}  # 1 add, 2 remove, 3 add: in seq order
    assert log.latest == 3


def test_duplicates_and_old_entries_are_ignored() -> None:
    log, _ = new_log()
    log.add(delta(1, add=["a"]), "e1")
    log.add(delta(2, remove=["a"]), "e2")
    log.add(delta(1, add=["a"]), "e1")  # the watch delivering our write again
    assert log.members == set()


def test_snapshot_in_order_is_a_no_op_and_advances() -> None:
    log, _ = new_log()
    log.add(delta(1, add=["a", "b"]), "e1")
    log.add(snapshot(2, ["a", "b"]), "s2")
    log.add(delta(3, remove=["b"]), "e3")
    assert log.members == {"a"}
    assert log.applied == 3


def test_complete_snapshot_above_a_gap_replaces_the_set() -> None:
    log, reverse = new_log()
    log.add(delta(1, add=["x"]), "e1")
    log.add(snapshot(9, ["a", "b"], part=0, parts=2), "s9")
    assert log.members == {"x"}  # incomplete: ignored
    log.add(snapshot(9, ["c"], part=1, parts=2), "s9p1")
    assert log.members == {"a", "b", "c"}
    assert set(reverse) == {"a", "b", "c"}
    log.add(delta(10, remove=["a"]), "e10")
    assert log.members == {"b", "c"}


def test_load_uses_newest_complete_snapshot_and_later_deltas() -> None:
    log, _ = new_log()
    entries: list[tuple[str, memberlog.Entry]] = [
        ("e1", delta(1, add=["old"])),
        ("s2", snapshot(2, ["a", "b"])),
        ("e3", delta(3, add=["c"])),
        ("s4", snapshot(4, ["a"], part=0, parts=2)),  # incomplete (crash mid-write)
        ("e5", delta(5, remove=["b"])),
    ]
    random.Random(1).shuffle(entries)
    log.load(entries)
    assert log.members == {"a", "c"}
    assert (log.applied, log.latest) == (5, 5)
    assert memberlog.fold(entry for _, entry in entries) == {"a", "c"}


def test_dropping_entries_keeps_the_set() -> None:
    log, _ = new_log()
    log.add(delta(1, add=["a"]), "e1")
    log.add(snapshot(2, ["a"]), "s2")
    log.drop(1, "e1")
    assert log.members == {"a"}
    assert log.entry_count == 1


ops = st.lists(
    st.tuples(st.sampled_from(["add", "remove"]), st.sampled_from(["a", "b", "c", "d"])),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(ops, st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_sequential_result(
    operations: list[tuple[str, str]], rnd: random.Random
) -> None:
    expected: set[str] = set()
    entries: list[tuple[str, memberlog.Entry]] = []
    for seq, (op, member) in enumerate(operations, start=1):
        if op == "add":
            expected.add(member)
            entries.append((f"e{seq}", delta(seq, add=[member])))
        else:
            expected.discard(member)
            entries.append((f"e{seq}", delta(seq, remove=[member])))
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    log, reverse = new_log()
    for name, entry in shuffled:
        log.add(entry, name)
    assert log.members == expected
    assert set(reverse) == expected
    reloaded, _ = new_log()
    reloaded.load(list(itertools.chain(shuffled)))
    assert reloaded.members == expected
    assert memberlog.fold(entry for _, entry in shuffled) == expected


def test_displays_sent_by_the_client_follow_their_members() -> None:
    log, _ = new_log()
    log.add(Delta(1, ("a", "b"), (), {"a": "Ada"}), "e1")
    assert log.displays == {"a": "Ada"}
    log.add(delta(2, remove=["a"]), "e2")
    assert log.displays == {}
    log.add(SnapshotPart(4, ("b", "c"), displays={"c": "Cy"}), "s4")
    log.add(snapshot(4, [], part=1, parts=1), "s4p")
    reloaded, _ = new_log()
    reloaded.load([("s4", SnapshotPart(4, ("b", "c"), displays={"c": "Cy"}))])
    assert reloaded.displays == {"c": "Cy"}


def test_the_fold_stops_at_a_gap() -> None:
    assert memberlog.fold([delta(1, add=["a"]), delta(3, add=["b"])]) == {"a"}


def test_net_changes_the_last_operation_on_a_member_wins() -> None:
    changes = memberlog.net_changes(
        [delta(1, add=["a", "b"]), delta(2, remove=["a"]), delta(3, add=["a"], remove=["c"])]
    )
    assert changes == {"a": True, "b": True, "c": False}


def test_compaction_once_synced_or_when_the_log_is_very_long() -> None:
    log = MemberLog()
    for seq in range(1, memberlog.COMPACT_ABOVE + 1):
        log.add(delta(seq, add=[f"m{seq}"]), f"e{seq}")
    assert not log.needs_compaction(synced_seq=log.applied)  # not long enough yet
    log.add(delta(log.latest + 1, add=["one more"]), "e-more")
    assert log.needs_compaction(synced_seq=log.applied)
    assert not log.needs_compaction(synced_seq=0)  # the operator is behind: wait
    for seq in range(log.latest + 1, memberlog.COMPACT_FORCE_ABOVE + 2):
        log.add(delta(seq, add=[f"m{seq}"]), f"e{seq}")
    assert log.needs_compaction(synced_seq=0)  # too long: compact anyway
    assert log.names_below(3) == ["e1", "e2"]


# -- the plan (the operator) ---------------------------------------------------------------


def _entry(seq: int, kind: str = "Delta", part: int = 0, parts: int = 1) -> EntryHeader:
    name = f"g-x-{seq:010d}" + (f"-p{part}" if part else "")
    return EntryHeader(name=name, seq=seq, type=kind, part=part, parts=parts)


def test_plan_applies_deltas_in_order_and_skips_in_order_snapshots() -> None:
    log = [_entry(3), _entry(1), _entry(2, "Snapshot"), _entry(4)]
    plan = memberlog.plan(log, 1)
    assert isinstance(plan, memberlog.Deltas)
    assert [e.seq for e in plan.entries] == [3, 4] and plan.upto == 4
    assert memberlog.plan(log, 4) == memberlog.Nothing()


def test_plan_after_a_gap_starts_from_the_latest_complete_snapshot() -> None:
    log = [_entry(7, "Snapshot", 0, 2), _entry(7, "Snapshot", 1, 2), _entry(8), _entry(9)]
    plan = memberlog.plan(log, 2)  # entries 3..6 were compacted away
    assert isinstance(plan, memberlog.Full)
    assert [e.name for e in plan.snapshot] == ["g-x-0000000007", "g-x-0000000007-p1"]
    assert [e.seq for e in plan.deltas] == [8, 9] and plan.upto == 9


def test_plan_waits_for_an_incomplete_snapshot_above_a_gap() -> None:
    log = [_entry(7, "Snapshot", 0, 2), _entry(8)]
    assert isinstance(memberlog.plan(log, 2), memberlog.Wait)


def test_plan_full_pass_on_request() -> None:
    log = [_entry(1), _entry(2)]
    plan = memberlog.plan(log, 2, full=True)
    assert isinstance(plan, memberlog.Full) and not plan.snapshot and plan.upto == 2
    empty = memberlog.plan([], 0, full=True)
    assert isinstance(empty, memberlog.Full) and empty.upto == 0


def test_plan_caps_a_round() -> None:
    log = [_entry(seq) for seq in range(1, 500)]
    plan = memberlog.plan(log, 0)
    assert isinstance(plan, memberlog.Deltas)
    assert len(plan.entries) == memberlog.MAX_DELTAS_PER_ROUND
    assert plan.upto == memberlog.MAX_DELTAS_PER_ROUND


def test_the_public_names_are_exactly_the_protocols() -> None:
    public = {name for name in vars(memberlog) if not name.startswith("_")}
    assert sorted(memberlog.__all__) == sorted(public)
