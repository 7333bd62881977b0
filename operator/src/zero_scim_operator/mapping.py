"""How a SCIM user or group becomes a Zero account or group (the field mapping).

=========================================  =============================================
Zero account field                         from the ScimUser spec
=========================================  =============================================
``externalKey`` (the URL key)              ``id`` (the SCIM id: stable across renames)
``userName``                               ``userName``
``email``                                  ``emails``: the ``primary`` one, else the
                                           ``work`` one, else the first
``givenName`` / ``familyName``             ``name.givenName`` / ``name.familyName``
``displayName``                            ``displayName``, else ``name.formatted``
``title``                                  ``title``
``department`` / ``organization``          enterprise ``department`` / ``organization``
``workPhone``                              ``phoneNumbers``: the ``work`` one, else the
                                           ``primary`` one
``active``                                 ``active`` (false → the account is disabled)
``roles``                                  ``roles[].value`` (de-duplicated)
``externalId``                             ``externalId``
``managerKey``                             enterprise ``manager.value`` (the manager's
                                           SCIM id, i.e. the manager's externalKey)
=========================================  =============================================

Empty strings count as absent. A value Zero cannot store (longer than 256 characters,
an invalid e-mail, more than 100 roles, ...) makes the user invalid: it is not sent, and
its ``Synced`` condition says which field is wrong (``InvalidUser``). A manager that is
the user themselves is left out (Zero refuses self-management).

A group maps ``id`` → ``externalKey``, ``displayName`` → ``displayName`` and
``externalId`` → ``externalId``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from zero_scim_operator.downstream import (
    Account,
    AccountInput,
    Group,
    GroupInput,
    check_external_key,
)


class InvalidObject(ValueError):
    """The object cannot be represented downstream; the message names the field."""


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    return None


def _object(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _pick(items: object, *, prefer: Sequence[str]) -> str | None:
    """The ``value`` of a multi-valued attribute: by ``primary``/``type`` preference."""
    if not isinstance(items, Sequence) or isinstance(items, str):
        return None
    candidates = [i for i in items if isinstance(i, Mapping) and _text(i.get("value"))]
    for wanted in prefer:
        for item in candidates:
            if wanted == "primary" and item.get("primary") is True:
                return _text(item.get("value"))
            if wanted != "primary" and str(item.get("type", "")).lower() == wanted:
                return _text(item.get("value"))
    if "first" in prefer and candidates:
        return _text(candidates[0].get("value"))
    return None


def _roles(items: object) -> list[str]:
    if not isinstance(items, Sequence) or isinstance(items, str):
        return []
    values = (_text(i.get("value")) for i in items if isinstance(i, Mapping))
    return sorted({v for v in values if v is not None})


def account_input(spec: Mapping[str, object]) -> AccountInput:
    """The desired Zero account for a ScimUser spec. Raises :class:`InvalidObject`.

    Every field is sent, a field without a value as ``null`` -- which clears it in Zero
    (docs/zero-accounts-api.md, "Clearing a field").
    """
    name = _object(spec.get("name"))
    enterprise = _object(spec.get("enterprise"))
    manager = enterprise.get("manager")
    manager_key = _text(manager.get("value")) if isinstance(manager, Mapping) else None
    own_id = str(spec.get("id", ""))
    if manager_key is not None:
        try:
            check_external_key(manager_key)
        except ValueError as exc:
            raise InvalidObject(f"enterprise manager: {exc}") from None
        if manager_key == own_id:
            manager_key = None
    fields: dict[str, object] = {
        "user_name": spec.get("userName"),
        "email": _pick(spec.get("emails"), prefer=("primary", "work", "first")),
        "given_name": _text(name.get("givenName")),
        "family_name": _text(name.get("familyName")),
        "display_name": _text(spec.get("displayName")) or _text(name.get("formatted")),
        "title": _text(spec.get("title")),
        "department": _text(enterprise.get("department")),
        "organization": _text(enterprise.get("organization")),
        "work_phone": _pick(spec.get("phoneNumbers"), prefer=("work", "primary")),
        "active": spec.get("active", True) is not False,
        "roles": _roles(spec.get("roles")),
        "external_id": _text(spec.get("externalId")),
        "manager_key": manager_key,
    }
    try:
        return AccountInput.model_validate(fields)
    except ValidationError as exc:
        raise InvalidObject(_describe(exc, _ACCOUNT_SOURCES)) from None


def group_input(spec: Mapping[str, object]) -> GroupInput:
    """The desired Zero group for a ScimGroup spec. Raises :class:`InvalidObject`."""
    fields = {"display_name": spec.get("displayName"), "external_id": _text(spec.get("externalId"))}
    try:
        return GroupInput.model_validate(fields)
    except ValidationError as exc:
        raise InvalidObject(_describe(exc, {})) from None


def external_key(spec: Mapping[str, object]) -> str:
    """The downstream key of a user or group: its SCIM id. Raises :class:`InvalidObject`."""
    try:
        return check_external_key(str(spec.get("id", "")))
    except ValueError as exc:
        raise InvalidObject(f"id: {exc}") from None


_ACCOUNT_SOURCES = {
    "user_name": "userName",
    "email": "emails",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "display_name": "displayName",
    "title": "title",
    "department": "enterprise.department",
    "organization": "enterprise.organization",
    "work_phone": "phoneNumbers",
    "roles": "roles",
    "external_id": "externalId",
    "manager_key": "enterprise.manager",
}


def _describe(exc: ValidationError, sources: Mapping[str, str]) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in error["loc"]]
        source = sources.get(loc[0], loc[0]) if loc else "value"
        parts.append(f"{source}: {error['msg']}")
    return "; ".join(parts) or str(exc)


# -- fingerprints: what drift detection compares --------------------------------------------


def _digest(values: Sequence[object]) -> str:
    return hashlib.blake2b(repr(tuple(values)).encode("utf-8"), digest_size=12).hexdigest()


def account_fingerprint(account: AccountInput | Account) -> str:
    """Equal for a desired account and the downstream account that matches it."""
    active = account.active if isinstance(account, AccountInput) else account.enabled
    return _digest(
        (
            account.user_name,
            account.email,
            account.given_name,
            account.family_name,
            account.display_name,
            account.title,
            account.department,
            account.organization,
            account.work_phone,
            active is not False,
            tuple(sorted(set(account.roles))),
            account.external_id,
            account.manager_key,
        )
    )


def group_fingerprint(group: GroupInput | Group) -> str:
    return _digest((group.display_name, group.external_id))
