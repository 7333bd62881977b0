"""Falcon resources of sign-in: translate HTTP, cookies and redirects; no rules here.

People's routes (no API key; ``AuthMiddleware`` lets routes without ``orgId`` through):

``GET  /sso/start?org=ORG``   start signing in to ORG (302 to the identity provider)
``GET  /sso/callback``        the provider's redirect back (303 to ``/me``, or an error page)
``GET  /me``                  "who you are" page (the session cookie)
``GET  /v1/me``               the same as JSON
``POST /sso/logout``          end the session (303 to ``/sso/signed-out``)
``GET  /sso/signed-out``      the signed-out page

The org's admin route (API key, like every ``/v1/orgs/...`` route; a session never
authorises it): ``PUT | GET | DELETE /v1/orgs/{orgId}/sso``.

Cookies are HttpOnly and SameSite=Lax (the provider's redirect back is a top-level GET
navigation from another site, which Lax lets through), ``Secure`` as configured; with
``Secure`` they carry the ``__Host-`` prefix (no Domain, Path=/).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import falcon
import falcon.asgi

from zero_scim_accounts.errors import ApiError
from zero_scim_accounts.jsontypes import JsonObject
from zero_scim_accounts.models import SsoConfigIn
from zero_scim_accounts.protocol import precondition, read_body, send
from zero_scim_accounts.sso import pages
from zero_scim_accounts.sso.service import Callback, SignInError, SignInService
from zero_scim_accounts.sso.store import SessionView, SignIns, SsoConfig
from zero_scim_accounts.store import Database

Req = falcon.asgi.Request
Resp = falcon.asgi.Response

HTML = "text/html; charset=utf-8"
_EPOCH = datetime.fromtimestamp(0, UTC)
SESSION_COOKIE = "zero_session"
BINDING_COOKIE = "zero_signin"


def _html(resp: Resp, body: str, status: int = 200) -> None:
    resp.status = status
    resp.content_type = HTML
    resp.text = body
    _no_store(resp)
    resp.set_header("Content-Security-Policy", pages.CONTENT_SECURITY_POLICY)
    resp.set_header("X-Content-Type-Options", "nosniff")
    resp.set_header("X-Frame-Options", "DENY")


def _no_store(resp: Resp) -> None:
    resp.set_header("Cache-Control", "no-store")
    resp.set_header("Referrer-Policy", "no-referrer")


class Cookies:
    """The two cookies of sign-in, named and flagged by the service's Secure setting."""

    def __init__(self, service: SignInService) -> None:
        self.secure = service.secure_cookies
        prefix = "__Host-" if self.secure else ""
        self.session = prefix + SESSION_COOKIE
        self.binding = prefix + BINDING_COOKIE
        self._lifetime = int(service.settings.session_lifetime)
        self._tx_lifetime = int(service.settings.transaction_ttl)

    def read(self, req: Req, name: str) -> str | None:
        values = req.get_cookie_values(name) or []
        return values[0] if values else None

    def set_session(self, resp: Resp, value: str) -> None:
        self._set(resp, self.session, value, self._lifetime)

    def set_binding(self, resp: Resp, value: str) -> None:
        self._set(resp, self.binding, value, self._tx_lifetime)

    def clear_session(self, resp: Resp) -> None:
        self._set(resp, self.session, "", None)

    def _set(self, resp: Resp, name: str, value: str, max_age: int | None) -> None:
        resp.set_cookie(
            name,
            value,
            max_age=max_age,
            # Falcon leaves out Max-Age=0; an expiry in the past removes the cookie.
            expires=_EPOCH if max_age is None else None,
            path="/",
            secure=self.secure,
            http_only=True,
            same_site="Lax",
        )


class _SignIn:
    def __init__(self, service: SignInService | None) -> None:
        self._service = service
        self._cookies = Cookies(service) if service is not None else None

    def _require(self, resp: Resp) -> tuple[SignInService, Cookies] | None:
        if self._service is None or self._cookies is None:
            _html(resp, pages.error_page("sso_not_configured", None), 404)
            return None
        return self._service, self._cookies

    async def _session(self, req: Req) -> SessionView | None:
        if self._service is None or self._cookies is None:
            return None
        return await self._service.current(self._cookies.read(req, self._cookies.session))


def _failed(resp: Resp, error: SignInError) -> None:
    _html(resp, pages.error_page(error.code, error.org_id, error.username), error.status)
    resp.set_header("X-Zero-Error", error.code)


