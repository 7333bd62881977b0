"""JSON as it comes off the wire, typed: the one vocabulary for data that has no schema yet.

Parsed JSON is a :data:`JsonValue`; an object is a :data:`JsonObject`. Code that knows a
shape better says so with a ``TypedDict`` (the custom resources, ``zero_scim.kube``) or a
pydantic model (the downstream API); what is left — SCIM documents of arbitrary
attributes, PATCH values — is typed with these aliases instead of ``Any``, so mypy makes
every reader narrow (``isinstance``) before it trusts a value.

Read-only parameters take ``Mapping[str, JsonValue]`` / ``Sequence[JsonValue]``: those
are covariant, so a ``dict[str, str]`` is accepted where a ``JsonObject`` would not be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

JsonScalar: TypeAlias = str | int | float | bool | None
JsonValue: TypeAlias = JsonScalar | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject: TypeAlias = dict[str, JsonValue]
JsonArray: TypeAlias = list[JsonValue]
JsonMapping: TypeAlias = Mapping[str, JsonValue]
JsonSequence: TypeAlias = Sequence[JsonValue]


def as_object(value: JsonValue | None) -> JsonObject:
    """``value`` if it is a JSON object, else an empty one (for optional nested objects)."""
    return value if isinstance(value, dict) else {}


def as_array(value: JsonValue | None) -> JsonArray:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []
