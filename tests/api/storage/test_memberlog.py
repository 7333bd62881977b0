"""The member log folds entries into a member set in seq order, whatever order they arrive."""

from __future__ import annotations

import itertools
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from zero_scim_api.storage.memberlog import MemberLog


def delta(
    seq: int, add: list[str] | None = None, remove: list[str] | None = None
) -> dict[str, Any]:
    return {"seq": seq, "type": "Delta", "add": add or [], "remove": remove or []}


def snapshot(seq: int, members: list[str], part: int = 0, parts: int = 1) -> dict[str, Any]:
    return {"seq": seq, "type": "Snapshot", "add": members, "part": part, "parts": parts}


def new_log() -> tuple[MemberLog, dict[str, int]]:
    reverse: dict[str, int] = {}

    def on_add(member: str) -> None:
        reverse[member] = reverse.get(member, 0) + 1

    def on_remove(member: str) -> None:
        reverse[member] -= 1
        if not reverse[member]:
            del reverse[member]

    return MemberLog("g", on_add, on_remove), reverse


def test_deltas_in_order() -> None:
    log, reverse = new_log()
    log.add_entry("e1", delta(1, add=["a", "b"]))
    log.add_entry("e2", delta(2, add=["c"], remove=["a"]))
    assert log.members == {"b", "c"}
    assert set(reverse) == {"b", "c"}
    assert (log.applied, log.latest) == (2, 2)


def test_an_entry_ahead_of_a_gap_waits_for_its_predecessor() -> None:
    log, _ = new_log()
    log.add_entry("e1", delta(1, add=["u"]))
    log.add_entry("e3", delta(3, add=["u"]))  # our own write, ahead of the watch
    waiting = log.pending
    assert waiting and log.applied == 1
    log.add_entry("e2", delta(2, remove=["u"]))  # another replica's earlier entry
    assert not log.pending
    assert log.members == {"u"}  # 1 add, 2 remove, 3 add: in seq order
    assert log.latest == 3


def test_duplicates_and_old_entries_are_ignored() -> None:
    log, _ = new_log()
    log.add_entry("e1", delta(1, add=["a"]))
    log.add_entry("e2", delta(2, remove=["a"]))
    log.add_entry("e1", delta(1, add=["a"]))  # the watch delivering our write again
    assert log.members == set()


def test_snapshot_in_order_is_a_no_op_and_advances() -> None:
    log, _ = new_log()
    log.add_entry("e1", delta(1, add=["a", "b"]))
    log.add_entry("s2", snapshot(2, ["a", "b"]))
    log.add_entry("e3", delta(3, remove=["b"]))
    assert log.members == {"a"}
    assert log.applied == 3


def test_complete_snapshot_above_a_gap_replaces_the_set() -> None:
    log, reverse = new_log()
    log.add_entry("e1", delta(1, add=["x"]))
    log.add_entry("s9", snapshot(9, ["a", "b"], part=0, parts=2))
    assert log.members == {"x"}  # incomplete: ignored
    log.add_entry("s9p1", snapshot(9, ["c"], part=1, parts=2))
    assert log.members == {"a", "b", "c"}
    assert set(reverse) == {"a", "b", "c"}
    log.add_entry("e10", delta(10, remove=["a"]))
    assert log.members == {"b", "c"}


def test_load_uses_newest_complete_snapshot_and_later_deltas() -> None:
    log, _ = new_log()
    entries = [
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


def test_dropping_entries_keeps_the_set() -> None:
    log, _ = new_log()
    log.add_entry("e1", delta(1, add=["a"]))
    log.add_entry("s2", snapshot(2, ["a"]))
    log.drop_entry("e1", delta(1))
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
    entries = []
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
    for name, spec in shuffled:
        log.add_entry(name, spec)
    assert log.members == expected
    assert set(reverse) == expected
    reloaded, _ = new_log()
    reloaded.load(list(itertools.chain(shuffled)))
    assert reloaded.members == expected


def test_displays_sent_by_the_client_follow_their_members() -> None:
    log, _ = new_log()
    log.add_entry("e1", {**delta(1, add=["a", "b"]), "displays": {"a": "Ada"}})
    assert log.displays == {"a": "Ada"}
    log.add_entry("e2", delta(2, remove=["a"]))
    assert log.displays == {}
    log.add_entry("s4", {**snapshot(4, ["b", "c"]), "displays": {"c": "Cy"}})
    log.add_entry("s4p", snapshot(4, [], part=1, parts=1))
    reloaded, _ = new_log()
    reloaded.load([("s4", {**snapshot(4, ["b", "c"]), "displays": {"c": "Cy"}})])
    assert reloaded.displays == {"c": "Cy"}
