"""List queries (RFC 7644 §3.4.2, §3.4.3): query parameters, SearchRequest bodies, ListResponse.

Decisions: parameter names are case-insensitive and unknown ones are ignored (Entra may
append ``aadOptscim062020``); a parameter given twice is invalidValue. ``startIndex`` < 1
is 1; a negative ``count`` is 0 and a count above ``max_results`` is capped (RFC 7644
§3.4.2.4); without ``count`` the page size is ``default_count`` (default ``max_results``).
Integers must be written as integers (``"10"``, not ``"1e1"`` or ``"10.0"``), else
invalidValue. An empty ``filter`` means no filter. ``sortOrder`` defaults to ascending.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, TypedDict, TypeVar

from zero_scim.scim.errors import InvalidSyntax, InvalidValue, quote
from zero_scim.scim.filter import MAX_FILTER_LENGTH, Filter, parse_filter
from zero_scim.scim.paths import try_attr_path

__all__ = [
    "DEFAULT_MAX_RESULTS",
    "LIST_RESPONSE_URN",
    "SEARCH_REQUEST_URN",
    "ListQuery",
    "ListResponse",
    "SortOrder",
    "list_response",
    "parse_list_query",
    "parse_search_request",
]

LIST_RESPONSE_URN: Final = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST_URN: Final = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
DEFAULT_MAX_RESULTS: Final = 1000

SortOrder: TypeAlias = Literal["ascending", "descending"]
_T = TypeVar("_T")
_INT_RE = re.compile(r"[+-]?[0-9]{1,40}")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A parsed list request: filter, page window, projection and sort."""

    filter: Filter | None = None
    start_index: int = 1
    count: int = DEFAULT_MAX_RESULTS
    attributes: tuple[str, ...] = ()
    excluded_attributes: tuple[str, ...] = ()
    sort_by: str | None = None
    sort_order: SortOrder = "ascending"

    @property
    def descending(self) -> bool:
        """Whether ``sortOrder`` is descending (use as ``reverse=`` when sorting)."""
        return self.sort_order == "descending"

    def page(self, items: Sequence[_T]) -> Sequence[_T]:
        """The requested window of an already filtered and sorted sequence."""
        first = self.start_index - 1
        return items[first : first + self.count]


def _integer(name: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip())
    shown = quote(value) if isinstance(value, str) else type(value).__name__
    raise InvalidValue(f"{name} must be an integer, not {shown}")


def _names(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        parts: Iterable[object] = value.split(",")
    elif isinstance(value, list):
        parts = value
    else:
        raise InvalidValue(f"{name} must be a comma-separated string or a list of strings")
    out: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise InvalidValue(f"{name} must contain only strings")
        stripped = part.strip()
        if not stripped:
            continue
        if try_attr_path(stripped) is None:
            raise InvalidValue(f"{name}: {quote(stripped)} is not an attribute path")
        out.append(stripped)
    return tuple(out)


def _build(
    fields: Mapping[str, object],
    *,
    max_results: int,
    default_count: int | None,
    max_filter_length: int,
) -> ListQuery:
    text = fields.get("filter")
    parsed: Filter | None = None
    if text is not None and not (isinstance(text, str) and not text.strip()):
        parsed = parse_filter(text, max_length=max_filter_length)
    start_index = 1
    if fields.get("startindex") is not None:
        start_index = max(1, _integer("startIndex", fields["startindex"]))
    count = default_count if default_count is not None else max_results
    if fields.get("count") is not None:
        count = _integer("count", fields["count"])
    count = min(max(0, count), max_results)
    sort_by: str | None = None
    if fields.get("sortby") is not None:
        raw = fields["sortby"]
        if not isinstance(raw, str) or try_attr_path(raw.strip()) is None:
            raise InvalidValue(f"sortBy must be an attribute path, not {quote(str(raw))}")
        sort_by = raw.strip() or None
    order: SortOrder = "ascending"
    if fields.get("sortorder") is not None:
        raw = fields["sortorder"]
        folded = raw.strip().casefold() if isinstance(raw, str) else None
        if folded == "descending":
            order = "descending"
        elif folded != "ascending":
            raise InvalidValue("sortOrder must be ascending or descending")
    attributes = _names("attributes", fields["attributes"]) if fields.get("attributes") else ()
    excluded = (
        _names("excludedAttributes", fields["excludedattributes"])
        if fields.get("excludedattributes")
        else ()
    )
    return ListQuery(parsed, start_index, count, attributes, excluded, sort_by, order)


def parse_list_query(
    params: Mapping[str, object],
    *,
    max_results: int = DEFAULT_MAX_RESULTS,
    default_count: int | None = None,
    max_filter_length: int = MAX_FILTER_LENGTH,
) -> ListQuery:
    """A :class:`ListQuery` from URL query parameters (values are strings or lists of one)."""
    fields: dict[str, object] = {}
    for name, value in params.items():
        if isinstance(value, list | tuple):
            if len(value) != 1:
                raise InvalidValue(f"the query parameter {name} is given more than once")
            value = value[0]
        fields[name.casefold()] = value
    return _build(
        fields,
        max_results=max_results,
        default_count=default_count,
        max_filter_length=max_filter_length,
    )


def parse_search_request(
    body: object,
    *,
    max_results: int = DEFAULT_MAX_RESULTS,
    default_count: int | None = None,
    max_filter_length: int = MAX_FILTER_LENGTH,
) -> ListQuery:
    """A :class:`ListQuery` from a ``POST /.search`` body (RFC 7644 §3.4.3).

    ``schemas`` may be missing; if present it must list the SearchRequest URN.
    """
    if not isinstance(body, Mapping):
        raise InvalidSyntax("the search request must be a JSON object")
    fields = {name.casefold(): value for name, value in body.items() if isinstance(name, str)}
    schemas = fields.get("schemas")
    if schemas is not None and (
        not isinstance(schemas, list)
        or not any(
            isinstance(s, str) and s.casefold() == SEARCH_REQUEST_URN.casefold() for s in schemas
        )
    ):
        raise InvalidSyntax(f"schemas must contain {SEARCH_REQUEST_URN}")
    return _build(
        fields,
        max_results=max_results,
        default_count=default_count,
        max_filter_length=max_filter_length,
    )


class ListResponse(TypedDict):
    """A ListResponse (RFC 7644 §3.4.2) as sent."""

    schemas: list[str]
    totalResults: int
    startIndex: int
    itemsPerPage: int
    Resources: list[Mapping[str, object]]


def list_response(
    resources: Sequence[Mapping[str, object]], *, total_results: int, start_index: int = 1
) -> ListResponse:
    """A ListResponse (RFC 7644 §3.4.2); ``itemsPerPage`` is the number of resources on this
    page."""
    return {
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": total_results,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": list(resources),
    }
