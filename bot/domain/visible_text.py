"""Whether a text shows anything: the one rule for "this required text is empty".

``str.strip()`` only removes whitespace; a note of Hangul fillers (U+3164 "ㅤ"), zero-width spaces or
braille blanks is not whitespace to Python, yet shows nothing. A character counts as *visible* when it
is a letter, digit, punctuation mark or symbol that is not one of the blank "filler" characters;
spaces, format and control characters, and combining marks on their own (they add to a visible
character, they show nothing alone) do not count.
"""

from __future__ import annotations

import unicodedata

# Letters and symbols that are drawn as empty space (used to fake an empty name or message).
BLANK_CHARACTERS = frozenset(
    "\u115f"  # HANGUL CHOSEONG FILLER
    "\u1160"  # HANGUL JUNGSEONG FILLER
    "\u3164"  # HANGUL FILLER
    "\uffa0"  # HALFWIDTH HANGUL FILLER
    "\u2800"  # BRAILLE PATTERN BLANK
    "\U0001d159"  # MUSICAL SYMBOL NULL NOTEHEAD
    "\U0001d173\U0001d174\U0001d175\U0001d176\U0001d177\U0001d178\U0001d179\U0001d17a"  # musical format
)
_VISIBLE_CATEGORIES = frozenset("LNPS")  # letters, numbers, punctuation, symbols
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs"})  # controls, formats, unassigned, private


def is_visible(char: str) -> bool:
    """Whether one character draws something by itself."""
    return char not in BLANK_CHARACTERS and unicodedata.category(char)[0] in _VISIBLE_CATEGORIES


def _is_hidden(char: str) -> bool:
    """A character that is neither seen nor a space a reader notices (zero-width, format, fillers)."""
    return not char.isspace() and (
        char in BLANK_CHARACTERS or unicodedata.category(char) in _HIDDEN_CATEGORIES
    )


def visible_length(text: str | None) -> int:
    """The length a reader sees: ``text`` without its hidden characters and surrounding spaces (what a
    minimum length counts; spaces between words count, as they always did)."""
    if is_visibly_empty(text):
        return 0
    return len("".join(char for char in text or "" if not _is_hidden(char)).strip())


def is_visibly_empty(text: str | None) -> bool:
    """Whether ``text`` shows nothing: None, empty, or only spaces and invisible characters."""
    return not any(is_visible(char) for char in text or "")
