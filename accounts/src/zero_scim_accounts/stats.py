"""Request counters, served at ``GET /admin/stats``.

Counts every non-admin request by route template and by concrete path, each split by
response status -- enough for a test to prove that an operator sent a request exactly once.
Counters live in memory and start from zero at each start (``DELETE /admin/stats`` resets).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import falcon

from zero_scim_accounts.auth import is_admin_path
from zero_scim_accounts.faults import FaultInjector
from zero_scim_accounts.jsontypes import JsonObject


class Stats:
    def __init__(self, injector: FaultInjector) -> None:
        self._injector = injector
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self._routes: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self._paths: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self._injector.injected.clear()

    def record(self, method: str, template: str | None, path: str, status: int) -> None:
        self.total += 1
        self._routes[f"{method} {template or '<unrouted>'}"][status] += 1
        self._paths[f"{method} {path}"][status] += 1

    def snapshot(self) -> JsonObject:
        def table(counts: dict[str, Counter[int]]) -> JsonObject:
            return {
                key: {str(status): n for status, n in sorted(by_status.items())}
                for key, by_status in sorted(counts.items())
            }

        return {
            "total": self.total,
            "routes": table(self._routes),
            "requests": table(self._paths),
            "faults": dict(sorted(self._injector.injected.items())),
        }


class StatsMiddleware:
    """Registered first, so its ``process_response`` runs last and sees the final status."""

    def __init__(self, stats: Stats) -> None:
        self._stats = stats

    async def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        if not is_admin_path(req.path):
            self._stats.record(req.method, req.uri_template, req.path, resp.status_code)
