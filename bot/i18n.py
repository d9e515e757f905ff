"""Translations: gettext catalogs in ``locales/``, English msgids, Vietnamese first.

Code marks user-facing strings with ``_("...")`` (translated now) or ``N_("...")`` (translated later,
where the language is known); plurals use ``_n("one", "many", n)``. ``./dev i18n`` extracts, updates
and compiles the catalogs with Babel.

Numbers shown to people go through ``format_number`` / ``format_decimal`` / ``format_percent`` /
``format_hours`` (or the same methods of ``Gettext``): Vietnamese writes 3.500 and 87,5%, English 3,500
and 87.5%.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from babel.numbers import format_decimal as _babel_decimal
from babel.numbers import format_percent as _babel_percent
from babel.units import format_unit as _babel_unit

from bot.config import SUPPORTED_LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


NO_VALUE = "–"


def format_number(value: int | float, lang: str) -> str:
    """A whole number with the language's grouping: ``3.500`` (vi), ``3,500`` (en)."""
    return _babel_decimal(value, format="#,##0", locale=lang)


def format_decimal(value: float | None, lang: str, digits: int = 2) -> str:
    """A number with exactly ``digits`` decimals: ``4,00`` (vi), ``4.00`` (en); ``–`` for None."""
    if value is None:
        return NO_VALUE
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return _babel_decimal(value, format=pattern, locale=lang)


def format_percent(ratio: float | None, lang: str, digits: int = 1) -> str:
    """A ratio (0.875) as a percentage: ``87,5%`` (vi), ``87.5%`` (en); ``–`` for None."""
    if ratio is None:
        return NO_VALUE
    pattern = "#,##0." + "#" * digits + "%" if digits else "#,##0%"
    return _babel_percent(ratio, format=pattern, locale=lang)


def format_hours(hours: float | None, lang: str) -> str:
    """A duration in words: ``5,5 tiếng`` / ``5.5 hours``; ``3 ngày`` / ``3 days`` from two days up."""
    if hours is None:
        return NO_VALUE
    if hours >= 48:
        return _babel_unit(round(hours / 24, 1), "duration-day", format="#,##0.#", locale=lang)
    if hours < 1:  # under a minute is "within 1 minute", never "within 0 minutes"
        return _babel_unit(max(1, round(hours * 60)), "duration-minute", format="#,##0", locale=lang)
    return _babel_unit(round(hours, 1), "duration-hour", format="#,##0.#", locale=lang)


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

    def number(self, value: int | float) -> str:
        """``value`` with this language's digit grouping."""
        return format_number(value, self.lang)

    def decimal(self, value: float | None, digits: int = 2) -> str:
        """``value`` with ``digits`` decimals in this language."""
        return format_decimal(value, self.lang, digits)

    def percent(self, ratio: float | None, digits: int = 1) -> str:
        """``ratio`` as a percentage in this language."""
        return format_percent(ratio, self.lang, digits)

    def hours(self, hours: float | None) -> str:
        """A duration given in hours, in words of this language."""
        return format_hours(hours, self.lang)

    def __reduce__(self) -> tuple[Callable[[str], Gettext], tuple[str]]:
        """Pickled as its language (its catalog holds functions): rebuilt from the same catalogs in the
        process for heavy work (``bot.offload``)."""
        return _gettext_of, (self.lang,)


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


@functools.cache
def _gettext_of(lang: str) -> Gettext:
    return Translator()(lang)
