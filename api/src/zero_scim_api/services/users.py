"""Users: SCIM semantics over the index (reads) and the repository (writes).

PATCH answers 200 with the full resource: Entra accepts 200 or 204 for users, and strict
SCIM clients (and `scim2-tester`) expect the resource (RFC 7644 §3.5.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from zero_scim.kube.tenants import Tenant
from zero_scim.scim import (
    USER,
    AttrPath,
    Filter,
    ListQuery,
    ValueFilter,
    apply_patch,
    compile_filter,
    compile_projection,
    equality_terms,
    normalize_user,
    render,
    sort_key,
    validate_filter,
)
from zero_scim.scim import errors as scim
from zero_scim_api.services.common import Page, ResourceView, check_if_match, meta_json, weak_etag
from zero_scim_api.storage.index import TenantIndex, UserEntry
from zero_scim_api.storage.repository import UserPrecondition
from zero_scim_api.storage.store import Storage


def user_etag(entry: UserEntry) -> str:
    return weak_etag(entry.meta.version)


class UserService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def _index(self, tenant: Tenant) -> TenantIndex:
        return self._storage.index.tenant(tenant.namespace)

    # -- rendering ---------------------------------------------------------------------
    def _resource(self, index: TenantIndex, entry: UserEntry, base_url: str) -> dict[str, Any]:
        location = f"{base_url}/Users/{entry.id}"
        resource = render(
            entry.doc(),
            resource_type=USER,
            id=entry.id,
            meta=meta_json("User", entry.meta, location, user_etag(entry)),
        )
        group_ids = index.groups_of(entry.id)
        if group_ids:
            groups = []
            for group_id in sorted(group_ids):
                group = index.group(group_id)
                if group is None:
                    continue
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

    def _view(
        self,
        index: TenantIndex,
        entry: UserEntry,
        base_url: str,
        attributes: Sequence[str] = (),
        excluded: Sequence[str] = (),
    ) -> ResourceView:
        resource = self._resource(index, entry, base_url)
        if attributes or excluded:
            resource = compile_projection(attributes or None, excluded or None, USER).apply(
                resource
            )
        return ResourceView(resource, user_etag(entry), f"{base_url}/Users/{entry.id}")

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
        entry = index.user(scim_id)
        if entry is None:
            raise scim.NotFound(f"User {scim_id} not found")
        return self._view(index, entry, base_url, attributes, excluded)

    def search(self, tenant: Tenant, query: ListQuery, *, base_url: str) -> Page:
        index = self._index(tenant)
        if query.filter is None and not query.sort_by:
            # Only the page is rendered: no work proportional to the tenant's size but
            # counting it.
            entries = list(index.users())
            window = [self._resource(index, e, base_url) for e in query.page(entries)]
            total = len(entries)
        else:
            resources: Iterable[dict[str, Any]] = (
                self._resource(index, e, base_url) for e in self._candidates(index, query)
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

    @staticmethod
    def _candidates(index: TenantIndex, query: ListQuery) -> Iterable[UserEntry]:
        narrowed = None if query.filter is None else _candidates(index, query.filter)
        return index.users() if narrowed is None else narrowed

    # -- writes ------------------------------------------------------------------------
    async def create(self, tenant: Tenant, body: Any, *, base_url: str) -> ResourceView:
        doc = normalize_user(body)
        entry = await self._storage.users.create(tenant.namespace, doc)
        return self._view(self._index(tenant), entry, base_url)

    async def replace(
        self, tenant: Tenant, scim_id: str, body: Any, *, base_url: str, if_match: str | None
    ) -> ResourceView:
        def mutate(current: dict[str, Any]) -> dict[str, Any]:
            return normalize_user(body, for_replace=True, existing=current)

        entry = await self._storage.users.update(
            tenant.namespace, scim_id, mutate, precondition=_precondition(if_match)
        )
        return self._view(self._index(tenant), entry, base_url)

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
        def mutate(current: dict[str, Any]) -> dict[str, Any]:
            return apply_patch(current, body, USER, resource_id=scim_id).doc

        entry = await self._storage.users.update(
            tenant.namespace, scim_id, mutate, precondition=_precondition(if_match)
        )
        return self._view(self._index(tenant), entry, base_url, attributes, excluded)

    async def delete(self, tenant: Tenant, scim_id: str, *, if_match: str | None) -> None:
        entry = await self._storage.users.delete(
            tenant.namespace, scim_id, precondition=_precondition(if_match)
        )
        # A deleted user leaves every group it was in (RFC 7644 §3.6).
        index = self._index(tenant)
        for group_id in sorted(index.groups_of(entry.id)):
            group = index.group(group_id)
            if group is not None:
                await self._storage.groups.append(
                    tenant.namespace, group, add=[], remove=[entry.id]
                )


def _precondition(if_match: str | None) -> UserPrecondition | None:
    if if_match is None:
        return None

    def check(entry: UserEntry) -> None:
        check_if_match(if_match, user_etag(entry))

    return check


def _candidates(index: TenantIndex, node: Filter) -> list[UserEntry] | None:
    """Entries an index can narrow a filter to (re-checked by the caller), or None: scan."""
    for path, value in equality_terms(node, USER):
        if not isinstance(value, str):
            continue
        ids: Iterable[str] | None = None
        if isinstance(path, AttrPath) and path.urn is None and path.sub_attr is None:
            if path.attr == "id":
                ids = [value]
            elif path.attr == "userName":
                found = index.user_id_by_username(value)
                ids = [found] if found else []
            elif path.attr == "externalId":
                ids = index.user_ids_by_external_id(value)
        elif _is_email_value(path):
            ids = index.user_ids_by_email(value)
        if ids is not None:
            return [e for e in (index.user(i) for i in ids) if e is not None]
    return None


def _is_email_value(path: AttrPath | ValueFilter) -> bool:
    if isinstance(path, ValueFilter):
        return path.path.urn is None and path.path.attr == "emails" and path.sub_attr == "value"
    return path.urn is None and path.attr == "emails" and path.sub_attr == "value"
