"""Periodic resync of one tenant: list the downstream, repair drift in both directions.

Entra never re-reads what it provisioned, so drift in Zero (an account deleted or edited
by hand, a deletion that happened while the operator was down) is only ever corrected
here. Desired state comes from the in-memory indexes (no listing of 50,000 objects);
Zero is walked page by page.

* accounts and groups in Zero with no ScimUser/ScimGroup → deleted;
* users whose account is missing or differs, or whose last sync gave up (tenant not
  ready, rejected) → synced again and their status recorded;
* every group loop is asked for a full pass (fields and members diffed against Zero).

Objects that Kopf is still working on (not yet handled for their generation) are left
to Kopf. Nothing is deleted in Zero before the API server confirmed that no object with
that SCIM id exists, and no resync starts while the initial listing still streams in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import GROUP_KIND, LABEL_SCIM_ID, USER, Kind
from zero_scim.kube.errors import KubeError
from zero_scim.kube.names import group_object_name
from zero_scim.kube.objects import KubeObject
from zero_scim_operator.directory import Directory
from zero_scim_operator.downstream import Account, DownstreamError, Group
from zero_scim_operator.mapping import account_fingerprint, group_fingerprint
from zero_scim_operator.models import TenantConfig
from zero_scim_operator.services.downstream import OWNERLESS, TenantRuntime
from zero_scim_operator.services.groups import GroupService
from zero_scim_operator.services.users import UserService
from zero_scim_operator.settings import OperatorConfig

logger = logging.getLogger(__name__)

REPAIR_CONCURRENCY = 16
#: After this many deletion candidates turned out to exist, the directory is incomplete.
MAX_UNSEEN = 20


@dataclass
class ResyncReport:
    accounts_seen: int = 0
    accounts_deleted: int = 0
    users_repaired: int = 0
    groups_seen: int = 0
    groups_deleted: int = 0
    groups_checked: int = 0
    #: Objects the API server has but the directory had not seen (yet).
    unseen: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def drift(self) -> int:
        return self.accounts_deleted + self.users_repaired + self.groups_deleted

    def summary(self) -> str:
        return (
            f"{self.accounts_seen} accounts and {self.groups_seen} groups checked: "
            f"{self.users_repaired} accounts repaired, {self.accounts_deleted} deleted, "
            f"{self.groups_deleted} groups deleted, {self.groups_checked} groups re-checked"
            + (f"; {len(self.failures)} failures" if self.failures else "")
            + ("; deletions postponed: the directory was incomplete" if self.unseen else "")
        )


class ResyncService:
    def __init__(
        self,
        directory: Directory,
        users: UserService,
        groups: GroupService,
        kube: KubeClient,
        config: OperatorConfig,
    ) -> None:
        self._directory = directory
        self._users = users
        self._groups = groups
        self._kube = kube
        self._config = config

    async def _exists(self, kind: Kind[KubeObject], namespace: str, scim_id: str) -> bool:
        """Does an object with this SCIM id exist (the API server's watch cache says)?

        Asked before anything is deleted in Zero: the directory may be incomplete (while
        the initial listing streams in) and must never cost an account.
        """
        if kind is GROUP_KIND:
            name = group_object_name(scim_id)
            return await self._kube.find(GROUP_KIND, name, namespace) is not None
        if len(scim_id) > 63:
            return True  # cannot be asked by label: never delete on a guess
        users = await self._kube.list_page(
            USER, namespace, label_selector=f"{LABEL_SCIM_ID}={scim_id}", resource_version="0"
        )
        return any(user["spec"].get("id") == scim_id for user in users["items"])

    async def unpark(self, namespace: str) -> int:
        """Sync the users that wait for a tenant to own their namespace; the number tried.

        A user synced before its tenant claimed the namespace (or while another tenant's
        label was on it) is parked (``NoTenant``, ``NamespaceConflict``): it is not retried
        one by one. The tenant's loop calls this once it owns the namespace. Waits until
        the directory is complete, so no parked user is missed.
        """
        loop = asyncio.get_running_loop()
        while True:
            wait = self._directory.unsettled_for(loop.time())
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        names = [
            entry.name
            for entry in self._directory.users(namespace)
            if entry.handled and not entry.synced and not entry.deleting
            if entry.reason in OWNERLESS
        ]

        async def repair(name: str) -> None:
            try:
                await self._users.repair(namespace, name)
            except Exception:  # one user must not stop the others
                logger.exception(
                    "user %s/%s: sync after the namespace claim failed", namespace, name
                )

        await _bounded([repair(name) for name in names], REPAIR_CONCURRENCY)
        return len(names)

    async def run(self, tenant: TenantConfig, runtime: TenantRuntime) -> ResyncReport:
        report = ResyncReport()
        await self._accounts(tenant.namespace, runtime, report)
        await self._groups_pass(tenant.namespace, runtime, report)
        return report

    async def _accounts(self, namespace: str, runtime: TenantRuntime, report: ResyncReport) -> None:
        budget = self._config.retry_budget
        downstream = await runtime.call(lambda z: _account_prints(z.iter_accounts()), budget=budget)
        report.accounts_seen = len(downstream)
        entries = self._directory.users(namespace)
        known_ids = {e.scim_id for e in entries}

        async def delete(key: str) -> None:
            if report.unseen >= MAX_UNSEEN:
                return  # the directory is clearly incomplete: delete nothing this time
            try:
                if await self._exists(USER, namespace, key):
                    report.unseen += 1  # the directory had not seen it yet
                    return
                await runtime.call(lambda z: z.delete_account(key), budget=budget)
                report.accounts_deleted += 1
            except (DownstreamError, KubeError) as exc:
                report.failures.append(f"delete account {key}: {exc}")

        async def repair(name: str, seen: str | None) -> None:
            try:
                outcome = await self._users.repair(namespace, name, seen)
            except Exception as exc:  # one user must not stop the resync of the others
                report.failures.append(f"user {name}: {exc}")
                return
            if outcome is not None and outcome.synced:
                report.users_repaired += 1
            elif outcome is not None:
                report.failures.append(f"user {name}: {outcome.reason}: {outcome.message}")

        jobs = [delete(key) for key in downstream.keys() - known_ids]
        for entry in entries:
            if entry.deleting or entry.fingerprint is None or not entry.handled:
                continue  # going away, cannot be mapped, or Kopf is on it
            seen = downstream.get(entry.scim_id)
            if seen != entry.fingerprint or not entry.synced:
                jobs.append(repair(entry.name, seen))
        await _bounded(jobs, REPAIR_CONCURRENCY)

    async def _groups_pass(
        self, namespace: str, runtime: TenantRuntime, report: ResyncReport
    ) -> None:
        budget = self._config.retry_budget
        downstream = await runtime.call(lambda z: _group_prints(z.iter_groups()), budget=budget)
        report.groups_seen = len(downstream)
        known_ids = {e.scim_id for e in self._directory.groups(namespace)}

        async def delete(key: str) -> None:
            try:
                if await self._exists(GROUP_KIND, namespace, key):
                    return
                await runtime.call(lambda z: z.delete_group(key), budget=budget)
                report.groups_deleted += 1
            except (DownstreamError, KubeError) as exc:
                report.failures.append(f"delete group {key}: {exc}")

        await _bounded([delete(key) for key in downstream.keys() - known_ids], REPAIR_CONCURRENCY)
        report.groups_checked = self._groups.wake_namespace(namespace, full=True)


async def _account_prints(accounts: AsyncIterator[Account]) -> dict[str, str]:
    return {a.external_key: account_fingerprint(a) async for a in accounts}


async def _group_prints(groups: AsyncIterator[Group]) -> dict[str, str]:
    return {g.external_key: group_fingerprint(g) async for g in groups}


async def _bounded(jobs: list[Coroutine[object, object, None]], limit: int) -> None:
    """Run the coroutines, at most ``limit`` at a time (they are created lazily started)."""
    semaphore = asyncio.Semaphore(limit)

    async def run(job: Coroutine[object, object, None]) -> None:
        async with semaphore:
            await job

    await asyncio.gather(*(run(job) for job in jobs))
