"""The SCIM layer checks every bound the storage schema enforces on client data — first.

Issue 9 item 2: a value over a CRD bound must never reach the Kubernetes API server (whose
message names internal field paths); the SCIM layer answers 400 invalidValue naming the
SCIM attribute and the limit. ``zero_scim.scim.limits`` holds the SCIM side's table. These
tests read the CRD YAML and map SCIM attributes to custom-resource fields through the
API's real codec (``doc_to_spec``) and the member log's (``zero_scim.memberlog.encode``),
so that neither side can drift:

* every bound (maxLength, minLength, maxItems, pattern, enum, …) on a field that holds
  client data has a SCIM limit at least as strict; the fields only the server writes are
  listed with the reason;
* every SCIM limit sits on a CRD bound with the same number (no stale entries, nothing
  refused that storage would take);
* every attribute the SCIM layer stores has a field of a compatible type in the CRD
  (a missing one would be pruned silently by the API server);
* against the real API server: a user at every limit is accepted, and one character or
  value more is refused by the SCIM layer and by the API server alike.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from kubernetes.client import ApiException

from tests.support.kube import KubeEnv
from zero_scim.kube.coordinates import GROUP, GROUP_KIND, MEMBER_BATCH, USER, VERSION, Kind
from zero_scim.memberlog import MAX_IDS_PER_ENTRY, Delta, GroupRef, encode
from zero_scim.scim import GROUP as SCIM_GROUP
from zero_scim.scim import USER as SCIM_USER
from zero_scim.scim import InvalidValue, ResourceType, normalize_group, normalize_user, resolve
from zero_scim.scim.limits import GROUP_LIMITS, LIMITS, USER_LIMITS, Limit
from zero_scim.scim.schema import ResolvedAttr
from zero_scim_api.storage.codec import doc_to_spec
from zero_scim_dev.crds import load_crds

CrdPath = tuple[str, ...]  # field names; "[]" for array items, "{}" for map values

BOUND_KEYWORDS = (
    "maxLength", "minLength", "maxItems", "minItems", "pattern", "enum", "format",
    "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf",
    "maxProperties", "minProperties", "uniqueItems",
)  # fmt: skip

#: Fields only the server writes, never client data; and why their bounds need no check.
SERVER_OWNED: dict[str, dict[CrdPath, str]] = {
    USER.kind: {
        ("id",): "the SCIM id: a UUID the API generates",
        ("meta", "created"): "written by the API (now_iso)",
        ("meta", "lastModified"): "written by the API (now_iso)",
        ("meta", "version"): "written by the API (a 20-digit content hash)",
    },
    GROUP_KIND.kind: {
        ("id",): "the SCIM id: a UUID the API generates",
        ("meta", "created"): "written by the API (now_iso)",
        ("meta", "lastModified"): "written by the API (now_iso)",
        ("meta", "version"): "written by the API (a 20-digit content hash)",
    },
    MEMBER_BATCH.kind: {
        ("groupId",): "the group's SCIM id",
        ("seq",): "the member log's sequence number",
        ("type",): "Delta or Snapshot, chosen by the API",
        ("part",): "snapshot bookkeeping",
        ("parts",): "snapshot bookkeeping",
        ("add",): f"maxItems: the API splits entries at {MAX_IDS_PER_ENTRY} ids",
        ("remove",): f"maxItems: the API splits entries at {MAX_IDS_PER_ENTRY} ids",
    },
}


@functools.cache
def crd_spec_schema(kind: Kind[Any]) -> dict[str, Any]:
    crds: list[Any] = list(load_crds())
    for crd in crds:
        if crd["spec"]["names"]["kind"] == kind.kind:
            schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
            return schema["properties"]["spec"]
    raise AssertionError(f"no CRD for {kind.kind}")


def walk(
    schema: Mapping[str, Any], path: CrdPath = ()
) -> Iterator[tuple[CrdPath, Mapping[str, Any]]]:
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from walk(child, (*path, name))
    if isinstance(schema.get("items"), Mapping):
        yield from walk(schema["items"], (*path, "[]"))
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from walk(schema["additionalProperties"], (*path, "{}"))


@functools.cache
def storage_bounds(kind: Kind[Any]) -> dict[tuple[CrdPath, str], Any]:
    return {
        (path, keyword): node[keyword]
        for path, node in walk(crd_spec_schema(kind))
        for keyword in BOUND_KEYWORDS
        if keyword in node
    }


@functools.cache
def storage_nodes(kind: Kind[Any]) -> dict[CrdPath, Mapping[str, Any]]:
    return dict(walk(crd_spec_schema(kind)))


def storage_node(kind: Kind[Any], path: CrdPath) -> Mapping[str, Any] | None:
    return storage_nodes(kind).get(path)


# --- SCIM attribute → custom-resource field, through the API's codec ------------------------

SENTINEL = "\x00sentinel"


def locate(value: Any, path: CrdPath = ()) -> Iterator[CrdPath]:
    if value == SENTINEL:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from locate(item, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield from locate(item, (*path, "[]"))


def scim_doc(resolved: ResolvedAttr) -> dict[str, Any]:
    """A canonical document holding SENTINEL at ``resolved``'s place (a list if multi)."""
    attribute, sub = resolved.attribute, resolved.sub_attribute
    value: Any = SENTINEL if sub is None else {sub.name: SENTINEL}
    if attribute.multi_valued:
        value = [value if sub is not None else {"value": SENTINEL}]
    if resolved.extension is not None:
        return {resolved.extension: {attribute.name: value}}
    return {attribute.name: value}


