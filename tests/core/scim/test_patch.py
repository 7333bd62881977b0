"""The PATCH engine: RFC 7644 §3.5.2 and both Entra dialects (E6-E8, E13-E15, E18-E25, ...)."""

import copy

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.core.scim.things import IMMUTABLE_THING
from tests.support.entra import E23_OPERATIONS, ENTERPRISE
from zero_scim.scim import (
    GROUP,
    PATCH_OP_URN,
    USER,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    PayloadTooLarge,
    ScimError,
    apply_patch,
    normalize_group,
    normalize_user,
)

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def body(*operations, schemas=True):
    out = {"Operations": list(operations)}
    if schemas:
        out["schemas"] = [PATCH_OP_URN]
    return out


def user(**extra):
    return normalize_user(
        {
            "userName": "Test_User",
            "externalId": "ext-1",
            "active": True,
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName",
            },
            "emails": [{"value": "old@test.com", "type": "work", "primary": True}],
            **extra,
        }
    )


GROUP_DOC = normalize_group({"displayName": "Group One", "externalId": "g-ext"})[0]


def patch(doc, *operations, **kwargs):
    return apply_patch(doc, body(*operations), USER, **kwargs)


def gpatch(members, *operations):
    return apply_patch(GROUP_DOC, body(*operations), GROUP, members=frozenset(members))


# --- Entra user examples -----------------------------------------------------------------


def test_e6_replace_work_email_and_family_name():
    doc = user()
    out = patch(
        doc,
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "updatedEmail@microsoft.com",
        },
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    )
    assert out.doc["emails"] == [
        {"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}
    ]
    assert out.doc["name"] == {
        "formatted": "givenName familyName",
        "familyName": "updatedFamilyName",
        "givenName": "givenName",
    }
    assert out.changed and out.members_added == [] and out.members_removed == []


def test_work_email_is_added_when_absent():
    doc = user(emails=[{"value": "home@x", "type": "home"}])
    out = patch(doc, {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "w@x"})
    assert out.doc["emails"] == [
        {"value": "home@x", "type": "home"},
        {"type": "work", "value": "w@x"},
    ]
    no_emails = normalize_user({"userName": "a"})
    out = patch(no_emails, {"op": "add", "path": 'emails[type eq "work"].value', "value": "w@x"})
    assert out.doc["emails"] == [{"type": "work", "value": "w@x"}]


def test_e7_replace_user_name():
    out = patch(user(), {"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"})
    assert out.doc["userName"] == "5b50642d@testuser.com"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": "active", "value": False},  # E8
        {"op": "Replace", "path": "active", "value": "False"},  # E18 (default job)
        {"op": "replace", "path": "active", "value": False},  # E19 (flag)
        {"op": "replace", "value": {"active": "false"}},
    ],
)
def test_disable_user_all_dialects(operation):
    out = patch(user(), operation)
    assert out.doc["active"] is False
    assert out.changed


def test_enable_with_string_true():
    out = patch(user(active=False), {"op": "Replace", "path": "active", "value": "True"})
    assert out.doc["active"] is True


@pytest.mark.parametrize("op", ["Add", "add", "ADD"])
def test_e20_e21_add_single_value(op):
    out = patch(user(), {"op": op, "path": "nickName", "value": "Babs"})
    assert out.doc["nickName"] == "Babs"


def test_e22_one_replace_per_path():
    out = patch(
        user(),
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "TestBcwqnm@test.microsoft.com",
        },
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
    )
    assert out.doc["displayName"] == "Pvlo"
    assert out.doc["emails"][0]["value"] == "TestBcwqnm@test.microsoft.com"
    assert out.doc["name"]["givenName"] == "Gtfd" and out.doc["name"]["familyName"] == "Pkqf"
    assert out.doc["externalId"] == "Eqpj"
    assert out.doc[ENTERPRISE] == {"employeeNumber": "Eqpj"}


def test_e23_pathless_replace_with_dotted_and_urn_keys():
    out = patch(
        user(),
        *E23_OPERATIONS,
    )
    doc = out.doc
    assert "name.givenName" not in doc  # keys are paths, not literal attribute names
    assert doc["name"] == {
        "formatted": "givenName familyName",
        "givenName": "Kkom",
        "familyName": "Unua",
    }
    assert doc["displayName"] == "Bjfe"
    assert doc[ENTERPRISE] == {"employeeNumber": "Aklq"}
    assert doc["emails"][0]["value"] == "TestMhvaes@test.microsoft.com"


def test_observed_pathless_add_with_dotted_and_enterprise_keys():
    # pond/scimitar#123 and grokability/snipe-it#19095
    out = patch(
        user(),
        {
            "op": "add",
            "value": {
                "displayName": "Foo Bar",
                "title": "Bar Foo",
                "name.givenName": "Foo",
                "name.familyName": "Bar",
                "name.formatted": "Foo Bar",
                f"{ENTERPRISE}:department": "Eng",
                f"{ENTERPRISE}:manager": "m-1",
            },
        },
    )
    assert out.doc["name"] == {"formatted": "Foo Bar", "familyName": "Bar", "givenName": "Foo"}
    assert out.doc["title"] == "Bar Foo"
    assert out.doc[ENTERPRISE] == {"department": "Eng", "manager": {"value": "m-1"}}


