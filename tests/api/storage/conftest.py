"""A started Storage (watches + index) on the session's real API server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.kube import KubeEnv
from zero_scim.kube.coordinates import GROUP, TENANT, VERSION, tenant_manifest
from zero_scim_api.storage.store import Storage


@pytest.fixture(scope="module")
async def storage(kube: KubeEnv) -> AsyncIterator[Storage]:
    store = await Storage.connect(kube.kubeconfig)
    store.start()
    await store.wait_ready()
    yield store
    await store.stop()


@pytest.fixture
def tenant_ns(kube: KubeEnv, namespace: str) -> Iterator[str]:
    """A namespace that is also a tenant (no token: storage tests do not authenticate)."""
    name = f"{namespace}-{uuid.uuid4().hex[:4]}"
    kube.custom.create_cluster_custom_object(
        GROUP, VERSION, TENANT.plural, tenant_manifest(name, {"namespace": namespace})
    )
    yield namespace
    kube.custom.delete_cluster_custom_object(GROUP, VERSION, TENANT.plural, name)
