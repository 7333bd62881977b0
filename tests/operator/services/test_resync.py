"""The periodic resync: drift in Zero repaired in both directions."""

from __future__ import annotations

import uuid

from tests.operator.conftest import Start
from tests.operator.support import (
    Zero,
    add_entry,
    all_synced,
    create_group,
    create_tenant,
    create_user,
    events_for,
    eventually,
    get_tenant,
    user_spec,
)
from tests.support.kube import KubeEnv


async def test_resync_repairs_drift_in_both_directions(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    create_tenant(kube, zero, namespace, downstream={"resyncInterval": "2s"})
    specs = [user_spec(f"drift{i}@example.com", title="Original") for i in range(3)]
    names = [create_user(kube, namespace, spec) for spec in specs]
    group_id = str(uuid.uuid4())
    create_group(kube, namespace, group_id, "Drifters")
    add_entry(kube, namespace, group_id, 1, add=[s["id"] for s in specs])
    await eventually(lambda: all_synced(kube, namespace, names))
    await eventually(lambda: _members(zero, group_id, 3))

    # Someone edits Zero by hand.
    gone, edited = specs[0]["id"], specs[1]["id"]
    assert (await zero.http.delete(f"/accounts/{gone}")).status_code == 204
    body = {"userName": specs[1]["userName"], "title": "Edited by hand"}
    assert (await zero.http.put(f"/accounts/{edited}", json=body)).status_code == 200
    assert (await zero.http.put("/accounts/stray", json={"userName": "stray"})).is_success
    assert (await zero.http.put("/groups/stray-group", json={"displayName": "x"})).is_success
    removed = {"remove": [specs[2]["id"]]}
    assert (await zero.http.post(f"/groups/{group_id}/members:batch", json=removed)).is_success

    async def repaired() -> bool:
        accounts = await zero.accounts()
        groups = await zero.groups()
        return (
            gone in accounts
            and accounts[edited]["title"] == "Original"
            and "stray" not in accounts
            and "stray-group" not in groups
            and await zero.members(group_id) == {s["id"] for s in specs}
        )

    await eventually(repaired, timeout=30)
    await eventually(lambda: events_for(kube, "default", namespace, "DriftRepaired"))
    assert get_tenant(kube, namespace)["status"]["lastSyncAt"]


async def _members(zero: Zero, group_id: str, count: int) -> bool:
    return len(await zero.members(group_id)) == count
