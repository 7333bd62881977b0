"""Wake-up signals for the level-triggered loops (tenant and group daemons)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable


class Wakeup:
    """A coalescing signal: many ``set()`` calls before a ``wait()`` count as one."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._full = False

    def set(self, *, full: bool = False) -> None:
        self._full = self._full or full
        self._event.set()

    async def wait(self, timeout: float | None) -> bool:
        """Wait for a signal (at most ``timeout`` s); True if a *full* pass was asked for."""
        if timeout is None or timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=timeout)
        full, self._full = self._full, False
        self._event.clear()
        return full


class Wakeups:
    """The wake-up signal of each running loop, by key."""

    def __init__(self) -> None:
        self._signals: dict[Hashable, Wakeup] = {}

    def register(self, key: Hashable) -> Wakeup:
        signal = self._signals.get(key)
        if signal is None:
            signal = self._signals[key] = Wakeup()
        return signal

    def unregister(self, key: Hashable, signal: Wakeup) -> None:
        if self._signals.get(key) is signal:
            del self._signals[key]

    def wake(self, key: Hashable, *, full: bool = False) -> bool:
        signal = self._signals.get(key)
        if signal is None:
            return False
        signal.set(full=full)
        return True

    def registered(self) -> list[Hashable]:
        return list(self._signals)
