"""Unit tests for bot.domain.deadlines: the deadlines file, precedence, due dates, reminders, escalation.

Expected values were worked out by hand on a calendar (Asia/Ho_Chi_Minh); the comments show the counting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import (
    DeadlineKind,
    DeadlinePolicy,
    DeadlinePolicyError,
    Duration,
    DurationUnit,
)
from bot.domain.directory import Directory, PetitionType

PROVINCES = Path(__file__).resolve().parents[2] / "bot" / "provinces"
SHIPPED = PROVINCES / "hatinh" / "deadlines.yaml"
HOLIDAYS = PROVINCES / "vietnam_holidays.yaml"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
POLICY = DeadlinePolicy.default()
ACCEPT, RESOLVE = DeadlineKind.ACCEPT, DeadlineKind.RESOLVE

WD1, WD7, WD10 = Duration(working_days=1), Duration(working_days=7), Duration(working_days=10)
WH4, D30 = Duration(working_hours=4), Duration(days=30)


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN)


def local(moment: datetime) -> tuple[date, time]:
    assert moment.tzinfo is UTC
    wall = moment.astimezone(VN)
    return wall.date(), wall.time()


def shipped_text() -> str:
    """The shipped file, with the holiday file made absolute so a copy works from any folder."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert "holidays_file: ../vietnam_holidays.yaml" in text
    return text.replace("holidays_file: ../vietnam_holidays.yaml", f"holidays_file: {HOLIDAYS}")


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deadlines.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ shipped file


def test_shipped_file_loads_with_the_domain_defaults() -> None:
    assert DeadlinePolicy.default_path() == SHIPPED
    assert DeadlinePolicy.default() is POLICY  # cached
    loaded = DeadlinePolicy.load(SHIPPED)
    assert loaded == POLICY
    assert POLICY.reminder_working_days == 1
    assert POLICY.escalate_every_working_days == 2
    assert POLICY.reopen_within == timedelta(days=14)
    assert POLICY.close_after == timedelta(days=7)
    assert POLICY.transfer == Duration(working_days=3)
    assert POLICY.calendar.tz == VN
    assert POLICY.calendar.holidays == WorkingCalendar.load(HOLIDAYS).holidays
    assert dict(POLICY.categories) == {}


def test_directly_constructed_policy_has_the_same_defaults() -> None:
    built = DeadlinePolicy(calendar=WorkingCalendar.load(HOLIDAYS))
    assert built == POLICY


def test_urgent_categories_come_from_the_province_file() -> None:
    directory = Directory.default()
    urgent = {c.key for c in directory.categories if c.is_urgent}
    assert urgent == {"disaster", "security"}
    for category in directory.categories:
        accept = POLICY.durations(category.key, PetitionType.REPORT, category.is_urgent)[ACCEPT]
        assert accept == (WH4 if category.is_urgent else WD1)


# -------------------------------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    ("category", "petition_type", "urgent", "accept", "resolve"),
    [
        ("land", "report", False, WD1, WD10),  # normal report
        ("environment", "proposal", False, WD1, WD10),  # normal proposal
        ("welfare", "question", False, WD1, WD10),
        ("disaster", "report", True, WH4, WD10),  # urgent: faster first response, same resolve
        ("security", "proposal", True, WH4, WD10),
        ("land", "complaint", False, WD7, D30),  # formal types
        ("conduct", "denunciation", False, WD7, D30),
        ("disaster", "complaint", True, WD7, D30),  # the formal type wins over urgency
        ("land", PetitionType.COMPLAINT, False, WD7, D30),  # the enum works as well as its value
        ("no-such-category", "no-such-type", False, WD1, WD10),  # unknown keys: no override
    ],
)
def test_shipped_precedence(
    category: str, petition_type: str, urgent: bool, accept: Duration, resolve: Duration
) -> None:
    assert POLICY.durations(category, petition_type, urgent) == {ACCEPT: accept, RESOLVE: resolve}


OVERRIDES = """
categories:
  land: {resolve: {working_days: 15}}
  disaster: {accept: {working_days: 2}, resolve: {working_days: 5}}
"""


