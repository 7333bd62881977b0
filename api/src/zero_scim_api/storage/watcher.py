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
from collections.abc import Callable, Mapping
from typing import Any

from zero_scim_api.storage.kubeapi import Forbidden, Gone, KubeApi, KubeError

log = logging.getLogger(__name__)

OnReset = Callable[[list[dict[str, Any]]], None]
OnEvent = Callable[[str, dict[str, Any]], None]
OnRestart = Callable[[str, str], None]  # (watcher name, reason)


class Watcher:
    def __init__(
        self,
        kube: KubeApi,
        name: str,
        path: str,
        *,
        on_reset: OnReset,
        on_event: OnEvent,
        on_restart: OnRestart | None = None,
        params: Mapping[str, str] | None = None,
        timeout_seconds: int = 300,
    ) -> None:
        self.kube = kube
        self.name = name
        self.path = path
        self.params = dict(params or {})
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
        items: list[dict[str, Any]] = []
        version = ""
        async for page, page_version in self.kube.list_pages(self.path, self.params):
            items.extend(page)
            version = page_version
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
                    self.path,
                    resource_version=self.resource_version,
                    params=self.params,
                    timeout_seconds=self.timeout_seconds,
                ):
                    obj = event.get("object") or {}
                    version = obj.get("metadata", {}).get("resourceVersion")
                    if version:
                        self.resource_version = str(version)
                    if event.get("type") != "BOOKMARK":
                        self.on_event(str(event.get("type")), obj)
                backoff = 0.5  # the server closed a healthy watch (timeoutSeconds): resume
            except asyncio.CancelledError:
                raise
            except Gone:
                log.info("watch %s: resourceVersion expired, relisting", self.name)
                self.on_restart(self.name, "gone")
                need_list = True
            except Forbidden as exc:
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
