"""SCIM semantics the issue asks for, through HTTP: read-your-write, soft delete, hard
delete, meta and ETags (If-Match → 412, If-None-Match → 304), group members in both Entra
dialects, ``excludedAttributes=members``, and the reference filters Entra sends."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


async def new_user(http: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    body = {"userName": f"u-{uuid.uuid4().hex[:10]}@example.com", "active": True, **extra}
    response = await http.post("/Users", json=body)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def new_group(http: httpx.AsyncClient, *members: str) -> dict[str, Any]:
    body = {"displayName": f"g-{uuid.uuid4().hex[:10]}", "members": [{"value": m} for m in members]}
    response = await http.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()
    return group


async def test_a_created_user_is_found_by_the_very_next_filter(client: httpx.AsyncClient) -> None:
    for _ in range(25):
        user = await new_user(client)
        found = await client.get("/Users", params={"filter": f'userName eq "{user["userName"]}"'})
        assert found.json()["totalResults"] == 1
        assert found.json()["Resources"][0]["id"] == user["id"]


async def test_read_your_write_over_http(api_client: httpx.AsyncClient) -> None:
    for _ in range(10):
        user = await new_user(api_client)
        found = await api_client.get(
            "/Users", params={"filter": f'userName eq "{user["userName"]}"'}
        )
        assert found.json()["totalResults"] == 1


async def test_soft_delete_keeps_the_user_visible(client: httpx.AsyncClient) -> None:
    user = await new_user(client)
    group = await new_group(client, user["id"])
    off = patch_op({"op": "replace", "path": "active", "value": False})
    assert (await client.patch(f"/Users/{user['id']}", json=off)).status_code == 200
    fetched = (await client.get(f"/Users/{user['id']}")).json()
    assert fetched["active"] is False
    for expression in (
        f'userName eq "{user["userName"]}"',
        f'id eq "{user["id"]}" and active eq false',
        f'active eq false and userName eq "{user["userName"]}"',
    ):
        found = await client.get("/Users", params={"filter": expression})
        assert found.json()["totalResults"] == 1, expression
    assert (
        await client.get("/Users", params={"filter": f'id eq "{user["id"]}" and active eq true'})
    ).json()["totalResults"] == 0
    members = (await client.get(f"/Groups/{group['id']}")).json()["members"]
    assert [m["value"] for m in members] == [user["id"]]  # memberships survive a disable


async def test_delete_is_204_then_404_and_leaves_groups(client: httpx.AsyncClient) -> None:
    user = await new_user(client)
    group = await new_group(client, user["id"])
    deleted = await client.delete(f"/Users/{user['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(f"/Users/{user['id']}")).status_code == 404
    assert (
        await client.patch(
            f"/Users/{user['id']}", json=patch_op({"op": "add", "path": "title", "value": "x"})
        )
    ).status_code == 404
    assert (await client.get(f"/Groups/{group['id']}")).json().get("members", []) == []


async def test_meta_and_etags(client: httpx.AsyncClient) -> None:
    created = await client.post("/Users", json={"userName": f"m-{uuid.uuid4().hex}@example.com"})
    user = created.json()
    meta = user["meta"]
    assert meta["resourceType"] == "User"
    assert meta["created"] == meta["lastModified"]
    assert meta["location"] == f"http://testserver/scim/v2/Users/{user['id']}"
    assert created.headers["location"] == meta["location"]
    assert meta["version"].startswith('W/"') and created.headers["etag"] == meta["version"]

    got = await client.get(f"/Users/{user['id']}")
    assert got.headers["etag"] == meta["version"]
    not_modified = await client.get(
        f"/Users/{user['id']}", headers={"If-None-Match": meta["version"]}
    )
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == meta["version"]

    change = patch_op({"op": "add", "path": "title", "value": "Boss"})
    stale = '"not-the-version"'
    refused = await client.patch(f"/Users/{user['id']}", json=change, headers={"If-Match": stale})
    assert refused.status_code == 412
    assert refused.json()["status"] == "412"
    patched = await client.patch(
        f"/Users/{user['id']}", json=change, headers={"If-Match": meta["version"]}
    )
    assert patched.status_code == 200
    new_meta = patched.json()["meta"]
    assert new_meta["version"] != meta["version"]
    assert patched.headers["etag"] == new_meta["version"]
    assert new_meta["created"] == meta["created"]
    assert new_meta["lastModified"] > meta["lastModified"]
    modified = await client.get(f"/Users/{user['id']}", headers={"If-None-Match": meta["version"]})
    assert modified.status_code == 200

    # The old version no longer matches anything: PUT and DELETE refuse it too.
    put = await client.put(
        f"/Users/{user['id']}",
        json={"userName": user["userName"]},
        headers={"If-Match": meta["version"]},
    )
    assert put.status_code == 412
    assert (
        await client.delete(f"/Users/{user['id']}", headers={"If-Match": meta["version"]})
    ).status_code == 412
    deleted = await client.delete(f"/Users/{user['id']}", headers={"If-Match": new_meta["version"]})
    assert deleted.status_code == 204


async def test_group_etag_changes_with_members_and_412(client: httpx.AsyncClient) -> None:
    user = await new_user(client)
    group = await new_group(client)
    version = group["meta"]["version"]
    add = patch_op({"op": "add", "path": "members", "value": [{"value": user["id"]}]})
    answered = await client.patch(f"/Groups/{group['id']}", json=add, headers={"If-Match": version})
    assert answered.status_code == 204
    assert answered.headers["etag"] != version
    again = await client.patch(f"/Groups/{group['id']}", json=add, headers={"If-Match": version})
    assert again.status_code == 412


async def test_members_in_both_dialects_and_excluded_attributes(client: httpx.AsyncClient) -> None:
    users = [await new_user(client) for _ in range(4)]
    group = await new_group(client)
    gid = group["id"]

    async def members() -> list[str]:
        got = await client.get(f"/Groups/{gid}")
        return sorted(m["value"] for m in got.json().get("members", []))

    add = patch_op(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u["id"]} for u in users]}
    )
    assert (await client.patch(f"/Groups/{gid}", json=add)).status_code == 204
    assert await members() == sorted(u["id"] for u in users)
    legacy = patch_op({"op": "Remove", "path": "members", "value": [{"value": users[0]["id"]}]})
    assert (await client.patch(f"/Groups/{gid}", json=legacy)).status_code == 204
    flagged = patch_op({"op": "remove", "path": f'members[value eq "{users[1]["id"]}"]'})
    assert (await client.patch(f"/Groups/{gid}", json=flagged)).status_code == 204
    assert await members() == sorted(u["id"] for u in users[2:])

    for params in (
        {"excludedAttributes": "members"},
        {"excludedAttributes": "Members,externalId"},
        {"excludedAttributes": "members", "attributes": "displayName,members"},
    ):
        one = await client.get(f"/Groups/{gid}", params=params)
        assert "members" not in one.json(), params
        listed = await client.get(
            "/Groups", params={**params, "filter": f'displayName eq "{group["displayName"]}"'}
        )
        assert listed.json()["totalResults"] == 1
        assert "members" not in listed.json()["Resources"][0], params
        searched = await client.post(
            "/Groups/.search",
            json={"filter": f'id eq "{gid}"', "excludedAttributes": ["members"]},
        )
        assert "members" not in searched.json()["Resources"][0]
    every = await client.get("/Groups", params={"excludedAttributes": "members"})
    assert all("members" not in g for g in every.json()["Resources"])


async def test_group_id_and_members_filter(client: httpx.AsyncClient) -> None:
    member, outsider = await new_user(client), await new_user(client)
    group = await new_group(client, member["id"])
    other = await new_group(client, member["id"])
    for user, hits in ((member, 1), (outsider, 0)):
        found = await client.get(
            "/Groups",
            params={
                "filter": f'id eq "{group["id"]}" and members eq "{user["id"]}"',
                "excludedAttributes": "members",
            },
        )
        assert found.json()["totalResults"] == hits
    both = await client.get("/Groups", params={"filter": f'members eq "{member["id"]}"'})
    assert sorted(g["id"] for g in both.json()["Resources"]) == sorted([group["id"], other["id"]])
    by_value = await client.get("/Groups", params={"filter": f'members.value eq "{member["id"]}"'})
    assert by_value.json()["totalResults"] == 2


async def test_user_id_and_manager_filter_e32(client: httpx.AsyncClient) -> None:
    boss, someone = await new_user(client), await new_user(client)
    user = await new_user(client, **{ENTERPRISE: {"manager": {"value": boss["id"]}}})
    for manager, hits in ((boss, 1), (someone, 0)):
        found = await client.get(
            "/Users",
            params={
                "filter": f'id eq "{user["id"]}" and manager eq "{manager["id"]}"',
                "attributes": "id",
            },
        )
        assert found.json()["totalResults"] == hits
    qualified = await client.get(
        "/Users",
        params={"filter": f'{ENTERPRISE}:manager.value eq "{boss["id"]}"'},
    )
    assert [u["id"] for u in qualified.json()["Resources"]] == [user["id"]]
