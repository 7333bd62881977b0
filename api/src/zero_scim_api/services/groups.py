"""Groups: SCIM semantics over the index (reads) and one storage call per write.

Members are never part of the group document: they come from the group's member log,
are rendered only when the response includes ``members`` (Entra always sends
``excludedAttributes=members``), and a write stores only their net change
(:class:`~zero_scim_api.storage.results.MemberDelta`). Every id a write adds must name
a user or group of the same tenant; that is settled before storage is called
(:mod:`zero_scim_api.services.members`: bounded, from the index, abandoned with the
client).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from zero_scim.jsondata import JsonObject
from zero_scim.scim import (
    GROUP,
    AttrPath,
    Filter,
    ListQuery,
    NotFound,
    PatchRequest,
    apply_patch,
    compile_filter,
    compile_projection,
    equality_terms,
    normalize_group,
    parse_patch,
    render,
    sort_key,
    validate_filter,
)
from zero_scim.scim.resources import Member
from zero_scim_api.services.common import (
    Call,
    Page,
    Resources,
    ResourceView,
    check_if_match,
    found,
    meta_json,
    weak_etag,
    write_loop,
)
from zero_scim_api.services.members import MemberCheck
from zero_scim_api.services.ports import Directory
from zero_scim_api.storage.index import GroupEntry, TenantIndex
from zero_scim_api.storage.results import NO_MEMBER_CHANGE, MemberDelta, WriteResult


def group_etag(entry: GroupEntry, member_seq: int) -> str:
    return weak_etag(f"{entry.meta.version}-{member_seq}")


@dataclass(frozen=True, slots=True)
class GroupChange:
    """A write computed on the current group: its new document and its member change."""

    doc: JsonObject
    members: MemberDelta


#: A PUT or PATCH as a function of the current document and member set.
Change = Callable[[JsonObject, set[str]], GroupChange]


class GroupService(Resources):
    def __init__(self, storage: Directory, members: MemberCheck) -> None:
        self._storage = storage
        self._members = members

    def _index(self, call: Call) -> TenantIndex:
        return self._storage.index.tenant(call.namespace)

    @staticmethod
    def _etag(index: TenantIndex, entry: GroupEntry) -> str:
        return group_etag(entry, index.member_log(entry).latest)

    # -- rendering ---------------------------------------------------------------------
    def _member_list(
        self, index: TenantIndex, entry: GroupEntry, base_url: str
    ) -> list[dict[str, object]]:
        members: list[dict[str, object]] = []
        sent = index.member_log(entry).displays
        for member_id in sorted(index.members(entry)):
            user = index.user(member_id)
            if user is not None:
                kind, display = "User", user.display
            else:
                group = index.group(member_id)
                kind = "Group"
                display = str(group.doc().get("displayName", "")) if group else ""
            display = sent.get(member_id, display)
            member: dict[str, object] = {
                "value": member_id,
                "$ref": f"{base_url}/{kind}s/{member_id}",
                "type": kind,
            }
            if display:
                member["display"] = display
            members.append(member)
        return members

    def _resource(
        self, index: TenantIndex, entry: GroupEntry, base_url: str, *, with_members: bool
    ) -> dict[str, object]:
        location = f"{base_url}/Groups/{entry.id}"
        return render(
            entry.doc(),
            resource_type=GROUP,
            id=entry.id,
            meta=meta_json("Group", entry.meta, location, self._etag(index, entry)),
            members=self._member_list(index, entry, base_url) if with_members else None,
        )

    def _filter_view(self, index: TenantIndex, entry: GroupEntry) -> dict[str, object]:
        """What a filter sees: the document, id, meta and the member set (lazily)."""
        meta = {
            "resourceType": "Group",
            "created": entry.meta.created,
            "lastModified": entry.meta.last_modified,
        }
        resource = render(entry.doc(), resource_type=GROUP, id=entry.id, meta=meta)
        resource["members"] = index.members(entry)
        return resource

    def _view(self, index: TenantIndex, entry: GroupEntry, call: Call) -> ResourceView:
        projection = compile_projection(call.attributes or None, call.excluded or None, GROUP)
        resource = self._resource(
            index, entry, call.base_url, with_members=projection.includes("members")
        )
        if call.attributes or call.excluded:
            resource = projection.apply(resource)
        location = f"{call.base_url}/Groups/{entry.id}"
        return ResourceView(resource, self._etag(index, entry), location)

    # -- reads -------------------------------------------------------------------------
    def get(self, call: Call, scim_id: str) -> ResourceView:
        index = self._index(call)
        return self._view(index, found(index.group(scim_id), "Group", scim_id), call)

    def search(self, call: Call, query: ListQuery) -> Page:
        index = self._index(call)
        entries: Iterable[GroupEntry]
        if query.filter is None:
            entries = index.groups()
        else:
            validate_filter(query.filter, GROUP)
            matcher = compile_filter(query.filter, GROUP)
            entries = (
                e for e in _candidates(index, query.filter) if matcher(self._filter_view(index, e))
            )
        matched = list(entries)
        if query.sort_by:
            sort_by = query.sort_by
            matched.sort(
                key=lambda e: sort_key(self._filter_view(index, e), sort_by, GROUP),
                reverse=query.descending,
            )
        projection = compile_projection(
            query.attributes or None, query.excluded_attributes or None, GROUP
        )
        with_members = projection.includes("members")
        window = [
            projection.apply(self._resource(index, e, call.base_url, with_members=with_members))
            for e in query.page(matched)
        ]
        return Page(total=len(matched), start_index=query.start_index, resources=window)

    # -- writes ------------------------------------------------------------------------
    async def create(self, call: Call, body: object) -> ResourceView:
        doc, members = normalize_group(body)
        index = self._index(call)
        delta = _added(members or [])
        await self._members.require(index, delta.add, call.connection)
        entry = await self._storage.groups.create(call.namespace, doc, delta)
        return self._view(index, entry, call)

    async def replace(self, call: Call, scim_id: str, body: object) -> ResourceView:
        def change(current: JsonObject, members: set[str]) -> GroupChange:
            doc, listed = normalize_group(body, for_replace=True, existing=current)
            if listed is None:  # PUT without members keeps them (not asserted)
                return GroupChange(doc, NO_MEMBER_CHANGE)
            wanted = _added(listed)
            keep = set(wanted.add)
            return GroupChange(
                doc,
                MemberDelta(
                    add=tuple(m for m in wanted.add if m not in members),
                    remove=tuple(sorted(m for m in members if m not in keep)),
                    displays=wanted.displays,
                ),
            )

        return await self._update(call, scim_id, change)

    async def patch(self, call: Call, scim_id: str, body: object) -> ResourceView:
        request: PatchRequest = parse_patch(body)

        def change(current: JsonObject, members: set[str]) -> GroupChange:
            outcome = apply_patch(current, request, GROUP, members=members, resource_id=scim_id)
            delta = MemberDelta(
                tuple(outcome.members_added),
                tuple(outcome.members_removed),
                outcome.member_displays,
            )
            return GroupChange(outcome.doc, delta)

        return await self._update(call, scim_id, change)

    async def _update(self, call: Call, scim_id: str, change: Change) -> ResourceView:
        """The one write path of PUT and PATCH: compute the change on the current group,
        settle its new members, make one storage call; again on the fresh group if stale."""
        index = self._index(call)
        namespace = call.namespace
        checked: set[str] = set()

        async def attempt(entry: GroupEntry) -> WriteResult[GroupEntry] | None:
            old = entry.doc()
            computed = change(old, index.members(entry))
            doc = computed.doc if computed.doc != old else None
            delta = computed.members
            if doc is None and not delta:
                return None
            await self._members.require(
                index, [m for m in delta.add if m not in checked], call.connection
            )
            checked.update(delta.add)
            return await self._storage.groups.update(namespace, entry, doc, delta)

        entry = await write_loop(
            found(index.group(scim_id), "Group", scim_id),
            attempt,
            kind="Group",
            scim_id=scim_id,
            etag=lambda e: self._etag(index, e),
            if_match=call.if_match,
        )
        return self._view(index, entry, call)

    async def delete(self, call: Call, scim_id: str) -> None:
        index = self._index(call)
        entry = found(index.group(scim_id), "Group", scim_id)
        check_if_match(call.if_match, self._etag(index, entry))
        if not await self._storage.groups.delete(call.namespace, entry):
            raise NotFound(f"Group {scim_id} not found")


def _added(members: Sequence[Member]) -> MemberDelta:
    """Members as sent (validated, deduplicated): their ids and the ``display`` sent with
    them, kept as sent (RFC 7643 §4.2)."""
    ids = tuple(dict.fromkeys(m["value"] for m in members))
    displays = {m["value"]: m["display"] for m in members if m.get("display")}
    return MemberDelta(add=ids, displays=displays)


def _candidates(index: TenantIndex, node: Filter) -> Iterable[GroupEntry]:
    """Entries an index can narrow a filter to (re-checked by the caller), else all."""
    for path, value in equality_terms(node, GROUP):
        if not isinstance(value, str) or not isinstance(path, AttrPath) or path.urn is not None:
            continue
        ids: Iterable[str] | None = None
        if path.sub_attr is None and path.attr == "id":
            ids = [value]
        elif path.sub_attr is None and path.attr == "displayName":
            ids = index.group_ids_by_display_name(value)
        elif path.sub_attr is None and path.attr == "externalId":
            ids = index.group_ids_by_external_id(value)
        elif path.attr == "members" and path.sub_attr in (None, "value"):
            ids = index.groups_of(value)
        if ids is not None:
            return [e for e in (index.group(i) for i in sorted(ids)) if e is not None]
    return index.groups()
