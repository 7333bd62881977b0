"""Body validation/normalisation, rendering, projection and sorting."""

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.scim.things import IMMUTABLE_THING
from tests.support.entra import E1, ENTERPRISE
from tests.support.entra import USER_URN as CORE
from zero_scim.scim import (
    GROUP,
    USER,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    ScimError,
    compile_projection,
    normalize,
    normalize_group,
    normalize_members,
    normalize_user,
    project,
    render,
    sort_key,
)
from zero_scim.scim.resources import ABSENT, normalize_value
from zero_scim.scim.schema import Attribute, ResourceType, Schema

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


# --- Entra bodies ------------------------------------------------------------------------


def test_e1_create_user():
    doc = normalize_user(E1)
    assert doc == {
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": True,
        "emails": E1["emails"],
        "name": E1["name"],
    }
    assert "roles" not in doc  # an empty multi-valued attribute is unassigned
    assert "meta" not in doc and "schemas" not in doc


def test_e1_input_is_not_mutated():
    body = copy.deepcopy(E1)
    normalize_user(body)
    assert body == E1


def test_e10_group_with_unknown_schema_uri():
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", ADSCIM],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    }
    doc, members = normalize_group(body)
    assert doc == {
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
    }
    assert members is None
    assert normalize_group({**body, "members": []})[1] == []
    assert normalize_group({**body, "members": None})[1] is None


def test_e26_enterprise_and_custom_extension():
    body = {
        "schemas": [CORE, ENTERPRISE, CUSTOM],
        "userName": "bjensen@testuser.com",
        "id": "48af03ac28ad4fb88478",
        "externalId": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        ENTERPRISE: {"manager": "123456"},
        CUSTOM: {"tag": "701984"},
        "meta": {"resourceType": "User", "version": 'W/"3694e05e9dff591"'},
    }
    assert normalize_user(body) == {
        "userName": "bjensen@testuser.com",
        "externalId": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        ENTERPRISE: {"manager": {"value": "123456"}},
        CUSTOM: {"tag": "701984"},
    }


def test_custom_extension_flattened_without_schema_entry():
    body = {
        "schemas": [CORE],
        "userName": "a",
        f"{CUSTOM}:CustomAttribute": "x",
        f"{CUSTOM}:other": 5,
        "urn:ietf:params:scim:schemas:extension:Second:2.0:User:flag": True,
    }
    assert normalize_user(body) == {
        "userName": "a",
        CUSTOM: {"CustomAttribute": "x", "other": 5},
        "urn:ietf:params:scim:schemas:extension:Second:2.0:User": {"flag": True},
    }


def test_custom_extension_keys_merge_case_insensitively():
    body = {"userName": "a", CUSTOM: {"tag": "1"}, f"{CUSTOM.lower()}:TAG": "2", f"{CUSTOM}:x": "3"}
    assert normalize_user(body) == {"userName": "a", CUSTOM: {"tag": "2", "x": "3"}}


def test_e27_roles():
    body = {
        "schemas": [CORE],
        "externalId": "alias",
        "userName": "alias@contoso.OnMicrosoft.com",
        "active": True,
        "displayName": "First Name Last Name",
        "meta": {"resourceType": "User"},
        "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
    }
    doc = normalize_user(body)
    assert doc["roles"] == body["roles"]
    assert doc["userName"] == "alias@contoso.OnMicrosoft.com"


def test_e30_nulls_are_absent_and_typo_schema_is_tolerated():
    body = {
        "schemas": [CORE, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": True,
        "addresses": None,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "Young", "givenName": "Joy"},
        "phoneNumbers": None,
        "preferredLanguage": None,
        "title": None,
        "department": None,
        "manager": None,
    }
    doc = normalize_user(body)
    assert doc == {
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": True,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
        "name": {"familyName": "Young", "givenName": "Joy"},
    }


