"""The field mapping: ScimUser/ScimGroup to Zero account/group (mapping.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from zero_scim_operator.downstream import Account
from zero_scim_operator.mapping import (
    InvalidObject,
    account_fingerprint,
    account_input,
    group_input,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


USER: dict[str, Any] = {
    "id": "2819c223",
    "userName": "bjensen@example.com",
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "active": True,
    "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J"},
    "emails": [
        {"value": "home@example.com", "type": "home"},
        {"value": "bjensen@example.com", "type": "work", "primary": True},
    ],
    "phoneNumbers": [{"value": "555-1", "type": "mobile"}, {"value": "555-2", "type": "work"}],
    "roles": [{"value": "Admin", "primary": True}, {"value": "Reader"}, {"value": "Admin"}],
    "externalId": "ext-1",
    "enterprise": {
        "department": "Tour Operations",
        "organization": "Universal",
        "manager": {"value": "26118915"},
    },
}


def test_user_mapping() -> None:
    account = account_input(USER)
    assert account.model_dump() == {
        "user_name": "bjensen@example.com",
        "email": "bjensen@example.com",
        "given_name": "Barbara",
        "family_name": "Jensen",
        "display_name": "Babs Jensen",
        "title": "Tour Guide",
        "department": "Tour Operations",
        "organization": "Universal",
        "work_phone": "555-2",
        "active": True,
        "roles": ["Admin", "Reader"],
        "external_id": "ext-1",
        "manager_key": "26118915",
    }


def test_user_mapping_fallbacks_and_omissions() -> None:
    spec = {
        "id": "me",
        "userName": "a@example.com",
        "active": False,
        "name": {"formatted": "A B", "givenName": ""},
        "emails": [{"value": "x@example.com"}, {"value": "w@example.com", "type": "Work"}],
        "enterprise": {"manager": {"value": "me"}},
    }
    account = account_input(spec)
    assert account.email == "w@example.com"  # no primary: the work one
    assert account.display_name == "A B"  # no displayName: name.formatted
    assert account.given_name is None  # empty strings are absent
    assert account.active is False
    assert account.manager_key is None  # never one's own manager


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "x" * 300}, "title"),
        ({"emails": [{"value": "not-an-email", "primary": True}]}, "emails"),
        ({"userName": "u" * 257}, "userName"),
        ({"enterprise": {"manager": {"value": "a/b"}}}, "enterprise manager"),
    ],
)
def test_unmappable_users_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidObject, match=field):
        account_input({**USER, **change})


def test_fingerprint_matches_the_downstream_account() -> None:
    desired = account_input(USER)
    now = T0.isoformat()
    stored = Account.model_validate(
        {
            **desired.model_dump(by_alias=True),
            "roles": ["Reader", "Admin"],
            "id": "acc_1",
            "externalKey": "2819c223",
            "enabled": True,
            "version": 3,
            "createdAt": now,
            "updatedAt": now,
        }
    )
    assert account_fingerprint(stored) == account_fingerprint(desired)
    disabled = stored.model_copy(update={"enabled": False})
    assert account_fingerprint(disabled) != account_fingerprint(desired)


def test_group_mapping() -> None:
    assert group_input({"id": "g", "displayName": "Ops", "externalId": ""}).external_id is None
    with pytest.raises(InvalidObject):
        group_input({"id": "g", "displayName": "x" * 300})
