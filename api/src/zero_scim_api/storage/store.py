"""The storage layer's one entry point: watches, index, tenants and repositories together."""

from __future__ import annotations

import asyncio
from pathlib import Path

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import GROUP_KIND, MEMBER_BATCH, USER
from zero_scim_api.storage.index import ClusterIndex
from zero_scim_api.storage.repository import GroupRepository, UserRepository
from zero_scim_api.storage.tenants import TenantRegistry
from zero_scim_api.storage.watcher import OnRestart, Watcher

#: The deadline of every call to the API server (seconds).
KUBE_TIMEOUT = 30.0


class Storage:
    def __init__(
        self,
        kube: KubeClient,
        *,
        on_watch_restart: OnRestart | None = None,
        finalizers: tuple[str, ...] = (),
    ) -> None:
        self.kube = kube
        self.index = ClusterIndex()
        self.tenants = TenantRegistry(kube, on_restart=on_watch_restart)
        self.users = UserRepository(kube, self.index, finalizers=finalizers)
        self.groups = GroupRepository(kube, self.index, finalizers=finalizers)
        index = self.index
        restart = on_watch_restart
        self._watchers = (
            Watcher(
                kube,
                "users",
                USER,
                on_reset=index.reset_users,
                on_event=index.user_event,
                on_restart=restart,
            ),
            Watcher(
                kube,
                "groups",
                GROUP_KIND,
                on_reset=index.reset_groups,
                on_event=index.group_event,
                on_restart=restart,
            ),
            Watcher(
                kube,
                "batches",
                MEMBER_BATCH,
                on_reset=index.reset_batches,
                on_event=index.batch_event,
                on_restart=restart,
            ),
        )

    @classmethod
    async def connect(
        cls,
        kubeconfig: Path | None = None,
        *,
        on_watch_restart: OnRestart | None = None,
        finalizers: tuple[str, ...] = (),
    ) -> Storage:
        """Connect; ``finalizers`` are set on every user and group the API creates."""
        kube = await KubeClient.connect(kubeconfig, timeout=KUBE_TIMEOUT)
        return cls(kube, on_watch_restart=on_watch_restart, finalizers=finalizers)

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
