"""What every SCIM resource needs: the tenant, the base URL, the body, the response.

:func:`service_call` turns a request into the :class:`~zero_scim_api.services.common.Call`
a service method takes (tenant, base URL, projection, ``If-Match``, the connection).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

import falcon.asgi
import orjson

from zero_scim.kube.tenants import Tenant
from zero_scim.scim import (
    InvalidSyntax,
    ListQuery,
    ResourceType,
    Unauthorized,
    compile_projection,
    parse_list_query,
    parse_search_request,
)
from zero_scim_api.config import Settings
from zero_scim_api.request import ScimRequest
from zero_scim_api.services.common import KEPT, Call

SCIM_JSON = "application/scim+json"

#: The list-query parameters (RFC 7644 §3.4.2), case-folded; every other one is ignored.
LIST_PARAMS = frozenset(
    {"filter", "startindex", "count", "attributes", "excludedattributes", "sortby", "sortorder"}
)
PROJECTION_PARAMS = frozenset({"attributes", "excludedattributes"})
#: Larger ``startIndex`` values are answered as this one (an empty page either way): the
#: ListResponse echoes it, and JSON numbers beyond 64 bits do not serialise.
MAX_START_INDEX = 2**31 - 1

_HOST = re.compile(r"^[A-Za-z0-9._\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def tenant_of(req: ScimRequest) -> Tenant:
    """The tenant the middleware authenticated (every SCIM route has one)."""
    tenant = req.context.tenant
    if tenant is None:  # pragma: no cover - the middleware guarantees it
        raise Unauthorized("authentication required")
    return tenant


def service_call(
    req: ScimRequest, settings: Settings, *, projection: tuple[tuple[str, ...], tuple[str, ...]]
) -> Call:
    """The :class:`Call` of a request: its tenant, base URL, the given projection
    (``attributes``, ``excludedAttributes``), ``If-Match`` and connection."""
    attributes, excluded = projection
    return Call(
        tenant=tenant_of(req),
        base_url=base_url(req, settings),
        attributes=attributes,
        excluded=excluded,
        if_match=req.get_header("If-Match"),
        connection=req.context.connection or KEPT,
    )


def base_url(req: ScimRequest, settings: Settings) -> str:
    """The SCIM root as the client sees it, for ``meta.location`` and ``Location``."""
    if settings.public_url:
        return settings.public_url
    scheme = req.forwarded_scheme
    if scheme not in ("http", "https"):
        scheme = req.scheme
    host = req.forwarded_host
    if not _HOST.match(host):
        host = req.host if _HOST.match(req.host) else "localhost"
    root = req.root_path.rstrip("/")
    return f"{scheme}://{host}{root}{settings.base_path}"


def json_body(req: ScimRequest) -> object:
    """The request body the middleware read, parsed as JSON (400 invalidSyntax if not)."""
    raw = req.context.body
    if not raw.strip():
        raise InvalidSyntax("the request body is empty; a JSON object is required")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidSyntax(f"the request body is not valid JSON: {exc}") from None


def picked_params(req: ScimRequest, names: frozenset[str]) -> dict[str, str | list[str]]:
    """The query parameters in ``names`` (matched case-insensitively)."""
    return {k: v for k, v in req.params.items() if k.casefold() in names}


def _bounded(query: ListQuery) -> ListQuery:
    if query.start_index <= MAX_START_INDEX:
        return query
    return dataclasses.replace(query, start_index=MAX_START_INDEX)


def list_query(req: ScimRequest, settings: Settings) -> ListQuery:
    """The list query of a GET: only the RFC's parameters count, any case, others ignored."""
    return _bounded(
        parse_list_query(
            picked_params(req, LIST_PARAMS),
            max_results=settings.max_results,
            default_count=settings.default_count,
            max_filter_length=settings.max_filter_length,
        )
    )


def search_query(req: ScimRequest, settings: Settings) -> ListQuery:
    """The list query of a ``POST .search``, from its SearchRequest body."""
    return _bounded(
        parse_search_request(
            json_body(req),
            max_results=settings.max_results,
            default_count=settings.default_count,
            max_filter_length=settings.max_filter_length,
        )
    )


def projection_params(
    req: ScimRequest, settings: Settings
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``attributes`` and ``excludedAttributes`` of a request on one resource."""
    params = picked_params(req, PROJECTION_PARAMS)
    if not params:
        return (), ()
    query = parse_list_query(params, max_results=settings.max_results)
    return query.attributes, query.excluded_attributes


def project(
    body: dict[str, object],
    resource_type: ResourceType,
    attributes: Sequence[str],
    excluded: Sequence[str],
) -> dict[str, object]:
    if not attributes and not excluded:
        return body
    return compile_projection(attributes or None, excluded or None, resource_type).apply(body)


def send(
    resp: falcon.asgi.Response,
    status: int,
    body: Mapping[str, object] | None = None,
    *,
    etag: str | None = None,
    location: str | None = None,
) -> None:
    """Answer with a SCIM JSON body (or none), and the ETag/Location headers if given."""
    resp.status = status
    resp.content_type = SCIM_JSON
    if body is not None:
        resp.data = orjson.dumps(body)
    if etag is not None:
        resp.set_header("ETag", etag)
    if location is not None:
        resp.set_header("Location", location)


def etag_matches(header: str | None, etag: str) -> bool:
    """RFC 7232 weak comparison for ``If-None-Match``: ``*`` or any listed tag."""
    if header is None:
        return False
    wanted = header.strip()
    if wanted == "*":
        return True
    current = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == current for tag in wanted.split(","))