def test_enterprise_flattened_and_unqualified_keys():
    body = {
        "userName": "a",
        f"{ENTERPRISE}:department": "Sales",
        f"{ENTERPRISE}:manager": [{"$ref": "https://x/Users/m", "value": "m"}],  # E33 shape
        f"{ENTERPRISE}:manager.displayName": "ignored (readOnly)",
        "costCenter": "cc1",  # unqualified extension name, like Entra's filters
    }
    assert normalize_user(body) == {
        "userName": "a",
        ENTERPRISE: {
            "department": "Sales",
            "manager": {"$ref": "https://x/Users/m", "value": "m"},
            "costCenter": "cc1",
        },
    }


def test_nested_then_flattened_later_key_wins():
    body = {"userName": "a", ENTERPRISE: {"department": "A"}, f"{ENTERPRISE}:department": "B"}
    assert normalize_user(body)[ENTERPRISE] == {"department": "B"}
    body = {"userName": "a", f"{ENTERPRISE}:department": "B", ENTERPRISE: {"department": "A"}}
    assert normalize_user(body)[ENTERPRISE] == {"department": "A"}


def test_names_are_case_insensitive_and_recased():
    body = {
        "USERNAME": "a",
        "Name": {"GIVENNAME": "G", "familyname": "F"},
        "EMAILS": [{"VALUE": "x@y", "Type": "work", "PRIMARY": "true"}],
        "name.middleName": "M",
        "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User": {"EmployeeNumber": "7"},
    }
    assert normalize_user(body) == {
        "userName": "a",
        "name": {"givenName": "G", "familyName": "F", "middleName": "M"},
        "emails": [{"value": "x@y", "type": "work", "primary": True}],
        ENTERPRISE: {"employeeNumber": "7"},
    }


def test_values_are_stored_exactly_as_sent():
    body = {
        "userName": "  Spaced Out  ",
        "phoneNumbers": [{"value": "+5 (555) 555-5555", "type": "work"}, {"value": "55555555555"}],
        "displayName": " ",
        "timezone": "America/Los_Angeles",
    }
    doc = normalize_user(body)
    assert doc["userName"] == "  Spaced Out  "
    assert doc["phoneNumbers"] == body["phoneNumbers"]
    assert doc["displayName"] == " "
    assert "displayName" not in normalize_user({**body, "displayName": ""})  # "": no value


@pytest.mark.parametrize("flag", ["True", "true", "TRUE", True])
def test_boolean_strings_are_converted(flag):
    assert normalize_user({"userName": "a", "active": flag})["active"] is True


@pytest.mark.parametrize("flag", ["False", "false", False])
def test_boolean_false_strings(flag):
    assert normalize_user({"userName": "a", "active": flag})["active"] is False


def test_read_only_and_write_only_are_dropped():
    body = {
        "userName": "a",
        "id": "client-chosen",
        "meta": {"created": "2020-01-01T00:00:00Z"},
        "groups": [{"value": "g1"}],
        "password": "hunter2",
        ENTERPRISE: {"manager": {"value": "m", "displayName": "Boss"}},
    }
    assert normalize_user(body) == {"userName": "a", ENTERPRISE: {"manager": {"value": "m"}}}


def test_unknown_attributes_are_dropped():
    body = {
        "userName": "a",
        "favouriteColour": "blue",
        "name": {"givenName": "G", "nickname": "x"},
        "emails": [{"value": "x", "label": "y"}],
        f"{ENTERPRISE}:shoeSize": 44,
        "urn:ietf:params:scim:schemas:core:2.0:Group:displayName": "nope",
        "not a path": 1,
        'emails[type eq "work"].value': "x",
    }
    assert normalize_user(body) == {
        "userName": "a",
        "name": {"givenName": "G"},
        "emails": [{"value": "x"}],
    }


def test_single_object_for_multi_valued_complex_is_a_list_of_one():
    doc = normalize_user({"userName": "a", "emails": {"value": "x@y", "type": "work"}})
    assert doc["emails"] == [{"value": "x@y", "type": "work"}]


@pytest.mark.parametrize(
    ("manager", "expected"),
    [
        ("m1", {"value": "m1"}),
        ({"value": "m1"}, {"value": "m1"}),
        ([{"value": "m1", "$ref": "r"}], {"value": "m1", "$ref": "r"}),
        (["m1"], {"value": "m1"}),
    ],
)
def test_manager_shapes(manager, expected):
    assert normalize_user({"userName": "a", ENTERPRISE: {"manager": manager}})[ENTERPRISE] == {
        "manager": expected
    }


