"""What the operator knows about all objects, from the watch streams, in memory.

These lookups cost no API call: the tenant of a namespace, the users with a given SCIM
id (renames), per-namespace counts, a group's member-log entries. The entries are small
summaries (never whole specs, never member lists) so 50,000 users fit. They are fed by
the handlers in :mod:`zero_scim_operator.handlers.indexes`.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass

from zero_scim.kube.objects import ScimGroup, ScimUser, ScimUserSpec
from zero_scim.memberlog import EntryHeader
from zero_scim_operator import conditions
from zero_scim_operator.mapping import (
    InvalidObject,
    account_fingerprint,
    account_input,
    group_fingerprint,
    group_input,
)
from zero_scim_operator.models import TenantConfig

#: Kopf's index of tenants: namespace -> the tenants that claim it.
TenantIndex = Mapping[str, Collection[TenantConfig]]

SYNCED = "Synced"


def _handled(body: ScimUser) -> tuple[bool, bool]:
    """(handled, synced) for the object's current generation."""
    status = body.get("status") or {}
    generation = body["metadata"].get("generation")
    kopf_state = status.get("kopf") or {}
    handled = isinstance(kopf_state, dict) and kopf_state.get("handledGeneration") == (generation)
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
        self._cache: dict[Hashable, tuple[int | None, str | None]] = {}

    def get(self, uid: str | None, generation: int | None, spec: ScimUserSpec) -> str | None:
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
    def from_body(cls, body: ScimUser) -> UserEntry:
        metadata = body["metadata"]
        spec = body["spec"]
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
    def from_body(cls, body: ScimGroup) -> GroupEntry:
        metadata = body["metadata"]
        spec = body["spec"]
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
    """What the operator knows about all objects, kept from their watch events.

    Tenants come from a Kopf index (few objects; Kopf fills it completely before any
    handler runs, so every handler finds its tenant). Users, groups and member-log
    entries are kept here, from ``on.event`` handlers: a Kopf index over 50,000 objects
    makes Kopf's startup quadratic (each listed object's worker holds a readiness toggle
    and every toggle wakes every worker -- measured: 214 s of CPU to restart over 5,000
    synced users). The price: these maps fill while the initial listing streams in;
    :meth:`settled` tells when it is over, and what depends on completeness (the resync's
    deletions) waits for it and double-checks with the API server.
    """

    QUIET = 5.0  # seconds without a listing event after which the listing is over

    def __init__(self, now: float = 0.0) -> None:
        self._tenants: TenantIndex = {}
        self._users: dict[str, dict[str, UserEntry]] = {}
        self._user_ids: dict[tuple[str, str], dict[str, UserEntry]] = {}
        self._groups: dict[str, dict[str, GroupEntry]] = {}
        self._batches: dict[tuple[str, str], dict[str, EntryHeader]] = {}
        self._listed_at = now  # the operator's start counts as listing: nothing seen yet

    def bind(self, *, tenants: TenantIndex) -> None:
        self._tenants = tenants

    # -- feeding -----------------------------------------------------------------------

    def listed(self, now: float) -> None:
        """An object of the initial listing (or a relisting) was just seen."""
        self._listed_at = now

    def settled(self, now: float) -> bool:
        """No listing event for a while: the maps are as complete as the watches."""
        return self.unsettled_for(now) <= 0

    def unsettled_for(self, now: float) -> float:
        """Seconds until :meth:`settled` (if no listing event comes meanwhile)."""
        return self._listed_at + self.QUIET - now

    def put_user(self, namespace: str, entry: UserEntry) -> None:
        old = self._users.setdefault(namespace, {}).get(entry.name)
        if old is not None and old.scim_id != entry.scim_id:
            self._drop_id(namespace, old)
        self._users[namespace][entry.name] = entry
        self._user_ids.setdefault((namespace, entry.scim_id), {})[entry.name] = entry

    def drop_user(self, namespace: str, name: str) -> None:
        old = self._users.get(namespace, {}).pop(name, None)
        if old is not None:
            self._drop_id(namespace, old)
        if not self._users.get(namespace, True):
            del self._users[namespace]

    def _drop_id(self, namespace: str, entry: UserEntry) -> None:
        key = (namespace, entry.scim_id)
        names = self._user_ids.get(key)
        if names is not None:
            names.pop(entry.name, None)
            if not names:
                del self._user_ids[key]

    def put_group(self, namespace: str, entry: GroupEntry) -> None:
        self._groups.setdefault(namespace, {})[entry.name] = entry

    def drop_group(self, namespace: str, name: str) -> None:
        groups = self._groups.get(namespace)
        if groups is not None:
            groups.pop(name, None)
            if not groups:
                del self._groups[namespace]

    def put_batch(self, namespace: str, group_object: str, entry: EntryHeader) -> None:
        self._batches.setdefault((namespace, group_object), {})[entry.name] = entry

    def drop_batch(self, namespace: str, group_object: str, name: str) -> None:
        key = (namespace, group_object)
        batches = self._batches.get(key)
        if batches is not None:
            batches.pop(name, None)
            if not batches:
                del self._batches[key]

    # -- tenants -----------------------------------------------------------------------

    def tenants_of(self, namespace: str) -> list[TenantConfig]:
        """The tenants that *claim* ``namespace`` (by name); which of them owns it is the
        namespace's label's to say (:mod:`~zero_scim_operator.services.namespaces`)."""
        return sorted(self._tenants.get(namespace, ()), key=lambda t: t.name)

    # -- users -------------------------------------------------------------------------

    def users(self, namespace: str) -> list[UserEntry]:
        return list(self._users.get(namespace, {}).values())

    def user_count(self, namespace: str) -> int:
        return len(self._users.get(namespace, ()))

    def users_with_id(self, namespace: str, scim_id: str) -> list[UserEntry]:
        return list(self._user_ids.get((namespace, scim_id), {}).values())

    # -- groups ------------------------------------------------------------------------

    def groups(self, namespace: str) -> list[GroupEntry]:
        return list(self._groups.get(namespace, {}).values())

    def group_count(self, namespace: str) -> int:
        return len(self._groups.get(namespace, ()))

    def batches(self, namespace: str, group_object: str) -> list[EntryHeader]:
        entries = self._batches.get((namespace, group_object), {}).values()
        return sorted(entries, key=lambda b: (b.seq, b.part))
