"""Unit tests for bot.domain.calendar: working days, working hours, holidays (Asia/Ho_Chi_Minh, UTC+7).

Expected values were worked out by hand on a calendar; the comments show the counting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.calendar import (
    DEFAULT_PERIODS,
    CalendarError,
    WorkingCalendar,
    read_holidays,
)

HOLIDAYS = Path(__file__).resolve().parents[2] / "bot" / "provinces" / "vietnam_holidays.yaml"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar.load(HOLIDAYS)


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A local (Vietnam) wall-clock time."""
    return datetime(y, m, d, hh, mm, tzinfo=VN)


def local(moment: datetime) -> tuple[date, time]:
    assert moment.tzinfo is UTC  # every result is in UTC
    wall = moment.astimezone(VN)
    return wall.date(), wall.time()


# ------------------------------------------------------------------------------------------ holidays

# The days off the brief asks for, one per day (weekend days inside Tết included).
EXPECTED_HOLIDAYS = {
    date(2026, 1, 1),
    *(date(2026, 2, d) for d in range(14, 23)),  # Tết: Sat 14 – Sun 22 Feb 2026
    date(2026, 4, 26),  # Giỗ Tổ Hùng Vương, a Sunday …
    date(2026, 4, 27),  # … compensated on Monday
    date(2026, 4, 30),
    date(2026, 5, 1),
    date(2026, 9, 1),
    date(2026, 9, 2),
    date(2027, 1, 1),
    *(date(2027, 2, d) for d in range(5, 11)),  # Tết: Fri 5 – Wed 10 Feb 2027
    date(2027, 4, 16),
    date(2027, 4, 30),
    date(2027, 5, 1),  # a Saturday …
    date(2027, 5, 3),  # … compensated on Monday
    date(2027, 9, 2),
    date(2027, 9, 3),
}


def test_shipped_holiday_file_lists_the_expected_days() -> None:
    holidays = read_holidays(HOLIDAYS)
    assert {h.day for h in holidays} == EXPECTED_HOLIDAYS
    assert [h.day for h in holidays] == sorted(h.day for h in holidays)
    assert all(h.name_vi and h.name_en for h in holidays)
    assert next(h for h in holidays if h.day == date(2026, 9, 2)).name("vi") == "Quốc khánh"
    assert CAL.holidays == frozenset(EXPECTED_HOLIDAYS)
    assert CAL.covered_years == {2026, 2027}
    assert CAL.periods == DEFAULT_PERIODS
    assert CAL.tz == VN


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 3, 2), True),  # Monday
        (date(2026, 3, 6), True),  # Friday
        (date(2026, 3, 7), False),  # Saturday
        (date(2026, 3, 8), False),  # Sunday
        (date(2026, 2, 17), False),  # Tết (Tuesday)
        (date(2026, 2, 23), True),  # first day back after Tết
        (date(2026, 4, 27), False),  # compensatory day for the Hùng Kings (26 Apr is a Sunday)
        (date(2026, 4, 30), False),
        (date(2026, 5, 1), False),
        (date(2026, 9, 2), False),
        (date(2027, 5, 3), False),  # compensatory day for 1 May 2027 (a Saturday)
        (date(2028, 1, 3), True),  # outside the covered years: only weekends are off
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


