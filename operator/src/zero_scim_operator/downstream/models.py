"""Payloads of the Zero accounts API, as the operator sends and receives them.

Inputs (:class:`AccountInput`, :class:`GroupInput`) mirror the contract's rules, so a
value the service would reject with 422 fails here, before any request is sent. Outputs
(:class:`Account`, :class:`Group`) ignore unknown fields, so a newer service that adds
fields does not break an older operator. Field names are snake_case in Python and
camelCase on the wire.

These models deliberately do not import the service's own models
(``zero_scim_accounts``): that package is a stand-in for a third-party service, and the
client must work against the real one. tests/accounts/test_contract.py keeps the two in
step with docs/zero-accounts-openapi.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

MAX_KEY_LENGTH = 256
#: Most keys (add + remove) the service accepts in one ``members:batch`` call.
MAX_BATCH = 1000
#: Largest page the service serves.
MAX_PAGE = 1000

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_external_key(key: str) -> str:
    """1-256 characters; no ``/``, ``:`` or control characters; not ``.`` or ``..``."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"externalKey must be 1 to {MAX_KEY_LENGTH} characters")
    if "/" in key or ":" in key or _CONTROL.search(key) or key in {".", ".."}:
        raise ValueError(f"externalKey {key!r} contains '/', ':' or control characters")
    return key


def _check_email(email: str) -> str:
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError("not a valid e-mail address")
    return email


ExternalKey = Annotated[str, AfterValidator(check_external_key)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Email = Annotated[str, AfterValidator(_check_email)]
Phone = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Role = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class _Input(_Wire):
    model_config = ConfigDict(extra="forbid")


class _Output(_Wire):
    model_config = ConfigDict(extra="ignore")


class AccountInput(_Input):
    """Desired state of an account: the body of ``PUT .../accounts/{externalKey}``.

    ``active=None`` leaves the enabled state as it is (a new account starts enabled).
    """

    user_name: Text
    email: Email | None = None
    given_name: Text | None = None
    family_name: Text | None = None
    display_name: Text | None = None
    title: Text | None = None
    department: Text | None = None
    organization: Text | None = None
    work_phone: Phone | None = None
    active: bool | None = None
    roles: Annotated[list[Role], Field(max_length=100)] = []
    external_id: Text | None = None
    manager_key: ExternalKey | None = None


class Account(_Output):
    """An account as the service returns it."""

    id: str
    external_key: str
    user_name: str
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    title: str | None = None
    department: str | None = None
    organization: str | None = None
    work_phone: str | None = None
    active: bool
    roles: list[str] = []
    external_id: str | None = None
    manager_key: str | None = None
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime


class GroupInput(_Input):
    """Desired state of a group: the body of ``PUT .../groups/{externalKey}``."""

    display_name: Text
    external_id: Text | None = None


class Group(_Output):
    """A group as the service returns it (members are listed separately)."""

    id: str
    external_key: str
    display_name: str
    external_id: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime


class SsoInput(_Input):
    """Body of ``PUT .../sso``: the Entra tenant whose people sign in to the org."""

    entra_tenant_id: str
    enabled: bool = True


class SsoConfig(_Output):
    """The org's single sign-on link as the service returns it."""

    entra_tenant_id: str
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime


class Member(_Output):
    account_key: str
    added_at: datetime


class MembershipChange(_Output):
    """Result of :meth:`ZeroAccountsClient.change_members`, summed over all chunks."""

    added: int = 0
    removed: int = 0
    #: Account keys that do not exist in the org (neither added nor removed).
    missing: list[str] = []


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Upserted(Generic[T]):
    """What an upsert did: the resource as stored, and whether it was just created.

    An unchanged ``resource.version`` tells that the service found nothing to change.
    """

    resource: T
    created: bool
