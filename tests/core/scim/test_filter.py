"""Filter and PATCH-path parsing (RFC 7644 §3.4.2.2, §3.5.2), printing, limits, hostile input."""

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zero_scim.scim import InvalidFilter, InvalidPath, ScimError
from zero_scim.scim.filter import (
    COMPARE_OPS,
    MAX_DEPTH,
    MAX_TERMS,
    And,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValueFilter,
    _Parser,
    parse_filter,
    parse_path,
    to_string,
)
from zero_scim.scim.paths import AttrPath

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def p(attr, sub=None, urn=None):
    return AttrPath(urn, attr, sub)


# --- RFC 7644 §3.4.2.2 examples ----------------------------------------------------------

RFC_EXAMPLES = [
    'userName eq "bjensen"',
    'name.familyName co "O\'Malley"',
    'userName sw "J"',
    f'{CORE}:userName sw "J"',
    "title pr",
    'meta.lastModified gt "2011-05-13T04:42:34Z"',
    'meta.lastModified ge "2011-05-13T04:42:34Z"',
    'meta.lastModified lt "2011-05-13T04:42:34Z"',
    'meta.lastModified le "2011-05-13T04:42:34Z"',
    'title pr and userType eq "Employee"',
    'title pr or userType eq "Intern"',
    f'schemas eq "{ENTERPRISE}"',
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
    'userType eq "Employee" and (emails.type eq "work")',
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    'emails[type eq "work" and value co "@example.com"] or '
    'ims[type eq "xmpp" and value co "@foo.com"]',
]


@pytest.mark.parametrize("text", RFC_EXAMPLES)
def test_rfc_examples_parse_and_round_trip(text):
    parsed = parse_filter(text)
    assert parse_filter(to_string(parsed)) == parsed


def test_rfc_example_asts():
    assert parse_filter('userName eq "bjensen"') == Compare(p("userName"), "eq", "bjensen")
    assert parse_filter(f'{CORE}:userName sw "J"') == Compare(p("userName", urn=CORE), "sw", "J")
    assert parse_filter("title pr") == Present(p("title"))
    assert parse_filter(
        'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")'
    ) == And(
        (
            Compare(p("userType"), "ne", "Employee"),
            Not(
                Or(
                    (
                        Compare(p("emails"), "co", "example.com"),
                        Compare(p("emails", "value"), "co", "example.org"),
                    )
                )
            ),
        )
    )
    assert parse_filter(
        'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]'
    ) == And(
        (
            Compare(p("userType"), "eq", "Employee"),
            ValueFilter(
                p("emails"),
                And((Compare(p("type"), "eq", "work"), Compare(p("value"), "co", "@example.com"))),
            ),
        )
    )


# --- Entra's filters ---------------------------------------------------------------------


def test_entra_test_connection_and_matching_filters():
    guid = "5b50642d-79fc-4410-9e90-4c077cdd1a59"
    assert parse_filter(f'userName eq "{guid}"') == Compare(p("userName"), "eq", guid)
    assert parse_filter('externalId eq "0a21f0f2"') == Compare(p("externalId"), "eq", "0a21f0f2")
    assert parse_filter('displayName eq "displayName"') == Compare(
        p("displayName"), "eq", "displayName"
    )


def test_entra_email_value_path_filter():
    parsed = parse_filter('emails[type eq "work"].value eq "a@b.c"')
    assert parsed == Compare(
        ValueFilter(p("emails"), Compare(p("type"), "eq", "work"), "value"), "eq", "a@b.c"
    )
    assert to_string(parsed) == 'emails[type eq "work"].value eq "a@b.c"'
    assert parse_filter('emails[type eq "work"].value pr') == Present(
        ValueFilter(p("emails"), Compare(p("type"), "eq", "work"), "value")
    )


def test_entra_unquoted_values_from_the_docs():
    # E29 and the older wire form of E32 print values without quotes.
    assert parse_filter("externalId eq jyoung") == Compare(p("externalId"), "eq", "jyoung")
    parsed = parse_filter(
        "id eq 54D382A4-2050-4C03-94D1-E769F1D15682 and "
        "manager eq 2819c223-7f76-453a-919d-413861904646"
    )
    assert parsed == And(
        (
            Compare(p("id"), "eq", "54D382A4-2050-4C03-94D1-E769F1D15682"),
            Compare(p("manager"), "eq", "2819c223-7f76-453a-919d-413861904646"),
        )
    )