@pytest.mark.parametrize(
    "manager", [[], [None], {}, {"displayName": "x"}, "", {"value": ""}, [""], {"$ref": "r"}]
)
def test_empty_manager_is_absent(manager):
    doc = normalize_user({"userName": "a", ENTERPRISE: {"manager": manager}})
    assert ENTERPRISE not in doc


def test_duplicate_types_are_allowed_but_not_two_primaries():
    doc: Any = normalize_user(
        {
            "userName": "a",
            "emails": [{"value": "1", "type": "work"}, {"value": "2", "type": "work"}],
        }
    )
    assert len(doc["emails"]) == 2
    with pytest.raises(InvalidValue, match="primary"):
        normalize_user(
            {
                "userName": "a",
                "emails": [{"value": "1", "primary": True}, {"value": "2", "primary": "True"}],
            }
        )
    doc = normalize_user(
        {
            "userName": "a",
            "emails": [{"value": "1", "primary": True}, {"value": "2", "primary": False}],
        }
    )
    assert doc["emails"][1]["primary"] is False


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, [], "userName", 5, True, [E1]])
def test_body_must_be_an_object(body):
    with pytest.raises(InvalidSyntax):
        normalize_user(body)


@pytest.mark.parametrize(
    "body",
    [{}, {"userName": None}, {"userName": ""}, {"externalId": "x"}, {"USERNAME": ""}],
)
def test_user_name_is_required(body):
    with pytest.raises(InvalidValue, match="userName") as info:
        normalize_user(body)
    assert info.value.scim_type == "invalidValue"


def test_group_display_name_is_required():
    with pytest.raises(InvalidValue, match="displayName"):
        normalize_group({"externalId": "x"})


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"userName": 5}, "userName"),
        ({"userName": ["a"]}, "userName"),
        ({"userName": "a", "active": "yes"}, "active"),
        ({"userName": "a", "active": 1}, "active"),
        ({"userName": "a", "name": "Barbara"}, "name"),
        ({"userName": "a", "name": {"givenName": 5}}, "name.givenName"),
        ({"userName": "a", "emails": "x@y"}, "emails"),
        ({"userName": "a", "emails": [5]}, "emails[0]"),
        ({"userName": "a", "emails": [{"value": "x", "primary": "maybe"}]}, "emails[0].primary"),
        ({"userName": "a", "profileUrl": 5}, "profileUrl"),
        ({"userName": "a", ENTERPRISE: "x"}, ENTERPRISE),
        ({"userName": "a", ENTERPRISE: {"manager": [{"value": "1"}, {"value": "2"}]}}, "manager"),
        ({"userName": "a", ENTERPRISE: {"manager": 5}}, "manager"),
        ({"userName": "a", "name.givenName": ["x"]}, "name.givenName"),
        ({"userName": "a", "emails.value": "x"}, "emails.value"),
        ({"userName": "a\ud800"}, "userName"),
        ({"userName": "a", f"{CUSTOM}:tag": float("nan")}, "tag"),
        ({"userName": "a", f"{CUSTOM}:tag": {1, 2}}, "tag"),
        ({"userName": "a", f"{CUSTOM}:tag": ["x\udc00"]}, "tag"),
        ({"userName": "a", "schemas": "x"}, "schemas"),
        ({"userName": "a", f"{CUSTOM}:tag": 2**63}, "64-bit"),
        ({"userName": "a", CUSTOM: {"tag": [-(2**64)]}}, "tag"),
    ],
)
def test_type_errors_name_the_attribute(body, named):
    with pytest.raises(InvalidValue) as info:
        normalize_user(body)
    assert named in info.value.detail
    assert info.value.status == 400


def test_deeply_nested_custom_value_is_rejected():
    value: object = "leaf"
    for _ in range(40):
        value = [value]
    with pytest.raises(InvalidValue, match="deeper than 32"):
        normalize_user({"userName": "a", f"{CUSTOM}:tag": value})
    shallow: object = "leaf"
    for _ in range(20):
        shallow = {"k": shallow}
    doc: Any = normalize_user({"userName": "a", CUSTOM: {"tag": shallow}})
    assert doc[CUSTOM]["tag"] == shallow


