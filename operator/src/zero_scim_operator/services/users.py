"""ScimUser → Zero account: upsert on create/update, delete (or release) on deletion.

Every call is idempotent downstream (the account is keyed by the SCIM id), so a retry, a
restart mid-call or a second operator process never creates anything twice. A user's
sync writes exactly one status patch (through Kopf, together with Kopf's own marker).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from zero_scim.kube.coordinates import LABEL_SCIM_ID, USER
from zero_scim.kube.errors import Conflict, KubeError
from zero_scim.kube.tokens import format_time
from zero_scim_operator import conditions
from zero_scim_operator.directory import SYNCED, UserEntry
from zero_scim_operator.mapping import (
    InvalidObject,
    account_fingerprint,
    account_input,
    external_key,
)
from zero_scim_operator.models import ScimObject, UserStatusPatch, as_json
from zero_scim_operator.services.common import (
    KeyedLocks,
    ReleaseOutcome,
    SyncOutcome,
    truncate,
    utcnow,
)
from zero_scim_operator.services.downstream import TenantNotReady
from zero_scim_operator.services.failures import DownstreamFailed, Failure, Verdict
from zero_scim_operator.services.objects import ObjectService

logger = logging.getLogger(__name__)

_LABEL_VALUE_MAX = 63


@dataclass(eq=False, repr=False)
class UserService(ObjectService):
    noun: ClassVar[str] = "account"

    _locks: KeyedLocks = field(default_factory=KeyedLocks, init=False)
    _repairs: dict[tuple[str, str], asyncio.Task[None]] = field(default_factory=dict, init=False)
    _conflicts: dict[tuple[str, str], int] = field(default_factory=dict, init=False)

    # -- sync ----------------------------------------------------------------------------

    async def sync(self, user: ScimObject, *, attempt: int = 0) -> SyncOutcome:
        """Make the downstream account match the user (create, update, enable/disable)."""
        try:
            runtime = await self._downstreams.get(user.namespace)
        except TenantNotReady as exc:
            delay = self._downstreams.classifier.backoff.delay(attempt, self._rng)
            return SyncOutcome(
                False, exc.reason, exc.message, retry_after=delay if exc.transient else None
            )
        try:
            key = external_key(user.spec)
            account = account_input(user.spec)
        except InvalidObject as exc:
            return SyncOutcome(False, "InvalidUser", str(exc), warn=True)
        async with self._locks.hold((user.namespace, user.name)):
            try:
                upserted = await runtime.call(
                    lambda zero: zero.upsert_account(key, account),
                    budget=self._config.retry_budget,
                )
            except DownstreamFailed as failed:
                return self._failed(user, failed.verdict, attempt)
        self._conflicts.pop((user.namespace, user.name), None)
        result = upserted.resource
        state = "enabled" if result.enabled else "disabled"
        return SyncOutcome(
            True,
            "Synced",
            f"account {result.id} ({state}, version {result.version})",
            downstream_id=result.id,
        )

    def _failed(self, user: ScimObject, verdict: Verdict, attempt: int) -> SyncOutcome:
        """Act on the verdict: a conflict is retried slowly, in memory (not through Kopf,
        whose retry delays would also hold back a fix of the user's own spec); transient
        failures through Kopf's retry; the others are recorded and wait."""
        if verdict.failure is Failure.CONFLICT:
            key = (user.namespace, user.name)
            conflicts = self._conflicts[key] = self._conflicts.get(key, -1) + 1
            delay = verdict.delay(conflicts, self._rng)
            if delay is not None:
                self._schedule_repair(user, delay)
            return SyncOutcome(False, verdict.reason, verdict.message, warn=True)
        retry_after = verdict.delay(attempt, self._rng) if verdict.transient else None
        return SyncOutcome(
            False, verdict.reason, verdict.message, retry_after=retry_after, warn=True
        )

    def status(self, user: ScimObject, outcome: SyncOutcome, now: datetime) -> UserStatusPatch:
        """The status patch recording ``outcome`` (and posts the Event of a new failure)."""
        condition = (
            conditions.true(SYNCED, outcome.reason, outcome.message, user.generation)
            if outcome.synced
            else conditions.false(SYNCED, outcome.reason, outcome.message, user.generation)
        )
        status: UserStatusPatch = {
            "observedGeneration": user.generation,
            "conditions": conditions.merge(user.status.get("conditions"), [condition], now),
        }
        if outcome.synced:
            status["downstreamId"] = outcome.downstream_id
            status["lastSyncedAt"] = format_time(now)
            status["lastError"] = None
        else:
            error = truncate(f"{outcome.reason}: {outcome.message}")
            status["lastError"] = error
            if outcome.warn and user.status.get("lastError") != error:
                self._events.post(
                    user.ref.as_reference(), "Warning", outcome.reason, outcome.message
                )
        return status

    # -- deletion ------------------------------------------------------------------------

    async def release(self, user: ScimObject) -> ReleaseOutcome:
        """Delete the downstream account before the user goes — unless it was renamed."""
        self._cancel_repair(user.namespace, user.name)
        if not user.scim_id:
            return ReleaseOutcome(True, "NoId", "the user has no SCIM id")
        sibling = await self._live_sibling(user)
        if sibling is not None:
            return ReleaseOutcome(
                True, "Renamed", f"SCIM id {user.scim_id} lives on as ScimUser {sibling}"
            )
        async with self._locks.hold((user.namespace, user.name)):
            return await self._delete(user, lambda zero, k: zero.delete_account(k), "InvalidUser")

    async def _live_sibling(self, user: ScimObject) -> str | None:
        """Another live ScimUser with the same SCIM id (a rename), if any."""
        for entry in self._directory.users_with_id(user.namespace, user.scim_id):
            if entry.name != user.name and not entry.deleting:
                return entry.name
        if len(user.scim_id) > _LABEL_VALUE_MAX:
            return None
        # The index is fed by the same watch, but per-object workers run concurrently:
        # confirm with the API server's watch cache (at least as fresh as our watch).
        try:
            users = await self._kube.list_page(
                USER,
                user.namespace,
                label_selector=f"{LABEL_SCIM_ID}={user.scim_id}",
                resource_version="0",
            )
        except KubeError as exc:
            logger.warning("cannot confirm renames of %s: %s", user.name, exc)
            return None
        for item in users["items"]:
            other = ScimObject.from_object(item)
            if other.name != user.name and not other.deleting and other.scim_id == user.scim_id:
                return other.name
        return None

    # -- repair (resync, slow retries) ---------------------------------------------------

    def _schedule_repair(self, user: ScimObject, delay: float) -> None:
        key = (user.namespace, user.name)
        self._cancel_repair(*key)

        async def later() -> None:
            await asyncio.sleep(delay)
            self._repairs.pop(key, None)
            try:
                await self.repair(*key)
            except Exception:
                logger.exception("retry of %s/%s failed", *key)

        self._repairs[key] = asyncio.create_task(later(), name=f"repair {key}")

    def _cancel_repair(self, namespace: str, name: str) -> None:
        task = self._repairs.pop((namespace, name), None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def close(self) -> None:
        for task in list(self._repairs.values()):
            task.cancel()
        self._repairs.clear()

    async def repair(
        self, namespace: str, name: str, seen: str | None = None
    ) -> SyncOutcome | None:
        """Sync one user outside Kopf (drift repair) and record it, guarded by its RV.

        ``seen``: the fingerprint of the account as the resync listed it. If the user,
        read again now, is synced and wants exactly that account, the "drift" was a sync
        that happened during the listing: nothing is sent.
        """
        for _ in range(3):
            body = await self._kube.find(USER, name, namespace)
            if body is None:
                return None
            user = ScimObject.from_object(body)
            if user.deleting:
                return None
            if seen is not None and UserEntry.from_body(body).synced:
                try:
                    if account_fingerprint(account_input(user.spec)) == seen:
                        return None
                except InvalidObject:
                    pass
            outcome = await self.sync(user)
            if outcome.retry_after is not None:
                return outcome  # Kopf or the next resync tries again
            status = self.status(user, outcome, utcnow())
            if _unchanged(user, status):
                return outcome  # nothing new to record: no write
            status["kopf"] = {"handledGeneration": user.generation}
            try:
                await self._kube.patch_status(
                    USER, name, as_json(status), namespace, resource_version=user.resource_version
                )
            except Conflict:
                continue  # changed meanwhile: read again, sync the newer spec
            except KubeError as exc:
                logger.warning("repair of %s/%s: cannot record status: %s", namespace, name, exc)
            return outcome
        return None


def _unchanged(user: ScimObject, status: UserStatusPatch) -> bool:
    """Does ``status`` say what the user's status already says (timestamps aside)?"""
    current = user.status
    if (current.get("kopf") or {}).get("handledGeneration") != user.generation:
        return False
    recorded = (current.get("observedGeneration"), current.get("lastError"))
    if (status.get("observedGeneration"), status.get("lastError")) != recorded:
        return False
    if "downstreamId" in status and status["downstreamId"] != current.get("downstreamId"):
        return False
    new = conditions.find(status.get("conditions"), SYNCED)
    old = conditions.find(current.get("conditions"), SYNCED)
    return (
        new is not None
        and old is not None
        and (new["status"], new.get("reason")) == (old["status"], old.get("reason"))
    )
