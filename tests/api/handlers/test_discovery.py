"""/ServiceProviderConfig, /ResourceTypes and /Schemas tell the truth about the server."""

from __future__ import annotations

import httpx

from tests.support.scim import scim_client
from zero_scim_api.app import ScimApp, create_app
from zero_scim_api.config import Settings
from zero_scim_api.storage.store import Storage

SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"


async def test_service_provider_config_tells_the_truth(client: httpx.AsyncClient) -> None:
    response = await client.get("/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/scim+json"
    config = response.json()
    assert config["schemas"] == [SPC]
    assert config["patch"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    assert config["changePassword"] == {"supported": False}
    assert config["sort"] == {"supported": True}
    assert config["etag"] == {"supported": True}
    (scheme,) = config["authenticationSchemes"]
    assert scheme["type"] == "oauthbearertoken" and scheme["primary"] is True
    assert config["meta"]["location"] == "http://testserver/scim/v2/ServiceProviderConfig"


async def test_max_results_follows_the_settings_and_caps_pages(
    storage: Storage, tenant: object, client: httpx.AsyncClient
) -> None:
    for _ in range(3):
        assert (await client.post("/Groups", json={"displayName": "g"})).status_code == 201
    small: ScimApp = create_app(Settings(max_results=2), storage)
    token = client.headers["authorization"].split()[1]
    async with scim_client(small, token) as http:
        config = (await http.get("/ServiceProviderConfig")).json()
        assert config["filter"]["maxResults"] == 2
        page = (await http.get("/Groups", params={"count": "500"})).json()
        assert page["totalResults"] == 3
        assert page["itemsPerPage"] == 2 and len(page["Resources"]) == 2
        default = (await http.get("/Groups")).json()
        assert len(default["Resources"]) == 2


async def test_resource_types(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/ResourceTypes")).json()
    assert listed["totalResults"] == 2
    by_id = {r["id"]: r for r in listed["Resources"]}
    assert by_id["User"]["endpoint"] == "/Users"
    assert by_id["User"]["schema"] == USER_URN
    assert by_id["User"]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert by_id["Group"]["schema"] == GROUP_URN
    assert by_id["Group"]["meta"]["location"] == "http://testserver/scim/v2/ResourceTypes/Group"
    one = await client.get("/ResourceTypes/User")
    assert one.status_code == 200 and one.json() == by_id["User"]
    assert (await client.get("/ResourceTypes/user")).json()["id"] == "User"
    missing = await client.get("/ResourceTypes/Device")
    assert missing.status_code == 404 and missing.json()["status"] == "404"


async def test_schemas(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/Schemas")).json()
    assert {s["id"] for s in listed["Resources"]} == {USER_URN, ENTERPRISE, GROUP_URN}
    one = await client.get(f"/Schemas/{ENTERPRISE}")
    assert one.status_code == 200
    names = {a["name"] for a in one.json()["attributes"]}
    assert {
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
    } <= names
    assert (await client.get(f"/Schemas/{USER_URN.upper()}")).json()["id"] == USER_URN
    assert (await client.get("/Schemas/urn:nope")).status_code == 404


async def test_discovery_refuses_filters_and_other_methods(client: httpx.AsyncClient) -> None:
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        filtered = await client.get(path, params={"filter": 'id eq "User"'})
        assert filtered.status_code == 403
        assert filtered.json()["status"] == "403"
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            response = await client.request(method, path, json={})
            assert response.status_code == 405, (method, path)
            assert "GET" in response.headers["allow"]
            assert response.json()["status"] == "405"


async def test_discovery_needs_the_token(anon: httpx.AsyncClient) -> None:
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas/x"):
        assert (await anon.get(path)).status_code == 401
