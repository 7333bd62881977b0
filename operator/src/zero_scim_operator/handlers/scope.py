"""Which tenants this operator serves: those whose namespace it watches.

Kopf restricts namespaced kinds to ``--namespace`` itself; ZeroTenant is cluster-scoped,
so the same restriction is applied to a tenant through its namespace.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zero_scim.kube.coordinates import TENANT, from_body
from zero_scim.kube.tenants import tenant_namespace


@dataclass(frozen=True)
class Scope:
    #: Namespace names or globs (``team-*``; ``!name`` excludes); empty = all.
    patterns: Sequence[str] = ()

    def serves(self, namespace: str) -> bool:
        if not self.patterns:
            return True
        included = [p for p in self.patterns if not p.startswith("!")]
        excluded = [p[1:] for p in self.patterns if p.startswith("!")]
        if any(fnmatch.fnmatchcase(namespace, p) for p in excluded):
            return False
        return not included or any(fnmatch.fnmatchcase(namespace, p) for p in included)

    def serves_tenant(self, body: Mapping[str, object], **_: object) -> bool:
        return self.serves(tenant_namespace(from_body(body, TENANT)))
