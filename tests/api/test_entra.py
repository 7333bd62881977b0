"""Microsoft Entra's documented requests and the answers it expects.

One test per row of the acceptance table in shared/reference/entra-provisioning.md §1.2
(rows 1-31; row 32, throttling, is not implemented). Bodies are the documented examples of
entra-examples.md (E1-E37) with their typos fixed (trailing commas, the ``2.0User`` URN, the
unquoted filter value) and their quirks kept (capitalised ops, ``"False"``, ``"$ref": null``,
the ADSCIM URI, ``roles: []``). Rows whose shape differs between Entra's default job and the
``aadOptscim062020`` flag (§1.3) run in both dialects; in the flag dialect every request also
carries ``?aadOptscim062020``, as a Tenant URL with the flag would.

Each test sets up its own users (the documented ids are reused across examples in the
docs and are never chained literally) and checks the follow-up GETs.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.entra import E1, E23_OPERATIONS, ENTERPRISE, USER_URN
from tests.support.scim import SCIM_JSON, ApiProcess, TenantInfo, scim_client, wait_for_tenant
from zero_scim_api.app import ScimApp

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

FLAG = "aadOptscim062020"
DIALECTS = ["default", "flag"]


E10: dict[str, Any] = {
    "schemas": [GROUP_URN, ADSCIM],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {"resourceType": "Group"},
}


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


def unique_user(**changes: Any) -> dict[str, Any]:
    """E1 with a fresh userName, externalId and work e-mail (unless given)."""
    body = copy.deepcopy(E1)
    tag = uuid.uuid4().hex[:12]
    body["userName"] = f"Test_User_{tag}@testuser.com"
    body["externalId"] = str(uuid.uuid4())
    body["emails"][0]["value"] = f"mail_{tag}@testuser.com"
    body.update(changes)
    return body


def assert_error(response: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body


def assert_list(response: httpx.Response, total: int) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == [LIST_URN]
    assert body["totalResults"] == total, body
    assert isinstance(body["Resources"], list)
    resources: list[dict[str, Any]] = body["Resources"]
    return resources


def assert_patched(response: httpx.Response) -> None:
    """Entra accepts 200 with the resource or 204 ("2xx-PATCH")."""
    assert response.status_code in (200, 204), response.text
    if response.status_code == 200:
        assert response.headers["content-type"].startswith(SCIM_JSON)
        assert "id" in response.json()


def find_nulls(value: Any, path: str = "$") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in find_nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in find_nulls(v, f"{path}[{i}]")]
    return []


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture(params=["asgi", "http"])
async def entra(
    request: pytest.FixtureRequest, app: ScimApp, tenant: TenantInfo, dialect: str
) -> AsyncIterator[httpx.AsyncClient]:
    """Entra's client: the tenant's token; with the flag, ``?aadOptscim062020`` on every call.

    ``asgi``: the app in this process; ``http``: the real server process over loopback.
    """
    target: Any = app
    if request.param == "http":
        api: ApiProcess = request.getfixturevalue("api_process")
        await wait_for_tenant(api.url, tenant)
        target = api.url
    async with scim_client(target, tenant.token) as http:
        if dialect == "flag":
            http.params = http.params.set(FLAG, "")
        yield http


async def create_user(
    http: httpx.AsyncClient, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await http.post("/Users", json=body or unique_user())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def create_group(http: httpx.AsyncClient, name: str | None = None) -> dict[str, Any]:
    body = copy.deepcopy(E10)
    body["displayName"] = name or f"group-{uuid.uuid4().hex[:10]}"
    body["externalId"] = str(uuid.uuid4())
    response = await http.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def get_user(http: httpx.AsyncClient, user_id: str) -> dict[str, Any]:
    response = await http.get(f"/Users/{user_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def member_ids(http: httpx.AsyncClient, group_id: str) -> list[str]:
    response = await http.get(f"/Groups/{group_id}", params={"attributes": "members"})
    assert response.status_code == 200, response.text
    return sorted(m["value"] for m in response.json().get("members", []))


# -- row 1: Test Connection ------------------------------------------------------------------


@pytest.mark.parametrize("attribute", ["userName", "externalId"])
async def test_row01_test_connection_random_guid_is_an_empty_list(
    entra: httpx.AsyncClient, attribute: str
) -> None:
    response = await entra.get("/Users", params={"filter": f'{attribute} eq "{uuid.uuid4()}"'})
    assert assert_list(response, 0) == []
    assert response.json()["Resources"] == []


# -- row 2: credentials ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789", "Basic dXNlcjpwYXNz", "Bearer", "bearer  "],
    ids=["missing", "wrong", "basic", "empty-bearer", "blank"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/Users"), ("POST", "/Users"), ("PATCH", "/Groups/x"), ("GET", "/Schemas")],
)
async def test_row02_missing_or_wrong_token_is_401(
    app: ScimApp, tenant: TenantInfo, authorization: str | None, method: str, path: str
) -> None:
    async with scim_client(app) as http:
        headers = {"Authorization": authorization} if authorization else {}
        response = await http.request(method, path, headers=headers, json={"x": 1})
    assert_error(response, 401)
    assert response.json()["detail"]
    assert response.headers["www-authenticate"].startswith('Bearer realm="zero-scim"')


# -- rows 3-11: users ------------------------------------------------------------------------


async def test_row03_create_user(entra: httpx.AsyncClient) -> None:
    body = unique_user()
    response = await entra.post("/Users", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    created = response.json()
    assert created["id"]
    for key in ("externalId", "userName", "active", "emails", "name"):
        assert created[key] == body[key]
    assert created["meta"]["resourceType"] == "User"
    assert response.headers["location"] == created["meta"]["location"]
    assert response.headers["etag"] == created["meta"]["version"]
    assert (await get_user(entra, created["id"]))["userName"] == body["userName"]


async def test_row03_create_user_with_nulls_e30(entra: httpx.AsyncClient) -> None:
    body = {
        "schemas": [USER_URN, ENTERPRISE],
        "externalId": f"jyoung-{uuid.uuid4().hex[:8]}",
        "userName": f"jyoung-{uuid.uuid4().hex[:8]}@testuser.com",
        "active": True,
        "addresses": None,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "Young", "givenName": "Joy"},
        "phoneNumbers": None,
        "preferredLanguage": None,
        "title": None,
        "department": None,
        "manager": None,
    }
    created = await create_user(entra, body)
    fetched = await get_user(entra, created["id"])
    assert fetched["displayName"] == "Joy Young"
    assert find_nulls(fetched) == []
    assert "addresses" not in fetched and "title" not in fetched


async def test_row04_same_username_again_is_409_uniqueness(entra: httpx.AsyncClient) -> None:
    body = unique_user()
    await create_user(entra, body)
    again = await entra.post("/Users", json=body)
    assert_error(again, 409, "uniqueness")
    assert again.json()["detail"]
    shouted = dict(body, userName=body["userName"].upper(), externalId=str(uuid.uuid4()))
    assert_error(await entra.post("/Users", json=shouted), 409, "uniqueness")
    found = await entra.get("/Users", params={"filter": f'userName eq "{body["userName"]}"'})
    assert len(assert_list(found, 1)) == 1


async def test_row05_get_user_has_the_e2_shape(entra: httpx.AsyncClient) -> None:
    body = unique_user()
    created = await create_user(entra, body)
    response = await entra.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(SCIM_JSON)
    user = response.json()
    assert USER_URN in user["schemas"]
    assert user["id"] == created["id"]
    assert user["externalId"] == body["externalId"]
    assert user["userName"] == body["userName"]
    assert user["name"] == body["name"]
    assert user["active"] is True
    assert user["emails"] == body["emails"]
    meta = user["meta"]
    assert meta["resourceType"] == "User"
    assert meta["created"] and meta["lastModified"]
    assert meta["location"].endswith(f"/scim/v2/Users/{created['id']}")
    assert response.headers["etag"] == meta["version"]


async def test_row06_unknown_user_is_404(entra: httpx.AsyncClient) -> None:
    assert_error(await entra.get("/Users/5171a35d82074e068ce2"), 404)
    assert_error(await entra.get(f"/Users/{uuid.uuid4()}"), 404)


async def test_row07_filter_existing_username_finds_exactly_one(entra: httpx.AsyncClient) -> None:
    body = unique_user()
    created = await create_user(entra, body)
    await create_user(entra)  # another user must not match
    for value in (body["userName"], body["userName"].lower(), body["userName"].upper()):
        response = await entra.get("/Users", params={"filter": f'userName eq "{value}"'})
        (user,) = assert_list(response, 1)
        assert user["id"] == created["id"]
        assert user["userName"] == body["userName"]


async def test_row08_filter_nonexistent_user_is_an_empty_list(entra: httpx.AsyncClient) -> None:
    await create_user(entra)
    response = await entra.get("/Users", params={"filter": 'userName eq "non-existent user"'})
    assert assert_list(response, 0) == []
    assert response.json()["startIndex"] == 1


async def test_row09_filter_by_external_id(entra: httpx.AsyncClient) -> None:
    body = unique_user()
    created = await create_user(entra, body)
    response = await entra.get("/Users", params={"filter": f'externalId eq "{body["externalId"]}"'})
    (user,) = assert_list(response, 1)
    assert user["id"] == created["id"]
    other = await entra.get("/Users", params={"filter": f'externalId eq "{uuid.uuid4()}"'})
    assert_list(other, 0)


async def test_row10_filter_by_work_email(entra: httpx.AsyncClient) -> None:
    body = unique_user()
    created = await create_user(entra, body)
    email = body["emails"][0]["value"]
    response = await entra.get(
        "/Users", params={"filter": f'emails[type eq "work"].value eq "{email}"'}
    )
    (user,) = assert_list(response, 1)
    assert user["id"] == created["id"]
    home = await entra.get(
        "/Users", params={"filter": f'emails[type eq "home"].value eq "{email}"'}
    )
    assert_list(home, 0)


async def test_row11_id_and_manager_filter_e32(entra: httpx.AsyncClient) -> None:
    manager = await create_user(entra)
    stranger = await create_user(entra)
    user = await create_user(entra)
    add_manager = patch_op(
        {"op": "Add", "path": "manager", "value": [{"$ref": None, "value": manager["id"]}]}
    )
    assert_patched(await entra.patch(f"/Users/{user['id']}", json=add_manager))
    for manager_id, hits in ((manager["id"], 1), (stranger["id"], 0)):
        response = await entra.get(
            "/Users",
            params={
                "filter": f'id eq "{user["id"]}" and manager eq "{manager_id}"',
                "attributes": "id",
            },
        )
        resources = assert_list(response, hits)
        if hits:
            assert resources[0]["id"] == user["id"]
            assert set(resources[0]) <= {"id", "schemas"}


# -- rows 12-20: user PATCH and DELETE ------------------------------------------------------


async def test_row12_replace_work_email_and_family_name_e6(entra: httpx.AsyncClient) -> None:
    created = await create_user(entra)
    body = patch_op(
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "updatedEmail@microsoft.com",
        },
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    )
    response = await entra.patch(f"/Users/{created['id']}", json=body)
    assert_patched(response)
    user = await get_user(entra, created["id"])
    assert user["emails"] == [
        {"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}
    ]
    assert user["name"]["familyName"] == "updatedFamilyName"
    assert user["name"]["givenName"] == "givenName"
    assert user["name"]["formatted"] == "givenName familyName"  # stored as sent, not recomputed


async def test_row13_replace_username_e7(entra: httpx.AsyncClient) -> None:
    created = await create_user(entra)
    taken = await create_user(entra)
    new_name = f"{uuid.uuid4()}@testuser.com"
    body = patch_op({"op": "Replace", "path": "userName", "value": new_name})
    assert_patched(await entra.patch(f"/Users/{created['id']}", json=body))
    user = await get_user(entra, created["id"])
    assert user["userName"] == new_name
    assert user["meta"]["created"] == created["meta"]["created"]
    old = await entra.get("/Users", params={"filter": f'userName eq "{created["userName"]}"'})
    assert_list(old, 0)
    new = await entra.get("/Users", params={"filter": f'userName eq "{new_name}"'})
    assert assert_list(new, 1)[0]["id"] == created["id"]
    clash = patch_op({"op": "Replace", "path": "userName", "value": taken["userName"].upper()})
    assert_error(await entra.patch(f"/Users/{created['id']}", json=clash), 409, "uniqueness")
    assert (await get_user(entra, created["id"]))["userName"] == new_name


async def test_row14_15_disable_user_keeps_it_visible(
    entra: httpx.AsyncClient, dialect: str
) -> None:
    created = await create_user(entra)
    operation: dict[str, Any]
    if dialect == "default":  # E18: capitalised op, the *string* "False"
        operation = {"op": "Replace", "path": "active", "value": "False"}
    else:  # E19
        operation = {"op": "replace", "path": "active", "value": False}
    assert_patched(await entra.patch(f"/Users/{created['id']}", json=patch_op(operation)))
    user = await get_user(entra, created["id"])
    assert user["active"] is False
    by_name = await entra.get("/Users", params={"filter": f'userName eq "{created["userName"]}"'})
    assert assert_list(by_name, 1)[0]["active"] is False
    inactive = await entra.get(
        "/Users", params={"filter": f'id eq "{created["id"]}" and active eq false'}
    )
    assert_list(inactive, 1)


async def test_row15_disable_user_e8_capitalised_op_with_boolean(entra: httpx.AsyncClient) -> None:
    created = await create_user(entra)
    body = {
        "Operations": [{"op": "Replace", "path": "active", "value": False}],
        "schemas": [PATCH_URN],
    }
    assert_patched(await entra.patch(f"/Users/{created['id']}", json=body))
    assert (await get_user(entra, created["id"]))["active"] is False
    enable = patch_op({"op": "Replace", "path": "active", "value": "True"})
    assert_patched(await entra.patch(f"/Users/{created['id']}", json=enable))
    assert (await get_user(entra, created["id"]))["active"] is True


async def test_row16_add_nickname(entra: httpx.AsyncClient, dialect: str) -> None:
    created = await create_user(entra)
    op = "Add" if dialect == "default" else "add"  # E20 / E21
    body = patch_op({"op": op, "path": "nickName", "value": "Babs"})
    assert_patched(await entra.patch(f"/Users/{created['id']}", json=body))
    assert (await get_user(entra, created["id"]))["nickName"] == "Babs"


async def test_row17_18_replace_several_attributes(entra: httpx.AsyncClient, dialect: str) -> None:
    created = await create_user(entra)
    if dialect == "default":  # E22: one Replace per path, a URN-qualified path
        body = patch_op(
            {"op": "Replace", "path": "displayName", "value": "Pvlo"},
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestBcwqnm@test.microsoft.com",
            },
            {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
            {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
            {"op": "Replace", "path": "externalId", "value": "Eqpj"},
            {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
        )
        expected = {
            "displayName": "Pvlo",
            "email": "TestBcwqnm@test.microsoft.com",
            "givenName": "Gtfd",
            "familyName": "Pkqf",
            "externalId": "Eqpj",
            "employeeNumber": "Eqpj",
        }
    else:  # E23: a path-less replace whose keys are dotted and URN paths
        body = patch_op(*E23_OPERATIONS)
        expected = {
            "displayName": "Bjfe",
            "email": "TestMhvaes@test.microsoft.com",
            "givenName": "Kkom",
            "familyName": "Unua",
            "externalId": created["externalId"],
            "employeeNumber": "Aklq",
        }
    assert_patched(await entra.patch(f"/Users/{created['id']}", json=body))
    user = await get_user(entra, created["id"])
    assert user["displayName"] == expected["displayName"]
    assert user["emails"][0]["value"] == expected["email"]
    assert user["emails"][0]["type"] == "work"
    assert user["name"]["givenName"] == expected["givenName"]
    assert user["name"]["familyName"] == expected["familyName"]
    assert user["externalId"] == expected["externalId"]
    assert user[ENTERPRISE]["employeeNumber"] == expected["employeeNumber"]
    assert ENTERPRISE in user["schemas"]
    assert "name.givenName" not in user and f"{ENTERPRISE}:employeeNumber" not in user


async def test_row19_add_manager_e33(entra: httpx.AsyncClient) -> None:
    manager = await create_user(entra)
    user = await create_user(entra)
    body = patch_op(
        {
            "op": "Add",
            "path": "manager",
            "value": [{"$ref": f"http://host/scim/Users/{manager['id']}", "value": manager["id"]}],
        }
    )
    assert_patched(await entra.patch(f"/Users/{user['id']}", json=body))
    fetched = await get_user(entra, user["id"])
    assert fetched[ENTERPRISE]["manager"]["value"] == manager["id"]


async def test_row19_manager_as_bare_string_e35_and_removal_e36(entra: httpx.AsyncClient) -> None:
    """Observed (not documented) shapes: a bare-string manager and a value-filter removal."""
    manager = await create_user(entra)
    user = await create_user(entra)
    body = patch_op({"op": "add", "path": f"{ENTERPRISE}:manager", "value": manager["id"]})
    assert_patched(await entra.patch(f"/Users/{user['id']}", json=body))
    assert (await get_user(entra, user["id"]))[ENTERPRISE]["manager"]["value"] == manager["id"]
    remove = patch_op({"op": "remove", "path": f'manager[value eq "{manager["id"]}"]'})
    assert_patched(await entra.patch(f"/Users/{user['id']}", json=remove))
    assert "manager" not in (await get_user(entra, user["id"])).get(ENTERPRISE, {})


async def test_row20_delete_user_then_404(entra: httpx.AsyncClient) -> None:
    created = await create_user(entra)
    response = await entra.delete(f"/Users/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(await entra.get(f"/Users/{created['id']}"), 404)
    gone = await entra.get("/Users", params={"filter": f'userName eq "{created["userName"]}"'})
    assert_list(gone, 0)
    assert_error(await entra.delete(f"/Users/{created['id']}"), 404)


# -- rows 21-28: groups ----------------------------------------------------------------------


async def test_row21_create_group_with_adscim_schema_e10(entra: httpx.AsyncClient) -> None:
    body = copy.deepcopy(E10)
    body["displayName"] = f"displayName-{uuid.uuid4().hex[:8]}"
    response = await entra.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    group = response.json()
    assert group["id"]
    assert group["members"] == []
    assert group["displayName"] == body["displayName"]
    assert group["externalId"] == body["externalId"]
    assert group["schemas"] == [GROUP_URN]
    assert group["meta"]["resourceType"] == "Group"


async def test_row22_get_group_excluding_members_e11(entra: httpx.AsyncClient) -> None:
    group = await create_group(entra)
    user = await create_user(entra)
    add = patch_op({"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]})
    assert (await entra.patch(f"/Groups/{group['id']}", json=add)).status_code == 204
    response = await entra.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"})
    assert response.status_code == 200
    fetched = response.json()
    assert "members" not in fetched
    assert fetched["displayName"] == group["displayName"]
    assert fetched["id"] == group["id"]


async def test_row23_filter_groups_by_display_name_excluding_members_e12(
    entra: httpx.AsyncClient,
) -> None:
    group = await create_group(entra)
    user = await create_user(entra)
    add = patch_op({"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]})
    assert (await entra.patch(f"/Groups/{group['id']}", json=add)).status_code == 204
    await create_group(entra)
    response = await entra.get(
        "/Groups",
        params={
            "excludedAttributes": "members",
            "filter": f'displayName eq "{group["displayName"]}"',
        },
    )
    (found,) = assert_list(response, 1)
    assert found["id"] == group["id"]
    assert "members" not in found


async def test_row24_replace_group_display_name_e13(entra: httpx.AsyncClient) -> None:
    group = await create_group(entra)
    new_name = f"{uuid.uuid4()}updatedDisplayName"
    body = patch_op({"op": "Replace", "path": "displayName", "value": new_name})
    response = await entra.patch(f"/Groups/{group['id']}", json=body)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["etag"]
    fetched = await entra.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"})
    assert fetched.json()["displayName"] == new_name
    assert fetched.headers["etag"] == response.headers["etag"]


async def test_row25_add_members_e14_is_idempotent(entra: httpx.AsyncClient) -> None:
    group = await create_group(entra)
    users = [await create_user(entra) for _ in range(3)]
    add = patch_op(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u["id"]} for u in users]}
    )
    assert (await entra.patch(f"/Groups/{group['id']}", json=add)).status_code == 204
    assert await member_ids(entra, group["id"]) == sorted(u["id"] for u in users)
    again = patch_op(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": users[0]["id"]}]}
    )
    assert (await entra.patch(f"/Groups/{group['id']}", json=again)).status_code == 204
    assert await member_ids(entra, group["id"]) == sorted(u["id"] for u in users)
    # Decision: a member id that names no user or group of this tenant is 400 invalidValue.
    unknown = patch_op({"op": "Add", "path": "members", "value": [{"value": str(uuid.uuid4())}]})
    assert_error(await entra.patch(f"/Groups/{group['id']}", json=unknown), 400, "invalidValue")
    assert await member_ids(entra, group["id"]) == sorted(u["id"] for u in users)


async def test_row26_27_remove_one_member(entra: httpx.AsyncClient, dialect: str) -> None:
    group = await create_group(entra)
    users = [await create_user(entra) for _ in range(3)]
    add = patch_op(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u["id"]} for u in users]}
    )
    assert (await entra.patch(f"/Groups/{group['id']}", json=add)).status_code == 204
    gone = users[1]["id"]
    if dialect == "default":  # E15 / E24: path "members" with a value list
        body = patch_op(
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": gone}]}
        )
    else:  # E25: a value-filter path
        body = patch_op({"op": "remove", "path": f'members[value eq "{gone}"]'})
    response = await entra.patch(f"/Groups/{group['id']}", json=body)
    assert response.status_code == 204
    assert await member_ids(entra, group["id"]) == sorted(u["id"] for u in users if u["id"] != gone)


async def test_row26_remove_members_e24_without_ref(entra: httpx.AsyncClient) -> None:
    group = await create_group(entra)
    users = [await create_user(entra) for _ in range(2)]
    add = patch_op({"op": "Add", "path": "members", "value": [{"value": u["id"]} for u in users]})
    assert (await entra.patch(f"/Groups/{group['id']}", json=add)).status_code == 204
    body = patch_op({"op": "Remove", "path": "members", "value": [{"value": users[0]["id"]}]})
    assert (await entra.patch(f"/Groups/{group['id']}", json=body)).status_code == 204
    assert await member_ids(entra, group["id"]) == [users[1]["id"]]


async def test_row28_delete_group(entra: httpx.AsyncClient) -> None:
    group = await create_group(entra)
    response = await entra.delete(f"/Groups/{group['id']}")
    assert response.status_code == 204
    assert_error(await entra.get(f"/Groups/{group['id']}"), 404)
    gone = await entra.get("/Groups", params={"filter": f'displayName eq "{group["displayName"]}"'})
    assert_list(gone, 0)


# -- rows 29-31: schemas, custom extensions, roles -------------------------------------------


async def test_row29_schemas_is_a_list_of_schema_resources_e17(entra: httpx.AsyncClient) -> None:
    response = await entra.get("/Schemas")
    resources = assert_list(response, 3)
    assert find_nulls(response.json()) == []
    ids = {r["id"] for r in resources}
    assert ids == {USER_URN, ENTERPRISE, GROUP_URN}
    for schema in resources:
        assert schema["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
        assert schema["meta"]["resourceType"] == "Schema"
        assert schema["meta"]["location"].endswith(f"/Schemas/{schema['id']}")
        for attribute in schema["attributes"]:
            assert attribute["mutability"] in ("readOnly", "readWrite", "immutable", "writeOnly")
            assert attribute["returned"] in ("always", "never", "default", "request")
    user = next(r for r in resources if r["id"] == USER_URN)
    user_name = next(a for a in user["attributes"] if a["name"] == "userName")
    assert user_name["uniqueness"] == "server" and user_name["required"] is True
    assert user_name["caseExact"] is False


async def test_row30_custom_extension_without_its_urn_in_schemas_e26(
    entra: httpx.AsyncClient,
) -> None:
    body = unique_user()
    body["schemas"] = [USER_URN, ENTERPRISE]  # Entra never lists the custom extension URN
    body[CUSTOM] = {"tag": "701984"}
    body[ENTERPRISE] = {"department": "Sales"}
    created = await create_user(entra, body)
    user = await get_user(entra, created["id"])
    assert user[CUSTOM] == {"tag": "701984"}
    assert user[ENTERPRISE]["department"] == "Sales"
    flat = patch_op({"op": "Add", "path": f"{CUSTOM}:costBucket", "value": "B-12"})
    assert_patched(await entra.patch(f"/Users/{created['id']}", json=flat))
    user = await get_user(entra, created["id"])
    assert user[CUSTOM] == {"tag": "701984", "costBucket": "B-12"}
    found = await entra.get(
        "/Users", params={"filter": f'{CUSTOM}:tag eq "701984" and id eq "{created["id"]}"'}
    )
    assert_list(found, 1)


async def test_row31_roles_as_json_encoded_string_e28_are_stored_as_sent(
    entra: httpx.AsyncClient,
) -> None:
    created = await create_user(entra)
    encoded = '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}'
    body = patch_op({"op": "Add", "path": "roles", "value": [{"value": encoded}]})
    assert_patched(await entra.patch(f"/Users/{created['id']}", json=body))
    user = await get_user(entra, created["id"])
    assert [r["value"] for r in user["roles"]] == [encoded]
