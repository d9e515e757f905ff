"""Numbers, percentages, ratings and durations are written the way each language writes them."""

from __future__ import annotations

import pytest

from bot.i18n import Translator, format_decimal, format_hours, format_number, format_percent


@pytest.mark.parametrize(
    ("lang", "number", "percent", "rating", "hours", "days"),
    [
        ("vi", "3.500", "87,5%", "4,00", "12,5 tiếng", "3 ngày"),
        ("en", "3,500", "87.5%", "4.00", "12.5 hours", "3 days"),
    ],
)
def test_each_language_writes_numbers_its_own_way(
    lang: str, number: str, percent: str, rating: str, hours: str, days: str
) -> None:
    assert format_number(3500, lang) == number
    assert format_percent(0.875, lang) == percent
    assert format_decimal(4, lang) == rating
    assert format_hours(12.5, lang) == hours
    assert format_hours(72, lang) == days


def test_missing_values_and_whole_percentages() -> None:
    assert format_percent(None, "vi") == format_decimal(None, "vi") == format_hours(None, "vi") == "–"
    assert format_percent(1.0, "vi") == "100%"
    assert format_hours(0.5, "en") == "30 minutes"
    # Cases accepted within seconds: "half were done within 1 minute", not "within 0 minutes".
    assert format_hours(10 / 3600, "en") == "1 minute"
    assert format_hours(0, "vi") == "1 phút"


def test_gettext_formats_in_its_own_language() -> None:
    translator = Translator("vi")
    assert translator("vi").number(1200) == "1.200"
    assert translator("en-US").number(1200) == "1,200"
    assert translator("vi").percent(1 / 3) == "33,3%"
