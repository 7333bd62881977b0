"""Schema definitions (RFC 7643 §4, §8.7), their /Schemas JSON and the path resolver."""

import orjson
import pytest

from zero_scim.scim import InvalidPath
from zero_scim.scim.paths import AttrPath, parse_attr_path, try_attr_path
from zero_scim.scim.schema import (
    COMMON_ATTRIBUTES,
    CORE_GROUP_URN,
    CORE_USER_URN,
    ENTERPRISE_USER_SCHEMA,
    ENTERPRISE_USER_URN,
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
    Attribute,
    ResolvedAttr,
    ResolvedExtension,
    ResourceType,
    Schema,
    SchemaExtension,
    UnknownAttr,
    describe,
    resolve,
)

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


# --- definitions -------------------------------------------------------------------------


def test_user_schema_has_every_rfc_attribute_in_order():
    assert [a.name for a in USER_SCHEMA.attributes] == [
        "userName", "name", "displayName", "nickName", "profileUrl", "title", "userType",
        "preferredLanguage", "locale", "timezone", "active", "password", "emails",
        "phoneNumbers", "ims", "photos", "addresses", "groups", "entitlements", "roles",
        "x509Certificates",
    ]  # fmt: skip


def test_user_name_characteristics():
    user_name = USER_SCHEMA.attribute("userName")
    assert user_name is not None
    assert (user_name.required, user_name.case_exact, user_name.uniqueness) == (
        True,
        False,
        "server",
    )
    assert user_name.mutability == "readWrite"


def test_common_attributes():
    by_name = {a.name: a for a in COMMON_ATTRIBUTES}
    assert by_name["id"].mutability == "readOnly"
    assert by_name["id"].returned == "always"
    assert by_name["id"].case_exact is True
    assert by_name["externalId"].case_exact is True
    assert by_name["externalId"].mutability == "readWrite"
    assert by_name["meta"].mutability == "readOnly"
    assert [s.name for s in by_name["meta"].sub_attributes] == [
        "resourceType", "created", "lastModified", "location", "version",
    ]  # fmt: skip


def test_password_groups_and_multi_valued_shapes():
    password = USER_SCHEMA.attribute("password")
    assert password is not None
    assert (password.mutability, password.returned) == ("writeOnly", "never")
    groups = USER_SCHEMA.attribute("groups")
    assert groups is not None and groups.mutability == "readOnly" and groups.multi_valued
    assert [s.name for s in groups.sub_attributes] == ["value", "$ref", "display", "type"]
    assert all(s.mutability == "readOnly" for s in groups.sub_attributes)
    for name in ("emails", "phoneNumbers", "ims", "photos", "entitlements", "roles",
                 "x509Certificates"):  # fmt: skip
        attribute = USER_SCHEMA.attribute(name)
        assert attribute is not None and attribute.multi_valued and attribute.type == "complex"
        assert [s.name for s in attribute.sub_attributes] == ["value", "display", "type", "primary"]
        primary = attribute.sub("primary")
        assert primary is not None and primary.type == "boolean"
    addresses = USER_SCHEMA.attribute("addresses")
    assert addresses is not None
    assert [s.name for s in addresses.sub_attributes] == [
        "formatted", "streetAddress", "locality", "region", "postalCode", "country", "type",
        "primary",
    ]  # fmt: skip
    name_attr = USER_SCHEMA.attribute("name")
    assert name_attr is not None and not name_attr.multi_valued
    assert [s.name for s in name_attr.sub_attributes] == [
        "formatted", "familyName", "givenName", "middleName", "honorificPrefix",
        "honorificSuffix",
    ]  # fmt: skip
    x509 = USER_SCHEMA.attribute("x509Certificates")
    assert x509 is not None and x509.sub_attributes[0].type == "binary"
    emails = USER_SCHEMA.attribute("emails")
    assert emails is not None and emails.sub("type").canonical_values == ("work", "home", "other")


