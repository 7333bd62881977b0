"""The app factory: the one place that wires store, middleware, resources and errors."""

from __future__ import annotations

import uuid
from typing import Any

import falcon
import falcon.asgi

from zero_scim_accounts import admin, resources
from zero_scim_accounts.auth import AuthMiddleware
from zero_scim_accounts.errors import ApiError, serialize_error
from zero_scim_accounts.faults import FaultInjector, FaultMiddleware
from zero_scim_accounts.sso import resources as sso
from zero_scim_accounts.sso.service import SignInService
from zero_scim_accounts.stats import Stats, StatsMiddleware
from zero_scim_accounts.store import (
    Database,
    EmailTaken,
    NotFound,
    PreconditionFailed,
    StoreError,
)

ORG = "/v1/orgs/{orgId}"


class RequestIdMiddleware:
    """Echo the caller's ``X-Request-Id`` (or a fresh one) on every response."""

    async def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        incoming = req.get_header("X-Request-Id")
        valid = incoming is not None and 0 < len(incoming) <= 128 and incoming.isprintable()
        req.context.request_id = incoming if valid else uuid.uuid4().hex

    async def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        resp.set_header("X-Request-Id", req.context.request_id)


async def _store_error(
    req: falcon.Request, resp: falcon.Response, exc: StoreError, params: dict[str, Any]
) -> None:
    """Translate a broken rule from the store into the contract's HTTP error."""
    if isinstance(exc, NotFound):
        raise ApiError(404, f"{exc.kind}_not_found", str(exc))
    if isinstance(exc, PreconditionFailed):
        raise ApiError(
            412,
            "precondition_failed",
            "the resource does not match If-Match / If-None-Match",
            details={"currentVersion": exc.current},
        )
    if isinstance(exc, EmailTaken):
        raise ApiError(
            409, "email_taken", str(exc), details={"email": exc.email, "conflictingKey": exc.holder}
        )
    raise exc  # pragma: no cover - every StoreError subclass is handled above


def create_app(
    db: Database,
    injector: FaultInjector,
    stats: Stats,
    *,
    admin_token: str | None,
    sign_in: SignInService | None = None,
) -> falcon.asgi.App[falcon.asgi.Request, falcon.asgi.Response]:
    """The service; ``sign_in`` serves Entra sign-in (without it, ``/sso/*`` answers 404)."""
    # Middleware order matters: stats first (its process_response runs last and sees the
    # final status), faults before auth (an outage does not check credentials).
    app: falcon.asgi.App[falcon.asgi.Request, falcon.asgi.Response] = falcon.asgi.App()
    app.add_middleware(StatsMiddleware(stats))
    app.add_middleware(RequestIdMiddleware())
    app.add_middleware(FaultMiddleware(injector))
    app.add_middleware(AuthMiddleware(db, admin_token))
    app.set_error_serializer(serialize_error)
    app.add_error_handler(StoreError, _store_error)

    app.add_route("/healthz", resources.Health(db))
    app.add_route(f"{ORG}/accounts", resources.Accounts(db))
    app.add_route(f"{ORG}/accounts/{{externalKey}}", resources.Account(db))
    app.add_route(
        f"{ORG}/accounts/{{externalKey}}:enable", resources.AccountSwitch(db, enabled=True)
    )
    app.add_route(
        f"{ORG}/accounts/{{externalKey}}:disable", resources.AccountSwitch(db, enabled=False)
    )
    app.add_route(f"{ORG}/groups", resources.Groups(db))
    app.add_route(f"{ORG}/groups/{{externalKey}}", resources.Group(db))
    app.add_route(f"{ORG}/groups/{{externalKey}}/members", resources.Members(db))
    app.add_route(f"{ORG}/groups/{{externalKey}}/members:batch", resources.MembersBatch(db))
    app.add_route(f"{ORG}/sso", sso.OrgSso(db))

    # People's routes: a session cookie, never an API key (and never for /v1/orgs/...).
    app.add_route("/sso/start", sso.SsoStart(sign_in))
    app.add_route("/sso/callback", sso.SsoCallback(sign_in))
    app.add_route("/sso/logout", sso.Logout(sign_in))
    app.add_route("/sso/signed-out", sso.SignedOut())
    app.add_route("/me", sso.MePage(sign_in))
    app.add_route("/v1/me", sso.MeJson(sign_in))

    app.add_route("/admin/orgs", admin.AdminOrgs(db))
    app.add_route("/admin/faults", admin.AdminFaults(injector))
    app.add_route("/admin/stats", admin.AdminStats(stats))
    return app
