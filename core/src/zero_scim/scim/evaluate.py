"""Filter evaluation against resources, schema-aware (RFC 7644 §3.4.2.2).

A filter is compiled once per (filter, resource type) into a closure tree (cached), so
paths are resolved once, not once per resource. Resources are SCIM JSON or canonical
documents; attribute names are found in canonical case first, then ignoring case.
Semantics:

* strings of ``caseExact: false`` attributes compare by their
  :func:`~zero_scim.scim.text.caseless` key (NFC + case folding), both the stored value
  and the filter's — for ``eq``, ``ne``, ``co``, ``sw``, ``ew`` and the orderings — so a
  userName stored in NFD matches its NFC spelling; ``caseExact`` attributes (``id``,
  ``externalId``, member/manager ids) compare code point by code point, as sent.
  ``gt``/``ge``/``lt``/``le`` on strings are lexicographic (by code point, of the keys);
  ``dateTime`` values compare as instants (ISO-8601, naive = UTC); numbers numerically;
  booleans only with ``eq``/``ne`` and also against the strings ``"true"``/``"false"`` in
  any case (Entra sends ``"True"``/``"False"``);
* an integer literal compared with a string attribute compares as its decimal text;
  custom extension attributes hold any JSON: strings ignore case, and ``eq`` between a
  string and a stored number/boolean (or the reverse) compares their text;
* a multi-valued attribute matches if ANY value matches; a complex attribute compared
  directly (``emails eq "x"``, ``manager eq "id"``, ``members eq "id"``) compares its
  ``value`` sub-attribute;
* ``pr``: present and not null, ``""``, ``[]`` or ``{}`` (nor a complex value whose
  sub-attributes are all empty);
* missing attributes never raise. ``ne`` is the negation of ``eq`` (RFC 7644 defines
  ``ne`` only as "not identical"): so a missing attribute matches ``ne "x"``, and a
  multi-valued attribute matches ``ne "x"`` only if NO value equals ``"x"``. ``eq null``
  matches a missing attribute and ``ne null`` a present one;
* an attribute the schema does not know behaves as a missing one; type/operator
  combinations the RFC forbids (``gt`` on a boolean, ``co`` on a number…) never match.
  :func:`validate_filter` reports those as ``invalidFilter`` instead — call it once per
  request, before evaluating;
* ``attr[f].sub op v`` (Entra) means: some element matches ``f and sub op v``.

A group's ``members`` value may be supplied lazily as a :class:`MemberSet` (any object
with ``__contains__``/``__iter__``/``__len__`` over member ids): ``members eq "id"`` and
``members.value eq "id"`` are then a single ``in`` test.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final, Protocol, TypeAlias, TypeGuard, TypeVar

from zero_scim.scim.errors import InvalidFilter
from zero_scim.scim.filter import (
    COMPARE_OPS,
    And,
    Compare,
    Filter,
    Not,
    Or,
    Path,
    Present,
    ScimValue,
    ValueFilter,
    to_string,
)
from zero_scim.scim.paths import AttrPath
from zero_scim.scim.schema import Attribute, ResolvedAttr, ResourceType, resolve
from zero_scim.scim.text import caseless

__all__ = [
    "Matcher",
    "MemberSet",
    "Resource",
    "compile_element_filter",
    "compile_filter",
    "equality_terms",
    "is_lazy",
    "lookup",
    "matches",
    "parse_datetime",
    "validate_filter",
]

#: A resource as filters see it: SCIM JSON or a canonical document, whose ``members``
#: may be a lazily supplied :class:`MemberSet` — so values are ``object``, narrowed here.
Resource: TypeAlias = Mapping[str, object]
Matcher: TypeAlias = Callable[[Resource], bool]
_Getter: TypeAlias = Callable[[Resource], object]
_Test: TypeAlias = Callable[[object], bool]


class MemberSet(Protocol):
    """A group's current member ids, without materialising them."""

    def __contains__(self, member_id: object, /) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...


_PLAIN = (str, int, float, bool, list, tuple, dict, type(None))


def is_lazy(raw: object) -> TypeGuard[MemberSet]:
    """Whether ``raw`` is a lazily supplied collection (a MemberSet), not a JSON value."""
    return (
        not isinstance(raw, _PLAIN)
        and not isinstance(raw, Mapping)
        and hasattr(raw, "__contains__")
        and hasattr(raw, "__iter__")
        and hasattr(raw, "__len__")
    )


