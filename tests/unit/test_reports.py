"""Periods, percentiles, scope and the privacy helpers of the reports."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.domain.reports import (
    PeriodError,
    PeriodKind,
    parse_day,
    parse_range,
    percentile,
    period_of,
)
from bot.exports import mask_personal, safe_cell

NOW = datetime(2026, 5, 20, 3, 0, tzinfo=UTC)  # Wednesday 20/05/2026 10:00 in Hà Tĩnh


def test_periods_in_local_time() -> None:
    week = period_of(PeriodKind.WEEK, NOW)
    assert (week.first, week.last) == (date(2026, 5, 18), date(2026, 5, 24))
    assert week.start == datetime(2026, 5, 17, 17, 0, tzinfo=UTC)  # Monday 00:00 at UTC+7
    month = period_of(PeriodKind.MONTH, NOW)
    assert (month.first, month.last) == (date(2026, 5, 1), date(2026, 5, 31))
    quarter = period_of(PeriodKind.QUARTER, NOW)
    assert (quarter.first, quarter.last) == (date(2026, 4, 1), date(2026, 6, 30))
    december = period_of(PeriodKind.QUARTER, datetime(2026, 12, 31, 16, 59, tzinfo=UTC))
    assert december.last == date(2026, 12, 31)
    # 31/12 17:00 UTC is already 1 January in Hà Tĩnh
    assert period_of(PeriodKind.MONTH, datetime(2026, 12, 31, 17, 0, tzinfo=UTC)).first == date(2027, 1, 1)


def test_typed_ranges() -> None:
    period = parse_range("từ 01/04/2026 đến 15.05.2026")
    assert (period.first, period.last) == (date(2026, 4, 1), date(2026, 5, 15))
    assert parse_day("2026-05-01") == date(2026, 5, 1)
    for bad in (
        "01/04/2026",
        "31/02/2026 01/03/2026",
        "15/05/2026 01/04/2026",
        "hello",
        "01/01/2020 01/01/2026",
    ):
        with pytest.raises(PeriodError):
            parse_range(bad)


def test_nearest_rank_percentile() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 6.0, 7.0, 8.0, 9.0]
    assert percentile(values, 90) == 9.0  # the 9th of 10 sorted values
    assert percentile(values, 50) == 5.0
    assert percentile([], 90) is None


def test_privacy_helpers() -> None:
    masked = mask_personal("Gọi tôi 0912 345 678 hoặc +84912345678, thư: an.nguyen@example.vn. Nhà số 15.")
    assert "345" not in masked and "example" not in masked and "15" in masked
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and safe_cell("ok") == "ok" and safe_cell(3) == 3
