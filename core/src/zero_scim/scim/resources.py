"""Resource bodies: validate and normalise input, render output, project and sort.

The *canonical document* (what storage keeps) is the resource's SCIM JSON without
``id``, ``meta``, ``schemas`` and (groups) ``members``: core attributes at the top level
in canonical case, extension attributes nested under the extension's URN key::

    {"userName": "a", "name": {"givenName": "A"},
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "id"}},
     "urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User": {"tag": "7"}}

Input rules (POST/PUT bodies, and every document a PATCH produces):

* the body must be a JSON object (else invalidSyntax); attribute names match any case and
  are stored in canonical case; a key that is not an attribute path is ignored;
* **no value** (RFC 7643 §2.5): ``null``, ``""`` and ``[]`` — and an object whose members
  all have no value — mean "unassigned": the attribute (or sub-attribute, or element) is
  left out of the document, never stored as null or empty. Entra sends ``""`` when an
  admin empties a mapped attribute. An element of a multi-valued complex attribute, or a
  single-valued complex value, that is left without its data goes too: one with a
  ``value`` sub-attribute needs a value (an e-mail entry without an address, a manager
  without an id), one without (``addresses``) needs something besides ``type`` and
  ``primary``;
* readOnly attributes and sub-attributes (``id``, ``meta``, ``groups``,
  ``manager.displayName``) are ignored; writeOnly ones (``password``) are dropped — this
  server never stores or returns passwords;
* unknown core/enterprise attributes and sub-attributes are dropped; ``schemas`` is
  optional and unknown URIs in it are tolerated (Entra's ADSCIM group URI);
* the enterprise extension is accepted nested under its URN key and as flattened
  ``urn:…:enterprise:2.0:User:department`` keys (and dotted ``name.givenName`` keys);
  when both forms set the same attribute the later key in the body wins;
* custom extension attributes (any other extension URN, flattened or nested) are kept
  even when their URN is missing from ``schemas``; their values may be any JSON up to 32
  levels deep (integers within 64 bits) and are stored as sent (no value: as above). A
  top-level ``urn:…`` key whose value is an object is read as a nested extension;
* type checks: strings must be strings (never coerced, never trimmed), booleans may be
  ``true``/``false`` or the strings ``"True"``/``"False"`` in any case (converted),
  integers/decimals numbers, dateTimes ISO-8601 strings (stored as sent); violations are
  invalidValue with the attribute named in the detail;
* multi-valued attributes take a list; a single object for a multi-valued *complex*
  attribute is accepted as a list of one. A single-valued complex attribute with a
  ``value`` sub-attribute (``manager``) also takes a bare string (→ ``{"value": s}``) or
  a list of exactly one value (Entra sample E33);
* at most one element of a multi-valued attribute may have ``primary: true``; duplicate
  ``type`` values are not rejected; an element equal to an earlier one is dropped (a
  value is in a multi-valued attribute once);
* required attributes (``userName``; a group's ``displayName``) must have a value, so
  they cannot be cleared (invalidValue naming them);
* identifiers — ``userName``, a group's ``displayName`` and ``externalId`` — must not
  contain control, format or line-separator characters (``zero_scim.scim.text``);
  ``userName`` and a group's ``displayName`` must not be white space only. Other
  strings (a user's ``displayName``, ``title``, …) are free text, stored as sent. When a
  PUT or PATCH leaves an identifier as it was, it is not checked again, so a user stored
  before these rules can still be updated;
* every value within the bounds of ``zero_scim.scim.limits`` (the storage schema's).

Output: :func:`render` builds the SCIM JSON, :func:`project` applies ``attributes`` /
``excludedAttributes`` (RFC 7644 §3.4.2.5), :func:`sort_key` orders by ``sortBy``
(§3.4.2.3: missing values last when ascending, first when descending via ``reverse``;
strings of ``caseExact: false`` attributes by their :func:`~zero_scim.scim.text.caseless`
key).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, TypeAlias, TypeGuard

from zero_scim.jsondata import JsonMapping, JsonObject, JsonValue
from zero_scim.scim.errors import InvalidSyntax, InvalidValue, Mutability
from zero_scim.scim.evaluate import is_lazy, lookup, parse_datetime
from zero_scim.scim.limits import GROUP_LIMITS, check_limits, check_text
from zero_scim.scim.paths import AttrPath, try_attr_path
from zero_scim.scim.schema import (
    GROUP,
    USER,
    Attribute,
    ResolvedAttr,
    ResolvedExtension,
    ResourceType,
    UnknownAttr,
    resolve,
)
from zero_scim.scim.text import blank, caseless, control_character, describe_character

__all__ = [
    "ABSENT",
    "MAX_CUSTOM_DEPTH",
    "Absent",
    "Member",
    "Normalized",
    "Projection",
    "SortKey",
    "compile_projection",
    "extension_items",
    "find_key",
    "has_no_value",
    "members_attribute",
    "normalize",
    "normalize_element",
    "normalize_group",
    "normalize_members",
    "normalize_subs",
    "normalize_user",
    "normalize_value",
    "project",
    "render",
    "sort_key",
    "value_key",
]

MAX_CUSTOM_DEPTH: Final = 32
_INT_LIMIT: Final = 2**63
_MEMBER_TYPES: Final = {"user": "User", "group": "Group"}


class Absent(enum.Enum):
    """The "no value" marker returned by :func:`normalize_value` (null, ``""``, empty)."""

    ABSENT = "ABSENT"

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = Absent.ABSENT

#: A normalised value, or :data:`ABSENT`.
Normalized: TypeAlias = JsonValue | Literal[Absent.ABSENT]
#: A group member as validated: ``value`` (the id) and optional ``$ref``, ``display``,
#: ``type`` — every one a string.
Member: TypeAlias = dict[str, str]


def value_key(value: JsonValue) -> Hashable:
    """A hashable stand-in for a JSON value: equal for equal values of the same types
    (``true`` is not ``1``), so repeated values are found in linear time."""
    if isinstance(value, dict):
        return ("{}", frozenset((key, value_key(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("[]", tuple(value_key(item) for item in value))
    return (type(value).__name__, value)


def has_no_value(value: object) -> bool:
    """Whether ``value`` is "no value": ``null``, ``""``, ``[]`` or ``{}`` (RFC 7643 §2.5)."""
    if value is None:
        return True
    if isinstance(value, (str, list, dict)):  # a tuple: faster than a union here
        return not value
    return False


# --- values ------------------------------------------------------------------------------


def _check_text(value: str, label: str) -> str:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidValue(f"{label} is not valid Unicode text") from None
    return value


def _check_int(value: int, label: str) -> int:
    if not -_INT_LIMIT <= value < _INT_LIMIT:
        raise InvalidValue(f"{label} is outside the 64-bit integer range")
    return value


def _is_json(value: object, label: str) -> TypeGuard[JsonValue]:
    """True for JSON values (finite numbers, text without lone surrogates, ≤32 levels);
    anything else raises InvalidValue naming ``label``."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_CUSTOM_DEPTH:
            raise InvalidValue(f"{label} nests deeper than {MAX_CUSTOM_DEPTH} levels")
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            _check_int(item, label)
        elif isinstance(item, str):
            _check_text(item, label)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidValue(f"{label} contains a number that is not finite")
        elif isinstance(item, list):
            stack.extend((element, depth + 1) for element in item)
        elif isinstance(item, dict):
            for key, element in item.items():
                if not isinstance(key, str):
                    raise InvalidValue(f"{label} contains a non-string key")
                _check_text(key, label)
                stack.append((element, depth + 1))
        else:
            raise InvalidValue(f"{label} is not a JSON value")
    return True


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        folded = value.casefold()
        if folded in ("true", "false"):
            return folded == "true"
    return None


