"""Query parameters, SearchRequest bodies and ListResponse (RFC 7644 §3.4.2, §3.4.3)."""

import pytest

from zero_scim.scim import (
    LIST_RESPONSE_URN,
    SEARCH_REQUEST_URN,
    InvalidFilter,
    InvalidSyntax,
    InvalidValue,
    ListQuery,
    list_response,
    parse_list_query,
    parse_search_request,
)
from zero_scim.scim.filter import And, Compare, parse_filter
from zero_scim.scim.listing import DEFAULT_MAX_RESULTS
from zero_scim.scim.paths import AttrPath


def test_defaults():
    query = parse_list_query({})
    assert query == ListQuery()
    assert (query.filter, query.start_index, query.count) == (None, 1, DEFAULT_MAX_RESULTS)
    assert query.sort_order == "ascending" and not query.descending


def test_entra_queries():
    query = parse_list_query({"filter": 'userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59"'})
    assert query.filter == Compare(
        AttrPath(None, "userName"), "eq", "5b50642d-79fc-4410-9e90-4c077cdd1a59"
    )
    query = parse_list_query(
        {"excludedAttributes": "members", "filter": 'displayName eq "displayName"'}
    )
    assert query.excluded_attributes == ("members",)
    query = parse_list_query({"filter": 'id eq "1" and manager eq "2"', "attributes": "id"})
    assert isinstance(query.filter, And) and query.attributes == ("id",)


def test_parameter_names_are_case_insensitive_and_unknown_ones_ignored():
    query = parse_list_query(
        {
            "STARTINDEX": "3",
            "Count": "5",
            "aadOptscim062020": "",
            "SortBy": "userName",
            "sortorder": "Descending",
        }
    )
    assert (query.start_index, query.count, query.sort_by, query.sort_order) == (
        3,
        5,
        "userName",
        "descending",
    )
    assert query.descending


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", 1), ("0", 1), ("-5", 1), (" 7 ", 7), ("+2", 2), (10**30, 10**30)]
)
def test_start_index(raw, expected):
    assert parse_list_query({"startIndex": raw}).start_index == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("10", 10), ("0", 0), ("-1", 0), ("5000", 200), (str(10**35), 200), (3, 3)],
)
def test_count_is_clamped(raw, expected):
    assert parse_list_query({"count": raw}, max_results=200).count == expected


def test_default_count():
    assert parse_list_query({}, max_results=200, default_count=50).count == 50
    assert parse_list_query({}, max_results=20, default_count=50).count == 20


@pytest.mark.parametrize(
    "raw", ["abc", "1.5", "1e3", "", " ", "0x10", "1" * 50, True, 1.0, None.__class__]
)
def test_invalid_integers(raw):
    with pytest.raises(InvalidValue):
        parse_list_query({"count": raw})
    with pytest.raises(InvalidValue):
        parse_list_query({"startIndex": raw})


def test_attribute_lists():
    query = parse_list_query(
        {"attributes": " userName , name.givenName,,emails.value ", "excludedAttributes": "members"}
    )
    assert query.attributes == ("userName", "name.givenName", "emails.value")
    assert query.excluded_attributes == ("members",)
    urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
    assert parse_list_query({"attributes": urn}).attributes == (urn,)
    with pytest.raises(InvalidValue, match="attributes"):
        parse_list_query({"attributes": "userName, not valid"})
    assert parse_list_query({"attributes": ""}).attributes == ()


def test_sorting_parameters():
    assert parse_list_query({"sortBy": "name.familyName"}).sort_by == "name.familyName"
    assert parse_list_query({"sortOrder": "ASCENDING"}).sort_order == "ascending"
    with pytest.raises(InvalidValue, match="sortOrder"):
        parse_list_query({"sortOrder": "up"})
    with pytest.raises(InvalidValue, match="sortBy"):
        parse_list_query({"sortBy": "name givenName"})


def test_filter_parameter():
    assert parse_list_query({"filter": ""}).filter is None
    assert parse_list_query({"filter": "   "}).filter is None
    with pytest.raises(InvalidFilter):
        parse_list_query({"filter": "userName eq"})
    with pytest.raises(InvalidFilter):
        parse_list_query({"filter": "a pr or " * 1000})
    assert parse_list_query({"filter": "a pr or b pr"}, max_filter_length=12).filter is not None
    with pytest.raises(InvalidFilter):
        parse_list_query({"filter": "a pr or b pr"}, max_filter_length=11)


def test_repeated_parameters():
    assert parse_list_query({"count": ["4"]}).count == 4
    with pytest.raises(InvalidValue, match="more than once"):
        parse_list_query({"count": ["4", "5"]})


def test_search_request():
    query = parse_search_request(
        {
            "schemas": [SEARCH_REQUEST_URN],
            "attributes": ["displayName", "userName"],
            "excludedAttributes": "emails",
            "filter": 'displayName sw "smith"',
            "startIndex": 1,
            "count": 10,
            "sortBy": "userName",
            "sortOrder": "descending",
        }
    )
    assert query == ListQuery(
        parse_filter('displayName sw "smith"'),
        1,
        10,
        ("displayName", "userName"),
        ("emails",),
        "userName",
        "descending",
    )
    assert parse_search_request({}) == ListQuery()
    assert parse_search_request({"Count": "3", "schemas": [SEARCH_REQUEST_URN.lower()]}).count == 3


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (None, InvalidSyntax),
        ([], InvalidSyntax),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}, InvalidSyntax),
        ({"schemas": SEARCH_REQUEST_URN}, InvalidSyntax),
        ({"count": True}, InvalidValue),
        ({"count": 1.5}, InvalidValue),
        ({"attributes": [1]}, InvalidValue),
        ({"attributes": {"a": 1}}, InvalidValue),
        ({"filter": 5}, InvalidFilter),
        ({"filter": ["x"]}, InvalidFilter),
        ({"sortBy": 5}, InvalidValue),
        ({"sortOrder": 1}, InvalidValue),
    ],
)
def test_invalid_search_requests(payload, error):
    with pytest.raises(error):
        parse_search_request(payload)


def test_list_response_e5_zero_results():
    assert list_response([], total_results=0) == {
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


def test_list_response_page():
    resources = [{"id": str(i)} for i in range(3)]
    body = list_response(resources, total_results=10, start_index=4)
    assert body["totalResults"] == 10 and body["itemsPerPage"] == 3 and body["startIndex"] == 4
    assert body["Resources"] == resources and body["Resources"] is not resources


def test_page_window():
    items = list(range(10))
    assert ListQuery(start_index=1, count=3).page(items) == [0, 1, 2]
    assert ListQuery(start_index=9, count=5).page(items) == [8, 9]
    assert ListQuery(start_index=20, count=5).page(items) == []
    assert ListQuery(start_index=2, count=0).page(items) == []
