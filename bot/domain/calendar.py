"""Working days and working hours of public servants: the arithmetic behind petition deadlines.

Contract:
* A working day is a Monday–Friday that is not a public holiday (``holidays``: the national list in
  ``bot/provinces/vietnam_holidays.yaml`` plus a province's own days). Working hours are the ``periods``
  of a working day in local time (default 07:30–11:30 and 13:30–17:00, a lunch break between).
* Every method takes timezone-aware datetimes (``ValueError`` otherwise), reasons in the calendar's local
  time zone (default Asia/Ho_Chi_Minh) and returns timezone-aware datetimes in UTC.
* ``add_working_days`` ends at the close of business (end of the last period, 17:00) of the N-th working
  day *after* the start's local date: whatever the hour, the day of receipt does not count.
* ``add_working_hours`` counts only time inside working periods; a result exactly at the end of a period
  stays there (11:00 + 0.5 h → 11:30, not 13:30).
* Years missing from the holiday file simply have no holidays (see ``covered_years``).
* Pure: no clock, no network; the only I/O is reading the file given to ``load``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.yaml_lines import Loc, dotted, line_of, text_lines

__all__ = [
    "DEFAULT_PERIODS",
    "DEFAULT_TIMEZONE",
    "CalendarError",
    "Holiday",
    "WorkingCalendar",
    "read_holidays",
]

DEFAULT_TIMEZONE: Final[str] = "Asia/Ho_Chi_Minh"
#: Office hours of Vietnamese public servants: morning and afternoon, with a lunch break.
DEFAULT_PERIODS: Final[tuple[tuple[time, time], ...]] = (
    (time(7, 30), time(11, 30)),
    (time(13, 30), time(17, 0)),
)
_SATURDAY: Final = 5
_ONE_DAY: Final = timedelta(days=1)


class CalendarError(ValueError):
    """The holiday file is missing or invalid, or the calendar settings are (the message says where)."""


@dataclass(frozen=True, slots=True)
class Holiday:
    """One day off from the holiday file."""

    day: date
    name_vi: str
    name_en: str

    def name(self, lang: str) -> str:
        """The name in ``lang`` ("vi" → Vietnamese, anything else → English)."""
        return self.name_vi if lang == "vi" else self.name_en


# ------------------------------------------------------------------------------------- YAML with lines


@dataclass(frozen=True, slots=True)
class _YamlFile:
    """A parsed YAML file that builds errors naming the file, the line and the field."""

    path: Path
    data: Any
    lines: dict[Loc, int]
    error: type[ValueError]

    @classmethod
    def read(cls, path: Path, error: type[ValueError]) -> _YamlFile:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise error(f"{path}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise error(f"{path}: cannot read ({exc})") from None
        try:
            lines, repeated = text_lines(text)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise error(f"{path.name}{where}: invalid YAML: {problem}") from None
        except ValueError as exc:  # a well-formed scalar PyYAML cannot build, e.g. the date 2026-13-01
            raise error(f"{path.name}: invalid YAML value: {exc}") from None
        source = cls(path, data, lines, error)
        if repeated:  # PyYAML would silently keep the last one
            source.fail(repeated[0][0], "this key is given twice (the first would be ignored)")
        return source

    def fail(self, loc: Sequence[str | int], message: str) -> NoReturn:
        line = line_of(self.lines, loc)
        where = f" line {line}" if line is not None else ""
        field_name = f" {dotted(loc)}:" if loc else ""
        raise self.error(f"{self.path.name}{where}:{field_name} {message}")

    def fail_validation(self, exc: ValidationError) -> NoReturn:
        errors = exc.errors()
        # Prefer a problem on a line (a misspelt key) over a missing field (which has no line).
        first = next((e for e in errors if tuple(e["loc"]) in self.lines), errors[0])
        message = first["msg"]
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem(s))"
        self.fail(tuple(first["loc"]), message)


class _HolidayModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)


def read_holidays(path: Path) -> tuple[Holiday, ...]:
    """The days off listed in a holiday file, in file order; ``CalendarError`` names the line and field."""
    source = _YamlFile.read(Path(path), CalendarError)
    if not isinstance(source.data, list):
        source.fail((), "the file must be a YAML list of {date, name_vi, name_en} entries")
    holidays: list[Holiday] = []
    first: dict[date, int] = {}
    for index, raw in enumerate(source.data):
        if not isinstance(raw, dict):
            source.fail(
                (index,), "each entry must be a mapping {date: YYYY-MM-DD, name_vi: ..., name_en: ...}"
            )
        try:
            entry = _HolidayModel.model_validate(raw)
        except ValidationError as exc:
            errors = exc.errors()
            source.fail((index, *errors[0]["loc"]), errors[0]["msg"])
        if entry.date in first:
            source.fail(
                (index, "date"),
                f"duplicate date {entry.date} (first on line {source.lines.get((first[entry.date],))})",
            )
        first[entry.date] = index
        holidays.append(Holiday(entry.date, " ".join(entry.name_vi.split()), " ".join(entry.name_en.split())))
    return tuple(holidays)


# ----------------------------------------------------------------------------------------- the calendar


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware ({value.isoformat()} is naive)")


def _check_periods(periods: Sequence[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    checked = tuple((start, end) for start, end in periods)
    if not checked:
        raise CalendarError("working hours: at least one period is required")
    previous_end: time | None = None
    for start, end in checked:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise CalendarError("working hours: periods are local clock times (no time zone)")
        if not start < end:
            raise CalendarError(f"working hours: period {start:%H:%M}–{end:%H:%M} must end after it starts")
        if previous_end is not None and start < previous_end:
            raise CalendarError(
                f"working hours: period {start:%H:%M}–{end:%H:%M} must start after the previous one ends "
                f"({previous_end:%H:%M}); list periods in order"
            )
        previous_end = end
    return checked


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days (Mon–Fri minus ``holidays``) and working hours (``periods``, local time) in ``tz``."""

    tz: ZoneInfo
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not isinstance(self.tz, ZoneInfo):
            raise TypeError("tz must be a zoneinfo.ZoneInfo")
        object.__setattr__(self, "periods", _check_periods(self.periods))
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @classmethod
    def load(
        cls,
        holidays_file: Path,
        *,
        extra: Iterable[date] = (),
        timezone: str = DEFAULT_TIMEZONE,
        periods: Sequence[tuple[time, time]] = DEFAULT_PERIODS,
    ) -> WorkingCalendar:
        """A calendar with the holidays of ``holidays_file`` plus ``extra``; ``CalendarError`` if invalid."""
        try:
            tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(f"unknown time zone '{timezone}'") from None
        days = {holiday.day for holiday in read_holidays(holidays_file)}
        days.update(extra)
        return cls(tz=tz, periods=tuple(periods), holidays=frozenset(days))

    # ------------------------------------------------------------------ days

    @property
    def day_end(self) -> time:
        """Close of business: the end of the last working period (17:00 by default)."""
        return self.periods[-1][1]

    @property
    def covered_years(self) -> frozenset[int]:
        """The years that have at least one holiday listed (outside them only weekends are days off)."""
        return frozenset(day.year for day in self.holidays)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a Monday–Friday that is not a holiday."""
        if isinstance(day, datetime):
            raise TypeError("is_working_day takes a date; use local_date() for a datetime")
        return day.weekday() < _SATURDAY and day not in self.holidays

    def local_date(self, moment: datetime) -> date:
        """The calendar date of ``moment`` in the calendar's time zone."""
        _require_aware(moment, "moment")
        return moment.astimezone(self.tz).date()

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += _ONE_DAY
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        day -= _ONE_DAY
        while not self.is_working_day(day):
            day -= _ONE_DAY
        return day

    def _at(self, day: date, clock: time) -> datetime:
        """Local ``day`` at ``clock`` as an aware UTC datetime."""
        return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=self.tz).astimezone(UTC)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Close of business of the ``days``-th working day after ``start``'s local date (``days`` >= 1)."""
        _require_aware(start, "start")
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"days must be a whole number >= 1, not {days!r}")
        day = self.local_date(start)
        for _ in range(days):
            day = self.next_working_day(day)
        return self._at(day, self.day_end)

    def subtract_working_days(self, moment: datetime, days: int) -> datetime:
        """The same local clock time ``days`` working days earlier (a Sunday minus 1 → the Friday before).

        ``days`` = 0 returns ``moment`` itself (in UTC).
        """
        _require_aware(moment, "moment")
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError(f"days must be a whole number >= 0, not {days!r}")
        local = moment.astimezone(self.tz)
        day = local.date()
        for _ in range(days):
            day = self.previous_working_day(day)
        return self._at(day, local.time())

    def add_days(self, start: datetime, days: int) -> datetime:
        """The same local clock time ``days`` calendar days later (weekends and holidays count)."""
        _require_aware(start, "start")
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError(f"days must be a whole number >= 0, not {days!r}")
        local = start.astimezone(self.tz)
        return self._at(local.date() + timedelta(days=days), local.time())

    # ------------------------------------------------------------------ hours

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of working time, counted only inside working periods of working days.

        A start outside working time counts from the next period (12:00 + 1 h → 14:30); a start at
        16:30 on a Friday with 4 h uses 30 minutes on Friday and 3.5 h on Monday (→ 11:00).
        """
        _require_aware(start, "start")
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not math.isfinite(hours):
            raise ValueError(f"hours must be a finite number > 0, not {hours!r}")
        if hours <= 0:
            raise ValueError(f"hours must be > 0, not {hours!r}")
        remaining = timedelta(hours=hours)
        local = start.astimezone(self.tz).replace(tzinfo=None)
        day, clock = local.date(), local.time()
        if not self.is_working_day(day):
            day, clock = self.next_working_day(day), time.min
        while True:
            for period_start, period_end in self.periods:
                begin = max(period_start, clock)
                if begin >= period_end:
                    continue
                available = datetime.combine(day, period_end) - datetime.combine(day, begin)
                if remaining <= available:
                    return self._at_naive(datetime.combine(day, begin) + remaining)
                remaining -= available
            day, clock = self.next_working_day(day), time.min

    def _at_naive(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    # ------------------------------------------------------------------ counting

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days strictly after ``start``'s local date up to ``end``'s local date inclusive (0 if none).

        Monday → Wednesday is 2; Friday → next Monday is 1; the same day (or ``end`` before ``start``) is 0.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        first, last = self.local_date(start), self.local_date(end)
        if last <= first:
            return 0
        span = (last - first).days
        full_weeks, rest = divmod(span, 7)
        count = full_weeks * 5
        day = first + timedelta(days=full_weeks * 7)
        for _ in range(rest):
            day += _ONE_DAY
            if day.weekday() < _SATURDAY:
                count += 1
        count -= sum(
            1 for holiday in self.holidays if first < holiday <= last and holiday.weekday() < _SATURDAY
        )
        return count
