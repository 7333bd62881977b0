"""Accounts: upsert idempotence and versions, preconditions, conflicts, validation."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.support.accounts import AccountsAdmin, Tenant

BOB = {
    "userName": "bob",
    "email": "Bob@Example.com",
    "givenName": "Bob",
    "familyName": "Builder",
    "displayName": "Bob Builder",
    "title": "Engineer",
    "department": "R&D",
    "organization": "Acme",
    "workPhone": "+1 555 0100",
    "roles": ["admin", "viewer", "admin"],
    "externalId": "ext-bob",
    "managerKey": "u-alice",
}


async def test_create_then_identical_upsert_is_a_no_op(api: httpx.AsyncClient) -> None:
    created = await api.put("/accounts/u-bob", json=BOB)
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"].endswith("/accounts/u-bob")
    body = created.json()
    assert body["id"].startswith("acc_")
    assert body["externalKey"] == "u-bob"
    assert body["roles"] == ["admin", "viewer"]  # a set: sorted, duplicates dropped
    assert body["active"] is body["enabled"] is True
    assert body["version"] == 1
    assert body["createdAt"] == body["updatedAt"]
    for name, value in BOB.items():
        if name != "roles":
            assert body[name] == value

    again = await api.put("/accounts/u-bob", json={**BOB, "roles": ["viewer", "admin"]})
    assert again.status_code == 200
    assert again.json() == body
    assert again.headers["ETag"] == '"1"'
    assert "Location" not in again.headers

    fetched = await api.get("/accounts/u-bob")
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert fetched.headers["ETag"] == '"1"'


async def test_version_increments_only_on_change(api: httpx.AsyncClient) -> None:
    await api.put("/accounts/u1", json={"userName": "u1"})
    changed = await api.put("/accounts/u1", json={"userName": "u1", "title": "CTO"})
    assert changed.status_code == 200
    assert changed.json()["version"] == 2
    assert changed.json()["updatedAt"] >= changed.json()["createdAt"]
    # PUT replaces: an omitted field is cleared, which is a change.
    cleared = await api.put("/accounts/u1", json={"userName": "u1"})
    assert cleared.json()["title"] is None
    assert cleared.json()["version"] == 3
    same = await api.put("/accounts/u1", json={"userName": "u1", "title": None})
    assert same.json()["version"] == 3


async def test_active_in_upsert_and_explicit_enable_disable(api: httpx.AsyncClient) -> None:
    created = await api.put("/accounts/u1", json={"userName": "u1", "active": False})
    assert created.json()["enabled"] is False
    # Omitting active keeps the current state.
    kept = await api.put("/accounts/u1", json={"userName": "u1"})
    assert kept.json()["enabled"] is False
    assert kept.json()["version"] == 1

    enabled = await api.post("/accounts/u1:enable")
    assert enabled.status_code == 200
    assert enabled.json()["enabled"] is enabled.json()["active"] is True
    assert enabled.json()["version"] == 2
    assert enabled.headers["ETag"] == '"2"'
    assert (await api.post("/accounts/u1:enable")).json()["version"] == 2  # idempotent

    disabled = await api.post("/accounts/u1:disable")
    assert disabled.json()["enabled"] is False
    assert disabled.json()["version"] == 3
    assert (await api.put("/accounts/u1", json={"userName": "u1", "active": True})).json()[
        "enabled"
    ] is True

    missing = await api.post("/accounts/nobody:disable")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "account_not_found"
    assert (await api.get("/accounts/u1:disable")).status_code == 405


async def test_delete(api: httpx.AsyncClient) -> None:
    await api.put("/accounts/u1", json={"userName": "u1"})
    deleted = await api.delete("/accounts/u1")
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = await api.get("/accounts/u1")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "account_not_found"
    again = await api.delete("/accounts/u1")
    assert again.status_code == 404  # clients treat this as success
    assert again.json()["error"]["code"] == "account_not_found"
    recreated = await api.put("/accounts/u1", json={"userName": "u1"})
    assert recreated.status_code == 201
    assert recreated.json()["version"] == 1


async def test_if_match(api: httpx.AsyncClient) -> None:
    await api.put("/accounts/u1", json={"userName": "u1"})
    stale = await api.put(
        "/accounts/u1", json={"userName": "u1", "title": "x"}, headers={"If-Match": '"7"'}
    )
    assert stale.status_code == 412
    assert stale.json()["error"] == {
        "code": "precondition_failed",
        "message": stale.json()["error"]["message"],
        "details": {"currentVersion": 1},
    }
    assert (await api.get("/accounts/u1")).json()["title"] is None

    ok = await api.put(
        "/accounts/u1", json={"userName": "u1", "title": "x"}, headers={"If-Match": '"0", "1"'}
    )
    assert ok.status_code == 200
    assert ok.json()["version"] == 2
    weak = await api.put("/accounts/u1", json={"userName": "u1"}, headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 412  # If-Match uses the strong comparison
    star = await api.put("/accounts/u1", json={"userName": "u1"}, headers={"If-Match": "*"})
    assert star.status_code == 200

    absent = await api.put("/accounts/u2", json={"userName": "u2"}, headers={"If-Match": "*"})
    assert absent.status_code == 412
    assert absent.json()["error"]["details"] == {"currentVersion": None}
    assert (await api.get("/accounts/u2")).status_code == 404

    for method, path in [("DELETE", "/accounts/u1"), ("POST", "/accounts/u1:disable")]:
        refused = await api.request(method, path, headers={"If-Match": '"1"'})
        assert refused.status_code == 412, method
    assert (await api.delete("/accounts/u1", headers={"If-Match": '"3"'})).status_code == 204


async def test_if_none_match_creates_only(api: httpx.AsyncClient) -> None:
    headers = {"If-None-Match": "*"}
    assert (
        await api.put("/accounts/u1", json={"userName": "u1"}, headers=headers)
    ).status_code == 201
    assert (
        await api.put("/accounts/u1", json={"userName": "u1"}, headers=headers)
    ).status_code == 412


async def test_email_taken(api: httpx.AsyncClient) -> None:
    await api.put("/accounts/u1", json={"userName": "one", "email": "Same@Example.com"})
    clash = await api.put("/accounts/u2", json={"userName": "two", "email": "same@example.COM"})
    assert clash.status_code == 409
    error = clash.json()["error"]
    assert error["code"] == "email_taken"
    assert error["details"] == {"email": "same@example.COM", "conflictingKey": "u1"}
    assert (await api.get("/accounts/u2")).status_code == 404
    # The holder may change the case of its own address.
    own = await api.put("/accounts/u1", json={"userName": "one", "email": "same@example.com"})
    assert own.status_code == 200
    # Once the holder lets go of it, the address is free.
    await api.put("/accounts/u1", json={"userName": "one", "email": "other@example.com"})
    freed = await api.put("/accounts/u2", json={"userName": "two", "email": "same@example.com"})
    assert freed.status_code == 201


async def test_email_is_unique_per_org_only(
    api: httpx.AsyncClient, admin: AccountsAdmin, accounts_service
) -> None:
    await api.put("/accounts/u1", json={"userName": "one", "email": "a@example.com"})
    other = await admin.create_org()
    async with accounts_service.http(other) as other_api:
        response = await other_api.put(
            "/accounts/u1", json={"userName": "x", "email": "a@example.com"}
        )
        assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"userName"}),
        ({"userName": ""}, {"userName"}),
        ({"userName": "x" * 257}, {"userName"}),
        ({"userName": "x", "email": "not-an-email"}, {"email"}),
        ({"userName": "x", "active": "true"}, {"active"}),
        ({"userName": "x", "roles": "admin"}, {"roles"}),
        ({"userName": "x", "roles": [""]}, {"roles.0"}),
        ({"userName": "x", "managerKey": "a/b"}, {"managerKey"}),
        ({"userName": "x", "version": 3, "id": "acc_1"}, {"version", "id"}),
        ({"userName": 5, "workPhone": "1" * 65}, {"userName", "workPhone"}),
        ([], {"body"}),
    ],
)
async def test_invalid_fields_are_listed(api: httpx.AsyncClient, body, fields) -> None:
    response = await api.put("/accounts/u1", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert {d["field"] for d in error["details"]} == fields
    assert all(d["message"] and d["type"] for d in error["details"])


async def test_own_manager_is_invalid(api: httpx.AsyncClient) -> None:
    response = await api.put("/accounts/u1", json={"userName": "x", "managerKey": "u1"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "managerKey"


@pytest.mark.parametrize("segment", ["a%3Ab", "%2E", "%2E%2E", "x" * 257, "tab%09here"])
async def test_invalid_external_key(api: httpx.AsyncClient, segment: str) -> None:
    response = await api.put(f"/accounts/{segment}", json={"userName": "x"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "externalKey"
    assert (await api.put(f"/groups/{segment}", json={"displayName": "x"})).status_code == 422


@pytest.mark.parametrize("key", ["Ünïcode key 100%?#&=+@~", "日本語", "a%2Fb"])
async def test_keys_are_opaque_strings(api: httpx.AsyncClient, key: str) -> None:
    path = f"/accounts/{quote(key, safe='')}"
    created = await api.put(path, json={"userName": "x"})
    assert created.status_code == 201
    assert created.headers["Location"].endswith(path)
    assert created.json()["externalKey"] == key
    assert (await api.get(path)).json()["externalKey"] == key
    listed = (await api.get("/accounts")).json()["items"]
    assert [a["externalKey"] for a in listed] == [key]
    assert (await api.post(f"{path}:disable")).json()["enabled"] is False
    assert (await api.delete(path)).status_code == 204


async def test_body_errors(api: httpx.AsyncClient) -> None:
    not_json = await api.put(
        "/accounts/u1", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["error"]["code"] == "invalid_json"

    wrong_type = await api.put(
        "/accounts/u1", content=b"userName=x", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"]["code"] == "unsupported_media_type"

    huge = await api.put(
        "/accounts/u1",
        content=b'{"userName": "' + b"x" * (1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "payload_too_large"


async def test_unknown_route_and_method(api: httpx.AsyncClient, tenant: Tenant) -> None:
    unknown = await api.get("/nothing-here")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    wrong = await api.post("/accounts/u1")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert "PUT" in wrong.headers["Allow"]


async def test_request_id_is_echoed(api: httpx.AsyncClient) -> None:
    echoed = await api.get("/accounts", headers={"X-Request-Id": "trace-123"})
    assert echoed.headers["X-Request-Id"] == "trace-123"
    fresh = await api.get("/accounts/none")
    assert len(fresh.headers["X-Request-Id"]) == 32
