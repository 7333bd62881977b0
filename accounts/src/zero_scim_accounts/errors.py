"""Every failure the accounts API reports, as one JSON shape.

All error responses look like ``{"error": {"code", "message", "details"}}``. Handlers and
middleware raise :class:`ApiError`; Falcon's own errors (unknown route, wrong method) and
unhandled exceptions go through :func:`serialize_error` too, so no response ever carries
Falcon's default body.
"""

from __future__ import annotations

import falcon
import orjson

from zero_scim_accounts.jsontypes import JsonValue

#: Default error code for statuses raised without one (Falcon's own errors, injected faults).
CODES_BY_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}

JSON = "application/json"


class ApiError(falcon.HTTPError):
    """An error response with a stable machine-readable ``code``."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        *,
        details: JsonValue = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, headers=headers)
        self.error_code = code or CODES_BY_STATUS.get(status, "error")
        self.message = message or falcon.code_to_http_status(status)[4:]
        self.details = details


def error_body(status: int, code: str | None, message: str, details: JsonValue = None) -> bytes:
    """The JSON error document (also used by middleware that answers without raising)."""
    body = {
        "error": {
            "code": code or CODES_BY_STATUS.get(status, "error"),
            "message": message,
            "details": details,
        }
    }
    return orjson.dumps(body)


def serialize_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon error serializer: render any :class:`falcon.HTTPError` in our JSON shape."""
    status = exc.status_code
    if isinstance(exc, ApiError):
        resp.data = error_body(status, exc.error_code, exc.message, exc.details)
    else:
        message = exc.description or falcon.code_to_http_status(status)[4:]
        resp.data = error_body(status, None, message)
    resp.content_type = JSON
