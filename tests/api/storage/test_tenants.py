"""Which ZeroTenant a namespace's token speaks for, as the API's tenant watch sees it:
the namespace's ``zeroscim.io/tenant`` label decides (the operator reports a refused
claim as ``NamespaceConflict``), so a claimant never speaks for the owner's namespace —
not even while the owner is being deleted. Against the real API server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from tests.support.kube import KubeEnv
from tests.support.polling import eventually
from tests.support.scim import TenantInfo
from zero_scim.kube.coordinates import GROUP, TENANT, VERSION, tenant_manifest
from zero_scim.kube.tenants import NAMESPACE_CONFLICT
from zero_scim_api.storage.store import Storage

pytestmark = pytest.mark.cluster

FINALIZER = "test.zeroscim.io/hold"


@pytest.fixture
def claimant(kube: KubeEnv, tenant: TenantInfo) -> Iterator[str]:
    """A second ZeroTenant for the same namespace, named to sort before the owner (so the
    first-by-name stand-in would pick it)."""
    name = f"a-claim-{uuid.uuid4().hex[:8]}"
    assert name < tenant.name
    kube.custom.create_cluster_custom_object(
        GROUP, VERSION, TENANT.plural, tenant_manifest(name, {"namespace": tenant.namespace})
    )
    yield name
    with contextlib.suppress(client.ApiException):
        kube.custom.delete_cluster_custom_object(GROUP, VERSION, TENANT.plural, name)


def speaks_for(storage: Storage, token: str) -> str | None:
    tenant = storage.tenants.authenticate(token)
    return None if tenant is None else tenant.name


def refuse_claim(kube: KubeEnv, name: str) -> None:
    """What the operator writes on a claimant whose namespace is labelled for another."""
    condition = {
        "type": "NamespaceReady",
        "status": "False",
        "reason": NAMESPACE_CONFLICT,
        "message": "the namespace is labelled for another ZeroTenant",
        "lastTransitionTime": "2026-12-01T00:00:00Z",
    }
    kube.custom.patch_cluster_custom_object_status(
        GROUP, VERSION, TENANT.plural, name, {"status": {"conditions": [condition]}}
    )


def set_finalizers(kube: KubeEnv, name: str, finalizers: list[str]) -> None:
    kube.custom.patch_cluster_custom_object(
        GROUP, VERSION, TENANT.plural, name, {"metadata": {"finalizers": finalizers}}
    )


async def test_a_refused_claimant_speaks_for_nothing(
    kube: KubeEnv, storage: Storage, tenant: TenantInfo, claimant: str
) -> None:
    # Before the operator has looked, the first by name stands in for the namespace.
    await eventually(lambda: speaks_for(storage, tenant.token) == claimant, timeout=10)

    await asyncio.to_thread(refuse_claim, kube, claimant)
    await eventually(lambda: speaks_for(storage, tenant.token) == tenant.name, timeout=10)

    # The owner being deleted (held by a finalizer): its token speaks for no tenant, and
    # the refused claimant does not take the namespace over.
    await asyncio.to_thread(set_finalizers, kube, tenant.name, [FINALIZER])
    try:
        await asyncio.to_thread(
            kube.custom.delete_cluster_custom_object, GROUP, VERSION, TENANT.plural, tenant.name
        )
        await eventually(lambda: speaks_for(storage, tenant.token) is None, timeout=10)
        await asyncio.sleep(1)  # and it stays so
        assert speaks_for(storage, tenant.token) is None
    finally:
        await asyncio.to_thread(set_finalizers, kube, tenant.name, [])
