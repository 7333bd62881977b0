"""Fault injection, switched at run time through ``PUT /admin/faults``.

For every non-admin request that matches the configured scope (path prefixes, methods),
in this order:

1. ``latency_ms`` (+ up to ``latency_jitter_ms``): the request is delayed first;
2. ``outage``: 503 ``service_unavailable`` until switched off;
3. ``rate_limit``: the next ``burst`` matching requests get 429 with ``Retry-After``;
4. ``error_rate``: that share of requests fail with ``error_status`` (500). With
   ``error_phase: "after"`` the handler runs first -- the write is committed -- and the
   client still sees the error: the ambiguous failure idempotent clients must survive.

Faults are decided after routing (so stats show the route of a faulted request) and
before authentication (infrastructure in front of the service fails first).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import falcon

from zero_scim_accounts.auth import is_admin_path
from zero_scim_accounts.errors import ApiError
from zero_scim_accounts.jsontypes import JsonObject
from zero_scim_accounts.models import FaultsIn


@dataclass(frozen=True, slots=True)
class Decision:
    delay: float = 0.0
    #: None, "outage", "rate_limit", "error" or "error_after".
    fault: str | None = None
    retry_after: int = 0
    status: int = 500


class FaultInjector:
    """The current fault configuration and its mutable state (burst left, dice)."""

    def __init__(self) -> None:
        self._config = FaultsIn()
        self._remaining = 0
        self._random = random.Random()
        self.injected: Counter[str] = Counter()

    def configure(self, config: FaultsIn) -> None:
        self._config = config
        self._remaining = config.rate_limit.burst if config.rate_limit else 0
        self._random = random.Random(config.seed)

    def snapshot(self) -> JsonObject:
        data = self._config.model_dump()
        if data["rate_limit"] is not None:
            data["rate_limit"]["remaining"] = self._remaining
        return data

    def _matches(self, method: str, path: str) -> bool:
        config = self._config
        if config.methods and method not in config.methods:
            return False
        return not config.paths or any(path.startswith(prefix) for prefix in config.paths)

    def decide(self, method: str, path: str) -> Decision:
        config = self._config
        if not self._matches(method, path):
            return Decision()
        delay = 0.0
        if config.latency_ms or config.latency_jitter_ms:
            jitter = self._random.uniform(0, config.latency_jitter_ms)
            delay = (config.latency_ms + jitter) / 1000
            self.injected["latency"] += 1
        if config.outage:
            self.injected["outage"] += 1
            return Decision(delay, "outage", status=503)
        if config.rate_limit is not None and self._remaining > 0:
            self._remaining -= 1
            self.injected["rate_limit"] += 1
            return Decision(delay, "rate_limit", config.rate_limit.retry_after, 429)
        if config.error_rate and self._random.random() < config.error_rate:
            self.injected["error"] += 1
            fault = "error_after" if config.error_phase == "after" else "error"
            return Decision(delay, fault, status=config.error_status)
        return Decision(delay)


def _fault_error(decision: Decision) -> ApiError:
    if decision.fault == "outage":
        return ApiError(503, "service_unavailable", "the service is temporarily unavailable")
    if decision.fault == "rate_limit":
        return ApiError(
            429,
            "rate_limited",
            "too many requests",
            details={"retryAfter": decision.retry_after},
            headers={"Retry-After": str(decision.retry_after)},
        )
    return ApiError(decision.status, None, "the server encountered an internal error")


class FaultMiddleware:
    def __init__(self, injector: FaultInjector) -> None:
        self._injector = injector

    async def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: JsonObject
    ) -> None:
        if is_admin_path(req.path):
            return
        decision = self._injector.decide(req.method, req.path)
        if decision.delay:
            await asyncio.sleep(decision.delay)
        if decision.fault == "error_after":
            req.context.fault_after = decision
        elif decision.fault is not None:
            raise _fault_error(decision)

    async def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        decision = req.context.get("fault_after")
        if decision is not None:
            for header in ("ETag", "Location"):
                resp.delete_header(header)
            raise _fault_error(decision)
