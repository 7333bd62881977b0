"""Attribute paths: ``[URN ":"] attr ["." subAttr]`` (RFC 7644 §3.10), without any schema.

A path that starts with ``urn:`` is split at its *last* colon: everything before it is the
schema URN, everything after it the attribute (and optional sub-attribute). The URN itself
may contain dots (``…:2.0:User``); the attribute part may not contain colons.

``AttrPath`` does not know whether a name exists; :func:`zero_scim.scim.schema.resolve`
does. PATCH paths with value filters (``emails[type eq "work"].value``) are parsed by
:func:`zero_scim.scim.filter.parse_path`, because they contain a filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zero_scim.scim.errors import InvalidPath, quote

__all__ = ["AttrPath", "parse_attr_path", "try_attr_path"]

# RFC 7643 §2.1 ATTRNAME = ALPHA *(nameChar); "$ref" is the one name that breaks the rule.
_NAME = r"(?:\$ref|[A-Za-z][A-Za-z0-9_-]*)"
_NAME_RE = re.compile(rf"{_NAME}(?:\.{_NAME})?")
_URN_RE = re.compile(r"urn:[A-Za-z0-9._~%!$&'*+,;=@/:-]+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AttrPath:
    """``urn:…:attr.sub``: a schema URN (or None), an attribute name, a sub-attribute."""

    urn: str | None
    attr: str
    sub_attr: str | None = None

    def __str__(self) -> str:
        text = f"{self.urn}:{self.attr}" if self.urn is not None else self.attr
        return f"{text}.{self.sub_attr}" if self.sub_attr is not None else text


def try_attr_path(text: str) -> AttrPath | None:
    """Split ``text`` into an :class:`AttrPath`, or None if it is not a valid attribute path."""
    urn: str | None = None
    rest = text
    if text[:4].lower() == "urn:":
        colon = text.rfind(":")
        urn, rest = text[:colon], text[colon + 1 :]
        if not _URN_RE.fullmatch(urn):
            return None
    if not _NAME_RE.fullmatch(rest):
        return None
    attr, _, sub = rest.partition(".")
    return AttrPath(urn, attr, sub or None)


def parse_attr_path(text: str) -> AttrPath:
    """Like :func:`try_attr_path`, but raise :class:`InvalidPath` for an invalid path."""
    path = try_attr_path(text)
    if path is None:
        raise InvalidPath(f"{quote(text)} is not a valid attribute path")
    return path