def _has_data(attribute: Attribute, value: JsonObject) -> bool:
    """Whether a complex value carries data: its ``value``, else more than type/primary."""
    if attribute.sub("value") is not None:
        return "value" in value
    return any(key not in ("type", "primary") for key in value)


def normalize_subs(
    attribute: Attribute, value: Mapping[object, object], label: str
) -> Iterator[tuple[str, Normalized]]:
    """The sub-attributes of a complex value that a client may write, each normalised
    (:data:`ABSENT` for one sent with no value); read-only and unknown ones are passed over."""
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidSyntax(f"{label} has a non-string key")
        sub = attribute.sub(key)
        if sub is not None and sub.mutability not in ("readOnly", "writeOnly"):
            yield sub.name, normalize_value(sub, item, label=f"{label}.{sub.name}")


def _normalize_complex(
    attribute: Attribute, value: object, label: str, *, whole: bool = True
) -> Normalized:
    """A complex value; unless ``whole`` (a fragment to merge), it must carry data."""
    if isinstance(value, list) and not attribute.multi_valued:
        if len(value) > 1:
            raise InvalidValue(f"{label} takes one value, not a list of {len(value)}")
        value = value[0] if value else None
        if has_no_value(value):
            return ABSENT
    if isinstance(value, str) and not attribute.multi_valued and attribute.sub("value"):
        value = {"value": value}
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{label} must be an object")
    out: JsonObject = {
        name: normalized
        for name, normalized in normalize_subs(attribute, value, label)
        if normalized is not ABSENT
    }
    if not out:
        return ABSENT
    for sub in attribute.sub_attributes:
        if sub.required and sub.name not in out:
            raise InvalidValue(f"{label}.{sub.name} is required")
    return out if not whole or _has_data(attribute, out) else ABSENT


