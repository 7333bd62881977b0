"""A ZeroTenant as both the API and the operator see it: its name and its namespace.

The namespace is where the tenant's ScimUsers, ScimGroups, member log and token Secret
live: ``spec.namespace``, defaulting to the tenant's name. A tenant being deleted
(``deletionTimestamp``) is still a :class:`Tenant`, marked ``deleting``; the API stops
authenticating it, the operator applies its deletion policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from zero_scim.kube.coordinates import ANNOTATION_ROTATE, API_VERSION, TENANT
from zero_scim.kube.objects import ObjectReference, OwnerReference, ZeroTenant


def tenant_namespace(tenant: ZeroTenant) -> str:
    """A ZeroTenant's namespace: ``spec.namespace``, defaulting to the tenant's name."""
    namespace = tenant.get("spec", {}).get("namespace")
    if isinstance(namespace, str) and namespace:
        return namespace
    return tenant["metadata"].get("name", "")


#: The condition reason of a ZeroTenant whose namespace is labelled for another one: it
#: owns nothing there (the operator writes it; the API lets it authenticate nothing).
NAMESPACE_CONFLICT = "NamespaceConflict"


@dataclass(frozen=True)
class Tenant:
    name: str
    namespace: str
    uid: str = ""
    generation: int = 0
    deleting: bool = False
    #: The ``zeroscim.io/rotate-token`` annotation (an on-demand rotation request).
    rotate_request: str | None = None

    @classmethod
    def from_object(cls, obj: ZeroTenant) -> Tenant:
        metadata = obj["metadata"]
        request = (metadata.get("annotations") or {}).get(ANNOTATION_ROTATE)
        return cls(
            name=metadata.get("name", ""),
            namespace=tenant_namespace(obj),
            uid=metadata.get("uid", ""),
            generation=metadata.get("generation") or 0,
            deleting=bool(metadata.get("deletionTimestamp")),
            rotate_request=request,
        )

    @property
    def reference(self) -> ObjectReference:
        """A reference to the ZeroTenant (an Event's subject; an owner reference's base)."""
        return {"apiVersion": API_VERSION, "kind": TENANT.kind, "name": self.name, "uid": self.uid}

    def owner_reference(self) -> OwnerReference:
        """The ZeroTenant as the owner of what is made for it (its token Secret): deleted
        with it, without blocking its deletion."""
        return {
            "apiVersion": API_VERSION,
            "kind": TENANT.kind,
            "name": self.name,
            "uid": self.uid,
            "blockOwnerDeletion": False,
        }
