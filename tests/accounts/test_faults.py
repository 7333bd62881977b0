"""Fault injection (``/admin/faults``) and request statistics (``/admin/stats``)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.accounts import AccountsAdmin, Tenant


async def test_faults_start_cleared(admin: AccountsAdmin) -> None:
    assert await admin.faults() == {
        "error_rate": 0.0,
        "error_status": 500,
        "error_phase": "before",
        "latency_ms": 0,
        "latency_jitter_ms": 0,
        "rate_limit": None,
        "outage": False,
        "paths": [],
        "methods": [],
        "seed": None,
    }


async def test_error_rate(api: httpx.AsyncClient, admin: AccountsAdmin) -> None:
    await admin.set_faults(error_rate=1.0)
    failed = await api.put("/accounts/u1", json={"userName": "u1"})
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "internal_error"
    await admin.clear_faults()
    assert (await api.get("/accounts/u1")).status_code == 404  # "before": nothing written

    await admin.set_faults(error_rate=0.5, seed=7)
    statuses = [(await api.get("/accounts")).status_code for _ in range(40)]
    assert set(statuses) == {200, 500}
    # The same seed replays the same sequence.
    await admin.set_faults(error_rate=0.5, seed=7)
    assert [(await api.get("/accounts")).status_code for _ in range(40)] == statuses


async def test_error_after_the_write(api: httpx.AsyncClient, admin: AccountsAdmin) -> None:
    await admin.set_faults(error_rate=1.0, error_phase="after", error_status=502)
    failed = await api.put("/accounts/u1", json={"userName": "u1"})
    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "bad_gateway"
    assert "ETag" not in failed.headers
    await admin.clear_faults()
    # The write was committed: the retry is an idempotent no-op.
    retried = await api.put("/accounts/u1", json={"userName": "u1"})
    assert retried.status_code == 200
    assert retried.json()["version"] == 1


async def test_latency(api: httpx.AsyncClient, admin: AccountsAdmin) -> None:
    await admin.set_faults(latency_ms=200, latency_jitter_ms=50)
    started = time.monotonic()
    response = await api.get("/accounts")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert 0.2 <= elapsed < 2.0
    # Admin requests are never delayed (or failed).
    started = time.monotonic()
    await admin.faults()
    assert time.monotonic() - started < 0.2


async def test_rate_limit_burst(api: httpx.AsyncClient, admin: AccountsAdmin) -> None:
    configured = await admin.set_faults(rate_limit={"burst": 2, "retry_after": 3})
    assert configured["rate_limit"] == {"burst": 2, "retry_after": 3, "remaining": 2}
    for _ in range(2):
        limited = await api.get("/accounts")
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "3"
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.json()["error"]["details"] == {"retryAfter": 3}
    assert (await admin.faults())["rate_limit"]["remaining"] == 0
    assert (await api.get("/accounts")).status_code == 200


async def test_outage_then_recovery(
    api: httpx.AsyncClient, admin: AccountsAdmin, accounts_service
) -> None:
    await admin.set_faults(outage=True)
    for request in (api.get("/accounts"), api.put("/accounts/u1", json={"userName": "u1"})):
        response = await request
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"
    async with httpx.AsyncClient(base_url=accounts_service.url) as anonymous:
        # Even before authentication, and even the health check.
        assert (await anonymous.get("/v1/orgs/x/accounts")).status_code == 503
        assert (await anonymous.get("/healthz")).status_code == 503
    assert (await admin.stats())["total"] > 0  # admin keeps working
    await admin.clear_faults()
    assert (await api.get("/accounts")).status_code == 200
    assert (await api.put("/accounts/u1", json={"userName": "u1"})).status_code == 201


async def test_scope_by_path_and_method(
    api: httpx.AsyncClient, admin: AccountsAdmin, tenant: Tenant
) -> None:
    await admin.set_faults(outage=True, paths=[f"/v1/orgs/{tenant.org_id}/groups"], methods=["put"])
    assert (await admin.faults())["methods"] == ["PUT"]
    assert (await api.put("/groups/g", json={"displayName": "G"})).status_code == 503
    assert (await api.get("/groups/g")).status_code == 404  # GET not in scope
    assert (await api.put("/accounts/u", json={"userName": "u"})).status_code == 201


@pytest.mark.parametrize(
    "faults",
    [
        {"error_rate": 1.5},
        {"error_status": 404},
        {"error_phase": "during"},
        {"rate_limit": {"burst": -1}},
        {"latency_ms": -5},
        {"outage": "yes"},
        {"paths": ["no-slash"]},
        {"methods": ["FETCH"]},
        {"unknown": 1},
    ],
)
async def test_invalid_fault_settings(admin: AccountsAdmin, faults) -> None:
    response = await admin.request("PUT", "/admin/faults", json=faults)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_failed"


async def test_stats_count_every_request_once(
    api: httpx.AsyncClient, admin: AccountsAdmin, tenant: Tenant
) -> None:
    path = f"/v1/orgs/{tenant.org_id}/accounts/u1"
    await api.put("/accounts/u1", json={"userName": "u1"})
    await api.put("/accounts/u1", json={"userName": "u1"})
    await api.get("/accounts/u1")
    await admin.set_faults(rate_limit={"burst": 1, "retry_after": 0})
    await api.delete("/accounts/u1")
    await api.delete("/accounts/u1")

    stats = await admin.stats()
    assert stats["requests"][f"PUT {path}"] == {"200": 1, "201": 1}
    assert stats["requests"][f"GET {path}"] == {"200": 1}
    assert stats["requests"][f"DELETE {path}"] == {"204": 1, "429": 1}
    assert await admin.count("PUT", path) == 2
    assert await admin.count("PUT", path, 201) == 1
    route = stats["routes"]["PUT /v1/orgs/{orgId}/accounts/{externalKey}"]
    assert route["201"] >= 1
    assert stats["faults"]["rate_limit"] >= 1
    assert not any(key.startswith("GET /admin") for key in stats["requests"])

    await admin.reset_stats()
    assert await admin.stats() == {"total": 0, "routes": {}, "requests": {}, "faults": {}}