@pytest.mark.parametrize(
    ("category", "petition_type", "urgent", "accept", "resolve"),
    [
        ("land", "report", False, WD1, Duration(working_days=15)),  # category beats default
        ("land", "complaint", False, WD7, D30),  # type beats category
        ("land", "question", False, WD1, Duration(working_days=5)),  # type (question) beats category
        ("disaster", "report", True, WH4, Duration(working_days=5)),  # urgent beats category (accept only)
        ("disaster", "report", False, Duration(working_days=2), Duration(working_days=5)),
        ("health", "report", False, WD1, WD10),  # no override
    ],
)
def test_category_and_type_overrides(
    tmp_path: Path, category: str, petition_type: str, urgent: bool, accept: Duration, resolve: Duration
) -> None:
    text = shipped_text().replace("categories: {}", OVERRIDES)
    text = text.replace(
        "  denunciation: {accept: {working_days: 7}, resolve: {days: 30}}",
        "  denunciation: {accept: {working_days: 7}, resolve: {days: 30}}\n"
        "  question: {resolve: {working_days: 5}}",
    )
    policy = DeadlinePolicy.load(write_policy(tmp_path, text))
    assert policy.durations(category, petition_type, urgent) == {ACCEPT: accept, RESOLVE: resolve}


# ------------------------------------------------------------------------------------------ due dates


@pytest.mark.parametrize(
    ("category", "petition_type", "urgent", "start", "accept", "resolve"),
    [
        # Normal report on Fri 13 Feb 2026 10:00 — accept: Tết (14–22 Feb) → Mon 23 Feb 17:00;
        # resolve: Mon 23 – Fri 27 (5), Mon 2 – Fri 6 Mar (10) → Fri 6 Mar 17:00.
        (
            "land",
            "report",
            False,
            vn(2026, 2, 13, 10),
            (date(2026, 2, 23), time(17)),
            (date(2026, 3, 6), time(17)),
        ),
        # Disaster report on Mon 2 Mar 16:00 — accept 4 working hours: 1 h Monday, 3 h from Tue 07:30
        # → Tue 10:30; resolve: Tue 3 – Fri 6 (4), Mon 9 – Fri 13 (9), Mon 16 Mar (10).
        (
            "disaster",
            "report",
            True,
            vn(2026, 3, 2, 16),
            (date(2026, 3, 3), time(10, 30)),
            (date(2026, 3, 16), time(17)),
        ),
        # Complaint on Mon 20 Apr 09:00 — accept 7 working days: Tue 21 (1), Wed 22 (2), Thu 23 (3),
        # Fri 24 (4), [Mon 27 off] Tue 28 (5), Wed 29 (6), [30 Apr, 1 May, weekend] Mon 4 May (7);
        # resolve 30 calendar days → Wed 20 May 09:00.
        (
            "land",
            "complaint",
            False,
            vn(2026, 4, 20, 9),
            (date(2026, 5, 4), time(17)),
            (date(2026, 5, 20), time(9)),
        ),
    ],
)
def test_due_dates(
    category: str,
    petition_type: str,
    urgent: bool,
    start: datetime,
    accept: tuple[date, time],
    resolve: tuple[date, time],
) -> None:
    due = POLICY.due_dates(category, petition_type, urgent, start)
    assert {kind: local(when) for kind, when in due.items()} == {ACCEPT: accept, RESOLVE: resolve}


@pytest.mark.parametrize(
    ("due", "reminder"),
    [
        # Mon 23 Feb 17:00 → Fri 13 Feb 17:00 (Tết skipped).
        (vn(2026, 2, 23, 17), (date(2026, 2, 13), time(17))),
        # Fri 6 Mar 17:00 → Thu 5 Mar 17:00.
        (vn(2026, 3, 6, 17), (date(2026, 3, 5), time(17))),
        # Mon 9 Mar 17:00 → Fri 6 Mar 17:00 (weekend skipped).
        (vn(2026, 3, 9, 17), (date(2026, 3, 6), time(17))),
        # A 30-day deadline on Sun 15 Mar 10:00 → Fri 13 Mar 10:00.
        (vn(2026, 3, 15, 10), (date(2026, 3, 13), time(10))),
        # An urgent deadline Tue 3 Mar 10:30 → Mon 2 Mar 10:30: before a 16:00 receipt; the caller decides.
        (vn(2026, 3, 3, 10, 30), (date(2026, 3, 2), time(10, 30))),
    ],
)
def test_reminder_at(due: datetime, reminder: tuple[date, time]) -> None:
    assert local(POLICY.reminder_at(due)) == reminder


@pytest.mark.parametrize(
    ("overdue", "next_at"),
    [
        # Overdue Mon 9 Mar 17:00 → Tue (1), Wed 11 Mar (2) 17:00.
        (vn(2026, 3, 9, 17), (date(2026, 3, 11), time(17))),
        # Overdue Wed 29 Apr 17:00 → [30 Apr, 1 May, weekend] Mon 4 (1), Tue 5 May (2).
        (vn(2026, 4, 29, 17), (date(2026, 5, 5), time(17))),
        # Overdue Tue 3 Mar 10:30 (working hours) → Wed (1), Thu 5 Mar (2) 17:00.
        (vn(2026, 3, 3, 10, 30), (date(2026, 3, 5), time(17))),
    ],
)
def test_next_escalation(overdue: datetime, next_at: tuple[date, time]) -> None:
    assert local(POLICY.next_escalation(overdue)) == next_at


