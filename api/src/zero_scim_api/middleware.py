"""Request plumbing, in the order it runs: request id and path, authentication, body.

:class:`RequestMiddleware`
    Takes a sane incoming ``X-Request-Id`` (else makes one) and echoes it; collapses
    ``//`` and drops a trailing ``/`` (Entra's Tenant URL ends with one); on the way out
    forces ``Content-Type: application/scim+json`` on every SCIM response, records
    metrics and writes the one access-log line.
:class:`AuthMiddleware`
    Every route under the SCIM base path needs ``Authorization: Bearer <token>``; the
    token selects the tenant (``req.context.tenant``). Missing or unknown: 401. While
    the index is not synced the API cannot answer truthfully: 503 with ``Retry-After``.
    The operations endpoints (``/healthz``, ``/readyz``, ``/metrics``) are open.
:class:`BodyMiddleware`
    POST/PUT/PATCH bodies: ``application/scim+json`` or ``application/json`` (or no
    Content-Type), UTF-8 only (else 415); at most ``max_body_bytes``, checked against
    ``Content-Length`` before reading and against the bytes actually streamed (413).
    The raw bytes go to ``req.context.body``; handlers parse them.

Resource endpoint names are case-insensitive (Microsoft's reference collection sends
``/users``): :class:`RequestMiddleware` rewrites the first segment under the base path
to its canonical spelling (``/users`` → ``/Users``, ``/serviceproviderconfig`` →
``/ServiceProviderConfig``, ``/.SEARCH`` → ``/.search``, and ``/Users/.SEARCH``) before
routing. Ids stay case-sensitive: nothing after that segment is touched.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import Final

import falcon
import falcon.asgi

from zero_scim.scim import PayloadTooLarge, ScimError, ServiceUnavailable, Unauthorized
from zero_scim_api.config import Settings
from zero_scim_api.handlers.common import SCIM_JSON
from zero_scim_api.logging import ACCESS_LOGGER, request_context
from zero_scim_api.metrics import Metrics
from zero_scim_api.request import ScimRequest
from zero_scim_api.storage.store import Storage

access_log = logging.getLogger(ACCESS_LOGGER)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
ACCEPTED_MEDIA_TYPES = frozenset({"application/scim+json", "application/json"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+=/\-]{0,127}$")
_SLASHES = re.compile(r"/{2,}")
_BEARER = re.compile(r"^\s*bearer\s+(\S+)\s*$", re.IGNORECASE)
SEARCH: Final = ".search"


def canonical_names(endpoints: Iterable[str]) -> dict[str, str]:
    """Endpoint names by their case-folded spelling (``users`` → ``Users``)."""
    return {name.casefold(): name for name in (*endpoints, SEARCH)}


class RequestMiddleware:
    def __init__(self, settings: Settings, metrics: Metrics, endpoints: Iterable[str]) -> None:
        self.base_path = settings.base_path
        self.metrics = metrics
        self.endpoints = canonical_names(endpoints)

    def is_scim(self, path: str) -> bool:
        base = self.base_path
        return not base or path == base or path.startswith(base + "/")

    def canonical(self, path: str) -> str:
        """``path`` with its endpoint name (and a ``.search`` after it) in canonical case."""
        prefix = self.base_path + "/"
        if not path.startswith(prefix):
            return path
        segments = path[len(prefix) :].split("/", 2)
        for position in range(min(2, len(segments))):
            if position == 1 and segments[1].casefold() != SEARCH:
                break
            segments[position] = self.endpoints.get(
                segments[position].casefold(), segments[position]
            )
        return prefix + "/".join(segments)

    async def process_request(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        state = req.context
        state.started = time.perf_counter()
        incoming = req.get_header("X-Request-Id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        state.request_id = state.log.request_id = request_id
        request_context.set(state.log)
        resp.set_header("X-Request-Id", request_id)
        path = _SLASHES.sub("/", req.path)
        if len(path) > 1:
            path = path.rstrip("/") or "/"
        state.scim = self.is_scim(path)
        req.path = self.canonical(path) if state.scim else path

    async def process_response(
        self,
        req: ScimRequest,
        resp: falcon.asgi.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        state = req.context
        if state.connection is not None:
            state.connection.close()
        if req.method == "OPTIONS" and resp.status_code == 200 and not resp.data:
            resp.status = 204
        if state.scim:
            resp.content_type = SCIM_JSON
        duration = time.perf_counter() - state.started if state.started else 0.0
        route = req.uri_template or "unmatched"
        status = resp.status_code
        self.metrics.observe(route, req.method, status, duration)
        tenant = state.tenant
        access_log.info(
            "%s %s %s",
            req.method if req.method.isalpha() and len(req.method) <= 16 else "OTHER",
            route,
            status,
            extra={
                "fields": {
                    "method": req.method[:16],
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 3),
                    "tenant": tenant.name if tenant is not None else None,
                }
            },
        )


class AuthMiddleware:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def process_request(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        if not req.context.scim:
            return
        header = req.get_header("Authorization")
        match = _BEARER.match(header) if header else None
        token = match.group(1) if match else None
        if token is not None:
            req.context.token_presented = True
            req.context.log.token = token
        if not self.storage.ready:
            raise ServiceUnavailable("the API is starting; retry shortly", retry_after=1)
        tenant = self.storage.tenants.authenticate(token) if token else None
        if tenant is None:
            raise Unauthorized(
                "a valid bearer token is required"
                if token is None
                else "the bearer token is not valid"
            )
        req.context.tenant = tenant


class BodyMiddleware:
    def __init__(self, settings: Settings) -> None:
        self.max_bytes = settings.max_body_bytes

    @staticmethod
    def check_content_type(value: str | None) -> None:
        if value is None or not value.strip():
            return
        media_type, _, rest = value.partition(";")
        if media_type.strip().lower() not in ACCEPTED_MEDIA_TYPES:
            raise ScimError(
                "the request body must be application/scim+json or application/json",
                status=415,
            )
        for parameter in rest.split(";"):
            name, _, raw = parameter.partition("=")
            if name.strip().lower() == "charset" and raw.strip().strip('"').lower() not in (
                "utf-8",
                "utf8",
            ):
                raise ScimError("the request body must be encoded in UTF-8", status=415)

    async def process_request(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        if not req.context.scim or req.method not in BODY_METHODS:
            return
        self.check_content_type(req.get_header("Content-Type"))
        too_large = PayloadTooLarge(f"the request body is larger than {self.max_bytes} bytes")
        try:
            length = req.content_length
        except falcon.HTTPInvalidHeader:
            length = None
        if length is not None and length > self.max_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in req.stream:
            size += len(chunk)
            if size > self.max_bytes:
                raise too_large
            chunks.append(chunk)
        req.context.body = b"".join(chunks)
