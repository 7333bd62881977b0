"""The SCIM filter language (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): AST, parser, printer.

Grammar (keywords and operators are case-insensitive; ``not`` binds tighter than ``and``,
which binds tighter than ``or``)::

    filter    = or
    or        = and *("or" and)
    and       = unary *("and" unary)
    unary     = "not" "(" filter ")" / "(" filter ")" / term
    term      = attrPath ("pr" / compareOp compValue)
              / attrPath "[" valFilter "]"
              / attrPath "[" valFilter "]" "." subAttr ("pr" / compareOp compValue)
    valFilter = the same grammar without nested "[ ]"
    compValue = JSON string / number / true / false / null

The last ``term`` form is Entra's ``emails[type eq "work"].value eq "x"``: true when one
element matches the bracketed filter *and* its sub-attribute matches the comparison.

Decisions: separators are ASCII whitespace; an unquoted word in value position that is not
``true``/``false``/``null`` or a JSON number is read as a string (Entra's documented
examples E29/E32 print ``externalId eq jyoung``); string literals take JSON escapes, raw
control characters are allowed, lone surrogates are not. ``and``/``or`` chains are n-ary.

Limits protect the server (all keyword parameters): ``max_length`` characters (default
4,096), ``max_depth`` nesting levels (32; parentheses, ``not``, brackets) and
``max_terms`` comparisons (256). Every failure, for any input string, is an
:class:`InvalidFilter` (or :class:`InvalidPath` from :func:`parse_path`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal, NoReturn, TypeAlias

from zero_scim.scim.errors import InvalidFilter, InvalidPath, ScimError, quote
from zero_scim.scim.paths import AttrPath, try_attr_path

__all__ = [
    "COMPARE_OPS",
    "MAX_DEPTH",
    "MAX_FILTER_LENGTH",
    "MAX_TERMS",
    "And",
    "Compare",
    "CompareOp",
    "Filter",
    "Not",
    "Or",
    "Path",
    "Present",
    "ScimValue",
    "ValueFilter",
    "parse_filter",
    "parse_path",
    "to_string",
]

CompareOp: TypeAlias = Literal["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
ScimValue: TypeAlias = str | bool | int | float | None

COMPARE_OPS: Final[frozenset[str]] = frozenset(
    {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
)
MAX_FILTER_LENGTH: Final = 4096
MAX_DEPTH: Final = 32
MAX_TERMS: Final = 256


@dataclass(frozen=True, slots=True)
class ValueFilter:
    """``path[filter]`` or ``path[filter].sub_attr``; the inner filter's paths are relative."""

    path: AttrPath
    filter: Filter
    sub_attr: str | None = None


@dataclass(frozen=True, slots=True)
class Compare:
    """``path op value``."""

    path: AttrPath | ValueFilter
    op: CompareOp
    value: ScimValue


@dataclass(frozen=True, slots=True)
class Present:
    """``path pr``."""

    path: AttrPath | ValueFilter


@dataclass(frozen=True, slots=True)
class And:
    """All ``terms`` match."""

    terms: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one of ``terms`` matches."""

    terms: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``not (filter)``."""

    filter: Filter


Filter: TypeAlias = Compare | Present | And | Or | Not | ValueFilter
Path: TypeAlias = AttrPath | ValueFilter


