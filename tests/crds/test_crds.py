"""The CRDs, checked by the real API server: what it accepts, rejects and prints."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes.client import ApiException

from tests.support.kube import KubeEnv
from zero_scim.kube.coordinates import ALL_KINDS, GROUP, MEMBER_BATCH, TENANT, USER, VERSION, Kind
from zero_scim.kube.coordinates import GROUP_KIND as SCIM_GROUP
from zero_scim.kube.objects import KubeObject
from zero_scim_dev.crds import load_crds

VALID_USER: dict[str, Any] = {
    "id": "2819c223-7f76-453a-919d-413861904646",
    "userName": "bjensen@example.com",
    "active": True,
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
    "enterprise": {"department": "Tour Operations", "manager": {"value": "26118915-6090"}},
    "extensions": {"urn:ietf:params:scim:schemas:extension:Contoso:2.0:User": {"tag": "7"}},
}
VALID_TENANT: dict[str, Any] = {
    "downstream": {
        "baseUrl": "https://zero.example.com",
        "orgId": "org-1",
        "apiKeySecretRef": {"name": "zero-api-key"},
    },
    "tokenRotation": {"interval": "2160h", "gracePeriod": "24h"},
}


def body(kind: Kind[KubeObject], name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind.kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def create(kube: KubeEnv, kind: Kind[KubeObject], ns: str, name: str, spec: dict[str, Any]) -> Any:
    if kind.namespaced:
        return kube.custom.create_namespaced_custom_object(
            GROUP, VERSION, ns, kind.plural, body(kind, name, spec)
        )
    return kube.custom.create_cluster_custom_object(
        GROUP, VERSION, kind.plural, body(kind, name, spec)
    )


def rejected(kube: KubeEnv, kind: Kind[KubeObject], ns: str, spec: dict[str, Any]) -> str:
    """Create an invalid object; return the API server's message (422 Invalid)."""
    with pytest.raises(ApiException) as info:
        create(kube, kind, ns, "invalid", spec)
    assert info.value.status == 422, info.value.body
    message: str = json.loads(info.value.body)["message"]
    return message


def test_every_crd_is_established_with_names_and_category(kube: KubeEnv) -> None:
    from kubernetes import client

    ext = client.ApiextensionsV1Api(kube.api)
    served = {crd.metadata.name: crd for crd in ext.list_custom_resource_definition().items}
    for kind in ALL_KINDS:
        crd = served[f"{kind.plural}.{GROUP}"]
        assert crd.spec.names.kind == kind.kind
        assert "zero-scim" in crd.spec.names.categories
        assert crd.spec.names.short_names
        assert crd.spec.scope == ("Namespaced" if kind.namespaced else "Cluster")
        assert [v.name for v in crd.spec.versions] == [VERSION]


def test_crd_files_use_only_ga_v1_features() -> None:
    for crd in load_crds():
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
        text = json.dumps(crd)
        # CEL rules and selectable fields are not in Kubernetes 1.20.
        assert "x-kubernetes-validations" not in text
        assert "selectableFields" not in text


def test_valid_objects_are_accepted_and_defaults_applied(kube: KubeEnv, namespace: str) -> None:
    user = create(kube, USER, namespace, "u-1", VALID_USER)
    assert user["spec"]["userName"] == "bjensen@example.com"
    assert user["spec"]["extensions"] == VALID_USER["extensions"]  # kept, not pruned
    assert user["spec"]["enterprise"]["manager"] == {"value": "26118915-6090"}

    tenant_name = f"{namespace}-tenant"
    tenant = create(kube, TENANT, namespace, tenant_name, VALID_TENANT)
    try:
        assert tenant["spec"]["deletionPolicy"] == "Retain"
        assert tenant["spec"]["downstream"]["apiKeySecretRef"]["key"] == "apiKey"
        assert tenant["spec"]["downstream"]["resyncInterval"] == "10m"
    finally:
        kube.custom.delete_cluster_custom_object(GROUP, VERSION, TENANT.plural, tenant_name)

    group = create(kube, SCIM_GROUP, namespace, "g-1", {"id": "g1", "displayName": "Sales"})
    assert group["spec"]["displayName"] == "Sales"
    batch = create(
        kube,
        MEMBER_BATCH,
        namespace,
        "g-1-0000000001",
        {"groupId": "g1", "seq": 1, "type": "Delta", "add": ["u1", "u2"]},
    )
    assert batch["spec"]["parts"] == 1


