"""What the operator knows about all objects, from Kopf's in-memory indexes.

Kopf fills the indexes from its watch streams (and fully, before any handler runs at
startup), so these lookups cost no API call: the tenant of a namespace, the users with a
given SCIM id (renames), per-namespace counts, a group's member log entries. The entries
are small summaries (never whole specs, never member lists) so 50,000 users fit.

The index functions live in :mod:`zero_scim.operator.handlers.indexes`; the first
handler call :meth:`Directory.bind`\\ s the index objects (they live as long as Kopf).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from zero_scim.operator import conditions
from zero_scim.operator.mapping import (
    InvalidObject,
    account_fingerprint,
    account_input,
    group_fingerprint,
    group_input,
)
from zero_scim.operator.models import BatchEntry, Tenant

AnyIndex = Mapping[Any, Collection[Any]]

SYNCED = "Synced"


def _handled(body: Mapping[str, Any]) -> tuple[bool, bool]:
    """(handled, synced) for the object's current generation."""
    status = body.get("status") or {}
    generation = (body.get("metadata") or {}).get("generation")
    kopf_state = status.get("kopf") or {}
    handled = isinstance(kopf_state, Mapping) and kopf_state.get("handledGeneration") == (
        generation
    )
    condition = conditions.find(status.get("conditions"), SYNCED)
    synced = (
        condition is not None
        and condition.get("status") == "True"
        and condition.get("observedGeneration") == generation
    )
    return handled or synced, synced


class _Fingerprints:
    """Fingerprints of desired accounts by (uid, generation): a user's status patches and
    other metadata-only events do not map its spec again."""

    LIMIT = 250_000

    def __init__(self) -> None:
        self._cache: dict[Any, tuple[Any, str | None]] = {}

    def get(self, uid: Any, generation: Any, spec: Mapping[str, Any]) -> str | None:
        cached = self._cache.get(uid)
        if cached is not None and cached[0] == generation and uid is not None:
            return cached[1]
        try:
            fingerprint: str | None = account_fingerprint(account_input(spec))
        except InvalidObject:
            fingerprint = None
        if len(self._cache) >= self.LIMIT:
            self._cache.clear()  # deleted users' entries go too; a miss only costs a mapping
        self._cache[uid] = (generation, fingerprint)
        return fingerprint


_user_prints = _Fingerprints()


@dataclass(frozen=True, slots=True)
class UserEntry:
    name: str
    scim_id: str
    deleting: bool
    #: The current generation went through a sync attempt that will not retry by itself.
    handled: bool
    synced: bool
    #: The user has (had) an account downstream (``status.downstreamId``).
    has_account: bool
    #: Fingerprint of the desired account; None if the user cannot be mapped.
    fingerprint: str | None
    #: Why the last sync failed (``Synced`` reason), if it did.
    reason: str | None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> UserEntry:
        metadata = body.get("metadata") or {}
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        fingerprint = _user_prints.get(metadata.get("uid"), metadata.get("generation"), spec)
        handled, synced = _handled(body)
        condition = conditions.find(status.get("conditions"), SYNCED)
        reason = None if synced or condition is None else str(condition.get("reason", ""))
        return cls(
            name=str(metadata.get("name", "")),
            scim_id=str(spec.get("id", "")),
            deleting=bool(metadata.get("deletionTimestamp")),
            handled=handled,
            synced=synced,
            has_account=bool(status.get("downstreamId")),
            fingerprint=fingerprint,
            reason=reason,
        )


@dataclass(frozen=True, slots=True)
class GroupEntry:
    name: str
    scim_id: str
    deleting: bool
    fingerprint: str | None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> GroupEntry:
        metadata = body.get("metadata") or {}
        spec = body.get("spec") or {}
        try:
            fingerprint: str | None = group_fingerprint(group_input(spec))
        except InvalidObject:
            fingerprint = None
        return cls(
            name=str(metadata.get("name", "")),
            scim_id=str(spec.get("id", "")),
            deleting=bool(metadata.get("deletionTimestamp")),
            fingerprint=fingerprint,
        )


class Directory:
    """Read-only lookups over the bound Kopf indexes (empty until bound)."""

    def __init__(self) -> None:
        self._tenants: AnyIndex = {}
        self._users: AnyIndex = {}
        self._groups: AnyIndex = {}
        self._batches: AnyIndex = {}

    def bind(
        self, *, tenants: AnyIndex, users: AnyIndex, groups: AnyIndex, batches: AnyIndex
    ) -> None:
        self._tenants = tenants
        self._users = users
        self._groups = groups
        self._batches = batches

    # -- tenants -----------------------------------------------------------------------

    def tenants_of(self, namespace: str) -> list[Tenant]:
        return sorted(self._tenants.get(namespace, ()), key=lambda t: t.name)

    def tenant(self, namespace: str) -> Tenant | None:
        """The one tenant owning ``namespace`` (None if none, or if two claim it)."""
        tenants = self.tenants_of(namespace)
        return tenants[0] if len(tenants) == 1 else None

    # -- users -------------------------------------------------------------------------

    def users(self, namespace: str) -> list[UserEntry]:
        return list(self._users.get(namespace, ()))

    def user_count(self, namespace: str) -> int:
        return len(self._users.get(namespace, ()))

    def users_with_id(self, namespace: str, scim_id: str) -> list[UserEntry]:
        return list(self._users.get((namespace, scim_id), ()))

    # -- groups ------------------------------------------------------------------------

    def groups(self, namespace: str) -> list[GroupEntry]:
        return list(self._groups.get(namespace, ()))

    def group_count(self, namespace: str) -> int:
        return len(self._groups.get(namespace, ()))

    def batches(self, namespace: str, group_object: str) -> list[BatchEntry]:
        return sorted(
            self._batches.get((namespace, group_object), ()), key=lambda b: (b.seq, b.part)
        )
