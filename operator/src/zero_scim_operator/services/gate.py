"""Traffic control for one tenant's downstream: concurrency, backoff, 429s, outages.

Every downstream call of a tenant goes through its :class:`Gate`:

* at most ``max_concurrency`` requests in flight (``spec.downstream.maxConcurrency``);
* a transient failure (5xx, timeout, connection error) is retried after an exponential
  backoff with jitter (``base * 2**attempt``, capped, then halved-to-full jitter);
* a 429 pauses the *whole tenant* until ``Retry-After`` has passed;
* after ``breaker_threshold`` consecutive transient failures the downstream counts as
  unreachable (a circuit breaker): callers stop sending and wait; one trial request goes
  out after a growing pause, and its success lets everybody through again. During an
  outage of minutes the downstream sees one request every few seconds, not thousands;
* a caller waits at most ``budget`` seconds in total, then gets the last error.

What a failure is comes from :func:`~.failures.classify` (the one classification):
permanent errors, conflicts and refused keys are not retried here -- the downstream
answered, so it is reachable, and sending the same request again will not help.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from zero_scim_operator.downstream import DownstreamError, RateLimited, TransientError
from zero_scim_operator.services.failures import Backoff, Failure, classify

T = TypeVar("T")


class CircuitOpen(TransientError):
    """The downstream is considered unreachable and the caller's budget ran out."""


class Gate:
    def __init__(
        self,
        *,
        max_concurrency: int = 8,
        backoff: Backoff | None = None,
        breaker_threshold: int = 5,
        breaker_backoff: Backoff | None = None,
        on_change: Callable[[bool], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.max_concurrency = max_concurrency
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._backoff = backoff or Backoff()
        self._breaker_backoff = breaker_backoff or Backoff(base=1.0, cap=30.0)
        self._threshold = breaker_threshold
        self._on_change = on_change
        self._rng = rng or random.Random()
        self._changed = asyncio.Condition()
        self._failures = 0
        self._open = False
        self._open_attempt = 0
        self._reopen_at = 0.0
        self._trial_running = False
        self._paused_until = 0.0
        #: The last transient error, for status messages ("unreachable: 503 ...").
        self.last_error: DownstreamError | None = None
        self.in_flight = 0

    # -- state -------------------------------------------------------------------------

    @property
    def reachable(self) -> bool:
        """False while the breaker is open (the downstream keeps failing)."""
        return not self._open

    @property
    def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 if none)."""
        return max(0.0, self._paused_until - _now())

    # -- calls -------------------------------------------------------------------------

    async def run(self, call: Callable[[], Awaitable[T]], *, budget: float) -> T:
        """Run ``call`` under the gate's rules; retry transient failures within ``budget``."""
        deadline = _now() + budget
        attempt = 0
        while True:
            trial = await self._admit(deadline)
            try:
                async with self._semaphore:
                    self.in_flight += 1
                    try:
                        result = await call()
                    finally:
                        self.in_flight -= 1
            except DownstreamError as exc:
                failure = classify(exc)
                last: DownstreamError = exc
                if failure is Failure.RATE_LIMITED:
                    assert isinstance(exc, RateLimited)
                    await self._answered(trial, pause=exc)
                    delay = 0.0
                elif failure is Failure.TRANSIENT:
                    await self._failed(exc, trial)
                    delay = self._backoff.delay(attempt, self._rng)
                else:
                    await self._answered(trial)  # it answered: reachable, but no retry
                    raise
            except BaseException:
                if trial:
                    await self._release_trial()
                raise
            else:
                await self._answered(trial)
                return result
            attempt += 1
            if _now() + delay >= deadline:
                raise last
            if delay > 0:
                await asyncio.sleep(delay)

    async def _admit(self, deadline: float) -> bool:
        """Wait until a request may go out; True if it is the breaker's trial request."""
        async with self._changed:
            while True:
                now = _now()
                wait_until: float | None
                if now < self._paused_until:
                    wait_until = self._paused_until
                elif self._open and now < self._reopen_at:
                    wait_until = self._reopen_at
                elif self._open and not self._trial_running:
                    self._trial_running = True
                    return True
                elif self._open:
                    wait_until = None  # a trial is out: wait for its verdict
                else:
                    return False
                if now >= deadline or (wait_until is not None and wait_until > deadline):
                    raise self._unavailable()
                timeout = (wait_until if wait_until is not None else deadline) - now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=max(timeout, 0.001))

    def _unavailable(self) -> DownstreamError:
        if self.paused_for > 0 and isinstance(self.last_error, RateLimited):
            return self.last_error
        cause = f": {self.last_error}" if self.last_error is not None else ""
        return CircuitOpen(f"downstream unreachable{cause}", code="circuit_open")

    async def _answered(self, trial: bool, *, pause: RateLimited | None = None) -> None:
        """The downstream answered (a 429 too): reachable; a 429 pauses the tenant."""
        reopened = False
        async with self._changed:
            self._failures = 0
            if pause is not None:
                self.last_error = pause  # kept for the message while the pause lasts
                self._paused_until = max(self._paused_until, _now() + pause.retry_after)
            if trial:
                self._trial_running = False
            if self._open:
                self._open = False
                self._open_attempt = 0
                reopened = True
            self._changed.notify_all()
        if reopened:
            if pause is None:
                self.last_error = None
            self._notify(True)

    async def _failed(self, exc: DownstreamError, trial: bool) -> None:
        opened = False
        async with self._changed:
            self.last_error = exc
            self._failures += 1
            if trial:
                self._trial_running = False
                self._open_attempt += 1
                self._reopen_at = _now() + self._breaker_backoff.delay(
                    self._open_attempt, self._rng
                )
            elif not self._open and self._failures >= self._threshold:
                self._open = True
                opened = True
                self._open_attempt = 0
                self._reopen_at = _now() + self._breaker_backoff.delay(0, self._rng)
            self._changed.notify_all()
        if opened:
            self._notify(False)

    async def _release_trial(self) -> None:
        async with self._changed:
            self._trial_running = False
            self._changed.notify_all()

    def _notify(self, reachable: bool) -> None:
        if self._on_change is not None:
            self._on_change(reachable)


def _now() -> float:
    return asyncio.get_running_loop().time()