def test_non_string_keys_are_invalid_syntax():
    with pytest.raises(InvalidSyntax):
        normalize_user({"userName": "a", 5: "x"})
    with pytest.raises(InvalidSyntax):
        normalize_user({"userName": "a", "name": {1: "x"}})


def test_nul_and_unicode_are_kept_in_free_text():
    doc = normalize_user({"userName": "日本語", "displayName": "日本語 ✓ a\x00b"})
    assert doc == {"userName": "日本語", "displayName": "日本語 ✓ a\x00b"}
    with pytest.raises(InvalidValue, match="userName"):  # an identifier: refused there
        normalize_user({"userName": "a\x00b"})


# --- members -----------------------------------------------------------------------------


def test_members_are_validated_and_deduplicated():
    assert normalize_members(
        [
            {"$ref": None, "value": "u1"},
            {"value": "u2", "type": "user", "display": "Two", "$ref": "https://x/Users/u2"},
            {"value": "u1", "display": "again"},
            None,
            {"value": "g1", "TYPE": "GROUP", "extra": "dropped"},
        ]
    ) == [
        {"value": "u1"},
        {"value": "u2", "type": "User", "display": "Two", "$ref": "https://x/Users/u2"},
        {"value": "g1", "type": "Group"},
    ]
    assert normalize_members({"value": "u1"}) == [{"value": "u1"}]
    assert normalize_members(None) == []


@pytest.mark.parametrize(
    "members",
    [
        "u1",
        [5],
        ["u1"],
        [{}],
        [{"value": ""}],
        [{"value": 5}],
        [{"value": "u", "type": "Robot"}],
        [{"value": "u", "type": 1}],
        [{"value": "u", "$ref": 5}],
        [{"value": "u", "display": ["x"]}],
    ],
)
def test_invalid_members(members):
    with pytest.raises(InvalidValue):
        normalize_members(members)
    with pytest.raises(InvalidValue):
        normalize_group({"displayName": "g", "members": members})


def test_group_members_from_body():
    doc, members = normalize_group(
        {"displayName": "g", "MEMBERS": [{"value": "u1"}], "members.value": "x"}
    )
    assert doc == {"displayName": "g"}
    assert members == [{"value": "u1"}]


# --- normalize_value / generic resource types --------------------------------------------


def test_normalize_value_primitives():
    assert normalize_value(Attribute("n", "integer"), 5) == 5
    assert normalize_value(Attribute("d", "decimal"), 1.5) == 1.5
    assert (
        normalize_value(Attribute("t", "dateTime"), "2020-01-01T00:00:00Z")
        == "2020-01-01T00:00:00Z"
    )
    assert normalize_value(Attribute("s"), None) is ABSENT
    assert normalize_value(Attribute("n", "integer"), -(2**63)) == -(2**63)
    for attribute, value in [
        (Attribute("n", "integer"), True),
        (Attribute("n", "integer"), 1.5),
        (Attribute("d", "decimal"), float("inf")),
        (Attribute("d", "decimal"), "1"),
        (Attribute("t", "dateTime"), "yesterday"),
        (Attribute("b", "binary"), 5),
        (Attribute("n", "integer"), 2**63),
        (Attribute("d", "decimal"), 10**30),
    ]:
        with pytest.raises(InvalidValue):
            normalize_value(attribute, value)


THING = IMMUTABLE_THING


def test_immutable_attributes_on_replace():
    existing = {"serial": "S1", "label": "old"}
    assert normalize(
        {"serial": "S1", "label": "new"}, THING, for_replace=True, existing=existing
    ) == {
        "serial": "S1",
        "label": "new",
    }
    assert normalize({"label": "new"}, THING, for_replace=True, existing=existing) == {
        "serial": "S1",
        "label": "new",
    }
    with pytest.raises(Mutability):
        normalize({"serial": "S2"}, THING, for_replace=True, existing=existing)
    assert normalize({"serial": "S2"}, THING) == {"serial": "S2"}


# --- render ------------------------------------------------------------------------------


