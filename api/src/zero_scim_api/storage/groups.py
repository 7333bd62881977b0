"""Groups as ScimGroup objects plus their member log — each one call from a service.

A group's document (``displayName``, ``externalId``, extensions) is the ScimGroup's
spec; its members are the member log (:mod:`zero_scim_api.storage.members`). An update
takes both at once: the new document (or None: unchanged), written with a
resourceVersion precondition, then the net member change as Delta entries. If the
document is stale nothing is written and the service gets
:class:`~zero_scim_api.storage.results.Stale`; member entries need no precondition
(each takes the next free seq), so a member-only change is never stale.
"""

from __future__ import annotations

from zero_scim.jsondata import JsonObject
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import GROUP_KIND
from zero_scim.kube.errors import AlreadyExists
from zero_scim.kube.objects import ScimGroup
from zero_scim.scim import Conflict
from zero_scim_api.storage.codec import group_object
from zero_scim_api.storage.errors import storage_call
from zero_scim_api.storage.index import ClusterIndex, GroupEntry, TenantIndex
from zero_scim_api.storage.members import MemberLogWriter
from zero_scim_api.storage.results import MemberDelta, Stale, WriteResult, Written
from zero_scim_api.storage.writes import (
    Held,
    Target,
    check_size,
    delete_object,
    new_meta,
    update_document,
    with_finalizers,
)


def _target(entry: GroupEntry, namespace: str) -> Target[ScimGroup]:
    return Target(GROUP_KIND, namespace, entry.object_name, entry.rv, entry.uid)


def _held(index: TenantIndex) -> Held[ScimGroup, GroupEntry]:
    return Held(index.put_group, index.drop_group, index.group)


class GroupRepository:
    def __init__(
        self,
        kube: KubeClient,
        index: ClusterIndex,
        members: MemberLogWriter,
        *,
        timeout: float,
        finalizers: tuple[str, ...] = (),
    ) -> None:
        self._kube = kube
        self._index = index
        self._members = members
        self._timeout = timeout
        self._finalizers = finalizers

    async def create(self, namespace: str, doc: JsonObject, members: MemberDelta) -> GroupEntry:
        """Create a group from its canonical document, with its first members."""
        async with storage_call("create a group", self._timeout):
            index = self._index.tenant(namespace)
            scim_id, meta = new_meta(doc)
            obj = group_object(doc, scim_id=scim_id, meta=meta, namespace=namespace)
            check_size(obj["spec"])
            try:
                created = await self._kube.create(
                    GROUP_KIND, with_finalizers(obj, self._finalizers), namespace
                )
            except AlreadyExists:  # a fresh UUID never collides; be explicit anyway
                raise Conflict("group id collision; retry") from None
            entry = index.put_group(created)
            assert entry is not None
            if members:
                await self._members.append(namespace, entry, members)
            return entry

    async def update(
        self,
        namespace: str,
        expected: GroupEntry,
        doc: JsonObject | None,
        members: MemberDelta,
    ) -> WriteResult[GroupEntry]:
        """Write the new document (None: unchanged) of the group read as ``expected``, then
        its member change."""
        async with storage_call("update a group", self._timeout):
            index = self._index.tenant(namespace)
            entry = expected
            if doc is not None:
                result = await update_document(
                    self._kube, _target(expected, namespace), _held(index), expected, doc
                )
                if isinstance(result, Stale):
                    return result
                entry = result.entry
            if members:
                await self._members.append(namespace, entry, members)
            return Written(entry)

    async def delete(self, namespace: str, entry: GroupEntry) -> bool:
        """Delete the group (its log goes with it: ownerReferences); False if it was gone."""
        async with storage_call("delete a group", self._timeout):
            index = self._index.tenant(namespace)
            return await delete_object(self._kube, _target(entry, namespace), _held(index))
