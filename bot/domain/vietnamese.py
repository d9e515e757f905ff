"""Vietnamese text normalisation for search and sorting.

Contract: every function is pure and total (any ``str`` in, a ``str``/``bool``/tuple out, never raises).
Two search forms are produced, both lowercase, with zero-width/format characters removed and any run of
whitespace or punctuation collapsed to one space:

* ``fold_ascii`` drops every diacritic (tone and vowel-shape marks, đ → d): "Cẩm Lộc" → "cam loc".
* ``canonical`` keeps the vowel-shape marks (â ă ê ô ơ ư) and đ but moves the tone of each syllable to a
  trailing digit, so the old ("hoà", "thuý", "khoẻ") and new ("hòa", "thúy", "khỏe") tone placements
  compare equal while different tones do not ("hòa" → "hoa2", "hóa" → "hoa1").

Tone digits (the VNI order): 1 sắc (á), 2 huyền (à), 3 hỏi (ả), 4 ngã (ã), 5 nặng (ạ); a syllable
without a tone mark (ngang) gets no digit. Input may be NFC or NFD (decomposed combining marks); the
legacy look-alike "Ð/ð" (U+00D0/U+00F0) is read as "Đ/đ".
"""

from __future__ import annotations

import unicodedata
from typing import Final, NamedTuple

__all__ = [
    "TONE_DIGITS",
    "Syllable",
    "canonical",
    "fold_ascii",
    "has_diacritics",
    "nfc",
    "search_tokens",
    "sort_key",
]

#: Combining tone mark → digit appended by :func:`canonical`.
TONE_DIGITS: Final[dict[str, str]] = {
    "\u0301": "1",  # sắc (acute)
    "\u0300": "2",  # huyền (grave)
    "\u0309": "3",  # hỏi (hook above)
    "\u0303": "4",  # ngã (tilde)
    "\u0323": "5",  # nặng (dot below)
}
# Vowel-shape marks kept by canonical(): circumflex (â ê ô), breve (ă), horn (ơ ư).
_SHAPE_MARKS: Final[frozenset[str]] = frozenset({"\u0302", "\u0306", "\u031b"})
_D_STROKE: Final[frozenset[str]] = frozenset({"đ", "ð"})


class Syllable(NamedTuple):
    """One search token in both forms: ``fold`` ("loc") and ``canon`` ("lôc5")."""

    fold: str
    canon: str


def nfc(text: str) -> str:
    """Return ``text`` in Unicode normalisation form C (composed)."""
    return unicodedata.normalize("NFC", text)


def search_tokens(text: str) -> tuple[Syllable, ...]:
    """Split ``text`` into tokens (runs of letters/digits), each in its folded and canonical form."""
    tokens: list[Syllable] = []
    fold: list[str] = []
    canon: list[str] = []
    tones: list[str] = []

    def flush() -> None:
        if fold:
            tokens.append(Syllable("".join(fold), nfc("".join(canon)) + "".join(tones)))
            fold.clear()
            canon.clear()
            tones.clear()

    for char in unicodedata.normalize("NFD", text.lower()):
        category = unicodedata.category(char)
        if category == "Cf":  # zero-width space/joiners, BOM, soft hyphen, direction marks
            continue
        if category.startswith("M"):
            if not fold:  # a stray mark without a base letter
                continue
            if char in TONE_DIGITS:
                tones.append(TONE_DIGITS[char])
            elif char in _SHAPE_MARKS:
                canon.append(char)
            continue
        if char.isalnum():
            if char in _D_STROKE:
                fold.append("d")
                canon.append("đ")
            else:
                fold.append(char)
                canon.append(char)
            continue
        flush()
    flush()
    return tuple(tokens)


def fold_ascii(text: str) -> str:
    """Lowercase, drop all diacritics (đ → d), strip zero-width characters, collapse separators."""
    return " ".join(token.fold for token in search_tokens(text))


def canonical(text: str) -> str:
    """Lowercase NFC form keeping vowel-shape marks, each syllable's tone moved to a trailing digit."""
    return " ".join(token.canon for token in search_tokens(text))


def has_diacritics(text: str) -> bool:
    """Whether ``text`` contains any Vietnamese diacritic (a combining mark once decomposed, or đ)."""
    return any(unicodedata.combining(char) or char in "đĐðÐ" for char in unicodedata.normalize("NFD", text))


def sort_key(text: str) -> tuple[str, str]:
    """Vietnamese-aware sort key: accent-less order first, then vowel shape and tone as tie-breakers."""
    tokens = search_tokens(text)
    return (" ".join(token.fold for token in tokens), " ".join(token.canon for token in tokens))
