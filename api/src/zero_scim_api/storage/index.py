"""The watch-fed in-memory index: every read of the SCIM API is answered from here.

One :class:`TenantIndex` per namespace holds the namespace's users, groups and member
logs, with hash indexes for the lookups Entra makes (userName, externalId, e-mail,
displayName, members). It is fed by the watches (``put_*``/``drop_*``/``reset_*``) and by
this replica's own successful writes (write-through), so a client that got 201 finds the
user with its very next request.

Ordering: every object carries its ``metadata.resourceVersion``; an event for an object
is applied only if it is newer than what the index holds (deletions leave a short-lived
tombstone for the same reason). kube-apiserver's resourceVersions are etcd revisions and
compare as integers; we only ever compare versions of the same object.

Documents are kept as orjson bytes (about a third of the memory of the parsed dicts) and
decoded for the few resources a request returns or a non-indexed filter scans.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass

import orjson

from zero_scim import memberlog
from zero_scim.jsondata import JsonObject, JsonValue
from zero_scim.kube.names import username_key
from zero_scim.kube.objects import (
    KubeObject,
    ObjectMeta,
    ObjectT,
    ScimGroup,
    ScimMemberBatch,
    ScimUser,
    WatchEventType,
)
from zero_scim.memberlog import MemberLog
from zero_scim.scim import caseless
from zero_scim_api.storage.codec import Meta, spec_to_doc

TOMBSTONE_SECONDS = 300.0


def compact_json(value: JsonValue) -> bytes:
    """orjson bytes, copied to their exact size.

    orjson (3.13) returns bytes objects that keep a 4 KiB buffer whatever their length;
    kept for every user that is 4 KiB each — 200 MB at 50,000 users. The copy is exact.
    """
    return bytes(memoryview(orjson.dumps(value)))


def resource_version(obj: KubeObject) -> int:
    try:
        return int(obj["metadata"].get("resourceVersion", 0))
    except (TypeError, ValueError):
        return 0


@dataclass(slots=True)
class UserEntry:
    id: str
    object_name: str
    uid: str
    rv: int
    doc_json: bytes
    meta: Meta
    username_key: str
    external_id: str | None
    emails: tuple[str, ...]
    deleting: bool
    display: str  # displayName, else userName: what a group's member list shows

    def doc(self) -> JsonObject:
        parsed: JsonObject = orjson.loads(self.doc_json)
        return parsed

    def newer_than(self, other: UserEntry) -> bool:
        """Which of two objects with the same SCIM id (mid-rename) is the user."""
        return (not self.deleting, self.meta.last_modified, self.rv) > (
            not other.deleting,
            other.meta.last_modified,
            other.rv,
        )


@dataclass(slots=True)
class GroupEntry:
    id: str
    object_name: str
    uid: str
    rv: int
    doc_json: bytes
    meta: Meta
    display_key: str
    external_id: str | None
    deleting: bool
    synced_seq: int

    def doc(self) -> JsonObject:
        parsed: JsonObject = orjson.loads(self.doc_json)
        return parsed


def _metadata(obj: KubeObject) -> ObjectMeta:
    return obj["metadata"]


def user_entry(obj: ScimUser) -> UserEntry:
    metadata = obj["metadata"]
    spec = obj["spec"]
    doc = spec_to_doc(spec)
    emails = tuple(
        caseless(e["value"])
        for e in spec.get("emails", []) or []
        if isinstance(e, dict) and isinstance(e.get("value"), str)
    )
    external = spec.get("externalId")
    return UserEntry(
        id=sys.intern(str(spec.get("id", ""))),
        object_name=metadata.get("name", ""),
        uid=metadata.get("uid", ""),
        rv=resource_version(obj),
        doc_json=compact_json(doc),
        meta=Meta.from_spec(spec.get("meta"), metadata.get("creationTimestamp", "")),
        username_key=username_key(str(spec.get("userName", ""))),
        external_id=external if isinstance(external, str) else None,
        emails=emails,
        deleting=bool(metadata.get("deletionTimestamp")),
        display=str(spec.get("displayName") or spec.get("userName", "")),
    )


def group_entry(obj: ScimGroup) -> GroupEntry:
    metadata = obj["metadata"]
    spec = obj["spec"]
    external = spec.get("externalId")
    status = obj.get("status") or {}
    return GroupEntry(
        id=sys.intern(str(spec.get("id", ""))),
        object_name=metadata.get("name", ""),
        uid=metadata.get("uid", ""),
        rv=resource_version(obj),
        doc_json=compact_json(spec_to_doc(spec)),
        meta=Meta.from_spec(spec.get("meta"), metadata.get("creationTimestamp", "")),
        display_key=caseless(str(spec.get("displayName", ""))),
        external_id=external if isinstance(external, str) else None,
        deleting=bool(metadata.get("deletionTimestamp")),
        synced_seq=int(status.get("membersSyncedSeq", 0) or 0),
    )


class _Versions:
    """Newest resourceVersion seen per object name, with tombstones for deletions."""

    def __init__(self) -> None:
        self._live: dict[str, int] = {}
        self._dead: dict[str, tuple[int, float]] = {}

    def fresh(self, name: str, rv: int) -> bool:
        if rv and rv <= self._live.get(name, 0):
            return False
        dead = self._dead.get(name)
        return not (dead is not None and rv and rv <= dead[0])

    def live(self, name: str, rv: int) -> None:
        self._live[name] = rv
        self._dead.pop(name, None)

    def dead(self, name: str, rv: int) -> None:
        self._live.pop(name, None)
        self._dead[name] = (rv, time.monotonic())
        if len(self._dead) > 1024:
            cutoff = time.monotonic() - TOMBSTONE_SECONDS
            self._dead = {k: v for k, v in self._dead.items() if v[1] > cutoff}

    def clear(self) -> None:
        self._live.clear()

    def put(self, obj: KubeObject) -> tuple[str, bool]:
        """The object's name, and whether it is newer than what is held (then held)."""
        name = _metadata(obj).get("name", "")
        rv = resource_version(obj)
        if not self.fresh(name, rv):
            return name, False
        self.live(name, rv)
        return name, True

    def drop(self, obj: KubeObject, held: Container[str]) -> str | None:
        """The name of a deleted object to forget (tombstoned), or None: an older event
        about an object not ``held`` any more."""
        name = _metadata(obj).get("name", "")
        rv = resource_version(obj)
        if not self.fresh(name, rv) and name not in held:
            return None
        self.dead(name, rv)
        return name