def test_pathless_value_with_nested_extension_object():
    out = patch(
        user(),
        {"op": "replace", "value": {ENTERPRISE: {"department": "D", "manager": {"value": "m"}}}},
    )
    assert out.doc[ENTERPRISE] == {"department": "D", "manager": {"value": "m"}}


def test_pathless_value_skips_schemas_id_meta_and_read_only():
    out = patch(
        user(),
        {
            "op": "replace",
            "value": {
                "schemas": ["x"],
                "id": "other",
                "meta": {"created": "x"},
                "groups": [{"value": "g"}],
                "password": "p",
                "nickName": "n",
            },
        },
    )
    assert out.doc == {**user(), "nickName": "n"}


def test_e28_roles_json_string_values_are_stored_as_sent():
    encoded = '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}'
    out = patch(user(roles=[]), {"op": "Add", "path": "roles", "value": [{"value": encoded}]})
    assert out.doc["roles"] == [{"value": encoded}]
    again = patch(out.doc, {"op": "Add", "path": "roles", "value": [{"value": encoded}]})
    assert again.doc["roles"] == [{"value": encoded}] and not again.changed


def test_assertive_roles_replace():
    roles = [
        {
            "primary": False,
            "type": "WindowsAzureActiveDirectoryRole",
            "display": "User",
            "value": "User",
        }
    ]
    out = patch(user(roles=[{"value": "Old"}]), {"op": "replace", "path": "roles", "value": roles})
    assert out.doc["roles"] == roles


@pytest.mark.parametrize(
    "operation",
    [
        # E33: sample-code form, unqualified path, list of one complex value
        {
            "op": "Add",
            "path": "manager",
            "value": [{"$ref": "http://x/scim/Users/m", "value": "m"}],
        },
        # E35: observed, bare string with URN path
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": "m"},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "m"}},
        {"op": "replace", "path": f"{ENTERPRISE}:manager.value", "value": "m"},
        {"op": "Replace", "path": "manager", "value": ["m"]},
    ],
)
def test_manager_shapes(operation):
    out = patch(user(), operation)
    assert out.doc[ENTERPRISE]["manager"]["value"] == "m"


def test_new_manager_does_not_keep_the_old_ref():
    doc = user(**{ENTERPRISE: {"manager": {"value": "old", "$ref": "https://x/Users/old"}}})
    out = patch(doc, {"op": "add", "path": f"{ENTERPRISE}:manager", "value": "new"})
    assert out.doc[ENTERPRISE]["manager"] == {"value": "new"}


def test_e36_remove_manager_with_value_filter():
    doc = user(**{ENTERPRISE: {"manager": {"value": "manager-id"}, "department": "D"}})
    out = patch(doc, {"op": "remove", "path": 'manager[value eq "manager-id"]'})
    assert out.doc[ENTERPRISE] == {"department": "D"}
    unchanged = patch(doc, {"op": "remove", "path": 'manager[value eq "someone-else"]'})
    assert unchanged.doc == doc and not unchanged.changed
    only_manager = user(**{ENTERPRISE: {"manager": {"value": "manager-id"}}})
    out = patch(only_manager, {"op": "remove", "path": 'manager[value eq "manager-id"]'})
    assert ENTERPRISE not in out.doc  # an empty extension object is dropped


def test_remove_manager_by_path():
    doc = user(**{ENTERPRISE: {"manager": {"value": "m"}}})
    assert ENTERPRISE not in patch(doc, {"op": "Remove", "path": f"{ENTERPRISE}:manager"}).doc
    assert ENTERPRISE not in patch(doc, {"op": "Remove", "path": "manager"}).doc


# --- Entra group examples ----------------------------------------------------------------


def test_e13_replace_group_display_name():
    out = gpatch(
        ["u1"], {"op": "Replace", "path": "displayName", "value": "1879db59updatedDisplayName"}
    )
    assert out.doc == {"displayName": "1879db59updatedDisplayName", "externalId": "g-ext"}
    assert out.members_added == [] and out.members_removed == []


def test_e14_add_members():
    out = gpatch(
        ["u0"],
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}, {"value": "u0"}],
        },
    )
    assert out.members_added == ["f648f8d5ea4e4cd38e9c"]
    assert out.members_removed == []
    assert out.doc == GROUP_DOC
    assert out.changed


def test_e15_e24_remove_members_with_value_list_removes_only_those():
    out = gpatch(
        ["f648f8d5ea4e4cd38e9c", "u1091", "keep"],
        {
            "op": "Remove",
            "path": "members",
            "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}],
        },
        {"op": "Remove", "path": "members", "value": [{"value": "u1091"}]},
    )
    assert out.members_removed == ["f648f8d5ea4e4cd38e9c", "u1091"]
    assert out.members_added == []


