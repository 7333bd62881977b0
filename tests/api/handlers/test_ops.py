"""/healthz, /readyz and /metrics: open, and honest about readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.kube import KubeEnv
from tests.support.scim import TenantInfo, root_client
from zero_scim_api.app import ScimApp, create_app
from zero_scim_api.config import Settings
from zero_scim_api.storage.store import Storage


async def test_health_and_ready_need_no_token(app: ScimApp) -> None:
    async with root_client(app) as root:
        health = await root.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = await root.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        metrics = await root.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")


@pytest.fixture
async def unsynced(kube: KubeEnv) -> AsyncIterator[Storage]:
    """A storage whose watches were never started: never ready."""
    store = await Storage.connect(kube.kubeconfig)
    yield store
    await store.stop()


async def test_not_ready_means_503_everywhere_but_healthz(
    unsynced: Storage, tenant: TenantInfo
) -> None:
    app = create_app(Settings(), unsynced)
    async with root_client(app) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "503"
        assert ready.headers["retry-after"] == "1"
        scim = await http.get("/scim/v2/Users", headers=tenant.headers)
        assert scim.status_code == 503
        assert scim.headers["retry-after"] == "1"
        assert scim.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert "zero_scim_ready 0.0" in (await http.get("/metrics")).text