def test_render_user():
    doc = normalize_user({**E1, ENTERPRISE: {"department": "D"}, f"{CUSTOM}:tag": "t"})
    meta = {
        "resourceType": "User",
        "created": "2018-03-27T19:59:26.000Z",
        "location": "https://x/Users/1",
    }
    out = render(doc, resource_type=USER, id="48af03ac28ad4fb88478", meta=meta)
    assert out["schemas"] == [CORE, ENTERPRISE, CUSTOM]
    assert list(out)[:2] == ["schemas", "id"]
    assert list(out)[-1] == "meta"
    assert out["id"] == "48af03ac28ad4fb88478"
    assert out["meta"] == meta
    assert out["userName"] == E1["userName"]
    assert out[ENTERPRISE] == {"department": "D"}
    assert "members" not in out
    assert orjson.loads(orjson.dumps(out)) == out


def test_render_group_members():
    doc, _ = normalize_group({"displayName": "g"})
    out = render(doc, resource_type=GROUP, id="g1", meta={"resourceType": "Group"}, members=[])
    assert out == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "g",
        "members": [],
        "meta": {"resourceType": "Group"},
    }
    assert "members" not in render(doc, resource_type=GROUP, id="g1", meta={})


# --- projection --------------------------------------------------------------------------

RENDERED: Any = render(
    normalize_user(
        {
            **E1,
            "nickName": "Babs",
            ENTERPRISE: {"department": "D", "manager": {"value": "m", "$ref": "r"}},
            f"{CUSTOM}:tag": "t",
        }
    ),
    resource_type=USER,
    id="u1",
    meta={"resourceType": "User"},
)


def test_attributes_id_only():
    # E32: attributes=id
    assert project(RENDERED, ["id"], None, USER) == {"schemas": RENDERED["schemas"], "id": "u1"}


def test_attributes_select_sub_attributes_case_insensitively():
    out = project(
        RENDERED,
        ["NAME.givenName", "emails.value", "urn:ietf:params:scim:schemas:core:2.0:User:userName"],
        None,
        USER,
    )
    assert out == {
        "schemas": RENDERED["schemas"],
        "id": "u1",
        "userName": RENDERED["userName"],
        "emails": [{"value": RENDERED["emails"][0]["value"]}],
        "name": {"givenName": "givenName"},
    }


def test_attributes_select_extension_attributes():
    out = project(
        RENDERED, [f"{ENTERPRISE}:manager.value", "department", f"{CUSTOM}:tag"], None, USER
    )
    assert out[ENTERPRISE] == {"department": "D", "manager": {"value": "m"}}
    assert out[CUSTOM] == {"tag": "t"}
    assert "userName" not in out and "meta" not in out
    whole = project(RENDERED, [ENTERPRISE], None, USER)
    assert whole[ENTERPRISE] == RENDERED[ENTERPRISE]
    both = project(RENDERED, [ENTERPRISE, f"{ENTERPRISE}:department"], None, USER)
    assert both[ENTERPRISE] == RENDERED[ENTERPRISE]


def test_excluded_attributes():
    out = project(RENDERED, None, ["emails.type", "name", "manager", "id", "schemas", CUSTOM], USER)
    assert out["id"] == "u1" and out["schemas"] == RENDERED["schemas"]  # always returned
    assert out["emails"] == [{"primary": True, "value": RENDERED["emails"][0]["value"]}]
    assert "name" not in out and CUSTOM not in out
    assert out[ENTERPRISE] == {"department": "D"}
    assert out["meta"] == {"resourceType": "User"}  # meta is returned by default
    assert project(RENDERED, None, None, USER) == RENDERED


def test_excluded_members_e11_e12():
    group = render(
        {"displayName": "g", "externalId": "e"},
        resource_type=GROUP,
        id="g1",
        meta={"resourceType": "Group"},
        members=[{"value": "u1"}],
    )
    out = project(group, None, ["members"], GROUP)
    assert "members" not in out
    assert out["displayName"] == "g"
    projection = compile_projection(None, ["Members"], GROUP)
    assert not projection.includes("members")
    assert projection.includes("displayName") and projection.includes("id")
    assert compile_projection(["displayName"], None, GROUP).includes("members") is False
    assert compile_projection(["members.value"], None, GROUP).includes("members") is True
    assert compile_projection(None, ["members.display"], GROUP).includes("members") is True


