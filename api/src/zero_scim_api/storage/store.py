"""The storage layer's one entry point: watches, index, tenants and repositories together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zero_scim.kube.coordinates import GROUP_KIND, MEMBER_BATCH, USER, Kind
from zero_scim_api.storage.index import ClusterIndex
from zero_scim_api.storage.kubeapi import KubeApi, resource_path
from zero_scim_api.storage.repository import GroupRepository, UserRepository
from zero_scim_api.storage.tenants import TenantRegistry
from zero_scim_api.storage.watcher import OnRestart, Watcher

WATCHED: tuple[tuple[str, Kind], ...] = (
    ("users", USER),
    ("groups", GROUP_KIND),
    ("batches", MEMBER_BATCH),
)


class Storage:
    def __init__(
        self,
        kube: KubeApi,
        *,
        on_watch_restart: OnRestart | None = None,
        finalizers: tuple[str, ...] = (),
    ) -> None:
        self.kube = kube
        self.index = ClusterIndex()
        self.tenants = TenantRegistry(kube, on_restart=on_watch_restart)
        self.users = UserRepository(kube, self.index, finalizers=finalizers)
        self.groups = GroupRepository(kube, self.index, finalizers=finalizers)
        self._watchers = [
            Watcher(
                kube,
                name,
                resource_path(kind),
                on_reset=self._resetter(name),
                on_event=self._applier(name),
                on_restart=on_watch_restart,
            )
            for name, kind in WATCHED
        ]

    @classmethod
    async def connect(
        cls,
        kubeconfig: Path | None = None,
        *,
        on_watch_restart: OnRestart | None = None,
        finalizers: tuple[str, ...] = (),
    ) -> Storage:
        """Connect; ``finalizers`` are set on every user and group the API creates."""
        return cls(
            await KubeApi.connect(kubeconfig),
            on_watch_restart=on_watch_restart,
            finalizers=finalizers,
        )

    def _resetter(self, kind: str) -> Callable[[list[dict[str, Any]]], None]:
        return lambda items: self.index.reset(kind, items)

    def _applier(self, kind: str) -> Callable[[str, dict[str, Any]], None]:
        return lambda event_type, obj: self.index.apply(kind, event_type, obj)

    def start(self) -> None:
        for watcher in self._watchers:
            watcher.start()
        self.tenants.start()

    @property
    def ready(self) -> bool:
        return self.tenants.synced and all(w.synced.is_set() for w in self._watchers)

    async def wait_ready(self, timeout: float = 60.0) -> None:
        async def all_synced() -> None:
            for watcher in self._watchers:
                await watcher.synced.wait()
            await self.tenants.wait_synced()

        await asyncio.wait_for(all_synced(), timeout)

    async def stop(self) -> None:
        await self.groups.drain()
        await self.tenants.stop()
        for watcher in self._watchers:
            await watcher.stop()
        await self.kube.close()
