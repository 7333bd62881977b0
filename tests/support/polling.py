"""Waiting for something another process does: the one polling helper of every test.

:func:`eventually` (in a coroutine) and :func:`eventually_blocking` (in plain test code)
call ``condition`` until it returns something truthy and return that value. While it is
falsy, or raises one of ``retry_on`` (an assertion that does not hold yet, a key not there
yet), they wait ``interval`` seconds and try again; after ``timeout`` seconds they fail
with an ``AssertionError`` that says ``what`` was awaited and shows the last value, with
the last exception (if any) as its cause. ``condition`` may be sync or async for
:func:`eventually`.

Timeouts are generous on purpose: they only bound how long a broken test takes to fail,
and the machine the suite runs on may be busy. Nothing here measures time.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeAlias, TypeGuard, TypeVar, overload

T = TypeVar("T")
#: What a condition returns: the value awaited, or "not yet" (None, False).
Outcome: TypeAlias = T | Literal[False] | None

TIMEOUT = 20.0
INTERVAL = 0.05
RETRY_ON: tuple[type[BaseException], ...] = (AssertionError, LookupError)


class _Attempts:
    """The deadline, the last outcome, and the failure once time is up."""

    def __init__(self, what: str, timeout: float) -> None:
        self.what = what
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.last: object = None
        self.error: BaseException | None = None

    def done(self, value: Outcome[T]) -> TypeGuard[T]:
        """Is ``value`` what was awaited? If not, it is the last outcome."""
        if value:
            return True
        self.last, self.error = value, None
        return False

    def retry(self, error: BaseException) -> None:
        """``error`` was raised: keep it, and fail if time is up."""
        self.error = error
        self.check()

    def check(self) -> None:
        """Fail if time is up."""
        if time.monotonic() > self.deadline:
            raise self.failure()

    def failure(self) -> AssertionError:
        shown = repr(self.error) if self.error is not None else repr(self.last)
        failure = AssertionError(f"{self.what}: not true within {self.timeout} s (last: {shown})")
        failure.__cause__ = self.error
        return failure


@overload
async def eventually(
    condition: Callable[[], Awaitable[Outcome[T]]],
    what: str = ...,
    *,
    timeout: float = ...,
    interval: float = ...,
    retry_on: tuple[type[BaseException], ...] = ...,
) -> T: ...
@overload
async def eventually(
    condition: Callable[[], Outcome[T]],
    what: str = ...,
    *,
    timeout: float = ...,
    interval: float = ...,
    retry_on: tuple[type[BaseException], ...] = ...,
) -> T: ...
async def eventually(
    condition: Callable[[], object],
    what: str = "condition",
    *,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    retry_on: tuple[type[BaseException], ...] = RETRY_ON,
) -> object:
    """Await ``condition()`` (sync or async) until it is truthy; return its value."""
    attempts = _Attempts(what, timeout)
    while True:
        try:
            value = condition()
            if inspect.isawaitable(value):
                value = await value
        except retry_on as exc:
            attempts.retry(exc)
        else:
            if attempts.done(value):
                return value
            attempts.check()
        await asyncio.sleep(interval)


def eventually_blocking(
    condition: Callable[[], Outcome[T]],
    what: str = "condition",
    *,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    retry_on: tuple[type[BaseException], ...] = RETRY_ON,
) -> T:
    """:func:`eventually` for code that is not a coroutine (sleeps the thread)."""
    attempts = _Attempts(what, timeout)
    while True:
        try:
            value = condition()
        except retry_on as exc:
            attempts.retry(exc)
        else:
            if attempts.done(value):
                return value
            attempts.check()
        time.sleep(interval)
