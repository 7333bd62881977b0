"""The PATCH engine (RFC 7644 §3.5.2) with both Entra dialects (default and ``aadOptscim062020``).

:func:`parse_patch` turns a PatchOp body into a :class:`PatchRequest` once (a caller that
retries on a version conflict re-applies the parsed request); :func:`apply_patch` never
mutates its input and returns the new canonical document plus the net membership change
of a group. Decisions, in the order a request meets them:

Body
  * must be an object with a non-empty ``Operations`` list (else invalidSyntax); more than
    ``max_operations`` operations is 413. ``schemas`` may be missing (tolerated); if given
    it must list ``urn:ietf:params:scim:api:messages:2.0:PatchOp``. Member names of the
    body and of each operation (``Operations``, ``op``, ``path``, ``value``) and ``op``
    values (``Add``/``Replace``/``Remove``) are case-insensitive.
  * Errors carry ``Operations[i]: …`` in their detail (``the patched resource is invalid:
    …`` for the final check). Operations apply in order; the first error aborts the whole
    request and nothing is applied.

Paths
  * Paths are parsed with the filter grammar; a syntax error is invalidPath. A path naming
    an attribute the schema does not define is ignored (a no-op), exactly as unknown
    attributes are ignored on POST; a path whose shape contradicts the schema
    (``userName.x``, ``userName[…]``, ``members.value``) is invalidPath.
  * Custom extension paths (``urn:…:extension:<Name>:2.0:User:attr``) always resolve.
  * readOnly targets (``id``, ``meta``, ``groups``, ``manager.displayName``) are
    mutability errors, except ``replace``/``add`` of ``id`` with the resource's own id
    (pass ``resource_id``), which is ignored. Inside a path-less value or an extension
    object they are ignored silently, like on POST. ``password`` is accepted and dropped.
  * Immutable top-level attributes may be added when absent; changing or removing them is
    a mutability error.

Values
  * Values are validated like POST bodies (resources.py): ``"True"``/``"False"`` become
    booleans, ``manager`` may be a bare string, ``{"value": …}`` or a list of one (E33,
    E35). Roles added as JSON-encoded strings (E28) are stored as sent, not parsed. A
    missing ``value`` on add/replace is invalidValue.
  * **No value clears** (RFC 7643 §2.5): ``null``, ``""`` and ``[]`` mean "no value", as
    Entra sends ``""`` when an admin empties a mapped attribute. ``replace`` with no value
    removes the target; so does ``add`` of a single-valued target (an add sets it) — in
    every form: ``path: "title"``, path-less ``{"title": ""}``, dotted
    (``"name.givenName": ""``) and URN keys (``urn:…:enterprise:2.0:User:department``),
    ``emails[type eq "work"].value``, ``manager`` (``""``, ``{"value": ""}``). ``add`` of
    no value to a multi-valued attribute appends nothing (a no-op), and ``add`` of ``{}``
    to a complex attribute merges nothing. A complex attribute or element left without its
    data goes too (an e-mail entry without a value, an empty ``name``).
  * After all operations the whole document is validated again (types, required
    ``userName``/``displayName`` — which therefore cannot be cleared —, identifiers, one
    primary, the storage bounds), so a PATCH cannot store what POST refuses.

Operations
  * No path (add/replace): ``value`` must be an object; each key is applied as a path of
    its own, so ``name.givenName`` and ``urn:…:enterprise:2.0:User:employeeNumber`` keys
    work (E23); ``schemas``/``id``/``meta`` keys are skipped. A key that is an extension
    URN applies each of its attributes. Remove without a path is noTarget.
  * add on a multi-valued attribute appends, skipping elements equal to an existing one;
    an appended element with ``primary: true`` demotes the others (RFC 7644 §3.5.2).
    add on anything single-valued sets it. replace sets (a multi-valued attribute is
    replaced whole; a missing attribute is simply added).
  * add/replace of a single-valued complex attribute merges sub-attributes (RFC: "not
    specified … left unchanged") — except an attribute with a ``value`` sub-attribute
    (``manager``), which is replaced whole so a new manager never keeps the old ``$ref``.
  * remove of a missing attribute is a no-op. remove with a ``value`` list on a
    multi-valued attribute removes only the listed elements (those equal to one, or with
    the same ``value``).
  * ``attr[filter]``: remove drops matching elements (or, with ``.sub``, that sub-attribute
    of them); no match is a no-op (lenient: not noTarget). add/replace with ``.sub`` set
    the sub-attribute of every match; with no ``.sub`` add merges ``value`` into every
    match and replace replaces every match with ``value`` plus the filter's ``eq`` terms (so
    the element still matches the filter). When nothing matches, a new element is built from
    the filter's ``eq`` terms plus the value (``emails[type eq "work"].value`` on a user
    without a work email adds ``{"type": "work", "value": …}``); if the filter has other
    operators that is noTarget. A filter on a single-valued complex attribute
    (``manager[value eq "x"]``) treats it as a one-element list (E36).
  * ``attr.sub`` on a multi-valued attribute (no filter) applies to every element; add or
    replace on an empty attribute creates one element ``{sub: value}``.

Group members (never stored in the document; the caller passes the current ids as a
:class:`MemberSet` and applies ``members_added``/``members_removed``)
  * add ``members``: adds each id; an existing member is a no-op.
  * remove ``members`` with a ``value`` list removes exactly those ids, never all
    (Entra default dialect, E15/E24; an empty list or ``""`` removes nothing); without a
    value (or ``null``) it removes all members (RFC).
  * remove ``members[value eq "x"]`` removes one (E25); other filters are evaluated on
    ``{"value": id}`` of each current member.
  * replace ``members`` sets the whole list (RFC 7644 §3.5.2.3). Entra has been observed
    sending a replace with only the changed member (E37); following the RFC, that leaves
    the group with exactly that member — the RFC reading is kept deliberately.
  * Ids are not checked for existence here; that is the storage layer's job.
  * ``members_added``/``members_removed`` are the net effect against the current set, in
    request order, without duplicates: re-adding a member or removing a non-member does
    not appear; add-then-remove of a new id cancels out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, NotRequired, TypeAlias, TypedDict

from zero_scim.jsondata import JsonMapping, JsonObject, JsonValue
from zero_scim.scim.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    PayloadTooLarge,
    ScimError,
    quote,
)
from zero_scim.scim.evaluate import MemberSet, compile_element_filter
from zero_scim.scim.filter import (
    And,
    Compare,
    Filter,
    Or,
    ScimValue,
    ValueFilter,
    parse_path,
    to_string,
)
from zero_scim.scim.paths import AttrPath
from zero_scim.scim.resources import (
    ABSENT,
    Normalized,
    extension_items,
    find_key,
    has_no_value,
    members_attribute,
    normalize,
    normalize_element,
    normalize_members,
    normalize_subs,
    normalize_value,
    value_key,
)
from zero_scim.scim.schema import (
    Attribute,
    ResolvedAttr,
    ResolvedExtension,
    ResourceType,
    UnknownAttr,
    describe,
    resolve,
)

__all__ = [
    "MAX_OPERATIONS",
    "PATCH_OP_URN",
    "MemberSet",
    "Op",
    "PatchOperation",
    "PatchOperationJson",
    "PatchOutcome",
    "PatchRequest",
    "PatchRequestJson",
    "apply_patch",
    "parse_patch",
]

PATCH_OP_URN: Final = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS: Final = 1000

Op: TypeAlias = Literal["add", "replace", "remove"]
_OPS: Final[Mapping[str, Op]] = {"add": "add", "replace": "replace", "remove": "remove"}


class PatchOperationJson(TypedDict):
    """One operation as sent (RFC 7644 §3.5.2; member names are read case-insensitively)."""

    op: str
    path: NotRequired[str]
    value: NotRequired[JsonValue]


class PatchRequestJson(TypedDict):
    """A PatchOp body as sent."""

    schemas: list[str]
    Operations: list[PatchOperationJson]


@dataclass(frozen=True, slots=True)
class PatchOperation:
    """One parsed operation: ``path`` is None for a path-less add/replace.

    ``value`` is the raw value (validated against the target's schema when applied);
    ``has_value`` tells a missing ``value`` from ``"value": null``.
    """

    op: Op
    path: AttrPath | ValueFilter | None
    value: object = None
    has_value: bool = False


@dataclass(frozen=True, slots=True)
class PatchRequest:
    """A parsed PatchOp body: its operations, in order."""

    operations: tuple[PatchOperation, ...]


@dataclass(frozen=True, slots=True)
class PatchOutcome:
    """The new canonical document and the net membership change (ids, request order)."""

    doc: JsonObject
    members_added: list[str]
    members_removed: list[str]
    changed: bool
    #: ``display`` sent with an added member (id -> display), for members that have one.
    member_displays: dict[str, str] = field(default_factory=dict)


def _field(operation: Mapping[object, object], name: str) -> tuple[bool, object]:
    """(present, value) of ``name`` in ``operation``, ignoring case."""
    if name in operation:
        return True, operation[name]
    for key, value in operation.items():
        if isinstance(key, str) and key.casefold() == name:
            return True, value
    return False, None


def _parse_operation(operation: object) -> PatchOperation:
    if not isinstance(operation, Mapping):
        raise InvalidSyntax("each operation must be an object")
    _, name = _field(operation, "op")
    op = _OPS.get(name.casefold()) if isinstance(name, str) else None
    if op is None:
        shown = quote(name) if isinstance(name, str) else type(name).__name__
        raise InvalidSyntax(f"op must be add, replace or remove, not {shown}")
    _, raw_path = _field(operation, "path")
    has_value, value = _field(operation, "value")
    if raw_path is not None and not isinstance(raw_path, str):
        raise InvalidPath("path must be a string")
    if raw_path is None or not raw_path.strip():
        if op == "remove":
            raise NoTarget("remove needs a path")
        if not isinstance(value, Mapping):
            raise InvalidValue("without a path, value must be an object of attributes")
        return PatchOperation(op, None, value, has_value=True)
    path = parse_path(raw_path.strip())
    if op != "remove" and not has_value:
        raise InvalidValue(f"{op} needs a value")
    return PatchOperation(op, path, value, has_value=has_value)


def parse_patch(body: object, *, max_operations: int = MAX_OPERATIONS) -> PatchRequest:
    """Parse a PatchOp ``body`` (see the module doc); raises ScimError subclasses only."""
    if isinstance(body, PatchRequest):
        return body
    if not isinstance(body, Mapping):
        raise InvalidSyntax("the PATCH body must be a JSON object")
    has_schemas, schemas = _field(body, "schemas")
    if has_schemas and (
        not isinstance(schemas, list)
        or not any(isinstance(s, str) and s.casefold() == PATCH_OP_URN.casefold() for s in schemas)
    ):
        raise InvalidSyntax(f"schemas must contain {PATCH_OP_URN}")
    _, operations = _field(body, "operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("Operations must be a non-empty list")
    if len(operations) > max_operations:
        raise PayloadTooLarge(f"at most {max_operations} operations per request")
    parsed: list[PatchOperation] = []
    for index, operation in enumerate(operations):
        try:
            parsed.append(_parse_operation(operation))
        except ScimError as error:
            raise error.with_context(f"Operations[{index}]") from None
    return PatchRequest(tuple(parsed))


class _MemberDelta:
    """Pending membership changes against a current set that is never materialised."""

    def __init__(self, current: MemberSet | None) -> None:
        self.current: MemberSet = current if current is not None else frozenset()
        self.added: dict[str, None] = {}
        self.removed: dict[str, None] = {}
        self.displays: dict[str, str] = {}

    def add(self, member_id: str, display: str | None = None) -> None:
        if display:
            self.displays[member_id] = display
        if member_id in self.removed:
            del self.removed[member_id]
        elif member_id not in self.current:
            self.added[member_id] = None

    def remove(self, member_id: str) -> None:
        if member_id in self.added:
            del self.added[member_id]
        elif member_id in self.current:
            self.removed[member_id] = None

    def remove_all(self) -> None:
        self.added.clear()
        for member_id in self.current:
            self.removed[member_id] = None

    def effective(self) -> Iterator[str]:
        for member_id in self.current:
            if member_id not in self.removed:
                yield member_id
        yield from self.added


def _copy(value: JsonValue) -> JsonValue:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _ids_from_filter(node: Filter) -> list[str] | None:
    """The ids of ``value eq "id"`` (or an ``or`` of them), else None."""
    terms = node.terms if isinstance(node, Or) else (node,)
    ids: list[str] = []
    for term in terms:
        name, value = _plain_eq(term)
        if name is None or name.casefold() != "value" or not isinstance(value, str):
            return None
        ids.append(value)
    return ids


def _plain_eq(term: Filter) -> tuple[str | None, ScimValue]:
    """``attr eq value`` of a plain attribute (no URN, no sub-attribute): its name and
    value; ``(None, None)`` for any other term."""
    if (
        isinstance(term, Compare)
        and term.op == "eq"
        and isinstance(term.path, AttrPath)
        and term.path.urn is None
        and term.path.sub_attr is None
    ):
        return term.path.attr, term.value
    return None, None


def _objects(value: JsonValue | None) -> list[JsonObject]:
    """Copies of the objects of a stored multi-valued complex attribute."""
    if not isinstance(value, list):
        return []
    return [dict(item) for item in value if isinstance(item, dict)]


class _Patcher:
    def __init__(
        self,
        doc: JsonMapping,
        resource_type: ResourceType,
        members: MemberSet | None,
        resource_id: str | None,
    ) -> None:
        self.doc: JsonObject = {key: _copy(value) for key, value in doc.items()}
        self.resource_type = resource_type
        self.members_attribute = members_attribute(resource_type)
        self.delta = _MemberDelta(members)
        self.resource_id = resource_id

    # --- operations ----------------------------------------------------------------------

    def operation(self, operation: PatchOperation) -> None:
        if operation.path is None:
            assert isinstance(operation.value, Mapping)  # parse_patch guarantees it
            self.pathless(operation.op, operation.value)
            return
        self.apply(
            operation.op,
            operation.path,
            operation.value,
            has_value=operation.has_value,
            pathless=False,
        )

    def pathless(self, op: Op, value: Mapping[object, object]) -> None:
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidSyntax("attribute names must be strings")
            if key.casefold() in ("schemas", "id", "meta"):
                continue
            self.apply(op, parse_path(key), item, has_value=True, pathless=True)

    def apply(
        self,
        op: Op,
        path: AttrPath | ValueFilter,
        value: object,
        *,
        has_value: bool,
        pathless: bool,
    ) -> None:
        target = path.path if isinstance(path, ValueFilter) else path
        resolved = resolve(self.resource_type, target)
        if (
            isinstance(resolved, ResolvedAttr)
            and resolved.custom
            and isinstance(value, Mapping)
            and isinstance(path, AttrPath)
            and op != "remove"
        ):
            resolved = ResolvedExtension(str(target), None)  # a nested custom extension
        if isinstance(resolved, UnknownAttr):
            if resolved.malformed:
                raise InvalidPath(resolved.reason)
            return
        if isinstance(resolved, ResolvedExtension):
            if isinstance(path, ValueFilter):
                raise InvalidPath(f"the extension {resolved.urn} cannot take a filter")
            self.extension(op, resolved, value)
            return
        attribute, sub = resolved.attribute, resolved.sub_attribute
        for part in (attribute, sub):
            if part is None:
                continue
            if part.mutability == "writeOnly":
                return  # password: accepted, never stored
            if part.mutability == "readOnly":
                if pathless or self.same_id(op, resolved, path, value):
                    return
                raise Mutability(f"{describe(resolved)} is read-only")
        if (
            self.members_attribute is not None
            and attribute is self.members_attribute
            and resolved.extension is None
        ):
            self.members(op, path, sub, value, has_value)
            return
        if isinstance(path, ValueFilter):
            self.value_path(op, resolved, path, value)
            return
        if attribute.mutability == "immutable" and sub is None:
            self.check_immutable(op, resolved, value)
        if sub is None:
            self.whole(op, resolved, value, has_value)
        else:
            self.sub_attribute(op, resolved, sub, value)

    def same_id(
        self, op: Op, resolved: ResolvedAttr, path: AttrPath | ValueFilter, value: object
    ) -> bool:
        return (
            op != "remove"
            and resolved.attribute.name == "id"
            and resolved.extension is None
            and isinstance(path, AttrPath)
            and self.resource_id is not None
            and value == self.resource_id
        )

    # --- containers ----------------------------------------------------------------------

    def container(self, resolved: ResolvedAttr, *, create: bool) -> JsonObject | None:
        if resolved.extension is None:
            return self.doc
        key = find_key(self.doc, resolved.extension)
        if key is not None:
            found = self.doc[key]
            if isinstance(found, dict):
                return found
        if not create:
            return None
        fresh: JsonObject = {}
        self.doc[key or resolved.extension] = fresh
        return fresh

    def key(self, container: JsonMapping, resolved: ResolvedAttr) -> str:
        name = resolved.attribute.name
        return (find_key(container, name) if resolved.custom else None) or name

    def store(self, resolved: ResolvedAttr, value: Normalized) -> None:
        """Set the attribute to ``value``, or delete it when ``value`` is ABSENT/empty."""
        container = self.container(resolved, create=value is not ABSENT)
        if container is None:
            return
        name = self.key(container, resolved)
        if value is ABSENT or has_no_value(value):
            container.pop(name, None)
            if resolved.extension is not None and not container:
                key = find_key(self.doc, resolved.extension)
                if key is not None:
                    del self.doc[key]
        else:
            container[name] = value

    def current(self, resolved: ResolvedAttr) -> JsonValue | None:
        container = self.container(resolved, create=False)
        return None if container is None else container.get(self.key(container, resolved))

    # --- attribute operations ------------------------------------------------------------

    def extension(self, op: Op, resolved: ResolvedExtension, value: object) -> None:
        if op == "remove" or (has_no_value(value) and not (op == "add" and value == {})):
            key = find_key(self.doc, resolved.urn)
            if key is not None:
                del self.doc[key]
            return
        for path, _, inner_value in extension_items(resolved.urn, resolved.urn, value):
            self.apply(op, path, inner_value, has_value=True, pathless=True)

    def check_immutable(self, op: Op, resolved: ResolvedAttr, value: object) -> None:
        existing = self.current(resolved)
        if existing is None:
            return
        if op == "remove":
            raise Mutability(f"{describe(resolved)} is immutable")
        label = describe(resolved)
        new = normalize_value(resolved.attribute, value, label=label, custom=resolved.custom)
        if new != existing:
            raise Mutability(f"{label} is immutable")

    def whole(self, op: Op, resolved: ResolvedAttr, value: object, has_value: bool) -> None:
        attribute = resolved.attribute
        label = describe(resolved)
        if op == "remove":
            if has_value and value is not None and attribute.multi_valued:
                self.remove_elements(resolved, value, label)
            else:
                self.store(resolved, ABSENT)
            return
        if (
            attribute.type == "complex"
            and not attribute.multi_valued
            and not resolved.custom
            and attribute.sub("value") is None
            and isinstance(value, Mapping)
            and value
        ):
            self.merge(resolved, value, label)
            return
        new = normalize_value(attribute, value, label=label, custom=resolved.custom)
        if new is ABSENT:
            # No value: replace clears; add sets a single-valued target to "no value", but
            # appends nothing to a multi-valued one and merges nothing from ``{}``.
            if op == "replace" or not (attribute.multi_valued or value == {}):
                self.store(resolved, ABSENT)
            return
        current = self.current(resolved)
        if attribute.multi_valued and op == "add" and isinstance(new, list):
            items = list(current) if isinstance(current, list) else []
            present = {value_key(item) for item in items}
            added = [item for item in new if value_key(item) not in present]
            items.extend(added)
            _demote_primaries(items, added)
            self.store(resolved, items)
        else:
            self.store(resolved, new)

    def merge(self, resolved: ResolvedAttr, value: Mapping[object, object], label: str) -> None:
        """add/replace of a complex value (``name``): the sub-attributes sent with a value
        are set, those sent with no value are cleared, the others are left unchanged."""
        attribute = resolved.attribute
        current = self.current(resolved)
        merged: JsonObject = dict(current) if isinstance(current, dict) else {}
        for name, normalized in normalize_subs(attribute, value, label):
            if normalized is ABSENT:
                merged.pop(name, None)
            else:
                merged[name] = normalized
        self.store(resolved, normalize_value(attribute, merged, label=label))

    def remove_elements(self, resolved: ResolvedAttr, value: object, label: str) -> None:
        doomed = normalize_value(resolved.attribute, value, label=label)
        current = self.current(resolved)
        if not isinstance(doomed, list) or not isinstance(current, list):
            return
        keys = {item.get("value") for item in doomed if isinstance(item, dict)} - {None}

        def hit(item: JsonValue) -> bool:
            if item in doomed:
                return True
            return isinstance(item, dict) and item.get("value") in keys

        self.store(resolved, [item for item in current if not hit(item)])

    def sub_attribute(self, op: Op, resolved: ResolvedAttr, sub: Attribute, value: object) -> None:
        """``attr.sub``; add and replace of no value clear the sub-attribute alike."""
        label = describe(resolved)
        current = self.current(resolved)
        new = ABSENT if op == "remove" else normalize_value(sub, value, label=label)
        if resolved.attribute.multi_valued:
            items = _objects(current)
            if new is ABSENT:
                for item in items:
                    item.pop(sub.name, None)
                self.store(resolved, _json_list([item for item in items if item]))
                return
            if not items:
                items = [{}]
            for item in items:
                item[sub.name] = new
            self.store(resolved, _json_list(items))
            return
        parent: JsonObject = dict(current) if isinstance(current, dict) else {}
        if new is ABSENT:
            parent.pop(sub.name, None)
        else:
            parent[sub.name] = new
        self.store(resolved, parent if parent else ABSENT)

    def value_path(self, op: Op, resolved: ResolvedAttr, path: ValueFilter, value: object) -> None:
        attribute = resolved.attribute
        if resolved.custom or resolved.sub_attribute is not None or attribute.type != "complex":
            raise InvalidPath(f"{path.path} is not a complex attribute and cannot take a filter")
        sub: Attribute | None = None
        if path.sub_attr is not None:
            sub = attribute.sub(path.sub_attr)
            if sub is None:
                return  # unknown sub-attribute: ignored like unknown attributes
            if sub.mutability == "readOnly":
                raise Mutability(f"{attribute.name}.{sub.name} is read-only")
        label = to_string(path)
        matcher = compile_element_filter(path.filter, attribute)
        current = self.current(resolved)
        if attribute.multi_valued:
            items = _objects(current)
        else:
            items = [dict(current)] if isinstance(current, dict) else []
        hits = [index for index, item in enumerate(items) if matcher(item)]
        new: Normalized = ABSENT
        if op != "remove":
            new = (
                normalize_value(sub, value, label=label)
                if sub is not None
                else normalize_element(attribute, value, label=label)
            )
        if op == "add" and sub is None and new is ABSENT:
            return  # adds nothing to the matches
        if new is ABSENT:
            # remove; add/replace of no value to ``.sub``; replace of matches with nothing
            if not hits:
                return
            if sub is None:
                items = [item for index, item in enumerate(items) if index not in hits]
            else:
                for index in hits:
                    items[index].pop(sub.name, None)
                items = [item for item in items if item]
            self.write_elements(resolved, items)
            return
        if sub is not None:
            if hits:
                for index in hits:
                    items[index][sub.name] = new
            else:
                element = self.element_from_filter(path, attribute)
                element[sub.name] = new
                hits = self.append(items, element, attribute)
        elif isinstance(new, dict):
            if hits:
                base = self.filter_terms(path, attribute) or {}
                for index in hits:
                    previous = base if op == "replace" else items[index]
                    items[index] = {**previous, **new}
            else:
                hits = self.append(
                    items, {**self.element_from_filter(path, attribute), **new}, attribute
                )
        if attribute.multi_valued:
            _demote_primaries(items, [items[index] for index in hits])
        self.write_elements(resolved, items)

    def append(
        self, items: list[JsonObject], element: JsonObject, attribute: Attribute
    ) -> list[int]:
        if not attribute.multi_valued:
            items[:] = [element]
            return [0]
        items.append(element)
        return [len(items) - 1]

    def write_elements(self, resolved: ResolvedAttr, items: list[JsonObject]) -> None:
        if resolved.attribute.multi_valued:
            self.store(resolved, _json_list(items))
        else:
            self.store(resolved, items[0] if items else ABSENT)

    def filter_terms(self, path: ValueFilter, attribute: Attribute) -> JsonObject | None:
        """The sub-attribute values the filter's ``eq`` terms pin down, or None."""
        terms = path.filter.terms if isinstance(path.filter, And) else (path.filter,)
        element: JsonObject = {}
        for term in terms:
            name, value = _plain_eq(term)
            sub = attribute.sub(name) if name is not None and value is not None else None
            if sub is None:
                return None
            normalized = normalize_value(sub, value, label=to_string(path))
            if normalized is not ABSENT:
                element[sub.name] = normalized
        return element

    def element_from_filter(self, path: ValueFilter, attribute: Attribute) -> JsonObject:
        """A new element built from the filter's ``eq`` terms, or noTarget."""
        element = self.filter_terms(path, attribute)
        if element is None:
            raise NoTarget(
                f"no value matches {to_string(path)} and the filter does not describe a new one"
            )
        return element

    # --- members -------------------------------------------------------------------------

    def members(
        self,
        op: Op,
        path: AttrPath | ValueFilter,
        sub: Attribute | None,
        value: object,
        has_value: bool,
    ) -> None:
        assert self.members_attribute is not None
        if isinstance(path, ValueFilter):
            if op != "remove" or path.sub_attr is not None:
                raise InvalidPath(
                    "members can only be removed with a filter; add or replace 'members'"
                )
            ids = _ids_from_filter(path.filter)
            if ids is None:
                matcher = compile_element_filter(path.filter, self.members_attribute)
                ids = [
                    member for member in list(self.delta.effective()) if matcher({"value": member})
                ]
            for member_id in ids:
                self.delta.remove(member_id)
            return
        if sub is not None:
            raise InvalidPath("members sub-attributes cannot be patched; patch 'members'")
        if op == "remove":
            if has_value and value is not None:
                for member in normalize_members(value, label="value"):
                    self.delta.remove(member["value"])
            else:
                self.delta.remove_all()
            return
        incoming = normalize_members(value, label="value")
        if op == "replace":
            self.delta.remove_all()
        for member in incoming:
            self.delta.add(member["value"], member.get("display"))


def _json_list(items: list[JsonObject]) -> list[JsonValue]:
    return list(items)


def _demote_primaries(items: Sequence[JsonValue], touched: Sequence[JsonValue]) -> None:
    """RFC 7644 §3.5.2: a value newly set primary makes the others non-primary."""
    promoted = [item for item in touched if isinstance(item, dict) and item.get("primary") is True]
    if not promoted:
        return
    winner = promoted[-1]
    for item in items:
        if isinstance(item, dict) and item is not winner and item.get("primary") is True:
            item["primary"] = False


def apply_patch(
    doc: JsonMapping,
    body: object,
    resource_type: ResourceType,
    *,
    members: MemberSet | None = None,
    resource_id: str | None = None,
    max_operations: int = MAX_OPERATIONS,
) -> PatchOutcome:
    """Apply a PatchOp ``body`` (raw JSON or a :class:`PatchRequest` from
    :func:`parse_patch`) to the canonical ``doc`` (not mutated); see the module doc.

    ``members`` is the group's current member ids (None: no members). Raises ScimError
    subclasses only.
    """
    request = parse_patch(body, max_operations=max_operations)
    patcher = _Patcher(doc, resource_type, members, resource_id)
    for index, operation in enumerate(request.operations):
        try:
            patcher.operation(operation)
        except ScimError as error:
            raise error.with_context(f"Operations[{index}]") from None
    try:
        final = normalize(patcher.doc, resource_type, existing=doc)
    except ScimError as error:
        raise error.with_context("the patched resource is invalid") from None
    added = list(patcher.delta.added)
    removed = list(patcher.delta.removed)
    displays = {m: patcher.delta.displays[m] for m in added if m in patcher.delta.displays}
    return PatchOutcome(final, added, removed, bool(added or removed) or final != doc, displays)
