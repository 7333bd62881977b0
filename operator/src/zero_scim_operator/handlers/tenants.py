"""ZeroTenant handlers: one reconciling loop per tenant; deletion per its policy."""

from __future__ import annotations

from typing import Any

import kopf

from zero_scim.kube.coordinates import GROUP, TENANT, VERSION, from_body
from zero_scim_operator.factory import Factory
from zero_scim_operator.handlers.scope import Scope
from zero_scim_operator.models import TenantConfig


def register(registry: kopf.OperatorRegistry, factory: Factory, scope: Scope) -> None:
    @kopf.daemon(
        GROUP,
        VERSION,
        "zerotenants",
        id="reconcile",
        registry=registry,
        when=scope.serves_tenant,
        cancellation_timeout=1.0,
    )
    async def tenant_loop(body: kopf.Body, name: str, **kwargs: Any) -> None:
        factory.bind(kwargs)
        # ``body`` is kept live by Kopf: each call reads the tenant as it is now
        await factory.tenants.run(name, lambda: from_body(body, TENANT))

    @kopf.on.event(
        GROUP, VERSION, "zerotenants", id="wake", registry=registry, when=scope.serves_tenant
    )
    async def tenant_changed(body: kopf.Body, **_: Any) -> None:
        factory.tenants.changed(TenantConfig.from_object(from_body(body, TENANT)))

    @kopf.on.delete(
        GROUP,
        VERSION,
        "zerotenants",
        id="release",
        registry=registry,
        when=scope.serves_tenant,
        timeout=None,
    )
    async def release_tenant(body: kopf.Body, **kwargs: Any) -> None:
        factory.bind(kwargs)
        tenant = TenantConfig.from_object(from_body(body, TENANT))
        outcome = await factory.tenants.delete(tenant)
        if outcome.warn:
            factory.events.post(tenant.reference, "Warning", outcome.reason, outcome.message)
        if not outcome.done:
            raise kopf.TemporaryError(
                f"{outcome.reason}: {outcome.message}", delay=outcome.retry_after or 10.0
            )
        factory.events.post(tenant.reference, "Normal", outcome.reason, outcome.message)
