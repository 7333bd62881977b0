"""Writes: users, groups and member-log entries as custom resources.

Every write goes to the API server with a precondition (create of a fresh name, or a
merge patch carrying the ``resourceVersion`` read from the index) and, once it
succeeds, is applied to this replica's index right away (write-through). A stale read
(409 Conflict) refreshes the object from the API server and re-runs the caller's
mutation on it — the mutation, not its result, so concurrent PATCHes compose.

Merge patches (not PUT) leave the operator's finalizers, annotations and status alone.
Kubernetes failures become SCIM errors here: 409 ``uniqueness`` for a taken userName,
404, 412 for a failed If-Match, 400 ``invalidValue`` when the API server's schema
validation refuses a value, 503 when the API server is unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from zero_scim import memberlog
from zero_scim.jsondata import JsonObject
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import GROUP_KIND, LABEL_SCIM_ID, MEMBER_BATCH, USER, Kind
from zero_scim.kube.errors import AlreadyExists, Conflict, Invalid, KubeError, NotFound
from zero_scim.kube.names import username_key
from zero_scim.kube.objects import KubeObject, ObjectMeta, ObjectT, ScimUser
from zero_scim.memberlog import Entry, GroupRef
from zero_scim.scim import errors as scim
from zero_scim_api.storage.codec import (
    Meta,
    content_version,
    doc_to_spec,
    group_object,
    now_iso,
    user_object,
)
from zero_scim_api.storage.index import ClusterIndex, GroupEntry, TenantIndex, UserEntry

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ATTEMPTS = 8
TERMINATING_WAIT = 3.0  # seconds to wait for a deleted user's finalizer before a 409

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")

UserPrecondition = Callable[[UserEntry], None]
GroupPrecondition = Callable[[GroupEntry, int], None]  # (entry, latest member seq)
#: (document, current members) -> (new document, added ids, removed ids, displays sent
#: with added members).
GroupMutation = Callable[
    [JsonObject, set[str]],
    tuple[JsonObject, list[str], list[str], dict[str, str]],
]


def merge_patch(old: JsonObject, new: JsonObject) -> JsonObject:
    """RFC 7386 merge patch turning ``old`` into ``new`` (lists replace wholesale)."""
    patch: JsonObject = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif value != before or key not in old:
            patch[key] = value
    return patch


def _kube_to_scim(exc: KubeError) -> scim.ScimError:
    if isinstance(exc, NotFound):
        return scim.NotFound("resource not found")
    if isinstance(exc, Invalid):
        return scim.InvalidValue(f"rejected by the storage schema: {exc.message}")
    return scim.ServiceUnavailable(f"storage unavailable: {exc.message}")


async def _guard(call: Awaitable[T]) -> T:
    """Await a Kubernetes call, mapping the errors callers do not handle themselves."""
    try:
        return await call
    except (AlreadyExists, Conflict):
        raise
    except KubeError as exc:
        raise _kube_to_scim(exc) from exc


async def _write_document(
    kube: KubeClient,
    kind: Kind[ObjectT],
    namespace: str,
    name: str,
    rv: int,
    old_doc: JsonObject,
    new_doc: JsonObject,
    meta: Meta,
) -> tuple[ObjectT, bool]:
    """Merge-patch an object's spec from ``old_doc`` to ``new_doc``, if still at ``rv``.

    Returns the written object and True, or — someone wrote in between — the object as it
    is now and False.
    """
    spec = merge_patch(doc_to_spec(old_doc), doc_to_spec(new_doc))
    spec["meta"] = meta.to_spec()
    try:
        patch: JsonObject = {"spec": spec}
        written = await _guard(
            kube.merge_patch(kind, name, patch, namespace, resource_version=str(rv))
        )
    except Conflict:
        return await _guard(kube.get(kind, name, namespace)), False
    return written, True


def _after_delete(
    response: ObjectT | None,
    name: str,
    rv: int,
    put: Callable[[ObjectT], object],
    drop: Callable[[KubeObject], None],
) -> None:
    """Reflect a DELETE in the index: still there with finalizers, or gone.

    An object deleted outright is answered with a ``Status``, not the object: it is
    dropped by name, with its last known resourceVersion as the tombstone.
    """
    metadata: ObjectMeta = response["metadata"] if response is not None else {}
    if response is not None and metadata.get("deletionTimestamp") and metadata.get("finalizers"):
        put(response)
        return
    drop({"metadata": {"name": name, "resourceVersion": str(max(rv, _rv(metadata)))}})


def _with_finalizers(obj: ObjectT, finalizers: list[str]) -> ObjectT:
    if finalizers:
        obj["metadata"]["finalizers"] = list(finalizers)
    return obj


def _new_meta(doc: JsonObject) -> tuple[str, Meta]:
    """A fresh SCIM id and ``meta`` stamped now, for a new user or group."""
    now = now_iso()
    return str(uuid.uuid4()), Meta(created=now, last_modified=now, version=content_version(doc))


def _rv(metadata: ObjectMeta) -> int:
    try:
        return int(metadata.get("resourceVersion", 0))
    except (TypeError, ValueError):
        return 0


class UserRepository:
    def __init__(
        self, kube: KubeClient, index: ClusterIndex, *, finalizers: tuple[str, ...] = ()
    ) -> None:
        self._kube = kube
        self._index = index
        self._finalizers = list(finalizers)

    async def create(self, namespace: str, doc: JsonObject) -> UserEntry:
        index = self._index.tenant(namespace)
        scim_id, meta = _new_meta(doc)
        obj = user_object(doc, scim_id=scim_id, meta=meta, namespace=namespace)
        created = await self._create_named(namespace, _with_finalizers(obj, self._finalizers))
        entry = index.put_user(created)
        assert entry is not None
        return entry

    async def _create_named(self, namespace: str, obj: ScimUser) -> ScimUser:
        """Create a ScimUser; its name is the userName claim (docs/architecture.md)."""
        name = obj["metadata"].get("name", "")
        user_name = obj["spec"]["userName"]
        deadline = asyncio.get_running_loop().time() + TERMINATING_WAIT
        while True:
            try:
                return await _guard(self._kube.create(USER, obj, namespace))
            except AlreadyExists:
                pass
            try:
                occupant = await _guard(self._kube.get(USER, name, namespace))
            except scim.NotFound:
                continue  # gone between the two calls: try again
            if not occupant["metadata"].get("deletionTimestamp"):
                raise scim.Uniqueness(f'userName "{user_name}" is already taken') from None
            if asyncio.get_running_loop().time() > deadline:
                raise scim.Uniqueness(
                    f'a user with userName "{user_name}" is still being deleted; retry later'
                ) from None
            await asyncio.sleep(0.1)

    async def update(
        self,
        namespace: str,
        scim_id: str,
        mutate: Callable[[JsonObject], JsonObject],
        *,
        precondition: UserPrecondition | None = None,
    ) -> UserEntry:
        index = self._index.tenant(namespace)
        for _attempt in range(MAX_ATTEMPTS):
            entry = index.user(scim_id)
            if entry is None:
                raise scim.NotFound(f"User {scim_id} not found")
            if precondition is not None:
                precondition(entry)
            old_doc = entry.doc()
            new_doc = mutate(old_doc)
            await self._remove_leftovers(index, entry)
            if new_doc == old_doc:
                return entry
            meta = Meta(entry.meta.created, now_iso(), content_version(new_doc))
            if username_key(str(new_doc["userName"])) != entry.username_key:
                return await self._rename(namespace, entry, new_doc, meta)
            try:
                updated, written = await _write_document(
                    self._kube, USER, namespace, entry.object_name, entry.rv, old_doc, new_doc, meta
                )
            except scim.NotFound:
                index.drop_user({"metadata": {"name": entry.object_name}})
                raise
            if not written:
                index.put_user(updated)  # stale: mutate the fresh object again
                continue
            result = index.put_user(updated)
            assert result is not None
            return result
        raise scim.ServiceUnavailable("too many concurrent updates of this user; retry")

    async def _rename(
        self, namespace: str, entry: UserEntry, new_doc: JsonObject, meta: Meta
    ) -> UserEntry:
        """A new userName is a new object name: create it, then delete the old object."""
        index = self._index.tenant(namespace)
        obj = user_object(new_doc, scim_id=entry.id, meta=meta, namespace=namespace)
        created = await self._create_named(namespace, _with_finalizers(obj, self._finalizers))
        result = index.put_user(created)
        assert result is not None
        await self._delete_object(index, entry)
        return result

    async def _delete_object(self, index: TenantIndex, entry: UserEntry) -> None:
        name = entry.object_name
        try:
            response = await _guard(self._kube.delete(USER, name, index.namespace, uid=entry.uid))
        except scim.NotFound:
            index.drop_user({"metadata": {"name": name}})
            return
        except Conflict:
            return  # a different object (new uid) now has that name: not ours to delete
        _after_delete(response, name, entry.rv, index.put_user, index.drop_user)

    async def _remove_leftovers(self, index: TenantIndex, entry: UserEntry) -> None:
        """Finish a rename that was interrupted between its create and its delete."""
        for leftover in index.user_alternates(entry.id):
            if not leftover.deleting:
                log.warning(
                    "removing %s, left over from an interrupted rename", leftover.object_name
                )
                await self._delete_object(index, leftover)

    async def delete(
        self, namespace: str, scim_id: str, *, precondition: UserPrecondition | None = None
    ) -> UserEntry:
        index = self._index.tenant(namespace)
        entry = index.user(scim_id)
        if entry is None:
            raise scim.NotFound(f"User {scim_id} not found")
        if precondition is not None:
            precondition(entry)
        await self._remove_leftovers(index, entry)
        await self._delete_object(index, entry)
        return entry

    async def missing(self, namespace: str, ids: list[str]) -> list[str]:
        """Which of ``ids`` name no live user or group, asking the API server directly.

        For ids the index does not know yet (an object created a moment ago through
        another replica); what is found is added to the index.
        """
        index = self._index.tenant(namespace)
        found: set[str] = set()
        candidates = [i for i in ids if _LABEL_VALUE.match(i)]
        for start in range(0, len(candidates), 50):
            selector = f"{LABEL_SCIM_ID} in ({','.join(candidates[start : start + 50])})"
            users = await _guard(self._kube.list_page(USER, namespace, label_selector=selector))
            for user in users["items"]:
                if not user["metadata"].get("deletionTimestamp"):
                    found.add(user["spec"].get("id", ""))
                    index.put_user(user)
            groups = await _guard(
                self._kube.list_page(GROUP_KIND, namespace, label_selector=selector)
            )
            for group in groups["items"]:
                if not group["metadata"].get("deletionTimestamp"):
                    found.add(group["spec"].get("id", ""))
                    index.put_group(group)
        return [i for i in ids if i not in found]


class GroupRepository:
    def __init__(
        self, kube: KubeClient, index: ClusterIndex, *, finalizers: tuple[str, ...] = ()
    ) -> None:
        self._kube = kube
        self._index = index
        self._finalizers = list(finalizers)
        self._compacting: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def create(
        self,
        namespace: str,
        doc: JsonObject,
        members: list[str],
        displays: dict[str, str] | None = None,
    ) -> GroupEntry:
        index = self._index.tenant(namespace)
        scim_id, meta = _new_meta(doc)
        obj = group_object(doc, scim_id=scim_id, meta=meta, namespace=namespace)
        try:
            created = await _guard(
                self._kube.create(GROUP_KIND, _with_finalizers(obj, self._finalizers), namespace)
            )
        except AlreadyExists as exc:  # a fresh UUID never collides; be explicit anyway
            raise scim.Conflict("group id collision; retry") from exc
        entry = index.put_group(created)
        assert entry is not None
        if members:
            await self.append(namespace, entry, add=members, remove=[], displays=displays)
        return entry

    async def update(
        self,
        namespace: str,
        scim_id: str,
        mutate: GroupMutation,
        *,
        precondition: GroupPrecondition | None = None,
    ) -> GroupEntry:
        index = self._index.tenant(namespace)
        for _attempt in range(MAX_ATTEMPTS):
            entry = index.group(scim_id)
            if entry is None:
                raise scim.NotFound(f"Group {scim_id} not found")
            if precondition is not None:
                precondition(entry, index.member_log(entry).latest)
            old_doc = entry.doc()
            new_doc, add, remove, displays = mutate(old_doc, index.members(entry))
            if new_doc != old_doc:
                meta = Meta(entry.meta.created, now_iso(), content_version(new_doc))
                try:
                    updated, written = await _write_document(
                        self._kube, GROUP_KIND, namespace, entry.object_name, entry.rv,
                        old_doc, new_doc, meta,
                    )  # fmt: skip
                except scim.NotFound:
                    index.drop_group({"metadata": {"name": entry.object_name}})
                    raise
                if not written:
                    index.put_group(updated)  # stale: mutate the fresh object again
                    continue
                refreshed = index.put_group(updated)
                assert refreshed is not None
                entry = refreshed
            if add or remove:
                await self.append(namespace, entry, add=add, remove=remove, displays=displays)
            return entry
        raise scim.ServiceUnavailable("too many concurrent updates of this group; retry")

    async def delete(
        self, namespace: str, scim_id: str, *, precondition: GroupPrecondition | None = None
    ) -> GroupEntry:
        index = self._index.tenant(namespace)
        entry = index.group(scim_id)
        if entry is None:
            raise scim.NotFound(f"Group {scim_id} not found")
        if precondition is not None:
            precondition(entry, index.member_log(entry).latest)
        name = entry.object_name
        try:
            response = await _guard(self._kube.delete(GROUP_KIND, name, namespace, uid=entry.uid))
        except scim.NotFound:
            index.drop_group({"metadata": {"name": name}})
            raise
        except Conflict:
            raise scim.NotFound(f"Group {scim_id} not found") from None
        _after_delete(response, name, entry.rv, index.put_group, index.drop_group)
        return entry

    # -- the member log ----------------------------------------------------------------
    async def append(
        self,
        namespace: str,
        group: GroupEntry,
        *,
        add: list[str],
        remove: list[str],
        displays: dict[str, str] | None = None,
    ) -> None:
        """Write the net member change as Delta entries (one entry up to 10,000 + 10,000 ids).

        An entry applies its adds, then its removes; ``add`` and ``remove`` are disjoint.
        """
        for delta in memberlog.delta_chunks(add, remove, displays):
            await self._write_entry(namespace, group, delta)
        self._maybe_compact(namespace, group)

    async def _write_entry(
        self, namespace: str, group: GroupEntry, entry: Entry, *, fixed: bool = False
    ) -> int:
        """Create one log entry at the next free seq (``fixed``: at ``entry.seq`` or not at
        all — :class:`AlreadyExists`). Returns its seq."""
        index = self._index.tenant(namespace)
        log_ = index.member_log(group)
        ref = GroupRef(namespace, group.object_name, group.uid, group.id)
        current = entry.seq if fixed else log_.latest + 1
        for _attempt in range(64):
            obj = memberlog.encode(entry.at(current), ref)
            try:
                created = await _guard(self._kube.create(MEMBER_BATCH, obj, namespace))
            except AlreadyExists:
                if fixed:
                    raise
                current = max(current + 1, log_.latest + 1)
                continue
            index.put_batch(created)
            return current
        raise scim.ServiceUnavailable("member log contention; retry")

    def _maybe_compact(self, namespace: str, group: GroupEntry) -> None:
        index = self._index.tenant(namespace)
        log_ = index.member_log(group)
        if not log_.needs_compaction(group.synced_seq):
            return
        key = (namespace, group.id)
        if key in self._compacting or log_.pending:
            return
        self._compacting.add(key)
        task = asyncio.get_running_loop().create_task(self._compact(namespace, group, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _compact(self, namespace: str, group: GroupEntry, key: tuple[str, str]) -> None:
        """Write a Snapshot of the current set, then delete the entries it supersedes.

        The snapshot takes the next seq like any entry; if a member change takes it first,
        the snapshot is recomputed for the seq after (a few attempts, then later).
        """
        try:
            index = self._index.tenant(namespace)
            log_ = index.member_log(group)
            for _attempt in range(5):
                if log_.pending or log_.applied != log_.latest:
                    await asyncio.sleep(0.1)  # entries still arriving: state not exact yet
                    continue
                seq = log_.latest + 1
                parts = memberlog.snapshot_parts(seq, sorted(log_.members), log_.displays)
                try:
                    for part in parts:
                        await self._write_entry(namespace, group, part, fixed=True)
                except AlreadyExists:
                    continue  # a member change took this seq first
                for name in log_.names_below(seq):
                    with contextlib.suppress(scim.NotFound):
                        await _guard(self._kube.delete(MEMBER_BATCH, name, namespace))
                return
        except Exception:  # background work: log, never crash the loop
            log.exception("compacting the member log of group %s failed", group.id)
        finally:
            self._compacting.discard(key)

    async def drain(self) -> None:
        """Wait for background compactions (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
