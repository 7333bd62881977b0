"""Users: SCIM semantics over the index (reads) and one storage call per write.

PATCH answers 200 with the full resource: Entra accepts 200 or 204 for users, and strict
SCIM clients (and `scim2-tester`) expect the resource (RFC 7644 §3.5.2). Every write
path validates the whole document with the SCIM core first — types, the storage bounds,
identifiers (no control characters, no white-space-only userName), no-value clearing —
so storage only ever receives what it can store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from zero_scim.jsondata import JsonObject
from zero_scim.scim import (
    USER,
    AttrPath,
    Filter,
    ListQuery,
    NotFound,
    PatchRequest,
    ValueFilter,
    apply_patch,
    compile_filter,
    compile_projection,
    equality_terms,
    normalize_user,
    parse_patch,
    render,
    sort_key,
    validate_filter,
)
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
from zero_scim_api.services.ports import Directory
from zero_scim_api.storage.index import TenantIndex, UserEntry
from zero_scim_api.storage.results import MemberDelta, WriteResult

#: A PUT or PATCH as a function of the current document (applied again after a lost race).
Change = Callable[[JsonObject], JsonObject]


def user_etag(entry: UserEntry) -> str:
    return weak_etag(entry.meta.version)


class UserService(Resources):
    def __init__(self, storage: Directory) -> None:
        self._storage = storage

    def _index(self, call: Call) -> TenantIndex:
        return self._storage.index.tenant(call.namespace)

    # -- rendering ---------------------------------------------------------------------
    def _resource(self, index: TenantIndex, entry: UserEntry, base_url: str) -> dict[str, object]:
        location = f"{base_url}/Users/{entry.id}"
        resource = render(
            entry.doc(),
            resource_type=USER,
            id=entry.id,
            meta=meta_json("User", entry.meta, location, user_etag(entry)),
        )
        groups: list[dict[str, object]] = []
        for group_id in sorted(index.groups_of(entry.id)):
            group = index.group(group_id)
            if group is not None:
                groups.append(
                    {
                        "value": group_id,
                        "$ref": f"{base_url}/Groups/{group_id}",
                        "display": group.doc().get("displayName"),
                        "type": "direct",
                    }
                )
        if groups:
            resource["groups"] = groups
        return resource

    def _view(self, index: TenantIndex, entry: UserEntry, call: Call) -> ResourceView:
        resource = self._resource(index, entry, call.base_url)
        if call.attributes or call.excluded:
            projection = compile_projection(call.attributes or None, call.excluded or None, USER)
            resource = projection.apply(resource)
        return ResourceView(resource, user_etag(entry), f"{call.base_url}/Users/{entry.id}")

    # -- reads -------------------------------------------------------------------------
    def get(self, call: Call, scim_id: str) -> ResourceView:
        index = self._index(call)
        return self._view(index, found(index.user(scim_id), "User", scim_id), call)

    def search(self, call: Call, query: ListQuery) -> Page:
        index = self._index(call)
        base_url = call.base_url
        if query.filter is None and not query.sort_by:
            # Only the page is rendered: no work proportional to the tenant's size but
            # counting it.
            entries = list(index.users())
            window = [self._resource(index, e, base_url) for e in query.page(entries)]
            total = len(entries)
        else:
            resources: Iterable[dict[str, object]] = (
                self._resource(index, e, base_url) for e in _candidates(index, query.filter)
            )
            if query.filter is not None:
                validate_filter(query.filter, USER)
                matcher = compile_filter(query.filter, USER)
                resources = (r for r in resources if matcher(r))
            matched = list(resources)
            if query.sort_by:
                sort_by = query.sort_by
                matched.sort(key=lambda r: sort_key(r, sort_by, USER), reverse=query.descending)
            total, window = len(matched), list(query.page(matched))
        if query.attributes or query.excluded_attributes:
            projection = compile_projection(
                query.attributes or None, query.excluded_attributes or None, USER
            )
            window = [projection.apply(r) for r in window]
        return Page(total=total, start_index=query.start_index, resources=window)

    # -- writes ------------------------------------------------------------------------
    async def create(self, call: Call, body: object) -> ResourceView:
        entry = await self._storage.users.create(call.namespace, normalize_user(body))
        return self._view(self._index(call), entry, call)

    async def replace(self, call: Call, scim_id: str, body: object) -> ResourceView:
        return await self._update(
            call, scim_id, lambda doc: normalize_user(body, for_replace=True, existing=doc)
        )

    async def patch(self, call: Call, scim_id: str, body: object) -> ResourceView:
        request: PatchRequest = parse_patch(body)
        return await self._update(
            call, scim_id, lambda doc: apply_patch(doc, request, USER, resource_id=scim_id).doc
        )

    async def _update(self, call: Call, scim_id: str, change: Change) -> ResourceView:
        """The one write path of PUT and PATCH: ``change`` maps the current document to
        the new one; it is applied again to the fresh document after a lost race."""
        index = self._index(call)
        namespace = call.namespace

        async def attempt(entry: UserEntry) -> WriteResult[UserEntry] | None:
            old = entry.doc()
            new = change(old)
            if new == old:
                return None
            return await self._storage.users.update(namespace, entry, new)

        entry = await write_loop(
            found(index.user(scim_id), "User", scim_id),
            attempt,
            kind="User",
            scim_id=scim_id,
            etag=user_etag,
            if_match=call.if_match,
        )
        return self._view(index, entry, call)

    async def delete(self, call: Call, scim_id: str) -> None:
        index = self._index(call)
        entry = found(index.user(scim_id), "User", scim_id)
        check_if_match(call.if_match, user_etag(entry))
        if not await self._storage.users.delete(call.namespace, entry):
            raise NotFound(f"User {scim_id} not found")
        # A deleted user leaves every group it was in (RFC 7644 §3.6).
        leave = MemberDelta(remove=(entry.id,))
        for group_id in sorted(index.groups_of(entry.id)):
            group = index.group(group_id)
            if group is not None:
                await self._storage.groups.update(call.namespace, group, None, leave)


def _candidates(index: TenantIndex, node: Filter | None) -> Iterable[UserEntry]:
    """Entries an index can narrow a filter to (re-checked by the caller), else all."""
    for path, value in equality_terms(node, USER) if node is not None else ():
        if not isinstance(value, str):
            continue
        ids: Iterable[str] | None = None
        if isinstance(path, AttrPath) and path.urn is None and path.sub_attr is None:
            if path.attr == "id":
                ids = [value]
            elif path.attr == "userName":
                user_id = index.user_id_by_username(value)
                ids = [user_id] if user_id else []
            elif path.attr == "externalId":
                ids = index.user_ids_by_external_id(value)
        elif _is_email_value(path):
            ids = index.user_ids_by_email(value)
        if ids is not None:
            return [e for e in (index.user(i) for i in ids) if e is not None]
    return index.users()


def _is_email_value(path: AttrPath | ValueFilter) -> bool:
    if isinstance(path, ValueFilter):
        return path.path.urn is None and path.path.attr == "emails" and path.sub_attr == "value"
    return path.urn is None and path.attr == "emails" and path.sub_attr == "value"
