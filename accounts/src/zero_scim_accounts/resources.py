"""Falcon resources for the org-scoped API and ``/healthz``: parse, call the store, render.

Route fields are named as in the contract (``orgId``, ``externalKey``) so that route
templates in ``/admin/stats`` read exactly like the documentation.
"""

from __future__ import annotations

from urllib.parse import quote

import falcon
import falcon.asgi

from zero_scim_accounts.errors import ApiError
from zero_scim_accounts.models import (
    MAX_BATCH,
    AccountIn,
    GroupIn,
    MembersBatchIn,
    check_external_key,
)
from zero_scim_accounts.protocol import (
    account_view,
    group_view,
    invalid,
    member_view,
    page_params,
    precondition,
    read_body,
    send,
    send_page,
    send_put,
)
from zero_scim_accounts.store import Database

Req = falcon.asgi.Request
Resp = falcon.asgi.Response


def _location(org_id: str, collection: str, key: str) -> str:
    """The created resource's path, percent-encoded (header values must be ASCII)."""
    return f"/v1/orgs/{quote(org_id, safe='')}/{collection}/{quote(key, safe='')}"


def _key(key: str) -> str:
    try:
        return check_external_key(key)
    except ValueError as exc:
        raise invalid("externalKey", str(exc)) from None


class Health:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def on_get(self, req: Req, resp: Resp) -> None:
        await self._db.run(lambda store: store.ping())
        send(resp, {"status": "ok"})


class Accounts:
    """``GET /v1/orgs/{orgId}/accounts``"""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def on_get(self, req: Req, resp: Resp, orgId: str) -> None:
        after, limit = page_params(req, "accounts")
        page = await self._db.run(lambda store: store.list_accounts(orgId, after, limit))
        send_page(resp, page, account_view, "accounts")


class Account:
    """``PUT | GET | DELETE /v1/orgs/{orgId}/accounts/{externalKey}``"""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def on_put(self, req: Req, resp: Resp, orgId: str, externalKey: str) -> None:
        key = _key(externalKey)
        body = await read_body(req, AccountIn)
        if body.manager_key == key:
            raise invalid("managerKey", "an account cannot be its own manager")
        cond = precondition(req)
        record, created = await self._db.run(
            lambda store: store.put_account(orgId, key, body.profile(), body.active, cond)
        )
        location = _location(orgId, "accounts", key) if created else None
        send_put(resp, account_view(record), record.version, location)

    async def on_get(self, req: Req, resp: Resp, orgId: str, externalKey: str) -> None:
        record = await self._db.run(lambda store: store.get_account(orgId, externalKey))
        if record is None:
            raise ApiError(404, "account_not_found", f"account {externalKey!r} does not exist")
        send(resp, account_view(record), version=record.version)

    async def on_delete(self, req: Req, resp: Resp, orgId: str, externalKey: str) -> None:
        cond = precondition(req)
        await self._db.run(lambda store: store.delete_account(orgId, externalKey, cond))
        resp.status = 204


class AccountSwitch:
    """``POST /v1/orgs/{orgId}/accounts/{externalKey}:enable`` (or ``:disable``)"""

    def __init__(self, db: Database, *, enabled: bool) -> None:
        self._db = db
        self._enabled = enabled

    async def on_post(self, req: Req, resp: Resp, orgId: str, externalKey: str) -> None:
        cond = precondition(req)
        record = await self._db.run(
            lambda store: store.set_enabled(orgId, externalKey, self._enabled, cond)
        )
        send(resp, account_view(record), version=record.version)


class Groups:
    """``GET /v1/orgs/{orgId}/groups``"""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def on_get(self, req: Req, resp: Resp, orgId: str) -> None:
        after, limit = page_params(req, "groups")
        page = await self._db.run(lambda store: store.list_groups(orgId, after, limit))
        send_page(resp, page, group_view, "groups")


class Group:
    """``PUT | GET | DELETE /v1/orgs/{orgId}/groups/{externalKey}``"""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def on_put(self, req: Req, resp: Resp, orgId: str, externalKey: str) -> None:
        key = _key(externalKey)
        body = await read_body(req, GroupIn)
        cond = precondition(req)
        record, created = await self._db.run(
            lambda store: store.put_group(orgId, key, body.profile(), cond)
        )
        location = _location(orgId, "groups", key) if created else None
        send_put(resp, group_view(record), record.version, location)

    async def on_get(self, req: Req, resp: Resp, orgId: str, externalKey: str) -> None:
        record = await self._db.run(lambda store: store.get_group(orgId, externalKey))
        if record is None:
            raise ApiError(404, "group_not_found", f"group {externalKey!r} does not exist")
        send(resp, group_view(record), version=record.version)

    async def on_delete(self, req: Req, resp: Resp, orgId: str, externalKey: str) -> None:
        cond = precondition(req)
        await self._db.run(lambda store: store.delete_group(orgId, externalKey, cond))
        resp.status = 204


class Members:
    """``GET /v1/orgs/{orgId}/groups/{externalKey}/members``"""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def on_get(self, req: Req, resp: Resp, orgId: str, externalKey: str) -> None:
        collection = f"members/{externalKey}"
        after, limit = page_params(req, collection)
        page = await self._db.run(
            lambda store: store.list_members(orgId, externalKey, after, limit)
        )
        send_page(resp, page, member_view, collection)


class MembersBatch:
    """``POST /v1/orgs/{orgId}/groups/{externalKey}/members:batch``"""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def on_post(self, req: Req, resp: Resp, orgId: str, externalKey: str) -> None:
        body = await read_body(req, MembersBatchIn)
        count = len(body.add) + len(body.remove)
        if count > MAX_BATCH:
            raise ApiError(
                413,
                "batch_too_large",
                f"{count} keys in one batch; at most {MAX_BATCH} (add + remove) are allowed",
                details={"max": MAX_BATCH, "count": count},
            )
        both = sorted(set(body.add) & set(body.remove))
        if both:
            raise ApiError(
                422,
                "validation_failed",
                "a key cannot be both added and removed in one batch",
                details=[
                    {"field": "remove", "message": f"also in add: {k}", "type": "conflict"}
                    for k in both
                ],
            )
        result = await self._db.run(
            lambda store: store.change_members(orgId, externalKey, body.add, body.remove)
        )
        send(
            resp,
            {"added": result.added, "removed": result.removed, "missing": result.missing},
        )