# --------------------------------------------------------------------------------- add_working_days


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Mon 09:00 + 1: the day of receipt never counts → Tue, close of business.
        (vn(2026, 3, 2, 9), 1, (date(2026, 3, 3), time(17))),
        # Fri + 1: Sat, Sun skipped → Mon.
        (vn(2026, 3, 6, 10), 1, (date(2026, 3, 9), time(17))),
        # Received on a Saturday → Mon is the first working day after it.
        (vn(2026, 3, 7, 10), 1, (date(2026, 3, 9), time(17))),
        # Late Friday evening still counts as Friday.
        (vn(2026, 3, 6, 23, 30), 1, (date(2026, 3, 9), time(17))),
        # Fri 13 Feb 2026 + 1: Sat 14 – Sun 22 is Tết → Mon 23 Feb.
        (vn(2026, 2, 13, 10), 1, (date(2026, 2, 23), time(17))),
        # Thu 12 Feb + 3: Fri 13 (1), Tết, Mon 23 (2), Tue 24 (3).
        (vn(2026, 2, 12, 8), 3, (date(2026, 2, 24), time(17))),
        # Fri 24 Apr + 1: Sat, Sun 26 (Hùng Kings), Mon 27 (compensatory) → Tue 28.
        (vn(2026, 4, 24, 14), 1, (date(2026, 4, 28), time(17))),
        # Wed 29 Apr + 1: Thu 30 Apr, Fri 1 May, Sat, Sun → Mon 4 May.
        (vn(2026, 4, 29, 10), 1, (date(2026, 5, 4), time(17))),
        # Mon 20 Apr + 10: Tue 21 (1), Wed 22 (2), Thu 23 (3), Fri 24 (4), [Mon 27 off] Tue 28 (5),
        # Wed 29 (6), [30 Apr, 1 May, weekend] Mon 4 (7), Tue 5 (8), Wed 6 (9), Thu 7 May (10).
        (vn(2026, 4, 20, 9), 10, (date(2026, 5, 7), time(17))),
        # Mon 31 Aug + 1: Tue 1 and Wed 2 Sep are National Day → Thu 3 Sep.
        (vn(2026, 8, 31, 15), 1, (date(2026, 9, 3), time(17))),
        # Thu 4 Feb 2027 + 1: Fri 5 – Wed 10 Feb is Tết 2027 → Thu 11 Feb.
        (vn(2027, 2, 4, 9), 1, (date(2027, 2, 11), time(17))),
    ],
)
def test_add_working_days(start: datetime, days: int, due: tuple[date, time]) -> None:
    assert local(CAL.add_working_days(start, days)) == due


def test_add_working_days_uses_the_local_date_not_the_utc_date() -> None:
    # Sun 1 Mar 2026 20:00 UTC is Mon 2 Mar 03:00 in Vietnam: + 1 → Tue 3 Mar (not Mon 2 Mar).
    start = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    due = CAL.add_working_days(start, 1)
    assert local(due) == (date(2026, 3, 3), time(17))
    assert due == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # 17:00 at UTC+7


# -------------------------------------------------------------------------------- add_working_hours


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # 11:00 + 4 h: 11:00–11:30 (0.5 h) + 13:30–17:00 (3.5 h) = 4 h → 17:00 the same day.
        # (The brief's "15:00" is 4 wall-clock hours, ignoring the lunch break it asks to skip.)
        (vn(2026, 3, 2, 11), 4, (date(2026, 3, 2), time(17))),
        # 11:00 + 2 h: 0.5 h before lunch, 1.5 h after → 15:00.
        (vn(2026, 3, 2, 11), 2, (date(2026, 3, 2), time(15))),
        # Fri 16:30 + 4 h: 0.5 h on Friday, 3.5 h from Mon 07:30 → Mon 11:00.
        (vn(2026, 3, 6, 16, 30), 4, (date(2026, 3, 9), time(11))),
        # 12:00 is lunch: count from 13:30 → 14:30.
        (vn(2026, 3, 2, 12), 1, (date(2026, 3, 2), time(14, 30))),
        # Before office hours: count from 07:30.
        (vn(2026, 3, 2, 6), 1, (date(2026, 3, 2), time(8, 30))),
        # Exactly filling the morning stays at 11:30 (not 13:30).
        (vn(2026, 3, 2, 8), 3.5, (date(2026, 3, 2), time(11, 30))),
        # 08:00 + 4 h: 3.5 h to 11:30, 0.5 h from 13:30 → 14:00.
        (vn(2026, 3, 2, 8), 4, (date(2026, 3, 2), time(14))),
        # A whole working day is 7.5 h: 07:30 + 7.5 → 17:00; + 8 → next day 08:00.
        (vn(2026, 3, 2, 7, 30), 7.5, (date(2026, 3, 2), time(17))),
        (vn(2026, 3, 2, 7, 30), 8, (date(2026, 3, 3), time(8))),
        # After hours → next working day.
        (vn(2026, 3, 2, 17, 30), 1, (date(2026, 3, 3), time(8, 30))),
        # Saturday → Monday.
        (vn(2026, 3, 7, 9), 1, (date(2026, 3, 9), time(8, 30))),
        # Fri 13 Feb 16:00 + 4 h: 1 h on Friday, Tết, 3 h from Mon 23 Feb 07:30 → 10:30.
        (vn(2026, 2, 13, 16), 4, (date(2026, 2, 23), time(10, 30))),
        # 11:20 + 0.25 h (15 min): 10 min to 11:30, 5 min from 13:30 → 13:35.
        (vn(2026, 3, 2, 11, 20), 0.25, (date(2026, 3, 2), time(13, 35))),
    ],
)
def test_add_working_hours(start: datetime, hours: float, due: tuple[date, time]) -> None:
    assert local(CAL.add_working_hours(start, hours)) == due


