"""Every translated string is valid Telegram HTML: the bot sends with parse_mode HTML by default, so a
stray ``<number>`` in a catalog makes Telegram refuse the whole message."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from emulator.errors import ApiError
from emulator.formatting import parse_html

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("vi", "en")
# What Telegram's HTML parse mode understands (https://core.telegram.org/bots/api#html-style).
ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
LESS_THAN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)?")


class _Sample:
    """A stand-in for any ``.format()`` argument, whatever its format spec."""

    def __format__(self, spec: str) -> str:
        return "7"


class _Arguments(dict[str, object]):
    def __missing__(self, key: str) -> object:
        return _Sample()


def formatted(text: str) -> str | None:
    """``text`` after ``.format()`` with sample values, or None when it is not a format string."""
    if not any(name for _literal, name, _spec, _conv in string.Formatter().parse(text)):
        return None
    try:
        return text.format_map(_Arguments())
    except (IndexError, KeyError, ValueError):
        return None


def problems(text: str) -> list[str]:
    """Why Telegram would refuse ``text`` sent as HTML (empty when it would accept it)."""
    found = []
    for match in LESS_THAN.finditer(text):
        if match.group(2) is None or match.group(2).lower() not in ALLOWED_TAGS:
            found.append(f"unescaped '<' at {match.start()}: {text[match.start() : match.start() + 20]!r}")
    for variant in (text, formatted(text)):
        if variant is None:
            continue
        try:
            parse_html(variant)
        except ApiError as exc:
            found.append(f"rejected by Telegram's parser: {exc}")
    return found


def catalog_texts() -> list[tuple[str, str, str]]:
    """(language, msgid, text) for every msgid and msgstr of both catalogs."""
    texts = []
    for lang in LANGUAGES:
        with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po)
        for message in catalog:
            if not message.id:
                continue
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            texts += [(lang, msgid, msgid)] + [(lang, msgid, s) for s in strings if s]
    return texts


def test_the_checker_catches_what_telegram_refuses() -> None:
    assert problems("Usage: /dialogue <number>")
    assert problems("<b>{title}")
    assert problems("a <br> b")
    assert not problems("Usage: /dialogue &lt;number&gt;, <b>{title}</b> <i>x</i> {count:,}")
    assert not problems('<a href="https://example.org">x</a> <blockquote>{note}</blockquote>')


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_translated_string_is_valid_telegram_html(lang: str) -> None:
    texts = [t for t in catalog_texts() if t[0] == lang]
    assert len(texts) > 200  # the catalogs were read
    bad = {f"{msgid!r} → {text!r}": problems(text) for _lang, msgid, text in texts if problems(text)}
    assert not bad, "\n".join(f"{k}: {v}" for k, v in bad.items())
