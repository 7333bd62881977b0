"""The one classification of failed calls to Zero, and how each kind is retried.

The client (:mod:`zero_scim_operator.downstream`) turns every outcome of a request into a
result or an exception of its ``DownstreamError`` tree, as httpx maps transport
exceptions once. This module is the next step, also taken once: *what to do* about a
failure. :func:`classify` gives a :class:`Verdict`, the gate (``gate.py``) and the tenant
runtime (``downstream.py``) act on its kind, and the services only read what it says
(the condition reason, whether and when to try again)::

    Failure          from                                     what is done
    CONFLICT         409 (email_taken, ...)                   slow retry: another resource
                                                              must change first
    TRANSIENT        5xx, 408, timeouts, connection errors,   backoff (the gate retries
                     undecodable answers, the circuit open    within its budget, then the
                                                              caller after its backoff)
    RATE_LIMITED     429 (Retry-After)                        the whole tenant pauses (the
                                                              gate), then as TRANSIENT
    UNAUTHORIZED     401, 403                                 the tenant's client is
                                                              dropped (the API key re-read);
                                                              objects park, nothing retries
    PERMANENT        any other 4xx, an invalid URL            recorded; stop until the spec,
                                                              the tenant or a resync changes

A call that fails reaches a service as :class:`DownstreamFailed`, which carries the
verdict (and the original error as ``__cause__``).
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from zero_scim_operator.downstream import (
    ConflictError,
    DownstreamError,
    RateLimited,
    TransientError,
)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with "equal jitter": the delay is in [d/2, d], d = base·2ⁿ."""

    base: float = 0.5
    cap: float = 300.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.base * float(2 ** min(attempt, 30)))
        jitter: float = (rng or random).uniform(0, ceiling / 2)
        return ceiling / 2 + jitter


#: A 409 (e-mail taken) needs another object to change first: retried slowly.
CONFLICT_BACKOFF = Backoff(base=5.0, cap=300.0)


class Failure(enum.Enum):
    """The kinds of failure, by what is done about them (see the module's table)."""

    CONFLICT = "conflict"
    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"
    PERMANENT = "permanent"


#: Condition reasons: of an object (``Synced``) and of the tenant (reachability, SSO).
_OBJECT_REASONS = {
    Failure.CONFLICT: "Conflict",
    Failure.TRANSIENT: "DownstreamUnavailable",
    Failure.RATE_LIMITED: "DownstreamUnavailable",
    Failure.UNAUTHORIZED: "DownstreamUnauthorized",
    Failure.PERMANENT: "Rejected",
}
_TENANT_REASONS = {
    Failure.CONFLICT: "Rejected",
    Failure.TRANSIENT: "Unreachable",
    Failure.RATE_LIMITED: "Unreachable",
    Failure.UNAUTHORIZED: "Unauthorized",
    Failure.PERMANENT: "Rejected",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one failed call means and what to do about it."""

    failure: Failure
    error: DownstreamError
    #: How the call is retried; None: it is not (record the failure and stop).
    schedule: Backoff | None

    @property
    def transient(self) -> bool:
        """The same call may succeed later by itself (no one has to change anything)."""
        return self.failure in (Failure.TRANSIENT, Failure.RATE_LIMITED)

    @property
    def reason(self) -> str:
        """The reason of an object's ``Synced=False`` condition."""
        return _OBJECT_REASONS[self.failure]

    @property
    def tenant_reason(self) -> str:
        """The reason of a tenant's ``DownstreamReachable``/``SsoSynced`` condition."""
        return _TENANT_REASONS[self.failure]

    @property
    def message(self) -> str:
        return str(self.error)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float | None:
        """Seconds until the next try after ``attempt`` failures in a row (None: never);
        never sooner than the server's ``Retry-After``."""
        if self.schedule is None:
            return None
        delay = self.schedule.delay(attempt, rng)
        if isinstance(self.error, RateLimited):
            delay = max(delay, self.error.retry_after)
        return delay


@dataclass(frozen=True)
class Classifier:
    """:func:`classify` with the operator's retry schedules (``--backoff-*``)."""

    backoff: Backoff = Backoff()
    conflict_backoff: Backoff = CONFLICT_BACKOFF

    def classify(self, error: DownstreamError) -> Verdict:
        failure = classify(error)
        schedule: Backoff | None = None
        if failure is Failure.CONFLICT:
            schedule = self.conflict_backoff
        elif failure in (Failure.TRANSIENT, Failure.RATE_LIMITED):
            schedule = self.backoff
        return Verdict(failure, error, schedule)


def classify(error: DownstreamError) -> Failure:
    """The kind of a failure: the one place that reads statuses and error types."""
    if isinstance(error, RateLimited):
        return Failure.RATE_LIMITED
    if isinstance(error, TransientError):
        return Failure.TRANSIENT
    if isinstance(error, ConflictError):
        return Failure.CONFLICT
    if error.status in (401, 403):
        return Failure.UNAUTHORIZED
    return Failure.PERMANENT


class DownstreamFailed(Exception):
    """A call to Zero failed for good (the gate's retries, if any, are over)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict
