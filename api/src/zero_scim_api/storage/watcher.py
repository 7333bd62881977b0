"""List-then-watch loops that keep the in-memory index current.

One :class:`Watcher` per (resource, scope): it lists (paginated) and hands the full set
to ``on_reset``, then watches from the list's resourceVersion with bookmarks and hands
each event to ``on_event``. On 410 Gone it relists; on a broken or silently stalled
stream (read timeout) it resumes from the last resourceVersion after a short backoff.
``synced`` is set once the first list has been applied — ``/readyz`` waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Generic

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import Kind
from zero_scim.kube.errors import Denied, Gone, KubeError
from zero_scim.kube.objects import ObjectT, WatchEventType

log = logging.getLogger(__name__)

OnRestart = Callable[[str, str], None]  # (watcher name, reason)


class Watcher(Generic[ObjectT]):
    """List-then-watch of one kind (all namespaces), optionally with a field selector."""

    def __init__(
        self,
        kube: KubeClient,
        name: str,
        kind: Kind[ObjectT],
        *,
        on_reset: Callable[[list[ObjectT]], None],
        on_event: Callable[[WatchEventType, ObjectT], None],
        on_restart: OnRestart | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> None:
        self.kube = kube
        self.name = name
        self.kind = kind
        self.field_selector = field_selector
        self.on_reset = on_reset
        self.on_event = on_event
        self.on_restart = on_restart or (lambda _name, _reason: None)
        self.timeout_seconds = timeout_seconds
        self.synced = asyncio.Event()
        self.resource_version = ""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"watch:{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _list(self) -> None:
        items, version = await self.kube.list_all(self.kind, field_selector=self.field_selector)
        self.on_reset(items)
        self.resource_version = version
        self.synced.set()

    async def _run(self) -> None:
        backoff = 0.5
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                async for event in self.kube.watch(
                    self.kind,
                    resource_version=self.resource_version,
                    field_selector=self.field_selector,
                    timeout_seconds=self.timeout_seconds,
                ):
                    obj = event["object"]
                    version = obj["metadata"].get("resourceVersion")
                    if version:
                        self.resource_version = version
                    if event["type"] != "BOOKMARK":
                        self.on_event(event["type"], obj)
                backoff = 0.5  # the server closed a healthy watch (timeoutSeconds): resume
            except asyncio.CancelledError:
                raise
            except Gone:
                log.info("watch %s: resourceVersion expired, relisting", self.name)
                self.on_restart(self.name, "gone")
                need_list = True
            except Denied as exc:
                log.error("watch %s: forbidden (%s); retrying", self.name, exc.message)
                self.on_restart(self.name, "forbidden")
                await self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            except KubeError as exc:
                log.warning("watch %s: %s; resuming", self.name, exc)
                self.on_restart(self.name, "error")
                await self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception:  # a bug in a handler must not stop the index forever
                log.exception("watch %s: unexpected error; relisting", self.name)
                self.on_restart(self.name, "exception")
                need_list = True
                await self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    @staticmethod
    async def _sleep(seconds: float) -> None:
        await asyncio.sleep(seconds * (0.5 + random.random()))