_MISSING: Final = object()


def lookup(obj: Mapping[str, object], key: str) -> object:
    """``obj[key]``, else the value of a key equal to it ignoring case, else None."""
    value = obj.get(key, _MISSING)
    if value is not _MISSING:
        return value
    folded = key.casefold()
    for name, item in obj.items():
        if isinstance(name, str) and name.casefold() == folded:
            return item
    return None


def parse_datetime(value: object) -> datetime | None:
    """An aware datetime from an ISO-8601 string (naive means UTC), or None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        folded = value.casefold()
        if folded == "true":
            return True
        if folded == "false":
            return False
    return None


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _present(raw: object, depth: int = 0) -> bool:
    if raw is None:
        return False
    if isinstance(raw, str):
        return raw != ""
    if isinstance(raw, list | tuple):
        return any(_present(item, depth + 1) for item in raw) if depth < 3 else bool(raw)
    if isinstance(raw, Mapping):
        return any(_present(v, depth + 1) for v in raw.values()) if depth < 3 else bool(raw)
    if is_lazy(raw):
        return len(raw) > 0
    return True


_T = TypeVar("_T", str, float, datetime)


def _order(op: str, _kind: type[_T]) -> Callable[[_T, _T], bool]:
    """The comparison ``op`` (eq, gt, ge, lt, le) for two values of one kind."""
    table: dict[str, Callable[[_T, _T], bool]] = {
        "eq": operator.eq,
        "gt": operator.gt,
        "ge": operator.ge,
        "lt": operator.lt,
        "le": operator.le,
    }
    return table[op]


_SUBSTRING: Final[dict[str, Callable[[str, str], bool]]] = {
    "co": lambda x, v: v in x,
    "sw": str.startswith,
    "ew": str.endswith,
}


class _Problem(Exception):
    """A filter the RFC says to reject (raised only in strict mode)."""


class _Compiler:
    def __init__(self, resource_type: ResourceType | None, *, strict: bool) -> None:
        self.resource_type = resource_type
        self.strict = strict

    def problem(self, message: str) -> None:
        if self.strict:
            raise _Problem(message)

    # --- structure ---------------------------------------------------------------------

    def compile(self, node: Filter, scope: Attribute | None) -> Matcher:
        if isinstance(node, And | Or):
            parts = tuple(self.compile(term, scope) for term in node.terms)
            if len(parts) == 2:
                first, second = parts
                if isinstance(node, And):
                    return lambda r: first(r) and second(r)
                return lambda r: first(r) or second(r)
            if isinstance(node, And):
                return lambda r: all(part(r) for part in parts)
            return lambda r: any(part(r) for part in parts)
        if isinstance(node, Not):
            inner = self.compile(node.filter, scope)
            return lambda r: not inner(r)
        if isinstance(node, ValueFilter):
            if node.sub_attr is not None:
                return self.compile(Present(node), scope)
            return self.value_filter(node, None, scope)
        if isinstance(node.path, ValueFilter):
            # attr[f].sub op v  ==  attr[f and sub op v]
            vf = node.path
            sub = AttrPath(None, vf.sub_attr or "value")
            tail: Filter = (
                Present(sub) if isinstance(node, Present) else Compare(sub, node.op, node.value)
            )
            return self.value_filter(ValueFilter(vf.path, And((vf.filter, tail))), node, scope)
        getter, target, custom = self.access(node.path, scope)
        if isinstance(node, Present):
            return lambda r: _present(getter(r))
        test = self.compare_test(node, target, custom)
        return lambda r: test(getter(r))

    def value_filter(
        self, node: ValueFilter, origin: Filter | None, scope: Attribute | None
    ) -> Matcher:
        where = to_string(origin if origin is not None else node)
        if scope is not None:
            self.problem(f"value filters cannot be nested: {where}")
            return _never
        resolved = self.resolve(node.path)
        if resolved is None:
            return _never
        attribute = resolved.target
        if resolved.custom or attribute.type != "complex" or resolved.sub_attribute is not None:
            self.problem(f"{node.path} is not a complex attribute: {where}")
            return _never
        element = self.compile(node.filter, attribute)
        getter = self.top_getter(resolved)

        def match(resource: Resource) -> bool:
            raw = getter(resource)
            if raw is None:
                return False
            if is_lazy(raw):
                raw = [{"value": item} for item in raw]
            items = raw if isinstance(raw, list | tuple) else (raw,)
            return any(
                (type(item) is dict or isinstance(item, Mapping)) and element(item)
                for item in items
            )

        return match

    # --- paths -------------------------------------------------------------------------

    def resolve(self, path: AttrPath) -> ResolvedAttr | None:
        assert self.resource_type is not None
        resolved = resolve(self.resource_type, path)
        if isinstance(resolved, ResolvedAttr):
            return resolved
        if getattr(resolved, "malformed", False):
            self.problem(f"{path} is not a valid attribute path here")
        return None

    def top_getter(self, resolved: ResolvedAttr) -> _Getter:
        name = resolved.attribute.name
        extension = resolved.extension
        if extension is None:
            return lambda r: lookup(r, name)

        def get(resource: Resource) -> object:
            container = lookup(resource, extension)
            return lookup(container, name) if isinstance(container, Mapping) else None

        return get

    def access(
        self, path: AttrPath, scope: Attribute | None
    ) -> tuple[_Getter, Attribute | None, bool]:
        """A getter for the raw value at ``path``, the values' attribute, and custom-ness."""
        if scope is not None:
            sub = scope.sub(path.attr) if path.urn is None and path.sub_attr is None else None
            if sub is None:
                if path.urn is not None or path.sub_attr is not None:
                    self.problem(f"{path} is not a sub-attribute of {scope.name}")
                return _none, None, False
            sub_name = sub.name
            return (lambda e: lookup(e, sub_name)), sub, False
        resolved = self.resolve(path)
        if resolved is None:
            return _none, None, False
        top = self.top_getter(resolved)
        if resolved.sub_attribute is None:
            return top, resolved.attribute, resolved.custom
        sub_name = resolved.sub_attribute.name

        def get(resource: Resource) -> object:
            raw = top(resource)
            if raw is None:
                return None
            if is_lazy(raw):
                return raw if sub_name == "value" else None
            items = raw if isinstance(raw, list | tuple) else (raw,)
            values = [
                value
                for item in items
                if isinstance(item, Mapping) and (value := lookup(item, sub_name)) is not None
            ]
            return values or None

        return get, resolved.sub_attribute, False

    # --- comparisons -------------------------------------------------------------------

    def compare_test(self, node: Compare, target: Attribute | None, custom: bool) -> _Test:
        op, value = node.op, node.value
        if op not in COMPARE_OPS:
            self.problem(f"unknown operator {op!r}")
            return _never
        if op == "ne":
            equal = self.compare_test(Compare(node.path, "eq", value), target, custom)
            return lambda raw: not equal(raw)
        if value is None:
            if op != "eq":
                self.problem(f"only eq and ne can compare with null: {to_string(node)}")
                return _never
            return lambda raw: not _present(raw)
        via_value = target is not None and target.type == "complex"
        scalar_attr = target.sub("value") if via_value and target is not None else target
        if via_value and scalar_attr is None:
            self.problem(f"{node.path} is complex and has no value to compare: {to_string(node)}")
            return _never
        scalar = self.scalar(op, value, None if custom else scalar_attr, node)
        if scalar is None:
            return _never
        fast: Callable[[MemberSet], bool] | None = None
        if (
            op == "eq"
            and isinstance(value, str)
            and scalar_attr is not None
            and scalar_attr.case_exact
            and scalar_attr.type == "string"
        ):
            fast = lambda members: value in members  # noqa: E731

        def test(raw: object) -> bool:
            if raw is None:
                return False
            if is_lazy(raw):
                if fast is not None:
                    return fast(raw)
                raw = [{"value": item} for item in raw] if via_value else list(raw)
            items = raw if isinstance(raw, list | tuple) else (raw,)
            for item in items:
                if via_value:
                    is_map = type(item) is dict or isinstance(item, Mapping)
                    item = lookup(item, "value") if is_map else None
                if item is not None and scalar(item):
                    return True
            return False

        return test

    def scalar(
        self, op: str, value: ScimValue, attribute: Attribute | None, node: Compare
    ) -> _Test | None:
        """A predicate on one stored value, or None if the comparison can never match."""
        kind = attribute.type if attribute is not None else "any"
        where = to_string(node)
        if kind in ("string", "reference", "binary"):
            assert attribute is not None
            if isinstance(value, bool | float):
                self.problem(f"{node.path} is a string; compare it with a string: {where}")
                return None
            text = str(value)
            exact = attribute.case_exact or kind == "binary"
            if kind == "binary" and op not in ("eq", "co", "sw", "ew"):
                self.problem(f"{op} is not supported for binary attributes: {where}")
                return None
            return _string_test(op, text, exact)
        if kind == "boolean":
            flag = _as_bool(value)
            if op != "eq" or flag is None:
                self.problem(f"{node.path} is a boolean: only eq/ne with true or false: {where}")
                return None
            return lambda x: _as_bool(x) is flag
        if kind in ("integer", "decimal"):
            number = _number_value(value)
            if number is None or op in _SUBSTRING:
                self.problem(f"{node.path} is a number: {op} {value!r} is not supported: {where}")
                return None
            compare_number = _order(op, float)
            return lambda x: _is_number(x) and compare_number(x, number)
        if kind == "dateTime":
            if op in _SUBSTRING:
                if not isinstance(value, str):
                    self.problem(f"{node.path} is a dateTime; compare it with a string: {where}")
                    return None
                return _string_test(op, value, False)
            instant = parse_datetime(value)
            if instant is None:
                self.problem(f"{value!r} is not an ISO-8601 dateTime: {where}")
                return None
            compare_time = _order(op, datetime)
            return lambda x: (
                (parsed := parse_datetime(x)) is not None and compare_time(parsed, instant)
            )
        if kind == "complex":
            self.problem(f"{node.path} is complex: {where}")
            return None
        return _any_test(op, value)