# Secondary indexes map a key to one id (a str) or, rarely, to several (a set): a set
# per key would cost ~200 bytes for every user, and nearly every key has one id.
Multi = dict[str, "str | set[str]"]


def _add(index: Multi, key: str | None, value: str) -> None:
    if key is None:
        return
    current = index.get(key)
    if current is None:
        index[key] = value
    elif isinstance(current, str):
        if current != value:
            index[key] = {current, value}
    else:
        current.add(value)


def _discard(index: Multi, key: str | None, value: str) -> None:
    if key is None:
        return
    current = index.get(key)
    if current is None:
        return
    if isinstance(current, str):
        if current == value:
            del index[key]
        return
    current.discard(value)
    if len(current) == 1:
        index[key] = next(iter(current))


def _get(index: Multi, key: str) -> frozenset[str] | set[str]:
    current = index.get(key)
    if current is None:
        return frozenset()
    if isinstance(current, str):
        return frozenset((current,))
    return current


class TenantIndex:
    """Users, groups and member logs of one namespace."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._user_versions = _Versions()
        self._group_versions = _Versions()
        self._batch_versions = _Versions()
        self._user_objects: dict[str, UserEntry] = {}  # object name -> entry
        self._users: dict[str, UserEntry] = {}  # SCIM id -> the live entry
        self._alternates: dict[str, set[str]] = {}  # SCIM id -> other object names (renames)
        self._by_username: dict[str, str] = {}
        self._by_user_external: Multi = {}
        self._by_email: Multi = {}
        self._group_objects: dict[str, GroupEntry] = {}
        self._groups: dict[str, GroupEntry] = {}
        self._by_display: Multi = {}
        self._by_group_external: Multi = {}
        self._logs: dict[str, MemberLog] = {}  # group object name -> log
        self._member_of: Multi = {}  # member id -> group ids

    # -- users: reads ------------------------------------------------------------------
    def user(self, scim_id: str) -> UserEntry | None:
        entry = self._users.get(scim_id)
        return None if entry is None or entry.deleting else entry

    def user_object(self, object_name: str) -> UserEntry | None:
        """The entry for an object name, including one that is being deleted."""
        return self._user_objects.get(object_name)

    def user_alternates(self, scim_id: str) -> list[UserEntry]:
        """Other objects with the same SCIM id (left over from an interrupted rename)."""
        return [
            self._user_objects[name]
            for name in self._alternates.get(scim_id, ())
            if name in self._user_objects
        ]

    def user_id_by_username(self, user_name: str) -> str | None:
        return self._by_username.get(username_key(user_name))

    def user_ids_by_external_id(self, external_id: str) -> frozenset[str] | set[str]:
        return _get(self._by_user_external, external_id)

    def user_ids_by_email(self, email: str) -> frozenset[str] | set[str]:
        return _get(self._by_email, caseless(email))

    def users(self) -> Iterator[UserEntry]:
        return (e for e in self._users.values() if not e.deleting)

    @property
    def user_count(self) -> int:
        return len(self._by_username)

    # -- users: writes -----------------------------------------------------------------
    def put_user(self, obj: ScimUser) -> UserEntry | None:
        name, fresh = self._user_versions.put(obj)
        if not fresh:
            return self._user_objects.get(name)
        entry = user_entry(obj)
        previous = self._user_objects.get(name)
        if previous is not None and previous.id != entry.id:
            self._forget_user_object(previous)
        self._user_objects[name] = entry
        current = self._users.get(entry.id)
        if current is None or current.object_name == name or entry.newer_than(current):
            if current is not None and current.object_name != name:
                self._alternates.setdefault(entry.id, set()).add(current.object_name)
            self._set_winner(entry, current)
        else:
            self._alternates.setdefault(entry.id, set()).add(name)
        return entry

    def drop_user(self, obj: KubeObject) -> None:
        name = self._user_versions.drop(obj, self._user_objects)
        if name is None:
            return
        entry = self._user_objects.get(name)
        if entry is not None:
            self._forget_user_object(entry)

    def _forget_user_object(self, entry: UserEntry) -> None:
        self._user_objects.pop(entry.object_name, None)
        alternates = self._alternates.get(entry.id)
        if alternates is not None:
            alternates.discard(entry.object_name)
        current = self._users.get(entry.id)
        if current is not None and current.object_name == entry.object_name:
            self._unindex_user(current)
            del self._users[entry.id]
            successors = [
                self._user_objects[n] for n in alternates or () if n in self._user_objects
            ]
            if successors:
                best = successors[0]
                for candidate in successors[1:]:
                    if candidate.newer_than(best):
                        best = candidate
                alternates_left = alternates or set()
                alternates_left.discard(best.object_name)
                self._set_winner(best, None)
        if alternates is not None and not alternates:
            del self._alternates[entry.id]

    def _set_winner(self, entry: UserEntry, previous: UserEntry | None) -> None:
        if previous is not None:
            self._unindex_user(previous)
        self._users[entry.id] = entry
        if previous is not None and previous.object_name != entry.object_name:
            alternates = self._alternates.get(entry.id)
            if alternates is not None:
                alternates.discard(entry.object_name)
                if not alternates:
                    del self._alternates[entry.id]
        if not entry.deleting:
            self._by_username[entry.username_key] = entry.id
            _add(self._by_user_external, entry.external_id, entry.id)
            for email in entry.emails:
                _add(self._by_email, email, entry.id)

    def _unindex_user(self, entry: UserEntry) -> None:
        if self._by_username.get(entry.username_key) == entry.id:
            del self._by_username[entry.username_key]
        _discard(self._by_user_external, entry.external_id, entry.id)
        for email in entry.emails:
            _discard(self._by_email, email, entry.id)

    def reset_users(self, objs: Iterable[ScimUser]) -> None:
        self._user_objects.clear()
        self._users.clear()
        self._alternates.clear()
        self._by_username.clear()
        self._by_user_external.clear()
        self._by_email.clear()
        self._user_versions.clear()
        for obj in objs:
            self.put_user(obj)

    # -- groups: reads -----------------------------------------------------------------
    def group(self, scim_id: str) -> GroupEntry | None:
        entry = self._groups.get(scim_id)
        return None if entry is None or entry.deleting else entry

    def group_ids_by_display_name(self, display_name: str) -> frozenset[str] | set[str]:
        return _get(self._by_display, caseless(display_name))

    def group_ids_by_external_id(self, external_id: str) -> frozenset[str] | set[str]:
        return _get(self._by_group_external, external_id)

    def groups(self) -> Iterator[GroupEntry]:
        return (e for e in self._groups.values() if not e.deleting)

    @property
    def group_count(self) -> int:
        return sum(1 for _ in self.groups())

    def member_log(self, group: GroupEntry) -> MemberLog:
        log = self._logs.get(group.object_name)
        if log is None:
            log = self._new_log(group.object_name, group.id)
        return log

    def members(self, group: GroupEntry) -> set[str]:
        log = self._logs.get(group.object_name)
        return log.members if log is not None else set()

    def groups_of(self, member_id: str) -> frozenset[str] | set[str]:
        return _get(self._member_of, member_id)

    # -- groups: writes ----------------------------------------------------------------
    def put_group(self, obj: ScimGroup) -> GroupEntry | None:
        name, fresh = self._group_versions.put(obj)
        if not fresh:
            return self._group_objects.get(name)
        entry = group_entry(obj)
        previous = self._group_objects.get(name)
        if previous is not None:
            self._unindex_group(previous)
        self._group_objects[name] = entry
        self._groups[entry.id] = entry
        if not entry.deleting:
            _add(self._by_display, entry.display_key, entry.id)
            _add(self._by_group_external, entry.external_id, entry.id)
        return entry

    def drop_group(self, obj: KubeObject) -> None:
        name = self._group_versions.drop(obj, self._group_objects)
        if name is None:
            return
        entry = self._group_objects.pop(name, None)
        if entry is None:
            return
        self._unindex_group(entry)
        if self._groups.get(entry.id) is entry:
            del self._groups[entry.id]
        log = self._logs.pop(name, None)
        if log is not None:
            log.clear()

    def _unindex_group(self, entry: GroupEntry) -> None:
        _discard(self._by_display, entry.display_key, entry.id)
        _discard(self._by_group_external, entry.external_id, entry.id)

    def reset_groups(self, objs: Iterable[ScimGroup]) -> None:
        self._group_objects.clear()
        self._groups.clear()
        self._by_display.clear()
        self._by_group_external.clear()
        self._group_versions.clear()
        for obj in objs:
            self.put_group(obj)

    # -- member batches ----------------------------------------------------------------
    def _new_log(self, group_object: str, group_id: str) -> MemberLog:
        def on_add(member: str) -> None:
            _add(self._member_of, member, group_id)

        def on_remove(member: str) -> None:
            _discard(self._member_of, member, group_id)

        log = MemberLog(group_id, on_add, on_remove)
        self._logs[group_object] = log
        return log

    def _log_for_batch(self, obj: ScimMemberBatch) -> MemberLog:
        group_object = memberlog.group_of(obj)
        log = self._logs.get(group_object)
        if log is None:
            log = self._new_log(group_object, sys.intern(obj["spec"].get("groupId", "")))
        return log

    def put_batch(self, obj: ScimMemberBatch) -> None:
        name, fresh = self._batch_versions.put(obj)
        if not fresh:
            return
        entry = memberlog.decode(obj)
        if entry is not None:
            self._log_for_batch(obj).add(entry, name)

    def drop_batch(self, obj: ScimMemberBatch) -> None:
        name = _metadata(obj).get("name", "")
        self._batch_versions.dead(name, resource_version(obj))
        group_object = memberlog.group_of(obj)
        log = self._logs.get(group_object)
        if log is not None:
            entry = memberlog.decode(obj)
            if entry is not None:
                log.drop(entry.seq, name)
            if not log.names and group_object not in self._group_objects:
                log.clear()
                del self._logs[group_object]

    def reset_batches(self, objs: Iterable[ScimMemberBatch]) -> None:
        by_group: dict[str, list[ScimMemberBatch]] = {}
        for obj in objs:
            by_group.setdefault(memberlog.group_of(obj), []).append(obj)
        for log in self._logs.values():
            log.clear()
        self._logs.clear()
        self._member_of.clear()
        self._batch_versions.clear()
        for batch in by_group.values():
            log = self._log_for_batch(batch[0])
            entries = [(_metadata(o).get("name", ""), memberlog.decode(o)) for o in batch]
            log.load((name, entry) for name, entry in entries if entry is not None)
            for o in batch:
                self._batch_versions.live(_metadata(o).get("name", ""), resource_version(o))


class ClusterIndex:
    """All namespaces' indexes; routes watch events to the right :class:`TenantIndex`."""

    def __init__(self) -> None:
        self._tenants: dict[str, TenantIndex] = {}

    def tenant(self, namespace: str) -> TenantIndex:
        index = self._tenants.get(namespace)
        if index is None:
            index = self._tenants[namespace] = TenantIndex(namespace)
        return index

    def namespaces(self) -> list[str]:
        return list(self._tenants)

    def _by_namespace(self, objs: Iterable[ObjectT]) -> dict[str, list[ObjectT]]:
        """Objects by namespace; every namespace known so far is present (maybe empty)."""
        by_namespace: dict[str, list[ObjectT]] = {ns: [] for ns in self._tenants}
        for obj in objs:
            by_namespace.setdefault(_metadata(obj).get("namespace", ""), []).append(obj)
        return by_namespace

    def reset_users(self, objs: Iterable[ScimUser]) -> None:
        for namespace, items in self._by_namespace(objs).items():
            self.tenant(namespace).reset_users(items)

    def reset_groups(self, objs: Iterable[ScimGroup]) -> None:
        for namespace, items in self._by_namespace(objs).items():
            self.tenant(namespace).reset_groups(items)

    def reset_batches(self, objs: Iterable[ScimMemberBatch]) -> None:
        for namespace, items in self._by_namespace(objs).items():
            self.tenant(namespace).reset_batches(items)

    def user_event(self, event_type: WatchEventType, obj: ScimUser) -> None:
        index = self.tenant(_metadata(obj).get("namespace", ""))
        index.drop_user(obj) if event_type == "DELETED" else index.put_user(obj)

    def group_event(self, event_type: WatchEventType, obj: ScimGroup) -> None:
        index = self.tenant(_metadata(obj).get("namespace", ""))
        index.drop_group(obj) if event_type == "DELETED" else index.put_group(obj)

    def batch_event(self, event_type: WatchEventType, obj: ScimMemberBatch) -> None:
        index = self.tenant(_metadata(obj).get("namespace", ""))
        index.drop_batch(obj) if event_type == "DELETED" else index.put_batch(obj)
