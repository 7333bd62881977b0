"""Queries at the SCIM root (RFC 7644 §3.4.2.1, §3.4.3): ``GET /`` and ``POST /.search``.

The result is the Users followed by the Groups that match, paged over that
concatenation; ``sortBy`` sorts within each type. A filter that is invalid for one type
only (a comparison the other type's schema allows) matches nothing of that type; one
that is invalid for both is 400 ``invalidFilter``.
"""

from __future__ import annotations

import dataclasses

import falcon.asgi

from zero_scim.scim import InvalidFilter, ListQuery
from zero_scim_api.config import Settings
from zero_scim_api.handlers.common import list_query, search_query, send, service_call
from zero_scim_api.handlers.resources import page_body
from zero_scim_api.request import ScimRequest
from zero_scim_api.services.common import Call, Page, Resources


class RootSearch:
    def __init__(self, services: list[Resources], settings: Settings) -> None:
        self.services = services
        self.settings = settings

    def _search(self, call: Call, query: ListQuery) -> Page:
        total = 0
        resources: list[dict[str, object]] = []
        failures: list[InvalidFilter] = []
        for service in self.services:
            sub_query = dataclasses.replace(
                query,
                start_index=max(1, query.start_index - total),
                count=max(0, query.count - len(resources)),
            )
            try:
                page = service.search(call, sub_query)
            except InvalidFilter as exc:
                failures.append(exc)
                continue
            resources.extend(page.resources)
            total += page.total
        if failures and len(failures) == len(self.services):
            raise failures[0]
        return Page(total=total, start_index=query.start_index, resources=resources)

    def _answer(self, req: ScimRequest, resp: falcon.asgi.Response, query: ListQuery) -> None:
        call = service_call(req, self.settings, projection=((), ()))
        send(resp, 200, page_body(self._search(call, query)))

    async def on_get_root(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        self._answer(req, resp, list_query(req, self.settings))

    async def on_post_search(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        self._answer(req, resp, search_query(req, self.settings))
