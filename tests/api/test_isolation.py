"""Tenant isolation: a tenant never sees or touches another tenant's objects, even with
their ids in hand — not by GET, PUT, PATCH, DELETE, filters, searches or member ids."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.scim import TenantInfo, scim_client
from zero_scim_api.app import ScimApp

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user_body(name: str) -> dict[str, Any]:
    return {"userName": name, "externalId": f"ext-{name}", "displayName": "Victim"}


@pytest.fixture
async def victim(app: ScimApp, other_tenant: TenantInfo) -> dict[str, Any]:
    """Tenant B's user and group (with that user as member)."""
    async with scim_client(app, other_tenant.token) as b:
        name = f"victim-{uuid.uuid4().hex[:8]}@example.com"
        user = (await b.post("/Users", json=user_body(name))).json()
        group = await b.post(
            "/Groups",
            json={
                "displayName": f"victims-{uuid.uuid4().hex[:6]}",
                "members": [{"value": user["id"]}],
            },
        )
        assert group.status_code == 201, group.text
        return {"user": user, "group": group.json()}


async def test_ids_of_another_tenant_are_not_found(
    app: ScimApp, tenant: TenantInfo, other_tenant: TenantInfo, victim: dict[str, Any]
) -> None:
    user, group = victim["user"], victim["group"]
    patch = {
        "schemas": [PATCH_URN],
        "Operations": [{"op": "replace", "path": "displayName", "value": "pwned"}],
    }
    async with scim_client(app, tenant.token) as a:
        for kind, obj, replacement in (
            ("Users", user, {"userName": user["userName"], "displayName": "pwned"}),
            ("Groups", group, {"displayName": "pwned"}),
        ):
            path = f"/{kind}/{obj['id']}"
            assert (await a.get(path)).status_code == 404
            assert (await a.put(path, json=replacement)).status_code == 404
            assert (await a.patch(path, json=patch)).status_code == 404
            assert (await a.delete(path)).status_code == 404
            assert (await a.get(path, headers={"If-None-Match": "*"})).status_code == 404
    async with scim_client(app, other_tenant.token) as b:
        assert (await b.get(f"/Users/{user['id']}")).json()["displayName"] == "Victim"
        got = await b.get(f"/Groups/{group['id']}")
        assert got.json()["displayName"] == group["displayName"]
        assert [m["value"] for m in got.json()["members"]] == [user["id"]]


async def test_filters_and_searches_see_only_the_own_tenant(
    app: ScimApp, tenant: TenantInfo, victim: dict[str, Any]
) -> None:
    user, group = victim["user"], victim["group"]
    filters = {
        "/Users": [
            f'id eq "{user["id"]}"',
            f'userName eq "{user["userName"]}"',
            f'externalId eq "{user["externalId"]}"',
            'displayName eq "Victim"',
            "userName pr",
        ],
        "/Groups": [
            f'id eq "{group["id"]}"',
            f'displayName eq "{group["displayName"]}"',
            f'members eq "{user["id"]}"',
            f'id eq "{group["id"]}" and members eq "{user["id"]}"',
            "displayName pr",
        ],
    }
    async with scim_client(app, tenant.token) as a:
        for endpoint, expressions in filters.items():
            for expression in expressions:
                got = await a.get(endpoint, params={"filter": expression})
                assert got.status_code == 200
                assert got.json()["totalResults"] == 0, (endpoint, expression)
                searched = await a.post(f"{endpoint}/.search", json={"filter": expression})
                assert searched.json()["totalResults"] == 0
        assert (await a.get("/Users")).json()["totalResults"] == 0
        assert (await a.get("/Groups")).json()["totalResults"] == 0
        assert (await a.get("")).json()["totalResults"] == 0
        assert (await a.post("/.search", json={})).json()["totalResults"] == 0


async def test_member_ids_of_another_tenant_are_refused(
    app: ScimApp, tenant: TenantInfo, victim: dict[str, Any]
) -> None:
    foreign = victim["user"]["id"]
    async with scim_client(app, tenant.token) as a:
        created = await a.post(
            "/Groups", json={"displayName": "mine", "members": [{"value": foreign}]}
        )
        assert created.status_code == 400
        assert created.json()["scimType"] == "invalidValue"
        group = (await a.post("/Groups", json={"displayName": "mine"})).json()
        add = {
            "schemas": [PATCH_URN],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": foreign}]}],
        }
        refused = await a.patch(f"/Groups/{group['id']}", json=add)
        assert refused.status_code == 400
        assert refused.json()["scimType"] == "invalidValue"
        manager = {
            "schemas": [PATCH_URN],
            "Operations": [{"op": "add", "path": "manager", "value": foreign}],
        }
        me = (await a.post("/Users", json={"userName": f"me-{uuid.uuid4().hex[:6]}"})).json()
        # A manager id is stored as sent and never resolved: nothing of B shows through.
        patched = await a.patch(f"/Users/{me['id']}", json=manager)
        assert patched.status_code == 200
        assert "Victim" not in patched.text
        assert victim["user"]["userName"] not in patched.text
        listed = await a.get("/Users", params={"filter": f'id eq "{foreign}"'})
        assert listed.json()["totalResults"] == 0
        members = await a.get(f"/Groups/{group['id']}")
        assert members.json().get("members", []) == []


async def test_the_same_username_may_exist_in_two_tenants(
    app: ScimApp, tenant: TenantInfo, victim: dict[str, Any]
) -> None:
    async with scim_client(app, tenant.token) as a:
        mine = await a.post("/Users", json=user_body(victim["user"]["userName"]))
        assert mine.status_code == 201
        assert mine.json()["id"] != victim["user"]["id"]