def test_e25_remove_member_with_value_filter():
    member = "7f4bc1a3-285e-48ae-8202-5accb43efb0e"
    out = gpatch([member, "other"], {"op": "remove", "path": f'members[value eq "{member}"]'})
    assert out.members_removed == [member]
    none = gpatch(["other"], {"op": "remove", "path": f'members[value eq "{member}"]'})
    assert none.members_removed == [] and not none.changed


def test_e37_replace_members_follows_the_rfc():
    out = gpatch(
        ["671", "672", "673"], {"op": "replace", "path": "members", "value": [{"value": "673"}]}
    )
    assert sorted(out.members_removed) == ["671", "672"]  # in the member set's order
    assert out.members_added == []
    out = gpatch(
        ["1"], {"op": "replace", "path": "members", "value": [{"value": "2"}, {"value": "3"}]}
    )
    assert (out.members_added, out.members_removed) == (["2", "3"], ["1"])


def test_remove_members_without_value_removes_all():
    out = gpatch(["a", "b"], {"op": "remove", "path": "members"})
    assert sorted(out.members_removed) == ["a", "b"]
    out = gpatch(["a"], {"op": "remove", "path": "members", "value": None})
    assert out.members_removed == ["a"]
    out = gpatch(["a"], {"op": "remove", "path": "members", "value": []})
    assert out.members_removed == [] and not out.changed


def test_member_set_arithmetic():
    out = gpatch(
        ["a", "b"],
        {"op": "add", "path": "members", "value": [{"value": "c"}, {"value": "d"}, {"value": "c"}]},
        {
            "op": "remove",
            "path": "members",
            "value": [{"value": "d"}, {"value": "a"}, {"value": "zzz"}],
        },
        {"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
        {"op": "add", "path": "members", "value": {"value": "e"}},
    )
    assert out.members_added == ["c", "e"]
    assert out.members_removed == []


def test_member_filters_beyond_eq():
    out = gpatch(
        ["u1", "u2", "x3"], {"op": "remove", "path": 'members[value eq "u1" or value eq "x3"]'}
    )
    assert out.members_removed == ["u1", "x3"]  # request order
    out = gpatch(["u1", "u2", "x3"], {"op": "remove", "path": 'members[value sw "u"]'})
    assert sorted(out.members_removed) == ["u1", "u2"]
    out = gpatch(
        ["u1"],
        {"op": "add", "path": "members", "value": [{"value": "u9"}]},
        {"op": "remove", "path": 'members[value ew "9"]'},
    )
    assert out.members_added == [] and out.members_removed == []


def test_pathless_group_replace_with_members():
    out = gpatch(
        ["a"], {"op": "replace", "value": {"displayName": "New", "members": [{"value": "b"}]}}
    )
    assert out.doc["displayName"] == "New"
    assert (out.members_added, out.members_removed) == (["b"], ["a"])


def test_group_member_errors():
    for operation, error in [
        ({"op": "add", "path": 'members[value eq "x"]', "value": {"value": "x"}}, InvalidPath),
        ({"op": "remove", "path": 'members[value eq "x"].display'}, InvalidPath),
        ({"op": "replace", "path": "members.value", "value": "x"}, InvalidPath),
        ({"op": "add", "path": "members", "value": ["x"]}, InvalidValue),
        ({"op": "add", "path": "members", "value": [{"value": ""}]}, InvalidValue),
        ({"op": "add", "path": "members", "value": "x"}, InvalidValue),
        ({"op": "remove", "path": "members", "value": [{"display": "no id"}]}, InvalidValue),
    ]:
        with pytest.raises(error):
            gpatch(["x"], operation)


def test_group_without_member_set_starts_empty():
    out = apply_patch(
        GROUP_DOC, body({"op": "add", "path": "members", "value": [{"value": "a"}]}), GROUP
    )
    assert out.members_added == ["a"]
    out = apply_patch(GROUP_DOC, body({"op": "remove", "path": "members"}), GROUP)
    assert out.members_removed == [] and not out.changed


def test_members_are_never_put_in_the_document():
    out = gpatch([], {"op": "add", "path": "members", "value": [{"value": "a"}]})
    assert "members" not in out.doc


def test_member_set_is_not_materialised_for_eq_filters():
    class Counting:
        def __init__(self, ids):
            self.ids = set(ids)
            self.iterated = False

        def __contains__(self, member_id):
            return member_id in self.ids

        def __iter__(self):
            self.iterated = True
            return iter(self.ids)

        def __len__(self):
            return len(self.ids)

    current = Counting(f"u{i}" for i in range(10_000))
    out = apply_patch(
        GROUP_DOC,
        body(
            {"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "new"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u2"}]},
            {"op": "remove", "path": 'members[value eq "u3"]'},
        ),
        GROUP,
        members=current,
    )
    assert out.members_added == ["new"] and out.members_removed == ["u2", "u3"]
    assert not current.iterated