def _number_value(value: ScimValue) -> int | float | None:
    if _is_number(value):
        assert isinstance(value, int | float)
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            return None
        return number if number == number and abs(number) != float("inf") else None
    return None


def _string_test(op: str, text: str, exact: bool) -> _Test:
    """Compare stored strings with ``text``: as sent if ``exact``, else by caseless key."""
    wanted = text if exact else caseless(text)
    check = _SUBSTRING[op] if op in _SUBSTRING else _order(op, str)
    if exact:
        return lambda x: isinstance(x, str) and check(x, wanted)
    return lambda x: isinstance(x, str) and check(caseless(x), wanted)


def _any_test(op: str, value: ScimValue) -> _Test | None:
    """Comparison for custom extension attributes: any JSON; strings ignore case; ``eq``
    between a string and a stored number or boolean (or the reverse) compares their text."""
    if isinstance(value, bool):
        return (lambda x: _as_bool(x) is value) if op == "eq" else None
    if isinstance(value, str):
        text_test = _string_test(op, value, False)
        if op != "eq":
            return text_test
        folded = caseless(value)

        def loose(x: object) -> bool:
            if isinstance(x, bool):
                return ("true" if x else "false") == folded
            if _is_number(x):
                return str(x) == folded
            return text_test(x)

        return loose
    assert value is not None
    if op in _SUBSTRING:
        return None
    compare = _order(op, float)
    number = value
    as_text = caseless(str(value))

    def test(x: object) -> bool:
        if _is_number(x):
            return compare(x, number)
        return op == "eq" and isinstance(x, str) and caseless(x) == as_text

    return test


