"""API group, version, kinds, labels and annotations of zero-scim's custom resources.

A :class:`Kind` knows where its objects live in the API (``path``) and, as a type
parameter, what they look like (:mod:`zero_scim.kube.objects`): ``client.get(USER, …)``
is a ``ScimUser``. Kubernetes' own kinds that zero-scim touches (Namespaces, Secrets)
are here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, cast

from zero_scim.jsondata import JsonObject
from zero_scim.kube.objects import (
    Namespace,
    ObjectT,
    ObjectT_co,
    ScimGroup,
    ScimMemberBatch,
    ScimUser,
    Secret,
    ZeroTenant,
)

GROUP = "zeroscim.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


@dataclass(frozen=True, slots=True)
class Kind(Generic[ObjectT_co]):
    """A resource type: its kind, plural, scope and API group/version."""

    kind: str
    plural: str
    namespaced: bool
    group: str = GROUP
    version: str = VERSION

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The REST path: a collection (all namespaces if ``namespace`` is None), an
        object, or an object's subresource (``status``)."""
        path = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            path += f"/namespaces/{namespace}"
        path += f"/{self.plural}"
        if name is not None:
            path += f"/{name}"
            if subresource is not None:
                path += f"/{subresource}"
        return path


TENANT: Kind[ZeroTenant] = Kind("ZeroTenant", "zerotenants", namespaced=False)
USER: Kind[ScimUser] = Kind("ScimUser", "scimusers", namespaced=True)
GROUP_KIND: Kind[ScimGroup] = Kind("ScimGroup", "scimgroups", namespaced=True)
MEMBER_BATCH: Kind[ScimMemberBatch] = Kind("ScimMemberBatch", "scimmemberbatches", True)
ALL_KINDS = (TENANT, USER, GROUP_KIND, MEMBER_BATCH)

NAMESPACE: Kind[Namespace] = Kind("Namespace", "namespaces", False, group="", version="v1")
SECRET: Kind[Secret] = Kind("Secret", "secrets", namespaced=True, group="", version="v1")

# Labels (values must be <= 63 characters).
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_TENANT = f"{GROUP}/tenant"
LABEL_SCIM_ID = f"{GROUP}/id"
LABEL_GROUP = f"{GROUP}/group"
LABEL_TOKEN = f"{GROUP}/token"  # "true" on a tenant's token Secret
PART_OF = "zero-scim"  # the value of LABEL_PART_OF on everything zero-scim creates

# Annotations.
ANNOTATION_ROTATE = f"{GROUP}/rotate-token"

# The operator's finalizer on ScimUser, ScimGroup and ZeroTenant objects: deleting one
# first deletes (or, for a rename, releases) its downstream counterpart. The API may set
# it when it creates an object, which saves the operator one write per object.
FINALIZER = f"{GROUP}/downstream"


def from_body(body: Mapping[str, object], kind: Kind[ObjectT]) -> ObjectT:
    """A Kopf ``body`` (a live mapping view) as an object of ``kind``.

    Copies the top level only (nested values are the event's own), so what a handler
    keeps is a snapshot of the event, not a view that changes under it. The shape is the
    API server's, validated against the CRD — which is what the cast states.
    """
    raw = dict(body)
    raw.setdefault("metadata", {})
    return cast(ObjectT, raw)


def tenant_manifest(name: str, spec: JsonObject | None = None) -> ZeroTenant:
    """A ZeroTenant object (for tests, benchmarks and `zero-scim dev`)."""
    return cast(
        ZeroTenant,
        {
            "apiVersion": API_VERSION,
            "kind": TENANT.kind,
            "metadata": {"name": name},
            "spec": dict(spec or {}),
        },
    )
