"""The caseless key and the identifier rules (zero_scim.scim.text)."""

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from zero_scim.kube.names import username_key
from zero_scim.scim import caseless
from zero_scim.scim.text import blank, control_character, describe_character

# Text that exercises normalisation: Latin/Greek letters, combining marks, ypogegrammeni,
# letters whose full case folding expands or decomposes, ASCII.
_TRICKY = (
    "aAeEiIjJsSwWyYtThH\u00df\u1e9e\u0130\u0131\u01f0\u0390\u03b0\u1e96\u1fb6\u1fb7\u03b9"
    "\u0399\u03c5\u1f50\u0300\u0301\u0308\u030a\u030c\u0331\u0342\u0345\u0323\u00e9\u00c9"
)
tricky_text = st.text(alphabet=st.sampled_from(_TRICKY), max_size=12)
any_text = st.text(max_size=24)


def nfc(text):
    return unicodedata.normalize("NFC", text)


def nfd(text):
    return unicodedata.normalize("NFD", text)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Zoë", "zoe\u0308"),  # NFC vs NFD
        ("ZOË", "zoë"),
        ("Straße", "STRASSE"),  # full case folding
        ("\u00c5ngstr\u00f6m", "A\u030angstro\u0308m"),
        ("\u212b", "\u00e5"),  # ANGSTROM SIGN is canonically A-ring
        ("\u01f0", "J\u030c"),  # folding decomposes: the key is NFC again
        ("ΣΊΣΥΦΟΣ", "σίσυφος"),
        ("Bjensen@Example.COM", "bjensen@example.com"),
    ],
)
def test_equivalent_spellings_share_a_key(left, right):
    assert caseless(left) == caseless(right)


@pytest.mark.parametrize(("left", "right"), [("a", "b"), ("é", "e"), ("ss", "s"), ("i", "\u0131")])
def test_different_text_keeps_different_keys(left, right):
    assert caseless(left) != caseless(right)


@settings(max_examples=500, deadline=None)
@given(any_text | tricky_text)
@example("\u1fb6\u0300\u0345")  # NFC-then-casefold alone is not idempotent here
@example("J\u030c\u0323")
def test_caseless_is_idempotent_and_nfc(text):
    key = caseless(text)
    assert caseless(key) == key
    assert nfc(key) == key


@settings(max_examples=500, deadline=None)
@given(any_text | tricky_text)
def test_canonical_equivalents_agree(text):
    key = caseless(text)
    assert caseless(nfd(text)) == key
    assert caseless(nfc(text)) == key


@settings(max_examples=500, deadline=None)
@given(any_text | tricky_text)
def test_object_names_do_not_move_for_ordinary_text(text):
    """Where NFC + case folding is already NFC — all ASCII and nearly all real text —
    the key is the one ScimUser object names were derived from before."""
    folded = nfc(text).casefold()
    if nfc(folded) == folded:
        assert caseless(text) == folded == username_key(text)


def test_the_keys_that_change_are_exotic():
    # Full case folding leaves these outside NFC; the key now recomposes them.
    assert caseless("\u01f0") == "\u01f0" != nfc("\u01f0").casefold()
    assert caseless("\u0390") == "\u0390"
    assert all(caseless(c) == c.lower() for c in map(chr, range(128)))


@pytest.mark.parametrize(
    "char",
    [
        "\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85",  # Cc
        "\u202e", "\u202a", "\u2066", "\u200b", "\u200d", "\u200e", "\ufeff", "\U000e0041",  # Cf
        "\u2028", "\u2029",  # Zl, Zp
    ],
)  # fmt: skip
def test_control_and_format_characters_are_found(char):
    assert control_character(f"ab{char}cd") == char
    assert control_character(char) == char


@pytest.mark.parametrize(
    "text", ["bjensen@example.com", "Zoë Ünal", "日本語", "🚀 launch", "a b", ""]
)
def test_ordinary_text_has_no_control_character(text):
    assert control_character(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", True), ("   ", True), ("\t\u3000\u00a0", True), (" a ", False), ("\u200b", False)],
)
def test_blank(text, expected):
    assert blank(text) is expected


def test_characters_are_named_for_details():
    assert describe_character("\u202e") == "U+202E (RIGHT-TO-LEFT OVERRIDE)"
    assert describe_character("\x00") == "U+0000"