@pytest.mark.parametrize(
    ("due", "duration", "new_due"),
    [
        # Mon 23 Feb 17:00 + 10 working days: Tue 24 – Fri 27 (4), Mon 2 – Fri 6 Mar (9), Mon 9 Mar (10).
        (vn(2026, 2, 23, 17), WD10, (date(2026, 3, 9), time(17))),
        # Wed 20 May 09:00 + 30 days → Fri 19 Jun 09:00.
        (vn(2026, 5, 20, 9), D30, (date(2026, 6, 19), time(9))),
        # Tue 3 Mar 10:30 + 4 working hours: 1 h to 11:30, 3 h from 13:30 → 16:30.
        (vn(2026, 3, 3, 10, 30), WH4, (date(2026, 3, 3), time(16, 30))),
    ],
)
def test_extended(due: datetime, duration: Duration, new_due: tuple[date, time]) -> None:
    assert local(POLICY.extended(due, duration)) == new_due


# ----------------------------------------------------------------------------------------- Duration


@pytest.mark.parametrize(
    ("duration", "parts", "text"),
    [
        (WD10, (10, DurationUnit.WORKING_DAYS), "10 working days"),
        (Duration(working_hours=4.0), (4, DurationUnit.WORKING_HOURS), "4 working hours"),
        (Duration(working_hours=2.5), (2.5, DurationUnit.WORKING_HOURS), "2.5 working hours"),
        (D30, (30, DurationUnit.DAYS), "30 days"),
    ],
)
def test_duration_labels(duration: Duration, parts: tuple[int | float, DurationUnit], text: str) -> None:
    assert duration.label_parts() == parts
    assert duration.label_parts()[1] == parts[1].value  # the unit is also a plain string
    assert str(duration) == text


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"working_days": 1, "days": 2},
        {"working_days": 0},
        {"working_days": -3},
        {"working_days": 1.5},
        {"working_days": True},
        {"days": 2.0},
        {"working_hours": 0},
        {"working_hours": float("inf")},
        {"working_hours": float("nan")},
    ],
)
def test_invalid_durations(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Duration(**kwargs)  # type: ignore[arg-type]


def test_policy_rejects_urgent_resolve_and_missing_defaults() -> None:
    calendar = POLICY.calendar
    with pytest.raises(ValueError, match="accept deadline only"):
        DeadlinePolicy(calendar=calendar, urgent={RESOLVE: WD1})
    with pytest.raises(ValueError, match="missing: resolve"):
        DeadlinePolicy(calendar=calendar, default_durations={ACCEPT: WD1})
    with pytest.raises(ValueError, match="reminder_working_days"):
        DeadlinePolicy(calendar=calendar, reminder_working_days=0)


# ------------------------------------------------------------------------------------------ loading


def test_extra_holidays_are_honoured(tmp_path: Path) -> None:
    text = shipped_text().replace("extra_holidays: []", "extra_holidays: [2026-10-20]")
    policy = DeadlinePolicy.load(write_policy(tmp_path, text))
    assert not policy.calendar.is_working_day(date(2026, 10, 20))
    assert POLICY.calendar.is_working_day(date(2026, 10, 20))
    # Report on Mon 19 Oct: accept + 1 working day skips Tue 20 Oct → Wed 21 Oct 17:00.
    due = policy.due_dates("land", "report", False, vn(2026, 10, 19, 9))
    assert local(due[ACCEPT]) == (date(2026, 10, 21), time(17))


def test_relative_holidays_file_and_optional_sections(tmp_path: Path) -> None:
    (tmp_path / "national.yaml").write_text('- {date: 2026-03-03, name_vi: "X", name_en: "X"}\n')
    minimal = """\
format_version: 1
holidays_file: national.yaml
default: {accept: {working_days: 2}, resolve: {days: 20}}
reminder: {working_days_before: 2}
escalation: {every_working_days: 3}
verdict: {reopen_within_days: 10, close_after_days: 5}
"""
    policy = DeadlinePolicy.load(write_policy(tmp_path, minimal))
    assert policy.calendar.holidays == {date(2026, 3, 3)}
    assert policy.durations("disaster", "complaint", True) == {
        ACCEPT: Duration(working_days=2),
        RESOLVE: Duration(days=20),
    }
    assert policy.transfer == Duration(working_days=3)
    assert (policy.reminder_working_days, policy.escalate_every_working_days) == (2, 3)
    assert (policy.reopen_within, policy.close_after) == (timedelta(days=10), timedelta(days=5))
    # Mon 2 Mar + 2 working days: Tue 3 Mar is a holiday here → Wed 4 (1), Thu 5 Mar (2).
    assert local(policy.due_dates("land", "report", False, vn(2026, 3, 2, 9))[ACCEPT]) == (
        date(2026, 3, 5),
        time(17),
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # two durations in one entry
        (
            "accept: {working_days: 1}",
            "accept: {working_days: 1, days: 2}",
            "deadlines.yaml line 16: default.accept: give exactly one of working_days, working_hours, days "
            "(found: working_days, days)",
        ),
        # no duration at all
        ("accept: {working_days: 1}", "accept: {}", "default.accept: give exactly one of"),
        # unknown petition type
        (
            "  denunciation:",
            "  grievance:",
            "deadlines.yaml line 28: types.grievance: unknown petition type 'grievance'",
        ),
        # negative value
        (
            "resolve: {working_days: 10}",
            "resolve: {working_days: -10}",
            "deadlines.yaml line 17: default.resolve.working_days: Input should be greater than 0",
        ),
        # a fraction of a working day
        ("resolve: {working_days: 10}", "resolve: {working_days: 2.5}", "default.resolve.working_days:"),
        # unknown category
        (
            "categories: {}",
            "categories: {weather: {resolve: {days: 3}}}",
            "categories.weather: unknown category key 'weather'",
        ),
        # unknown deadline kind inside an entry
        (
            "categories: {}",
            "categories: {land: {answer: {days: 3}}}",
            "categories.land.answer: Extra inputs are not permitted",
        ),
        # urgent sets accept only
        (
            "  accept: {working_hours: 4}",
            "  accept: {working_hours: 4}\n  resolve: {working_days: 5}",
            "urgent: urgent sets the accept deadline only",
        ),
        # a typo in a top-level key
        ("escalation:", "escalaton:", "escalaton: Extra inputs are not permitted"),
        # a key given twice
        ("categories: {}", "categories: {}\ncategories: {}", "categories: this key is given twice"),
        # times must be quoted (YAML reads 13:30 as the number 810)
        ('["13:30", "17:00"]', '[13:30, "17:00"]', "working_hours: write times in quotes"),
        ('["13:30", "17:00"]', '["11:00", "17:00"]', "working_hours: period 11:00–17:00 must start after"),
        ('["13:30", "17:00"]', '["13:30", "25:00"]', "working_hours[1][1]: String should match pattern"),
        (
            'timezone: "Asia/Ho_Chi_Minh"',
            'timezone: "Asia/Hanoi"',
            "timezone: unknown time zone 'Asia/Hanoi'",
        ),
        (
            "reminder: {working_days_before: 1}",
            "reminder: {working_days_before: 0}",
            "reminder.working_days_before",
        ),
        ("format_version: 1", "format_version: 2", "format_version: Input should be 1"),
        (
            "extra_holidays: []",
            "extra_holidays: [tomorrow]",
            "extra_holidays[0]: Input should be a valid date",
        ),
        ("verdict: {reopen_within_days: 14, close_after_days: 7}", "", "verdict: Field required"),
    ],
)
def test_load_errors_name_the_file_and_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = shipped_text()
    assert old in text
    path = write_policy(tmp_path, text.replace(old, new, 1))
    with pytest.raises(DeadlinePolicyError) as caught:
        DeadlinePolicy.load(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith("deadlines.yaml")


def test_holiday_file_errors_are_reported_through_the_deadlines_file(tmp_path: Path) -> None:
    holidays = tmp_path / "national.yaml"
    holidays.write_text(
        '- {date: 2026-01-01, name_vi: "A", name_en: "A"}\n- {date: 2026-01-01, name_vi: "B", name_en: "B"}\n'
    )
    text = shipped_text().replace(f"holidays_file: {HOLIDAYS}", "holidays_file: national.yaml")
    with pytest.raises(DeadlinePolicyError) as caught:
        DeadlinePolicy.load(write_policy(tmp_path, text))
    assert str(caught.value).startswith(
        "deadlines.yaml line 9: holidays_file: national.yaml line 2: [1].date:"
    )
    assert "duplicate date 2026-01-01" in str(caught.value)


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DeadlinePolicyError, match="file not found"):
        DeadlinePolicy.load(tmp_path / "deadlines.yaml")
    text = shipped_text().replace(f"holidays_file: {HOLIDAYS}", "holidays_file: nowhere.yaml")
    with pytest.raises(DeadlinePolicyError, match=r"holidays_file: .*nowhere\.yaml: file not found"):
        DeadlinePolicy.load(write_policy(tmp_path, text))


def test_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(DeadlinePolicyError, match=r"deadlines\.yaml: the file must be a YAML mapping"):
        DeadlinePolicy.load(write_policy(tmp_path, "- 1\n"))
