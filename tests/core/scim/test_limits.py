"""The storage bounds, enforced by the SCIM layer with invalidValue (zero_scim.scim.limits).

That the table matches the CRDs is proven in tests/crds/test_limits.py; here: that every
entry is enforced, at exactly its limit, with a detail naming the attribute and the limit.
"""

from typing import Any

import pytest

from zero_scim.scim import (
    ENTERPRISE_USER_URN,
    GROUP,
    USER,
    InvalidValue,
    normalize_group,
    normalize_members,
    normalize_user,
    resolve,
)
from zero_scim.scim.limits import GROUP_LIMITS, LIMITS, USER_LIMITS, Limit, check_limits
from zero_scim.scim.schema import ResolvedAttr


def body_with(resource_type, path: str, value: Any) -> dict[str, Any]:
    """A minimal valid body of ``resource_type`` whose attribute ``path`` holds ``value``."""
    resolved = resolve(resource_type, path)
    assert isinstance(resolved, ResolvedAttr)
    attribute, sub = resolved.attribute, resolved.sub_attribute
    if sub is not None:
        element = {sub.name: value}
        if sub.name != "value":  # an element needs data to be kept
            data = "value" if attribute.sub("value") is not None else "locality"
            element.setdefault(data, "v")
        value = [element] if attribute.multi_valued else element
    body: dict[str, Any] = {"userName": "u"} if resource_type is USER else {"displayName": "g"}
    if resolved.extension is not None:
        body[resolved.extension] = {attribute.name: value}
    else:
        body[attribute.name] = value
    return body


def normalize(resource_type, body):
    if resource_type is USER:
        return normalize_user(body)
    return normalize_group(body)[0]


TEXT_LIMITS = [
    (rt, path, limit)
    for rt, table in ((USER, USER_LIMITS), (GROUP, GROUP_LIMITS))
    for path, limit in table.items()
    if limit.max_length is not None and not path.startswith("members.")
]
ITEM_LIMITS = [
    (USER, path, limit) for path, limit in USER_LIMITS.items() if limit.max_items is not None
]


@pytest.mark.parametrize(("resource_type", "path", "limit"), TEXT_LIMITS)
def test_every_length_limit_is_enforced_at_its_bound(resource_type, path, limit):
    at_limit = normalize(resource_type, body_with(resource_type, path, "x" * limit.max_length))
    check_limits(at_limit, resource_type)  # accepted as stored
    with pytest.raises(InvalidValue) as info:
        normalize(resource_type, body_with(resource_type, path, "x" * (limit.max_length + 1)))
    detail = info.value.detail
    attribute = path.removeprefix(f"{ENTERPRISE_USER_URN}:").split(".")[0]
    assert attribute in detail and str(limit.max_length) in detail, detail
    assert info.value.scim_type == "invalidValue" and info.value.status == 400


@pytest.mark.parametrize(("resource_type", "path", "limit"), ITEM_LIMITS)
def test_every_count_limit_is_enforced_at_its_bound(resource_type, path, limit):
    resolved = resolve(resource_type, path)
    assert isinstance(resolved, ResolvedAttr)
    values = [{"value": f"v{i}"} for i in range(limit.max_items)]
    if resolved.attribute.sub("value") is None:  # addresses
        values = [{"locality": f"l{i}"} for i in range(limit.max_items)]
    assert len(normalize_user({"userName": "u", path: values})[path]) == limit.max_items
    with pytest.raises(InvalidValue) as info:
        normalize_user({"userName": "u", path: [*values, values[0] | {"type": "other"}]})
    assert path in info.value.detail and str(limit.max_items) in info.value.detail


def test_lengths_count_code_points():
    assert normalize_user({"userName": "é" * 1024})["userName"] == "é" * 1024
    assert normalize_user({"userName": "😀" * 1024})["userName"] == "😀" * 1024
    with pytest.raises(InvalidValue, match="userName must be at most 1024 characters"):
        normalize_user({"userName": "😀" * 1025})


def test_element_details_name_the_element():
    with pytest.raises(InvalidValue) as info:
        normalize_user({"userName": "u", "emails": [{"value": "a"}, {"value": "b" * 4097}]})
    assert info.value.detail == "emails[1].value must be at most 4096 characters long, not 4097"


def test_members_are_bounded_like_the_member_log():
    ok = normalize_members([{"value": "u" * 256, "display": "d" * 1024}])
    assert ok == [{"value": "u" * 256, "display": "d" * 1024}]
    with pytest.raises(InvalidValue, match=r"members\[0\]\.value.*256"):
        normalize_members([{"value": "u" * 257}])
    with pytest.raises(InvalidValue, match=r"members\[1\]\.display.*1024"):
        normalize_members([{"value": "a"}, {"value": "b", "display": "d" * 1025}])
    with pytest.raises(InvalidValue, match="members"):
        normalize_group({"displayName": "g", "members": [{"value": "u" * 257}]})


def test_the_table_names_only_attributes_the_schema_has():
    for resource_type, table in LIMITS.items():
        for path, limit in table.items():
            assert isinstance(resolve(resource_type, path), ResolvedAttr), path
            assert isinstance(limit, Limit)
            assert (limit.max_length, limit.max_items) != (None, None), path