# --- lexer -----------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<punct>[()\[\]])
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<bad>")
  | (?P<word>[^ \t\r\n()\[\]"]+)
    """,
    re.VERBOSE | re.DOTALL,
)
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SUB_ATTR_RE = re.compile(r"\.(\$ref|[A-Za-z][A-Za-z0-9_-]*)")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["(", ")", "[", "]", "str", "word", "end"]
    text: str
    pos: int
    value: str = ""


def _tokenize(text: str, error: type[ScimError]) -> Iterator[_Token]:
    """Tokens on demand, so that a limit stops a hostile input before it is all scanned."""
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup
        pos = match.start()
        if kind == "ws":
            continue
        if kind == "punct":
            yield _Token(match.group(), match.group(), pos)  # type: ignore[arg-type]
        elif kind == "str":
            yield _Token("str", match.group(), pos, _decode_string(match.group(), pos, error))
        elif kind == "bad":
            raise error(f"unterminated string starting at position {pos}")
        else:
            yield _Token("word", match.group(), pos)
    yield _Token("end", "", len(text))


def _decode_string(literal: str, pos: int, error: type[ScimError]) -> str:
    try:
        value = json.loads(literal, strict=False)
    except ValueError:
        raise error(f"invalid escape in string at position {pos}") from None
    assert isinstance(value, str)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"string at position {pos} contains a lone surrogate") from None
    return value


# --- parser ----------------------------------------------------------------------------


class _Parser:
    def __init__(
        self,
        text: str,
        error: type[ScimError],
        max_depth: int = MAX_DEPTH,
        max_terms: int = MAX_TERMS,
    ) -> None:
        self.error = error
        self.max_depth = max_depth
        self.max_terms = max_terms
        self.stream = _tokenize(text, error)
        self.ahead: list[_Token] = []
        self.depth = 0
        self.terms = 0

    # helpers
    def peek(self, offset: int = 0) -> _Token:
        while len(self.ahead) <= offset:
            if self.ahead and self.ahead[-1].kind == "end":
                return self.ahead[-1]
            self.ahead.append(next(self.stream))
        return self.ahead[offset]

    def next(self) -> _Token:
        token = self.peek()
        if token.kind != "end":
            self.ahead.pop(0)
        return token

    def fail(self, message: str, token: _Token) -> NoReturn:
        found = "end of input" if token.kind == "end" else quote(token.text, 40)
        raise self.error(f"{message} at position {token.pos}, found {found}")

    def keyword(self, token: _Token, *words: str) -> bool:
        return token.kind == "word" and token.text.lower() in words

    def expect(self, kind: str, what: str) -> _Token:
        token = self.next()
        if token.kind != kind:
            self.fail(f"expected {what}", token)
        return token

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self.error(
                f"filter nests deeper than {self.max_depth} levels at position {token.pos}"
            )

    def count_term(self, token: _Token) -> None:
        self.terms += 1
        if self.terms > self.max_terms:
            raise self.error(f"filter has more than {self.max_terms} terms (position {token.pos})")

    # grammar
    def parse_filter(self) -> Filter:
        if self.peek().kind == "end":
            raise self.error("the filter is empty")
        result = self.or_expr(inner=False)
        token = self.peek()
        if token.kind != "end":
            self.fail("expected 'and', 'or' or the end of the filter", token)
        return result

    def or_expr(self, *, inner: bool) -> Filter:
        terms = [self.and_expr(inner=inner)]
        while self.keyword(self.peek(), "or"):
            self.next()
            terms.append(self.and_expr(inner=inner))
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def and_expr(self, *, inner: bool) -> Filter:
        terms = [self.unary(inner=inner)]
        while self.keyword(self.peek(), "and"):
            self.next()
            terms.append(self.unary(inner=inner))
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def unary(self, *, inner: bool) -> Filter:
        token = self.peek()
        if self.keyword(token, "not") and self.peek(1).kind == "(":
            self.next()
            self.enter(token)
            self.next()
            result: Filter = Not(self.or_expr(inner=inner))
            self.expect(")", "')'")
            self.depth -= 1
            return result
        if token.kind == "(":
            self.next()
            self.enter(token)
            result = self.or_expr(inner=inner)
            self.expect(")", "')'")
            self.depth -= 1
            return result
        return self.term(inner=inner)

    def attr_path(self) -> AttrPath:
        token = self.next()
        if token.kind != "word":
            self.fail("expected an attribute path", token)
        path = try_attr_path(token.text)
        if path is None:
            self.fail("expected an attribute path", token)
        return path

    def term(self, *, inner: bool) -> Filter:
        start = self.peek()
        path: AttrPath | ValueFilter = self.attr_path()
        self.count_term(start)
        if self.peek().kind == "[":
            bracket = self.next()
            if inner:
                raise self.error(f"value filters cannot be nested (position {bracket.pos})")
            assert isinstance(path, AttrPath)
            self.enter(bracket)
            inner_filter = self.or_expr(inner=True)
            self.expect("]", "']'")
            self.depth -= 1
            sub_token = self.peek()
            if not (sub_token.kind == "word" and sub_token.text.startswith(".")):
                return ValueFilter(path, inner_filter)
            self.next()
            sub = _SUB_ATTR_RE.fullmatch(sub_token.text)
            if sub is None:
                self.fail("expected '.subAttribute' after ']'", sub_token)
            path = ValueFilter(path, inner_filter, sub.group(1))
        op_token = self.next()
        if op_token.kind != "word":
            self.fail(f"expected an operator after {quote(str(_path_text(path)), 40)}", op_token)
        op = op_token.text.lower()
        if op == "pr":
            return Present(path)
        if op not in COMPARE_OPS:
            self.fail("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)", op_token)
        return Compare(path, op, self.value())  # type: ignore[arg-type]

    def value(self) -> ScimValue:
        token = self.next()
        if token.kind == "str":
            return token.value
        if token.kind != "word":
            self.fail("expected a value", token)
        lowered = token.text.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        if lowered == "null":
            return None
        if _NUMBER_RE.fullmatch(token.text):
            return _number(token, self.error)
        return token.text

    def parse_path(self) -> Path:
        start = self.peek()
        if start.kind == "end":
            raise self.error("the path is empty")
        path = self.attr_path()
        if self.peek().kind == "[":
            bracket = self.next()
            self.enter(bracket)
            inner_filter = self.or_expr(inner=True)
            self.expect("]", "']'")
            self.depth -= 1
            sub_attr: str | None = None
            token = self.peek()
            if token.kind == "word" and token.text.startswith("."):
                self.next()
                sub = _SUB_ATTR_RE.fullmatch(token.text)
                if sub is None:
                    self.fail("expected '.subAttribute' after ']'", token)
                sub_attr = sub.group(1)
            result: Path = ValueFilter(path, inner_filter, sub_attr)
        else:
            result = path
        token = self.peek()
        if token.kind != "end":
            self.fail("unexpected text after the path", token)
        return result


def _number(token: _Token, error: type[ScimError]) -> int | float:
    text = token.text
    try:
        if any(c in text for c in ".eE"):
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(text)
            return number
        return int(text)
    except ValueError:
        raise error(f"number out of range at position {token.pos}") from None


def _check_length(text: object, max_length: int, error: type[ScimError], what: str) -> str:
    if not isinstance(text, str):
        raise error(f"the {what} must be a string")
    if len(text) > max_length:
        raise error(f"the {what} is longer than {max_length} characters")
    return text


#: ``attr[.sub] eq "plain string"`` — the shape of nearly every Entra query. Only
#: strings without escapes or control characters take this path; the result is the
#: node the full parser would build (a property test compares the two).
_SIMPLE_EQ = re.compile(
    r' *([A-Za-z][\w$-]*(?:\.[A-Za-z][\w$-]*)?) +[eE][qQ] +"([^"\\\x00-\x1f\ud800-\udfff]*)" *'
)


def parse_filter(
    text: object,
    *,
    max_length: int = MAX_FILTER_LENGTH,
    max_depth: int = MAX_DEPTH,
    max_terms: int = MAX_TERMS,
) -> Filter:
    """Parse a filter expression; raise :class:`InvalidFilter` for anything invalid
    (a ``text`` that is not a string too)."""
    text = _check_length(text, max_length, InvalidFilter, "filter")
    simple = _SIMPLE_EQ.fullmatch(text)
    if simple is not None:  # Entra's probe, `userName eq "…"`: skip the tokenizer
        path = try_attr_path(simple.group(1))
        if path is not None:
            return Compare(path, "eq", simple.group(2))
    return _Parser(text, InvalidFilter, max_depth, max_terms).parse_filter()


def parse_path(text: str, *, max_length: int = MAX_FILTER_LENGTH) -> Path:
    """Parse a PATCH path (``attrPath`` or ``valuePath[.subAttr]``); errors are InvalidPath."""
    text = _check_length(text, max_length, InvalidPath, "path")
    return _Parser(text, InvalidPath).parse_path()


# --- printer ---------------------------------------------------------------------------


def _path_text(path: AttrPath | ValueFilter) -> str:
    if isinstance(path, AttrPath):
        return str(path)
    text = f"{path.path}[{to_string(path.filter)}]"
    return f"{text}.{path.sub_attr}" if path.sub_attr is not None else text


def _value_text(value: ScimValue) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _operand(node: Filter) -> str:
    text = to_string(node)
    return f"({text})" if isinstance(node, And | Or) else text


def to_string(node: Filter | Path) -> str:
    """Print a filter or path so that :func:`parse_filter` / :func:`parse_path` read it back."""
    if isinstance(node, AttrPath | ValueFilter):
        return _path_text(node)
    if isinstance(node, Compare):
        return f"{_path_text(node.path)} {node.op} {_value_text(node.value)}"
    if isinstance(node, Present):
        return f"{_path_text(node.path)} pr"
    if isinstance(node, And):
        return " and ".join(_operand(term) for term in node.terms)
    if isinstance(node, Or):
        return " or ".join(_operand(term) for term in node.terms)
    return f"not ({to_string(node.filter)})"