# --- body validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (None, InvalidSyntax),
        ([], InvalidSyntax),
        ("x", InvalidSyntax),
        ({}, InvalidSyntax),
        ({"schemas": [PATCH_OP_URN]}, InvalidSyntax),
        ({"schemas": [PATCH_OP_URN], "Operations": []}, InvalidSyntax),
        ({"schemas": [PATCH_OP_URN], "Operations": {"op": "add"}}, InvalidSyntax),
        (
            {
                "schemas": ["urn:wrong"],
                "Operations": [{"op": "add", "path": "nickName", "value": "x"}],
            },
            InvalidSyntax,
        ),
        (
            {
                "schemas": PATCH_OP_URN,
                "Operations": [{"op": "add", "path": "nickName", "value": "x"}],
            },
            InvalidSyntax,
        ),
        (body("add"), InvalidSyntax),
        (body({"path": "nickName", "value": "x"}), InvalidSyntax),
        (body({"op": "copy", "path": "nickName", "value": "x"}), InvalidSyntax),
        (body({"op": 1, "path": "nickName", "value": "x"}), InvalidSyntax),
        (body({"op": "add", "path": 5, "value": "x"}), InvalidPath),
        (body({"op": "add", "path": "nick name", "value": "x"}), InvalidPath),
        (body({"op": "add", "path": 'emails[type eq "work"', "value": "x"}), InvalidPath),
        (body({"op": "remove"}), NoTarget),
        (body({"op": "remove", "path": "  "}), NoTarget),
        (body({"op": "add", "path": "nickName"}), InvalidValue),
        (body({"op": "replace"}), InvalidValue),
        (body({"op": "replace", "value": "x"}), InvalidValue),
        (body({"op": "replace", "value": ["x"]}), InvalidValue),
        (body({"op": "replace", "value": {5: "x"}}), InvalidSyntax),
        (body({"op": "replace", "value": {"bad key!": "x"}}), InvalidPath),
    ],
)
def test_invalid_bodies(payload, error):
    with pytest.raises(error) as info:
        apply_patch(user(), payload, USER)
    assert info.value.status == 400


def test_schemas_may_be_missing_and_names_are_case_insensitive():
    payload = {"operations": [{"OP": "Replace", "PATH": "nickName", "VALUE": "x"}]}
    assert apply_patch(user(), payload, USER).doc["nickName"] == "x"
    payload = {
        "SCHEMAS": [PATCH_OP_URN.upper()],
        "Operations": [{"op": "add", "path": "title", "value": "t"}],
    }
    assert apply_patch(user(), payload, USER).doc["title"] == "t"


def test_error_detail_names_the_operation():
    with pytest.raises(InvalidValue, match=r"^Operations\[1\]: active must be true or false"):
        patch(
            user(),
            {"op": "add", "path": "nickName", "value": "x"},
            {"op": "replace", "path": "active", "value": "maybe"},
        )


def test_operation_limit():
    operations = [{"op": "add", "path": "nickName", "value": str(i)} for i in range(11)]
    with pytest.raises(PayloadTooLarge):
        apply_patch(user(), body(*operations), USER, max_operations=10)
    assert (
        apply_patch(user(), body(*operations[:10]), USER, max_operations=10).doc["nickName"] == "9"
    )


def test_failed_patch_changes_nothing_and_input_is_never_mutated():
    doc = user(**{ENTERPRISE: {"manager": {"value": "m"}}})
    snapshot = copy.deepcopy(doc)
    with pytest.raises(InvalidValue):
        patch(
            doc,
            {"op": "replace", "path": "name.givenName", "value": "ok"},
            {"op": "replace", "path": "active", "value": "nope"},
        )
    assert doc == snapshot
    patch(
        doc,
        {"op": "replace", "path": "name.givenName", "value": "new"},
        {"op": "add", "path": "emails", "value": [{"value": "x@y"}]},
        {"op": "remove", "path": "manager"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "w"},
    )
    assert doc == snapshot


# --- read-only, write-only, immutable ----------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "id", "value": "other"},
        {"op": "remove", "path": "id"},
        {"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"},
        {"op": "add", "path": "groups", "value": [{"value": "g"}]},
        {"op": "replace", "path": f"{ENTERPRISE}:manager.displayName", "value": "Boss"},
        {"op": "remove", "path": 'groups[value eq "g"]'},
    ],
)
def test_read_only_targets_are_mutability_errors(operation):
    with pytest.raises(Mutability) as info:
        patch(user(), operation, resource_id="u1")
    assert info.value.scim_type == "mutability"


def test_replacing_id_with_the_same_value_is_ignored():
    out = patch(user(), {"op": "replace", "path": "id", "value": "u1"}, resource_id="u1")
    assert out.doc == user() and not out.changed
    with pytest.raises(Mutability):
        patch(user(), {"op": "replace", "path": "id", "value": "u1"})  # id not known