def test_group_member_filters():
    assert parse_filter('id eq "g1" and members eq "u1"') == And(
        (Compare(p("id"), "eq", "g1"), Compare(p("members"), "eq", "u1"))
    )
    assert parse_filter('members[value eq "u1"]') == ValueFilter(
        p("members"), Compare(p("value"), "eq", "u1")
    )


def test_urn_qualified_extension_paths():
    assert parse_filter(f'{ENTERPRISE}:manager.value eq "m"') == Compare(
        p("manager", "value", ENTERPRISE), "eq", "m"
    )
    custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    assert parse_filter(f'{custom}:tag eq "701984"') == Compare(
        p("tag", urn=custom), "eq", "701984"
    )
    assert parse_filter("members.$ref pr") == Present(p("members", "$ref"))


# --- grammar details ---------------------------------------------------------------------


def test_precedence_not_over_and_over_or():
    a, b, c = (Present(p(x)) for x in "abc")
    assert parse_filter("a pr or b pr and c pr") == Or((a, And((b, c))))
    assert parse_filter("a pr and b pr or c pr") == Or((And((a, b)), c))
    assert parse_filter("not (a pr) and b pr") == And((Not(a), b))
    assert parse_filter("(a pr or b pr) and c pr") == And((Or((a, b)), c))
    assert parse_filter("a pr or b pr or c pr") == Or((a, b, c))
    assert parse_filter("((a pr))") == a
    assert parse_filter("not(a pr)") == Not(a)


def test_operators_and_keywords_are_case_insensitive():
    assert parse_filter('userName EQ "x" AND title Pr') == And(
        (Compare(p("userName"), "eq", "x"), Present(p("title")))
    )
    assert parse_filter("NOT (active Eq TRUE) OR x ne NULL") == Or(
        (Not(Compare(p("active"), "eq", True)), Compare(p("x"), "ne", None))
    )
    assert parse_filter("active eq False") == Compare(p("active"), "eq", False)
    for op in COMPARE_OPS:
        assert parse_filter(f'a {op.upper()} "v"') == Compare(p("a"), op, "v")


def test_attribute_name_case_is_preserved():
    assert parse_filter('USERNAME eq "x"') == Compare(p("USERNAME"), "eq", "x")


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ('"a\\"b"', 'a"b'),
        ('"back\\\\slash"', "back\\slash"),
        ('"\\u00e9t\\u00e9"', "été"),
        ('"\\ud83d\\ude00"', "😀"),
        ('"tab\\tnew\\nline\\/"', "tab\tnew\nline/"),
        ('"raw\x00nul"', "raw\x00nul"),
        ('"ünïcödé 日本"', "ünïcödé 日本"),
        ('""', ""),
        ('"a and b or not (c)"', "a and b or not (c)"),
        ('"[x]"', "[x]"),
    ],
)
def test_string_literals(literal, value):
    assert parse_filter(f"a eq {literal}") == Compare(p("a"), "eq", value)


@pytest.mark.parametrize(
    ("literal", "value"),
    [("42", 42), ("-7", -7), ("0", 0), ("1.5", 1.5), ("-2.5e3", -2500.0), ("1E2", 100.0)],
)
def test_number_literals(literal, value):
    parsed = parse_filter(f"a gt {literal}")
    assert parsed == Compare(p("a"), "gt", value)
    assert type(parsed.value) is type(value)


def test_whitespace_is_flexible():
    assert parse_filter('  userName\teq\n"x"  ') == Compare(p("userName"), "eq", "x")
    assert parse_filter('emails [type eq "work"]') == ValueFilter(
        p("emails"), Compare(p("type"), "eq", "work")
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "userName",
        "userName eq",
        'userName foo "x"',
        '(userName eq "x"',
        'userName eq "x")',
        'userName eq "x" userName eq "y"',
        'emails[type eq "work"',
        'emails[type eq "work"]]',
        'emails[type eq "work"].',
        'emails[type eq "work"].9',
        'emails[type eq "work"].value',
        'emails[type eq "work"] eq "x"',
        'emails[members[value eq "x"] pr]',
        "and",
        "a pr and",
        "a pr or or b pr",
        "not a pr",
        "not (a pr",
        "()",
        '"x" eq userName',
        "userName eq (x)",
        'userName eq "unterminated',
        'userName eq "bad \\x escape"',
        'userName eq "lone \\ud800 surrogate"',
        "a eq 1e999",
        "a eq -1e400",
        "9a pr",
        "a.b.c pr",
        "user\x00Name pr",
        "[a pr]",
        "a pr ]",
    ],
)
def test_invalid_filters(text):
    with pytest.raises(InvalidFilter) as info:
        parse_filter(text)
    assert info.value.status == 400
    assert info.value.scim_type == "invalidFilter"
    assert info.value.detail


