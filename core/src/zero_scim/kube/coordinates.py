"""API group, version, kinds, labels and annotations of zero-scim's custom resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GROUP = "zeroscim.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    namespaced: bool


TENANT = Kind("ZeroTenant", "zerotenants", namespaced=False)
USER = Kind("ScimUser", "scimusers", namespaced=True)
GROUP_KIND = Kind("ScimGroup", "scimgroups", namespaced=True)
MEMBER_BATCH = Kind("ScimMemberBatch", "scimmemberbatches", namespaced=True)
ALL_KINDS = (TENANT, USER, GROUP_KIND, MEMBER_BATCH)

# Labels (values must be <= 63 characters).
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_TENANT = f"{GROUP}/tenant"
LABEL_SCIM_ID = f"{GROUP}/id"
LABEL_GROUP = f"{GROUP}/group"
LABEL_TOKEN = f"{GROUP}/token"  # "true" on a tenant's token Secret

# Annotations.
ANNOTATION_ROTATE = f"{GROUP}/rotate-token"

# The operator's finalizer on ScimUser, ScimGroup and ZeroTenant objects: deleting one
# first deletes (or, for a rename, releases) its downstream counterpart. The API may set
# it when it creates an object, which saves the operator one write per object.
FINALIZER = f"{GROUP}/downstream"


def tenant_manifest(name: str, spec: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A ZeroTenant object (for tests, benchmarks and `zero-scim dev`)."""
    return {
        "apiVersion": API_VERSION,
        "kind": TENANT.kind,
        "metadata": {"name": name},
        "spec": dict(spec or {}),
    }


def tenant_namespace(tenant: dict[str, object]) -> str:
    """A ZeroTenant's namespace: ``spec.namespace``, defaulting to the tenant's name."""
    spec = tenant.get("spec")
    metadata = tenant.get("metadata")
    if isinstance(spec, dict) and isinstance(spec.get("namespace"), str) and spec["namespace"]:
        return str(spec["namespace"])
    assert isinstance(metadata, dict)
    return str(metadata["name"])
