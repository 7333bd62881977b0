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
import itertools
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from zero_scim.kube.coordinates import GROUP_KIND, LABEL_SCIM_ID, MEMBER_BATCH, USER
from zero_scim.kube.names import username_key
from zero_scim.scim import errors as scim
from zero_scim_api.storage.codec import (
    Meta,
    batch_object,
    content_version,
    doc_to_spec,
    group_object,
    now_iso,
    user_object,
)
from zero_scim_api.storage.index import ClusterIndex, GroupEntry, TenantIndex, UserEntry
from zero_scim_api.storage.kubeapi import (
    AlreadyExists,
    Conflict,
    Invalid,
    KubeApi,
    KubeError,
    NotFound,
    resource_path,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_IDS_PER_ENTRY = 20_000
COMPACT_ABOVE = 64  # entries, once the operator has synced them
COMPACT_FORCE_ABOVE = 1024  # entries, synced or not
TERMINATING_WAIT = 3.0  # seconds to wait for a deleted user's finalizer before a 409

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")

UserPrecondition = Callable[[UserEntry], None]
GroupPrecondition = Callable[[GroupEntry, int], None]  # (entry, latest member seq)
#: (document, current members) -> (new document, added ids, removed ids, displays sent
#: with added members).
GroupMutation = Callable[
    [dict[str, Any], set[str]],
    tuple[dict[str, Any], list[str], list[str], dict[str, str]],
]


def merge_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 merge patch turning ``old`` into ``new`` (lists replace wholesale)."""
    patch: dict[str, Any] = {}
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


async def _guard(call: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """Await a Kubernetes call, mapping the errors callers do not handle themselves."""
    try:
        return await call
    except (AlreadyExists, Conflict):
        raise
    except KubeError as exc:
        raise _kube_to_scim(exc) from exc


class _Stale(Exception):
    """The object changed since the index read it; ``fresh`` is its current state."""

    def __init__(self, fresh: dict[str, Any]) -> None:
        super().__init__("stale resourceVersion")
        self.fresh = fresh


async def _write_document(
    kube: KubeApi,
    path: str,
    rv: int,
    old_doc: dict[str, Any],
    new_doc: dict[str, Any],
    meta: Meta,
) -> dict[str, Any]:
    """Merge-patch an object's spec from ``old_doc`` to ``new_doc``, if still at ``rv``.

    Raises :class:`_Stale` with the fresh object when someone wrote in between.
    """
    spec = merge_patch(doc_to_spec(old_doc), doc_to_spec(new_doc))
    spec["meta"] = meta.to_spec()
    patch = {"metadata": {"resourceVersion": str(rv)}, "spec": spec}
    try:
        return await _guard(kube.merge_patch(path, patch))
    except Conflict:
        raise _Stale(await _guard(kube.get(path))) from None


def _apply_delete_response(
    index: TenantIndex, kind: str, response: dict[str, Any], name: str, rv: int
) -> None:
    """Reflect a DELETE in the index: still there with finalizers, or gone.

    An object deleted outright is answered with a ``Status``, not the object: it is
    dropped by name, with its last known resourceVersion as the tombstone.
    """
    metadata = response.get("metadata", {}) if response.get("kind") != "Status" else {}
    if metadata.get("deletionTimestamp") and metadata.get("finalizers"):
        index.put_user(response) if kind == "users" else index.put_group(response)
        return
    gone = {"metadata": {"name": name, "resourceVersion": str(max(rv, _rv(metadata)))}}
    index.drop_user(gone) if kind == "users" else index.drop_group(gone)


def _new_object(
    build: Callable[..., dict[str, Any]],
    doc: dict[str, Any],
    namespace: str,
    finalizers: list[str],
) -> dict[str, Any]:
    """A new ScimUser/ScimGroup object: a fresh SCIM id, ``meta`` stamped now."""
    now = now_iso()
    meta = Meta(created=now, last_modified=now, version=content_version(doc))
    obj = build(doc, scim_id=str(uuid.uuid4()), meta=meta, namespace=namespace)
    if finalizers:
        obj["metadata"]["finalizers"] = list(finalizers)
    return obj


def _rv(metadata: dict[str, Any]) -> int:
    try:
        return int(metadata.get("resourceVersion", 0))
    except (TypeError, ValueError):
        return 0


class UserRepository:
    def __init__(
        self, kube: KubeApi, index: ClusterIndex, *, finalizers: tuple[str, ...] = ()
    ) -> None:
        self._kube = kube
        self._index = index
        self._finalizers = list(finalizers)

    async def create(self, namespace: str, doc: dict[str, Any]) -> UserEntry:
        index = self._index.tenant(namespace)
        obj = _new_object(user_object, doc, namespace, self._finalizers)
        created = await self._create_named(namespace, obj, doc["userName"])
        entry = index.put_user(created)
        assert entry is not None
        return entry

    async def _create_named(
        self, namespace: str, obj: dict[str, Any], user_name: str
    ) -> dict[str, Any]:
        """Create a ScimUser; its name is the userName claim (docs/architecture.md)."""
        path = resource_path(USER, namespace)
        name = obj["metadata"]["name"]
        deadline = asyncio.get_running_loop().time() + TERMINATING_WAIT
        while True:
            try:
                return await _guard(self._kube.create(path, obj))
            except AlreadyExists:
                pass
            try:
                occupant = await _guard(self._kube.get(resource_path(USER, namespace, name)))
            except scim.NotFound:
                continue  # gone between the two calls: try again
            if not occupant.get("metadata", {}).get("deletionTimestamp"):
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
        mutate: Callable[[dict[str, Any]], dict[str, Any]],
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
            if username_key(new_doc["userName"]) != entry.username_key:
                return await self._rename(namespace, entry, new_doc, meta)
            path = resource_path(USER, namespace, entry.object_name)
            try:
                updated = await _write_document(self._kube, path, entry.rv, old_doc, new_doc, meta)
            except _Stale as stale:
                index.put_user(stale.fresh)
                continue
            except scim.NotFound:
                index.drop_user({"metadata": {"name": entry.object_name}})
                raise
            result = index.put_user(updated)
            assert result is not None
            return result
        raise scim.ServiceUnavailable("too many concurrent updates of this user; retry")

    async def _rename(
        self, namespace: str, entry: UserEntry, new_doc: dict[str, Any], meta: Meta
    ) -> UserEntry:
        """A new userName is a new object name: create it, then delete the old object."""
        index = self._index.tenant(namespace)
        obj = user_object(new_doc, scim_id=entry.id, meta=meta, namespace=namespace)
        if self._finalizers:
            obj["metadata"]["finalizers"] = list(self._finalizers)
        created = await self._create_named(namespace, obj, new_doc["userName"])
        result = index.put_user(created)
        assert result is not None
        await self._delete_object(index, entry)
        return result

    async def _delete_object(self, index: TenantIndex, entry: UserEntry) -> None:
        path = resource_path(USER, index.namespace, entry.object_name)
        try:
            response = await _guard(self._kube.delete(path, uid=entry.uid))
        except scim.NotFound:
            index.drop_user({"metadata": {"name": entry.object_name}})
            return
        except Conflict:
            return  # a different object (new uid) now has that name: not ours to delete
        _apply_delete_response(index, "users", response, entry.object_name, entry.rv)

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
            for kind in (USER, GROUP_KIND):
                page = await _guard(
                    self._kube.get(resource_path(kind, namespace), {"labelSelector": selector})
                )
                for item in page.get("items", []):
                    if item.get("metadata", {}).get("deletionTimestamp"):
                        continue
                    found.add(str(item.get("spec", {}).get("id")))
                    index.put_user(item) if kind is USER else index.put_group(item)
        return [i for i in ids if i not in found]


class GroupRepository:
    def __init__(
        self, kube: KubeApi, index: ClusterIndex, *, finalizers: tuple[str, ...] = ()
    ) -> None:
        self._kube = kube
        self._index = index
        self._finalizers = list(finalizers)
        self._compacting: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def create(
        self,
        namespace: str,
        doc: dict[str, Any],
        members: list[str],
        displays: dict[str, str] | None = None,
    ) -> GroupEntry:
        index = self._index.tenant(namespace)
        obj = _new_object(group_object, doc, namespace, self._finalizers)
        try:
            created = await _guard(self._kube.create(resource_path(GROUP_KIND, namespace), obj))
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
                path = resource_path(GROUP_KIND, namespace, entry.object_name)
                try:
                    updated = await _write_document(
                        self._kube, path, entry.rv, old_doc, new_doc, meta
                    )
                except _Stale as stale:
                    index.put_group(stale.fresh)
                    continue
                except scim.NotFound:
                    index.drop_group({"metadata": {"name": entry.object_name}})
                    raise
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
        path = resource_path(GROUP_KIND, namespace, entry.object_name)
        try:
            response = await _guard(self._kube.delete(path, uid=entry.uid))
        except scim.NotFound:
            index.drop_group({"metadata": {"name": entry.object_name}})
            raise
        except Conflict:
            raise scim.NotFound(f"Group {scim_id} not found") from None
        _apply_delete_response(index, "groups", response, entry.object_name, entry.rv)
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
        size = MAX_IDS_PER_ENTRY // 2
        adds = [add[i : i + size] for i in range(0, len(add), size)]
        removes = [remove[i : i + size] for i in range(0, len(remove), size)]
        empty: list[str] = []
        for chunk_add, chunk_remove in itertools.zip_longest(adds, removes, fillvalue=empty):
            chunk_displays = (
                {m: displays[m] for m in chunk_add if m in displays} if displays else {}
            )
            await self._write_entry(
                namespace, group, "Delta", chunk_add, chunk_remove, displays=chunk_displays
            )
        self._maybe_compact(namespace, group)

    async def _write_entry(
        self,
        namespace: str,
        group: GroupEntry,
        kind: str,
        add: list[str],
        remove: list[str],
        *,
        seq: int | None = None,
        part: int = 0,
        parts: int = 1,
        displays: dict[str, str] | None = None,
    ) -> int:
        """Create one log entry; without ``seq``, take the next free one. Returns its seq."""
        index = self._index.tenant(namespace)
        log_ = index.member_log(group)
        path = resource_path(MEMBER_BATCH, namespace)
        fixed = seq is not None
        current = seq if seq is not None else log_.latest + 1
        for _attempt in range(64):
            obj = batch_object(
                group_object_name_=group.object_name,
                group_uid=group.uid,
                group_id=group.id,
                namespace=namespace,
                seq=current,
                kind=kind,
                add=add,
                remove=remove,
                part=part,
                parts=parts,
                displays=displays,
            )
            try:
                created = await _guard(self._kube.create(path, obj))
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
        entries = log_.entry_count
        synced = group.synced_seq >= log_.applied
        if entries <= COMPACT_ABOVE or (not synced and entries <= COMPACT_FORCE_ABOVE):
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
                members = sorted(log_.members)
                chunks = [
                    members[i : i + MAX_IDS_PER_ENTRY]
                    for i in range(0, len(members), MAX_IDS_PER_ENTRY)
                ] or [[]]
                try:
                    for part, chunk in enumerate(chunks):
                        await self._write_entry(
                            namespace,
                            group,
                            "Snapshot",
                            chunk,
                            [],
                            seq=seq,
                            part=part,
                            parts=len(chunks),
                            displays={m: log_.displays[m] for m in chunk if m in log_.displays},
                        )
                except AlreadyExists:
                    continue  # a member change took this seq first
                obsolete = [n for s, names in list(log_.names.items()) if s < seq for n in names]
                for name in obsolete:
                    with contextlib.suppress(scim.NotFound):
                        await _guard(
                            self._kube.delete(resource_path(MEMBER_BATCH, namespace, name))
                        )
                return
        except Exception:  # background work: log, never crash the loop
            log.exception("compacting the member log of group %s failed", group.id)
        finally:
            self._compacting.discard(key)

    async def drain(self) -> None:
        """Wait for background compactions (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
