"""Discovery (RFC 7644 §4): ``/ServiceProviderConfig``, ``/ResourceTypes``, ``/Schemas``.

They tell the truth about this server: PATCH, filtering (with ``maxResults``), sorting
and ETags are supported; Bulk and password changes are not; clients authenticate with
a bearer token. Like every SCIM route they need the tenant's token (Entra and SCIM tools
send it anyway; nothing is served to anonymous callers). Filters are not supported on
these endpoints: a ``filter`` parameter gets 403 (RFC 7644 §4).
"""

from __future__ import annotations

from typing import Any

import falcon.asgi

from zero_scim.scim import (
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
    Forbidden,
    NotFound,
    ResourceType,
    Schema,
    list_response,
)
from zero_scim_api.config import Settings
from zero_scim_api.handlers.common import base_url, send

SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPES: tuple[ResourceType, ...] = (USER, GROUP)
SCHEMAS: tuple[Schema, ...] = (USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA)


def _refuse_filter(req: falcon.asgi.Request) -> None:
    if any(name.casefold() == "filter" for name in req.params):
        raise Forbidden("filtering is not supported on discovery endpoints")


def service_provider_config(settings: Settings, base: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_URN],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": settings.max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "The tenant's secret token, sent as Authorization: Bearer",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }


def resource_type_json(resource_type: ResourceType, base: str) -> dict[str, Any]:
    body = resource_type.to_scim_json()
    body["meta"] = {**body["meta"], "location": f"{base}/ResourceTypes/{resource_type.id}"}
    return body


def schema_json(schema: Schema, base: str) -> dict[str, Any]:
    body = schema.to_scim_json()
    body["meta"] = {**body["meta"], "location": f"{base}/Schemas/{schema.id}"}
    return body


class ServiceProviderConfig:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        _refuse_filter(req)
        send(resp, 200, service_provider_config(self.settings, base_url(req, self.settings)))


class ResourceTypes:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        _refuse_filter(req)
        base = base_url(req, self.settings)
        items = [resource_type_json(rt, base) for rt in RESOURCE_TYPES]
        send(resp, 200, list_response(items, total_results=len(items)))

    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, name: str
    ) -> None:
        for resource_type in RESOURCE_TYPES:
            if resource_type.id.casefold() == name.casefold():
                send(resp, 200, resource_type_json(resource_type, base_url(req, self.settings)))
                return
        raise NotFound("no such resource type")


class Schemas:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        _refuse_filter(req)
        base = base_url(req, self.settings)
        items = [schema_json(schema, base) for schema in SCHEMAS]
        send(resp, 200, list_response(items, total_results=len(items)))

    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, schema_id: str
    ) -> None:
        for schema in SCHEMAS:
            if schema.id.casefold() == schema_id.casefold():
                send(resp, 200, schema_json(schema, base_url(req, self.settings)))
                return
        raise NotFound("no such schema")