def test_password_is_accepted_and_dropped():
    out = patch(user(), {"op": "replace", "path": "password", "value": "hunter2"})
    assert "password" not in out.doc and not out.changed


THING = IMMUTABLE_THING


def test_immutable_attributes():
    assert apply_patch({}, body({"op": "add", "path": "serial", "value": "S"}), THING).doc == {
        "serial": "S"
    }
    same = apply_patch(
        {"serial": "S"}, body({"op": "replace", "path": "serial", "value": "S"}), THING
    )
    assert not same.changed
    for operation in (
        {"op": "replace", "path": "serial", "value": "T"},
        {"op": "add", "path": "serial", "value": "T"},
        {"op": "remove", "path": "serial"},
    ):
        with pytest.raises(Mutability):
            apply_patch({"serial": "S"}, body(operation), THING)


# --- general RFC semantics ---------------------------------------------------------------


def test_unknown_attributes_are_ignored_like_on_post():
    out = patch(
        user(),
        {"op": "add", "path": "favouriteColour", "value": "blue"},
        {"op": "remove", "path": "shoeSize"},
        {"op": "replace", "path": "name.nickname", "value": "x"},
        {"op": "replace", "path": 'emails[type eq "work"].label', "value": "x"},
        {"op": "replace", "path": f"{ENTERPRISE}:shoeSize", "value": 44},
    )
    assert out.doc == user() and not out.changed


@pytest.mark.parametrize(
    "path",
    ["userName.first", 'userName[value eq "x"]', 'name.givenName[value eq "x"]', f"{CUSTOM}:tag.x",
     f'{CUSTOM}:tag[value eq "x"]', f'{ENTERPRISE}[value eq "x"]'],
)  # fmt: skip
def test_impossible_paths_are_invalid_path(path):
    with pytest.raises(InvalidPath):
        patch(user(), {"op": "replace", "path": path, "value": "x"})


def test_add_to_multi_valued_appends_and_deduplicates():
    doc = user()
    out = patch(
        doc,
        {
            "op": "add",
            "path": "emails",
            "value": [
                {"value": "old@test.com", "type": "work", "primary": True},
                {"value": "new@x", "type": "home"},
            ],
        },
    )
    assert out.doc["emails"] == doc["emails"] + [{"value": "new@x", "type": "home"}]
    out = patch(doc, {"op": "add", "path": "emails", "value": {"value": "single@x"}})
    assert out.doc["emails"][-1] == {"value": "single@x"}


def test_new_primary_demotes_the_others():
    doc = user()
    out = patch(
        doc,
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "p@x", "type": "home", "primary": "True"}],
        },
    )
    assert out.doc["emails"] == [
        {"value": "old@test.com", "type": "work", "primary": False},
        {"value": "p@x", "type": "home", "primary": True},
    ]
    doc = user(
        emails=[{"value": "a", "type": "work", "primary": True}, {"value": "b", "type": "home"}]
    )
    out = patch(doc, {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True})
    assert [e.get("primary") for e in out.doc["emails"]] == [False, True]
    with pytest.raises(InvalidValue, match="primary"):
        patch(
            user(emails=[]),
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "1", "primary": True}, {"value": "2", "primary": True}],
            },
        )


def test_replace_multi_valued_replaces_whole_and_missing_is_added():
    out = patch(user(), {"op": "replace", "path": "emails", "value": [{"value": "only@x"}]})
    assert out.doc["emails"] == [{"value": "only@x"}]
    out = patch(
        user(),
        {"op": "replace", "path": "phoneNumbers", "value": [{"value": "555", "type": "work"}]},
    )
    assert out.doc["phoneNumbers"] == [{"value": "555", "type": "work"}]
    out = patch(user(), {"op": "replace", "path": "title", "value": "Boss"})
    assert out.doc["title"] == "Boss"
    out = patch(user(), {"op": "replace", "path": "emails", "value": []})
    assert "emails" not in out.doc


def test_replace_complex_merges_sub_attributes():
    out = patch(user(), {"op": "replace", "path": "name", "value": {"givenName": "New"}})
    assert out.doc["name"] == {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "New",
    }
    out = patch(user(), {"op": "add", "path": "name", "value": {"middleName": "M"}})
    assert out.doc["name"]["middleName"] == "M" and out.doc["name"]["givenName"] == "givenName"


