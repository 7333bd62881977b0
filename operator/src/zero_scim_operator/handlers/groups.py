"""ScimGroup handlers: one reconciling loop per group (woken by the watch-event handlers in
:mod:`~zero_scim_operator.handlers.indexes`); release on deletion."""

from __future__ import annotations

import kopf

from zero_scim.kube.coordinates import GROUP, GROUP_KIND, VERSION, from_body
from zero_scim_operator.factory import Factory
from zero_scim_operator.handlers.outcomes import released
from zero_scim_operator.models import ScimObject


def register(registry: kopf.OperatorRegistry, factory: Factory) -> None:
    @kopf.daemon(
        GROUP,
        VERSION,
        "scimgroups",
        id="reconcile",
        registry=registry,
        cancellation_timeout=1.0,
    )
    async def group_loop(
        body: kopf.Body, namespace: str | None, name: str, **kwargs: object
    ) -> None:
        factory.bind(kwargs)
        # ``body`` is kept live by Kopf: each call reads the group as it is now
        await factory.groups.run(str(namespace), name, lambda: from_body(body, GROUP_KIND))

    @kopf.on.delete(GROUP, VERSION, "scimgroups", id="release", registry=registry, timeout=None)
    async def release_group(body: kopf.Body, **kwargs: object) -> None:
        factory.bind(kwargs)
        group = ScimObject.from_object(from_body(body, GROUP_KIND))
        outcome = await factory.groups.release(group)
        released(factory, group.ref.as_reference(), outcome)
