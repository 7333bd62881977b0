"""HTTP protocol details shared by the handlers: bodies, preconditions, cursors, rendering."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, TypeVar

import falcon
import orjson
from pydantic import BaseModel, ValidationError

from zero_scim_accounts.errors import JSON, ApiError
from zero_scim_accounts.jsontypes import JsonObject, JsonValue
from zero_scim_accounts.models import DEFAULT_PAGE, MAX_PAGE, AccountIn, GroupIn
from zero_scim_accounts.store import AccountRecord, GroupRecord, MemberRecord, Page, Precondition

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

MAX_BODY = 1024 * 1024

#: Profile fields in contract order (the store keeps them sorted).
_ACCOUNT_FIELDS = [f.alias or n for n, f in AccountIn.model_fields.items() if n != "active"]
_GROUP_FIELDS = [f.alias or n for n, f in GroupIn.model_fields.items()]


# --- input --------------------------------------------------------------------------------


def invalid(field: str, message: str, type_: str = "value_error") -> ApiError:
    return ApiError(
        422,
        "validation_failed",
        f"invalid {field}: {message}",
        details=[{"field": field, "message": message, "type": type_}],
    )


async def read_body(req: falcon.asgi.Request, model: type[M]) -> M:
    """Parse a JSON request body into ``model``: 413, 415, 400 or 422 on failure."""
    if req.content_length is not None and req.content_length > MAX_BODY:
        raise ApiError(413, "payload_too_large", f"request body exceeds {MAX_BODY} bytes")
    mimetype = (req.content_type or "").split(";", 1)[0].strip().lower()
    if mimetype != JSON:
        raise ApiError(415, "unsupported_media_type", "request body must be application/json")
    data = await req.stream.read(MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise ApiError(413, "payload_too_large", f"request body exceeds {MAX_BODY} bytes")
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
        details = [
            {
                "field": ".".join(str(part) for part in e["loc"]) or "body",
                "message": e["msg"],
                "type": e["type"],
            }
            for e in errors
        ]
        fields = ", ".join(sorted({d["field"] for d in details}))
        raise ApiError(
            422, "validation_failed", f"invalid fields: {fields}", details=[{**d} for d in details]
        ) from None


def precondition(req: falcon.Request) -> Precondition:
    """Parse ``If-Match`` / ``If-None-Match``. ETags are strong: ``"<version>"``."""
    if_match = req.get_header("If-Match")
    if_none_match = req.get_header("If-None-Match")
    parsed: frozenset[int] | str | None = None
    if if_match is not None:
        parsed = "*" if if_match.strip() == "*" else frozenset(_versions(if_match))
    return Precondition(
        if_match=parsed,
        if_none_match_any=if_none_match is not None and if_none_match.strip() == "*",
    )


def _versions(header: str) -> list[int]:
    versions = []
    for tag in header.split(","):
        tag = tag.strip()
        # Weak tags never match under the strong comparison If-Match requires.
        if len(tag) >= 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit():
            versions.append(int(tag[1:-1]))
    return versions


def page_params(req: falcon.Request, collection: str) -> tuple[str | None, int]:
    """``cursor`` and ``limit`` query parameters -> (after-key, limit)."""
    raw_limit = req.get_param("limit")
    limit = DEFAULT_PAGE
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
            raise invalid("limit", f"must be an integer from 1 to {MAX_PAGE}")
        limit = int(raw_limit)
    cursor = req.get_param("cursor")
    return (decode_cursor(cursor, collection) if cursor else None), limit


def encode_cursor(after: str | None, collection: str) -> str | None:
    """An opaque cursor: base64url of ``{"c": collection, "a": last key}``."""
    if after is None:
        return None
    raw = orjson.dumps({"c": collection, "a": after})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, collection: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid("cursor", "not a cursor issued by this service") from None
    if (
        not isinstance(data, dict)
        or data.get("c") != collection
        or not isinstance(data.get("a"), str)
    ):
        raise invalid("cursor", "not a cursor for this collection")
    after: str = data["a"]
    return after


# --- output -------------------------------------------------------------------------------


def send(
    resp: falcon.Response,
    body: Any,
    *,
    status: int = 200,
    version: int | None = None,
    location: str | None = None,
) -> None:
    resp.status = status
    resp.content_type = JSON
    resp.data = orjson.dumps(body)
    if version is not None:
        resp.set_header("ETag", f'"{version}"')
    if location is not None:
        resp.set_header("Location", location)


def _record_view(
    record: AccountRecord | GroupRecord, fields: list[str], extra: JsonObject
) -> JsonObject:
    return {
        "id": record.id,
        "externalKey": record.external_key,
        **{name: record.profile.get(name) for name in fields},
        **extra,
        "version": record.version,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }


def send_page(
    resp: falcon.Response, page: Page[T], view: Callable[[T], JsonObject], collection: str
) -> None:
    """One page of a collection and the cursor of the next (``None`` at the end)."""
    items: list[JsonValue] = [view(item) for item in page.items]
    send(resp, {"items": items, "next_cursor": encode_cursor(page.next_after, collection)})


def send_put(resp: falcon.Response, view: JsonObject, version: int, location: str | None) -> None:
    """A PUT's answer: 201 with ``Location`` when it created (``location`` given), else 200."""
    send(resp, view, status=200 if location is None else 201, version=version, location=location)


def account_view(record: AccountRecord) -> JsonObject:
    return _record_view(
        record, _ACCOUNT_FIELDS, {"active": record.enabled, "enabled": record.enabled}
    )


def group_view(record: GroupRecord) -> JsonObject:
    return _record_view(record, _GROUP_FIELDS, {})


def member_view(record: MemberRecord) -> JsonObject:
    return {"accountKey": record.account_key, "addedAt": record.added_at}
