"""Who owns a tenant namespace -- decided by one rule: the namespace's label.

A ZeroTenant *claims* its namespace (``spec.namespace``); it *owns* it when the namespace
carries ``zeroscim.io/tenant: <tenant name>``. Two tenants can claim one namespace (a
GitOps copy-paste); only the one the label names owns it. Everything that acts for a
tenant asks this module first: the tenant's loop (namespace, token Secret, downstream,
sign-in link), the users' and groups' syncs (whose downstream they use) and the
tenant's deletion (what it may delete).

* A missing namespace is created with the label; an unlabelled one is labelled, with
  its ``resourceVersion`` as the precondition, so of two claimants racing for it exactly
  one wins.
* A namespace labelled for another tenant is never taken over, not even when that
  tenant no longer exists: relabelling it is a person's decision
  (``kubectl label namespace NS zeroscim.io/tenant=NAME --overwrite``).

The label of each namespace is cached: the syncs of 50,000 users cost no reads. The
tenant loops keep the cache current (they read their namespace on every full round and
every few minutes); a namespace no loop has read yet is read on first use, and one
without an owner on every use (it may be claimed at any moment).
"""

from __future__ import annotations

from dataclasses import dataclass

from zero_scim.jsondata import JsonObject
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import LABEL_PART_OF, LABEL_TENANT, NAMESPACE
from zero_scim.kube.errors import AlreadyExists, Conflict
from zero_scim.kube.objects import Namespace
from zero_scim_operator.models import TenantConfig

#: Attempts to claim a namespace that keeps changing under us.
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Ownership:
    """A namespace as last read: does it exist, and which tenant does its label name?"""

    exists: bool
    owner: str | None = None  # the label's value; None: no label (or no namespace)
    resource_version: str = ""

    def owned_by(self, tenant: str) -> bool:
        return self.exists and self.owner == tenant

    @classmethod
    def of(cls, namespace: Namespace | None) -> Ownership:
        if namespace is None:
            return cls(exists=False)
        metadata = namespace["metadata"]
        labels = metadata.get("labels") or {}
        return cls(True, labels.get(LABEL_TENANT), metadata.get("resourceVersion", ""))


class Namespaces:
    """The ownership of tenant namespaces: read, cached, claimed."""

    def __init__(self, kube: KubeClient) -> None:
        self._kube = kube
        self._cache: dict[str, Ownership] = {}

    def cached(self, namespace: str) -> Ownership | None:
        """The ownership as last read (None: never read)."""
        return self._cache.get(namespace)

    async def ownership(self, namespace: str) -> Ownership:
        """The cached ownership if it names an owner, else a fresh read (KubeError if it
        fails): a namespace nobody owns yet may be claimed at any moment, by another
        process too."""
        known = self._cache.get(namespace)
        if known is not None and known.owner is not None:
            return known
        return await self.read(namespace)

    async def read(self, namespace: str) -> Ownership:
        """Read the namespace now (KubeError if that fails)."""
        found = Ownership.of(await self._kube.find(NAMESPACE, namespace))
        self._cache[namespace] = found
        return found

    async def claim(self, tenant: TenantConfig) -> Ownership:
        """Make ``tenant`` the owner of its namespace unless another tenant is.

        Creates the namespace if it is missing and labels it if it has no owner; returns
        the ownership as it then is (``owned_by(tenant.name)`` says who won). KubeError
        if the API server fails.
        """
        name = tenant.namespace
        labels = {LABEL_TENANT: tenant.name, LABEL_PART_OF: "zero-scim"}
        patch: JsonObject = {"metadata": {"labels": {**labels}}}
        for _ in range(MAX_ATTEMPTS):
            current = await self.read(name)
            if current.exists and current.owner is not None:
                return current  # ours, or another tenant's: never taken over
            try:
                if not current.exists:
                    new: Namespace = {"metadata": {"name": name, "labels": dict(labels)}}
                    written = await self._kube.create(NAMESPACE, new)
                else:
                    written = await self._kube.merge_patch(
                        NAMESPACE, name, patch, resource_version=current.resource_version
                    )
            except (AlreadyExists, Conflict):
                continue  # someone else created or labelled it meanwhile: look again
            claimed = self._cache[name] = Ownership.of(written)
            return claimed
        return await self.read(name)