def _normalize_single(attribute: Attribute, value: object, label: str) -> Normalized:
    if has_no_value(value):
        return ABSENT
    kind = attribute.type
    if kind == "complex":
        return _normalize_complex(attribute, value, label)
    if kind in ("string", "reference", "binary"):
        if isinstance(value, str):
            return _check_text(value, label)
        raise InvalidValue(f"{label} must be a string")
    if kind == "boolean":
        flag = _as_bool(value)
        if flag is None:
            raise InvalidValue(f"{label} must be true or false")
        return flag
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return _check_int(value, label)
        raise InvalidValue(f"{label} must be an integer")
    if kind == "decimal":
        if isinstance(value, float) and math.isfinite(value):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return _check_int(value, label)
        raise InvalidValue(f"{label} must be a number")
    if isinstance(value, str) and parse_datetime(value) is not None:
        return value
    raise InvalidValue(f"{label} must be an ISO-8601 dateTime string")


def normalize_value(
    attribute: Attribute, value: object, *, label: str = "", custom: bool = False
) -> Normalized:
    """Validate and normalise one attribute value; :data:`ABSENT` for "no value".

    Raises InvalidValue naming ``label`` (default: the attribute name).
    """
    label = label or attribute.name
    if has_no_value(value):
        return ABSENT
    if custom and _is_json(value, label):
        return value
    if not attribute.multi_valued:
        return _normalize_single(attribute, value, label)
    if isinstance(value, Mapping) and attribute.type == "complex":
        value = [value]
    if not isinstance(value, list):
        raise InvalidValue(f"{label} must be a list")
    out: list[JsonValue] = []
    seen: set[Hashable] = set()
    primaries = 0
    for index, item in enumerate(value):
        normalized = _normalize_single(attribute, item, f"{label}[{index}]")
        if normalized is ABSENT:
            continue
        key = value_key(normalized)
        if key in seen:
            continue  # the same value twice is one value (RFC 7644 §3.5.2.1)
        seen.add(key)
        if isinstance(normalized, dict) and normalized.get("primary") is True:
            primaries += 1
        out.append(normalized)
    if primaries > 1:
        raise InvalidValue(f"{label}: at most one value may have primary set to true")
    return out if out else ABSENT


