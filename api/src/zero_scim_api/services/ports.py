"""What the services use of storage: the index for reads, one call per write.

:class:`~zero_scim_api.storage.store.Storage` is the implementation; the services'
unit tests use a small in-memory one (tests/api/services/memory.py) over the same
index. Every write takes data and returns a value
(:mod:`zero_scim_api.storage.results`): storage never calls back into a service.
"""

from __future__ import annotations

from typing import Protocol

from zero_scim.jsondata import JsonObject
from zero_scim_api.storage.index import ClusterIndex, GroupEntry, UserEntry
from zero_scim_api.storage.results import MemberDelta, WriteResult


class UserWrites(Protocol):
    async def create(self, namespace: str, doc: JsonObject) -> UserEntry:
        """A new user (409 ``uniqueness`` if the userName is taken)."""
        ...

    async def update(
        self, namespace: str, expected: UserEntry, doc: JsonObject
    ) -> WriteResult[UserEntry]:
        """``doc`` as the new document of the user read as ``expected`` (or Stale)."""
        ...

    async def delete(self, namespace: str, entry: UserEntry) -> bool:
        """Delete the user; False if it was gone already."""
        ...


class GroupWrites(Protocol):
    async def create(self, namespace: str, doc: JsonObject, members: MemberDelta) -> GroupEntry:
        """A new group with its first members."""
        ...

    async def update(
        self, namespace: str, expected: GroupEntry, doc: JsonObject | None, members: MemberDelta
    ) -> WriteResult[GroupEntry]:
        """The new document (None: unchanged) and the member change (or Stale)."""
        ...

    async def delete(self, namespace: str, entry: GroupEntry) -> bool:
        """Delete the group; False if it was gone already."""
        ...


class Directory(Protocol):
    """The storage the services work with."""

    @property
    def index(self) -> ClusterIndex: ...

    @property
    def users(self) -> UserWrites: ...

    @property
    def groups(self) -> GroupWrites: ...
