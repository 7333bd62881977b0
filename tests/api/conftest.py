"""Fixtures for the SCIM API tests — all against the session's real API server.

``storage``      one started, synced :class:`Storage` for the session.
``metrics``      the :class:`Metrics` the storage reports watch restarts to.
``app``          the Falcon app over that storage (default settings), in process.
``tenant``       a fresh tenant (namespace, ZeroTenant, token Secret) the app accepts;
                 deleted afterwards. ``other_tenant``: a second one.
``client``       an ``httpx.AsyncClient`` on ``app`` at ``/scim/v2`` with the tenant's token.
``anon``         the same without a token.
``api_process``  the real server (``python -m zero_scim.cli api``) as a subprocess, ready.
``api_client``   an HTTP client to ``api_process`` with the tenant's token.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.kube import KubeEnv
from tests.support.polling import eventually
from tests.support.scim import (
    ApiProcess,
    TenantInfo,
    create_tenant,
    delete_tenant,
    running_api,
    scim_client,
    wait_for_tenant,
)
from zero_scim_api.app import ScimApp, create_app
from zero_scim_api.config import Settings
from zero_scim_api.metrics import Metrics
from zero_scim_api.storage.store import Storage


@pytest.fixture(scope="session")
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture(scope="session")
async def storage(kube: KubeEnv, metrics: Metrics) -> AsyncIterator[Storage]:
    store = await Storage.connect(kube.kubeconfig, on_watch_restart=metrics.watch_restarted)
    store.start()
    await store.wait_ready(60)
    yield store
    await store.stop()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def app(settings: Settings, storage: Storage, metrics: Metrics) -> ScimApp:
    return create_app(settings, storage, metrics=metrics)


async def new_tenant(kube: KubeEnv, storage: Storage) -> TenantInfo:
    info = await asyncio.to_thread(create_tenant, kube)

    async def accepted() -> bool:
        return storage.tenants.authenticate(info.token) is not None and storage.ready

    await eventually(accepted, timeout=10)
    return info


@pytest.fixture
async def tenant(kube: KubeEnv, storage: Storage) -> AsyncIterator[TenantInfo]:
    info = await new_tenant(kube, storage)
    yield info
    await asyncio.to_thread(delete_tenant, kube, info)


@pytest.fixture
async def other_tenant(kube: KubeEnv, storage: Storage) -> AsyncIterator[TenantInfo]:
    info = await new_tenant(kube, storage)
    yield info
    await asyncio.to_thread(delete_tenant, kube, info)


@pytest.fixture
async def client(app: ScimApp, tenant: TenantInfo) -> AsyncIterator[httpx.AsyncClient]:
    async with scim_client(app, tenant.token) as http:
        yield http


@pytest.fixture
async def anon(app: ScimApp) -> AsyncIterator[httpx.AsyncClient]:
    async with scim_client(app) as http:
        yield http


@pytest.fixture(scope="session")
def api_process(kube: KubeEnv) -> Iterator[ApiProcess]:
    with running_api(kube.kubeconfig) as api:
        yield api


@pytest.fixture
async def api_client(
    api_process: ApiProcess, tenant: TenantInfo
) -> AsyncIterator[httpx.AsyncClient]:
    await wait_for_tenant(api_process.url, tenant)
    async with scim_client(api_process.url, tenant.token) as http:
        yield http
