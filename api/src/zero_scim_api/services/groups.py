"""Groups: SCIM semantics over the index (reads) and the repository (writes).

Members are never part of the group document: they come from the group's member log,
are rendered only when the response includes ``members`` (Entra always sends
``excludedAttributes=members``), and a member PATCH writes only its net change.
Member ids must name users (or groups) of the same tenant; an unknown id is 400
``invalidValue``, after a direct check with the API server so that a user created a
moment ago through another replica is not refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from zero_scim.kube.tenants import Tenant
from zero_scim.scim import (
    GROUP,
    AttrPath,
    Filter,
    ListQuery,
    apply_patch,
    compile_filter,
    compile_projection,
    equality_terms,
    normalize_group,
    render,
    sort_key,
    validate_filter,
)
from zero_scim.scim import errors as scim
from zero_scim_api.services.common import Page, ResourceView, check_if_match, meta_json, weak_etag
from zero_scim_api.storage.index import GroupEntry, TenantIndex
from zero_scim_api.storage.repository import GroupPrecondition
from zero_scim_api.storage.store import Storage


def group_etag(entry: GroupEntry, member_seq: int) -> str:
    return weak_etag(f"{entry.meta.version}-{member_seq}")


class GroupService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def _index(self, tenant: Tenant) -> TenantIndex:
        return self._storage.index.tenant(tenant.namespace)

    # -- rendering ---------------------------------------------------------------------
    def _resource(
        self, index: TenantIndex, entry: GroupEntry, base_url: str, *, with_members: bool
    ) -> dict[str, Any]:
        location = f"{base_url}/Groups/{entry.id}"
        seq = index.member_log(entry).latest
        members = None
        if with_members:
            members = []
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
                member = {
                    "value": member_id,
                    "$ref": f"{base_url}/{kind}s/{member_id}",
                    "type": kind,
                }
                if display:
                    member["display"] = display
                members.append(member)
        return render(
            entry.doc(),
            resource_type=GROUP,
            id=entry.id,
            meta=meta_json("Group", entry.meta, location, group_etag(entry, seq)),
            members=members,
        )

    def _filter_view(self, index: TenantIndex, entry: GroupEntry) -> dict[str, Any]:
        """What a filter sees: the document, id, meta and the member set (lazily)."""
        resource = render(entry.doc(), resource_type=GROUP, id=entry.id, meta=_plain_meta(entry))
        resource["members"] = index.members(entry)
        return resource

    def _view(
        self,
        index: TenantIndex,
        entry: GroupEntry,
        base_url: str,
        attributes: Sequence[str] = (),
        excluded: Sequence[str] = (),
    ) -> ResourceView:
        projection = compile_projection(attributes or None, excluded or None, GROUP)
        resource = self._resource(
            index, entry, base_url, with_members=projection.includes("members")
        )
        if attributes or excluded:
            resource = projection.apply(resource)
        seq = index.member_log(entry).latest
        return ResourceView(resource, group_etag(entry, seq), f"{base_url}/Groups/{entry.id}")

    # -- reads -------------------------------------------------------------------------
    def get(
        self,
        tenant: Tenant,
        scim_id: str,
        *,
        base_url: str,
        attributes: Sequence[str] = (),
        excluded: Sequence[str] = (),
    ) -> ResourceView:
        index = self._index(tenant)
        entry = index.group(scim_id)
        if entry is None:
            raise scim.NotFound(f"Group {scim_id} not found")
        return self._view(index, entry, base_url, attributes, excluded)

    def search(self, tenant: Tenant, query: ListQuery, *, base_url: str) -> Page:
        index = self._index(tenant)
        entries: Iterable[GroupEntry]
        if query.filter is None:
            entries = index.groups()
        else:
            validate_filter(query.filter, GROUP)
            matcher = compile_filter(query.filter, GROUP)
            candidates = _candidates(index, query.filter)
            entries = (
                e
                for e in (index.groups() if candidates is None else candidates)
                if matcher(self._filter_view(index, e))
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
            projection.apply(self._resource(index, e, base_url, with_members=with_members))
            for e in query.page(matched)
        ]
        return Page(total=len(matched), start_index=query.start_index, resources=window)

    # -- writes ------------------------------------------------------------------------
    async def create(self, tenant: Tenant, body: Any, *, base_url: str) -> ResourceView:
        doc, members = normalize_group(body)
        index = self._index(tenant)
        ids = _dedupe(m["value"] for m in members or [])
        await self._check_members(tenant, index, ids)
        entry = await self._storage.groups.create(
            tenant.namespace, doc, ids, _displays(members or [])
        )
        return self._view(index, entry, base_url)

    async def replace(
        self, tenant: Tenant, scim_id: str, body: Any, *, base_url: str, if_match: str | None
    ) -> ResourceView:
        index = self._index(tenant)
        _, members_in_body = normalize_group(body)
        wanted = None if members_in_body is None else _dedupe(m["value"] for m in members_in_body)
        displays = _displays(members_in_body or [])
        if wanted:
            await self._check_members(tenant, index, wanted)

        def mutate(
            current: dict[str, Any], members: set[str]
        ) -> tuple[dict[str, Any], list[str], list[str], dict[str, str]]:
            doc, _ = normalize_group(body, for_replace=True, existing=current)
            if wanted is None:  # PUT without members keeps them (not asserted)
                return doc, [], [], {}
            wanted_set = set(wanted)
            return (
                doc,
                [m for m in wanted if m not in members],
                sorted(m for m in members if m not in wanted_set),
                displays,
            )

        entry = await self._storage.groups.update(
            tenant.namespace, scim_id, mutate, precondition=_precondition(if_match)
        )
        return self._view(index, entry, base_url)

    async def patch(
        self,
        tenant: Tenant,
        scim_id: str,
        body: Any,
        *,
        base_url: str,
        if_match: str | None,
        attributes: Sequence[str] = (),
        excluded: Sequence[str] = (),
    ) -> ResourceView:
        index = self._index(tenant)
        checked: set[str] = set()

        def mutate(
            current: dict[str, Any], members: set[str]
        ) -> tuple[dict[str, Any], list[str], list[str], dict[str, str]]:
            outcome = apply_patch(current, body, GROUP, members=members, resource_id=scim_id)
            unknown = [
                m for m in outcome.members_added if m not in checked and not _known(index, m)
            ]
            if unknown:
                raise _UnknownMembers(unknown)
            return (
                outcome.doc,
                outcome.members_added,
                outcome.members_removed,
                outcome.member_displays,
            )

        for _attempt in range(2):
            try:
                entry = await self._storage.groups.update(
                    tenant.namespace, scim_id, mutate, precondition=_precondition(if_match)
                )
                break
            except _UnknownMembers as exc:
                await self._check_members(tenant, index, exc.ids)
                checked.update(exc.ids)
        else:  # pragma: no cover - the second attempt has every id checked
            raise scim.ServiceUnavailable("member check did not converge; retry")
        return self._view(index, entry, base_url, attributes, excluded)

    async def delete(self, tenant: Tenant, scim_id: str, *, if_match: str | None) -> None:
        await self._storage.groups.delete(
            tenant.namespace, scim_id, precondition=_precondition(if_match)
        )

    # -- members -----------------------------------------------------------------------
    async def _check_members(self, tenant: Tenant, index: TenantIndex, ids: list[str]) -> None:
        missing = [m for m in ids if not _known(index, m)]
        if missing:
            missing = await self._storage.users.missing(tenant.namespace, missing)
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise scim.InvalidValue(f"members refer to unknown resources: {shown}")


class _UnknownMembers(Exception):
    def __init__(self, ids: list[str]) -> None:
        super().__init__(ids)
        self.ids = ids


def _known(index: TenantIndex, member_id: str) -> bool:
    return index.user(member_id) is not None or index.group(member_id) is not None


def _displays(members: list[dict[str, Any]]) -> dict[str, str]:
    """The ``display`` the client sent with members, kept as sent (RFC 7643 §4.2)."""
    return {
        m["value"]: m["display"]
        for m in members
        if isinstance(m.get("display"), str) and m["display"]
    }


def _dedupe(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _plain_meta(entry: GroupEntry) -> dict[str, Any]:
    return {
        "resourceType": "Group",
        "created": entry.meta.created,
        "lastModified": entry.meta.last_modified,
    }


def _precondition(if_match: str | None) -> GroupPrecondition | None:
    if if_match is None:
        return None

    def check(entry: GroupEntry, member_seq: int) -> None:
        check_if_match(if_match, group_etag(entry, member_seq))

    return check


def _candidates(index: TenantIndex, node: Filter) -> list[GroupEntry] | None:
    """Entries an index can narrow a filter to (re-checked by the caller), or None: scan."""
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
    return None