def test_remove_semantics():
    doc = user(nickName="n", addresses=[{"type": "work", "country": "ML"}])
    assert "nickName" not in patch(doc, {"op": "remove", "path": "nickName"}).doc
    out = patch(doc, {"op": "remove", "path": "title"})
    assert out.doc == doc and not out.changed  # removing something absent is a no-op
    out = patch(doc, {"op": "remove", "path": "name.givenName"})
    assert out.doc["name"] == {"formatted": "givenName familyName", "familyName": "familyName"}
    out = patch(user(name={"givenName": "G"}), {"op": "remove", "path": "name.givenName"})
    assert "name" not in out.doc
    out = patch(doc, {"op": "remove", "path": "addresses.country"})
    assert "addresses" not in out.doc  # an address of nothing but its type goes too
    located = user(addresses=[{"type": "work", "country": "ML", "locality": "Bamako"}])
    out = patch(located, {"op": "remove", "path": "addresses.country"})
    assert out.doc["addresses"] == [{"type": "work", "locality": "Bamako"}]
    out = patch(doc, {"op": "remove", "path": "emails", "value": [{"value": "old@test.com"}]})
    assert "emails" not in out.doc
    out = patch(doc, {"op": "remove", "path": "emails", "value": [{"value": "not-there"}]})
    assert out.doc["emails"] == doc["emails"]


def test_remove_required_user_name_is_refused():
    with pytest.raises(InvalidValue, match="userName"):
        patch(user(), {"op": "remove", "path": "userName"})
    with pytest.raises(InvalidValue, match="userName"):
        patch(user(), {"op": "replace", "path": "userName", "value": ""})
    with pytest.raises(InvalidValue, match="displayName"):
        gpatch([], {"op": "remove", "path": "displayName"})


def test_null_values():
    out = patch(user(nickName="n"), {"op": "replace", "path": "nickName", "value": None})
    assert "nickName" not in out.doc
    # RFC 7643 §2.5: assigning null unassigns; add sets a single-valued attribute.
    out = patch(user(nickName="n"), {"op": "add", "path": "nickName", "value": None})
    assert "nickName" not in out.doc


def test_value_path_operations():
    doc = user(
        emails=[
            {"value": "w@x", "type": "work", "primary": True},
            {"value": "h@x", "type": "home"},
            {"value": "o@x", "type": "other"},
        ]
    )
    out = patch(doc, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert [e["type"] for e in out.doc["emails"]] == ["work", "other"]
    out = patch(doc, {"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert out.doc["emails"][0] == {"value": "w@x", "type": "work"}
    out = patch(doc, {"op": "remove", "path": 'emails[type eq "nope"]'})
    assert out.doc == doc and not out.changed
    out = patch(
        doc,
        {
            "op": "replace",
            "path": 'emails[type eq "home"]',
            "value": {"value": "h2@x", "type": "home"},
        },
    )
    assert out.doc["emails"][1] == {"value": "h2@x", "type": "home"}
    out = patch(doc, {"op": "add", "path": 'emails[type eq "home"]', "value": {"display": "Home"}})
    assert out.doc["emails"][1] == {"value": "h@x", "type": "home", "display": "Home"}
    out = patch(
        doc,
        {
            "op": "add",
            "path": 'emails[type eq "new" and primary eq false]',
            "value": {"value": "n@x"},
        },
    )
    assert out.doc["emails"][-1] == {"type": "new", "primary": False, "value": "n@x"}
    out = patch(doc, {"op": "replace", "path": 'emails[value co "@x"].display', "value": "D"})
    assert all(e["display"] == "D" for e in out.doc["emails"])
    out = patch(doc, {"op": "replace", "path": 'emails[type eq "home"].value', "value": None})
    assert [e["type"] for e in out.doc["emails"]] == ["work", "other"]  # no address: gone
    with pytest.raises(NoTarget):
        patch(doc, {"op": "replace", "path": 'emails[value co "zzz"].value', "value": "x"})
    with pytest.raises(InvalidValue):
        patch(doc, {"op": "replace", "path": 'emails[type eq "home"]', "value": "not an object"})


def test_addresses_by_filter_e8_shape():
    doc = user(addresses=[{"country": "ML", "type": "work", "primary": True}])
    out = patch(
        doc,
        {"op": "Replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Main St"},
    )
    assert out.doc["addresses"] == [
        {"country": "ML", "type": "work", "primary": True, "streetAddress": "1 Main St"}
    ]


def test_sub_attribute_of_every_element():
    doc = user(emails=[{"value": "a"}, {"value": "b"}])
    out = patch(doc, {"op": "replace", "path": "emails.type", "value": "work"})
    assert out.doc["emails"] == [{"value": "a", "type": "work"}, {"value": "b", "type": "work"}]
    out = patch(user(emails=[]), {"op": "add", "path": "emails.value", "value": "x"})
    assert out.doc["emails"] == [{"value": "x"}]


def test_extension_paths():
    out = patch(
        user(), {"op": "add", "path": ENTERPRISE, "value": {"department": "D", "costCenter": "C"}}
    )
    assert out.doc[ENTERPRISE] == {"department": "D", "costCenter": "C"}
    out2 = patch(out.doc, {"op": "replace", "path": ENTERPRISE, "value": {"department": "E"}})
    assert out2.doc[ENTERPRISE] == {"department": "E", "costCenter": "C"}
    out3 = patch(out.doc, {"op": "remove", "path": ENTERPRISE})
    assert ENTERPRISE not in out3.doc
    out4 = patch(
        out.doc,
        {"op": "remove", "path": f"{ENTERPRISE}:department"},
        {"op": "remove", "path": "costCenter"},
    )
    assert ENTERPRISE not in out4.doc
    with pytest.raises(InvalidValue):
        patch(user(), {"op": "add", "path": ENTERPRISE, "value": "x"})


def test_custom_extension_attributes():
    out = patch(user(), {"op": "add", "path": f"{CUSTOM}:tag", "value": "701984"})
    assert out.doc[CUSTOM] == {"tag": "701984"}
    out = patch(out.doc, {"op": "replace", "path": f"{CUSTOM.lower()}:TAG", "value": "2"})
    assert out.doc[CUSTOM] == {"tag": "2"}
    out = patch(out.doc, {"op": "replace", "path": CUSTOM, "value": {"other": [1, 2]}})
    assert out.doc[CUSTOM] == {"tag": "2", "other": [1, 2]}
    out = patch(
        out.doc,
        {"op": "remove", "path": f"{CUSTOM}:tag"},
        {"op": "remove", "path": f"{CUSTOM}:other"},
    )
    assert CUSTOM not in out.doc
    out = patch(user(), {"op": "replace", "value": {f"{CUSTOM}:a": "1", CUSTOM: {"b": "2"}}})
    assert out.doc[CUSTOM] == {"a": "1", "b": "2"}


def test_changed_is_false_for_no_op_patches():
    doc = user()
    for operation in (
        {"op": "replace", "path": "userName", "value": "Test_User"},
        {"op": "Replace", "path": "active", "value": "True"},
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "old@test.com", "type": "work", "primary": True}],
        },
        {"op": "remove", "path": "nickName"},
    ):
        out = patch(doc, operation)
        assert out.doc == doc and not out.changed, operation


