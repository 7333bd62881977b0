"""RFC 7643 §2.5 "no value", end to end in the pure engine (issue 9 item 1).

When an admin empties a mapped attribute, Entra sends ``""``. ``""``, ``null`` and ``[]``
must make the attribute disappear from the document — never stored as null or ``""``, never
an error — in every PATCH form of both Entra dialects (default: ``Add``/``Replace``, one op
per path; ``aadOptscim062020``: lower case, path-less ``replace`` with dotted and URN keys)
and in POST and PUT bodies. Required attributes cannot be cleared.
"""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zero_scim.scim import (
    GROUP,
    PATCH_OP_URN,
    USER,
    InvalidValue,
    apply_patch,
    normalize_group,
    normalize_user,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
NO_VALUES: list[object] = ["", None, []]
DIALECTS = ["Add", "add", "Replace", "replace"]  # default job / aadOptscim062020


def full_user() -> Any:
    return normalize_user(
        {
            "userName": "bjensen@example.com",
            "externalId": "ext-1",
            "title": "Tour Guide",
            "nickName": "Babs",
            "displayName": "Barbara Jensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": True},
                {"value": "babs@home.example", "type": "home"},
            ],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
            ENTERPRISE: {
                "department": "Tour Operations",
                "employeeNumber": "701984",
                "manager": {"value": "26118915-6090", "$ref": "../Users/26118915-6090"},
            },
            f"{CUSTOM}:tag": "701984",
        }
    )


def patch(doc, *operations, resource_type=USER) -> Any:
    body = {"schemas": [PATCH_OP_URN], "Operations": list(operations)}
    return apply_patch(doc, body, resource_type).doc


def empties(value, where="") -> list[str]:
    """Paths of null/""/[]/{} values anywhere in a document (custom values as sent aside)."""
    found = []
    if value is None or value == "" or value == [] or value == {}:
        return [where or "<document>"]
    if isinstance(value, dict):
        for key, item in value.items():
            if key == CUSTOM:
                found += [f"{key}:{k}" for k, v in item.items() if v in (None, "", [], {})]
                continue
            found += empties(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += empties(item, f"{where}[{index}]")
    return found


# --- PATCH: every form --------------------------------------------------------------------


@pytest.mark.parametrize("op", DIALECTS)
@pytest.mark.parametrize("empty", NO_VALUES)
def test_simple_attribute_by_path(op, empty):
    doc = patch(full_user(), {"op": op, "path": "title", "value": empty})
    assert "title" not in doc
    assert doc["nickName"] == "Babs" and empties(doc) == []


@pytest.mark.parametrize("op", DIALECTS)
@pytest.mark.parametrize("empty", NO_VALUES)
def test_path_less_plain_dotted_and_urn_keys(op, empty):
    doc = patch(
        full_user(),
        {
            "op": op,
            "value": {
                "title": empty,
                "name.givenName": empty,
                f"{ENTERPRISE}:department": empty,
                f"{CUSTOM}:tag": empty,
            },
        },
    )
    assert "title" not in doc
    assert doc["name"] == {"familyName": "Jensen"}
    assert "department" not in doc[ENTERPRISE]
    assert doc[ENTERPRISE]["employeeNumber"] == "701984"
    assert CUSTOM not in doc  # its only attribute went, and the extension with it
    assert empties(doc) == []


def test_e23_shape_with_empty_strings():
    """aadOptscim062020 'replace multiple attributes': one path-less op, dotted/URN keys."""
    doc = patch(
        full_user(),
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": ""},
        {
            "op": "replace",
            "value": {
                "displayName": "",
                "name.givenName": "",
                "name.familyName": "",
                f"{ENTERPRISE}:employeeNumber": "",
            },
        },
    )
    assert "displayName" not in doc and "name" not in doc  # an empty complex attribute goes
    assert doc["emails"] == [{"value": "babs@home.example", "type": "home"}]
    assert doc[ENTERPRISE] == {
        "department": "Tour Operations",
        "manager": {"value": "26118915-6090", "$ref": "../Users/26118915-6090"},
    }


@pytest.mark.parametrize("op", DIALECTS)
@pytest.mark.parametrize("empty", NO_VALUES)
def test_email_value_by_filter(op, empty):
    doc = patch(full_user(), {"op": op, "path": 'emails[type eq "work"].value', "value": empty})
    # The sub-attribute goes, and the e-mail entry left without a value goes too.
    assert doc["emails"] == [{"value": "babs@home.example", "type": "home"}]
    both = patch(
        doc, {"op": op, "path": 'emails[type eq "home"].value', "value": empty}
    )  # the last one: the attribute goes
    assert "emails" not in both


@pytest.mark.parametrize("op", DIALECTS)
@pytest.mark.parametrize("empty", NO_VALUES)
def test_given_name_by_path(op, empty):
    doc = patch(full_user(), {"op": op, "path": "name.givenName", "value": empty})
    assert doc["name"] == {"familyName": "Jensen"}
    doc = patch(doc, {"op": op, "path": "name.familyName", "value": empty})
    assert "name" not in doc  # an empty complex attribute goes


@pytest.mark.parametrize("op", DIALECTS)
@pytest.mark.parametrize("path", [f"{ENTERPRISE}:department", "department"])
@pytest.mark.parametrize("empty", NO_VALUES)
def test_enterprise_department(op, path, empty):
    doc = patch(full_user(), {"op": op, "path": path, "value": empty})
    assert "department" not in doc[ENTERPRISE]
    assert empties(doc) == []


@pytest.mark.parametrize("op", DIALECTS)
@pytest.mark.parametrize("path", [f"{ENTERPRISE}:manager", "manager"])
@pytest.mark.parametrize(
    "empty",
    ["", None, [], {"value": ""}, {"value": None}, [{"value": ""}], {"value": "", "$ref": ""}],
)
def test_enterprise_manager(op, path, empty):
    doc = patch(full_user(), {"op": op, "path": path, "value": empty})
    assert "manager" not in doc[ENTERPRISE]
    assert doc[ENTERPRISE]["department"] == "Tour Operations"


@pytest.mark.parametrize("op", DIALECTS)
def test_enterprise_manager_value_and_path_less(op):
    doc = patch(full_user(), {"op": op, "path": f"{ENTERPRISE}:manager.value", "value": ""})
    assert "manager" not in doc[ENTERPRISE]  # a manager without an id is no manager
    doc = patch(full_user(), {"op": op, "value": {f"{ENTERPRISE}:manager": ""}})
    assert "manager" not in doc[ENTERPRISE]
    doc = patch(full_user(), {"op": op, "value": {ENTERPRISE: {"manager": {"value": ""}}}})
    assert "manager" not in doc[ENTERPRISE]


def test_clearing_every_enterprise_attribute_drops_the_extension():
    doc = patch(
        full_user(),
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": ""},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": ""},
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ""},
    )
    assert ENTERPRISE not in doc


