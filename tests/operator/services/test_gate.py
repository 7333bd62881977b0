"""The per-tenant gate: concurrency, backoff, Retry-After, the circuit breaker, budgets."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from zero_scim_operator.downstream import PermanentError, RateLimited, TransientError
from zero_scim_operator.services.failures import Backoff
from zero_scim_operator.services.gate import CircuitOpen, Gate

FAST = Backoff(base=0.01, cap=0.05)


def gate(**kwargs: object) -> Gate:
    options: dict[str, object] = {
        "backoff": FAST,
        "breaker_backoff": Backoff(base=0.02, cap=0.1),
        "rng": random.Random(1),
        **kwargs,
    }
    return Gate(**options)


def test_backoff_is_exponential_jittered_and_capped() -> None:
    backoff = Backoff(base=1.0, cap=8.0)
    rng = random.Random(0)
    for attempt, ceiling in [(0, 1), (1, 2), (2, 4), (3, 8), (10, 8)]:
        delays = [backoff.delay(attempt, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter


async def test_concurrency_is_bounded() -> None:
    g = gate(max_concurrency=3)
    running = peak = 0

    async def call() -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return 1

    results = await asyncio.gather(*(g.run(call, budget=5) for _ in range(20)))
    assert sum(results) == 20 and peak == 3


async def test_transient_failures_are_retried() -> None:
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise TransientError("503", status=503)
        return "ok"

    assert await gate().run(flaky, budget=5) == "ok"
    assert attempts == 3


async def test_permanent_errors_are_not_retried() -> None:
    attempts = 0

    async def rejected() -> None:
        nonlocal attempts
        attempts += 1
        raise PermanentError("422", status=422)

    with pytest.raises(PermanentError):
        await gate().run(rejected, budget=5)
    assert attempts == 1


async def test_retry_after_pauses_every_caller() -> None:
    g = gate()
    limited = True
    started = time.monotonic()
    calls: list[float] = []

    async def call() -> None:
        nonlocal limited
        calls.append(time.monotonic() - started)
        if limited:
            limited = False
            raise RateLimited("429", retry_after=0.3, status=429)

    await g.run(call, budget=5)
    await asyncio.gather(*(g.run(call, budget=5) for _ in range(5)))
    assert calls[0] < 0.1 and all(t >= 0.29 for t in calls[1:])
    assert g.reachable


async def test_an_outage_is_probed_not_hammered() -> None:
    changes: list[bool] = []
    g = gate(breaker_threshold=3, on_change=changes.append)
    down = True
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        if down:
            raise TransientError("503", status=503)
        return "ok"

    callers = [asyncio.create_task(g.run(call, budget=10)) for _ in range(50)]
    await asyncio.sleep(0.5)
    assert not _reachable(g)
    assert changes == [False]
    during = calls
    assert during < 50  # 50 callers, but the breaker let only a trickle through
    down = False
    assert await asyncio.gather(*callers) == ["ok"] * 50
    assert _reachable(g)
    assert changes == [False, True]
    assert calls - during == 50  # after recovery: each caller exactly once more at most


async def test_budget_ends_the_wait() -> None:
    g = gate(breaker_threshold=1)

    async def down() -> None:
        raise TransientError("timed out", code="timeout")

    with pytest.raises(TransientError):
        await g.run(down, budget=0.2)
    with pytest.raises(CircuitOpen):  # the breaker is open: no request, just the verdict
        await g.run(down, budget=0.0)


def _reachable(g: Gate) -> bool:
    return g.reachable  # a call, so that type checkers do not narrow the property
