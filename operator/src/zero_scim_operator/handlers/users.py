"""ScimUser handlers: sync on create/update, release on deletion."""

from __future__ import annotations

import kopf

from zero_scim.kube.coordinates import GROUP, USER, VERSION, from_body
from zero_scim_operator.factory import Factory
from zero_scim_operator.handlers.outcomes import released
from zero_scim_operator.models import ScimObject
from zero_scim_operator.services.common import utcnow


def register(registry: kopf.OperatorRegistry, factory: Factory) -> None:
    # retries/timeout: unlimited -- a downstream outage must not make a user give up;
    # each retry's delay is computed by the service (exponential, jittered, Retry-After).
    @kopf.on.create(GROUP, VERSION, "scimusers", id="sync", registry=registry, timeout=None)
    @kopf.on.update(GROUP, VERSION, "scimusers", id="sync", registry=registry, timeout=None)
    async def sync_user(body: kopf.Body, patch: kopf.Patch, retry: int, **kwargs: object) -> None:
        factory.bind(kwargs)
        user = ScimObject.from_object(from_body(body, USER))
        outcome = await factory.users.sync(user, attempt=retry)
        patch.setdefault("status", {}).update(factory.users.status(user, outcome, utcnow()))
        if outcome.retry_after is not None:
            raise kopf.TemporaryError(
                f"{outcome.reason}: {outcome.message}", delay=outcome.retry_after
            )

    @kopf.on.delete(GROUP, VERSION, "scimusers", id="release", registry=registry, timeout=None)
    async def release_user(body: kopf.Body, **kwargs: object) -> None:
        factory.bind(kwargs)
        user = ScimObject.from_object(from_body(body, USER))
        outcome = await factory.users.release(user)
        released(factory, user.ref.as_reference(), outcome)
