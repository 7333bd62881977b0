"""Value limits: the one table of bounds the SCIM layer enforces before storage would.

The custom resources that hold users and groups (``crds/scimusers.yaml``,
``crds/scimgroups.yaml``, and ``crds/scimmemberbatches.yaml`` for member ids and
``display``) bound every string and list. A value over such a bound would be refused by
the Kubernetes API server with a message about internal field paths; so the SCIM layer
checks the same bounds first and answers ``400 invalidValue`` naming the SCIM attribute
and the limit (``name.givenName must be at most 4096 characters long, not 5000``).

This table is the SCIM side's only copy of those numbers. ``tests/crds/test_limits.py``
reads the CRDs and proves that every bound they enforce on client data has an entry here
that is at least as strict, and that a value at each limit is accepted by the real API
server — so the two cannot drift apart. Bounds on what the server alone writes (``id``,
``meta``, member-log bookkeeping) are not client input and have no entry.

Lengths count code points (``len(str)``), as Kubernetes' OpenAPI validation counts runes.
Paths are SCIM attribute paths in canonical case; Enterprise attributes carry their URN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Final

from zero_scim.jsondata import JsonMapping, JsonValue
from zero_scim.scim.errors import InvalidValue
from zero_scim.scim.schema import (
    ENTERPRISE_USER_URN,
    GROUP,
    USER,
    ResolvedAttr,
    ResourceType,
    describe,
    resolve,
)

__all__ = ["GROUP_LIMITS", "LIMITS", "USER_LIMITS", "Limit", "check_limits", "check_text"]


@dataclass(frozen=True, slots=True)
class Limit:
    """The bounds of one attribute's values: string lengths and, if multi-valued, count."""

    max_length: int | None = None
    min_length: int | None = None
    max_items: int | None = None


_TEXT: Final = Limit(max_length=4096)
_SHORT: Final = Limit(max_length=256)
_ID: Final = Limit(max_length=1024)


def _multi(name: str, *, max_items: int = 100) -> dict[str, Limit]:
    """A multi-valued attribute of ``value``/``display``/``type``/``primary`` elements."""
    return {
        name: Limit(max_items=max_items),
        f"{name}.value": _TEXT,
        f"{name}.display": _TEXT,
        f"{name}.type": _SHORT,
    }


_ENTERPRISE: Final = ENTERPRISE_USER_URN

USER_LIMITS: Final[Mapping[str, Limit]] = MappingProxyType(
    {
        "userName": Limit(min_length=1, max_length=1024),
        "externalId": _ID,
        "displayName": _TEXT,
        "nickName": _TEXT,
        "profileUrl": _TEXT,
        "title": _TEXT,
        "userType": _TEXT,
        "preferredLanguage": _SHORT,
        "locale": _SHORT,
        "timezone": _SHORT,
        "name.formatted": _TEXT,
        "name.familyName": _TEXT,
        "name.givenName": _TEXT,
        "name.middleName": _TEXT,
        "name.honorificPrefix": _TEXT,
        "name.honorificSuffix": _TEXT,
        **_multi("emails"),
        **_multi("phoneNumbers"),
        **_multi("ims"),
        **_multi("photos"),
        **_multi("entitlements"),
        **_multi("roles"),
        **_multi("x509Certificates", max_items=20),
        "addresses": Limit(max_items=100),
        "addresses.formatted": _TEXT,
        "addresses.streetAddress": _TEXT,
        "addresses.locality": _TEXT,
        "addresses.region": _TEXT,
        "addresses.postalCode": _SHORT,
        "addresses.country": _SHORT,
        "addresses.type": _SHORT,
        f"{_ENTERPRISE}:employeeNumber": _TEXT,
        f"{_ENTERPRISE}:costCenter": _TEXT,
        f"{_ENTERPRISE}:organization": _TEXT,
        f"{_ENTERPRISE}:division": _TEXT,
        f"{_ENTERPRISE}:department": _TEXT,
        f"{_ENTERPRISE}:manager.value": _TEXT,
        f"{_ENTERPRISE}:manager.$ref": _TEXT,
    }
)

