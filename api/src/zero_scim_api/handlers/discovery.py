"""Discovery (RFC 7644 §4): ``/ServiceProviderConfig``, ``/ResourceTypes``, ``/Schemas``.

They tell the truth about this server: PATCH, filtering (with ``maxResults``), sorting
and ETags are supported; Bulk and password changes are not; clients authenticate with
a bearer token. Like every SCIM route they need the tenant's token (Entra and SCIM tools
send it anyway; nothing is served to anonymous callers). Filters are not supported on
these endpoints: a ``filter`` parameter gets 403 (RFC 7644 §4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import falcon.asgi

from zero_scim.scim import (
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
    AuthenticationScheme,
    Forbidden,
    NotFound,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    list_response,
    service_provider_config,
)
from zero_scim_api.config import Settings
from zero_scim_api.handlers.common import base_url, send
from zero_scim_api.request import ScimRequest

RESOURCE_TYPES: tuple[ResourceType, ...] = (USER, GROUP)
SCHEMAS: tuple[Schema, ...] = (USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA)
BEARER: AuthenticationScheme = {
    "type": "oauthbearertoken",
    "name": "OAuth Bearer Token",
    "description": "The tenant's secret token, sent as Authorization: Bearer",
    "specUri": "https://www.rfc-editor.org/info/rfc6750",
    "primary": True,
}


def _refuse_filter(req: ScimRequest) -> None:
    if any(name.casefold() == "filter" for name in req.params):
        raise Forbidden("filtering is not supported on discovery endpoints")


def provider_config(settings: Settings, base: str) -> ServiceProviderConfig:
    return service_provider_config(
        patch=True,
        max_results=settings.max_results,
        sort=True,
        etag=True,
        change_password=False,
        authentication_schemes=[BEARER],
        location=f"{base}/ServiceProviderConfig",
    )


class ServiceProviderConfigResource:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def on_get(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        _refuse_filter(req)
        send(resp, 200, provider_config(self.settings, base_url(req, self.settings)))


#: A discovery resource as JSON, given its ``meta.location``.
Definition = Callable[[str], Mapping[str, object]]


class Definitions:
    """``/ResourceTypes`` or ``/Schemas``: the list, and each one by its id (any case)."""

    def __init__(
        self, settings: Settings, endpoint: str, definitions: Mapping[str, Definition]
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.definitions = definitions
        self.by_folded_id = {item_id.casefold(): item_id for item_id in definitions}

    def _definition(self, req: ScimRequest, item_id: str) -> Mapping[str, object]:
        base = base_url(req, self.settings)
        return self.definitions[item_id](f"{base}/{self.endpoint}/{item_id}")

    async def on_get(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        _refuse_filter(req)
        items = [self._definition(req, item_id) for item_id in self.definitions]
        send(resp, 200, list_response(items, total_results=len(items)))

    async def on_get_item(self, req: ScimRequest, resp: falcon.asgi.Response, item_id: str) -> None:
        found = self.by_folded_id.get(item_id.casefold())
        if found is None:
            raise NotFound(f"no such {self.endpoint} resource")
        send(resp, 200, self._definition(req, found))


def resource_types(settings: Settings) -> Definitions:
    return Definitions(settings, "ResourceTypes", {rt.id: rt.definition for rt in RESOURCE_TYPES})


def schemas(settings: Settings) -> Definitions:
    return Definitions(settings, "Schemas", {schema.id: schema.definition for schema in SCHEMAS})
