"""An in-memory implementation of the storage interface the services use
(``zero_scim_api.services.ports.Directory``), for the services' unit tests.

It keeps the real :class:`~zero_scim_api.storage.index.ClusterIndex` and builds the
objects the API server would hold with the real codec and member-log encoder; only the
API server is replaced, by a counter of resourceVersions. ``before_write`` lets a test
act as another replica that writes first: it runs before an update is checked, so the
update finds the object changed and answers ``Stale``, as the real storage does. Every
write is recorded in ``writes``. The integration tests against the real API server
(tests/api/storage, tests/api/test_*.py) stay the proof of the real storage.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from zero_scim import memberlog
from zero_scim.jsondata import JsonObject, JsonValue
from zero_scim.kube.names import username_key
from zero_scim.kube.objects import ScimGroup, ScimUser
from zero_scim.memberlog import GroupRef
from zero_scim.scim import Uniqueness
from zero_scim_api.storage.codec import group_object, user_object
from zero_scim_api.storage.index import ClusterIndex, GroupEntry, UserEntry
from zero_scim_api.storage.results import MemberDelta, Stale, WriteResult, Written
from zero_scim_api.storage.writes import new_meta, next_meta


@dataclass
class Store:
    """What the in-memory "API server" holds and has been asked to do."""

    index: ClusterIndex = field(default_factory=ClusterIndex)
    writes: list[str] = field(default_factory=list)
    before_write: Callable[[], None] | None = None
    _rv: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def stamp(self, obj: ScimUser | ScimGroup, uid: str) -> None:
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        obj["metadata"]["uid"] = uid

    def user_written_elsewhere(self, namespace: str, scim_id: str, **changes: JsonValue) -> None:
        """Another replica's write to a user: ``changes`` merged into its document."""
        index = self.index.tenant(namespace)
        entry = index.user(scim_id)
        assert entry is not None
        doc: JsonObject = {**entry.doc(), **changes}
        obj = user_object(
            doc, scim_id=scim_id, meta=next_meta(entry.meta, doc), namespace=namespace
        )
        self.stamp(obj, entry.uid)
        index.put_user(obj)

    def group_written_elsewhere(self, namespace: str, scim_id: str, **changes: JsonValue) -> None:
        """Another replica's write to a group's document."""
        index = self.index.tenant(namespace)
        entry = index.group(scim_id)
        assert entry is not None
        doc: JsonObject = {**entry.doc(), **changes}
        obj = group_object(
            doc, scim_id=scim_id, meta=next_meta(entry.meta, doc), namespace=namespace
        )
        self.stamp(obj, entry.uid)
        index.put_group(obj)

    def interfere(self) -> None:
        hook, self.before_write = self.before_write, None
        if hook is not None:
            hook()


class MemoryUsers:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _put(self, namespace: str, obj: ScimUser) -> UserEntry:
        entry = self._store.index.tenant(namespace).put_user(obj)
        assert entry is not None
        return entry

    async def create(self, namespace: str, doc: JsonObject) -> UserEntry:
        index = self._store.index.tenant(namespace)
        if index.user_id_by_username(str(doc["userName"])) is not None:
            raise Uniqueness(f'userName "{doc["userName"]}" is already taken')
        scim_id, meta = new_meta(doc)
        obj = user_object(doc, scim_id=scim_id, meta=meta, namespace=namespace)
        self._store.stamp(obj, scim_id)
        self._store.writes.append(f"create user {doc['userName']}")
        return self._put(namespace, obj)

    async def update(
        self, namespace: str, expected: UserEntry, doc: JsonObject
    ) -> WriteResult[UserEntry]:
        self._store.interfere()
        current = self._store.index.tenant(namespace).user(expected.id)
        if current is None or current.rv != expected.rv:
            return Stale(current)
        if username_key(str(doc.get("userName", ""))) != expected.username_key:
            other = self._store.index.tenant(namespace).user_id_by_username(str(doc["userName"]))
            if other is not None and other != expected.id:
                raise Uniqueness(f'userName "{doc["userName"]}" is already taken')
            self._store.index.tenant(namespace).drop_user(
                {"metadata": {"name": expected.object_name, "resourceVersion": str(expected.rv)}}
            )
        obj = user_object(
            doc, scim_id=expected.id, meta=next_meta(expected.meta, doc), namespace=namespace
        )
        self._store.stamp(obj, expected.uid)
        self._store.writes.append(f"update user {expected.id}")
        return Written(self._put(namespace, obj))

    async def delete(self, namespace: str, entry: UserEntry) -> bool:
        index = self._store.index.tenant(namespace)
        if index.user(entry.id) is None:
            return False
        self._store.writes.append(f"delete user {entry.id}")
        index.drop_user({"metadata": {"name": entry.object_name, "resourceVersion": "0"}})
        return True


class MemoryGroups:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _append(self, namespace: str, group: GroupEntry, delta: MemberDelta) -> None:
        index = self._store.index.tenant(namespace)
        ref = GroupRef(namespace, group.object_name, group.uid, group.id)
        for chunk in memberlog.delta_chunks(delta.add, delta.remove, delta.displays):
            obj = memberlog.encode(chunk.at(index.member_log(group).latest + 1), ref)
            obj["metadata"]["resourceVersion"] = str(next(self._store._rv))
            index.put_batch(obj)
            self._store.writes.append(f"members {group.id} +{len(chunk.add)} -{len(chunk.remove)}")

    async def create(self, namespace: str, doc: JsonObject, members: MemberDelta) -> GroupEntry:
        scim_id, meta = new_meta(doc)
        obj = group_object(doc, scim_id=scim_id, meta=meta, namespace=namespace)
        self._store.stamp(obj, scim_id)
        self._store.writes.append(f"create group {doc.get('displayName')}")
        entry = self._store.index.tenant(namespace).put_group(obj)
        assert entry is not None
        if members:
            self._append(namespace, entry, members)
        return entry

    async def update(
        self, namespace: str, expected: GroupEntry, doc: JsonObject | None, members: MemberDelta
    ) -> WriteResult[GroupEntry]:
        self._store.interfere()
        index = self._store.index.tenant(namespace)
        entry = index.group(expected.id)
        if doc is not None:
            if entry is None or entry.rv != expected.rv:
                return Stale(entry)
            obj = group_object(
                doc, scim_id=expected.id, meta=next_meta(expected.meta, doc), namespace=namespace
            )
            self._store.stamp(obj, expected.uid)
            self._store.writes.append(f"update group {expected.id}")
            entry = index.put_group(obj)
        if entry is None:
            return Stale(None)
        if members:
            self._append(namespace, entry, members)
        return Written(entry)

    async def delete(self, namespace: str, entry: GroupEntry) -> bool:
        index = self._store.index.tenant(namespace)
        if index.group(entry.id) is None:
            return False
        self._store.writes.append(f"delete group {entry.id}")
        index.drop_group({"metadata": {"name": entry.object_name, "resourceVersion": "0"}})
        return True


class MemoryDirectory:
    """The services' storage, in memory (satisfies ``services.ports.Directory``)."""

    def __init__(self) -> None:
        self.store = Store()
        self._users = MemoryUsers(self.store)
        self._groups = MemoryGroups(self.store)

    @property
    def index(self) -> ClusterIndex:
        return self.store.index

    @property
    def users(self) -> MemoryUsers:
        return self._users

    @property
    def groups(self) -> MemoryGroups:
        return self._groups
