"""A cleared attribute disappears from the Zero account (issue 9, item 1), end to end.

When an Entra admin empties a mapped attribute, Entra sends ``""`` (or ``null``, ``[]``)
in one of many PATCH forms of its two dialects, or in a POST or PUT body. Each form below
goes through the real SCIM API (``zero-scim api``), the real API server, the operator and
the real accounts service; the account field it maps to must end up ``null`` in Zero
(``roles``: ``[]``) while the other fields keep their values. The operator sends every
field in every ``PUT`` -- a cleared one as ``null`` (docs/zero-accounts-api.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.operator.conftest import Start
from tests.operator.support import Zero, create_tenant, eventually, read_secret
from tests.support.kube import KubeEnv
from tests.support.scim import running_api, scim_client

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

#: Every mapped Zero field and the value the full user gives it.
FILLED = {
    "email": True,
    "givenName": "Barbara",
    "familyName": "Jensen",
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "department": "Tour Operations",
    "organization": "Universal Studios",
    "workPhone": "+1 555 0100",
    "roles": ["Guide"],
    "externalId": True,
    "managerKey": True,
}


def full_user(user_name: str, manager: str) -> dict[str, Any]:
    return {
        "schemas": [USER_URN, ENTERPRISE],
        "userName": user_name,
        "externalId": str(uuid.uuid4()),
        "active": True,
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        "roles": [{"value": "Guide"}],
        ENTERPRISE: {
            "department": "Tour Operations",
            "organization": "Universal Studios",
            "manager": {"value": manager},
        },
    }


def op(name: str, path: str | None, value: object) -> dict[str, Any]:
    operation: dict[str, Any] = {"op": name, "value": value}
    if path is not None:
        operation["path"] = path
    return operation


@dataclass(frozen=True)
class Form:
    """One way of clearing: PATCH operations (or a whole PUT body's changes), and the
    Zero fields that must be cleared by it."""

    name: str
    cleared: tuple[str, ...]
    operations: tuple[dict[str, Any], ...] = ()
    #: For PUT: the full user's attributes replaced by these (top level or enterprise).
    put: tuple[tuple[str, object], ...] = ()


FORMS = [
    # Entra's default job: capitalised ops, one per path.
    Form("Replace path ''", ("title",), (op("Replace", "title", ""),)),
    Form("Add path ''", ("title",), (op("Add", "title", ""),)),
    Form("Replace path null", ("title",), (op("Replace", "title", None),)),
    Form("Replace name.givenName ''", ("givenName",), (op("Replace", "name.givenName", ""),)),
    Form(
        "Replace name.familyName null", ("familyName",), (op("Replace", "name.familyName", None),)
    ),
    Form("Replace displayName ''", ("displayName",), (op("Replace", "displayName", ""),)),
    Form("Replace externalId ''", ("externalId",), (op("Replace", "externalId", ""),)),
    Form(
        "Replace emails[type eq work].value ''",
        ("email",),
        (op("Replace", 'emails[type eq "work"].value', ""),),
    ),
    Form(
        "Replace phoneNumbers[type eq work].value ''",
        ("workPhone",),
        (op("Replace", 'phoneNumbers[type eq "work"].value', ""),),
    ),
    Form("Replace phoneNumbers []", ("workPhone",), (op("Replace", "phoneNumbers", []),)),
    Form("Replace roles []", ("roles",), (op("Replace", "roles", []),)),
    Form(
        "Replace enterprise:department ''",
        ("department",),
        (op("Replace", f"{ENTERPRISE}:department", ""),),
    ),
    Form(
        "Replace enterprise:organization null",
        ("organization",),
        (op("Replace", f"{ENTERPRISE}:organization", None),),
    ),
    Form(
        "Replace enterprise:manager ''",
        ("managerKey",),
        (op("Replace", f"{ENTERPRISE}:manager", ""),),
    ),
    Form(
        "Replace enterprise:manager {value: ''}",
        ("managerKey",),
        (op("Replace", f"{ENTERPRISE}:manager", {"value": ""}),),
    ),
    Form("Add enterprise:manager ''", ("managerKey",), (op("Add", f"{ENTERPRISE}:manager", ""),)),
    # aadOptscim062020: lower-case ops, path-less values with plain, dotted and URN keys.
    Form("replace path ''", ("title",), (op("replace", "title", ""),)),
    Form("replace path-less {title: ''}", ("title",), (op("replace", None, {"title": ""}),)),
    Form(
        "replace path-less {name.givenName: ''}",
        ("givenName",),
        (op("replace", None, {"name.givenName": ""}),),
    ),
    Form(
        "replace path-less {enterprise:department: ''}",
        ("department",),
        (op("replace", None, {f"{ENTERPRISE}:department": ""}),),
    ),
    Form(
        "replace path-less {enterprise:manager: ''}",
        ("managerKey",),
        (op("replace", None, {f"{ENTERPRISE}:manager": ""}),),
    ),
    Form(
        "replace path-less, several attributes at once",
        ("displayName", "givenName", "familyName", "organization"),
        (
            op(
                "replace",
                None,
                {
                    "displayName": "",
                    "name.givenName": "",
                    "name.familyName": "",
                    f"{ENTERPRISE}:organization": "",
                },
            ),
        ),
    ),
    Form(
        "replace emails[type eq work].value ''",
        ("email",),
        (op("replace", 'emails[type eq "work"].value', ""),),
    ),
    Form("add path-less {title: ''}", ("title",), (op("add", None, {"title": ""}),)),
    # (add of [] to a multi-valued attribute adds nothing -- RFC 7644 3.5.2.1 -- so it does
    # not clear; replace does: "Replace roles []" above.)
    # What always worked: Remove.
    Form("Remove path", ("title",), ({"op": "Remove", "path": "title"},)),
    # Whole bodies.
    Form(
        "PUT with ''",
        ("title", "department", "managerKey"),
        put=(("title", ""), ("department", ""), ("manager", "")),
    ),
    Form(
        "PUT with null and []",
        ("givenName", "familyName", "roles"),
        put=(("name", None), ("roles", [])),
    ),
]


def put_body(base: dict[str, Any], changes: tuple[tuple[str, object], ...]) -> dict[str, Any]:
    body = {**base, ENTERPRISE: dict(base[ENTERPRISE])}
    for key, value in changes:
        if key in ("department", "organization", "manager"):
            body[ENTERPRISE][key] = value
        else:
            body[key] = value
    return body


async def test_every_form_of_clearing_reaches_zero(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    create_tenant(kube, zero, namespace)
    token = (await eventually(lambda: read_secret(kube, namespace)))["data"]["token"]
    with running_api(kube.kubeconfig) as api:
        async with scim_client(api.url, token) as scim:
            await eventually(lambda: _ok(scim))
            # The users' manager: any SCIM id will do (Zero does not check that it exists).
            boss_id = await _post(scim, full_user("the-manager@example.com", "nobody"))

            # POST with "": the user is created, the attributes are absent in Zero.
            posted = full_user("posted@example.com", boss_id)
            posted["title"] = ""
            posted[ENTERPRISE] = {**posted[ENTERPRISE], "department": "", "manager": {"value": ""}}
            posted_id = await _post(scim, posted)

            users: dict[str, tuple[Form, dict[str, Any]]] = {}
            for i, form in enumerate(FORMS):
                body = full_user(f"clear{i}@example.com", boss_id)
                users[await _post(scim, body)] = (form, body)
            await eventually(lambda: _all_filled(zero, list(users)), timeout=60)

            for scim_id, (form, body) in users.items():
                if form.put:
                    response = await scim.put(f"/Users/{scim_id}", json=put_body(body, form.put))
                else:
                    patch = {"schemas": [PATCH_URN], "Operations": list(form.operations)}
                    response = await scim.patch(f"/Users/{scim_id}", json=patch)
                assert response.status_code == 200, (form.name, response.text)

            async def cleared() -> list[str]:
                wrong = []
                accounts = await zero.accounts()
                for scim_id, (form, _) in users.items():
                    account = accounts[scim_id]
                    for field in form.cleared:
                        if account[field] not in (None, []):
                            wrong.append(f"{form.name}: {field} is {account[field]!r}")
                    kept = [f for f in FILLED if f not in form.cleared]
                    wrong += [f"{form.name}: {f} lost" for f in kept if account[f] in (None, [])]
                return wrong

            await eventually(lambda: _none(cleared), "every cleared field null in Zero", timeout=60)
            account = await zero.account(posted_id)
            assert account is not None
            assert (account["title"], account["department"], account["managerKey"]) == (
                None,
                None,
                None,
            )
            assert account["givenName"] == "Barbara" and account["organization"]


async def _none(check: Any) -> bool:
    wrong = await check()
    assert not wrong, wrong  # eventually() shows the last assertion when time is up
    return True


async def _ok(scim: httpx.AsyncClient) -> bool:
    return (await scim.get("/Users", params={"count": "0"})).status_code == 200


async def _post(scim: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await scim.post("/Users", json=body)
    assert response.status_code == 201, response.text
    scim_id: str = response.json()["id"]
    return scim_id


async def _all_filled(zero: Zero, keys: list[str]) -> bool:
    accounts = await zero.accounts()
    return all(key in accounts and all(accounts[key][f] for f in FILLED) for key in keys)