def member_field(scim_path: str) -> list[tuple[Kind[Any], CrdPath]]:
    """Where a member id or display lands: the member log (ScimMemberBatch)."""
    entry = Delta(seq=1, add=(SENTINEL,), remove=(SENTINEL,), displays={"id": SENTINEL})
    spec = encode(entry, GroupRef(namespace="ns", object_name="g-x", uid="uid", scim_id="x"))[
        "spec"
    ]
    found = set(locate(spec))
    if scim_path == "members.value":
        assert found >= {("add", "[]"), ("remove", "[]")}
        return [(MEMBER_BATCH, ("add", "[]")), (MEMBER_BATCH, ("remove", "[]"))]
    assert scim_path == "members.display" and ("displays", "id") in found
    return [(MEMBER_BATCH, ("displays", "{}"))]


def storage_fields(resource_type: ResourceType, scim_path: str, limit: Limit | None = None):
    """The CRD fields a SCIM attribute path is stored in (for max_items: the array)."""
    if scim_path.startswith("members."):
        return member_field(scim_path)
    resolved = resolve(resource_type, scim_path)
    assert isinstance(resolved, ResolvedAttr), scim_path
    kind = USER if resource_type is SCIM_USER else GROUP_KIND
    paths = list(locate(doc_to_spec(scim_doc(resolved))))
    assert len(paths) == 1, (scim_path, paths)
    path = paths[0]
    if limit is not None and limit.max_items is not None:
        path = path[: path.index("[]")]
    elif resolved.sub_attribute is None and resolved.attribute.multi_valued:
        path = path[: path.index("[]")]  # the attribute itself is the array
    return [(kind, path)]


def limit_fields() -> dict[tuple[str, CrdPath], tuple[ResourceType, str, Limit]]:
    out = {}
    for resource_type, table in LIMITS.items():
        for scim_path, limit in table.items():
            for kind, path in storage_fields(resource_type, scim_path, limit):
                out[(kind.kind, path)] = (resource_type, scim_path, limit)
    return out


def read_only_fields(kind: Kind[Any]) -> set[CrdPath]:
    """Fields holding readOnly SCIM sub-attributes (``manager.displayName``): the SCIM
    layer drops them from every request, so their bounds never meet client data."""
    resource_type = SCIM_USER if kind is USER else SCIM_GROUP
    paths: set[CrdPath] = set()
    schemas = [(None, resource_type.schema), *((e.schema.id, e.schema) for e in
               resource_type.schema_extensions)]  # fmt: skip
    for urn, schema in schemas:
        for attribute in schema.attributes:
            for sub in attribute.sub_attributes:
                if sub.mutability == "readOnly" and attribute.mutability != "readOnly":
                    name = f"{attribute.name}.{sub.name}"
                    scim_path = f"{urn}:{name}" if urn else name
                    paths.update(path for _, path in storage_fields(resource_type, scim_path))
    return paths