def normalize_element(attribute: Attribute, value: object, *, label: str = "") -> Normalized:
    """Sub-attributes for an element of the complex ``attribute`` (a PATCH merges them into
    the elements a filter selects), normalised; ABSENT if none has a value."""
    label = label or attribute.name
    if has_no_value(value):
        return ABSENT
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{label} must be an object")
    return _normalize_complex(attribute, value, label, whole=False)


def members_attribute(resource_type: ResourceType) -> Attribute | None:
    """The core ``members`` attribute if ``resource_type`` has one (groups)."""
    attribute = resource_type.schema.attribute("members")
    return attribute if attribute is not None and attribute.type == "complex" else None


def _member(item: Mapping[object, object], where: str) -> Member:
    member: Member = {}
    for key, sub_value in item.items():
        if not isinstance(key, str):
            raise InvalidSyntax(f"{where} has a non-string key")
        folded = key.casefold()
        if sub_value is None or sub_value == "":
            continue
        if folded in ("value", "$ref", "display"):
            if not isinstance(sub_value, str):
                raise InvalidValue(f"{where}.{key} must be a string")
            canonical = "$ref" if folded == "$ref" else folded
            member[canonical] = _check_text(sub_value, f"{where}.{key}")
        elif folded == "type":
            canonical_type = (
                _MEMBER_TYPES.get(sub_value.casefold()) if isinstance(sub_value, str) else None
            )
            if canonical_type is None:
                raise InvalidValue(f"{where}.type must be User or Group")
            member["type"] = canonical_type
    return member


def normalize_members(value: object, *, label: str = "members") -> list[Member]:
    """Validate a group's members: ``{"value": id, "$ref"?, "display"?, "type"?}``, deduped.

    ``value`` must be a non-empty string; ``type`` is ``User`` or ``Group`` (any case);
    sub-attributes with no value (``"$ref": null``) are left out; other keys are dropped;
    a repeated id keeps its first entry. No value at all (``null``, ``""``, ``[]``) is no
    members. Ids and displays are bounded like the member log stores them.
    """
    if has_no_value(value):
        return []
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        raise InvalidValue(f"{label} must be a list of members")
    out: list[Member] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"{label}[{index}]"
        if item is None:
            continue
        if not isinstance(item, Mapping):
            raise InvalidValue(f"{where} must be an object with a value")
        member = _member(item, where)
        member_id = member.get("value")
        if not member_id:
            raise InvalidValue(f"{where}.value must be a non-empty string")
        check_text(f"{where}.value", member_id, GROUP_LIMITS["members.value"])
        display = member.get("display")
        if display is not None:
            check_text(f"{where}.display", display, GROUP_LIMITS["members.display"])
        if member_id in seen:
            continue
        seen.add(member_id)
        out.append({"value": member_id, **{k: v for k, v in member.items() if k != "value"}})
    return out


# --- documents ---------------------------------------------------------------------------


def find_key(container: Mapping[str, object], name: str) -> str | None:
    """The key of ``container`` equal to ``name`` ignoring case (exact match first)."""
    if name in container:
        return name
    folded = name.casefold()
    for key in container:
        if key.casefold() == folded:
            return key
    return None


def _container(doc: JsonObject, resolved: ResolvedAttr) -> JsonObject:
    if resolved.extension is None:
        return doc
    key = find_key(doc, resolved.extension) or resolved.extension
    container = doc.get(key)
    if not isinstance(container, dict):
        container = doc[key] = {}
    return container