@pytest.mark.parametrize("empty", ["", None])
def test_whole_extension_replaced_with_no_value(empty):
    doc = patch(full_user(), {"op": "replace", "path": ENTERPRISE, "value": empty})
    assert ENTERPRISE not in doc


def test_multi_valued_attributes():
    for empty in NO_VALUES:
        doc = patch(full_user(), {"op": "replace", "path": "emails", "value": empty})
        assert "emails" not in doc
        # add appends values: adding no value appends nothing
        assert patch(full_user(), {"op": "add", "path": "emails", "value": empty}) == full_user()
    doc = patch(full_user(), {"op": "replace", "path": "phoneNumbers", "value": [{"value": ""}]})
    assert "phoneNumbers" not in doc


def test_add_of_an_empty_object_merges_nothing():
    assert patch(full_user(), {"op": "add", "path": "name", "value": {}}) == full_user()
    assert "name" not in patch(full_user(), {"op": "replace", "path": "name", "value": {}})


def test_complex_merge_clears_the_sub_attributes_sent_empty():
    doc = patch(full_user(), {"op": "replace", "path": "name", "value": {"givenName": ""}})
    assert doc["name"] == {"familyName": "Jensen"}
    doc = patch(
        full_user(),
        {"op": "add", "path": "name", "value": {"givenName": "", "middleName": "Ann"}},
    )
    assert doc["name"] == {"familyName": "Jensen", "middleName": "Ann"}


def test_clearing_what_is_not_there_is_a_no_op():
    doc = full_user()
    outcome = apply_patch(
        doc,
        {"Operations": [{"op": "Replace", "path": "locale", "value": ""}]},
        USER,
    )
    assert outcome.doc == doc and not outcome.changed


