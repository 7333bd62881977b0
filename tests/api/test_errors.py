"""Every failure is a SCIM Error; a bug is a logged 500 with a generic detail."""

from __future__ import annotations

import io
import json
import logging

import falcon.asgi
import httpx

from tests.support.scim import TenantInfo, scim_client
from zero_scim.scim import ScimError
from zero_scim_api.app import ScimApp, create_app
from zero_scim_api.config import Settings
from zero_scim_api.logging import JsonFormatter
from zero_scim_api.storage.store import Storage

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


async def test_falcon_errors_become_scim_errors(client: httpx.AsyncClient) -> None:
    missing = await client.get("/Whatever")
    assert missing.status_code == 404
    assert missing.json() == {
        "schemas": [ERROR_URN],
        "status": "404",
        "detail": "no such endpoint or resource",
    }
    wrong = await client.put("/Users", json={})
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, POST, OPTIONS"
    assert wrong.json()["status"] == "405"
    unknown = await client.request("BREW", "/Users")
    assert unknown.status_code == 501


async def test_malformed_json_is_invalid_syntax(client: httpx.AsyncClient) -> None:
    for content in (b"{", b"[1,", b"\xff", b"nul", b"   "):
        response = await client.post("/Users", content=content)
        assert response.status_code == 400
        assert response.json()["scimType"] == "invalidSyntax"


class Boom:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise RuntimeError("secret internals zscim_leaked_token_value")

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise ScimError("a bare ScimError is a bug too")


async def test_a_bug_is_a_logged_generic_500(storage: Storage, tenant: TenantInfo) -> None:
    app: ScimApp = create_app(Settings(), storage)
    app.add_route("/scim/v2/boom", Boom())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        async with scim_client(app, tenant.token) as http:
            for method in ("GET", "POST"):
                response = await http.request(
                    method, "/boom", headers={"X-Request-Id": f"boom-{method}"}
                )
                assert response.status_code == 500
                body = response.json()
                assert body["schemas"] == [ERROR_URN] and body["status"] == "500"
                assert "internals" not in body["detail"] and "bug" not in body["detail"]
                assert f"boom-{method}" in body["detail"]
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert {line["request_id"] for line in errors} == {"boom-GET", "boom-POST"}
    assert any("RuntimeError" in line.get("exc", "") for line in errors)
    assert "zscim_leaked_token_value" not in stream.getvalue()