def test_enterprise_and_group_schemas():
    assert ENTERPRISE_USER_SCHEMA.id == ENTERPRISE_USER_URN
    assert [a.name for a in ENTERPRISE_USER_SCHEMA.attributes] == [
        "employeeNumber", "costCenter", "organization", "division", "department", "manager",
    ]  # fmt: skip
    manager = ENTERPRISE_USER_SCHEMA.attribute("manager")
    assert manager is not None
    assert [s.name for s in manager.sub_attributes] == ["value", "$ref", "displayName"]
    assert manager.sub("displayName").mutability == "readOnly"
    assert GROUP_SCHEMA.id == CORE_GROUP_URN
    members = GROUP_SCHEMA.attribute("members")
    assert members is not None and members.multi_valued
    assert [s.name for s in members.sub_attributes] == ["value", "$ref", "display", "type"]
    assert members.sub("type").canonical_values == ("User", "Group")
    assert members.sub("value").case_exact is True
    assert GROUP_SCHEMA.attribute("displayName").required is True


def test_lookups_are_case_insensitive():
    assert USER_SCHEMA.attribute("USERNAME") is USER_SCHEMA.attribute("userName")
    emails = USER_SCHEMA.attribute("Emails")
    assert emails is not None and emails.sub("VALUE") is emails.sub("value")
    assert USER_SCHEMA.attribute("nope") is None
    assert USER.core_attribute("ID") is not None
    assert USER.extension(ENTERPRISE_USER_URN.upper()) is ENTERPRISE_USER_SCHEMA


def test_resource_types_are_identity_hashed_singletons():
    assert USER == USER and USER != GROUP
    assert hash(USER) == object.__hash__(USER)
    assert USER.schema_urns == (CORE_USER_URN, ENTERPRISE_USER_URN)
    assert GROUP.schema_urns == (CORE_GROUP_URN,)


# --- JSON for /Schemas and /ResourceTypes ------------------------------------------------


def _walk(value):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


@pytest.mark.parametrize("schema", [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA])
def test_schema_json_shape(schema):
    body = schema.definition()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
    assert body["id"] == schema.id
    assert body["meta"] == {"resourceType": "Schema"}
    assert body["name"] and body["description"]
    assert orjson.loads(orjson.dumps(body)) == body
    for node in _walk(body):
        assert node is not None  # "If a value isn't present, don't send null values."
        if isinstance(node, dict) and "mutability" in node:
            assert node["mutability"] in ("readOnly", "readWrite", "immutable", "writeOnly")
            assert node["returned"] in ("always", "never", "default", "request")
            assert node["uniqueness"] in ("none", "server", "global")
            assert set(node) <= {
                "name", "type", "multiValued", "description", "required", "caseExact",
                "canonicalValues", "referenceTypes", "mutability", "returned", "uniqueness",
                "subAttributes",
            }  # fmt: skip
            assert node.get("canonicalValues", ["x"]) != []


def test_user_name_json_matches_e17():
    body = USER_SCHEMA.definition()
    user_name = next(a for a in body["attributes"] if a["name"] == "userName")
    assert {k: v for k, v in user_name.items() if k != "description"} == {
        "name": "userName",
        "type": "string",
        "multiValued": False,
        "required": True,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "server",
    }
    emails = next(a for a in body["attributes"] if a["name"] == "emails")
    assert [s["name"] for s in emails["subAttributes"]] == ["value", "display", "type", "primary"]
    assert "caseExact" not in next(a for a in body["attributes"] if a["name"] == "active")
    profile = next(a for a in body["attributes"] if a["name"] == "profileUrl")
    assert profile["referenceTypes"] == ["external"]


def test_resource_type_json():
    assert USER.definition() == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": CORE_USER_URN,
        "schemaExtensions": [{"schema": ENTERPRISE_USER_URN, "required": False}],
        "meta": {"resourceType": "ResourceType"},
    }
    assert "schemaExtensions" not in GROUP.definition()