# --- properties --------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.text(max_size=6)
    | st.sampled_from(["True", "false", "work"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["value", "type", "primary", "display", "$ref", "givenName", "x"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=6,
)
path_texts = st.sampled_from(
    ["userName", "active", "nickName", "name", "name.givenName", "emails", "emails.value",
     'emails[type eq "work"]', 'emails[type eq "work"].value', 'emails[value co "a"].type',
     "roles", "manager", f"{ENTERPRISE}:manager", 'manager[value eq "m"]', ENTERPRISE,
     f"{ENTERPRISE}:department", f"{CUSTOM}:tag", CUSTOM, "members", 'members[value eq "u1"]',
     'members[value sw "u"]', "members.value", "displayName", "id", "meta", "groups", "password",
     "userName.x", "zzz", "", "emails[", "urn:a:b:c"]
)  # fmt: skip
realistic_values = st.sampled_from(
    ["x", "True", "False", True, [{"value": "u3"}], [{"value": "u1"}], {"value": "m"},
     [{"value": "e@x", "type": "work"}], {"givenName": "G"}, {"tag": "t"}, []]
)  # fmt: skip
values = realistic_values | json_values
ops_names = st.sampled_from(["add", "Add", "replace", "Replace", "remove", "Remove"])
with_path = st.fixed_dictionaries({"op": ops_names, "path": path_texts}, optional={"value": values})
pathless = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["add", "Replace"]),
        "value": st.dictionaries(path_texts, values, max_size=3),
    }
)
garbage = (
    st.fixed_dictionaries(
        {"op": st.sampled_from(["bogus", 5, None]) | ops_names},
        optional={"path": st.none() | path_texts | json_values, "value": values},
    )
    | json_values
)


@settings(max_examples=100, deadline=None)
@given(st.lists(garbage | with_path, min_size=1, max_size=4), st.sampled_from([USER, GROUP]))
def test_garbage_operations_only_raise_scim_errors(ops, resource_type):
    doc = user() if resource_type is USER else GROUP_DOC
    try:
        apply_patch(doc, body(*ops), resource_type, members=frozenset({"u1", "u2"}))
    except ScimError as error:
        assert error.status in (400, 413)
        assert error.detail.startswith("Operations[") or "patched resource" in error.detail


@settings(max_examples=150, deadline=None)
@given(st.lists(with_path | pathless, min_size=1, max_size=3), st.sampled_from([USER, GROUP]))
def test_random_operations_keep_the_document_valid(ops, resource_type):
    doc = user() if resource_type is USER else GROUP_DOC
    snapshot = copy.deepcopy(doc)
    try:
        out = apply_patch(doc, body(*ops), resource_type, members=frozenset({"u1", "u2"}))
    except ScimError as error:
        assert error.status == 400
        return
    finally:
        assert doc == snapshot
    # The result is always a valid document: normalising it again changes nothing.
    normalize = normalize_user if resource_type is USER else (lambda d: normalize_group(d)[0])
    assert normalize(out.doc) == out.doc
    assert not set(out.members_added) & {"u1", "u2"}
    assert set(out.members_removed) <= {"u1", "u2"}
    assert out.changed is (out.doc != doc or bool(out.members_added or out.members_removed))


