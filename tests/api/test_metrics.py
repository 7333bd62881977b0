"""Prometheus metrics: requests by route template, method and status; latency; per-tenant
object counts read at scrape time; watch restarts; readiness."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.scim import TenantInfo, root_client
from zero_scim_api.app import ScimApp
from zero_scim_api.metrics import Metrics


async def scrape(app: ScimApp) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with root_client(app) as http:
        text = (await http.get("/metrics")).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_requests_latency_and_counts(
    app: ScimApp, client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    before = await scrape(app)
    route = (("method", "POST"), ("route", "/scim/v2/Users"), ("status", "201"))
    created_before = before.get(("zero_scim_http_requests_total", route), 0.0)
    for i in range(3):
        assert (
            await client.post("/Users", json={"userName": f"{tenant.name}-{i}"})
        ).status_code == 201
    await client.post("/Groups", json={"displayName": "g"})
    await client.request("BREW", f"/Users/{tenant.token}")
    after = await scrape(app)
    assert after[("zero_scim_http_requests_total", route)] == created_before + 3
    latency = (("method", "POST"), ("route", "/scim/v2/Users"))
    assert after[("zero_scim_http_request_duration_seconds_count", latency)] >= 3
    assert after[("zero_scim_tenant_users", (("tenant", tenant.name),))] == 3
    assert after[("zero_scim_tenant_groups", (("tenant", tenant.name),))] == 1
    assert after[("zero_scim_ready", ())] == 1.0
    labels = {
        dict(key[1]).get("method") for key in after if key[0] == "zero_scim_http_requests_total"
    }
    assert "BREW" not in labels and "OTHER" in labels
    assert not any(tenant.token in str(key) for key in after)


def test_watch_restarts_by_watch_and_reason() -> None:
    metrics = Metrics()
    metrics.watch_restarted("users", "gone")
    metrics.watch_restarted("secrets:tenant-a", "error")
    metrics.watch_restarted("secrets:tenant-b", "error")
    text = metrics.render().decode()
    assert 'zero_scim_watch_restarts_total{reason="gone",watch="users"} 1.0' in text
    assert 'zero_scim_watch_restarts_total{reason="error",watch="secrets"} 2.0' in text


def test_registries_are_per_app() -> None:
    first, second = Metrics(), Metrics()
    first.observe("/x", "GET", 200, 0.01)
    assert b'route="/x"' in first.render()
    assert b'route="/x"' not in second.render()
