"""The operator's pure parts: durations, conditions, mapping, the diff base.

(The member plan is the member log's: tests/core/test_memberlog.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import kopf
import pytest

from zero_scim.memberlog import EntryHeader
from zero_scim_operator import conditions
from zero_scim_operator.directory import Directory, UserEntry
from zero_scim_operator.downstream import Account
from zero_scim_operator.durations import DurationError, format_duration, parse_duration
from zero_scim_operator.mapping import (
    InvalidObject,
    account_fingerprint,
    account_input,
    group_input,
)
from zero_scim_operator.models import TenantConfig
from zero_scim_operator.services.tokens import Action, TokenState, decide
from zero_scim_operator.settings import GenerationDiffBase

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("90m", 5400),
        ("720h", 2592000),
        ("1h30m", 5400),
        ("1.5s", 1.5),
        ("500ms", 0.5),
        ("2d", 172800),
        ("10m", 600),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "-1h", "1y", "1h 30m", "01:00"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_format_duration() -> None:
    assert format_duration(timedelta(seconds=5400)) == "1h30m"
    assert format_duration(timedelta(0)) == "0"


def test_condition_transition_time_changes_only_with_status() -> None:
    first = conditions.merge(None, [conditions.true("Ready", "Ready", "ok", 1)], T0)
    later = T0 + timedelta(hours=1)
    same = conditions.merge(first, [conditions.true("Ready", "Still", "fine", 2)], later)
    assert same[0]["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    assert same[0]["reason"] == "Still" and same[0]["observedGeneration"] == 2
    flipped = conditions.merge(same, [conditions.false("Ready", "Broken", "no", 2)], later)
    assert flipped[0]["lastTransitionTime"] == "2025-01-01T01:00:00Z"
    both = conditions.merge(flipped, [conditions.unknown("Other", "Why", "", 2)], later)
    assert [c["type"] for c in both] == ["Ready", "Other"]


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


def test_tenant_spec_defaults_and_errors() -> None:
    body: dict[str, Any] = {
        "metadata": {
            "name": "acme",
            "uid": "u1",
            "generation": 2,
            "annotations": {"zeroscim.io/rotate-token": "7"},
        },
        "spec": {
            "downstream": {"baseUrl": "http://z", "orgId": "o", "apiKeySecretRef": {"name": "k"}},
            "tokenRotation": {"interval": "720h"},
        },
    }
    tenant = TenantConfig.from_object(body)
    assert tenant.namespace == "acme" and tenant.rotate_request == "7"
    spec = tenant.require_spec()
    assert spec.token_rotation.interval == timedelta(hours=720)
    assert spec.token_rotation.grace_period == timedelta(hours=24)
    assert spec.downstream is not None and spec.downstream.resync_interval == timedelta(minutes=10)
    assert spec.downstream.api_key_secret_ref.key == "apiKey"
    invalid: dict[str, Any] = {**body, "spec": {"tokenRotation": {"interval": "soon"}}}
    broken = TenantConfig.from_object(invalid)
    assert broken.spec is None and "interval" in (broken.spec_error or "")


def _entry(seq: int, kind: str = "Delta", part: int = 0, parts: int = 1) -> EntryHeader:
    name = f"g-x-{seq:010d}" + (f"-p{part}" if part else "")
    return EntryHeader(name=name, seq=seq, type=kind, part=part, parts=parts)


def _user(generation: int, handled: int | None) -> kopf.Body:
    status: dict[str, Any] = {}
    if handled is not None:
        status["kopf"] = {"handledGeneration": handled}
    raw: dict[str, Any] = {
        "apiVersion": "zeroscim.io/v1alpha1",
        "kind": "ScimUser",
        "metadata": {"name": "u", "generation": generation, "labels": {"a": "b"}},
        "spec": {"id": "1", "userName": "u"},
        "status": status,
    }
    return kopf.Body(cast(kopf.RawBody, raw))


def test_generation_diff_base() -> None:
    storage = GenerationDiffBase()
    assert storage.fetch(body=_user(1, None)) is None  # never handled: a creation
    same = _user(3, 3)
    assert storage.fetch(body=same) == storage.build(body=same)  # no diff
    changed = _user(4, 3)
    assert storage.fetch(body=changed) != storage.build(body=changed)  # an update
    patch = kopf.Patch()
    storage.store(body=changed, patch=patch, essence=storage.build(body=changed))
    assert patch == {"status": {"kopf": {"handledGeneration": 4}}}
    raw: dict[str, Any] = {"kind": "ZeroTenant", "metadata": {"name": "t"}, "spec": {}}
    tenant = kopf.Body(cast(kopf.RawBody, raw))
    assert storage.fetch(body=tenant) == storage.build(body=tenant) == {}  # never a diff


def _state(
    rotated: datetime, expires: datetime | None = None, request: str | None = None
) -> TokenState:
    return TokenState(
        rotated_at=rotated, previous_expires_at=expires, honored_request=request, has_token=True
    )


def test_rotation_decisions() -> None:
    hour = timedelta(hours=1)
    assert decide(None, interval=hour, request=None, now=T0) is Action.CREATE
    fresh = _state(T0)
    assert decide(fresh, interval=hour, request=None, now=T0 + hour / 2) is Action.NONE
    assert decide(fresh, interval=hour, request=None, now=T0 + hour) is Action.ROTATE_SCHEDULED
    # Overdue by three intervals (no operator ran): still one rotation, then not due.
    assert decide(fresh, interval=hour, request=None, now=T0 + 3 * hour) is Action.ROTATE_SCHEDULED
    rotated = _state(T0 + 3 * hour, expires=T0 + 4 * hour)
    assert decide(rotated, interval=hour, request=None, now=T0 + 3.5 * hour) is Action.NONE
    # The grace period ends before the next rotation is due.
    longer = timedelta(hours=2)
    assert (
        decide(rotated, interval=longer, request=None, now=T0 + 4 * hour) is Action.EXPIRE_PREVIOUS
    )
    # Interval 0: never on a schedule; on demand only for a value not answered yet.
    never = timedelta(0)
    assert decide(fresh, interval=never, request=None, now=T0 + 1000 * hour) is Action.NONE
    assert decide(fresh, interval=never, request="1", now=T0) is Action.ROTATE_REQUESTED
    answered = _state(T0, request="1")
    assert decide(answered, interval=never, request="1", now=T0) is Action.NONE


def _user_body(name: str, scim_id: str, *, deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "generation": 1}
    if deleting:
        metadata["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"metadata": metadata, "spec": {"id": scim_id, "userName": f"{name}@example.com"}}


def test_directory_tracks_renames_counts_and_listing() -> None:
    directory = Directory(now=100.0)
    assert not directory.settled(101.0) and directory.settled(105.0)
    directory.put_user("ns", UserEntry.from_body(_user_body("u-old", "id-1")))
    directory.put_user("ns", UserEntry.from_body(_user_body("u-new", "id-1")))
    directory.put_user("ns", UserEntry.from_body(_user_body("u-other", "id-2")))
    assert directory.user_count("ns") == 3
    assert {e.name for e in directory.users_with_id("ns", "id-1")} == {"u-old", "u-new"}
    directory.put_user("ns", UserEntry.from_body(_user_body("u-old", "id-1", deleting=True)))
    live = [e.name for e in directory.users_with_id("ns", "id-1") if not e.deleting]
    assert live == ["u-new"]
    directory.drop_user("ns", "u-old")
    assert [e.name for e in directory.users_with_id("ns", "id-1")] == ["u-new"]
    directory.drop_user("ns", "u-new")
    directory.drop_user("ns", "u-other")
    assert directory.user_count("ns") == 0 and directory.users_with_id("ns", "id-1") == []
    directory.listed(200.0)
    assert not directory.settled(203.0) and directory.settled(205.0)
    directory.put_batch("ns", "g-1", _entry(2))
    directory.put_batch("ns", "g-1", _entry(1))
    assert [b.seq for b in directory.batches("ns", "g-1")] == [1, 2]
    directory.drop_batch("ns", "g-1", _entry(1).name)
    assert [b.seq for b in directory.batches("ns", "g-1")] == [2]
