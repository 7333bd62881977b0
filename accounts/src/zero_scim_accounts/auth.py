"""Authentication: org API keys for ``/v1/orgs/{orgId}/...``, one admin token for ``/admin``.

``Authorization: Bearer <api-key>``. A missing, malformed or unknown key is 401 (with
``WWW-Authenticate``); a valid key used on another org's path is 403 -- whether or not
that org exists, so a key cannot probe for other orgs.
"""

from __future__ import annotations

import hmac
from typing import Any

import falcon

from zero_scim_accounts.errors import ApiError
from zero_scim_accounts.store import Database

ADMIN_PREFIX = "/admin/"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="zero-accounts"'}


def bearer_token(req: falcon.Request) -> str | None:
    header = req.get_header("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def is_admin_path(path: str) -> bool:
    return path.startswith(ADMIN_PREFIX) or path == ADMIN_PREFIX.rstrip("/")


class AuthMiddleware:
    """Checks credentials once the route (and so the ``orgId``) is known."""

    def __init__(self, db: Database, admin_token: str | None) -> None:
        self._db = db
        self._admin_token = admin_token

    async def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        if is_admin_path(req.path):
            self._check_admin(req)
            return
        org_id = params.get("orgId")
        if org_id is None:
            return  # /healthz
        token = bearer_token(req)
        if token is None:
            raise ApiError(
                401, "unauthorized", "missing or malformed bearer token", headers=_CHALLENGE
            )
        owner = await self._db.run(lambda store: store.org_for_key(token))
        if owner is None:
            raise ApiError(401, "unauthorized", "unknown API key", headers=_CHALLENGE)
        if owner != org_id:
            raise ApiError(403, "forbidden", f"this API key does not grant access to {org_id!r}")
        req.context.org_id = org_id

    def _check_admin(self, req: falcon.Request) -> None:
        if self._admin_token is None:
            raise ApiError(403, "admin_disabled", "no admin token configured (--admin-token)")
        token = bearer_token(req)
        if token is None or not hmac.compare_digest(token.encode(), self._admin_token.encode()):
            raise ApiError(401, "unauthorized", "admin token required", headers=_CHALLENGE)
