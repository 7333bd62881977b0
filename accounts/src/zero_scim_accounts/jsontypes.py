"""JSON as the service reads and writes it, typed (the stand-in shares no code with
zero-scim, so it has its own two aliases): an account's profile, a view, an error's
details. Readers narrow with ``isinstance`` before they trust a value."""

from __future__ import annotations

from typing import TypeAlias

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
JsonObject: TypeAlias = dict[str, JsonValue]
