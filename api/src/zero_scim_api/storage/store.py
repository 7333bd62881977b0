"""The storage layer's one entry point: watches, index, tenants and repositories together.

The services use what :class:`Storage` offers through the interface they declare
(``zero_scim_api.services.ports``): the index for reads, ``users`` and ``groups`` for
writes. Every write is bounded by ``timeout`` (``Settings.storage_timeout``), and every
single call to the API server by the client's timeout, the same value.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import GROUP_KIND, MEMBER_BATCH, USER
from zero_scim_api.storage.groups import GroupRepository
from zero_scim_api.storage.index import ClusterIndex
from zero_scim_api.storage.members import MemberLogWriter
from zero_scim_api.storage.tenants import TenantRegistry
from zero_scim_api.storage.users import UserRepository
from zero_scim_api.storage.watcher import OnRestart, Watcher

#: The default deadline of every storage call (seconds): ``Settings.storage_timeout``.
KUBE_TIMEOUT = 10.0


class Storage:
    def __init__(
        self,
        kube: KubeClient,
        *,
        on_watch_restart: OnRestart | None = None,
        finalizers: tuple[str, ...] = (),
        timeout: float = KUBE_TIMEOUT,
    ) -> None:
        self.kube = kube
        self.index = ClusterIndex()
        self.tenants = TenantRegistry(kube, on_restart=on_watch_restart)
        self._members = MemberLogWriter(kube, self.index)
        self.users = UserRepository(kube, self.index, timeout=timeout, finalizers=finalizers)
        self.groups = GroupRepository(
            kube, self.index, self._members, timeout=timeout, finalizers=finalizers
        )
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
        timeout: float = KUBE_TIMEOUT,
    ) -> Storage:
        """Connect; ``finalizers`` are set on every user and group the API creates;
        ``timeout`` is the deadline of every storage call."""
        kube = await KubeClient.connect(kubeconfig, timeout=timeout)
        return cls(kube, on_watch_restart=on_watch_restart, finalizers=finalizers, timeout=timeout)

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

    async def drain(self) -> None:
        """Wait for background work (member-log compaction)."""
        await self._members.drain()

    async def stop(self) -> None:
        await self.drain()
        await self.tenants.stop()
        for watcher in self._watchers:
            await watcher.stop()
        await self.kube.close()