# --- the static proof -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [USER, GROUP_KIND, MEMBER_BATCH], ids=lambda k: k.kind)
def test_every_storage_bound_has_a_scim_limit_at_least_as_strict(kind: Kind[Any]) -> None:
    limits = limit_fields()
    dropped = read_only_fields(kind) if kind is not MEMBER_BATCH else set()
    assert dropped == ({("enterprise", "manager", "displayName")} if kind is USER else set())
    unchecked = []
    for (path, keyword), bound in storage_bounds(kind).items():
        if path in SERVER_OWNED[kind.kind] or path in dropped:
            continue
        entry = limits.get((kind.kind, path))
        if entry is None:
            unchecked.append((path, keyword, bound))
            continue
        _, scim_path, limit = entry
        if keyword == "maxLength":
            assert limit.max_length is not None and limit.max_length <= bound, scim_path
        elif keyword == "minLength":
            assert limit.min_length is not None and limit.min_length >= bound, scim_path
        elif keyword == "maxItems":
            assert limit.max_items is not None and limit.max_items <= bound, scim_path
        else:
            unchecked.append((path, keyword, bound))
    assert unchecked == [], f"storage bounds without a SCIM check: {unchecked}"


def test_every_scim_limit_sits_on_a_storage_bound_with_the_same_number() -> None:
    for (kind_name, path), (_, scim_path, limit) in limit_fields().items():
        kind = next(k for k in (USER, GROUP_KIND, MEMBER_BATCH) if k.kind == kind_name)
        bounds = storage_bounds(kind)
        for keyword, mine in (
            ("maxLength", limit.max_length),
            ("minLength", limit.min_length),
            ("maxItems", limit.max_items),
        ):
            if mine is not None:
                assert bounds.get((path, keyword)) == mine, (scim_path, path, keyword)


def test_server_owned_fields_are_read_only_in_scim() -> None:
    for kind, resource_type in ((USER, SCIM_USER), (GROUP_KIND, SCIM_GROUP)):
        for path in SERVER_OWNED[kind.kind]:
            attribute = resource_type.core_attribute(path[0])
            assert attribute is not None and attribute.mutability == "readOnly", path
            assert storage_node(kind, path) is not None, path
    assert storage_bounds(MEMBER_BATCH)[(("add",), "maxItems")] >= MAX_IDS_PER_ENTRY
    assert storage_bounds(MEMBER_BATCH)[(("remove",), "maxItems")] >= MAX_IDS_PER_ENTRY


_TYPES = {
    "string": {"string"}, "reference": {"string"}, "binary": {"string"},
    "dateTime": {"string"}, "boolean": {"boolean"}, "integer": {"integer"},
    "decimal": {"number", "integer"}, "complex": {"object"},
}  # fmt: skip


def stored_attributes(resource_type: ResourceType) -> Iterator[str]:
    """Every attribute path whose value the SCIM layer may store in the document."""
    for attribute in (*resource_type.common_attributes, *resource_type.schema.attributes):
        if attribute.mutability in ("readOnly", "writeOnly") or attribute.name == "members":
            continue
        yield attribute.name
        for sub in attribute.sub_attributes:
            if sub.mutability not in ("readOnly", "writeOnly"):
                yield f"{attribute.name}.{sub.name}"
    for extension in resource_type.schema_extensions:
        for attribute in extension.schema.attributes:
            yield f"{extension.schema.id}:{attribute.name}"
            for sub in attribute.sub_attributes:
                if sub.mutability not in ("readOnly", "writeOnly"):
                    yield f"{extension.schema.id}:{attribute.name}.{sub.name}"


@pytest.mark.parametrize("resource_type", [SCIM_USER, SCIM_GROUP], ids=lambda r: r.name)
def test_every_stored_attribute_has_a_field_of_a_compatible_type(resource_type) -> None:
    for scim_path in stored_attributes(resource_type):
        resolved = resolve(resource_type, scim_path)
        assert isinstance(resolved, ResolvedAttr)
        ((kind, path),) = storage_fields(resource_type, scim_path)
        node = storage_node(kind, path)
        assert node is not None, f"{scim_path} would be pruned: no field {'.'.join(path)}"
        target = resolved.target
        if target.multi_valued and resolved.sub_attribute is None:
            assert node["type"] == "array", scim_path
        else:
            assert node["type"] in _TYPES[target.type], (scim_path, node["type"])


# --- against the real API server ---------------------------------------------------------------


