"""Queries at the SCIM root (RFC 7644 §3.4.2.1, §3.4.3): ``GET /`` and ``POST /.search``.

The result is the Users followed by the Groups that match, paged over that
concatenation; ``sortBy`` sorts within each type. A filter that is invalid for one type
only (a comparison the other type's schema allows) matches nothing of that type; one
that is invalid for both is 400 ``invalidFilter``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import falcon.asgi

from zero_scim.kube.tenants import Tenant
from zero_scim.scim import InvalidFilter, ListQuery
from zero_scim_api.config import Settings
from zero_scim_api.handlers.common import base_url, list_query, search_query, send, tenant_of
from zero_scim_api.handlers.resources import ResourceService, page_body
from zero_scim_api.services.common import Page


class RootSearch:
    def __init__(self, services: list[ResourceService], settings: Settings) -> None:
        self.services = services
        self.settings = settings

    def _search(self, tenant: Tenant, query: ListQuery, base: str) -> Page:
        total = 0
        resources: list[dict[str, Any]] = []
        failures: list[InvalidFilter] = []
        for service in self.services:
            sub_query = dataclasses.replace(
                query,
                start_index=max(1, query.start_index - total),
                count=max(0, query.count - len(resources)),
            )
            try:
                page = service.search(tenant, sub_query, base_url=base)
            except InvalidFilter as exc:
                failures.append(exc)
                continue
            resources.extend(page.resources)
            total += page.total
        if failures and len(failures) == len(self.services):
            raise failures[0]
        return Page(total=total, start_index=query.start_index, resources=resources)

    async def on_get_root(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        page = self._search(
            tenant_of(req), list_query(req, self.settings), base_url(req, self.settings)
        )
        send(resp, 200, page_body(page))

    async def on_post_search(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        query = search_query(req, self.settings)
        page = self._search(tenant_of(req), query, base_url(req, self.settings))
        send(resp, 200, page_body(page))
