"""Users and Groups: the collection (``/Users``), one resource (``/Users/{id}``) and the
per-type search (``/Users/.search``). One implementation serves both resource types;
they differ only in their service, their schema and the PATCH answer:

* PATCH of a User answers 200 with the resource (Entra accepts 200 or 204; strict SCIM
  clients want the resource, RFC 7644 §3.5.2);
* PATCH of a Group answers 204 without a body (Entra's documented expectation: a body
  with every member is "not advisable"), with the new ETag. A client that asks for a
  body by sending ``attributes`` or ``excludedAttributes`` gets 200 with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import falcon.asgi

from zero_scim.kube.tenants import Tenant
from zero_scim.scim import ListQuery, ResourceType, list_response
from zero_scim_api.config import Settings
from zero_scim_api.handlers.common import (
    PROJECTION_PARAMS,
    base_url,
    etag_matches,
    json_body,
    list_query,
    picked_params,
    project,
    projection_params,
    search_query,
    send,
    tenant_of,
)
from zero_scim_api.services.common import Page, ResourceView


class ResourceService(Protocol):
    """What :class:`~zero_scim_api.services.users.UserService` and the group service share."""

    def get(
        self,
        tenant: Tenant,
        scim_id: str,
        *,
        base_url: str,
        attributes: Sequence[str] = (),
        excluded: Sequence[str] = (),
    ) -> ResourceView: ...

    def search(self, tenant: Tenant, query: ListQuery, *, base_url: str) -> Page: ...

    async def create(self, tenant: Tenant, body: Any, *, base_url: str) -> ResourceView: ...

    async def replace(
        self, tenant: Tenant, scim_id: str, body: Any, *, base_url: str, if_match: str | None
    ) -> ResourceView: ...

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
    ) -> ResourceView: ...

    async def delete(self, tenant: Tenant, scim_id: str, *, if_match: str | None) -> None: ...


def page_body(page: Page) -> dict[str, Any]:
    return list_response(page.resources, total_results=page.total, start_index=page.start_index)


class Collection:
    """``/Users``, ``/Groups``: list (GET) and create (POST)."""

    def __init__(
        self, service: ResourceService, resource_type: ResourceType, settings: Settings
    ) -> None:
        self.service = service
        self.resource_type = resource_type
        self.settings = settings

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        query = list_query(req, self.settings)
        page = self.service.search(tenant_of(req), query, base_url=base_url(req, self.settings))
        send(resp, 200, page_body(page))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        attributes, excluded = projection_params(req, self.settings)
        view = await self.service.create(
            tenant_of(req), json_body(req), base_url=base_url(req, self.settings)
        )
        body = project(view.body, self.resource_type, attributes, excluded)
        send(resp, 201, body, etag=view.etag, location=view.location)


class Search:
    """``/Users/.search``, ``/Groups/.search``: a list query in a POST body."""

    def __init__(self, service: ResourceService, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        query = search_query(req, self.settings)
        page = self.service.search(tenant_of(req), query, base_url=base_url(req, self.settings))
        send(resp, 200, page_body(page))


class Item:
    """``/Users/{id}``, ``/Groups/{id}``: GET, PUT, PATCH, DELETE."""

    def __init__(
        self,
        service: ResourceService,
        resource_type: ResourceType,
        settings: Settings,
        *,
        patch_returns_body: bool,
    ) -> None:
        self.service = service
        self.resource_type = resource_type
        self.settings = settings
        self.patch_returns_body = patch_returns_body

    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, scim_id: str
    ) -> None:
        attributes, excluded = projection_params(req, self.settings)
        view = self.service.get(
            tenant_of(req),
            scim_id,
            base_url=base_url(req, self.settings),
            attributes=attributes,
            excluded=excluded,
        )
        if etag_matches(req.get_header("If-None-Match"), view.etag):
            send(resp, 304, etag=view.etag)
            return
        send(resp, 200, view.body, etag=view.etag, location=view.location)

    async def on_put(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, scim_id: str
    ) -> None:
        attributes, excluded = projection_params(req, self.settings)
        view = await self.service.replace(
            tenant_of(req),
            scim_id,
            json_body(req),
            base_url=base_url(req, self.settings),
            if_match=req.get_header("If-Match"),
        )
        body = project(view.body, self.resource_type, attributes, excluded)
        send(resp, 200, body, etag=view.etag, location=view.location)

    async def on_patch(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, scim_id: str
    ) -> None:
        attributes, excluded = projection_params(req, self.settings)
        with_body = self.patch_returns_body or bool(picked_params(req, PROJECTION_PARAMS))
        if not with_body:
            # 204 without a body: do not render (a large group's) members for nothing.
            attributes, excluded = ("id",), ("members",)
        view = await self.service.patch(
            tenant_of(req),
            scim_id,
            json_body(req),
            base_url=base_url(req, self.settings),
            if_match=req.get_header("If-Match"),
            attributes=attributes,
            excluded=excluded,
        )
        if with_body:
            send(resp, 200, view.body, etag=view.etag, location=view.location)
        else:
            send(resp, 204, etag=view.etag, location=view.location)

    async def on_delete(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, scim_id: str
    ) -> None:
        await self.service.delete(tenant_of(req), scim_id, if_match=req.get_header("If-Match"))
        send(resp, 204)