def at_limit_user() -> dict[str, Any]:
    """A user body with every string and list at its limit (lists of short values)."""
    body: dict[str, Any] = {}
    for scim_path, limit in USER_LIMITS.items():
        resolved = resolve(SCIM_USER, scim_path)
        assert isinstance(resolved, ResolvedAttr)
        attribute, sub = resolved.attribute, resolved.sub_attribute
        container = body.setdefault(resolved.extension, {}) if resolved.extension else body
        if limit.max_items is not None:
            data = "value" if attribute.sub("value") else "locality"
            elements = [{data: f"v{i}"} for i in range(limit.max_items)]
            existing = container.get(attribute.name) or [{}]
            container[attribute.name] = [existing[0] | elements[0], *elements[1:]]
            continue
        assert limit.max_length is not None
        if sub is None:
            container[attribute.name] = "x" * limit.max_length
        else:
            holder = container.setdefault(attribute.name, [{}] if attribute.multi_valued else {})
            element = holder[0] if attribute.multi_valued else holder
            element[sub.name] = "y" * limit.max_length
    body["userName"] = "u" * 1024
    return body


def create(kube: KubeEnv, kind: Kind[Any], namespace: str, name: str, spec: dict[str, Any]) -> Any:
    return kube.custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, kind.plural,
        {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind.kind, "metadata": {"name": name},
         "spec": spec},
    )  # fmt: skip


def test_a_user_at_every_limit_is_stored(kube: KubeEnv, namespace: str) -> None:
    doc = normalize_user(at_limit_user())
    assert doc["userName"] == "u" * 1024 and len(doc["emails"]) == 100
    spec = doc_to_spec(doc)
    created = create(kube, USER, namespace, "u-at-limit", {"id": "x", **spec})
    assert created["spec"] == {"id": "x", **spec}  # nothing pruned, nothing refused
    group, _ = normalize_group({"displayName": "g" * 1024, "externalId": "e" * 1024})
    create(kube, GROUP_KIND, namespace, "g-at-limit", {"id": "g", **doc_to_spec(group)})
    group_ref = GroupRef(namespace=namespace, object_name="g-at-limit", uid="uid", scim_id="g")
    batch = encode(Delta(seq=1, add=("m" * 256,), displays={"m" * 256: "d" * 1024}), group_ref)
    create(kube, MEMBER_BATCH, namespace, "g-at-limit-0000000001", dict(batch["spec"]))
    # one more: refused (members.value is checked first)
    over = encode(Delta(seq=2, add=("m" * 257,)), group_ref)
    with pytest.raises(ApiException):
        create(kube, MEMBER_BATCH, namespace, "g-at-limit-0000000002", dict(over["spec"]))


def over_limit(scim_path: str, limit: Limit) -> dict[str, Any]:
    """``at_limit_user`` with one value one character (or element) over ``limit``."""
    body = at_limit_user()
    resolved = resolve(SCIM_USER, scim_path)
    assert isinstance(resolved, ResolvedAttr)
    attribute, sub = resolved.attribute, resolved.sub_attribute
    container = body[resolved.extension] if resolved.extension else body
    if limit.max_items is not None:  # one more element, different from the others
        container[attribute.name].append({**container[attribute.name][-1], "type": "other"})
    elif sub is None:
        container[attribute.name] += "x"
    else:
        holder = container[attribute.name]
        (holder[0] if attribute.multi_valued else holder)[sub.name] += "y"
    return body


@pytest.mark.parametrize(
    ("scim_path", "limit"),
    list(USER_LIMITS.items()),
    ids=[path.rsplit(":", 1)[-1] for path in USER_LIMITS],
)
def test_one_more_is_refused_by_scim_first_and_by_storage_too(
    kube: KubeEnv, namespace: str, scim_path: str, limit: Limit
) -> None:
    body = over_limit(scim_path, limit)
    with pytest.raises(InvalidValue) as info:
        normalize_user(body)
    short = scim_path.rsplit(":", 1)[-1].split(".")[0]
    assert short in info.value.detail and str(limit.max_length or limit.max_items) in (
        info.value.detail
    )
    # Without the SCIM check, the API server would refuse the same document (``body`` is
    # written in canonical form already, so the codec takes it as it is).
    spec = doc_to_spec(body)
    with pytest.raises(ApiException) as refused:
        create(kube, USER, namespace, "u-over", {"id": "x", **spec})
    assert refused.value.status == 422, json.loads(refused.value.body)["message"]


def test_group_limits_are_in_the_table() -> None:
    assert set(GROUP_LIMITS) == {"displayName", "externalId", "members.value", "members.display"}
