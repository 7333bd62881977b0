"""The values that cross between the services and storage: what a write takes and returns.

A service computes a write completely before it calls storage — the new document, the
net member change (:class:`MemberDelta`), and the entry it read (whose resourceVersion
is the precondition) — and storage answers with a :class:`Written` or a :class:`Stale`
value. Storage never calls back into a service, and a lost race is not an exception:
the service re-applies its (already parsed) change to ``Stale.current`` and writes again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeAlias, TypeVar

from zero_scim_api.storage.index import GroupEntry, UserEntry

EntryT = TypeVar("EntryT", UserEntry, GroupEntry)


@dataclass(frozen=True, slots=True)
class MemberDelta:
    """A group's net member change: ids added (in request order), ids removed, and the
    ``display`` sent with some added members. ``add`` and ``remove`` are disjoint."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    displays: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


NO_MEMBER_CHANGE = MemberDelta()


@dataclass(frozen=True, slots=True)
class Written(Generic[EntryT]):
    """The write went through; ``entry`` is the object as written (already in the index)."""

    entry: EntryT


@dataclass(frozen=True, slots=True)
class Stale(Generic[EntryT]):
    """Someone wrote the object first: nothing was written. ``current`` is the object as it
    is now (already in the index), or None if it was deleted meanwhile."""

    current: EntryT | None


#: The outcome of an update.
WriteResult: TypeAlias = Written[EntryT] | Stale[EntryT]