member_ids = st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=4, unique=True)


@settings(deadline=None)
@given(member_ids, st.sampled_from(["e", "a", "b"]))
def test_add_then_remove_same_member_is_net_no_op(current, member):
    out = gpatch(
        current,
        {"op": "Add", "path": "members", "value": [{"value": member}]},
        {"op": "Remove", "path": "members", "value": [{"value": member}]},
    )
    if member in current:
        assert out.members_removed == [member]  # the remove wins: it was a member before
    else:
        assert out.members_added == [] and out.members_removed == [] and not out.changed


@settings(deadline=None)
@given(member_ids, member_ids)
def test_re_adding_is_idempotent(current, to_add):
    operation = {"op": "add", "path": "members", "value": [{"value": v} for v in to_add]}
    first = gpatch(current, operation)
    assert first.members_added == [v for v in to_add if v not in current]
    after = set(current) | set(first.members_added)
    second = gpatch(after, operation)
    assert second.members_added == [] and second.members_removed == [] and not second.changed


@settings(deadline=None)
@given(member_ids, member_ids)
def test_replace_members_sets_the_whole_list(current, wanted):
    out = gpatch(
        current, {"op": "replace", "path": "members", "value": [{"value": v} for v in wanted]}
    )
    assert (set(current) | set(out.members_added)) - set(out.members_removed) == set(wanted)
    assert not set(out.members_added) & set(out.members_removed)


user_ops = st.lists(
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "replace", "remove"]),
            "path": st.sampled_from(
                [
                    "nickName",
                    "name.givenName",
                    "emails",
                    'emails[type eq "work"].value',
                    "title",
                    'emails[type eq "home"]',
                    f"{ENTERPRISE}:manager",
                    f"{CUSTOM}:tag",
                    "active",
                ]
            ),
            "value": st.sampled_from(
                ["x", "True", [{"value": "v", "type": "home"}], {"value": "m"}]
            ),
        }
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=100, deadline=None)
@given(user_ops)
@example(  # found by this test: the second run merged "m" into two home e-mails alike
    [
        {"op": "add", "path": "emails", "value": [{"value": "v", "type": "home"}]},
        {"op": "add", "path": 'emails[type eq "home"]', "value": {"value": "m"}},
    ]
)
def test_patching_twice_equals_patching_once(ops):
    try:
        once = patch(user(), *ops)
    except ScimError:
        return
    twice = patch(once.doc, *ops)
    assert twice.doc == once.doc
    assert not twice.changed


# --- parse once, identifiers, bounds ------------------------------------------------------


def test_parse_patch_once_and_apply_many_times():
    from zero_scim.scim import PatchOperation, PatchRequest, parse_patch

    request = parse_patch(
        body(
            {"op": "Replace", "path": "title", "value": "Boss"},
            {"op": "add", "value": {"nickName": "B"}},
            {"op": "Remove", "path": 'emails[type eq "work"]'},
        )
    )
    assert isinstance(request, PatchRequest)
    assert [operation.op for operation in request.operations] == ["replace", "add", "remove"]
    assert isinstance(request.operations[0], PatchOperation)
    assert request.operations[1].path is None and request.operations[2].has_value is False
    first = apply_patch(user(), request, USER)
    second = apply_patch(user(), request, USER)
    assert first.doc == second.doc
    assert first.doc["title"] == "Boss" and first.doc["nickName"] == "B"
    assert "emails" not in first.doc
    assert parse_patch(request) is request
    with pytest.raises(InvalidSyntax, match=r"Operations\[1\]"):
        parse_patch(body({"op": "add", "path": "title", "value": "x"}, {"op": "merge"}))


def test_patch_of_a_legacy_user_name_leaves_it_alone():
    legacy = {"userName": "old\x00name", "active": True}
    out = patch(legacy, {"op": "Replace", "path": "active", "value": "False"})
    assert out.doc == {"userName": "old\x00name", "active": False}
    with pytest.raises(InvalidValue, match="userName"):
        patch(legacy, {"op": "Replace", "path": "userName", "value": "still\rbad"})


def test_patch_result_is_bounded_like_storage():
    with pytest.raises(InvalidValue, match="the patched resource is invalid") as info:
        patch(user(), {"op": "replace", "path": "name.givenName", "value": "x" * 4097})
    assert "name.givenName" in info.value.detail and "4096" in info.value.detail
    emails = [{"value": f"{i}@x"} for i in range(100)]
    out = patch(user(), {"op": "replace", "path": "emails", "value": emails})
    assert len(out.doc["emails"]) == 100
    with pytest.raises(InvalidValue, match="emails") as info:
        patch(out.doc, {"op": "add", "path": "emails", "value": [{"value": "one-more@x"}]})
    assert "100" in info.value.detail
