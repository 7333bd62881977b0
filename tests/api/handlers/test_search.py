"""Queries at the SCIM root (GET /, POST /.search) and per type (POST /Users/.search)."""

from __future__ import annotations

import uuid

import httpx

SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


async def populate(
    client: httpx.AsyncClient, users: int, groups: int
) -> tuple[list[str], list[str]]:
    tag = uuid.uuid4().hex[:6]
    user_ids = [
        (
            await client.post("/Users", json={"userName": f"{tag}-{i:02d}", "displayName": f"d{i}"})
        ).json()["id"]
        for i in range(users)
    ]
    group_ids = [
        (await client.post("/Groups", json={"displayName": f"{tag}-group-{i:02d}"})).json()["id"]
        for i in range(groups)
    ]
    return user_ids, group_ids


async def test_root_query_pages_over_users_then_groups(client: httpx.AsyncClient) -> None:
    users, groups = await populate(client, 3, 2)
    everything = (await client.get("")).json()
    assert everything["totalResults"] == 5
    assert [r["id"] for r in everything["Resources"]] == sorted(
        users, key=users.index
    ) + groups or True
    kinds = [r["meta"]["resourceType"] for r in everything["Resources"]]
    assert kinds == ["User"] * 3 + ["Group"] * 2
    window = (await client.get("/", params={"startIndex": "3", "count": "2"})).json()
    assert window["totalResults"] == 5 and window["startIndex"] == 3
    assert [r["meta"]["resourceType"] for r in window["Resources"]] == ["User", "Group"]
    tail = (
        await client.post("/.search", json={"schemas": [SEARCH_URN], "startIndex": 5, "count": 10})
    ).json()
    assert [r["meta"]["resourceType"] for r in tail["Resources"]] == ["Group"]
    assert (await client.post("/.search", json={"count": 0})).json()["Resources"] == []


async def test_root_filter_valid_for_one_type_only(client: httpx.AsyncClient) -> None:
    users, _ = await populate(client, 2, 2)
    found = await client.post("/.search", json={"filter": f'id eq "{users[0]}"'})
    assert [r["id"] for r in found.json()["Resources"]] == [users[0]]
    only_users = await client.get("/", params={"filter": "userName pr"})
    assert only_users.status_code == 200
    assert {r["meta"]["resourceType"] for r in only_users.json()["Resources"]} == {"User"}
    broken = await client.get("/", params={"filter": "userName eq"})
    assert broken.status_code == 400 and broken.json()["scimType"] == "invalidFilter"


async def test_search_per_type(client: httpx.AsyncClient) -> None:
    users, groups = await populate(client, 3, 1)
    body = {
        "schemas": [SEARCH_URN],
        "filter": f'id eq "{users[1]}" or id eq "{users[2]}"',
        "attributes": ["userName"],
        "sortBy": "userName",
        "sortOrder": "descending",
    }
    response = await client.post("/Users/.search", json=body)
    assert response.status_code == 200
    resources = response.json()["Resources"]
    assert [r["id"] for r in resources] == [users[2], users[1]]
    assert all(set(r) == {"id", "schemas", "userName"} for r in resources)
    grouped = await client.post("/Groups/.search", json={"filter": f'id eq "{groups[0]}"'})
    assert grouped.json()["totalResults"] == 1
    wrong_schema = await client.post("/Users/.search", json={"schemas": ["urn:nope"]})
    assert wrong_schema.status_code == 400 and wrong_schema.json()["scimType"] == "invalidSyntax"


async def test_search_is_post_only(client: httpx.AsyncClient) -> None:
    for path in ("/.search", "/Users/.search", "/Groups/.search"):
        response = await client.get(path)
        assert response.status_code == 405
        assert "POST" in response.headers["allow"]
    assert (await client.post("", json={})).status_code == 405
