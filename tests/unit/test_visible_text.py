"""The one rule for "this required text shows nothing" (bot.domain.visible_text)."""

from __future__ import annotations

import unicodedata

import pytest

from bot.domain.visible_text import is_visibly_empty, visible_length

INVISIBLE = [
    "\u3164",  # HANGUL FILLER "ㅤ"
    "\uffa0",  # HALFWIDTH HANGUL FILLER
    "\u115f",  # HANGUL CHOSEONG FILLER
    "\u1160",  # HANGUL JUNGSEONG FILLER
    "\u200b",  # ZERO WIDTH SPACE
    "\u200c",  # ZERO WIDTH NON-JOINER
    "\u200d",  # ZERO WIDTH JOINER
    "\u2060",  # WORD JOINER
    "\ufeff",  # ZERO WIDTH NO-BREAK SPACE
    "\u2800",  # BRAILLE PATTERN BLANK
    "\u00a0",  # NO-BREAK SPACE
    "\u3000",  # IDEOGRAPHIC SPACE
    "\u00ad",  # SOFT HYPHEN
    "\u180e",  # MONGOLIAN VOWEL SEPARATOR
    "\u034f",  # COMBINING GRAPHEME JOINER
    "\u200e\u200f\u202a\u202e\u2066\u2069",  # direction marks and embeddings
    "\ufe0f",  # a variation selector alone
    "\U000e0020",  # TAG SPACE
    "\u0301",  # a combining accent with nothing to sit on
    "\t\n\r \x00\x7f",
]


@pytest.mark.parametrize("text", [None, "", *INVISIBLE, "".join(INVISIBLE)])
def test_invisible_texts_are_empty(text: str | None) -> None:
    assert is_visibly_empty(text)
    assert visible_length(text) == 0


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Đã xử lý", 8),  # spaces between words count
        ("  \u3164ok\u3164\u200b ", 2),
        ("a\u200bb\u2800c", 3),
        ("👍", 1),
        (".", 1),
        ("0", 1),
        ("ㅋ", 1),  # a real Hangul letter is visible
    ],
)
def test_visible_texts(text: str, length: int) -> None:
    assert not is_visibly_empty(text)
    assert visible_length(text) == length


def test_every_whitespace_character_is_invisible() -> None:
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    assert len(spaces) > 20
    assert all(is_visibly_empty(c) for c in spaces), [
        unicodedata.name(c, hex(ord(c))) for c in spaces if not is_visibly_empty(c)
    ]
