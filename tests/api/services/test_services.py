"""The user and group services over the in-memory storage double (tests/api/services/
memory.py): the one write path — parse once, settle members before storage, one call per
attempt, re-apply on Stale — without a cluster. The same behaviour against the real API
server is tested in tests/api/storage and tests/api/test_*.py.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.api.services.memory import MemoryDirectory
from zero_scim.kube.tenants import Tenant
from zero_scim.scim import (
    InvalidValue,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    Uniqueness,
)
from zero_scim_api.services.common import MAX_ATTEMPTS, Abandoned, Call
from zero_scim_api.services.groups import GroupService
from zero_scim_api.services.members import MAX_ADDED_MEMBERS, MemberCheck
from zero_scim_api.services.users import UserService
from zero_scim_api.storage.codec import user_object

NS = "tenant-a"
CALL = Call(Tenant(NS, NS), "https://scim.example.com/scim/v2")
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch(*operations: dict[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


class Closed:
    """A client that has gone away."""

    async def closed_within(self, seconds: float) -> bool:
        return True


@pytest.fixture
def directory() -> MemoryDirectory:
    return MemoryDirectory()


@pytest.fixture
def users(directory: MemoryDirectory) -> UserService:
    return UserService(directory)


@pytest.fixture
def groups(directory: MemoryDirectory) -> GroupService:
    return GroupService(directory, MemberCheck(wait=0.5))


# --- users -----------------------------------------------------------------------------------


async def test_a_lost_race_reapplies_the_patch_on_the_fresh_user(
    directory: MemoryDirectory, users: UserService
) -> None:
    created = await users.create(CALL, {"userName": "race@x.io", "title": "T"})
    scim_id = str(created.body["id"])

    def other_replica_writes_first() -> None:
        # Another replica changes the displayName while this one changes the title.
        directory.store.user_written_elsewhere(NS, scim_id, displayName="Set elsewhere")

    directory.store.before_write = other_replica_writes_first
    view = await users.patch(
        CALL, scim_id, patch({"op": "replace", "path": "title", "value": "New"})
    )
    assert view.body["title"] == "New"
    assert view.body["displayName"] == "Set elsewhere"  # the other write is kept
    assert directory.store.writes.count(f"update user {scim_id}") == 1


async def test_if_match_is_checked_against_the_fresh_user_after_a_lost_race(
    directory: MemoryDirectory, users: UserService
) -> None:
    created = await users.create(CALL, {"userName": "etag@x.io"})
    scim_id = str(created.body["id"])

    def other_replica_writes_first() -> None:
        directory.store.user_written_elsewhere(NS, scim_id, title="Elsewhere")

    directory.store.before_write = other_replica_writes_first
    call = Call(CALL.tenant, CALL.base_url, if_match=created.etag)
    with pytest.raises(PreconditionFailed):
        await users.patch(call, scim_id, patch({"op": "replace", "path": "title", "value": "X"}))
    entry = directory.index.tenant(NS).user(scim_id)
    assert entry is not None and entry.doc()["title"] == "Elsewhere"


async def test_a_patch_that_changes_nothing_writes_nothing(
    directory: MemoryDirectory, users: UserService
) -> None:
    created = await users.create(CALL, {"userName": "same@x.io", "title": "T"})
    before = list(directory.store.writes)
    view = await users.patch(
        CALL, str(created.body["id"]), patch({"op": "replace", "path": "title", "value": "T"})
    )
    assert view.etag == created.etag
    assert directory.store.writes == before


async def test_a_user_that_always_loses_the_race_is_503_with_retry_after(
    directory: MemoryDirectory, users: UserService
) -> None:
    created = await users.create(CALL, {"userName": "loser@x.io"})
    scim_id = str(created.body["id"])
    rounds = 0

    def always_first() -> None:
        nonlocal rounds
        rounds += 1
        directory.store.user_written_elsewhere(NS, scim_id, title=f"round {rounds}")
        directory.store.before_write = always_first

    directory.store.before_write = always_first
    with pytest.raises(ServiceUnavailable) as raised:
        await users.patch(CALL, scim_id, patch({"op": "add", "path": "nickName", "value": "N"}))
    assert raised.value.retry_after is not None
    assert rounds == MAX_ATTEMPTS
    assert f"update user {scim_id}" not in directory.store.writes


async def test_a_clearing_patch_removes_the_attribute(
    directory: MemoryDirectory, users: UserService
) -> None:
    created = await users.create(CALL, {"userName": "clear@x.io", "title": "T", "nickName": "N"})
    scim_id = str(created.body["id"])
    view = await users.patch(CALL, scim_id, patch({"op": "replace", "path": "title", "value": ""}))
    assert "title" not in view.body
    view = await users.patch(CALL, scim_id, patch({"op": "replace", "value": {"nickName": None}}))
    assert "nickName" not in view.body
    entry = directory.index.tenant(NS).user(scim_id)
    assert entry is not None and "title" not in entry.doc() and "nickName" not in entry.doc()


async def test_user_names_are_unique_caselessly(users: UserService) -> None:
    await users.create(CALL, {"userName": "Jose\u0301@x.io"})
    with pytest.raises(Uniqueness):
        await users.create(CALL, {"userName": "JOSÉ@x.io"})


async def test_a_deleted_user_leaves_its_groups(
    directory: MemoryDirectory, users: UserService, groups: GroupService
) -> None:
    member = await users.create(CALL, {"userName": "leaves@x.io"})
    member_id = str(member.body["id"])
    group = await groups.create(CALL, {"displayName": "G", "members": [{"value": member_id}]})
    await users.delete(CALL, member_id)
    index = directory.index.tenant(NS)
    entry = index.group(str(group.body["id"]))
    assert entry is not None and index.members(entry) == set()
    with pytest.raises(NotFound):
        users.get(CALL, member_id)


# --- groups ----------------------------------------------------------------------------------


async def test_unknown_members_are_refused_before_anything_is_written(
    directory: MemoryDirectory, groups: GroupService
) -> None:
    group = await groups.create(CALL, {"displayName": "G"})
    before = list(directory.store.writes)
    unknown = str(uuid.uuid4())
    with pytest.raises(InvalidValue, match=unknown):
        await groups.patch(
            CALL,
            str(group.body["id"]),
            patch(
                {"op": "replace", "path": "displayName", "value": "Renamed"},
                {"op": "add", "path": "members", "value": [{"value": unknown}]},
            ),
        )
    assert directory.store.writes == before
    with pytest.raises(InvalidValue):
        await groups.create(CALL, {"displayName": "H", "members": [{"value": "not-an-id"}]})
    assert directory.store.writes == before


async def test_more_added_members_than_the_bound_are_refused_without_a_lookup(
    directory: MemoryDirectory, groups: GroupService
) -> None:
    ids = [{"value": str(uuid.uuid4())} for _ in range(MAX_ADDED_MEMBERS + 1)]
    with pytest.raises(InvalidValue, match="at most 10,000 members"):
        await groups.create(CALL, {"displayName": "Huge", "members": ids})
    assert directory.store.writes == []


async def test_a_member_created_a_moment_later_is_accepted(
    directory: MemoryDirectory, users: UserService, groups: GroupService
) -> None:
    group = await groups.create(CALL, {"displayName": "G"})
    other = MemoryDirectory()  # stands for the replica the user was created through
    other_users = UserService(other)
    created = await other_users.create(CALL, {"userName": "late@x.io"})
    late_id = str(created.body["id"])
    user_entry = other.index.tenant(NS).user(late_id)
    assert user_entry is not None
    obj_json = user_entry.doc()

    async def arrives_through_the_watch() -> None:
        await asyncio.sleep(0.1)
        obj = user_object(obj_json, scim_id=late_id, meta=user_entry.meta, namespace=NS)
        directory.store.stamp(obj, late_id)
        directory.index.tenant(NS).put_user(obj)

    arrival = asyncio.create_task(arrives_through_the_watch())
    view = await groups.patch(
        CALL,
        str(group.body["id"]),
        patch({"op": "add", "path": "members", "value": [{"value": late_id}]}),
    )
    await arrival
    members = view.body.get("members")
    assert isinstance(members, list) and [m["value"] for m in members] == [late_id]


async def test_a_member_wait_ends_when_the_client_goes(
    directory: MemoryDirectory, groups: GroupService
) -> None:
    group = await groups.create(CALL, {"displayName": "G"})
    before = list(directory.store.writes)
    call = Call(CALL.tenant, CALL.base_url, connection=Closed())
    with pytest.raises(Abandoned):
        await groups.patch(
            call,
            str(group.body["id"]),
            patch({"op": "add", "path": "members", "value": [{"value": str(uuid.uuid4())}]}),
        )
    assert directory.store.writes == before


async def test_a_member_only_patch_writes_one_member_change_and_no_document(
    directory: MemoryDirectory, users: UserService, groups: GroupService
) -> None:
    a = str((await users.create(CALL, {"userName": "a@x.io"})).body["id"])
    b = str((await users.create(CALL, {"userName": "b@x.io"})).body["id"])
    group = await groups.create(CALL, {"displayName": "G", "members": [{"value": a}]})
    group_id = str(group.body["id"])
    before = len(directory.store.writes)
    await groups.patch(
        CALL,
        group_id,
        patch(
            {"op": "add", "path": "members", "value": [{"value": b}]},
            {"op": "remove", "path": f'members[value eq "{a}"]'},
        ),
    )
    assert directory.store.writes[before:] == [f"members {group_id} +1 -1"]
    index = directory.index.tenant(NS)
    entry = index.group(group_id)
    assert entry is not None and index.members(entry) == {b}


async def test_a_put_writes_the_net_member_change(
    directory: MemoryDirectory, users: UserService, groups: GroupService
) -> None:
    a, b, c = [str((await users.create(CALL, {"userName": f"{n}@x.io"})).body["id"]) for n in "abc"]
    group = await groups.create(CALL, {"displayName": "G", "members": [{"value": a}, {"value": b}]})
    group_id = str(group.body["id"])
    before = len(directory.store.writes)
    await groups.replace(
        CALL, group_id, {"displayName": "G", "members": [{"value": b}, {"value": c}]}
    )
    assert directory.store.writes[before:] == [f"members {group_id} +1 -1"]
    index = directory.index.tenant(NS)
    entry = index.group(group_id)
    assert entry is not None and index.members(entry) == {b, c}
    await groups.replace(CALL, group_id, {"displayName": "G2"})  # members not asserted
    entry = index.group(group_id)
    assert entry is not None and index.members(entry) == {b, c}


async def test_a_group_lost_race_reapplies_the_member_patch(
    directory: MemoryDirectory, users: UserService, groups: GroupService
) -> None:
    a = str((await users.create(CALL, {"userName": "ra@x.io"})).body["id"])
    group = await groups.create(CALL, {"displayName": "G"})
    group_id = str(group.body["id"])

    def renamed_elsewhere() -> None:
        directory.store.group_written_elsewhere(NS, group_id, externalId="set-elsewhere")

    directory.store.before_write = renamed_elsewhere
    view = await groups.patch(
        CALL,
        group_id,
        patch(
            {"op": "replace", "path": "displayName", "value": "New"},
            {"op": "add", "path": "members", "value": [{"value": a}]},
        ),
    )
    assert view.body["displayName"] == "New"
    assert view.body["externalId"] == "set-elsewhere"
    index = directory.index.tenant(NS)
    entry = index.group(group_id)
    assert entry is not None and index.members(entry) == {a}
    assert directory.store.writes.count(f"update group {group_id}") == 1
