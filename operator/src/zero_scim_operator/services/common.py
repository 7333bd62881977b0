"""Small things the services share: outcomes, the event sink, per-object locks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from zero_scim.kube.objects import ObjectReference

EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True)
class Outcome:
    """What one sync (``synced``) or release (``done``: let the object go) of a user or
    group did."""

    ok: bool
    reason: str
    message: str
    downstream_id: str | None = None
    #: Seconds after which to try again (a retryable failure); None: do not retry.
    retry_after: float | None = None
    #: Post a Warning Event (once per distinct failure).
    warn: bool = False

    @property
    def synced(self) -> bool:
        return self.ok

    @property
    def done(self) -> bool:
        return self.ok


SyncOutcome = Outcome
ReleaseOutcome = Outcome


class EventSink(Protocol):
    """Posts Kubernetes Events about an object."""

    def post(
        self, reference: ObjectReference, type_: EventType, reason: str, message: str
    ) -> None: ...


class KeyedLocks:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def utcnow() -> datetime:
    return datetime.now(UTC)


def truncate(text: str, limit: int = 4096) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
