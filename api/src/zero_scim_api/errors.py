"""Every failure becomes a SCIM Error response (RFC 7644 §3.12).

* a :class:`~zero_scim.scim.ScimError` is rendered as it is (``status``, ``scimType``,
  ``detail``); 401 adds ``WWW-Authenticate: Bearer realm="zero-scim"`` (RFC 6750), 429
  and 503 always add ``Retry-After`` (the error's own, else 5 s). Storage failures
  arrive here already mapped, without internal names (``storage/errors.py``);
* Falcon's own errors (no route: 404; a method the route lacks: 405 with ``Allow``; a
  malformed header: 400; ...) are mapped to the SCIM error of the same status;
* anything else is a bug: logged with its traceback (the request id is on the log line)
  and answered 500 with a generic detail that names the request id, never the cause.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import falcon
import falcon.asgi
import orjson

from zero_scim.scim import (
    InvalidSyntax,
    MethodNotAllowed,
    NotFound,
    NotSupported,
    PayloadTooLarge,
    ScimError,
    ServiceUnavailable,
    TooManyRequests,
)
from zero_scim_api.handlers.common import SCIM_JSON
from zero_scim_api.request import ScimRequest

log = logging.getLogger(__name__)

REALM = "zero-scim"
#: Retry-After (seconds) of a 503 or 429 that names no time of its own.
DEFAULT_RETRY_AFTER = 5
_FORWARDED_HEADERS = ("Allow", "Retry-After")


def render(req: ScimRequest, resp: falcon.asgi.Response, error: ScimError) -> None:
    """Write ``error`` to ``resp`` as a SCIM Error body with its status and headers."""
    resp.status = error.status
    resp.content_type = SCIM_JSON
    resp.data = orjson.dumps(error.to_body())
    if error.status == 401:
        challenge = f'Bearer realm="{REALM}"'
        if req.context.token_presented:
            challenge += ', error="invalid_token"'
        resp.set_header("WWW-Authenticate", challenge)
    if isinstance(error, TooManyRequests | ServiceUnavailable):
        # Every 503 and 429 says when to come back (RFC 9110 §10.2.3).
        retry_after = error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER
        resp.set_header("Retry-After", str(retry_after))


async def _scim_error(
    req: ScimRequest, resp: falcon.asgi.Response, ex: ScimError, params: Mapping[str, object]
) -> None:
    if error_is_bug(ex):
        await _unexpected(req, resp, ex, params)
        return
    render(req, resp, ex)


def error_is_bug(ex: ScimError) -> bool:
    """A bare ScimError with status 500 is not client input: treat it as a bug."""
    return ex.status >= 500 and not isinstance(ex, ServiceUnavailable) and ex.status != 501


def _from_http_error(ex: falcon.HTTPError, method: str) -> ScimError:
    status = ex.status_code
    if status == 404:
        return NotFound("no such endpoint or resource")
    if status == 405:
        return MethodNotAllowed("this method is not allowed on this endpoint")
    if status == 413:
        return PayloadTooLarge()
    if status == 400 and method not in falcon.COMBINED_METHODS:
        # RFC 9110 §15.6.2: 501 is the answer to a method the server does not recognise.
        return NotSupported(f"the method {method[:16]!r} is not implemented")
    if status == 400:
        return InvalidSyntax(f"bad request: {ex.description or ex.title}")
    return ScimError(ex.description or ex.title or "request failed", status=status)


async def _http_error(
    req: ScimRequest,
    resp: falcon.asgi.Response,
    ex: falcon.HTTPError,
    params: Mapping[str, object],
) -> None:
    if ex.status_code >= 500:
        await _unexpected(req, resp, ex, params)
        return
    render(req, resp, _from_http_error(ex, req.method))
    for name, value in dict(ex.headers or {}).items():
        if name.title() in _FORWARDED_HEADERS:
            resp.set_header(name, value)


async def _unexpected(
    req: ScimRequest, resp: falcon.asgi.Response, ex: Exception, params: Mapping[str, object]
) -> None:
    log.error("unhandled error: %s", type(ex).__name__, exc_info=ex)
    request_id = req.context.request_id
    error = ScimError(
        f"internal server error (request id {request_id})" if request_id else "",
        status=500,
    )
    render(req, resp, error)


def install(app: falcon.asgi.App[ScimRequest, falcon.asgi.Response]) -> None:
    """Register the handlers (the most specific class wins in Falcon)."""
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(ScimError, _scim_error)