# --- attribute paths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName", AttrPath(None, "userName")),
        ("name.givenName", AttrPath(None, "name", "givenName")),
        ("members.$ref", AttrPath(None, "members", "$ref")),
        (f"{CORE_USER_URN}:userName", AttrPath(CORE_USER_URN, "userName")),
        (f"{ENTERPRISE_USER_URN}:manager.value", AttrPath(ENTERPRISE_USER_URN, "manager", "value")),
        (
            ENTERPRISE_USER_URN,
            AttrPath("urn:ietf:params:scim:schemas:extension:enterprise:2.0", "User"),
        ),
        ("URN:x:y", AttrPath("URN:x", "y")),
        ("x-y_z9", AttrPath(None, "x-y_z9")),
    ],
)
def test_attr_path_split(text, expected):
    assert try_attr_path(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text",
    ["", "a.b.c", "9lives", "a b", "urn:", "urn:x:", "emails[type eq \"w\"]", "a.", ".a", "a:b",
     "urn:x y:z", "\x00", "ü"],
)  # fmt: skip
def test_invalid_attr_paths(text):
    assert try_attr_path(text) is None
    with pytest.raises(InvalidPath):
        parse_attr_path(text)


# --- resolution --------------------------------------------------------------------------


def test_resolve_core_case_insensitively():
    resolved = resolve(USER, "USERNAME")
    assert isinstance(resolved, ResolvedAttr)
    assert resolved.attribute.name == "userName"
    assert resolved.extension is None and resolved.sub_attribute is None
    assert resolved.target is resolved.attribute


def test_resolve_sub_attribute():
    resolved = resolve(USER, "Name.GivenName")
    assert isinstance(resolved, ResolvedAttr)
    assert (resolved.attribute.name, resolved.target.name) == ("name", "givenName")


def test_resolve_urn_qualified_core_and_common():
    assert resolve(USER, f"{CORE_USER_URN}:userName") == resolve(USER, "userName")
    assert resolve(USER, f"{CORE_USER_URN.lower()}:emails.value") == resolve(USER, "emails.value")
    resolved = resolve(USER, f"{CORE_USER_URN}:id")
    assert isinstance(resolved, ResolvedAttr) and resolved.attribute.name == "id"
    assert isinstance(resolve(GROUP, f"{CORE_GROUP_URN}:displayName"), ResolvedAttr)


def test_resolve_enterprise_qualified_and_unqualified():
    qualified = resolve(USER, f"{ENTERPRISE_USER_URN}:manager.value")
    assert isinstance(qualified, ResolvedAttr)
    assert qualified.extension == ENTERPRISE_USER_URN
    assert qualified.target.name == "value"
    # Entra filters on `manager eq "…"` without the URN (E32).
    unqualified = resolve(USER, "manager")
    assert isinstance(unqualified, ResolvedAttr) and unqualified.extension == ENTERPRISE_USER_URN
    lowered = resolve(USER, f"{ENTERPRISE_USER_URN.lower()}:EMPLOYEENUMBER")
    assert isinstance(lowered, ResolvedAttr)
    assert (lowered.extension, lowered.attribute.name) == (ENTERPRISE_USER_URN, "employeeNumber")


def test_resolve_custom_extension_attribute():
    resolved = resolve(USER, f"{CUSTOM}:tag")
    assert isinstance(resolved, ResolvedAttr)
    assert resolved.custom and resolved.extension == CUSTOM
    assert resolved.attribute.name == "tag" and not resolved.attribute.multi_valued
    assert resolved.attribute.case_exact is False
    assert isinstance(resolve(USER, f"{CUSTOM}:tag.x"), UnknownAttr)
    assert resolve(USER, f"{CUSTOM}:tag.x").malformed
    odd = resolve(USER, f"{CUSTOM}:User")
    assert isinstance(odd, ResolvedAttr) and odd.custom and odd.attribute.name == "User"


def test_resolve_whole_extensions():
    known = resolve(USER, ENTERPRISE_USER_URN.upper())
    assert known == ResolvedExtension(ENTERPRISE_USER_URN, ENTERPRISE_USER_SCHEMA)
    custom = resolve(USER, CUSTOM)
    assert custom == ResolvedExtension(CUSTOM, None)
    group_ext = resolve(GROUP, "urn:ietf:params:scim:schemas:extension:Acme:2.0:Group")
    assert isinstance(group_ext, ResolvedExtension)