def test_errors_point_at_the_problem():
    with pytest.raises(InvalidFilter, match="position 9"):
        parse_filter('userName foo "x"')
    with pytest.raises(InvalidFilter, match="unterminated string starting at position 12"):
        parse_filter('userName eq "abc')


def test_non_string_input():
    for value in (None, 5, b"userName pr", ["userName pr"]):
        with pytest.raises(InvalidFilter):
            parse_filter(value)


# --- limits ------------------------------------------------------------------------------


def test_length_limit():
    text = 'userName eq "' + "x" * 5000 + '"'
    with pytest.raises(InvalidFilter, match="longer than 4096"):
        parse_filter(text)
    assert parse_filter(text, max_length=10_000) == Compare(p("userName"), "eq", "x" * 5000)
    with pytest.raises(InvalidFilter, match="longer than 10"):
        parse_filter("userName pr", max_length=10)


def test_depth_limit_with_parentheses_and_not():
    ok = "(" * MAX_DEPTH + "a pr" + ")" * MAX_DEPTH
    assert parse_filter(ok) == Present(p("a"))
    too_deep = "(" * (MAX_DEPTH + 1) + "a pr" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(InvalidFilter, match="deeper than 32"):
        parse_filter(too_deep)
    nots = "not (" * (MAX_DEPTH + 1) + "a pr" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(InvalidFilter, match="deeper than 32"):
        parse_filter(nots)


def test_huge_nesting_never_recurses_out():
    text = "(" * 200_000 + "a pr" + ")" * 200_000
    with pytest.raises(InvalidFilter):
        parse_filter(text, max_length=10**6)
    with pytest.raises(InvalidFilter):
        parse_filter("not (" * 100_000, max_length=10**6)
    with pytest.raises(InvalidFilter):
        parse_filter("a[" * 100_000, max_length=10**6)


def test_term_limit():
    ok = " or ".join(["a pr"] * MAX_TERMS)
    assert len(parse_filter(ok).terms) == MAX_TERMS
    with pytest.raises(InvalidFilter, match="more than 256 terms"):
        parse_filter(ok + " or a pr")
    inner = 'emails[type eq "x" or ' + " or ".join(['type eq "y"'] * MAX_TERMS) + "]"
    with pytest.raises(InvalidFilter, match="terms"):
        parse_filter(inner)


def test_limits_are_parameters():
    with pytest.raises(InvalidFilter, match="deeper than 1 levels"):
        parse_filter("((a pr))", max_depth=1)
    with pytest.raises(InvalidFilter, match="more than 2 terms"):
        parse_filter("a pr or b pr or c pr", max_terms=2)
    assert parse_filter("a pr or b pr", max_terms=2) == Or((Present(p("a")), Present(p("b"))))


def test_huge_flat_input_is_rejected_quickly():
    with pytest.raises(InvalidFilter):
        parse_filter("a pr or " * 100_000, max_length=10**7)


# --- PATCH paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nickName", p("nickName")),
        ("name.familyName", p("name", "familyName")),
        (f"{ENTERPRISE}:employeeNumber", p("employeeNumber", urn=ENTERPRISE)),
        (f"{ENTERPRISE}:manager", p("manager", urn=ENTERPRISE)),
        (ENTERPRISE, p("User", urn="urn:ietf:params:scim:schemas:extension:enterprise:2.0")),
        (
            'emails[type eq "work"].value',
            ValueFilter(p("emails"), Compare(p("type"), "eq", "work"), "value"),
        ),
        (
            'members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]',
            ValueFilter(
                p("members"), Compare(p("value"), "eq", "7f4bc1a3-285e-48ae-8202-5accb43efb0e")
            ),
        ),
        (
            'manager[value eq "manager-id"]',
            ValueFilter(p("manager"), Compare(p("value"), "eq", "manager-id")),
        ),
        (
            'addresses[type eq "work" and primary eq true].streetAddress',
            ValueFilter(
                p("addresses"),
                And((Compare(p("type"), "eq", "work"), Compare(p("primary"), "eq", True))),
                "streetAddress",
            ),
        ),
        ("  active  ", p("active")),
    ],
)
def test_parse_path(text, expected):
    parsed = parse_path(text)
    assert parsed == expected
    assert parse_path(to_string(parsed)) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a b",
        "emails[",
        'emails[type eq "work"',
        'members[value eq "x"] extra',
        'members[value eq "x"].',
        'emails[type eq "work"].value.more',
        "a.b.c",
        'emails[a[b eq "c"]]',
        'userName eq "x"',
        "(userName)",
        "not (a pr)",
    ],
)
def test_invalid_paths(text):
    with pytest.raises(InvalidPath) as info:
        parse_path(text)
    assert info.value.scim_type == "invalidPath"