def _assign(doc: JsonObject, resolved: ResolvedAttr, value: object, label: str) -> None:
    attribute, sub = resolved.attribute, resolved.sub_attribute
    for part in (attribute, sub):
        if part is not None and part.mutability in ("readOnly", "writeOnly"):
            return
    container = _container(doc, resolved)
    name = (find_key(container, attribute.name) if resolved.custom else None) or attribute.name
    if sub is None:
        normalized = normalize_value(attribute, value, label=label, custom=resolved.custom)
        if normalized is ABSENT:
            container.pop(name, None)
        else:
            container[name] = normalized
        return
    if attribute.multi_valued:
        raise InvalidValue(
            f"{label}: cannot set a sub-attribute of the multi-valued attribute "
            f"{attribute.name!r} without selecting an element"
        )
    current = container.get(name)
    parent: JsonObject = dict(current) if isinstance(current, dict) else {}
    normalized = normalize_value(sub, value, label=label)
    if normalized is ABSENT:
        parent.pop(sub.name, None)
    else:
        parent[sub.name] = normalized
    if parent:
        container[name] = parent
    else:
        container.pop(name, None)


def _check_schemas(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidValue("schemas must be a list of strings")


def extension_items(urn: str, key: str, value: object) -> Iterator[tuple[AttrPath, str, object]]:
    """The attributes of an extension object ``{"<urn>": {name: value}}`` given as ``key``:
    each one's full path, its name as given, and its value. Names that are no attribute
    path (or carry a URN of their own) are passed over, as unknown attributes are."""
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{key} must be an object of extension attributes")
    for inner_key, inner_value in value.items():
        if not isinstance(inner_key, str):
            raise InvalidSyntax(f"{key} has a non-string key")
        inner = try_attr_path(inner_key)
        if inner is not None and inner.urn is None:
            yield AttrPath(urn, inner.attr, inner.sub_attr), inner_key, inner_value


def _walk_extension(
    doc: JsonObject, resource_type: ResourceType, urn: str, key: str, value: object
) -> None:
    if has_no_value(value):
        return
    for path, inner_key, inner_value in extension_items(urn, key, value):
        inner = resolve(resource_type, path) if inner_value is not None else None
        if isinstance(inner, ResolvedAttr):
            _assign(doc, inner, inner_value, f"{urn}:{inner_key}")


def _walk(body: object, resource_type: ResourceType) -> tuple[JsonObject, object]:
    """The normalised document and the raw ``members`` value (ABSENT if not given)."""
    if not isinstance(body, Mapping):
        raise InvalidSyntax("the request body must be a JSON object")
    members_attr = members_attribute(resource_type)
    members: object = ABSENT
    doc: JsonObject = {}
    for key, value in body.items():
        if not isinstance(key, str):
            raise InvalidSyntax("attribute names must be strings")
        if value is None:
            continue
        if key.casefold() == "schemas":
            _check_schemas(value)
            continue
        path = try_attr_path(key)
        if path is None:
            continue
        resolved = resolve(resource_type, path)
        if isinstance(resolved, ResolvedAttr) and resolved.custom and isinstance(value, Mapping):
            resolved = ResolvedExtension(key, None)
        if isinstance(resolved, UnknownAttr):
            continue
        if isinstance(resolved, ResolvedExtension):
            _walk_extension(doc, resource_type, resolved.urn, key, value)
            continue
        if (
            members_attr is not None
            and resolved.attribute is members_attr
            and resolved.extension is None
        ):
            if resolved.sub_attribute is None:
                members = value
            continue
        _assign(doc, resolved, value, key)
    for key in [k for k, v in doc.items() if isinstance(v, dict) and not v]:
        del doc[key]
    return doc, members


def _check_required(doc: JsonMapping, resource_type: ResourceType) -> None:
    for attribute in resource_type.schema.attributes:
        if not attribute.required or attribute.mutability == "readOnly":
            continue
        if has_no_value(doc.get(attribute.name)):
            raise InvalidValue(f"{attribute.name} is required and cannot be empty or cleared")
    for extension in resource_type.schema_extensions:
        if extension.required and extension.schema.id not in doc:
            raise InvalidValue(f"the extension {extension.schema.id} is required")


#: Identifier attributes of each resource type: (name, must not be white space only).
_IDENTIFIERS: Final[Mapping[ResourceType, tuple[tuple[str, bool], ...]]] = {
    USER: (("userName", True), ("externalId", False)),
    GROUP: (("displayName", True), ("externalId", False)),
}


def _check_identifiers(
    doc: JsonMapping, resource_type: ResourceType, previous: JsonMapping | None
) -> None:
    for name, not_blank in _IDENTIFIERS.get(resource_type, ()):
        value = doc.get(name)
        if not isinstance(value, str):
            continue
        if previous is not None and previous.get(name) == value:
            continue  # unchanged: stored before these rules, still updatable
        char = control_character(value)
        if char is not None:
            raise InvalidValue(
                f"{name} must not contain control or format characters, "
                f"found {describe_character(char)}"
            )
        if not_blank and blank(value):
            raise InvalidValue(f"{name} must not be white space only")


def _check_immutable(doc: JsonObject, existing: JsonMapping, resource_type: ResourceType) -> None:
    for attribute in resource_type.schema.attributes:
        if attribute.mutability != "immutable" or attribute.name not in existing:
            continue
        if attribute.name not in doc:
            doc[attribute.name] = existing[attribute.name]
        elif doc[attribute.name] != existing[attribute.name]:
            raise Mutability(f"{attribute.name} is immutable")


def _finish(doc: JsonObject, resource_type: ResourceType, previous: JsonMapping | None) -> None:
    _check_required(doc, resource_type)
    _check_identifiers(doc, resource_type, previous)
    check_limits(doc, resource_type)


def normalize(
    body: object,
    resource_type: ResourceType,
    *,
    for_replace: bool = False,
    existing: JsonMapping | None = None,
) -> JsonObject:
    """The canonical document for a body of ``resource_type`` (members are not included).

    ``existing`` is the current document, if there is one: identifiers it already holds
    are not checked again. With ``for_replace`` too, immutable attributes (RFC 7643
    §2.2) must keep their value (missing ones are carried over); no User or Group
    attribute is immutable at the top level today, so this matters only for new schemas.
    """
    doc, _ = _walk(body, resource_type)
    if for_replace and existing is not None:
        _check_immutable(doc, existing, resource_type)
    _finish(doc, resource_type, existing)
    return doc


def normalize_user(
    body: object, *, for_replace: bool = False, existing: JsonMapping | None = None
) -> JsonObject:
    """The canonical document for a User body (POST, PUT)."""
    return normalize(body, USER, for_replace=for_replace, existing=existing)


def normalize_group(
    body: object, *, for_replace: bool = False, existing: JsonMapping | None = None
) -> tuple[JsonObject, list[Member] | None]:
    """The canonical document for a Group body and its validated members.

    Members are None when the body has no ``members`` (or ``null``): for PUT that means
    "not asserted" (RFC 7644 §3.5.1), the caller decides; ``[]`` means "no members".
    """
    doc, members = _walk(body, GROUP)
    if for_replace and existing is not None:
        _check_immutable(doc, existing, GROUP)
    _finish(doc, GROUP, existing)
    return doc, (None if members is ABSENT else normalize_members(members))


def render(
    doc: JsonMapping,
    *,
    resource_type: ResourceType,
    id: str,
    meta: Mapping[str, object],
    members: Sequence[Mapping[str, object]] | None = None,
) -> dict[str, object]:
    """The outgoing SCIM JSON: ``schemas`` (core + each extension present), ``id``, the
    document, ``members`` when given, ``meta``. Values are shared, not copied.

    The result is a plain dict the caller may extend (a group's filter view adds its
    member set); everything this function puts in it is JSON.
    """
    schemas = [resource_type.schema.id]
    out: dict[str, object] = {"schemas": schemas, "id": id}
    for key, value in doc.items():
        if key in ("schemas", "id", "meta"):
            continue
        if key[:4].lower() == "urn:" and isinstance(value, dict):
            schemas.append(key)
        out[key] = value
    if members is not None:
        out["members"] = list(members)
    out["meta"] = dict(meta)
    return out


# --- projection --------------------------------------------------------------------------

_Spec: TypeAlias = dict[str, "_Spec | None"]


def _spec(names: Sequence[str], resource_type: ResourceType) -> _Spec:
    spec: _Spec = {}
    for name in names:
        path = try_attr_path(name.strip())
        if path is None:
            continue
        resolved = resolve(resource_type, path)
        if isinstance(resolved, ResolvedExtension):
            keys = [resolved.urn.casefold()]
        elif isinstance(resolved, ResolvedAttr):
            keys = [resolved.extension.casefold()] if resolved.extension else []
            keys.append(resolved.attribute.name.casefold())
            if resolved.sub_attribute is not None:
                keys.append(resolved.sub_attribute.name.casefold())
        else:
            continue
        node = spec
        for depth, key in enumerate(keys):
            if depth == len(keys) - 1:
                node[key] = None
                break
            if key in node and node[key] is None:
                break  # the whole parent is already selected
            child = node.setdefault(key, {})
            assert child is not None
            node = child
    return spec


def _pick(value: object, spec: _Spec) -> object:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            folded = key.casefold()
            if folded in spec:
                sub = spec[folded]
                picked = item if sub is None else _pick(item, sub)
                if picked is not None:
                    out[key] = picked
        return out or None
    if isinstance(value, list):
        items = [picked for item in value if (picked := _pick(item, spec)) is not None]
        return items or None
    return None


def _drop(value: object, spec: _Spec) -> object:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            folded = key.casefold()
            if folded not in spec:
                out[key] = item
            elif (sub := spec[folded]) is not None and (kept := _drop(item, sub)) is not None:
                out[key] = kept
        return out or None
    if isinstance(value, list):
        items = [kept for item in value if (kept := _drop(item, spec)) is not None]
        return items or None
    return value


@dataclass(frozen=True, eq=False)
class Projection:
    """A compiled ``attributes``/``excludedAttributes`` pair for one resource type."""

    resource_type: ResourceType
    include: _Spec | None
    exclude: _Spec

    def _returned(self, key: str) -> str:
        attribute = None if key[:4].lower() == "urn:" else self.resource_type.core_attribute(key)
        return attribute.returned if attribute is not None else "default"

    def includes(self, name: str) -> bool:
        """Whether the top-level attribute ``name`` (e.g. ``members``) would be returned."""
        folded = name.casefold()
        if folded in ("schemas", "id"):
            return True
        returned = self._returned(name)
        if returned == "never":
            return False
        if returned == "always":
            return True
        if self.include is not None:
            if folded not in self.include:
                return False
        elif returned == "request":
            return False
        return not (folded in self.exclude and self.exclude[folded] is None)

    def apply(self, resource: Mapping[str, object]) -> dict[str, object]:
        """The projected copy of ``resource`` (top-level dicts are new; leaves are shared)."""
        out: dict[str, object] = {}
        for key, value in resource.items():
            folded = key.casefold()
            if folded in ("schemas", "id"):
                out[key] = value
                continue
            returned = self._returned(key)
            if returned == "never":
                continue
            if returned == "always":
                out[key] = value
                continue
            if self.include is not None:
                if folded not in self.include:
                    continue
                sub = self.include[folded]
                if sub is not None:
                    value = _pick(value, sub)
            elif returned == "request":
                continue
            if folded in self.exclude:
                sub = self.exclude[folded]
                value = None if sub is None else _drop(value, sub)
            if value is not None:
                out[key] = value
        return out


@lru_cache(maxsize=256)
def _compiled(
    attributes: tuple[str, ...] | None, excluded: tuple[str, ...], resource_type: ResourceType
) -> Projection:
    include = _spec(attributes, resource_type) if attributes else None
    return Projection(resource_type, include, _spec(excluded, resource_type))


def compile_projection(
    attributes: Sequence[str] | None,
    excluded: Sequence[str] | None,
    resource_type: ResourceType,
) -> Projection:
    """A cached :class:`Projection`. Unknown or malformed names are ignored.

    ``id`` and ``schemas`` are always returned, ``password`` never; ``meta`` by default.
    When both lists are given, ``attributes`` selects first and ``excludedAttributes``
    then removes (never ``id``/``schemas``).
    """
    return _compiled(
        tuple(attributes) if attributes else None, tuple(excluded or ()), resource_type
    )


def project(
    resource_json: Mapping[str, object],
    attributes: Sequence[str] | None,
    excluded: Sequence[str] | None,
    resource_type: ResourceType,
) -> dict[str, object]:
    """Apply RFC 7644 §3.4.2.5 ``attributes``/``excludedAttributes`` to a rendered resource."""
    return compile_projection(attributes, excluded, resource_type).apply(resource_json)


# --- sorting -----------------------------------------------------------------------------

#: (missing?, kind: 0 number / 1 text / 2 other, the comparable value)
SortKey: TypeAlias = tuple[int, int, float | str]
_MISSING_KEY: Final[SortKey] = (1, 0, 0)


@lru_cache(maxsize=256)
def _sort_target(resource_type: ResourceType, sort_by: str) -> ResolvedAttr | None:
    path = try_attr_path(sort_by.strip())
    resolved = resolve(resource_type, path) if path is not None else None
    return resolved if isinstance(resolved, ResolvedAttr) else None


def _scalar_key(value: object, attribute: Attribute | None) -> SortKey:
    if value is None:
        return _MISSING_KEY
    if isinstance(value, bool):
        return (0, 0, int(value))
    if isinstance(value, int | float):
        return (0, 0, value)
    if isinstance(value, str):
        if attribute is not None and attribute.type == "dateTime":
            instant = parse_datetime(value)
            if instant is not None:
                return (0, 0, instant.timestamp())
        if attribute is not None and attribute.case_exact:
            return (0, 1, value)
        return (0, 1, caseless(value))
    return (0, 2, repr(value))


def sort_key(
    resource_json: Mapping[str, object], sort_by: str, resource_type: ResourceType
) -> SortKey:
    """A key for ``sorted(..., key=…, reverse=descending)`` implementing ``sortBy``.

    Multi-valued attributes sort by their primary value, else the first (§3.4.2.3);
    complex ones by ``value``; strings by their caseless key unless ``caseExact``;
    dateTimes as instants; missing values compare greater than everything (last when
    ascending).
    """
    resolved = _sort_target(resource_type, sort_by)
    if resolved is None:
        return _MISSING_KEY
    raw: object = resource_json
    if resolved.extension is not None:
        raw = lookup(resource_json, resolved.extension)
        if not isinstance(raw, Mapping):
            return _MISSING_KEY
    raw = lookup(raw, resolved.attribute.name) if isinstance(raw, Mapping) else None
    if is_lazy(raw):
        raw = [{"value": item} for item in raw]
    if isinstance(raw, list):
        chosen = next(
            (item for item in raw if isinstance(item, Mapping) and item.get("primary") is True),
            raw[0] if raw else None,
        )
        raw = chosen
    target: Attribute | None = resolved.target
    if resolved.custom or target is None:
        target = None
    elif target.type == "complex":
        target = target.sub("value")
        raw = lookup(raw, "value") if isinstance(raw, Mapping) else None
    elif resolved.sub_attribute is not None:
        raw = lookup(raw, resolved.sub_attribute.name) if isinstance(raw, Mapping) else None
    if isinstance(raw, Mapping | list):
        return _MISSING_KEY
    return _scalar_key(raw, target)
