"""The one classification of failed calls to Zero (services/failures.py, pure)."""

from __future__ import annotations

import random

import pytest

from zero_scim_operator.downstream import (
    ConflictError,
    DownstreamError,
    PermanentError,
    RateLimited,
    TransientError,
)
from zero_scim_operator.services.failures import (
    CONFLICT_BACKOFF,
    Backoff,
    Classifier,
    Failure,
    classify,
)
from zero_scim_operator.services.gate import CircuitOpen

BACKOFF = Backoff(base=1.0, cap=8.0)


@pytest.mark.parametrize(
    ("error", "failure", "reason", "tenant_reason"),
    [
        (
            ConflictError("taken", status=409, code="email_taken"),
            Failure.CONFLICT,
            "Conflict",
            "Rejected",
        ),
        (
            TransientError("boom", status=503),
            Failure.TRANSIENT,
            "DownstreamUnavailable",
            "Unreachable",
        ),
        (
            TransientError("slow", code="timeout"),
            Failure.TRANSIENT,
            "DownstreamUnavailable",
            "Unreachable",
        ),
        (
            TransientError("408", status=408),
            Failure.TRANSIENT,
            "DownstreamUnavailable",
            "Unreachable",
        ),
        (
            CircuitOpen("down", code="circuit_open"),
            Failure.TRANSIENT,
            "DownstreamUnavailable",
            "Unreachable",
        ),
        (
            RateLimited("429", retry_after=3.0, status=429),
            Failure.RATE_LIMITED,
            "DownstreamUnavailable",
            "Unreachable",
        ),
        (
            PermanentError("who", status=401),
            Failure.UNAUTHORIZED,
            "DownstreamUnauthorized",
            "Unauthorized",
        ),
        (
            PermanentError("not yours", status=403),
            Failure.UNAUTHORIZED,
            "DownstreamUnauthorized",
            "Unauthorized",
        ),
        (PermanentError("invalid", status=422), Failure.PERMANENT, "Rejected", "Rejected"),
        (PermanentError("bad url", code="invalid_url"), Failure.PERMANENT, "Rejected", "Rejected"),
        (DownstreamError("other", status=418), Failure.PERMANENT, "Rejected", "Rejected"),
    ],
)
def test_every_failure_has_one_kind_and_its_reasons(
    error: DownstreamError, failure: Failure, reason: str, tenant_reason: str
) -> None:
    verdict = Classifier(BACKOFF).classify(error)
    assert classify(error) is failure and verdict.failure is failure
    assert (verdict.reason, verdict.tenant_reason) == (reason, tenant_reason)
    assert verdict.message == str(error) and verdict.error is error
    assert verdict.transient is (failure in (Failure.TRANSIENT, Failure.RATE_LIMITED))


def test_what_is_retried_and_when() -> None:
    classifier = Classifier(BACKOFF)
    rng = random.Random(0)
    transient = classifier.classify(TransientError("boom", status=503))
    assert transient.schedule is BACKOFF
    for attempt, ceiling in [(0, 1.0), (2, 4.0), (9, 8.0)]:
        delay = transient.delay(attempt, rng)
        assert delay is not None and ceiling / 2 <= delay <= ceiling
    conflict = classifier.classify(ConflictError("taken", status=409))
    assert conflict.schedule is CONFLICT_BACKOFF
    slow = conflict.delay(0, rng)
    assert slow is not None and slow >= CONFLICT_BACKOFF.base / 2  # slower than transient
    # Retry-After is a floor: a retry never comes sooner than the server asked.
    limited = classifier.classify(RateLimited("429", retry_after=30.0, status=429))
    assert limited.delay(0, rng) == 30.0
    # Refused keys and rejected requests are recorded, not retried.
    for error in (PermanentError("who", status=401), PermanentError("no", status=422)):
        verdict = classifier.classify(error)
        assert verdict.schedule is None and verdict.delay(0, rng) is None
