"""Groups: upsert, delete, batched idempotent membership, member listing."""

from __future__ import annotations

import httpx


async def _accounts(api: httpx.AsyncClient, *keys: str) -> None:
    for key in keys:
        assert (await api.put(f"/accounts/{key}", json={"userName": key})).status_code == 201


async def _members(api: httpx.AsyncClient, group: str, limit: int = 1000) -> list[str]:
    keys: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await api.get(f"/groups/{group}/members", params=params)
        assert response.status_code == 200, response.text
        keys += [m["accountKey"] for m in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return keys


async def test_group_upsert_get_delete(api: httpx.AsyncClient) -> None:
    created = await api.put("/groups/g1", json={"displayName": "Admins", "externalId": "e1"})
    assert created.status_code == 201
    group = created.json()
    assert group["id"].startswith("grp_")
    assert group["externalKey"] == "g1"
    assert group["displayName"] == "Admins"
    assert group["externalId"] == "e1"
    assert group["version"] == 1
    assert created.headers["ETag"] == '"1"'

    same = await api.put("/groups/g1", json={"displayName": "Admins", "externalId": "e1"})
    assert same.status_code == 200
    assert same.json() == group
    renamed = await api.put("/groups/g1", json={"displayName": "Owners"})
    assert renamed.json()["version"] == 2
    assert renamed.json()["externalId"] is None
    stale = await api.put("/groups/g1", json={"displayName": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412

    assert (await api.get("/groups/g1")).json() == renamed.json()
    invalid = await api.put("/groups/g1", json={"displayName": ""})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["details"][0]["field"] == "displayName"

    assert (await api.delete("/groups/g1")).status_code == 204
    gone = await api.get("/groups/g1")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "group_not_found"
    assert (await api.delete("/groups/g1")).status_code == 404


async def test_batch_is_idempotent_and_reports_missing(api: httpx.AsyncClient) -> None:
    await _accounts(api, "a", "b", "c")
    await api.put("/groups/g", json={"displayName": "G"})

    first = await api.post("/groups/g/members:batch", json={"add": ["a", "b", "ghost", "a"]})
    assert first.status_code == 200
    assert first.json() == {"added": 2, "removed": 0, "missing": ["ghost"]}
    again = await api.post("/groups/g/members:batch", json={"add": ["a", "b"]})
    assert again.json() == {"added": 0, "removed": 0, "missing": []}

    mixed = await api.post(
        "/groups/g/members:batch", json={"add": ["c"], "remove": ["a", "ghost2", "c-not-member"]}
    )
    assert mixed.json() == {"added": 1, "removed": 1, "missing": ["ghost2", "c-not-member"]}
    assert await _members(api, "g") == ["b", "c"]
    # Removing an existing account that is not a member is fine, and not "missing".
    noop = await api.post("/groups/g/members:batch", json={"remove": ["a"]})
    assert noop.json() == {"added": 0, "removed": 0, "missing": []}
    assert (await api.post("/groups/g/members:batch", json={})).json()["added"] == 0


async def test_batch_limits_and_errors(api: httpx.AsyncClient) -> None:
    await api.put("/groups/g", json={"displayName": "G"})
    too_many = await api.post(
        "/groups/g/members:batch",
        json={"add": [f"a{i}" for i in range(600)], "remove": [f"r{i}" for i in range(401)]},
    )
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "batch_too_large"
    assert too_many.json()["error"]["details"] == {"max": 1000, "count": 1001}

    at_limit = await api.post(
        "/groups/g/members:batch", json={"add": [f"a{i}" for i in range(1000)]}
    )
    assert at_limit.status_code == 200
    assert len(at_limit.json()["missing"]) == 1000

    both = await api.post("/groups/g/members:batch", json={"add": ["x"], "remove": ["x"]})
    assert both.status_code == 422
    assert both.json()["error"]["code"] == "validation_failed"

    bad = await api.post("/groups/g/members:batch", json={"add": "a"})
    assert bad.status_code == 422

    no_group = await api.post("/groups/none/members:batch", json={"add": []})
    assert no_group.status_code == 404
    assert no_group.json()["error"]["code"] == "group_not_found"
    assert (await api.get("/groups/none/members")).status_code == 404


async def test_members_are_paginated_in_key_order(api: httpx.AsyncClient) -> None:
    keys = [f"m{i:02d}" for i in range(25)]
    await _accounts(api, *reversed(keys))
    await api.put("/groups/g", json={"displayName": "G"})
    await api.post("/groups/g/members:batch", json={"add": keys})

    page = (await api.get("/groups/g/members", params={"limit": 10})).json()
    assert [m["accountKey"] for m in page["items"]] == keys[:10]
    assert page["items"][0]["addedAt"].endswith("Z")
    assert await _members(api, "g", limit=10) == keys
    assert await _members(api, "g", limit=25) == keys

    # A members cursor belongs to its group.
    await api.put("/groups/h", json={"displayName": "H"})
    foreign = await api.get("/groups/h/members", params={"cursor": page["next_cursor"]})
    assert foreign.status_code == 422


async def test_deleting_an_account_or_group_drops_memberships(api: httpx.AsyncClient) -> None:
    await _accounts(api, "a", "b")
    await api.put("/groups/g", json={"displayName": "G"})
    await api.post("/groups/g/members:batch", json={"add": ["a", "b"]})
    await api.delete("/accounts/a")
    assert await _members(api, "g") == ["b"]
    # A re-created account is a new account: not a member.
    await _accounts(api, "a")
    assert await _members(api, "g") == ["b"]

    await api.delete("/groups/g")
    await api.put("/groups/g", json={"displayName": "G"})
    assert await _members(api, "g") == []
