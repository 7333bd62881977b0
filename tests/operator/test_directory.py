"""What the watches showed, in memory (directory.py).

(The member plan is the member log's: tests/core/test_memberlog.py.)
"""

from __future__ import annotations

from typing import Any

from zero_scim.memberlog import EntryHeader
from zero_scim_operator.directory import Directory, UserEntry


def _entry(seq: int, kind: str = "Delta", part: int = 0, parts: int = 1) -> EntryHeader:
    name = f"g-x-{seq:010d}" + (f"-p{part}" if part else "")
    return EntryHeader(name=name, seq=seq, type=kind, part=part, parts=parts)


def _user_body(name: str, scim_id: str, *, deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "generation": 1}
    if deleting:
        metadata["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"metadata": metadata, "spec": {"id": scim_id, "userName": f"{name}@example.com"}}


def test_directory_tracks_renames_counts_and_listing() -> None:
    directory = Directory(now=100.0)
    assert not directory.settled(101.0) and directory.settled(105.0)
    directory.put_user("ns", UserEntry.from_body(_user_body("u-old", "id-1")))
    directory.put_user("ns", UserEntry.from_body(_user_body("u-new", "id-1")))
    directory.put_user("ns", UserEntry.from_body(_user_body("u-other", "id-2")))
    assert directory.user_count("ns") == 3
    assert {e.name for e in directory.users_with_id("ns", "id-1")} == {"u-old", "u-new"}
    directory.put_user("ns", UserEntry.from_body(_user_body("u-old", "id-1", deleting=True)))
    live = [e.name for e in directory.users_with_id("ns", "id-1") if not e.deleting]
    assert live == ["u-new"]
    directory.drop_user("ns", "u-old")
    assert [e.name for e in directory.users_with_id("ns", "id-1")] == ["u-new"]
    directory.drop_user("ns", "u-new")
    directory.drop_user("ns", "u-other")
    assert directory.user_count("ns") == 0 and directory.users_with_id("ns", "id-1") == []
    directory.listed(200.0)
    assert not directory.settled(203.0) and directory.settled(205.0)
    directory.put_batch("ns", "g-1", _entry(2))
    directory.put_batch("ns", "g-1", _entry(1))
    assert [b.seq for b in directory.batches("ns", "g-1")] == [1, 2]
    directory.drop_batch("ns", "g-1", _entry(1).name)
    assert [b.seq for b in directory.batches("ns", "g-1")] == [2]
