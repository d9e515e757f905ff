"""Every user-facing string in the code has a translation in both catalogs, and the .mo files are current."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("vi", "en")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
TAG = re.compile(r"</?[a-z-]+[^>]*>")


def strings_in_code() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "official_": None, "citizen_": None}
    found: set[str] = set()
    for folder in ("bot", "handlers"):
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=keywords
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.fixture(scope="module")
def code_strings() -> set[str]:
    strings = strings_in_code()
    assert len(strings) > 100  # the extraction itself works
    return strings


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_string_is_translated(lang: str, code_strings: set[str]) -> None:
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    missing = sorted(s for s in code_strings if s not in catalog or not catalog[s].string)
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert not missing, f"{lang}: untranslated: {missing}"
    assert not fuzzy, f"{lang}: fuzzy: {fuzzy}"
    for message in catalog:
        if not message.id:
            continue
        assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string)), message.id
        assert sorted(TAG.findall(message.id)) == sorted(TAG.findall(message.string)), message.id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_matches_the_po_file(lang: str, code_strings: set[str]) -> None:
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    compiled = gettext.translation("messages", localedir=ROOT / "locales", languages=[lang])
    stale = [m.id for m in catalog if m.id and compiled.gettext(m.id) != m.string]
    assert not stale, f"{lang}: run ./dev i18n to recompile: {stale[:5]}"


def test_vietnamese_differs_from_english(code_strings: set[str]) -> None:
    compiled = gettext.translation("messages", localedir=ROOT / "locales", languages=["vi"])
    same = [s for s in code_strings if compiled.gettext(s) == s and re.search(r"[a-z]{4}", s)]
    assert len(same) < len(code_strings) * 0.05, same
