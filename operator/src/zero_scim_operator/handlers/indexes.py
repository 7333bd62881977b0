"""The in-memory directory: a Kopf index for tenants, watch-event handlers for the rest.

Tenants are few and every handler needs its tenant from the first event on, so they are
a Kopf index (complete before any handler runs). Users, groups and member-log entries
are many: they are put into :class:`~zero_scim_operator.directory.Directory` by
``on.event`` handlers (see there why not as Kopf indexes). These functions only
summarise and wake loops; they never call anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import kopf

from zero_scim import memberlog
from zero_scim.kube.coordinates import (
    GROUP,
    GROUP_KIND,
    MEMBER_BATCH,
    TENANT,
    USER,
    VERSION,
    from_body,
)
from zero_scim_operator.directory import GroupEntry, UserEntry
from zero_scim_operator.factory import Factory
from zero_scim_operator.handlers.scope import Scope
from zero_scim_operator.models import TenantConfig


def register(registry: kopf.OperatorRegistry, factory: Factory, scope: Scope) -> None:
    directory = factory.directory

    @kopf.index(GROUP, VERSION, "zerotenants", id="tenant_index", registry=registry)
    async def tenant_index(body: kopf.Body, **_: object) -> dict[str, TenantConfig]:
        tenant = TenantConfig.from_object(from_body(body, TENANT))
        return {tenant.namespace: tenant} if scope.serves(tenant.namespace) else {}

    @kopf.on.event(GROUP, VERSION, "scimusers", id="directory", registry=registry)
    async def user_event(
        body: kopf.Body, namespace: str | None, name: str, type: str | None, **kwargs: object
    ) -> None:
        if _arrived(factory, kwargs, type):
            directory.drop_user(str(namespace), name)
        else:
            directory.put_user(str(namespace), UserEntry.from_body(from_body(body, USER)))

    @kopf.on.event(GROUP, VERSION, "scimgroups", id="directory", registry=registry)
    async def group_event(
        body: kopf.Body, namespace: str | None, name: str, type: str | None, **kwargs: object
    ) -> None:
        if _arrived(factory, kwargs, type):
            directory.drop_group(str(namespace), name)
        else:
            directory.put_group(str(namespace), GroupEntry.from_body(from_body(body, GROUP_KIND)))
        factory.groups.wake(str(namespace), name)

    @kopf.on.event(GROUP, VERSION, "scimmemberbatches", id="directory", registry=registry)
    async def batch_event(
        body: kopf.Body, namespace: str | None, name: str, type: str | None, **kwargs: object
    ) -> None:
        gone = _arrived(factory, kwargs, type)
        batch = from_body(body, MEMBER_BATCH)
        group = memberlog.group_of(batch)
        entry = memberlog.header(batch)
        if gone or entry is None:
            directory.drop_batch(str(namespace), group, name)
        else:
            directory.put_batch(str(namespace), group, entry)
        factory.groups.wake(str(namespace), group)


def _arrived(factory: Factory, kwargs: Mapping[str, object], type_: str | None) -> bool:
    """The bookkeeping of every event of the directory; True if the object is gone."""
    factory.bind(kwargs)
    if type_ is None:  # Kopf marks the objects of a (re)listing with no event type
        factory.directory.listed(asyncio.get_running_loop().time())
    return type_ == "DELETED"