def test_path_limits():
    with pytest.raises(InvalidPath, match="longer than"):
        parse_path("a" * 5000)
    with pytest.raises(InvalidPath):
        parse_path(None)


# --- property tests ----------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True) | st.just("$ref")
urns = (
    st.none()
    | st.sampled_from([CORE, ENTERPRISE])
    | st.from_regex(r"urn:[a-z0-9]{1,5}(:[A-Za-z0-9.]{1,5}){0,3}", fullmatch=True)
)
attr_paths = st.builds(AttrPath, urns, names, st.none() | names)
relative_paths = st.builds(AttrPath, st.none(), names, st.none())
text_values = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
values = (
    text_values
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
ops = st.sampled_from(sorted(COMPARE_OPS))


def _tree(leaf):
    return st.recursive(
        leaf,
        lambda children: st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda t: And(tuple(t))),
            st.lists(children, min_size=2, max_size=3).map(lambda t: Or(tuple(t))),
            children.map(Not),
        ),
        max_leaves=8,
    )


inner_filters = _tree(
    st.builds(Compare, relative_paths, ops, values) | st.builds(Present, relative_paths)
)
value_filters = st.builds(ValueFilter, st.builds(AttrPath, urns, names, st.none()), inner_filters)
entra_paths = st.builds(
    ValueFilter, st.builds(AttrPath, urns, names, st.none()), inner_filters, names
)
filters = _tree(
    st.builds(Compare, attr_paths | entra_paths, ops, values)
    | st.builds(Present, attr_paths | entra_paths)
    | value_filters
)


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(filters)
def test_generated_filters_round_trip(node):
    text = to_string(node)
    assert parse_filter(text, max_length=100_000) == node


@settings(deadline=None)
@given(attr_paths | value_filters | entra_paths)
def test_generated_paths_round_trip(path):
    assert parse_path(to_string(path), max_length=100_000) == path


filterish = st.text(
    alphabet=list('()[]" .\\:-$0123456789eqnecoswgtlpradnot EQANDORNOTPRtruefalsnul\t\n\x00ü'),
    max_size=120,
)
anything = st.text(max_size=200) | filterish | st.text(max_size=50).map(lambda s: s + "\ud800")


@settings(max_examples=200, deadline=None)
@given(anything)
@example('emails[type eq "work"].value eq "x"')
@example('"\\')
@example("a eq 1e309")
def test_any_text_gives_a_filter_or_a_scim_error(text):
    try:
        parsed = parse_filter(text)
    except ScimError as error:
        assert isinstance(error, InvalidFilter)
        assert error.detail
        error.detail.encode("utf-8")
        return
    assert parse_filter(to_string(parsed)) == parsed


@settings(max_examples=150, deadline=None)
@given(anything)
def test_any_text_gives_a_path_or_a_scim_error(text):
    try:
        parsed = parse_path(text)
    except ScimError as error:
        assert isinstance(error, InvalidPath)
        error.detail.encode("utf-8")
        return
    assert parse_path(to_string(parsed)) == parsed


simple_values = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
simple_names = st.from_regex(
    r"[A-Za-z][A-Za-z0-9_$-]{0,12}(\.[A-Za-z][A-Za-z0-9_-]{0,8})?", fullmatch=True
)


@settings(deadline=None)
@given(simple_names, st.sampled_from(["eq", "EQ", "Eq"]), simple_values, st.sampled_from(["", " "]))
def test_the_fast_path_for_simple_equality_builds_what_the_parser_builds(
    name: str, op: str, value: str, pad: str
) -> None:
    text = f'{pad}{name} {op} "{value}"{pad}'
    slow: Filter | None
    try:
        slow = _Parser(text, InvalidFilter, MAX_DEPTH, MAX_TERMS).parse_filter()
    except InvalidFilter:
        slow = None
    try:
        fast: Filter | None = parse_filter(text)
    except InvalidFilter:
        fast = None
    assert fast == slow