GROUP_LIMITS: Final[Mapping[str, Limit]] = MappingProxyType(
    {
        "displayName": Limit(min_length=1, max_length=1024),
        "externalId": _ID,
        # Members live in the group's member log (ScimMemberBatch): ids and display.
        "members.value": Limit(min_length=1, max_length=256),
        "members.display": Limit(max_length=1024),
    }
)

#: The limits of each resource type (by identity; other resource types have none).
LIMITS: Final[Mapping[ResourceType, Mapping[str, Limit]]] = MappingProxyType(
    {USER: USER_LIMITS, GROUP: GROUP_LIMITS}
)


def _violation(value: JsonValue, limit: Limit) -> str | None:
    """How ``value`` breaks ``limit`` ("must be at most …"), or None."""
    if isinstance(value, str):
        size = len(value)
        if limit.max_length is not None and size > limit.max_length:
            return f"must be at most {limit.max_length} characters long, not {size}"
        if limit.min_length is not None and size < limit.min_length:
            return f"must be at least {limit.min_length} characters long"
    elif isinstance(value, list) and limit.max_items is not None and len(value) > limit.max_items:
        return f"must have at most {limit.max_items} values, not {len(value)}"
    return None


def check_text(label: str, value: str, limit: Limit) -> None:
    """Raise InvalidValue naming ``label`` if ``value`` breaks ``limit``'s length bounds."""
    problem = _violation(value, limit)
    if problem is not None:
        raise InvalidValue(f"{label} {problem}")


@dataclass(frozen=True, slots=True)
class _Check:
    """One limit on an attribute's value (``sub`` None) or on one of its sub-attributes."""

    attribute: str
    sub: str | None
    limit: Limit
    label: str


@dataclass(frozen=True, slots=True)
class _Plan:
    """The checks of a resource type by where their values live in a canonical document."""

    core: dict[str, tuple[_Check, ...]]
    extensions: dict[str, dict[str, tuple[_Check, ...]]]


@cache
def _plan(resource_type: ResourceType) -> _Plan:
    core: dict[str, list[_Check]] = {}
    extensions: dict[str, dict[str, list[_Check]]] = {}
    for path, limit in LIMITS.get(resource_type, {}).items():
        resolved = resolve(resource_type, path)
        if not isinstance(resolved, ResolvedAttr):  # pragma: no cover - a typo in the table
            raise AssertionError(f"limit for {path!r}: {resolved}")
        name = resolved.attribute.name
        sub = resolved.sub_attribute.name if resolved.sub_attribute is not None else None
        check = _Check(name, sub, limit, describe(resolved))
        extension = resolved.extension
        table = core if extension is None else extensions.setdefault(extension, {})
        table.setdefault(name, []).append(check)
    return _Plan(
        {name: tuple(checks) for name, checks in core.items()},
        {
            urn: {name: tuple(checks) for name, checks in table.items()}
            for urn, table in extensions.items()
        },
    )


def _apply(checks: tuple[_Check, ...], value: JsonValue) -> None:
    for check in checks:
        if check.sub is None:
            problem = _violation(value, check.limit)
            if problem is not None:
                raise InvalidValue(f"{check.label} {problem}")
        elif isinstance(value, dict):
            item = value.get(check.sub)
            if item is not None and (problem := _violation(item, check.limit)) is not None:
                raise InvalidValue(f"{check.label} {problem}")
        elif isinstance(value, list):
            for index, element in enumerate(value):
                if not isinstance(element, dict) or (item := element.get(check.sub)) is None:
                    continue
                if (problem := _violation(item, check.limit)) is not None:
                    label = f"{check.attribute}[{index}].{check.sub}"
                    raise InvalidValue(f"{label} {problem}")


def check_limits(doc: JsonMapping, resource_type: ResourceType) -> None:
    """Raise InvalidValue for the first value of the canonical ``doc`` over a limit."""
    plan = _plan(resource_type)
    for key, value in doc.items():
        checks = plan.core.get(key)
        if checks is not None:
            _apply(checks, value)
            continue
        extension = plan.extensions.get(key)
        if extension is not None and isinstance(value, dict):
            for name, item in value.items():
                inner = extension.get(name)
                if inner is not None:
                    _apply(inner, item)
