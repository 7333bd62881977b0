"""One rule for who owns a tenant namespace: its ``zeroscim.io/tenant`` label.

A second ZeroTenant claiming a namespace (a GitOps copy-paste) is not Ready
(``NamespaceConflict``), syncs nothing, and its deletion -- under either policy -- touches
nothing of the owner's: the token Secret, the namespace, the accounts in Zero. The
claimants here are named to sort *before* their owner, which is how the old rule ("the
first claimant by name") mistook them for the owner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.operator.conftest import Start
from tests.operator.support import (
    Zero,
    all_synced,
    create_tenant,
    create_user,
    eventually,
    get_tenant,
    is_true,
    put_secret,
    read_secret,
    reason_is,
    tenant_spec,
    user_spec,
)
from tests.support.kube import KubeEnv
from zero_scim.kube.coordinates import GROUP, LABEL_TENANT, TENANT, VERSION, tenant_manifest

Claim = Callable[..., str]


@pytest.fixture
def claimant(kube: KubeEnv, namespace: str) -> Iterator[Claim]:
    """Create a second ZeroTenant for ``namespace``, named to sort before its owner; it is
    removed afterwards (finalizer stripped) if the test left it."""
    names: list[str] = []

    def create(spec: dict[str, Any], *, policy: str = "Retain") -> str:
        name = f"a-copy-{namespace}"
        body = tenant_manifest(name, {**spec, "namespace": namespace, "deletionPolicy": policy})
        kube.custom.create_cluster_custom_object(GROUP, VERSION, TENANT.plural, body)
        names.append(name)
        return name

    yield create
    for name in names:
        with contextlib.suppress(client.ApiException):
            patch = {"metadata": {"finalizers": None}}
            kube.custom.patch_cluster_custom_object(GROUP, VERSION, TENANT.plural, name, patch)
        with contextlib.suppress(client.ApiException):
            delete_tenant(kube, name)


def delete_tenant(kube: KubeEnv, name: str) -> None:
    kube.custom.delete_cluster_custom_object(GROUP, VERSION, TENANT.plural, name)


def tenant_gone(kube: KubeEnv, name: str) -> bool:
    return name not in {
        item["metadata"]["name"]
        for item in kube.custom.list_cluster_custom_object(GROUP, VERSION, TENANT.plural)["items"]
    }


async def deletions(zero: Zero) -> int:
    """DELETEs of accounts and groups the org has seen (whatever their answer)."""
    org = f"/v1/orgs/{zero.org.org_id}/"
    requests = (await zero.admin.stats())["requests"]
    return sum(
        sum(by_status.values())
        for key, by_status in requests.items()
        if key.startswith(f"DELETE {org}accounts/") or key.startswith(f"DELETE {org}groups/")
    )


def label_of(kube: KubeEnv, namespace: str) -> str | None:
    labels = kube.core.read_namespace(namespace).metadata.labels or {}
    return labels.get(LABEL_TENANT)


async def test_a_second_claimant_is_refused_and_the_owner_keeps_syncing(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start, claimant: Claim
) -> None:
    operators()
    owner = create_tenant(kube, zero, namespace)
    await eventually(lambda: is_true(get_tenant(kube, owner), "Ready"))
    token = (await eventually(lambda: read_secret(kube, namespace)))["data"]["token"]

    # The claimant points at an org of its own: nothing may ever arrive there.
    other = await zero.admin.create_org()
    put_secret(kube, namespace, "claimant-api-key", {"apiKey": other.api_key})
    spec = tenant_spec(zero, namespace)
    spec["downstream"] = {**spec["downstream"], "orgId": other.org_id}
    spec["downstream"]["apiKeySecretRef"] = {"name": "claimant-api-key"}
    second = claimant(spec)

    refused = await eventually(
        lambda: reason_is(get_tenant(kube, second), "Ready", "NamespaceConflict")
    )
    assert refused["status"] == "False" and owner in refused["message"]
    status = get_tenant(kube, second)["status"]
    assert reason_is(get_tenant(kube, second), "NamespaceReady", "NamespaceConflict")
    assert status.get("tokenSecretName") is None  # the claimant has no token of its own

    # The owner is unaffected: Ready, and a user created now is synced -- to its org.
    assert is_true(get_tenant(kube, owner), "Ready")
    spec_ = user_spec("after-the-copy@example.com")
    name = create_user(kube, namespace, spec_)
    await eventually(lambda: all_synced(kube, namespace, [name]))
    assert spec_["id"] in await zero.accounts()
    assert is_true(get_tenant(kube, owner), "Ready")
    async with zero.service.http(other) as claimant_org:
        response = await claimant_org.get("/accounts")
        assert response.status_code == 200 and response.json()["items"] == []
    assert label_of(kube, namespace) == owner
    assert read_secret(kube, namespace)["data"]["token"] == token  # type: ignore[index]


@pytest.mark.parametrize("policy", ["Retain", "Deprovision"])
async def test_deleting_a_claimant_touches_nothing_of_the_owner(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start, claimant: Claim, policy: str
) -> None:
    operators()
    owner = create_tenant(kube, zero, namespace, deletionPolicy="Retain")
    specs = [user_spec(f"owned{i}@example.com") for i in range(3)]
    names = [create_user(kube, namespace, spec) for spec in specs]
    await eventually(lambda: all_synced(kube, namespace, names))
    await eventually(lambda: is_true(get_tenant(kube, owner), "Ready"))
    secret = read_secret(kube, namespace)
    assert secret is not None

    # A copy of the owner's spec -- the same org and API key -- under another name.
    second = claimant(tenant_spec(zero, namespace), policy=policy)
    await eventually(lambda: reason_is(get_tenant(kube, second), "Ready", "NamespaceConflict"))
    delete_tenant(kube, second)
    await eventually(lambda: tenant_gone(kube, second), timeout=30)

    after = read_secret(kube, namespace)
    assert after is not None and after["resourceVersion"] == secret["resourceVersion"]
    assert after["data"]["token"] == secret["data"]["token"]
    namespace_object = kube.core.read_namespace(namespace)
    assert namespace_object.status.phase == "Active"
    assert (namespace_object.metadata.labels or {}).get(LABEL_TENANT) == owner
    assert set(await zero.accounts()) == {spec["id"] for spec in specs}
    assert await deletions(zero) == 0  # Zero saw no deletion of an account or group
    assert is_true(get_tenant(kube, owner), "Ready")
    assert is_true(get_tenant(kube, owner), "TokenReady")
