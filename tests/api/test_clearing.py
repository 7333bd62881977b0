"""Clearing an attribute (issue 9 item 1, RFC 7643 §2.5): ``""``, ``null`` and ``[]`` mean
"no value" in every PATCH form of both Entra dialects and in POST and PUT.

Each form goes through the app to the session's real API server, and the test reads
both the SCIM resource and the ScimUser custom resource: the attribute must be gone from
both (a cleared field is removed from ``spec``, not stored as ``null`` or ``""``). The
operator's end-to-end test carries it on to the Zero account.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.kube import KubeEnv
from tests.support.scim import TenantInfo, scim_client
from zero_scim.kube.coordinates import GROUP, USER, VERSION
from zero_scim.kube.names import user_object_name
from zero_scim_api.app import ScimApp

pytestmark = pytest.mark.cluster

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
FLAG = "aadOptscim062020"


def full_user() -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    return {
        "schemas": [USER_URN, ENTERPRISE],
        "userName": f"clear-{tag}@x.io",
        "title": "Engineer",
        "nickName": "Nick",
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"type": "work", "value": f"w-{tag}@x.io", "primary": True}],
        ENTERPRISE: {"department": "Sales", "manager": {"value": str(uuid.uuid4())}},
    }


@dataclass(frozen=True)
class Form:
    id: str
    operation: dict[str, Any]
    #: Where the cleared value sat: a path into the SCIM resource (and the same path,
    #: with the enterprise extension under "enterprise", into the custom resource's spec).
    gone: tuple[str, ...]


FORMS = [
    Form("replace-path-empty", {"op": "replace", "path": "title", "value": ""}, ("title",)),
    Form("Replace-path-empty", {"op": "Replace", "path": "title", "value": ""}, ("title",)),
    Form("add-path-empty", {"op": "Add", "path": "title", "value": ""}, ("title",)),
    Form("replace-path-null", {"op": "replace", "path": "title", "value": None}, ("title",)),
    Form("pathless-plain", {"op": "replace", "value": {"title": ""}}, ("title",)),
    Form("pathless-null", {"op": "Replace", "value": {"nickName": None}}, ("nickName",)),
    Form(
        "pathless-dotted", {"op": "replace", "value": {"name.givenName": ""}}, ("name", "givenName")
    ),
    Form(
        "pathless-urn",
        {"op": "replace", "value": {f"{ENTERPRISE}:department": ""}},
        (ENTERPRISE, "department"),
    ),
    Form(
        "sub-attribute",
        {"op": "replace", "path": "name.givenName", "value": ""},
        ("name", "givenName"),
    ),
    Form(
        "value-filter",
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": ""},
        ("emails",),
    ),
    Form("list-empty", {"op": "replace", "path": "emails", "value": []}, ("emails",)),
    Form(
        "urn-path",
        {"op": "replace", "path": f"{ENTERPRISE}:department", "value": ""},
        (ENTERPRISE, "department"),
    ),
    Form(
        "manager-empty",
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": ""},
        (ENTERPRISE, "manager"),
    ),
    Form(
        "manager-value-empty",
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": ""}},
        (ENTERPRISE, "manager"),
    ),
    Form("remove", {"op": "Remove", "path": "title"}, ("title",)),
]


@pytest.fixture(params=["default", "flag"])
async def entra(
    request: pytest.FixtureRequest, app: ScimApp, tenant: TenantInfo
) -> AsyncIterator[httpx.AsyncClient]:
    async with scim_client(app, tenant.token) as http:
        if request.param == "flag":
            http.params = http.params.set(FLAG, "")
        yield http


def lookup(resource: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = resource
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


async def stored_spec(kube: KubeEnv, namespace: str, user_name: str) -> dict[str, Any]:
    obj = await asyncio.to_thread(
        kube.custom.get_namespaced_custom_object,
        GROUP, VERSION, namespace, USER.plural, user_object_name(user_name),
    )  # fmt: skip
    spec: dict[str, Any] = obj["spec"]
    return spec


def spec_path(path: tuple[str, ...]) -> tuple[str, ...]:
    return ("enterprise", *path[1:]) if path[0] == ENTERPRISE else path


def assert_cleared(resource: dict[str, Any], spec: dict[str, Any], path: tuple[str, ...]) -> None:
    found = lookup(resource, path)
    if path == ("emails",):  # a work e-mail without its value is no e-mail at all
        assert not [e for e in resource.get("emails", []) if e.get("value")], resource
        assert not [e for e in spec.get("emails", []) if e.get("value")], spec
        return
    assert found is None, (path, resource)
    assert lookup(spec, spec_path(path)) is None, (path, spec)
    # ... and nothing is left behind as an explicit null or empty string
    parent = lookup(spec, spec_path(path[:-1])) if len(path) > 1 else spec
    assert path[-1] not in (parent or {}), spec


@pytest.mark.parametrize("form", FORMS, ids=[f.id for f in FORMS])
async def test_every_patch_form_clears(
    entra: httpx.AsyncClient, kube: KubeEnv, tenant: TenantInfo, form: Form
) -> None:
    body = full_user()
    created = await entra.post("/Users", json=body)
    assert created.status_code == 201, created.text
    assert lookup(created.json(), form.gone) not in (None, "", []), created.json()
    patched = await entra.patch(
        f"/Users/{created.json()['id']}",
        json={"schemas": [PATCH_URN], "Operations": [form.operation]},
    )
    assert patched.status_code in (200, 204), patched.text
    resource = (await entra.get(f"/Users/{created.json()['id']}")).json()
    assert_cleared(resource, await stored_spec(kube, tenant.namespace, body["userName"]), form.gone)
    assert resource["userName"] == body["userName"]  # nothing else went
    untouched = ("title",) if form.gone != ("title",) else ("nickName",)
    assert lookup(resource, untouched) is not None


@pytest.mark.parametrize("empty", ["", None, []], ids=["empty-string", "null", "empty-list"])
async def test_post_and_put_store_no_value(
    entra: httpx.AsyncClient, kube: KubeEnv, tenant: TenantInfo, empty: Any
) -> None:
    body = full_user()
    body["title"] = "" if empty == [] else empty
    body["emails"] = [] if empty == [] else body["emails"]
    body[ENTERPRISE]["department"] = "" if empty == [] else empty
    created = await entra.post("/Users", json=body)
    assert created.status_code == 201, created.text
    spec = await stored_spec(kube, tenant.namespace, body["userName"])
    assert_cleared(created.json(), spec, ("title",))
    assert_cleared(created.json(), spec, (ENTERPRISE, "department"))
    if empty == []:
        assert_cleared(created.json(), spec, ("emails",))

    replaced = {**full_user(), "userName": body["userName"], "nickName": empty}
    put = await entra.put(f"/Users/{created.json()['id']}", json=replaced)
    assert put.status_code == 200, put.text
    spec = await stored_spec(kube, tenant.namespace, body["userName"])
    assert_cleared(put.json(), spec, ("nickName",))
    assert put.json()["title"] == "Engineer"
