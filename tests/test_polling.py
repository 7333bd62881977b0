"""The shared polling helper (tests/support/polling.py): pure, no cluster."""

from __future__ import annotations

import pytest

from tests.support.polling import eventually, eventually_blocking


async def test_eventually_returns_the_first_truthy_value_sync_or_async() -> None:
    calls: list[int] = []

    def sync() -> int | None:
        calls.append(1)
        return len(calls) if len(calls) >= 3 else None

    async def later() -> str | None:
        calls.append(1)
        return "done" if len(calls) >= 5 else None

    assert await eventually(sync, interval=0) == 3
    assert await eventually(later, interval=0) == "done"


async def test_eventually_retries_assertions_and_reports_the_last_one() -> None:
    def never() -> bool:
        raise AssertionError("still 0 users")

    with pytest.raises(AssertionError, match=r"the users: not true within .*still 0 users") as info:
        await eventually(never, "the users", timeout=0.05, interval=0.01)
    assert isinstance(info.value.__cause__, AssertionError)


def test_eventually_blocking_retries_only_what_it_is_told() -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("connection refused")
        return "up"

    assert eventually_blocking(flaky, "the server", interval=0, retry_on=(OSError,)) == "up"
    with pytest.raises(ValueError):
        eventually_blocking(lambda: int("x"), "a number", interval=0)
    with pytest.raises(AssertionError, match=r"a flag: not true within .*False"):
        eventually_blocking(lambda: False, "a flag", timeout=0.05, interval=0.01)