def _never(_: object) -> bool:
    return False


def _none(_: object) -> None:
    return None


# The printed filter is part of each cache key: the AST alone would not do, because
# Compare(p, "eq", True) == Compare(p, "eq", 1) in Python (and they hash alike).


@lru_cache(maxsize=1024)
def _compile_cached(_key: str, node: Filter, resource_type: ResourceType) -> Matcher:
    return _Compiler(resource_type, strict=False).compile(node, None)


@lru_cache(maxsize=1024)
def _compile_element_cached(_key: str, node: Filter, attribute: Attribute) -> Matcher:
    return _Compiler(None, strict=False).compile(node, attribute)


# The same filter object is usually evaluated against many resources in a row: remember
# the last few by identity (holding a reference keeps the id from being reused).
_RECENT: dict[tuple[int, int], tuple[Filter, ResourceType, Matcher]] = {}


def compile_filter(node: Filter, resource_type: ResourceType) -> Matcher:
    """A cached predicate ``resource -> bool`` for ``node`` (lenient; never raises on data)."""
    key = (id(node), id(resource_type))
    hit = _RECENT.get(key)
    if hit is not None and hit[0] is node and hit[1] is resource_type:
        return hit[2]
    matcher = _compile_cached(to_string(node), node, resource_type)
    if len(_RECENT) >= 64:
        _RECENT.clear()
    _RECENT[key] = (node, resource_type, matcher)
    return matcher


