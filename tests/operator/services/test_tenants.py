"""The life of a tenant: namespace, token Secret, status, suspension, deletion policies."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.operator.conftest import Start
from tests.operator.support import (
    Zero,
    condition,
    create_group,
    create_tenant,
    create_user,
    eventually,
    get_tenant,
    is_true,
    patch_tenant,
    read_secret,
    reason_is,
    user_spec,
)
from tests.support.kube import KubeEnv
from zero_scim.kube.coordinates import LABEL_TENANT
from zero_scim.kube.tokens import (
    ANNOTATION_ROTATED_AT,
    SECRET_NAME,
    TOKEN_PREFIX,
    digest,
    digests_from_secret_data,
)


async def test_life_of_a_tenant(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    name = create_tenant(kube, zero, namespace)

    ready = await eventually(
        lambda: is_true(get_tenant(kube, name), "Ready") and get_tenant(kube, name)
    )
    status = ready["status"]
    assert status["namespace"] == namespace and status["tokenSecretName"] == SECRET_NAME
    assert status["observedGeneration"] == ready["metadata"]["generation"]
    for type_ in ("Ready", "TokenReady", "DownstreamReachable"):
        found = condition(ready, type_)
        assert found is not None and found["status"] == "True"
        assert found["observedGeneration"] == ready["metadata"]["generation"]
    assert status["userCount"] == 0 and status["groupCount"] == 0
    assert "nextRotationAt" not in status  # interval 0: never rotated on a schedule
    await eventually(lambda: get_tenant(kube, name)["status"].get("lastSyncAt"))  # a resync ran

    # The namespace is labelled, the token Secret has >= 256 bits of randomness.
    labels = kube.core.read_namespace(namespace).metadata.labels
    assert labels[LABEL_TENANT] == name
    secret = read_secret(kube, namespace)
    assert secret is not None
    token = secret["data"]["token"]
    assert token.startswith(TOKEN_PREFIX) and len(token) - len(TOKEN_PREFIX) >= 43
    assert secret["annotations"][ANNOTATION_ROTATED_AT] == status["tokenRotatedAt"]
    assert secret["ownerReferences"][0].name == name
    now = datetime.now(UTC)
    assert digests_from_secret_data(secret["raw"]).accepts(digest(token), now)

    # Counts follow the objects (from the in-memory indexes, no listing).
    for i in range(3):
        create_user(kube, namespace, user_spec(f"count{i}@example.com"))
    await eventually(lambda: get_tenant(kube, name)["status"]["userCount"] == 3)

    # Suspended: not Ready, the reason says why; resumed: Ready again.
    patch_tenant(kube, name, {"spec": {"suspend": True}})
    suspended = await eventually(lambda: reason_is(get_tenant(kube, name), "Ready", "Suspended"))
    assert suspended["status"] == "False"
    assert condition(get_tenant(kube, name), "DownstreamReachable")["status"] == "Unknown"  # type: ignore[index]
    patch_tenant(kube, name, {"spec": {"suspend": False}})
    await eventually(lambda: is_true(get_tenant(kube, name), "Ready"))

    # Retain: Zero keeps the accounts and the namespace stays, but the token is revoked.
    await eventually(lambda: zero.accounts(), timeout=20)
    kube.custom.delete_cluster_custom_object("zeroscim.io", "v1alpha1", "zerotenants", name)
    await eventually(lambda: read_secret(kube, namespace) is None)
    await eventually(lambda: _tenant_gone(kube, name))
    assert len(await zero.accounts()) == 3
    assert kube.core.read_namespace(namespace).status.phase == "Active"


async def test_invalid_spec_and_missing_api_key(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    name = create_tenant(kube, zero, namespace, downstream={"apiKeySecretRef": {"name": "nope"}})
    missing = await eventually(
        lambda: (
            (c := condition(get_tenant(kube, name), "DownstreamReachable"))
            and c["reason"] == "ApiKeyMissing"
            and c
        )
    )
    assert missing["status"] == "False"
    assert condition(get_tenant(kube, name), "Ready")["reason"] == "ApiKeyMissing"  # type: ignore[index]
    patch_tenant(
        kube, name, {"spec": {"downstream": {"apiKeySecretRef": {"name": "zero-api-key"}}}}
    )
    await eventually(lambda: is_true(get_tenant(kube, name), "Ready"))
    patch_tenant(kube, name, {"spec": {"downstream": {"orgId": "someone-else"}}})
    refused = await eventually(
        lambda: (
            (c := condition(get_tenant(kube, name), "DownstreamReachable"))
            and c["reason"] == "Unauthorized"
        )
    )
    assert refused


def _tenant_gone(kube: KubeEnv, name: str) -> bool:
    from kubernetes.client import ApiException

    try:
        get_tenant(kube, name)
    except ApiException as exc:
        return bool(exc.status == 404)
    return False


async def test_deprovision_deletes_everything_in_zero_then_the_namespace(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    name = create_tenant(kube, zero, namespace, deletionPolicy="Deprovision")
    specs = [user_spec(f"gone{i}@example.com") for i in range(3)]
    for spec in specs:
        create_user(kube, namespace, spec)
    create_group(kube, namespace, "group-gone", "Gone")
    await eventually(lambda: _counts(zero, 3, 1))

    kube.custom.delete_cluster_custom_object("zeroscim.io", "v1alpha1", "zerotenants", name)
    await eventually(lambda: _tenant_gone(kube, name), timeout=30)
    assert await zero.accounts() == {} and await zero.groups() == {}
    await eventually(lambda: _namespace_gone_or_terminating(kube, namespace), timeout=30)


async def _counts(zero: Zero, accounts: int, groups: int) -> bool:
    return len(await zero.accounts()) == accounts and len(await zero.groups()) == groups


def _namespace_gone_or_terminating(kube: KubeEnv, namespace: str) -> bool:
    from kubernetes.client import ApiException

    try:
        return bool(kube.core.read_namespace(namespace).status.phase == "Terminating")
    except ApiException as exc:
        return bool(exc.status == 404)
