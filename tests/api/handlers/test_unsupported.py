"""/Bulk and /Me exist in SCIM but not here: 501 with a SCIM error (other methods: 405)."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/Bulk", 501),
        ("GET", "/Bulk", 405),
        ("GET", "/Me", 501),
        ("POST", "/Me", 501),
        ("PUT", "/Me", 501),
        ("PATCH", "/Me", 501),
        ("DELETE", "/Me", 501),
    ],
)
async def test_not_implemented(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, json={"schemas": [], "Operations": []})
    assert response.status_code == status
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    assert response.headers["content-type"] == "application/scim+json"