# --------------------------------------------------------------------------- subtract_working_days


@pytest.mark.parametrize(
    ("moment", "days", "expected"),
    [
        # Tue 10 Mar 17:00 − 1 → Mon 9 Mar 17:00.
        (vn(2026, 3, 10, 17), 1, (date(2026, 3, 9), time(17))),
        # Mon 9 Mar 17:00 − 1 → Fri 6 Mar (weekend skipped), same clock time.
        (vn(2026, 3, 9, 17), 1, (date(2026, 3, 6), time(17))),
        # A deadline on a Sunday (calendar days) − 1 → the Friday before.
        (vn(2026, 3, 8, 10), 1, (date(2026, 3, 6), time(10))),
        # Mon 23 Feb − 1 → Fri 13 Feb (Tết skipped).
        (vn(2026, 2, 23, 17), 1, (date(2026, 2, 13), time(17))),
        # Wed 25 Feb 15:00 − 2: Tue 24 (1), Mon 23 (2); − 3 → Fri 13 Feb.
        (vn(2026, 2, 25, 15), 2, (date(2026, 2, 23), time(15))),
        (vn(2026, 2, 25, 15), 3, (date(2026, 2, 13), time(15))),
        # Mon 4 May − 1: weekend, 1 May, 30 Apr skipped → Wed 29 Apr.
        (vn(2026, 5, 4, 17), 1, (date(2026, 4, 29), time(17))),
        # Thu 3 Sep − 1: 2 and 1 Sep skipped → Mon 31 Aug.
        (vn(2026, 9, 3, 9, 15), 1, (date(2026, 8, 31), time(9, 15))),
        # 0 days: the moment itself.
        (vn(2026, 3, 9, 17), 0, (date(2026, 3, 9), time(17))),
    ],
)
def test_subtract_working_days(moment: datetime, days: int, expected: tuple[date, time]) -> None:
    assert local(CAL.subtract_working_days(moment, days)) == expected


# ---------------------------------------------------------------------------------- calendar days


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # 30 calendar days from Fri 13 Feb 2026 10:00: weekends and Tết count → Sun 15 Mar 10:00.
        (vn(2026, 2, 13, 10), 30, (date(2026, 3, 15), time(10))),
        # 14 days from Mon 20 Apr 09:00 → Mon 4 May 09:00.
        (vn(2026, 4, 20, 9), 14, (date(2026, 5, 4), time(9))),
        (vn(2026, 4, 20, 9), 0, (date(2026, 4, 20), time(9))),
    ],
)
def test_add_days(start: datetime, days: int, expected: tuple[date, time]) -> None:
    assert local(CAL.add_days(start, days)) == expected


