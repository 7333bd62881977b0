"""Users and Groups resources: list paging and sorting, projections on every verb, PUT,
PATCH answers (users 200 with the resource, groups 204 unless a projection is asked)."""

from __future__ import annotations

import uuid

import httpx

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def test_list_paging_and_sorting(client: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex[:6]
    names = [f"{tag}-{c}@example.com" for c in "dbeac"]
    for name in names:
        assert (await client.post("/Users", json={"userName": name})).status_code == 201
    everything = (await client.get("/Users", params={"sortBy": "userName"})).json()
    assert [u["userName"] for u in everything["Resources"]] == sorted(names)
    page = (
        await client.get(
            "/Users",
            params={
                "sortBy": "userName",
                "sortOrder": "descending",
                "startIndex": "2",
                "count": "2",
            },
        )
    ).json()
    assert page["totalResults"] == 5
    assert page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [u["userName"] for u in page["Resources"]] == sorted(names, reverse=True)[1:3]
    counted = (await client.get("/Users", params={"count": "0"})).json()
    assert counted["totalResults"] == 5 and counted["Resources"] == []
    beyond = (await client.get("/Users", params={"startIndex": "99"})).json()
    assert beyond["totalResults"] == 5 and beyond["Resources"] == []
    # Parameter names are case-insensitive; unknown ones (Entra's flag) are ignored.
    mixed = await client.get("/Users", params={"COUNT": "1", "aadOptscim062020": "", "x": "y"})
    assert mixed.json()["itemsPerPage"] == 1


async def test_projection_on_every_verb(client: httpx.AsyncClient) -> None:
    body = {"userName": f"p-{uuid.uuid4().hex}", "title": "T", "nickName": "N"}
    created = await client.post("/Users", params={"attributes": "title"}, json=body)
    assert created.status_code == 201
    assert set(created.json()) == {"id", "schemas", "title"}
    uid = created.json()["id"]
    got = await client.get(f"/Users/{uid}", params={"excludedAttributes": "title,meta"})
    assert "title" not in got.json() and "meta" not in got.json() and got.json()["nickName"] == "N"
    put = await client.put(
        f"/Users/{uid}",
        params={"attributes": "nickName"},
        json={"userName": body["userName"], "nickName": "M"},
    )
    assert put.status_code == 200 and set(put.json()) == {"id", "schemas", "nickName"}
    assert "title" not in (await client.get(f"/Users/{uid}")).json()  # PUT replaces
    patch = {"schemas": [PATCH_URN], "Operations": [{"op": "add", "path": "title", "value": "U"}]}
    patched = await client.patch(f"/Users/{uid}", params={"attributes": "title"}, json=patch)
    assert patched.status_code == 200 and patched.json()["title"] == "U"
    assert set(patched.json()) == {"id", "schemas", "title"}


async def test_patch_answers(client: httpx.AsyncClient) -> None:
    user = (await client.post("/Users", json={"userName": f"a-{uuid.uuid4().hex}"})).json()
    group = (await client.post("/Groups", json={"displayName": "x"})).json()
    rename = {
        "schemas": [PATCH_URN],
        "Operations": [{"op": "replace", "path": "displayName", "value": "y"}],
    }
    user_patch = await client.patch(f"/Users/{user['id']}", json=rename)
    assert user_patch.status_code == 200
    assert user_patch.json()["displayName"] == "y"
    assert user_patch.headers["etag"] == user_patch.json()["meta"]["version"]
    group_patch = await client.patch(f"/Groups/{group['id']}", json=rename)
    assert group_patch.status_code == 204 and group_patch.content == b""
    assert group_patch.headers["etag"]
    asked = await client.patch(
        f"/Groups/{group['id']}", params={"excludedAttributes": "members"}, json=rename
    )
    assert asked.status_code == 200
    assert asked.json()["displayName"] == "y" and "members" not in asked.json()


async def test_put_group_replaces_members(client: httpx.AsyncClient) -> None:
    a = (await client.post("/Users", json={"userName": f"a-{uuid.uuid4().hex}"})).json()
    b = (await client.post("/Users", json={"userName": f"b-{uuid.uuid4().hex}"})).json()
    group = (
        await client.post("/Groups", json={"displayName": "g", "members": [{"value": a["id"]}]})
    ).json()
    replaced = await client.put(
        f"/Groups/{group['id']}", json={"displayName": "h", "members": [{"value": b["id"]}]}
    )
    assert replaced.status_code == 200
    assert [m["value"] for m in replaced.json()["members"]] == [b["id"]]
    assert replaced.json()["displayName"] == "h"


async def test_location_follows_forwarded_headers(client: httpx.AsyncClient) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "scim.example.com"}
    created = await client.post(
        "/Users", json={"userName": f"f-{uuid.uuid4().hex}"}, headers=headers
    )
    assert created.headers["location"].startswith("https://scim.example.com/scim/v2/Users/")
    evil = {"X-Forwarded-Host": "evil.example.com/<script>"}
    got = await client.get(f"/Users/{created.json()['id']}", headers=evil)
    assert got.json()["meta"]["location"].startswith("http://testserver/scim/v2/Users/")
