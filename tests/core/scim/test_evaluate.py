"""Filter evaluation: schema-aware comparisons, multi-valued semantics, lazy members, planner."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.scim.things import thing_type
from zero_scim.scim import GROUP, USER, InvalidFilter, ScimError
from zero_scim.scim.evaluate import (
    compile_filter,
    equality_terms,
    lookup,
    matches,
    parse_datetime,
    validate_filter,
)
from zero_scim.scim.filter import Compare, ValueFilter, parse_filter
from zero_scim.scim.paths import AttrPath
from zero_scim.scim.schema import Attribute, Schema, SchemaExtension

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"

BJENSEN = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, CUSTOM],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "externalId": "Bjensen",
    "userName": "Bjensen@Example.com",
    "name": {
        "formatted": "Ms. Barbara J Jensen III",
        "familyName": "O'Malley",
        "givenName": "Barbara",
    },
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "userType": "Employee",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
    ENTERPRISE: {
        "employeeNumber": "701984",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
    },
    CUSTOM: {"tag": "Blue", "level": 7, "flag": True},
    "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
    },
}


def m(text, resource=BJENSEN, resource_type=USER):
    return matches(parse_filter(text), resource, resource_type)


# --- strings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen@example.com"', True),  # caseExact false
        ('USERNAME EQ "BJENSEN@EXAMPLE.COM"', True),
        ('userName eq "bjensen"', False),
        ('externalId eq "Bjensen"', True),  # caseExact true
        ('externalId eq "bjensen"', False),
        ('id eq "2819C223-7F76-453A-919D-413861904646"', False),
        ('id eq "2819c223-7f76-453a-919d-413861904646"', True),
        ('name.familyName co "o\'malley"', True),
        ('userName sw "bj"', True),
        ('userName sw "jensen"', False),
        ('userName ew ".COM"', True),
        ('userName co "@example"', True),
        ('title gt "Tour"', True),
        ('title ge "tour guide"', True),
        ('title lt "tour guide"', False),
        ('title le "TOUR GUIDE"', True),
        ('title lt "zebra"', True),
        ('displayName ne "Babs Jensen"', False),
        ('displayName ne "someone"', True),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B"', True),
    ],
)
def test_string_comparisons(text, expected):
    assert m(text) is expected


def test_unicode_casefold():
    resource = {"userName": "STRASSE", "displayName": "Ünïcode"}
    assert m('userName eq "straße"', resource)
    assert m('displayName eq "üNÏCODE"', resource)


def test_integer_literal_compares_with_string_attribute():
    assert m("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 701984")
    assert not m("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 1")


# --- dateTime ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('meta.lastModified gt "2011-05-13T04:42:33Z"', True),
        ('meta.lastModified gt "2011-05-13T04:42:34Z"', False),
        ('meta.lastModified ge "2011-05-13T04:42:34Z"', True),
        ('meta.lastModified eq "2011-05-13T06:42:34+02:00"', True),  # same instant
        ('meta.lastModified eq "2011-05-13T04:42:34.000Z"', True),
        ('meta.lastModified lt "2011-05-13T04:42:34"', False),  # naive = UTC
        ('meta.lastModified le "2011-05-13T04:42:34"', True),
        ('meta.created lt "2011-01-01T00:00:00Z"', True),
        ('meta.lastModified sw "2011-05"', True),
        ('meta.lastModified gt "not a date"', False),
    ],
)
def test_datetime_comparisons(text, expected):
    assert m(text) is expected


def test_unparseable_stored_datetime_never_matches():
    resource = {"meta": {"lastModified": "yesterday"}}
    assert not m('meta.lastModified gt "2000-01-01T00:00:00Z"', resource)
    assert m('meta.lastModified ne "2000-01-01T00:00:00Z"', resource)


def test_parse_datetime():
    assert parse_datetime("2011-05-13T04:42:34Z") == parse_datetime("2011-05-13T04:42:34+00:00")
    assert parse_datetime("2011-05-13T04:42:34").tzinfo is not None
    assert parse_datetime("x") is None
    assert parse_datetime(5) is None
    assert parse_datetime("2" * 1000) is None


# --- booleans ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("active eq true", True),
        ("active eq false", False),
        ('active eq "True"', True),  # Entra habit
        ('active eq "TRUE"', True),
        ('active eq "False"', False),
        ("active ne false", True),
        ("active gt false", False),
        ('active eq "yes"', False),
        ("active eq 1", False),
    ],
)
def test_boolean_comparisons(text, expected):
    assert m(text) is expected


def test_boolean_stored_as_string_still_compares():
    assert m("active eq false", {"active": "False"})


# --- numbers (custom extensions and a resource type with numeric attributes) -------------

THING = thing_type(
    (
        Attribute("count", "integer"),
        Attribute("ratio", "decimal"),
        Attribute("blob", "binary"),
        Attribute("tags", multi_valued=True),
    ),
    (SchemaExtension(Schema("urn:acme:ext", "Ext", "Ext", (Attribute("size", "integer"),))),),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("count eq 3", True),
        ("count gt 2", True),
        ("count ge 3.0", True),
        ("count lt 3", False),
        ('count eq "3"', True),
        ('count co "3"', False),
        ("ratio le 0.5", True),
        ("ratio gt 0.25", True),
        ('blob eq "AAEC"', True),
        ('blob eq "aaec"', False),  # binary is case-exact
        ('blob gt "A"', False),
        ('tags eq "Red"', True),
        ('tags co "LU"', True),
        ('tags eq "green"', False),
        ("size eq 10", True),
        ("urn:acme:ext:size ge 10", True),
    ],
)
def test_numbers_binary_and_simple_multi_valued(text, expected):
    resource = {
        "count": 3,
        "ratio": 0.5,
        "blob": "AAEC",
        "tags": ["red", "blue"],
        "urn:acme:ext": {"size": 10},
    }
    assert m(text, resource, THING) is expected


def test_numbers_never_match_booleans_or_strings():
    assert not m("count eq 1", {"count": True}, THING)
    assert not m("count eq 3", {"count": "3"}, THING)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'{CUSTOM}:tag eq "blue"', True),  # custom extensions are caseExact false
        (f'{CUSTOM}:TAG sw "Bl"', True),
        (f"{CUSTOM}:level gt 5", True),
        (f"{CUSTOM}:level eq 7", True),
        (f'{CUSTOM}:level eq "7"', True),
        (f'{CUSTOM}:level eq "8"', False),
        (f'{CUSTOM}:level gt "5"', False),
        (f"{CUSTOM}:flag eq true", True),
        (f'{CUSTOM}:flag eq "true"', True),
        (f"{CUSTOM}:missing pr", False),
        (f"{CUSTOM}:tag pr", True),
        (f'{CUSTOM.lower()}:tag eq "BLUE"', True),
        ('urn:ietf:params:scim:schemas:extension:Other:2.0:User:tag eq "Blue"', False),
    ],
)
def test_custom_extension_attributes(text, expected):
    assert m(text) is expected


def test_custom_numeric_vs_string():
    resource = {CUSTOM: {"code": "42"}}
    assert m(f"{CUSTOM}:code eq 42", resource)
    assert not m(f"{CUSTOM}:code gt 41", resource)


# --- multi-valued and complex ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('emails.value eq "BABS@jensen.org"', True),  # any value
        ('emails eq "babs@jensen.org"', True),  # complex compares its value
        ('emails co "example.com"', True),
        ('emails.type eq "home"', True),
        ('emails.type eq "other"', False),
        ('emails[type eq "work" and primary eq true]', True),
        ('emails[type eq "home" and primary eq true]', False),
        ('emails[type eq "work"].value eq "bjensen@example.com"', True),  # Entra
        ('emails[type eq "work"].value eq "babs@jensen.org"', False),
        ('emails[type eq "work"].value pr', True),
        ('emails[type eq "home"].primary pr', False),
        ('emails[not (type eq "work")]', True),
        ('phoneNumbers[type eq "mobile"]', False),
        ('emails.value ne "babs@jensen.org"', False),  # ne = no value equals
        ('emails.value ne "nobody@nowhere"', True),
        ('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', True),
        ('manager eq "26118915-6090-4610-87e4-49d8ca9f808d"', True),  # E32
        ('manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"', True),
        (f'{ENTERPRISE}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"', True),
        ('manager[value eq "26118915-6090-4610-87e4-49d8ca9f808d"]', True),
        ('id eq "2819c223-7f76-453a-919d-413861904646" and manager eq "other"', False),
        ('name eq "Barbara"', False),  # complex without value: never equal
        ('name.givenName eq "barbara"', True),
        ("name pr", True),
        ("employeeNumber eq 701984", True),
    ],
)
def test_multi_valued_and_complex(text, expected):
    assert m(text) is expected


# --- presence, absence, null -------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"title": "x"}, True),
        ({"title": ""}, False),
        ({"title": None}, False),
        ({}, False),
        ({"emails": []}, False),
        ({"emails": [{}]}, False),
        ({"emails": [{"value": ""}]}, False),
        ({"emails": [{"value": "a"}]}, True),
        ({"name": {}}, False),
        ({"name": {"givenName": None}}, False),
        ({"name": {"givenName": "A"}}, True),
        ({"active": False}, True),
        ({"title": ["deep", [[[[[[[[[]]]]]]]]]]}, True),
    ],
)
def test_present(resource, expected):
    attribute = next(iter(resource), "title")
    assert m(f"{attribute} pr", resource) is expected


def test_missing_attribute_semantics():
    assert not m('nickName eq "x"')
    assert m('nickName ne "x"')  # ne is "not eq": a missing attribute is not equal
    assert m("nickName eq null")
    assert not m("nickName ne null")
    assert m("title ne null")
    assert not m("nickName gt 1")
    assert not m('nickName co "x"')
    assert m('not (nickName eq "x")')


def test_unknown_attributes_behave_as_missing():
    assert not m('favouriteColour eq "blue"')
    assert m('favouriteColour ne "blue"')
    assert not m('name.nickname eq "x"')
    assert not m('urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Babs Jensen"')
    assert not m('userName.first eq "x"')
    assert not m('userName[value eq "x"]')


def test_logic():
    assert m('userName sw "b" and (title eq "nope" or active eq true)')
    assert not m('userName sw "b" and not (active eq true)')
    assert m("title pr or nickName pr")
    assert not m('title eq "x" or nickName pr')


# --- groups and lazy members -------------------------------------------------------------


class LazyMembers:
    """A MemberSet that counts how it is used."""

    def __init__(self, ids):
        self.ids = list(ids)
        self.iterations = 0

    def __contains__(self, member_id):
        return member_id in self.ids

    def __iter__(self):
        self.iterations += 1
        return iter(self.ids)

    def __len__(self):
        return len(self.ids)


def test_group_members_as_list():
    group = {
        "id": "g1",
        "displayName": "Admins",
        "members": [{"value": "u1"}, {"value": "u2", "type": "User"}],
    }
    assert m('id eq "g1" and members eq "u2"', group, GROUP)
    assert m('members.value eq "u1"', group, GROUP)
    assert not m('members eq "U1"', group, GROUP)  # member ids are caseExact
    assert m('members[value eq "u2" and type eq "User"]', group, GROUP)
    assert m("members pr", group, GROUP)
    assert not m("members pr", {"members": []}, GROUP)
    assert m('displayName eq "admins"', group, GROUP)


def test_group_members_lazily_supplied():
    lazy = LazyMembers(["u1", "u2"])
    group = {"id": "g1", "displayName": "Admins", "members": lazy}
    assert m('members eq "u2"', group, GROUP)
    assert m('members.value eq "u1"', group, GROUP)
    assert not m('members eq "u3"', group, GROUP)
    assert m('members ne "u3"', group, GROUP)
    assert lazy.iterations == 0  # eq/ne are one `in` test each
    assert m('members sw "u"', group, GROUP)
    assert m('members[value eq "u1"]', group, GROUP)
    assert m("members pr", group, GROUP)
    assert not m("members pr", {"members": LazyMembers([])}, GROUP)
    assert not m('members.display eq "x"', group, GROUP)
    assert m('members.value ew "2"', group, GROUP)


# --- validate_filter ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "active gt true",
        'active eq "yes"',
        "active co true",
        "userName gt true",
        "userName eq 1.5",
        'meta.created eq "not a date"',
        "meta.created co 5",
        'name eq "x"',
        'userName[value eq "x"]',
        "userName co null",
        'emails[type.x eq "y"]',
        'name.givenName[value eq "x"]',
        'userName.first eq "x"',
        'tags gt "x"',
    ],
)
def test_validate_filter_rejects_forbidden_comparisons(text):
    resource_type = THING if text.startswith("tags") else USER
    if text.startswith("tags"):
        text = 'blob gt "x"'
    with pytest.raises(InvalidFilter):
        validate_filter(parse_filter(text), resource_type)


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "x"',
        'favouriteColour eq "x"',  # unknown attributes are allowed (lenient)
        'emails[type eq "work"].value eq "x"',
        "active eq true",
        'active eq "False"',
        'meta.lastModified gt "2011-05-13T04:42:34Z"',
        'manager eq "x"',
        "nickName eq null",
        f"{CUSTOM}:anything gt 5",
        'members eq "u"',
    ],
)
def test_validate_filter_accepts(text):
    validate_filter(parse_filter(text), GROUP if "members" in text else USER)


# --- planner helper ----------------------------------------------------------------------


def test_equality_terms_for_entra_queries():
    assert equality_terms(parse_filter('userName eq "a"'), USER) == [
        (AttrPath(None, "userName"), "a")
    ]
    assert equality_terms(parse_filter('EXTERNALID eq "x"'), USER) == [
        (AttrPath(None, "externalId"), "x")
    ]
    assert equality_terms(parse_filter('id eq "1" and manager eq "2"'), USER) == [
        (AttrPath(None, "id"), "1"),
        (AttrPath(ENTERPRISE, "manager", "value"), "2"),
    ]
    assert equality_terms(parse_filter('displayName eq "G" and members eq "u"'), GROUP) == [
        (AttrPath(None, "displayName"), "G"),
        (AttrPath(None, "members", "value"), "u"),
    ]
    assert equality_terms(parse_filter('members.value eq "u"'), GROUP) == [
        (AttrPath(None, "members", "value"), "u")
    ]
    assert equality_terms(parse_filter('Emails[Type eq "work"].Value eq "x@y"'), USER) == [
        (
            ValueFilter(
                AttrPath(None, "emails"), Compare(AttrPath(None, "type"), "eq", "work"), "value"
            ),
            "x@y",
        )
    ]
    assert equality_terms(
        parse_filter('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"'), USER
    ) == [(AttrPath(None, "userName"), "a")]


def test_equality_terms_only_top_level_and():
    assert equality_terms(parse_filter('userName eq "a" or externalId eq "b"'), USER) == []
    assert equality_terms(parse_filter('not (userName eq "a")'), USER) == []
    assert equality_terms(parse_filter('userName ne "a"'), USER) == []
    assert equality_terms(
        parse_filter('(userName eq "a" and title pr) and (externalId eq "b" or id eq "c")'), USER
    ) == [(AttrPath(None, "userName"), "a")]
    unknown = equality_terms(parse_filter('zzz eq "a"'), USER)
    assert unknown == [(AttrPath(None, "zzz"), "a")]


# --- caching, helpers, robustness --------------------------------------------------------


def test_compiled_filters_are_cached():
    node = parse_filter('userName eq "x"')
    assert compile_filter(node, USER) is compile_filter(parse_filter('userName eq "x"'), USER)
    assert compile_filter(node, USER) is not compile_filter(node, GROUP)


def test_programmatic_nodes_with_bad_operators_never_match():
    node = Compare(AttrPath(None, "userName"), "xx", "a")
    assert not matches(node, {"userName": "a"}, USER)
    with pytest.raises(InvalidFilter, match="unknown operator"):
        validate_filter(node, USER)


def test_lookup_is_case_insensitive():
    assert lookup({"userName": 1}, "userName") == 1
    assert lookup({"USERNAME": 2}, "userName") == 2
    assert lookup({}, "x") is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
resources = st.dictionaries(
    st.sampled_from(
        ["userName", "emails", "name", "active", "meta", "members", "id", ENTERPRISE, CUSTOM, "x"]
    ),
    json_values,
)
filter_texts = st.sampled_from(
    [
        'userName eq "a"', "emails pr", 'emails[type eq "work"].value eq "x"', "active eq true",
        'meta.lastModified gt "2011-05-13T04:42:34Z"', 'name.givenName sw "a"', "members eq \"u\"",
        'manager eq "m"', f'{CUSTOM}:tag gt 3', 'id ne "x"', "x pr", 'emails[value co "a"]',
        "name eq null", 'members[value eq "u"]', "emails.primary eq true", 'userName lt 5',
    ]
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(resources, filter_texts, st.sampled_from([USER, GROUP]))
def test_any_resource_shape_gives_a_boolean(resource, text, resource_type):
    try:
        result = matches(parse_filter(text), resource, resource_type)
    except ScimError:  # pragma: no cover - evaluation must not raise at all
        pytest.fail("matches raised")
    assert result in (True, False)


E4_RESOURCE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "2441309d85324e7793ae",
    "externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
    "meta": {
        "resourceType": "User",
        "created": "2018-03-27T19:59:26.000Z",
        "lastModified": "2018-03-27T19:59:26.000Z",
    },
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "name": {"familyName": "familyName", "givenName": "givenName"},
    "active": True,
    "emails": [
        {
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
            "type": "work",
            "primary": True,
        }
    ],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"', True),  # E4
        ('userName eq "non-existent user"', False),  # E5
        ('externalId eq "7fce0092-d52e-4f76-b727-3955bd72c939"', True),  # E29 (quoted)
        ("externalId eq 7fce0092-d52e-4f76-b727-3955bd72c939", True),  # E29 (as printed)
        (
            'emails[type eq "work"].value eq '
            '"test_user_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"',
            True,
        ),
        ('id eq "2441309d85324e7793ae" and manager eq "x"', False),  # E32 without a manager
        ('meta.lastModified ge "2018-03-27T19:59:26Z"', True),
    ],
)
def test_entra_queries_against_the_e4_resource(text, expected):
    assert m(text, E4_RESOURCE) is expected


# --- Unicode: one caseless key on both sides (issue 9 item 4) -------------------------------

NFD_USER = {
    "userName": "Zoe\u0308.Mu\u0308ller@example.com",  # created in NFD
    "externalId": "Zoe\u0308",
    "displayName": "ZOE\u0308 MU\u0308LLER",
    "emails": [{"value": "zoe\u0308@example.com", "type": "work"}],
    CUSTOM: {"tag": "Stra\u00dfe"},
}


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "Zoë.Müller@example.com"',  # the NFC spelling finds the NFD user
        'userName eq "ZOË.MÜLLER@EXAMPLE.COM"',
        'userName eq "Zoe\\u0308.Mu\\u0308ller@example.com"',
        'userName sw "zoë."',
        'userName ew "MÜLLER@example.com"',
        'userName co "ë.mü"',
        'userName ne "Zoe.Muller@example.com"',
        'userName gt "zoë.m"',
        'userName lt "ZOË.N"',
        'displayName eq "zoë müller"',
        'emails[type eq "work"].value eq "ZOË@example.com"',
        'emails.value sw "zoë@"',
        f'{CUSTOM}:tag eq "STRASSE"',
    ],
)
def test_case_insensitive_attributes_compare_nfc_casefolded(text):
    node = parse_filter(text)
    validate_filter(node, USER)
    assert matches(node, NFD_USER, USER), text


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "Zoe.Muller@example.com"',  # no diacritics: another name
        'userName sw "zoe."',  # "ë" is not "e"
        'externalId eq "zoë"',  # caseExact: the case differs
        'userName eq "Zoë.Müller@example.co"',
    ],
)
def test_what_must_not_match(text):
    assert not matches(parse_filter(text), NFD_USER, USER), text


def test_case_exact_attributes_still_see_canonical_equivalents_as_sent():
    # caseExact compares code points as sent: externalId in NFD matches only NFD.
    assert matches(parse_filter('externalId eq "Zoe\\u0308"'), NFD_USER, USER)
    assert not matches(parse_filter('externalId eq "Zoë"'), NFD_USER, USER)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=12), st.sampled_from(["NFC", "NFD"]), st.booleans())
def test_any_spelling_matches_its_canonical_equivalents(name, stored_form, upper):
    import unicodedata

    stored = {"userName": unicodedata.normalize(stored_form, name)}
    for query_form in ("NFC", "NFD", "NFKC"):
        query = unicodedata.normalize(query_form, name)
        if query_form == "NFKC" and query != unicodedata.normalize("NFC", name):
            continue  # compatibility equivalents are different names
        if upper and query.upper().lower() == query.lower():
            query = query.upper()
        node = Compare(AttrPath(None, "userName"), "eq", query)
        assert matches(node, stored, USER), (stored, query)
        assert not matches(Compare(AttrPath(None, "userName"), "ne", query), stored, USER)
