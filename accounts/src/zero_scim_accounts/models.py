"""Request models: the contract's input rules, enforced with pydantic v2.

Bodies are parsed straight from JSON bytes in strict mode (``"active": "true"`` is an
error, not a bool) and unknown fields are rejected, so a client bug shows up as a 422
listing the offending fields instead of being silently ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.alias_generators import to_camel

from zero_scim_accounts.jsontypes import JsonObject

MAX_KEY_LENGTH = 256
MAX_BATCH = 1000
MAX_PAGE = 1000
DEFAULT_PAGE = 100

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_external_key(key: str) -> str:
    """An externalKey: 1-256 characters, no ``/``, ``:`` or control characters, not a dot path.

    ``/`` and dot segments cannot survive a URL path; ``:`` is reserved for the custom
    methods (``/accounts/{key}:disable``).
    """
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"must be 1 to {MAX_KEY_LENGTH} characters")
    if "/" in key or ":" in key or _CONTROL.search(key):
        raise ValueError("must not contain '/', ':' or control characters")
    if key in {".", ".."}:
        raise ValueError("must not be '.' or '..'")
    return key


ExternalKey = Annotated[str, AfterValidator(check_external_key)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=256)]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_email(email: str) -> str:
    """Deliberately loose (``local@domain.tld``, at most 254 characters), like most SaaS."""
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError("not a valid e-mail address")
    return email


Email = Annotated[str, AfterValidator(check_email)]
Phone = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Role = Annotated[str, StringConstraints(min_length=1, max_length=64)]
BatchKey = Annotated[str, StringConstraints(min_length=1, max_length=MAX_KEY_LENGTH)]


class _Input(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class AccountIn(_Input):
    """Body of ``PUT /v1/orgs/{orgId}/accounts/{externalKey}``: the full desired state."""

    user_name: Text
    email: Email | None = None
    given_name: Text | None = None
    family_name: Text | None = None
    display_name: Text | None = None
    title: Text | None = None
    department: Text | None = None
    organization: Text | None = None
    work_phone: Phone | None = None
    #: ``None`` (omitted) keeps the current state; a new account starts enabled.
    active: bool | None = None
    roles: Annotated[list[Role], Field(max_length=100)] = []
    external_id: Text | None = None
    manager_key: ExternalKey | None = None

    @field_validator("roles")
    @classmethod
    def _roles_are_a_set(cls, roles: list[str]) -> list[str]:
        return sorted(set(roles))

    def profile(self) -> JsonObject:
        """Every stored field except ``active`` (which is the account's ``enabled`` state)."""
        return self.model_dump(by_alias=True, exclude={"active"})


class GroupIn(_Input):
    """Body of ``PUT /v1/orgs/{orgId}/groups/{externalKey}``."""

    display_name: Text
    external_id: Text | None = None

    def profile(self) -> JsonObject:
        return self.model_dump(by_alias=True)


#: An Entra tenant id (directory id): a GUID.
TENANT_ID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"


class SsoConfigIn(_Input):
    """Body of ``PUT /v1/orgs/{orgId}/sso``: the Entra tenant whose people sign in."""

    entra_tenant_id: Annotated[str, StringConstraints(pattern=TENANT_ID_PATTERN)]
    enabled: bool = True


class MembersBatchIn(_Input):
    """Body of ``POST /v1/orgs/{orgId}/groups/{externalKey}/members:batch``."""

    add: list[BatchKey] = []
    remove: list[BatchKey] = []


class _AdminInput(BaseModel):
    """Admin bodies use snake_case, like the fault knobs they mostly carry."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OrgIn(_AdminInput):
    """Body of ``POST /admin/orgs``."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    keys: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^\S+$")]],
        Field(min_length=1, max_length=100),
    ]
    replace_keys: bool = False


class RateLimitIn(_AdminInput):
    burst: Annotated[int, Field(ge=0)]
    retry_after: Annotated[int, Field(ge=0, le=3600)] = 1


class FaultsIn(_AdminInput):
    """Body of ``PUT /admin/faults``; replaces the whole fault configuration."""

    error_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    error_status: Annotated[int, Field(ge=500, le=599)] = 500
    #: ``before``: fail without running the handler; ``after``: run it (the write is
    #: committed), then answer with the error -- the ambiguous failure clients must survive.
    error_phase: Literal["before", "after"] = "before"
    latency_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    latency_jitter_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    rate_limit: RateLimitIn | None = None
    outage: bool = False
    #: Only requests whose path starts with one of these prefixes (all when empty).
    paths: list[Annotated[str, StringConstraints(pattern=r"^/")]] = []
    #: Only requests with one of these methods (all when empty).
    methods: list[Literal["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"]] = []
    #: Seed for the error-rate dice, for reproducible runs.
    seed: int | None = None

    @field_validator("methods", mode="before")
    @classmethod
    def _upper(cls, methods: Any) -> Any:
        if isinstance(methods, list):
            return [m.upper() if isinstance(m, str) else m for m in methods]
        return methods
