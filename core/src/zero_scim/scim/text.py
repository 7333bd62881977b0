"""Text rules: the one caseless normalisation, and what an identifier may contain.

:func:`caseless` is the form in which every case-insensitive comparison of this project is
made — filter evaluation of ``caseExact: false`` attributes (``eq``, ``ne``, ``co``,
``sw``, ``ew`` and the orderings, both operands), sorting, ``userName`` uniqueness (the
ScimUser object name is derived from it, ``zero_scim.kube.names``) and the API's index
keys. It is NFC, then Unicode full case folding, then NFC again:

* NFC first, so canonically equivalent spellings (``"é"`` as U+00E9 or as ``e`` + U+0301)
  get one key: a user created in NFD is found by the NFC spelling and vice versa;
* case folding (``str.casefold``: ``ß`` → ``ss``, ``İ`` → ``i̇``), not lower-casing;
* NFC again, because full case folding can leave a string that is not NFC (``ǰ`` folds to
  ``j`` + U+030C, ``J`` + U+030C folds to the same): the key is always NFC, and
  ``caseless(caseless(s)) == caseless(s)``.

For every string whose case-folded NFC form is already NFC — all ASCII, and all text
except a few Latin and Greek letters with combining marks — the key equals the earlier
``NFC(s).casefold()``, so object names derived from it did not change (an Entra
``userPrincipalName`` is ASCII).

Identifiers (RFC 7643 §2.1 leaves their content to the service provider):

* :func:`control_character` finds what an identifier must not contain: control characters
  (category Cc: NUL, CR, LF, DEL, C1 controls), format characters (Cf: the bidirectional
  overrides and isolates such as U+202E, zero-width joiners, BOM, tag characters) and the
  line/paragraph separators U+2028/U+2029 — invisible or line-breaking characters that
  make two identifiers look alike or break logs and downstream systems;
* :func:`blank` says whether a value has nothing but white space.

Which attributes these rules apply to is decided in ``zero_scim.scim.resources``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["blank", "caseless", "control_character", "describe_character"]

_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp"})
_ASCII_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def caseless(text: str) -> str:
    """The caseless key of ``text``: NFC, full case folding, NFC (see the module doc)."""
    if text.isascii():
        return text.lower()  # ASCII: NFC is the identity and folding is lower-casing
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def control_character(text: str) -> str | None:
    """The first character of ``text`` an identifier must not contain, else None."""
    if text.isascii():
        found = _ASCII_CONTROL.search(text)
        return found.group() if found is not None else None
    for char in text:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return char
    return None


def blank(text: str) -> bool:
    """Whether ``text`` is empty or white space only (Unicode white space, as ``str.strip``)."""
    return not text.strip()


def describe_character(char: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``: a character named for an error detail."""
    name = unicodedata.name(char, "")
    code = f"U+{ord(char):04X}"
    return f"{code} ({name})" if name else code
