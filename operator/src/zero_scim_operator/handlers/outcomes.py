"""How a handler turns a service's outcome into Kopf's terms: Events and retries."""

from __future__ import annotations

import kopf

from zero_scim.kube.objects import ObjectReference
from zero_scim_operator.factory import Factory
from zero_scim_operator.services.common import Outcome


def released(
    factory: Factory, reference: ObjectReference, outcome: Outcome, *, delay: float = 5.0
) -> None:
    """A release (the finalizer's work): a Warning Event if asked for; a Kopf retry (after
    the outcome's delay, else ``delay``) unless it is done."""
    if outcome.warn:
        factory.events.post(reference, "Warning", outcome.reason, outcome.message)
    if not outcome.done:
        raise kopf.TemporaryError(
            f"{outcome.reason}: {outcome.message}", delay=outcome.retry_after or delay
        )
