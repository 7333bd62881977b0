"""The one place that wires the SCIM API: settings, storage, services, middleware, routes.

Routes (``{base}`` is ``settings.base_path``, ``/scim/v2`` by default)::

    {base}                          GET      query across Users and Groups
    {base}/.search                  POST     the same, in a SearchRequest body
    {base}/Users, /Groups           GET POST list (filter, paging, sorting), create
    {base}/Users/.search, ...       POST     list in a SearchRequest body
    {base}/Users/{id}, ...          GET PUT PATCH DELETE
    {base}/ServiceProviderConfig    GET
    {base}/ResourceTypes[/{name}]   GET
    {base}/Schemas[/{id}]           GET
    {base}/Bulk, {base}/Me          501 (not implemented)
    /healthz /readyz /metrics       operations, unauthenticated

Endpoint names are matched in any case (``/users``, ``/serviceproviderconfig``); ids
are not. Any other method on a known route is 405 with ``Allow``; any other path is 404;
both with a SCIM Error body.
"""

from __future__ import annotations

from typing import TypeAlias

import falcon.asgi

from zero_scim.scim import GROUP, USER
from zero_scim_api import errors
from zero_scim_api.config import Settings
from zero_scim_api.handlers.discovery import (
    ServiceProviderConfigResource,
    resource_types,
    schemas,
)
from zero_scim_api.handlers.ops import Health, MetricsEndpoint, Ready
from zero_scim_api.handlers.resources import Collection, Item, Search
from zero_scim_api.handlers.search import RootSearch
from zero_scim_api.handlers.unsupported import Bulk, Me
from zero_scim_api.metrics import Metrics
from zero_scim_api.middleware import AuthMiddleware, BodyMiddleware, RequestMiddleware
from zero_scim_api.request import ScimRequest
from zero_scim_api.services.groups import GroupService
from zero_scim_api.services.members import MemberCheck
from zero_scim_api.services.users import UserService
from zero_scim_api.storage.store import Storage

#: The app's type (Falcon's App is generic in its request and response classes).
ScimApp: TypeAlias = falcon.asgi.App[ScimRequest, falcon.asgi.Response]

#: The endpoint names under the base path (matched case-insensitively).
ENDPOINTS = ("Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas", "Bulk", "Me")


def create_app(settings: Settings, storage: Storage, *, metrics: Metrics | None = None) -> ScimApp:
    """The Falcon ASGI app over a started (or starting) ``storage``.

    ``metrics`` lets the caller create the registry first, so that the storage's
    ``on_watch_restart`` can feed it; by default the app makes its own.
    """
    metrics = metrics or Metrics()
    metrics.bind(storage)
    users = UserService(storage)
    groups = GroupService(storage, MemberCheck(settings.member_wait))

    app: ScimApp = falcon.asgi.App(
        request_type=ScimRequest,
        response_type=falcon.asgi.Response,
        middleware=[
            RequestMiddleware(settings, metrics, ENDPOINTS),
            AuthMiddleware(storage),
            BodyMiddleware(settings),
        ],
    )
    app.req_options.strip_url_path_trailing_slash = False  # the middleware does it
    app.req_options.keep_blank_qs_values = True
    errors.install(app)

    base = settings.base_path
    root = RootSearch([users, groups], settings)
    app.add_route(base or "/", root, suffix="root")
    app.add_route(f"{base}/.search", root, suffix="search")
    for endpoint, service, resource_type, patch_body in (
        ("Users", users, USER, True),
        ("Groups", groups, GROUP, False),
    ):
        app.add_route(f"{base}/{endpoint}", Collection(service, resource_type, settings))
        app.add_route(f"{base}/{endpoint}/.search", Search(service, settings))
        app.add_route(
            f"{base}/{endpoint}/{{scim_id}}",
            Item(service, resource_type, settings, patch_returns_body=patch_body),
        )
    app.add_route(f"{base}/ServiceProviderConfig", ServiceProviderConfigResource(settings))
    for definitions in (resource_types(settings), schemas(settings)):
        app.add_route(f"{base}/{definitions.endpoint}", definitions)
        app.add_route(f"{base}/{definitions.endpoint}/{{item_id}}", definitions, suffix="item")
    app.add_route(f"{base}/Bulk", Bulk())
    app.add_route(f"{base}/Me", Me())

    app.add_route("/healthz", Health())
    app.add_route("/readyz", Ready(storage))
    app.add_route("/metrics", MetricsEndpoint(metrics))
    return app
