"""Request id, path clean-up, bearer auth, content types and body limits."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.scim import TenantInfo, root_client, scim_client
from zero_scim_api.app import ScimApp, create_app
from zero_scim_api.config import Settings
from zero_scim_api.storage.store import Storage

SCIM_JSON = "application/scim+json"


async def test_request_id_is_honoured_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/Users", headers={"X-Request-Id": "entra-1234.abcd"})
    assert given.headers["x-request-id"] == "entra-1234.abcd"
    made = await client.get("/Users")
    assert len(made.headers["x-request-id"]) == 32
    for insane in ("a" * 300, "bad id", "<script>", "-leading-dash", ""):
        response = await client.get("/Users", headers={"X-Request-Id": insane})
        assert response.headers["x-request-id"] != insane
        assert len(response.headers["x-request-id"]) == 32
    failed = await client.get("/nope", headers={"X-Request-Id": "abc-42"})
    assert failed.status_code == 404 and failed.headers["x-request-id"] == "abc-42"


@pytest.mark.parametrize(
    "path", ["//Users", "/Users/", "//Users//", "/./Users", "/Users?aadOptscim062020"]
)
async def test_paths_are_cleaned_and_flags_ignored(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 0


async def test_tenant_url_with_trailing_slash(app: ScimApp, tenant: TenantInfo) -> None:
    """Entra's Tenant URL ends with `/`: requests arrive as `/scim/v2//Users`."""
    async with root_client(app) as http:
        for url in ("/scim/v2//Users", "/scim/v2/?aadOptscim062020", "/scim//v2//Groups/"):
            response = await http.get(url, headers=tenant.headers)
            assert response.status_code == 200, url


async def test_ops_are_open_scim_is_not(app: ScimApp) -> None:
    async with root_client(app) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/scim/v2")).status_code == 401
        assert (await http.get("/scim/v2/anything/at/all")).status_code == 401
        assert (await http.get("/elsewhere")).status_code == 404


@pytest.mark.parametrize(
    "content_type",
    [
        SCIM_JSON,
        "application/json",
        "application/json; charset=utf-8",
        "Application/SCIM+JSON",
        None,
    ],
)
async def test_accepted_request_content_types(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = f'{{"userName": "ct-{uuid.uuid4().hex}"}}'.encode()
    response = await client.post("/Users", content=body, headers=headers)
    assert response.status_code == 201
    assert response.headers["content-type"] == SCIM_JSON


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/json; charset=iso-8859-1",
        "multipart/form-data",
    ],
)
async def test_refused_request_content_types(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/Users", content=b'{"userName": "x"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 415
    assert response.json()["status"] == "415"
    assert response.headers["content-type"] == SCIM_JSON


async def test_every_scim_response_is_scim_json(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/Users"),
        ("GET", "/nope"),
        ("DELETE", "/Users/x"),
        ("OPTIONS", "/Users"),
    ):
        response = await client.request(method, path)
        assert response.headers["content-type"] == SCIM_JSON, (method, path)
    options = await client.options("/Users")
    assert options.status_code == 204 and "GET" in options.headers["allow"]


async def test_body_limit_checks_length_and_stream(storage: Storage, tenant: TenantInfo) -> None:
    small: ScimApp = create_app(Settings(max_body_bytes=2048), storage)
    async with scim_client(small, tenant.token) as http:
        fits = await http.post(
            "/Users", json={"userName": f"s-{uuid.uuid4().hex}", "title": "t" * 1500}
        )
        assert fits.status_code == 201
        declared = await http.post("/Users", json={"userName": "big", "title": "t" * 3000})
        assert declared.status_code == 413 and declared.json()["status"] == "413"

        async def chunks():  # no Content-Length: only the streamed size can tell
            yield b'{"userName": "streamed", "title": "'
            for _ in range(10):
                yield b"t" * 500
            yield b'"}'

        streamed = await http.post("/Users", content=chunks(), headers={"Content-Type": SCIM_JSON})
        assert streamed.status_code == 413


async def test_auth_header_shapes(app: ScimApp, tenant: TenantInfo) -> None:
    async with scim_client(app) as http:
        for header, status in (
            (f"Bearer {tenant.token}", 200),
            (f"bearer {tenant.token}", 200),
            (f"BEARER   {tenant.token}  ", 200),
            (f"Bearer {tenant.token} extra", 401),
            (f"Token {tenant.token}", 401),
            (tenant.token, 401),
        ):
            response = await http.get("/Users", headers={"Authorization": header})
            assert response.status_code == status, header
            if status == 401:
                assert response.headers["www-authenticate"].startswith("Bearer ")
        wrong = await http.get("/Users", headers={"Authorization": "Bearer nope-nope-nope"})
        assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
        missing = await http.get("/Users")
        assert missing.headers["www-authenticate"] == 'Bearer realm="zero-scim"'
