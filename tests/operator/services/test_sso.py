"""ZeroTenant spec.sso → the Zero org's sign-in link, through the real operator and Zero."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kubernetes import client

from tests.operator.conftest import Start
from tests.operator.support import (
    Zero,
    condition,
    create_tenant,
    eventually,
    get_tenant,
    is_true,
    patch_tenant,
    reason_is,
    tenant_spec,
)
from tests.support.kube import KubeEnv
from zero_scim.kube.coordinates import GROUP, TENANT, VERSION, tenant_manifest

CONTOSO = "11111111-1111-4111-8111-111111111111"


async def sso_of(zero: Zero) -> dict[str, Any] | None:
    response = await zero.http.get("/sso")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def test_spec_sso_is_applied_changed_disabled_and_removed(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    name = create_tenant(kube, zero, namespace, sso={"entraTenantId": CONTOSO.upper()})
    applied = await eventually(lambda: reason_is(get_tenant(kube, name), "SsoSynced", "Applied"))
    assert applied["status"] == "True" and CONTOSO in applied["message"]
    assert applied["observedGeneration"] == get_tenant(kube, name)["metadata"]["generation"]
    assert is_true(get_tenant(kube, name), "Ready")
    link = await sso_of(zero)
    assert link is not None and link["entraTenantId"] == CONTOSO and link["enabled"] is True

    other = str(uuid.uuid4())
    patch_tenant(kube, name, {"spec": {"sso": {"entraTenantId": other}}})
    await eventually(lambda: _link_is(zero, other, True))

    patch_tenant(kube, name, {"spec": {"sso": {"enabled": False}}})
    await eventually(lambda: reason_is(get_tenant(kube, name), "SsoSynced", "Disabled"))
    assert await _link_is(zero, other, False)

    patch_tenant(kube, name, {"spec": {"sso": None}})
    await eventually(lambda: reason_is(get_tenant(kube, name), "SsoSynced", "NotRequested"))
    assert await sso_of(zero) is None


async def test_a_tenant_without_sso_has_no_link(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    name = create_tenant(kube, zero, namespace)
    await eventually(lambda: reason_is(get_tenant(kube, name), "SsoSynced", "NotRequested"))
    assert await sso_of(zero) is None


async def test_drift_in_zero_is_repaired_on_the_next_full_round(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    name = create_tenant(kube, zero, namespace, sso={"entraTenantId": CONTOSO})
    await eventually(lambda: _link_is(zero, CONTOSO, True))
    assert (await zero.http.delete("/sso")).status_code == 204  # someone removed it in Zero
    patch_tenant(kube, name, {"spec": {"displayName": "touched"}})  # any spec change: full round
    await eventually(lambda: _link_is(zero, CONTOSO, True))


async def test_zero_failing_to_take_the_link_is_reported_and_retried(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    await zero.admin.set_faults(
        error_rate=1.0, error_status=503, paths=[f"/v1/orgs/{zero.org.org_id}/sso"]
    )
    operators()
    name = create_tenant(kube, zero, namespace, sso={"entraTenantId": CONTOSO})
    failed = await eventually(
        lambda: reason_is(get_tenant(kube, name), "SsoSynced", "Unreachable"), timeout=30
    )
    assert failed["status"] == "False" and "cannot apply spec.sso" in failed["message"]
    ready = condition(get_tenant(kube, name), "Ready")
    assert ready is not None and ready["status"] == "False"

    await zero.admin.clear_faults()
    await eventually(lambda: reason_is(get_tenant(kube, name), "SsoSynced", "Applied"), timeout=60)
    await eventually(lambda: is_true(get_tenant(kube, name), "Ready"), timeout=30)
    assert await _link_is(zero, CONTOSO, True)


def test_the_crd_refuses_a_tenant_id_that_is_not_a_guid(kube: KubeEnv, zero: Zero) -> None:
    name = f"sso-{uuid.uuid4().hex[:8]}"
    spec = tenant_spec(zero, name, sso={"entraTenantId": "contoso.onmicrosoft.com"})
    with pytest.raises(client.ApiException) as refused:
        kube.custom.create_cluster_custom_object(
            GROUP, VERSION, TENANT.plural, tenant_manifest(name, spec)
        )
    assert refused.value.status == 422 and "entraTenantId" in str(refused.value.body)


async def _link_is(zero: Zero, tenant_id: str, enabled: bool) -> bool:
    link = await sso_of(zero)
    return link is not None and (link["entraTenantId"], link["enabled"]) == (tenant_id, enabled)
