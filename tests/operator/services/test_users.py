"""A user's life in Zero: create, update, disable, enable, rename, delete; bad input."""

from __future__ import annotations

import uuid

from tests.operator.conftest import Start
from tests.operator.support import (
    Zero,
    condition,
    create_tenant,
    create_user,
    delete_object,
    events_for,
    eventually,
    get_object,
    get_tenant,
    is_true,
    patch_spec,
    reason_is,
    user_spec,
)
from tests.support.kube import KubeEnv
from zero_scim.kube.coordinates import FINALIZER, USER
from zero_scim.kube.names import user_object_name


async def test_life_of_a_user(kube: KubeEnv, namespace: str, zero: Zero, operators: Start) -> None:
    operators()
    create_tenant(kube, zero, namespace)
    scim_id = str(uuid.uuid4())
    manager = str(uuid.uuid4())
    spec = user_spec(
        "bjensen@example.com",
        scim_id,
        name={"givenName": "Barbara", "familyName": "Jensen"},
        title="Tour Guide",
        roles=[{"value": "Admin"}],
        externalId="entra-object-id",
        phoneNumbers=[{"value": "+1 555 0100", "type": "work"}],
        enterprise={
            "department": "Tours",
            "organization": "Universal",
            "manager": {"value": manager},
        },
    )
    name = create_user(kube, namespace, spec)

    account = await eventually(lambda: zero.account(scim_id))
    assert {k: account[k] for k in ("userName", "email", "givenName", "familyName", "title")} == {
        "userName": "bjensen@example.com",
        "email": "bjensen@example.com",
        "givenName": "Barbara",
        "familyName": "Jensen",
        "title": "Tour Guide",
    }
    assert account["department"] == "Tours" and account["organization"] == "Universal"
    assert account["workPhone"] == "+1 555 0100" and account["roles"] == ["Admin"]
    assert account["externalId"] == "entra-object-id" and account["managerKey"] == manager
    assert account["enabled"] is True

    user = await eventually(lambda: _synced(kube, namespace, name))
    status = user["status"]
    assert status["downstreamId"] == account["id"] and status["lastSyncedAt"]
    assert FINALIZER in user["metadata"]["finalizers"]
    assert "lastError" not in status
    assert user["metadata"].get("annotations") is None  # the operator wrote no annotation

    # Update, disable, enable: each one PUT, the status follows the generation.
    patch_spec(kube, USER, namespace, name, {"title": "Chief Guide"})
    await eventually(lambda: _field(zero, scim_id, "title", "Chief Guide"))
    patch_spec(kube, USER, namespace, name, {"active": False})
    await eventually(lambda: _field(zero, scim_id, "enabled", False))
    disabled = await eventually(lambda: _synced(kube, namespace, name))
    assert disabled["status"]["observedGeneration"] == 3
    patch_spec(kube, USER, namespace, name, {"active": True})
    await eventually(lambda: _field(zero, scim_id, "enabled", True))
    await eventually(lambda: _synced(kube, namespace, name))
    assert await zero.requests("PUT", f"/accounts/{scim_id}") == 4

    # Rename: the API creates the new object (same SCIM id), then deletes the old one.
    renamed = dict(spec, userName="barbara@example.com")
    new_name = create_user(kube, namespace, renamed)
    delete_object(kube, USER, namespace, name)
    await eventually(lambda: get_object(kube, USER, namespace, name) is None)
    await eventually(lambda: _field(zero, scim_id, "userName", "barbara@example.com"))
    await eventually(lambda: _synced(kube, namespace, new_name))
    assert await zero.requests("DELETE", f"/accounts/{scim_id}") == 0  # never deprovisioned

    # Delete: the account goes first, then the object.
    delete_object(kube, USER, namespace, new_name)
    await eventually(lambda: get_object(kube, USER, namespace, new_name) is None)
    assert await zero.account(scim_id) is None
    assert await zero.requests("DELETE", f"/accounts/{scim_id}", 204) == 1
    await eventually(lambda: get_tenant(kube, namespace)["status"]["userCount"] == 0)


async def test_unmappable_and_rejected_users_do_not_loop(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    create_tenant(kube, zero, namespace)
    long_title = user_spec("long@example.com", title="x" * 300)
    bad_id = long_title["id"]
    invalid = create_user(kube, namespace, long_title)
    first = user_spec("first@example.com")
    create_user(kube, namespace, first)
    await eventually(lambda: zero.account(first["id"]))
    # Same e-mail as ``first``: Zero answers 409 email_taken.
    taken = user_spec(
        "second@example.com", emails=[{"value": "first@example.com", "primary": True}]
    )
    clash = create_user(kube, namespace, taken)

    bad = await eventually(
        lambda: reason_is(get_object(kube, USER, namespace, invalid) or {}, "Synced", "InvalidUser")
    )
    assert bad["status"] == "False" and "title" in bad["message"]
    conflict = await eventually(
        lambda: reason_is(get_object(kube, USER, namespace, clash) or {}, "Synced", "Conflict")
    )
    assert "email_taken" in conflict["message"]
    user = get_object(kube, USER, namespace, clash)
    assert user is not None and "email_taken" in user["status"]["lastError"]
    await eventually(lambda: events_for(kube, namespace, clash, "Conflict"))
    await eventually(lambda: events_for(kube, namespace, invalid, "InvalidUser"))

    # No hot loop: nothing is ever sent for the invalid user; the conflict is retried
    # slowly (the first retry after 2.5-5 s, then ever longer).
    await _sleep(3)
    assert await zero.requests("PUT", f"/accounts/{taken['id']}") <= 2
    assert await zero.requests("PUT", f"/accounts/{bad_id}") == 0

    # Fixing the spec fixes the user.
    patch_spec(kube, USER, namespace, invalid, {"title": "Short"})
    await eventually(lambda: _synced(kube, namespace, invalid))
    patch_spec(kube, USER, namespace, clash, {"emails": [{"value": "second@example.com"}]})
    await eventually(lambda: _synced(kube, namespace, clash))


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)  # a quiet period, not an assertion


def _synced(kube: KubeEnv, namespace: str, name: str) -> dict[str, object] | None:
    user = get_object(kube, USER, namespace, name)
    if user is None or not is_true(user, "Synced"):
        return None
    found = condition(user, "Synced")
    generation = user["metadata"]["generation"]
    assert found is not None
    if found.get("observedGeneration") != generation:
        return None
    return user


async def _field(zero: Zero, key: str, field: str, value: object) -> bool:
    account = await zero.account(key)
    return account is not None and account[field] == value


def test_names_are_user_names() -> None:
    assert user_object_name("BJensen@Example.com") == user_object_name("bjensen@example.com")
