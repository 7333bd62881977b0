"""The contract documents, the service and the client agree with each other.

docs/zero-accounts-openapi.yaml is the reference; the service (zero_scim_accounts) and the
operator's client (zero_scim_operator.downstream) are checked against it, as is the prose
in docs/zero-accounts-api.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import falcon.inspect
import httpx
import pytest
import yaml
from pydantic import BaseModel

from zero_scim_accounts import models as service_models
from zero_scim_accounts.app import create_app
from zero_scim_accounts.errors import CODES_BY_STATUS
from zero_scim_accounts.faults import FaultInjector
from zero_scim_accounts.stats import Stats
from zero_scim_operator.downstream import models as client_models

DOCS = Path(__file__).resolve().parents[2] / "docs"
SPEC: dict[str, Any] = yaml.safe_load((DOCS / "zero-accounts-openapi.yaml").read_text())
PROSE = (DOCS / "zero-accounts-api.md").read_text()
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def _aliases(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def _required(model: type[BaseModel]) -> set[str]:
    return {
        field.alias or name for name, field in model.model_fields.items() if field.is_required()
    }


def test_routes_match_the_spec() -> None:
    injector = FaultInjector()
    app = create_app(cast(Any, None), injector, Stats(injector), admin_token=None)
    served = {
        (route.path, method.method.lower())
        for route in falcon.inspect.inspect_routes(app)
        if not route.path.startswith("/admin")
        for method in route.methods
        if not method.internal
    }
    documented = {
        (path, method)
        for path, item in SPEC["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert served == documented


@pytest.mark.parametrize(
    ("schema", "service_model", "client_model"),
    [
        ("AccountInput", service_models.AccountIn, client_models.AccountInput),
        ("GroupInput", service_models.GroupIn, client_models.GroupInput),
        ("MembersBatch", service_models.MembersBatchIn, None),
        ("SsoInput", service_models.SsoConfigIn, client_models.SsoInput),
    ],
)
def test_input_schemas(
    schema: str, service_model: type[BaseModel], client_model: type[BaseModel] | None
) -> None:
    spec = SCHEMAS[schema]
    assert spec["additionalProperties"] is False
    assert _aliases(service_model) == set(spec["properties"])
    assert _required(service_model) == set(spec.get("required", []))
    if client_model is not None:
        assert _aliases(client_model) == set(spec["properties"])
        assert _required(client_model) == set(spec.get("required", []))


@pytest.mark.parametrize(
    ("schema", "client_model"),
    [
        ("Account", client_models.Account),
        ("Group", client_models.Group),
        ("Member", client_models.Member),
        ("MembersBatchResult", client_models.MembershipChange),
        ("Sso", client_models.SsoConfig),
    ],
)
def test_output_schemas_match_the_client(schema: str, client_model: type[BaseModel]) -> None:
    spec = SCHEMAS[schema]
    assert set(spec["required"]) == set(spec["properties"])  # every field is always sent
    assert _aliases(client_model) == set(spec["properties"])


async def test_responses_carry_exactly_the_documented_fields(api: httpx.AsyncClient) -> None:
    account = (await api.put("/accounts/u1", json={"userName": "u1"})).json()
    assert set(account) == set(SCHEMAS["Account"]["properties"])
    group = (await api.put("/groups/g1", json={"displayName": "G"})).json()
    assert set(group) == set(SCHEMAS["Group"]["properties"])
    batch = (await api.post("/groups/g1/members:batch", json={"add": ["u1"]})).json()
    assert set(batch) == set(SCHEMAS["MembersBatchResult"]["properties"])
    members = (await api.get("/groups/g1/members")).json()
    assert set(members) == set(SCHEMAS["MemberPage"]["properties"])
    assert set(members["items"][0]) == set(SCHEMAS["Member"]["properties"])
    for page in ("/accounts", "/groups"):
        assert set((await api.get(page)).json()) == {"items", "next_cursor"}
    error = (await api.get("/accounts/none")).json()
    assert set(error["error"]) == set(SCHEMAS["Error"]["properties"]["error"]["properties"])
    link = await api.put("/sso", json={"entraTenantId": "11111111-1111-4111-8111-111111111111"})
    assert set(link.json()) == set(SCHEMAS["Sso"]["properties"])


def test_string_limits_agree() -> None:
    spec = SCHEMAS["AccountInput"]["properties"]
    text = SCHEMAS["Text"]
    for model in (service_models.AccountIn, client_models.AccountInput):
        schema = model.model_json_schema(by_alias=True)["properties"]
        user_name = schema["userName"]
        assert (user_name["minLength"], user_name["maxLength"]) == (
            text["minLength"],
            text["maxLength"],
        )
        phone = next(s for s in schema["workPhone"]["anyOf"] if s.get("type") == "string")
        assert phone["maxLength"] == spec["workPhone"]["maxLength"]
        assert schema["roles"]["maxItems"] == spec["roles"]["maxItems"]
        assert schema["roles"]["items"]["maxLength"] == spec["roles"]["items"]["maxLength"]
    assert SCHEMAS["ExternalKey"]["maxLength"] == service_models.MAX_KEY_LENGTH
    assert client_models.MAX_KEY_LENGTH == service_models.MAX_KEY_LENGTH
    assert client_models.MAX_BATCH == service_models.MAX_BATCH
    limit = SPEC["components"]["parameters"]["Limit"]["schema"]
    assert limit["maximum"] == service_models.MAX_PAGE == client_models.MAX_PAGE
    assert limit["default"] == service_models.DEFAULT_PAGE


def test_every_error_code_is_documented() -> None:
    package = Path(service_models.__file__).parent
    source = "\n".join(p.read_text() for p in package.rglob("*.py"))
    raised = set(re.findall(r'ApiError\(\s*\d+,\s*"([a-z_]+)"', source))
    raised |= {f"{kind}_not_found" for kind in ("account", "group", "sso")}
    raised |= set(CODES_BY_STATUS.values())
    raised -= {"admin_disabled"}  # /admin only, outside the contract
    assert raised <= set(SCHEMAS["ErrorCode"]["enum"])
    for code in SCHEMAS["ErrorCode"]["enum"]:
        assert f"`{code}`" in PROSE, code


def test_every_endpoint_is_in_the_prose() -> None:
    for path, item in SPEC["paths"].items():
        for method in item:
            if method in HTTP_METHODS:
                assert f"{method.upper()} {path}" in PROSE, (method, path)
