"""What the user and group services share: results, ETags, If-Match, meta."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zero_scim.scim import errors as scim
from zero_scim_api.storage.codec import Meta


@dataclass(frozen=True, slots=True)
class ResourceView:
    """A rendered (and projected) SCIM resource with its ETag and location."""

    body: dict[str, Any]
    etag: str
    location: str


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: the total across pages and this page's resources."""

    total: int
    start_index: int
    resources: list[dict[str, Any]]


def weak_etag(version: str) -> str:
    return f'W/"{version}"'


def check_if_match(header: str | None, etag: str) -> None:
    """RFC 7232 If-Match with weak comparison: ``*`` or any listed tag must match."""
    if header is None:
        return
    wanted = header.strip()
    if wanted == "*":
        return
    current = etag.removeprefix("W/")
    for tag in wanted.split(","):
        if tag.strip().removeprefix("W/") == current:
            return
    raise scim.PreconditionFailed(f"If-Match {wanted} does not match the current version {etag}")


def meta_json(resource_type: str, meta: Meta, location: str, etag: str) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": meta.created,
        "lastModified": meta.last_modified,
        "location": location,
        "version": etag,
    }
