"""Admin resources (``/admin/...``, admin token): orgs and keys, faults, stats.

Not part of the Zero contract -- these exist so tests and demos can shape the service.
"""

from __future__ import annotations

import falcon.asgi

from zero_scim_accounts.faults import FaultInjector
from zero_scim_accounts.models import FaultsIn, OrgIn
from zero_scim_accounts.protocol import read_body, send
from zero_scim_accounts.stats import Stats
from zero_scim_accounts.store import Database

Req = falcon.asgi.Request
Resp = falcon.asgi.Response


class AdminOrgs:
    """``GET /admin/orgs`` lists orgs; ``POST /admin/orgs`` creates one or adds keys."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def on_get(self, req: Req, resp: Resp) -> None:
        orgs = await self._db.run(lambda store: store.list_orgs())
        send(resp, {"items": orgs})

    async def on_post(self, req: Req, resp: Resp) -> None:
        body = await read_body(req, OrgIn)
        created = await self._db.run(
            lambda store: store.put_org(body.id, body.keys, replace_keys=body.replace_keys)
        )
        [org] = await self._db.run(lambda store: store.list_orgs(body.id))
        send(resp, org, status=201 if created else 200)


class AdminFaults:
    """``GET /admin/faults`` shows, ``PUT /admin/faults`` replaces the fault configuration."""

    def __init__(self, injector: FaultInjector) -> None:
        self._injector = injector

    async def on_get(self, req: Req, resp: Resp) -> None:
        send(resp, self._injector.snapshot())

    async def on_put(self, req: Req, resp: Resp) -> None:
        self._injector.configure(await read_body(req, FaultsIn))
        send(resp, self._injector.snapshot())


class AdminStats:
    """``GET /admin/stats`` shows, ``DELETE /admin/stats`` resets the request counters."""

    def __init__(self, stats: Stats) -> None:
        self._stats = stats

    async def on_get(self, req: Req, resp: Resp) -> None:
        send(resp, self._stats.snapshot())

    async def on_delete(self, req: Req, resp: Resp) -> None:
        self._stats.reset()
        resp.status = 204
