"""Authentication: org API keys (401 / 403) and the admin token; org administration."""

from __future__ import annotations

import httpx
import pytest

from tests.support.accounts import AccountsAdmin, AccountsService, Tenant


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Basic YWNtZTprZXk=", "Bearer wrong-key"]
)
async def test_missing_or_wrong_key_is_401(
    accounts_service: AccountsService, tenant: Tenant, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with httpx.AsyncClient(base_url=accounts_service.url) as http:
        response = await http.get(f"/v1/orgs/{tenant.org_id}/accounts", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_key_of_another_org_is_403(
    accounts_service: AccountsService, tenant: Tenant, admin: AccountsAdmin
) -> None:
    other = await admin.create_org()
    async with accounts_service.http(tenant) as api:
        own = await api.get("/accounts")
        assert own.status_code == 200
        for path in (f"/v1/orgs/{other.org_id}/accounts", "/v1/orgs/no-such-org/accounts/u1"):
            response = await api.get(accounts_service.url + path)
            assert response.status_code == 403, path
            assert response.json()["error"]["code"] == "forbidden"


async def test_org_with_several_keys_and_key_rotation(
    accounts_service: AccountsService, admin: AccountsAdmin
) -> None:
    tenant = await admin.create_org(None, "first-key", "second-key")
    for key in ("first-key", "second-key"):
        async with accounts_service.http(Tenant(tenant.org_id, key)) as api:
            assert (await api.get("/accounts")).status_code == 200

    # Adding a key to an existing org answers 200 and keeps the old keys...
    added = await admin.request(
        "POST", "/admin/orgs", json={"id": tenant.org_id, "keys": ["third-key"]}
    )
    assert added.status_code == 200
    assert added.json()["keys"] == 3
    # ...unless replace_keys revokes them.
    replaced = await admin.request(
        "POST",
        "/admin/orgs",
        json={"id": tenant.org_id, "keys": ["only-key"], "replace_keys": True},
    )
    assert replaced.json()["keys"] == 1
    listed = (await admin.request("GET", "/admin/orgs")).json()["items"]
    [entry] = [o for o in listed if o["id"] == tenant.org_id]
    assert entry["keys"] == 1

    async with accounts_service.http(Tenant(tenant.org_id, "first-key")) as api:
        assert (await api.get("/accounts")).status_code == 401
    async with accounts_service.http(Tenant(tenant.org_id, "only-key")) as api:
        assert (await api.get("/accounts")).status_code == 200


async def test_admin_endpoints_need_the_admin_token(
    accounts_service: AccountsService, tenant: Tenant
) -> None:
    async with httpx.AsyncClient(base_url=accounts_service.url) as http:
        for headers in ({}, {"Authorization": f"Bearer {tenant.api_key}"}):
            for method, path in [
                ("GET", "/admin/faults"),
                ("PUT", "/admin/faults"),
                ("GET", "/admin/stats"),
                ("DELETE", "/admin/stats"),
                ("GET", "/admin/orgs"),
                ("POST", "/admin/orgs"),
            ]:
                response = await http.request(method, path, headers=headers, json={})
                assert response.status_code == 401, (method, path)


async def test_invalid_org_definitions(admin: AccountsAdmin) -> None:
    for body in ({"id": "bad id", "keys": ["k"]}, {"id": "ok", "keys": []}, {"id": "ok"}):
        response = await admin.request("POST", "/admin/orgs", json=body)
        assert response.status_code == 422, body


async def test_healthz_needs_no_key(accounts_service: AccountsService) -> None:
    async with httpx.AsyncClient(base_url=accounts_service.url) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