# --- required attributes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": "userName", "value": ""},
        {"op": "add", "path": "userName", "value": ""},
        {"op": "replace", "path": "userName", "value": None},
        {"op": "replace", "value": {"userName": ""}},
        {"op": "Remove", "path": "userName"},
    ],
)
def test_user_name_cannot_be_cleared(operation):
    with pytest.raises(InvalidValue, match="userName") as info:
        patch(full_user(), operation)
    assert info.value.status == 400 and info.value.scim_type == "invalidValue"


@pytest.mark.parametrize("empty", NO_VALUES)
def test_group_display_name_cannot_be_cleared(empty):
    group, _ = normalize_group({"displayName": "Sales", "externalId": "g-1"})
    with pytest.raises(InvalidValue, match="displayName"):
        patch(group, {"op": "Replace", "path": "displayName", "value": empty}, resource_type=GROUP)
    cleared = patch(
        group, {"op": "Replace", "path": "externalId", "value": ""}, resource_type=GROUP
    )
    assert cleared == {"displayName": "Sales"}


@pytest.mark.parametrize("empty", NO_VALUES)
def test_post_and_put_need_the_required_attributes(empty):
    with pytest.raises(InvalidValue, match="userName"):
        normalize_user({"userName": empty, "title": "x"})
    with pytest.raises(InvalidValue, match="userName"):
        normalize_user({"userName": empty}, for_replace=True, existing=full_user())
    with pytest.raises(InvalidValue, match="displayName"):
        normalize_group({"displayName": empty})


# --- POST and PUT bodies ------------------------------------------------------------------

EMPTY_BODY = {
    "userName": "bjensen@example.com",
    "title": "",
    "nickName": None,
    "name": {"givenName": "", "familyName": "Jensen"},
    "emails": [{"value": "", "type": "work", "primary": True}, {"value": "b@x", "type": "home"}],
    "phoneNumbers": [],
    "addresses": [{"type": "work", "country": ""}],
    ENTERPRISE: {"department": "", "manager": "", "costCenter": "42"},
    f"{ENTERPRISE}:division": "",
    f"{CUSTOM}:tag": "",
    "displayName": "",
}
EXPECTED = {
    "userName": "bjensen@example.com",
    "name": {"familyName": "Jensen"},
    "emails": [{"value": "b@x", "type": "home"}],
    ENTERPRISE: {"costCenter": "42"},
}


def test_post_body_with_empty_values():
    assert normalize_user(EMPTY_BODY) == EXPECTED


def test_put_body_with_empty_values_clears_what_was_there():
    assert normalize_user(EMPTY_BODY, for_replace=True, existing=full_user()) == EXPECTED


def test_manager_empty_in_a_post_body():
    for manager in ("", {"value": ""}, [{"value": "", "$ref": None}]):
        doc = normalize_user({"userName": "a", ENTERPRISE: {"manager": manager}})
        assert doc == {"userName": "a"}


# --- property: clearing never leaves an empty value ----------------------------------------

TARGETS = [
    "title", "nickName", "displayName", "externalId", "name.givenName", "name.familyName",
    "name", 'emails[type eq "work"].value', 'emails[type eq "home"].value',
    'emails[type eq "work"]', "emails", "phoneNumbers", f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager", f"{ENTERPRISE}:manager.value", "manager", "department",
    f"{CUSTOM}:tag", ENTERPRISE, "emails.value", "emails.type",
]  # fmt: skip
empty_values = st.sampled_from(["", None, [], {}, {"value": ""}, [{"value": ""}]])
operations = st.one_of(
    st.fixed_dictionaries(
        {"op": st.sampled_from(DIALECTS), "path": st.sampled_from(TARGETS), "value": empty_values}
    ),
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["replace", "add", "Replace", "Add"]),
            "value": st.dictionaries(st.sampled_from(TARGETS[:-5]), empty_values, min_size=1),
        }
    ),
    st.fixed_dictionaries(
        {"op": st.sampled_from(["remove", "Remove"]), "path": st.sampled_from(TARGETS)}
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(operations, min_size=1, max_size=6))
def test_clearing_never_leaves_an_empty_value(ops):
    try:
        doc = patch(full_user(), *ops)
    except InvalidValue as error:  # pragma: no cover - only a malformed value may fail
        assert "must be" in error.detail or "takes" in error.detail, error.detail
        return
    assert empties(doc) == []
    assert doc["userName"] == "bjensen@example.com"
    again = normalize_user(doc)  # what PATCH stores, POST accepts unchanged
    assert again == doc