def test_password_is_never_returned():
    resource = {**RENDERED, "password": "x"}
    assert "password" not in project(resource, None, None, USER)
    assert "password" not in project(resource, ["password"], None, USER)
    assert not compile_projection(["password"], None, USER).includes("password")


def test_both_lists_and_unknown_names():
    out = project(RENDERED, ["name", "userName", "nope", "not a path"], ["name.formatted"], USER)
    assert out["name"] == {"familyName": "familyName", "givenName": "givenName"}
    assert set(out) == {"schemas", "id", "name", "userName"}


def test_projection_returned_request():
    thing = ResourceType(
        "T",
        "T",
        "/T",
        "T",
        Schema("urn:t", "T", "T", (Attribute("secret", returned="request"), Attribute("plain"))),
    )
    resource = {"id": "1", "secret": "s", "plain": "p"}
    assert project(resource, None, None, thing) == {"id": "1", "plain": "p"}
    assert project(resource, ["secret"], None, thing) == {"id": "1", "secret": "s"}
    assert not compile_projection(None, None, thing).includes("secret")


def test_projection_is_cached():
    assert compile_projection(["id"], None, USER) is compile_projection(("id",), [], USER)


# --- sorting -----------------------------------------------------------------------------


def _users():
    return [
        {
            "id": "1",
            "userName": "bob",
            "externalId": "B",
            "emails": [{"value": "z@x"}, {"value": "a@x", "primary": True}],
            "meta": {"created": "2020-01-01T10:00:00+02:00"},
        },
        {
            "id": "2",
            "userName": "Alice",
            "externalId": "a",
            "emails": [{"value": "m@x"}],
            "meta": {"created": "2020-01-01T09:00:00Z"},
        },
        {"id": "3", "externalId": "C", "meta": {}},
        {"id": "4", "userName": "carol", "name": {"givenName": "Zed"}, CUSTOM: {"rank": 2}},
    ]


def _order(sort_by, descending=False):
    users = _users()
    users.sort(key=lambda r: sort_key(r, sort_by, USER), reverse=descending)
    return [u["id"] for u in users]


def test_sort_case_insensitive_with_missing_last():
    assert _order("userName") == ["2", "1", "4", "3"]
    assert _order("USERNAME", descending=True) == ["3", "4", "1", "2"]  # missing first


def test_sort_case_exact():
    assert _order("externalId") == ["1", "3", "2", "4"]


def test_sort_multi_valued_uses_primary_or_first():
    assert _order("emails") == ["1", "2", "3", "4"]
    assert _order("emails.value") == ["1", "2", "3", "4"]


def test_sort_datetime_as_instants():
    assert _order("meta.created") == ["1", "2", "3", "4"]


def test_sort_other_paths():
    assert _order("name.givenName")[0] == "4"
    assert _order(f"{CUSTOM}:rank")[0] == "4"
    assert _order("favouriteColour") == ["1", "2", "3", "4"]  # stable: all missing
    assert _order("not a path") == ["1", "2", "3", "4"]
    assert sort_key({"active": True}, "active", USER) < sort_key({"active": None}, "active", USER)


# --- properties --------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**65)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from(
    ["userName", "USERNAME", "name", "name.givenName", "emails", "active", "roles", "manager",
     "meta", "id", "password", "groups", ENTERPRISE, f"{ENTERPRISE}:manager", CUSTOM,
     f"{CUSTOM}:tag", "members", "displayName", "x", "urn:a:b"]
)  # fmt: skip
bodies = st.dictionaries(keys, json_values, max_size=6) | json_values


@settings(max_examples=120, deadline=None)
@given(bodies)
def test_any_body_gives_a_document_or_a_scim_error(body):
    for resource_type in (USER, GROUP):
        try:
            doc = normalize(body, resource_type)
        except ScimError:
            continue
        # A normalised document is a fixed point and survives a JSON round trip.
        assert normalize(doc, resource_type) == doc
        assert orjson.loads(orjson.dumps(doc)) == doc


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(keys, json_values, max_size=6))
def test_group_normalisation_never_raises_anything_else(body):
    try:
        doc, members = normalize_group({"displayName": "g", **body})
    except ScimError as error:
        assert error.status == 400
        return
    assert "members" not in doc
    assert members is None or all(isinstance(m["value"], str) and m["value"] for m in members)