# ---------------------------------------------------------------------------- working_days_between


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (vn(2026, 3, 2, 9), vn(2026, 3, 4, 8), 2),  # Mon → Wed: Tue, Wed
        (vn(2026, 3, 6, 16), vn(2026, 3, 9, 8), 1),  # Fri → Mon: Mon
        (vn(2026, 3, 2, 9), vn(2026, 3, 2, 16), 0),  # same day
        (vn(2026, 3, 4, 9), vn(2026, 3, 2, 9), 0),  # end before start
        (vn(2026, 2, 13, 10), vn(2026, 2, 23, 9), 1),  # across Tết: Mon 23 only
        (vn(2026, 2, 12, 10), vn(2026, 2, 27, 9), 6),  # Fri 13, Mon 23 – Fri 27
        (vn(2026, 4, 24, 9), vn(2026, 5, 8, 9), 7),  # Tue 28, Wed 29, Mon 4 – Fri 8 May
        (vn(2026, 8, 28, 9), vn(2026, 9, 7, 9), 4),  # Mon 31 Aug, Thu 3, Fri 4, Mon 7 Sep
        (vn(2025, 12, 31, 9), vn(2026, 1, 5, 9), 2),  # Fri 2 Jan, Mon 5 Jan (1 Jan is off)
    ],
)
def test_working_days_between(start: datetime, end: datetime, count: int) -> None:
    assert CAL.working_days_between(start, end) == count


@pytest.mark.parametrize(
    "start",
    [vn(2026, 2, 10, 9), vn(2026, 4, 22, 16), vn(2026, 8, 29, 10), vn(2026, 12, 24, 8), vn(2027, 1, 29, 9)],
)
def test_working_days_between_inverts_add_working_days(start: datetime) -> None:
    for n in range(1, 31):
        assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == n


