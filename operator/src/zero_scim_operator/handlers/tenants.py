"""ZeroTenant handlers: one reconciling loop per tenant; deletion per its policy."""

from __future__ import annotations

import kopf

from zero_scim.kube.coordinates import GROUP, TENANT, VERSION, from_body
from zero_scim_operator.factory import Factory
from zero_scim_operator.handlers.outcomes import released
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
    async def tenant_loop(body: kopf.Body, name: str, **kwargs: object) -> None:
        factory.bind(kwargs)
        # ``body`` is kept live by Kopf: each call reads the tenant as it is now
        await factory.tenants.run(name, lambda: from_body(body, TENANT))

    @kopf.on.event(
        GROUP, VERSION, "zerotenants", id="wake", registry=registry, when=scope.serves_tenant
    )
    async def tenant_changed(body: kopf.Body, **_: object) -> None:
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
    async def release_tenant(body: kopf.Body, **kwargs: object) -> None:
        factory.bind(kwargs)
        tenant = TenantConfig.from_object(from_body(body, TENANT))
        outcome = await factory.tenants.delete(tenant)
        released(factory, tenant.reference, outcome, delay=10.0)
        factory.events.post(tenant.reference, "Normal", outcome.reason, outcome.message)
