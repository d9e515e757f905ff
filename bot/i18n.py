"""Translations: gettext catalogs in ``locales/``, English msgids, Vietnamese first.

Code marks user-facing strings with ``_("...")`` (translated now) or ``N_("...")`` (translated later,
where the language is known); plurals use ``_n("one", "many", n)``. ``./dev i18n`` extracts, updates
and compiles the catalogs with Babel.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from pathlib import Path

from bot.config import SUPPORTED_LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


@dataclass(frozen=True, slots=True)
class Gettext:
    """The translation functions of one language."""

    lang: str
    _translations: gettext.NullTranslations

    def __call__(self, message: str) -> str:
        """Translate ``message``."""
        return self._translations.gettext(message)

    def n(self, singular: str, plural: str, count: int) -> str:
        """Translate a message with a count."""
        return self._translations.ngettext(singular, plural, count)


class Translator:
    """Loads every catalog once and hands out per-language ``Gettext`` objects."""

    def __init__(self, default_language: str = "vi", locales_dir: Path = LOCALES_DIR) -> None:
        self.default_language = default_language
        self._by_lang: dict[str, Gettext] = {}
        for lang in SUPPORTED_LANGUAGES:
            translations = gettext.translation(DOMAIN, localedir=locales_dir, languages=[lang], fallback=True)
            self._by_lang[lang] = Gettext(lang, translations)

    def resolve(self, lang: str | None) -> str:
        """A supported language for ``lang`` (a stored choice or Telegram's language_code like 'en-US')."""
        if lang:
            base = lang.split("-")[0].split("_")[0].lower()
            if base in self._by_lang:
                return base
        return self.default_language

    def __call__(self, lang: str | None) -> Gettext:
        """The translation functions of ``lang`` (resolved to a supported language)."""
        return self._by_lang[self.resolve(lang)]