def test_response_shapes_read_back_e2_e8():
    # A client may PUT back what it got from GET: id, meta (with a location) are ignored.
    e8 = {
        "schemas": [CORE],
        "id": "CEC50F275D83C4530A495FCF@834d0e1e5d8235f90a495fda",
        "userName": "deanruiz@testuser.com",
        "name": {"familyName": "Harris", "givenName": "Larry"},
        "active": False,
        "emails": [{"value": "gloversuzanne@testuser.com", "type": "work", "primary": True}],
        "addresses": [{"country": "ML", "type": "work", "primary": True}],
        "meta": {
            "resourceType": "Users",
            "location": "/scim/5171a35d82074e068ce2/Users/CEC50F265D83",
        },
    }
    doc = normalize_user(e8, for_replace=True)
    assert set(doc) == {"userName", "name", "active", "emails", "addresses"}
    again = render(doc, resource_type=USER, id=e8["id"], meta=e8["meta"])
    assert again == e8


# --- identifiers (issue 9 item 4) ---------------------------------------------------------


@pytest.mark.parametrize(
    "user_name",
    ["a\x00b", "line\r\nbreak", "tab\there", "evil\u202etxt.exe", "zero\u200bwidth", "a\u2028b"],
)
def test_user_name_refuses_control_and_format_characters(user_name):
    with pytest.raises(InvalidValue, match="userName") as info:
        normalize_user({"userName": user_name})
    assert info.value.scim_type == "invalidValue"
    assert "U+" in info.value.detail  # the character is named


@pytest.mark.parametrize("user_name", [" ", "   ", "\t", "\u3000", "\u00a0 \u2003"])
def test_user_name_must_not_be_white_space_only(user_name):
    with pytest.raises(InvalidValue, match="userName"):
        normalize_user({"userName": user_name})


def test_identifier_rules_for_groups_and_external_ids():
    with pytest.raises(InvalidValue, match="displayName"):
        normalize_group({"displayName": "   "})
    with pytest.raises(InvalidValue, match="displayName"):
        normalize_group({"displayName": "Sales\nTeam"})
    with pytest.raises(InvalidValue, match="externalId"):
        normalize_user({"userName": "a", "externalId": "ext\x00"})
    with pytest.raises(InvalidValue, match="externalId"):
        normalize_group({"displayName": "Sales", "externalId": "\u202eg"})
    # externalId is opaque: white space is the client's business
    assert normalize_user({"userName": "a", "externalId": " "})["externalId"] == " "


def test_free_text_is_stored_as_sent():
    doc = normalize_user(
        {
            "userName": "  Spaced  ",
            "displayName": "\u05e9\u05dc\u05d5\u05dd \u200fRLM",  # bidi marks in a human name
            "title": "   ",
            "nickName": "Zoë\u200d",
        }
    )
    assert doc["displayName"] == "\u05e9\u05dc\u05d5\u05dd \u200fRLM"
    assert doc["title"] == "   " and doc["nickName"] == "Zoë\u200d"


def test_unchanged_identifiers_are_not_checked_again():
    legacy = {"userName": "old\x00name", "active": True}  # stored before the rule
    assert normalize_user({"userName": "old\x00name", "active": False}, existing=legacy) == {
        "userName": "old\x00name",
        "active": False,
    }
    with pytest.raises(InvalidValue, match="userName"):
        normalize_user({"userName": "new\x00name"}, existing=legacy)


def test_a_value_is_in_a_multi_valued_attribute_once():
    doc = normalize_user(
        {
            "userName": "a",
            "emails": [{"value": "x", "type": "work"}, {"type": "work", "value": "x"}],
            "roles": [{"value": "r"}, {"value": "r", "type": "t"}, {"value": "r"}],
        }
    )
    assert doc["emails"] == [{"value": "x", "type": "work"}]
    assert doc["roles"] == [{"value": "r"}, {"value": "r", "type": "t"}]
