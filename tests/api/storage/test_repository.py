"""Writes through the repositories against the real API server, seen through the index.

Each write is one call that takes data (the entry read, the new document, a member
delta) and answers Written or Stale; the re-application after Stale is the services'
(exercised here through UserService, where two replicas race).
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from typing import Any

import pytest

from tests.support.kube import KubeEnv
from tests.support.polling import eventually
from zero_scim.kube.coordinates import GROUP, GROUP_KIND, MEMBER_BATCH, USER, VERSION
from zero_scim.kube.names import user_object_name
from zero_scim.kube.tenants import Tenant
from zero_scim.scim import errors as scim
from zero_scim_api.services.common import Call
from zero_scim_api.services.users import UserService
from zero_scim_api.storage.index import GroupEntry, TenantIndex, UserEntry
from zero_scim_api.storage.results import NO_MEMBER_CHANGE, MemberDelta, Written
from zero_scim_api.storage.store import Storage

pytestmark = pytest.mark.cluster


def members_are(index: TenantIndex, group: GroupEntry, expected: set[str]) -> bool:
    return index.members(group) == expected


async def write(storage: Storage, namespace: str, entry: UserEntry, **changes: Any) -> UserEntry:
    """One user write that must go through (nobody else writes this user meanwhile)."""
    result = await storage.users.update(namespace, entry, {**entry.doc(), **changes})
    assert isinstance(result, Written), result
    return result.entry


def add_members(*ids: str, remove: tuple[str, ...] = ()) -> MemberDelta:
    return MemberDelta(add=ids, remove=remove)


async def second_replica(kube: KubeEnv) -> Storage:
    replica = await Storage.connect(kube.kubeconfig)
    replica.start()
    await replica.wait_ready()
    return replica


async def test_create_is_in_the_index_at_once_and_named_after_the_username(
    storage: Storage, tenant_ns: str, kube: KubeEnv
) -> None:
    entry = await storage.users.create(tenant_ns, {"userName": "Alice@Example.com", "active": True})
    index = storage.index.tenant(tenant_ns)
    assert index.user_id_by_username("alice@example.COM") == entry.id
    assert entry.object_name == user_object_name("ALICE@example.com")
    obj = kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, tenant_ns, USER.plural, entry.object_name
    )
    assert obj["spec"]["id"] == entry.id
    assert obj["metadata"]["labels"]["zeroscim.io/id"] == entry.id


async def test_same_username_at_once_creates_exactly_one(
    storage: Storage, tenant_ns: str, kube: KubeEnv
) -> None:
    replica = await second_replica(kube)
    try:
        attempts = [
            (storage if i % 2 else replica).users.create(
                tenant_ns, {"userName": f"Race{(i % 3 and 'R') or 'r'}@x.io"}
            )
            for i in range(12)
        ]
        results = await asyncio.gather(*attempts, return_exceptions=True)
    finally:
        await replica.stop()
    created = [r for r in results if not isinstance(r, BaseException)]
    conflicts = [r for r in results if isinstance(r, scim.Uniqueness)]
    assert len(created) == 1
    assert len(conflicts) == 11


async def test_concurrent_updates_from_two_replicas_lose_nothing(
    storage: Storage, tenant_ns: str, kube: KubeEnv
) -> None:
    entry = await storage.users.create(tenant_ns, {"userName": "busy@x.io", "emails": []})
    replica = await second_replica(kube)
    call = Call(Tenant(tenant_ns, tenant_ns), "https://scim.example.com/scim/v2")
    try:
        await eventually(lambda: replica.index.tenant(tenant_ns).user(entry.id) is not None)

        def add_email(n: int) -> dict[str, Any]:
            operation = {"op": "add", "path": "emails", "value": [{"value": f"e{n}@x.io"}]}
            return {"Operations": [operation]}

        await asyncio.gather(
            *[
                UserService(storage if n % 2 else replica).patch(call, entry.id, add_email(n))
                for n in range(10)
            ]
        )
    finally:
        await replica.stop()
    obj = kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, tenant_ns, USER.plural, entry.object_name
    )
    assert sorted(e["value"] for e in obj["spec"]["emails"]) == sorted(
        f"e{n}@x.io" for n in range(10)
    )


async def test_a_stale_write_writes_nothing_and_returns_the_fresh_user(
    storage: Storage, tenant_ns: str, kube: KubeEnv
) -> None:
    entry = await storage.users.create(tenant_ns, {"userName": "stale@x.io", "title": "A"})
    fresh = await write(storage, tenant_ns, entry, title="B")
    result = await storage.users.update(tenant_ns, entry, {**entry.doc(), "title": "C"})
    assert not isinstance(result, Written)
    assert result.current is not None and result.current.doc()["title"] == "B"
    assert result.current.rv == fresh.rv
    obj = kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, tenant_ns, USER.plural, entry.object_name
    )
    assert obj["spec"]["title"] == "B"


async def test_rename_keeps_id_and_created_and_moves_the_object(
    storage: Storage, tenant_ns: str, kube: KubeEnv
) -> None:
    index = storage.index.tenant(tenant_ns)
    other = await storage.users.create(tenant_ns, {"userName": "taken@x.io"})
    entry = await storage.users.create(tenant_ns, {"userName": "before@x.io", "title": "T"})
    with pytest.raises(scim.Uniqueness):
        await storage.users.update(tenant_ns, entry, {**entry.doc(), "userName": "TAKEN@x.io"})
    renamed = await write(storage, tenant_ns, entry, userName="after@x.io")
    assert renamed.id == entry.id
    assert renamed.meta.created == entry.meta.created
    assert renamed.object_name == user_object_name("after@x.io")
    assert index.user(entry.id) is renamed
    assert index.user_id_by_username("before@x.io") is None
    assert index.user_id_by_username("after@x.io") == entry.id
    assert index.user(other.id) is not None
    names = {
        o["metadata"]["name"]
        for o in kube.custom.list_namespaced_custom_object(GROUP, VERSION, tenant_ns, USER.plural)[
            "items"
        ]
    }
    assert entry.object_name not in names
    assert renamed.object_name in names
    # The name is free again.
    again = await storage.users.create(tenant_ns, {"userName": "before@x.io"})
    assert again.id != entry.id


async def test_an_interrupted_rename_is_finished_by_the_next_write(
    storage: Storage, tenant_ns: str, kube: KubeEnv
) -> None:
    index = storage.index.tenant(tenant_ns)
    entry = await storage.users.create(tenant_ns, {"userName": "half@x.io"})
    # What a crash between the rename's create and delete leaves behind: two objects, one id.
    stale = kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, tenant_ns, USER.plural, entry.object_name
    )
    newer = {
        "apiVersion": stale["apiVersion"],
        "kind": stale["kind"],
        "metadata": {"name": user_object_name("whole@x.io"), "labels": stale["metadata"]["labels"]},
        "spec": {
            **stale["spec"],
            "userName": "whole@x.io",
            "meta": {**stale["spec"]["meta"], "lastModified": "2999-01-01T00:00:00.000Z"},
        },
    }
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, tenant_ns, USER.plural, newer)
    await eventually(lambda: index.user_id_by_username("whole@x.io") == entry.id)
    assert index.user_id_by_username("half@x.io") is None  # one user per id
    current = index.user(entry.id)
    assert current is not None
    await write(storage, tenant_ns, current, title="repaired")
    await eventually(lambda: index.user_object(entry.object_name) is None)
    names = [
        o["metadata"]["name"]
        for o in kube.custom.list_namespaced_custom_object(
            GROUP, VERSION, tenant_ns, USER.plural, label_selector=f"zeroscim.io/id={entry.id}"
        )["items"]
    ]
    assert names == [user_object_name("whole@x.io")]


async def test_recreating_a_username_waits_for_a_finalizing_user(
    storage: Storage, tenant_ns: str, kube: KubeEnv
) -> None:
    entry = await storage.users.create(tenant_ns, {"userName": "final@x.io"})
    kube.custom.patch_namespaced_custom_object(
        GROUP, VERSION, tenant_ns, USER.plural, entry.object_name,
        {"metadata": {"finalizers": ["zeroscim.io/downstream"]}},
    )  # fmt: skip
    assert await storage.users.delete(tenant_ns, entry)
    assert storage.index.tenant(tenant_ns).user(entry.id) is None
    started = time.monotonic()
    with pytest.raises(scim.Uniqueness, match="being deleted"):
        await storage.users.create(tenant_ns, {"userName": "final@x.io"})
    assert time.monotonic() - started >= 2.5

    async def release_soon() -> None:
        await asyncio.sleep(0.5)
        kube.custom.patch_namespaced_custom_object(
            GROUP, VERSION, tenant_ns, USER.plural, entry.object_name,
            {"metadata": {"finalizers": None}},
        )  # fmt: skip

    releaser = asyncio.create_task(release_soon())
    again = await storage.users.create(tenant_ns, {"userName": "final@x.io"})
    await releaser
    assert again.id != entry.id


async def test_member_changes_write_one_small_entry_each(
    storage: Storage, tenant_ns: str, kube: KubeEnv
) -> None:
    index = storage.index.tenant(tenant_ns)
    group = await storage.groups.create(tenant_ns, {"displayName": "G"}, add_members("a", "b"))
    assert index.members(group) == {"a", "b"}
    hundred = [str(uuid.uuid4()) for _ in range(100)]
    await storage.groups.update(tenant_ns, group, None, add_members(*hundred, remove=("a",)))
    assert index.members(group) == {"b", *hundred}
    batches = kube.custom.list_namespaced_custom_object(
        GROUP, VERSION, tenant_ns, MEMBER_BATCH.plural,
        label_selector=f"zeroscim.io/group={group.object_name}",
    )["items"]  # fmt: skip
    assert sorted(b["spec"]["seq"] for b in batches) == [1, 2]  # one entry per change
    assert all(b["metadata"]["ownerReferences"][0]["uid"] == group.uid for b in batches)
    replica = await second_replica(kube)
    try:
        other = replica.index.tenant(tenant_ns)
        other_group = other.group(group.id)
        assert other_group is not None
        assert other.members(other_group) == {"b", *hundred}
        assert other.groups_of(hundred[0]) == {group.id}
    finally:
        await replica.stop()


async def test_two_replicas_appending_at_once_keep_seq_order(
    storage: Storage, tenant_ns: str, kube: KubeEnv
) -> None:
    group = await storage.groups.create(tenant_ns, {"displayName": "Contended"}, NO_MEMBER_CHANGE)
    replica = await second_replica(kube)
    try:
        await eventually(lambda: replica.index.tenant(tenant_ns).group(group.id) is not None)
        other_group = replica.index.tenant(tenant_ns).group(group.id)
        assert other_group is not None
        writes = []
        for n in range(20):
            store, g = (storage, group) if n % 2 else (replica, other_group)
            writes.append(store.groups.update(tenant_ns, g, None, add_members(f"m{n}")))
        await asyncio.gather(*writes)
        expected = {f"m{n}" for n in range(20)}
        for store in (storage, replica):
            idx = store.index.tenant(tenant_ns)
            seen = idx.group(group.id)
            assert seen is not None
            await eventually(functools.partial(members_are, idx, seen, expected))
            assert idx.member_log(seen).latest == 20
    finally:
        await replica.stop()


async def test_compaction_snapshots_and_deletes_synced_entries(
    storage: Storage, tenant_ns: str, kube: KubeEnv
) -> None:
    index = storage.index.tenant(tenant_ns)
    group = await storage.groups.create(tenant_ns, {"displayName": "Chatty"}, NO_MEMBER_CHANGE)
    # The operator reports everything synced (it writes status.membersSyncedSeq).
    kube.custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, tenant_ns, GROUP_KIND.plural, group.object_name,
        {"status": {"membersSyncedSeq": 1_000_000}},
    )  # fmt: skip
    await eventually(lambda: (index.group(group.id) or group).synced_seq == 1_000_000)
    for n in range(70):
        current = index.group(group.id)
        assert current is not None
        removed = (f"u{n - 1}",) if n % 2 else ()
        await storage.groups.update(tenant_ns, current, None, add_members(f"u{n}", remove=removed))
    await storage.drain()
    expected: set[str] = set()
    for n in range(70):
        expected.add(f"u{n}")
        if n % 2:
            expected.discard(f"u{n - 1}")
    current = index.group(group.id)
    assert current is not None
    assert index.members(current) == expected
    batches = kube.custom.list_namespaced_custom_object(
        GROUP, VERSION, tenant_ns, MEMBER_BATCH.plural,
        label_selector=f"zeroscim.io/group={group.object_name}",
    )["items"]  # fmt: skip
    kinds = sorted((b["spec"]["seq"], b["spec"]["type"]) for b in batches)
    # One snapshot (written in the background once there were > 64 entries); every
    # entry below it was deleted, later ones stay as deltas.
    snapshot_seq, snapshot_type = kinds[0]
    assert snapshot_type == "Snapshot"
    assert kinds[1:] == [(seq, "Delta") for seq in range(snapshot_seq + 1, 72)]  # 70 deltas + 1
    await eventually(lambda: index.member_log(current).entry_count == len(batches))
    replica = await second_replica(kube)
    try:
        g = replica.index.tenant(tenant_ns).group(group.id)
        assert g is not None
        assert replica.index.tenant(tenant_ns).members(g) == expected
    finally:
        await replica.stop()


@pytest.mark.slow
async def test_a_group_of_50000_members(storage: Storage, tenant_ns: str, kube: KubeEnv) -> None:
    index = storage.index.tenant(tenant_ns)
    members = [str(uuid.uuid4()) for _ in range(50_000)]
    group = await storage.groups.create(
        tenant_ns, {"displayName": "Everyone"}, add_members(*members)
    )
    assert len(index.members(group)) == 50_000
    hundred = [str(uuid.uuid4()) for _ in range(100)]
    before = index.member_log(group).entry_count
    started = time.perf_counter()
    change = add_members(*hundred, remove=tuple(members[:100]))
    await storage.groups.update(tenant_ns, group, None, change)
    elapsed = time.perf_counter() - started
    assert index.member_log(group).entry_count == before + 1  # one small write
    assert len(index.members(group)) == 50_000
    assert elapsed < 5  # generous: the benchmark measures it properly
    selector = f"zeroscim.io/group={group.object_name}"
    page = await storage.kube.list_page(MEMBER_BATCH, tenant_ns, label_selector=selector)
    assert all(len(item["spec"].get("add", [])) <= 20_000 for item in page["items"])
    replica = await second_replica(kube)
    try:
        g = replica.index.tenant(tenant_ns).group(group.id)
        assert g is not None
        assert replica.index.tenant(tenant_ns).members(g) == index.members(group)
    finally:
        await replica.stop()


async def test_objects_can_be_created_with_the_operators_finalizer(
    tenant_ns: str, kube: KubeEnv
) -> None:
    store = await Storage.connect(kube.kubeconfig, finalizers=("zeroscim.io/downstream",))
    store.start()
    try:
        await store.wait_ready()
        user = await store.users.create(tenant_ns, {"userName": "fin@x.io"})
        group = await store.groups.create(tenant_ns, {"displayName": "Fin"}, NO_MEMBER_CHANGE)
        for kind, name in ((USER, user.object_name), (GROUP_KIND, group.object_name)):
            obj = kube.custom.get_namespaced_custom_object(
                GROUP, VERSION, tenant_ns, kind.plural, name
            )
            assert obj["metadata"]["finalizers"] == ["zeroscim.io/downstream"]
        # Deleting leaves the object to the operator; the API no longer shows it.
        await store.users.delete(tenant_ns, user)
        assert store.index.tenant(tenant_ns).user(user.id) is None
        obj = kube.custom.get_namespaced_custom_object(
            GROUP, VERSION, tenant_ns, USER.plural, user.object_name
        )
        assert obj["metadata"]["deletionTimestamp"]
        kube.custom.patch_namespaced_custom_object(
            GROUP, VERSION, tenant_ns, USER.plural, user.object_name,
            {"metadata": {"finalizers": None}},
        )  # fmt: skip
    finally:
        await store.stop()
