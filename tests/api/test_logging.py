"""Structured JSON logs: one access line per request, request ids, and never a token —
wherever a client puts one (header, body, query string, path)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.scim import TenantInfo
from zero_scim.kube.tokens import new_token
from zero_scim_api.logging import REDACTED, JsonFormatter, configure, redact


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_one_access_line_per_request(
    client: httpx.AsyncClient, tenant: TenantInfo, captured: io.StringIO
) -> None:
    await client.get("/Users", headers={"X-Request-Id": "req-1"})
    await client.get("/Users/nope", headers={"X-Request-Id": "req-2"})
    access = [line for line in lines(captured) if line["logger"] == "zero_scim_api.access"]
    assert [a["request_id"] for a in access] == ["req-1", "req-2"]
    first, second = access
    assert first["method"] == "GET" and first["route"] == "/scim/v2/Users"
    assert first["status"] == 200 and first["tenant"] == tenant.name
    assert isinstance(first["duration_ms"], float)
    assert second["route"] == "/scim/v2/Users/{scim_id}" and second["status"] == 404
    assert all(set(line) >= {"ts", "level", "logger", "msg"} for line in lines(captured))


async def test_tokens_never_reach_the_logs(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, tenant: TenantInfo, captured: io.StringIO
) -> None:
    foreign = new_token()
    plain = "plain-secret-without-prefix-0123456789"
    await client.get("/Users", params={"filter": f'userName eq "{tenant.token}"', "token": foreign})
    await client.get("/Users", params={"filter": f'userName eq "{tenant.token}" and'})  # 400
    await client.post("/Users", json={"userName": tenant.token, "password": foreign})
    await client.post("/Users", content=f'{{"userName": "{tenant.token}"'.encode())  # 400
    await client.get(f"/Users/{tenant.token}")
    await client.get(f"/{foreign}")
    await anon.get("/Users", headers={"Authorization": f"Bearer {plain}"})
    await anon.get("/Users", headers={"Authorization": f"Bearer {foreign}"})
    await anon.get(
        "/Users", headers={"Authorization": f"Bearer {tenant.token}", "X-Request-Id": tenant.token}
    )
    text = captured.getvalue()
    assert len(lines(captured)) >= 9
    for secret in (tenant.token, foreign, plain, tenant.token[6:], foreign[6:]):
        assert secret not in text


def test_redaction() -> None:
    token = new_token()
    assert redact(f"got {token}!") == f"got {REDACTED}!"
    assert redact("Authorization: Bearer abcdefgh12345678") == f"Authorization: {REDACTED}"
    assert redact("bearer token missing") == "bearer token missing"
    assert redact("x my-secret-value y", "my-secret-value") == f"x {REDACTED} y"
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "value %s", (token,), None)
    assert token not in JsonFormatter().format(record)


def test_configure_routes_everything_through_json() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        configure("WARNING", stream)
        logging.getLogger("uvicorn.error").warning("hello %s", "world")
        logging.getLogger("uvicorn.access").warning("never")
        assert json.loads(stream.getvalue()) == {
            "ts": json.loads(stream.getvalue())["ts"],
            "level": "WARNING",
            "logger": "uvicorn.error",
            "msg": "hello world",
        }
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.getLogger("uvicorn.access").disabled = False