class SsoStart(_SignIn):
    """``GET /sso/start?org=ORG``"""

    async def on_get(self, req: Req, resp: Resp) -> None:
        wired = self._require(resp)
        if wired is None:
            return
        service, cookies = wired
        org_id = req.get_param("org")
        if not org_id:
            _failed(resp, SignInError(400, "bad_request", "no org given"))
            return
        try:
            started = await service.start(org_id, cookies.read(req, cookies.binding))
        except SignInError as exc:
            _failed(resp, exc)
            return
        cookies.set_binding(resp, started.binding)
        _no_store(resp)
        resp.status = 302
        resp.location = started.authorization_url


class SsoCallback(_SignIn):
    """``GET /sso/callback?code=...&state=...`` (or ``?error=...``)"""

    async def on_get(self, req: Req, resp: Resp) -> None:
        wired = self._require(resp)
        if wired is None:
            return
        service, cookies = wired
        callback = Callback(
            state=req.get_param("state"),
            code=req.get_param("code"),
            error=req.get_param("error"),
            error_description=req.get_param("error_description"),
            iss=req.get_param("iss"),
        )
        try:
            signed_in = await service.finish(callback, cookies.read(req, cookies.binding))
        except SignInError as exc:
            _failed(resp, exc)
            return
        cookies.set_session(resp, signed_in.session)
        _no_store(resp)
        resp.status = 303
        resp.location = "/me"


class MePage(_SignIn):
    """``GET /me``: who you are (HTML)."""

    async def on_get(self, req: Req, resp: Resp) -> None:
        view = await self._session(req)
        if view is None:
            _html(resp, pages.error_page("not_signed_in", None), 401)
            return
        _html(resp, pages.who_you_are(view))


class MeJson(_SignIn):
    """``GET /v1/me``: who you are (JSON)."""

    async def on_get(self, req: Req, resp: Resp) -> None:
        view = await self._session(req)
        if view is None:
            raise ApiError(401, "not_signed_in", "no valid Zero session (sign in at /sso/start)")
        profile = view.account.profile
        send(
            resp,
            {
                "orgId": view.org_id,
                "accountId": view.account.id,
                "externalKey": view.account.external_key,
                "userName": profile.get("userName"),
                "displayName": profile.get("displayName"),
                "email": profile.get("email"),
                "roles": profile.get("roles") or [],
                "groups": [
                    {"externalKey": g.external_key, "displayName": g.profile.get("displayName")}
                    for g in view.groups
                ],
                "identity": {"tenantId": view.tenant_id, "objectId": view.object_id},
                "session": {
                    "createdAt": view.created_at,
                    "expiresAt": view.expires_at,
                    "idleExpiresAt": view.idle_expires_at,
                },
            },
        )
        _no_store(resp)


class Logout(_SignIn):
    """``POST /sso/logout``"""

    async def on_post(self, req: Req, resp: Resp) -> None:
        wired = self._require(resp)
        if wired is None:
            return
        service, cookies = wired
        org_id = await service.sign_out(cookies.read(req, cookies.session))
        cookies.clear_session(resp)
        _no_store(resp)
        resp.status = 303
        resp.location = "/sso/signed-out" + (f"?org={quote(org_id, safe='')}" if org_id else "")


class SignedOut:
    """``GET /sso/signed-out``"""

    async def on_get(self, req: Req, resp: Resp) -> None:
        _html(resp, pages.signed_out(req.get_param("org")))


# -- the org's admin route ------------------------------------------------------------------


def sso_view(config: SsoConfig) -> JsonObject:
    return {
        "entraTenantId": config.tenant_id,
        "enabled": config.enabled,
        "version": config.version,
        "createdAt": config.created_at,
        "updatedAt": config.updated_at,
    }


class OrgSso:
    """``PUT | GET | DELETE /v1/orgs/{orgId}/sso``: which Entra tenant signs in to the org."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def on_put(self, req: Req, resp: Resp, orgId: str) -> None:
        body = await read_body(req, SsoConfigIn)
        cond = precondition(req)
        config, created = await self._db.run(
            lambda store: SignIns(store).put_config(orgId, body.entra_tenant_id, body.enabled, cond)
        )
        send(resp, sso_view(config), status=201 if created else 200, version=config.version)

    async def on_get(self, req: Req, resp: Resp, orgId: str) -> None:
        config = await self._db.run(lambda store: SignIns(store).config(orgId))
        if config is None:
            raise ApiError(404, "sso_not_found", f"org {orgId!r} has no single sign-on")
        send(resp, sso_view(config), version=config.version)

    async def on_delete(self, req: Req, resp: Resp, orgId: str) -> None:
        await self._db.run(lambda store: SignIns(store).delete_config(orgId))
        resp.status = 204