# --------------------------------------------------------------------------------- input checking


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: CAL.add_working_days(naive, 1),
        lambda naive: CAL.add_working_hours(naive, 1),
        lambda naive: CAL.subtract_working_days(naive, 1),
        lambda naive: CAL.add_days(naive, 1),
        lambda naive: CAL.working_days_between(naive, vn(2026, 3, 3)),
        lambda naive: CAL.working_days_between(vn(2026, 3, 3), naive),
        lambda naive: CAL.local_date(naive),
    ],
)
def test_naive_datetimes_are_rejected(call: object) -> None:
    naive = datetime(2026, 3, 2, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        call(naive)  # type: ignore[operator]


@pytest.mark.parametrize(
    "call",
    [
        lambda: CAL.add_working_days(vn(2026, 3, 2), 0),
        lambda: CAL.add_working_days(vn(2026, 3, 2), -1),
        lambda: CAL.subtract_working_days(vn(2026, 3, 2), -1),
        lambda: CAL.add_days(vn(2026, 3, 2), -1),
        lambda: CAL.add_working_hours(vn(2026, 3, 2), 0),
        lambda: CAL.add_working_hours(vn(2026, 3, 2), -2),
        lambda: CAL.add_working_hours(vn(2026, 3, 2), float("nan")),
        lambda: CAL.add_working_hours(vn(2026, 3, 2), float("inf")),
    ],
)
def test_bad_amounts_are_rejected(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_results_are_utc_for_any_input_zone() -> None:
    start = vn(2026, 3, 2, 9).astimezone(ZoneInfo("Europe/Paris"))
    due = CAL.add_working_hours(start, 1)
    assert due.tzinfo is UTC
    assert local(due) == (date(2026, 3, 2), time(10))


# ----------------------------------------------------------------------------------------- loading


def test_extra_holidays_are_honoured() -> None:
    calendar = WorkingCalendar.load(HOLIDAYS, extra=[date(2026, 10, 20)])
    assert not calendar.is_working_day(date(2026, 10, 20))
    assert CAL.is_working_day(date(2026, 10, 20))
    # Mon 19 Oct + 1: Tue 20 Oct is the province's day off → Wed 21 Oct.
    assert local(calendar.add_working_days(vn(2026, 10, 19, 9), 1)) == (date(2026, 10, 21), time(17))
    # Tue 20 Oct 10:00 + 2 working hours: counted from Wed 21 Oct 07:30 → 09:30.
    assert local(calendar.add_working_hours(vn(2026, 10, 20, 10), 2)) == (date(2026, 10, 21), time(9, 30))


def test_custom_periods_and_close_of_business() -> None:
    periods = ((time(8), time(12)), (time(13), time(17, 30)))
    calendar = WorkingCalendar.load(HOLIDAYS, periods=periods)
    assert calendar.day_end == time(17, 30)
    assert local(calendar.add_working_days(vn(2026, 3, 2, 9), 1)) == (date(2026, 3, 3), time(17, 30))
    # 11:00 + 2 h: 1 h to 12:00, 1 h from 13:00 → 14:00.
    assert local(calendar.add_working_hours(vn(2026, 3, 2, 11), 2)) == (date(2026, 3, 2), time(14))


def test_constructed_directly() -> None:
    calendar = WorkingCalendar(tz=VN, holidays=frozenset({date(2026, 3, 3)}))
    assert calendar.periods == DEFAULT_PERIODS
    # Mon 2 Mar + 1: Tue 3 Mar is a holiday → Wed 4 Mar.
    assert local(calendar.add_working_days(vn(2026, 3, 2), 1)) == (date(2026, 3, 4), time(17))


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        ((), "at least one period"),
        (((time(11, 30), time(7, 30)),), "must end after it starts"),
        (((time(7, 30), time(12)), (time(11, 30), time(17))), "must start after the previous one ends"),
    ],
)
def test_bad_periods(periods: tuple[tuple[time, time], ...], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        WorkingCalendar.load(HOLIDAYS, periods=periods)


def test_unknown_time_zone() -> None:
    with pytest.raises(CalendarError, match="unknown time zone 'Asia/Nowhere'"):
        WorkingCalendar.load(HOLIDAYS, timezone="Asia/Nowhere")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '- {date: 2026-01-01, name_vi: "A", name_en: "A"}\n- {date: 2026-01-01, name_vi: "B", name_en: "B"}\n',
            "holidays.yaml line 2: [1].date: duplicate date 2026-01-01 (first on line 1)",
        ),
        ('- {date: 2026-01-01, name_vi: "A"}\n', "holidays.yaml line 1: [0].name_en: Field required"),
        ('- {date: 2026-02-30, name_vi: "A", name_en: "A"}\n', "holidays.yaml: invalid YAML value"),
        ('- {date: soon, name_vi: "A", name_en: "A"}\n', "holidays.yaml line 1: [0].date: Input should be"),
        ('- {date: 2026-01-01, name_vi: "A", name_en: "A", paid: true}\n', "[0].paid: Extra inputs"),
        ("holidays: []\n", "holidays.yaml: the file must be a YAML list"),
        ("- 2026-01-01\n", "holidays.yaml line 1: [0]: each entry must be a mapping"),
        ("- [unclosed\n", "holidays.yaml line 2: invalid YAML"),
    ],
)
def test_holiday_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarError) as caught:
        WorkingCalendar.load(path)
    assert message in str(caught.value)


def test_missing_holiday_file(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="file not found"):
        WorkingCalendar.load(tmp_path / "nothing.yaml")


def test_empty_holiday_list_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text("[]\n", encoding="utf-8")
    calendar = WorkingCalendar.load(path)
    assert calendar.holidays == frozenset()
    assert calendar.is_working_day(date(2026, 2, 17))
    assert calendar.add_days(vn(2026, 1, 1), 1) - vn(2026, 1, 1) == timedelta(days=1)
