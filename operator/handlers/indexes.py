"""Kopf indexes: the in-memory directory of tenants, users, groups and member-log entries.

Index functions run on every watch event of their kind, so they only summarise (see
:mod:`zero_scim.operator.directory`); they never call anything.
"""

from __future__ import annotations

import re
from typing import Any

import kopf

from zero_scim.k8s.coordinates import GROUP, LABEL_GROUP, VERSION
from zero_scim.operator.directory import GroupEntry, UserEntry
from zero_scim.operator.handlers.scope import Scope
from zero_scim.operator.models import BatchEntry, Tenant

_BATCH_SUFFIX = re.compile(r"-\d{10}(-p\d+)?$")


def register(registry: kopf.OperatorRegistry, scope: Scope) -> None:
    @kopf.index(GROUP, VERSION, "zerotenants", id="tenant_index", registry=registry)
    async def tenant_index(body: kopf.Body, **_: Any) -> dict[str, Tenant]:
        tenant = Tenant.from_body(body)
        return {tenant.namespace: tenant} if scope.serves(tenant.namespace) else {}

    @kopf.index(GROUP, VERSION, "scimusers", id="user_index", registry=registry)
    async def user_index(body: kopf.Body, namespace: str | None, **_: Any) -> dict[Any, UserEntry]:
        entry = UserEntry.from_body(body)
        return {namespace: entry, (namespace, entry.scim_id): entry}

    @kopf.index(GROUP, VERSION, "scimgroups", id="group_index", registry=registry)
    async def group_index(
        body: kopf.Body, namespace: str | None, **_: Any
    ) -> dict[Any, GroupEntry]:
        return {namespace: GroupEntry.from_body(body)}

    @kopf.index(GROUP, VERSION, "scimmemberbatches", id="batch_index", registry=registry)
    async def batch_index(
        body: kopf.Body, namespace: str | None, name: str, labels: kopf.Labels, **_: Any
    ) -> dict[Any, BatchEntry]:
        entry = BatchEntry.from_body(body)
        if entry is None:
            return {}
        return {(namespace, group_of_batch(name, labels)): entry}


def group_of_batch(name: str, labels: Any) -> str:
    """The ScimGroup object a member-log entry belongs to (label, else its name)."""
    group = labels.get(LABEL_GROUP) if labels else None
    return str(group) if group else _BATCH_SUFFIX.sub("", name)