def compile_element_filter(node: Filter, attribute: Attribute) -> Matcher:
    """A cached predicate over one element of the complex ``attribute`` (``emails[…]``)."""
    return _compile_element_cached(to_string(node), node, attribute)


def matches(node: Filter, resource: Resource, resource_type: ResourceType) -> bool:
    """Whether ``resource`` (SCIM JSON or canonical document) matches the filter."""
    return compile_filter(node, resource_type)(resource)


def validate_filter(node: Filter, resource_type: ResourceType) -> None:
    """Raise InvalidFilter for comparisons the RFC forbids; unknown attributes are allowed."""
    try:
        _Compiler(resource_type, strict=True).compile(node, None)
    except _Problem as problem:
        raise InvalidFilter(str(problem)) from None


# --- planner helper ----------------------------------------------------------------------


def _canonical_attr_path(
    path: AttrPath, resource_type: ResourceType, *, default_value: bool
) -> AttrPath:
    resolved = resolve(resource_type, path)
    if not isinstance(resolved, ResolvedAttr) or resolved.custom:
        return path
    attribute, sub = resolved.attribute, resolved.sub_attribute
    sub_name = sub.name if sub is not None else None
    if (
        sub_name is None
        and default_value
        and attribute.type == "complex"
        and attribute.sub("value")
    ):
        sub_name = "value"
    return AttrPath(resolved.extension, attribute.name, sub_name)


def _canonical_inner(node: Filter, attribute: Attribute) -> Filter:
    if isinstance(node, And | Or):
        return type(node)(tuple(_canonical_inner(term, attribute) for term in node.terms))
    if isinstance(node, Not):
        return Not(_canonical_inner(node.filter, attribute))
    if isinstance(node, Compare | Present) and isinstance(node.path, AttrPath):
        sub = attribute.sub(node.path.attr) if node.path.urn is None else None
        if sub is not None and node.path.sub_attr is None:
            path = AttrPath(None, sub.name)
            return (
                Compare(path, node.op, node.value) if isinstance(node, Compare) else Present(path)
            )
    return node


def _canonical_path(path: Path, resource_type: ResourceType) -> Path:
    if isinstance(path, AttrPath):
        return _canonical_attr_path(path, resource_type, default_value=True)
    outer = _canonical_attr_path(path.path, resource_type, default_value=False)
    resolved = resolve(resource_type, path.path)
    if not isinstance(resolved, ResolvedAttr) or resolved.custom or resolved.sub_attribute:
        return ValueFilter(outer, path.filter, path.sub_attr)
    attribute = resolved.attribute
    sub_attr = path.sub_attr
    if sub_attr is not None and (sub := attribute.sub(sub_attr)) is not None:
        sub_attr = sub.name
    return ValueFilter(outer, _canonical_inner(path.filter, attribute), sub_attr)


def equality_terms(node: Filter, resource_type: ResourceType) -> list[tuple[Path, ScimValue]]:
    """The top-level AND-ed ``eq`` terms of ``node``, with canonical paths.

    Paths come back in canonical case with core URNs dropped; a complex attribute with a
    ``value`` sub-attribute gains ``.value`` (``members eq "u"`` → ``members.value``);
    ``emails[type eq "work"].value eq "x"`` comes back as a :class:`ValueFilter` path.
    Values are as written. A storage layer may use these to pick candidates from an
    index, then MUST re-check each candidate with :func:`matches`. Anything under ``or``
    or ``not`` is not returned (an empty list means: scan).
    """
    stack: list[Filter] = [node]
    found: list[tuple[Path, ScimValue]] = []
    while stack:
        current = stack.pop()
        if isinstance(current, And):
            stack.extend(reversed(current.terms))
        elif isinstance(current, Compare) and current.op == "eq":
            found.append((_canonical_path(current.path, resource_type), current.value))
    return found
