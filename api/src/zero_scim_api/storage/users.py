"""Users as ScimUser objects: create (the name is the userName claim), update, rename,
delete — each one call from a service, within the storage deadline.

* **create**: the object name is derived from the userName (docs/architecture.md,
  "userName uniqueness"), so the API server refuses a second user with that name
  (``AlreadyExists``): 409 ``uniqueness``. If the occupant is being deleted (the
  operator's finalizer deletes downstream first), the create waits briefly for it.
* **update**: a merge patch if the object is still at the version the service read;
  otherwise :class:`~zero_scim_api.storage.results.Stale` with the fresh object. A new
  userName is a new object name: create it, then delete the old object (uid
  precondition) — ``spec.id`` and ``meta.created`` survive.
* **delete**: with a uid precondition; a rename interrupted between its two writes
  (two objects, one id) is finished by the next write to that user.

Every successful write goes into this replica's index at once (write-through).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from zero_scim.jsondata import JsonObject
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import USER
from zero_scim.kube.errors import AlreadyExists
from zero_scim.kube.names import username_key
from zero_scim.kube.objects import ScimUser
from zero_scim.scim import Uniqueness
from zero_scim_api.storage.codec import user_object
from zero_scim_api.storage.errors import storage_call
from zero_scim_api.storage.index import ClusterIndex, TenantIndex, UserEntry
from zero_scim_api.storage.results import WriteResult, Written
from zero_scim_api.storage.writes import (
    Held,
    Target,
    check_size,
    delete_object,
    new_meta,
    next_meta,
    update_document,
    with_finalizers,
)

log = logging.getLogger(__name__)

#: Seconds a create waits for a deleted user's finalizer before answering 409.
TERMINATING_WAIT: Final = 3.0


def _target(entry: UserEntry, namespace: str) -> Target[ScimUser]:
    return Target(USER, namespace, entry.object_name, entry.rv, entry.uid)


def _held(index: TenantIndex) -> Held[ScimUser, UserEntry]:
    return Held(index.put_user, index.drop_user, index.user)


class UserRepository:
    def __init__(
        self,
        kube: KubeClient,
        index: ClusterIndex,
        *,
        timeout: float,
        finalizers: tuple[str, ...] = (),
    ) -> None:
        self._kube = kube
        self._index = index
        self._timeout = timeout
        self._finalizers = finalizers

    async def create(self, namespace: str, doc: JsonObject) -> UserEntry:
        """Create a user from its canonical document (409 ``uniqueness`` if taken)."""
        async with storage_call("create a user", self._timeout):
            scim_id, meta = new_meta(doc)
            obj = user_object(doc, scim_id=scim_id, meta=meta, namespace=namespace)
            return await self._create_named(namespace, obj)

    async def update(
        self, namespace: str, expected: UserEntry, doc: JsonObject
    ) -> WriteResult[UserEntry]:
        """Write ``doc`` as the new document of the user read as ``expected``."""
        async with storage_call("update a user", self._timeout):
            index = self._index.tenant(namespace)
            await self._remove_leftovers(index, expected)
            if username_key(str(doc.get("userName", ""))) != expected.username_key:
                meta = next_meta(expected.meta, doc)
                obj = user_object(doc, scim_id=expected.id, meta=meta, namespace=namespace)
                return Written(await self._rename(index, expected, obj))
            return await update_document(
                self._kube, _target(expected, namespace), _held(index), expected, doc
            )

    async def delete(self, namespace: str, entry: UserEntry) -> bool:
        """Delete the user; False if it was gone already."""
        async with storage_call("delete a user", self._timeout):
            index = self._index.tenant(namespace)
            await self._remove_leftovers(index, entry)
            return await self._delete_object(index, entry)

    # -- internals -----------------------------------------------------------------------
    async def _create_named(self, namespace: str, obj: ScimUser) -> UserEntry:
        """Create a ScimUser; its name is the userName claim (docs/architecture.md)."""
        check_size(obj["spec"])
        obj = with_finalizers(obj, self._finalizers)
        name = obj["metadata"].get("name", "")
        user_name = obj["spec"]["userName"]
        index = self._index.tenant(namespace)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TERMINATING_WAIT
        while True:
            try:
                created = await self._kube.create(USER, obj, namespace)
            except AlreadyExists:
                pass
            else:
                entry = index.put_user(created)
                assert entry is not None
                return entry
            occupant = await self._kube.find(USER, name, namespace)
            if occupant is None:
                continue  # gone between the two calls: try again
            if not occupant["metadata"].get("deletionTimestamp"):
                raise Uniqueness(f'userName "{user_name}" is already taken') from None
            if loop.time() > deadline:
                raise Uniqueness(
                    f'a user with userName "{user_name}" is still being deleted; retry later'
                ) from None
            await asyncio.sleep(0.1)

    async def _rename(self, index: TenantIndex, entry: UserEntry, obj: ScimUser) -> UserEntry:
        """A new userName is a new object name: create it, then delete the old object."""
        created = await self._create_named(index.namespace, obj)
        await self._delete_object(index, entry)
        return created

    async def _delete_object(self, index: TenantIndex, entry: UserEntry) -> bool:
        return await delete_object(self._kube, _target(entry, index.namespace), _held(index))

    async def _remove_leftovers(self, index: TenantIndex, entry: UserEntry) -> None:
        """Finish a rename that was interrupted between its create and its delete."""
        for leftover in index.user_alternates(entry.id):
            if not leftover.deleting:
                log.warning("removing an object left over from an interrupted rename")
                await self._delete_object(index, leftover)