@pytest.mark.parametrize(
    ("kind", "spec", "fragment"),
    [
        (USER, {"id": "x"}, "userName"),
        (USER, {**VALID_USER, "userName": ""}, "userName"),
        (USER, {**VALID_USER, "active": "yes"}, "active"),
        (USER, {**VALID_USER, "emails": "a@example.com"}, "emails"),
        (USER, {**VALID_USER, "emails": [{"value": "a", "primary": "maybe"}]}, "primary"),
        (SCIM_GROUP, {"id": "g"}, "displayName"),
        (MEMBER_BATCH, {"groupId": "g", "seq": 0, "type": "Delta"}, "seq"),
        (MEMBER_BATCH, {"groupId": "g", "seq": 1, "type": "Merge"}, "type"),
        (TENANT, {**VALID_TENANT, "deletionPolicy": "Shred"}, "deletionPolicy"),
        (TENANT, {**VALID_TENANT, "tokenRotation": {"interval": "monthly"}}, "interval"),
        (TENANT, {**VALID_TENANT, "namespace": "Not_A_Namespace"}, "namespace"),
        (TENANT, {"downstream": {"baseUrl": "ftp://x", "orgId": "o"}}, "downstream"),
    ],
)
def test_invalid_objects_are_rejected_by_the_api_server(
    kube: KubeEnv, namespace: str, kind: Kind[KubeObject], spec: dict[str, Any], fragment: str
) -> None:
    assert fragment in rejected(kube, kind, namespace, spec)


def test_spec_and_status_are_updated_separately(kube: KubeEnv, namespace: str) -> None:
    created = create(kube, USER, namespace, "u-2", VALID_USER)
    assert created["metadata"]["generation"] == 1

    # A status write through the status subresource leaves spec and generation alone...
    with_status = copy.deepcopy(created)
    with_status["spec"]["userName"] = "ignored@example.com"
    with_status["status"] = {
        "observedGeneration": 1,
        "downstreamId": "acc-1",
        "conditions": [
            {
                "type": "Synced",
                "status": "True",
                "reason": "Upserted",
                "message": "account acc-1 is up to date",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "observedGeneration": 1,
            }
        ],
    }
    after_status = kube.custom.replace_namespaced_custom_object_status(
        GROUP, VERSION, namespace, USER.plural, "u-2", with_status
    )
    assert after_status["spec"]["userName"] == "bjensen@example.com"
    assert after_status["status"]["downstreamId"] == "acc-1"
    assert after_status["metadata"]["generation"] == 1

    # ...and a main-resource write ignores status but bumps generation.
    with_spec = copy.deepcopy(after_status)
    with_spec["spec"]["title"] = "Tour Guide"
    with_spec["status"] = {"downstreamId": "overwritten"}
    after_spec = kube.custom.replace_namespaced_custom_object(
        GROUP, VERSION, namespace, USER.plural, "u-2", with_spec
    )
    assert after_spec["spec"]["title"] == "Tour Guide"
    assert after_spec["status"]["downstreamId"] == "acc-1"
    assert after_spec["metadata"]["generation"] == 2


def test_stale_resource_version_is_a_conflict(kube: KubeEnv, namespace: str) -> None:
    created = create(kube, USER, namespace, "u-3", VALID_USER)
    fresh = copy.deepcopy(created)
    fresh["spec"]["title"] = "one"
    kube.custom.replace_namespaced_custom_object(
        GROUP, VERSION, namespace, USER.plural, "u-3", fresh
    )
    stale = copy.deepcopy(created)
    stale["spec"]["title"] = "two"
    with pytest.raises(ApiException) as info:
        kube.custom.replace_namespaced_custom_object(
            GROUP, VERSION, namespace, USER.plural, "u-3", stale
        )
    assert info.value.status == 409


def test_printer_columns_show_what_a_person_wants(kube: KubeEnv, namespace: str) -> None:
    create(kube, USER, namespace, "u-4", VALID_USER)
    data = kube.custom.list_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        USER.plural,
        _headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    assert data["kind"] == "Table"
    columns = [c["name"] for c in data["columnDefinitions"] if c.get("priority", 0) == 0]
    assert columns == ["Name", "UserName", "Active", "Synced", "Age"]
    row = data["rows"][0]["cells"]
    assert row[1:3] == ["bjensen@example.com", True]