def test_resolve_unknowns():
    unknown = resolve(USER, "favouriteColour")
    assert isinstance(unknown, UnknownAttr) and not unknown.malformed
    assert "favouriteColour" in unknown.reason
    assert isinstance(resolve(USER, "name.nickname"), UnknownAttr)
    assert not resolve(USER, "name.nickname").malformed
    simple = resolve(USER, "userName.first")
    assert isinstance(simple, UnknownAttr) and simple.malformed
    assert isinstance(resolve(USER, f"{CORE_USER_URN}:favouriteColour"), UnknownAttr)
    assert isinstance(resolve(USER, f"{ENTERPRISE_USER_URN}:shoeSize"), UnknownAttr)
    # A core URN of another resource type, the API message URNs and enterprise lookalikes
    # are not custom extensions.
    assert isinstance(resolve(USER, f"{CORE_GROUP_URN}:displayName"), UnknownAttr)
    assert isinstance(resolve(USER, "urn:ietf:params:scim:api:messages:2.0:PatchOp:x"), UnknownAttr)
    assert isinstance(resolve(GROUP, f"{ENTERPRISE_USER_URN}:department"), UnknownAttr)
    assert isinstance(resolve(GROUP, "manager"), UnknownAttr)
    with pytest.raises(InvalidPath):
        resolve(USER, "not a path")


def test_describe():
    assert describe(resolve(USER, "name.givenName")) == "name.givenName"
    assert describe(resolve(USER, "manager")) == f"{ENTERPRISE_USER_URN}:manager"
    assert describe(resolve(USER, CUSTOM)) == CUSTOM
    assert describe(resolve(USER, "zzz")) == "'zzz'"


def test_custom_resource_type_with_required_extension():
    ext = Schema("urn:acme:ext", "Acme", "Acme", (Attribute("level", "integer"),))
    core = Schema("urn:acme:core:Thing", "Thing", "Thing", (Attribute("label"),))
    thing = ResourceType(
        "Thing", "Thing", "/Things", "A thing", core, (SchemaExtension(ext, True),)
    )
    resolved = resolve(thing, "level")
    assert isinstance(resolved, ResolvedAttr) and resolved.extension == "urn:acme:ext"
    assert thing.definition()["schemaExtensions"] == [{"schema": "urn:acme:ext", "required": True}]
    assert isinstance(resolve(thing, "id"), UnknownAttr)  # no common attributes given


# --- discovery: typed definitions (issue 9 item 7) ------------------------------------------


@pytest.mark.parametrize("schema", [USER_SCHEMA, GROUP_SCHEMA])
def test_schemas_list_external_id(schema):
    """Microsoft's gallery validation needs externalId among the listed attributes."""
    listed = {a["name"]: a for a in schema.definition()["attributes"]}
    assert listed["externalId"] == {
        "name": "externalId",
        "type": "string",
        "multiValued": False,
        "description": "An identifier for the resource as defined by the provisioning client.",
        "required": False,
        "caseExact": True,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    }
    assert list(listed).count("externalId") == 1
    assert "externalId" in {a["name"] for a in schema.definition()["attributes"]}


def test_enterprise_schema_lists_only_its_own_attributes():
    names = [a["name"] for a in ENTERPRISE_USER_SCHEMA.definition()["attributes"]]
    assert "externalId" not in names and "id" not in names


def test_definitions_take_their_location():
    body = USER_SCHEMA.definition("https://x/scim/v2/Schemas/" + CORE_USER_URN)
    assert body["meta"] == {
        "resourceType": "Schema",
        "location": "https://x/scim/v2/Schemas/" + CORE_USER_URN,
    }
    assert USER_SCHEMA.definition()["meta"] == {"resourceType": "Schema"}
    assert GROUP.definition("https://x/ResourceTypes/Group")["meta"]["location"].endswith("Group")


def test_service_provider_config():
    from zero_scim.scim import service_provider_config

    body = service_provider_config(
        patch=True,
        max_results=200,
        sort=True,
        etag=True,
        change_password=False,
        authentication_schemes=[
            {"type": "oauthbearertoken", "name": "OAuth Bearer Token", "description": "token"}
        ],
        location="https://x/scim/v2/ServiceProviderConfig",
    )
    assert body == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": 200},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {"type": "oauthbearertoken", "name": "OAuth Bearer Token", "description": "token"}
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": "https://x/scim/v2/ServiceProviderConfig",
        },
    }
