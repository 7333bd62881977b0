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

import falcon.asgi

from zero_scim.scim import ListResponse, ResourceType, list_response
from zero_scim_api.config import Settings
from zero_scim_api.handlers.common import (
    PROJECTION_PARAMS,
    etag_matches,
    json_body,
    list_query,
    picked_params,
    project,
    projection_params,
    search_query,
    send,
    service_call,
)
from zero_scim_api.request import ScimRequest
from zero_scim_api.services.common import Page, Resources

#: The projection of a write whose answer has no body: render no (large) member list.
_NO_BODY = (("id",), ("members",))
_ALL = ((), ())


def page_body(page: Page) -> ListResponse:
    return list_response(page.resources, total_results=page.total, start_index=page.start_index)


class Collection:
    """``/Users``, ``/Groups``: list (GET) and create (POST)."""

    def __init__(self, service: Resources, resource_type: ResourceType, settings: Settings) -> None:
        self.service = service
        self.resource_type = resource_type
        self.settings = settings

    async def on_get(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        query = list_query(req, self.settings)
        page = self.service.search(service_call(req, self.settings, projection=_ALL), query)
        send(resp, 200, page_body(page))

    async def on_post(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        attributes, excluded = projection_params(req, self.settings)
        call = service_call(req, self.settings, projection=_ALL)
        view = await self.service.create(call, json_body(req))
        body = project(view.body, self.resource_type, attributes, excluded)
        send(resp, 201, body, etag=view.etag, location=view.location)


class Search:
    """``/Users/.search``, ``/Groups/.search``: a list query in a POST body."""

    def __init__(self, service: Resources, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    async def on_post(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        query = search_query(req, self.settings)
        page = self.service.search(service_call(req, self.settings, projection=_ALL), query)
        send(resp, 200, page_body(page))


class Item:
    """``/Users/{id}``, ``/Groups/{id}``: GET, PUT, PATCH, DELETE."""

    def __init__(
        self,
        service: Resources,
        resource_type: ResourceType,
        settings: Settings,
        *,
        patch_returns_body: bool,
    ) -> None:
        self.service = service
        self.resource_type = resource_type
        self.settings = settings
        self.patch_returns_body = patch_returns_body

    async def on_get(self, req: ScimRequest, resp: falcon.asgi.Response, scim_id: str) -> None:
        projection = projection_params(req, self.settings)
        view = self.service.get(service_call(req, self.settings, projection=projection), scim_id)
        if etag_matches(req.get_header("If-None-Match"), view.etag):
            send(resp, 304, etag=view.etag)
            return
        send(resp, 200, view.body, etag=view.etag, location=view.location)

    async def on_put(self, req: ScimRequest, resp: falcon.asgi.Response, scim_id: str) -> None:
        attributes, excluded = projection_params(req, self.settings)
        call = service_call(req, self.settings, projection=_ALL)
        view = await self.service.replace(call, scim_id, json_body(req))
        body = project(view.body, self.resource_type, attributes, excluded)
        send(resp, 200, body, etag=view.etag, location=view.location)

    async def on_patch(self, req: ScimRequest, resp: falcon.asgi.Response, scim_id: str) -> None:
        with_body = self.patch_returns_body or bool(picked_params(req, PROJECTION_PARAMS))
        # 204 without a body: do not render (a large group's) members for nothing.
        projection = projection_params(req, self.settings) if with_body else _NO_BODY
        call = service_call(req, self.settings, projection=projection)
        view = await self.service.patch(call, scim_id, json_body(req))
        if with_body:
            send(resp, 200, view.body, etag=view.etag, location=view.location)
        else:
            send(resp, 204, etag=view.etag, location=view.location)

    async def on_delete(self, req: ScimRequest, resp: falcon.asgi.Response, scim_id: str) -> None:
        await self.service.delete(service_call(req, self.settings, projection=_ALL), scim_id)
        send(resp, 204)
