"""Petition deadlines: how long officials have to accept and to resolve, reminders, escalation, verdicts.

Contract:
* ``DeadlinePolicy.load(path)`` reads a province deadlines file (format in ``bot/provinces/DEADLINES.md``)
  and the holiday file it names, validates everything and raises ``DeadlinePolicyError`` naming the file,
  the line and the field. ``DeadlinePolicy.default()`` is the shipped Hà Tĩnh file, loaded once.
* ``durations(category, type, is_urgent)`` combines, for each ``DeadlineKind`` separately:
  ``default`` < ``categories[category]`` < ``urgent`` (accept only, when ``is_urgent``) < ``types[type]``.
  Unknown categories and types simply get no override (stored petitions never break the timers).
* All datetimes are timezone-aware in, UTC out (``WorkingCalendar``). Working-day deadlines end at close
  of business (17:00 local) of the N-th working day after the start's date; working-hour deadlines walk
  through office hours; calendar-day deadlines keep the start's local clock time.
* ``reminder_at`` may lie in the past or before the petition was even received (a 4-working-hour deadline
  with a one-working-day reminder): the caller decides whether to skip it.
* Pure: no Telegram, no Redis, no clock; the only I/O is reading the files given to ``load``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.domain.calendar import (
    DEFAULT_PERIODS,
    DEFAULT_TIMEZONE,
    CalendarError,
    WorkingCalendar,
    _YamlFile,
)
from bot.domain.directory import CATEGORY_KEYS, PetitionType

__all__ = [
    "DeadlineKind",
    "DeadlinePolicy",
    "DeadlinePolicyError",
    "Duration",
    "DurationUnit",
]


class DeadlinePolicyError(ValueError):
    """The deadlines file (or its holiday file) is missing or invalid (the message says where)."""


class DeadlineKind(StrEnum):
    """The deadlines every petition has (the keys of ``Petition.deadlines``)."""

    ACCEPT = "accept"  # triage: accept and assign (urgent: first response)
    RESOLVE = "resolve"  # the answer to the citizen


class DurationUnit(StrEnum):
    """How a duration is counted (also the YAML key and a translation key for the UI)."""

    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    DAYS = "days"


@dataclass(frozen=True, slots=True)
class Duration:
    """Exactly one of ``working_days``, ``working_hours`` or ``days`` (calendar days), positive."""

    working_days: int | None = None
    working_hours: float | None = None
    days: int | None = None

    def __post_init__(self) -> None:
        given = [
            name for name in ("working_days", "working_hours", "days") if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"a duration needs exactly one of working_days, working_hours, days (given: {given or 'none'})"
            )
        value = getattr(self, given[0])
        whole = given[0] != "working_hours"
        if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
            raise ValueError(f"{given[0]} must be a {'whole ' if whole else ''}number, not {value!r}")
        if not value > 0 or value == float("inf"):
            raise ValueError(f"{given[0]} must be > 0, not {value!r}")
        if not whole:
            object.__setattr__(self, "working_hours", float(value))

    @property
    def unit(self) -> DurationUnit:
        """How this duration is counted."""
        if self.working_days is not None:
            return DurationUnit.WORKING_DAYS
        if self.working_hours is not None:
            return DurationUnit.WORKING_HOURS
        return DurationUnit.DAYS

    @property
    def value(self) -> int | float:
        """The number of units (working hours as an int when whole: 4.0 → 4)."""
        if self.working_days is not None:
            return self.working_days
        if self.working_hours is not None:
            hours = self.working_hours
            return int(hours) if hours.is_integer() else hours
        assert self.days is not None
        return self.days

    def label_parts(self) -> tuple[int | float, DurationUnit]:
        """``(value, unit)`` for the UI, e.g. ``(4, DurationUnit.WORKING_HOURS)``."""
        return self.value, self.unit

    def after(self, calendar: WorkingCalendar, start: datetime) -> datetime:
        """When this duration, counted from ``start``, runs out (UTC)."""
        if self.working_days is not None:
            return calendar.add_working_days(start, self.working_days)
        if self.working_hours is not None:
            return calendar.add_working_hours(start, self.working_hours)
        assert self.days is not None
        return calendar.add_days(start, self.days)

    def __str__(self) -> str:
        value, unit = self.label_parts()
        return f"{value} {unit.value.replace('_', ' ')}"


_Durations = Mapping[DeadlineKind, Duration]

#: The statutory defaults (the shipped file states them too).
_DEFAULT_DURATIONS: Final[Mapping[DeadlineKind, Duration]] = MappingProxyType(
    {DeadlineKind.ACCEPT: Duration(working_days=1), DeadlineKind.RESOLVE: Duration(working_days=10)}
)
_DEFAULT_URGENT: Final[Mapping[DeadlineKind, Duration]] = MappingProxyType(
    {DeadlineKind.ACCEPT: Duration(working_hours=4)}
)
_FORMAL: Final[Mapping[DeadlineKind, Duration]] = MappingProxyType(
    {DeadlineKind.ACCEPT: Duration(working_days=7), DeadlineKind.RESOLVE: Duration(days=30)}
)
_DEFAULT_TYPES: Final[Mapping[str, Mapping[DeadlineKind, Duration]]] = MappingProxyType(
    {PetitionType.COMPLAINT.value: _FORMAL, PetitionType.DENUNCIATION.value: _FORMAL}
)


def _frozen(durations: Mapping[Any, Duration], what: str) -> Mapping[DeadlineKind, Duration]:
    out: dict[DeadlineKind, Duration] = {}
    for kind, duration in durations.items():
        try:
            key = DeadlineKind(kind)
        except ValueError:
            raise ValueError(f"{what}: unknown deadline kind {kind!r}") from None
        if not isinstance(duration, Duration):
            raise TypeError(f"{what}.{key}: expected a Duration, not {type(duration).__name__}")
        out[key] = duration
    return MappingProxyType(out)


_DEFAULT_FILE: Final[Path] = (
    Path(__file__).resolve().parent.parent / "provinces" / "hatinh" / "deadlines.yaml"
)
_default_cache: list[DeadlinePolicy] = []


@dataclass(frozen=True)
class DeadlinePolicy:
    """A province's deadline rules on its working calendar. Immutable; safe to share between tasks."""

    calendar: WorkingCalendar
    reminder_working_days: int = 1
    escalate_every_working_days: int = 2
    reopen_within: timedelta = timedelta(days=14)
    close_after: timedelta = timedelta(days=7)
    default_durations: Mapping[DeadlineKind, Duration] = field(default_factory=lambda: _DEFAULT_DURATIONS)
    urgent: Mapping[DeadlineKind, Duration] = field(default_factory=lambda: _DEFAULT_URGENT)
    types: Mapping[str, Mapping[DeadlineKind, Duration]] = field(default_factory=lambda: _DEFAULT_TYPES)
    categories: Mapping[str, Mapping[DeadlineKind, Duration]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    transfer: Duration = Duration(working_days=3)

    def __post_init__(self) -> None:
        for name in ("reminder_working_days", "escalate_every_working_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, not {value!r}")
        for name in ("reopen_within", "close_after"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        default = _frozen(self.default_durations, "default_durations")
        missing = [kind.value for kind in DeadlineKind if kind not in default]
        if missing:
            raise ValueError(f"default_durations must give every kind (missing: {', '.join(missing)})")
        urgent = _frozen(self.urgent, "urgent")
        if set(urgent) - {DeadlineKind.ACCEPT}:
            raise ValueError("urgent applies to the accept deadline only")
        object.__setattr__(self, "default_durations", default)
        object.__setattr__(self, "urgent", urgent)
        for name in ("types", "categories"):
            table = getattr(self, name)
            object.__setattr__(
                self,
                name,
                MappingProxyType({str(key): _frozen(value, f"{name}.{key}") for key, value in table.items()}),
            )

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Path) -> DeadlinePolicy:
        """Read and validate a deadlines file and its holiday file; ``DeadlinePolicyError`` on any problem."""
        path = Path(path)
        source = _YamlFile.read(path, DeadlinePolicyError)
        if not isinstance(source.data, dict):
            source.fail((), "the file must be a YAML mapping (format_version, holidays_file, default, ...)")
        try:
            model = _DeadlinesFile.model_validate(source.data)
        except ValidationError as exc:
            source.fail_validation(exc)

        for key in model.types:
            if key not in _TYPE_KEYS:
                source.fail(("types", key), f"unknown petition type '{key}' (known: {', '.join(_TYPE_KEYS)})")
        for key in model.categories:
            if key not in CATEGORY_KEYS:
                source.fail(
                    ("categories", key), f"unknown category key '{key}' (known: {', '.join(CATEGORY_KEYS)})"
                )
        periods = tuple((_parse_time(start), _parse_time(end)) for start, end in model.working_hours)
        holidays_file = path.parent / model.holidays_file
        problem: str | None = None
        try:
            calendar = WorkingCalendar.load(
                holidays_file, extra=model.extra_holidays, timezone=model.timezone, periods=periods
            )
        except CalendarError as exc:
            problem = str(exc)
        if problem is not None:
            if problem.startswith("working hours:"):
                source.fail(("working_hours",), problem.removeprefix("working hours:").strip())
            if problem.startswith("unknown time zone"):
                source.fail(("timezone",), problem)
            source.fail(("holidays_file",), problem)

        return cls(
            calendar=calendar,
            reminder_working_days=model.reminder.working_days_before,
            escalate_every_working_days=model.escalation.every_working_days,
            reopen_within=timedelta(days=model.verdict.reopen_within_days),
            close_after=timedelta(days=model.verdict.close_after_days),
            default_durations=model.default.durations(),
            urgent=model.urgent.durations() if model.urgent is not None else {},
            types={key: entry.durations() for key, entry in model.types.items()},
            categories={key: entry.durations() for key, entry in model.categories.items()},
            transfer=model.transfer.to_duration(),
        )

    @staticmethod
    def default_path() -> Path:
        """Where the shipped Hà Tĩnh deadlines file is."""
        return _DEFAULT_FILE

    @classmethod
    def default(cls) -> DeadlinePolicy:
        """The shipped Hà Tĩnh policy (loaded once, then shared)."""
        if not _default_cache:
            _default_cache.append(cls.load(_DEFAULT_FILE))
        return _default_cache[0]

    # ------------------------------------------------------------------ rules

    def durations(self, category: str, petition_type: str, is_urgent: bool) -> dict[DeadlineKind, Duration]:
        """Each deadline's duration: default < category < urgent (accept only) < petition type."""
        result = dict(self.default_durations)
        result.update(self.categories.get(str(category), {}))
        if is_urgent:
            result.update(self.urgent)
        result.update(self.types.get(str(petition_type), {}))
        return result

    def due_dates(
        self, category: str, petition_type: str, is_urgent: bool, start: datetime
    ) -> dict[DeadlineKind, datetime]:
        """When each deadline of a petition received at ``start`` runs out (UTC)."""
        return {
            kind: duration.after(self.calendar, start)
            for kind, duration in self.durations(category, petition_type, is_urgent).items()
        }

    def reminder_at(self, due: datetime) -> datetime:
        """``reminder_working_days`` working days before ``due``, same clock time (may already be past)."""
        return self.calendar.subtract_working_days(due, self.reminder_working_days)

    def next_escalation(self, after: datetime) -> datetime:
        """Close of business ``escalate_every_working_days`` working days after ``after`` (UTC)."""
        return self.calendar.add_working_days(after, self.escalate_every_working_days)

    def extended(self, due: datetime, duration: Duration) -> datetime:
        """The new due date of a (one-time) extension by ``duration`` counted from the current ``due``."""
        return duration.after(self.calendar, due)


# --------------------------------------------------------------------------------------- file model

_TYPE_KEYS: Final[tuple[str, ...]] = tuple(t.value for t in PetitionType)
_DURATION_FIELDS: Final[tuple[str, ...]] = tuple(u.value for u in DurationUnit)
_CLOCK_PATTERN: Final = r"^([01]\d|2[0-3]):[0-5]\d$"


def _parse_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _DurationModel(_Model):
    working_days: int | None = Field(default=None, strict=True, gt=0, le=1000)
    working_hours: float | None = Field(default=None, strict=True, gt=0, le=1000)
    days: int | None = Field(default=None, strict=True, gt=0, le=3650)

    @model_validator(mode="after")
    def _exactly_one(self) -> _DurationModel:
        given = [name for name in _DURATION_FIELDS if getattr(self, name) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "duration",
                "give exactly one of working_days, working_hours, days (found: {found})",
                {"found": ", ".join(given) or "none"},
            )
        return self

    def to_duration(self) -> Duration:
        return Duration(working_days=self.working_days, working_hours=self.working_hours, days=self.days)


class _EntryModel(_Model):
    accept: _DurationModel | None = None
    resolve: _DurationModel | None = None

    def durations(self) -> dict[DeadlineKind, Duration]:
        out: dict[DeadlineKind, Duration] = {}
        for kind in DeadlineKind:
            model: _DurationModel | None = getattr(self, kind.value)
            if model is not None:
                out[kind] = model.to_duration()
        return out


class _DefaultModel(_EntryModel):
    accept: _DurationModel
    resolve: _DurationModel


class _UrgentModel(_Model):
    accept: _DurationModel  # urgent categories get a faster first response; resolving follows the rest

    @model_validator(mode="before")
    @classmethod
    def _accept_only(cls, value: Any) -> Any:
        if isinstance(value, dict) and "resolve" in value:
            raise PydanticCustomError(
                "urgent_accept_only",
                "urgent sets the accept deadline only; give a faster resolve under categories "
                "(e.g. disaster: {resolve: {working_days: 5}})",
            )
        return value

    def durations(self) -> dict[DeadlineKind, Duration]:
        return {DeadlineKind.ACCEPT: self.accept.to_duration()}


class _ReminderModel(_Model):
    working_days_before: int = Field(strict=True, ge=1, le=100)


class _EscalationModel(_Model):
    every_working_days: int = Field(strict=True, ge=1, le=100)


class _VerdictModel(_Model):
    reopen_within_days: int = Field(strict=True, ge=1, le=365)
    close_after_days: int = Field(strict=True, ge=1, le=365)


_Clock = Annotated[str, Field(strict=True, pattern=_CLOCK_PATTERN)]


class _DeadlinesFile(_Model):
    format_version: Literal[1]
    holidays_file: str = Field(strict=True, min_length=1)
    extra_holidays: list[date] = Field(default_factory=list)
    timezone: str = Field(default=DEFAULT_TIMEZONE, strict=True, min_length=1)
    working_hours: list[tuple[_Clock, _Clock]] = Field(
        default_factory=lambda: [(f"{s:%H:%M}", f"{e:%H:%M}") for s, e in DEFAULT_PERIODS], min_length=1
    )
    default: _DefaultModel
    urgent: _UrgentModel | None = None
    types: dict[str, _EntryModel] = Field(default_factory=dict)
    categories: dict[str, _EntryModel] = Field(default_factory=dict)
    transfer: _DurationModel = Field(default_factory=lambda: _DurationModel(working_days=3))
    reminder: _ReminderModel
    escalation: _EscalationModel
    verdict: _VerdictModel

    @field_validator("working_hours", mode="before")
    @classmethod
    def _quoted_times(cls, value: Any) -> Any:
        if isinstance(value, list):
            for period in value:
                if isinstance(period, list | tuple) and any(isinstance(t, int) for t in period):
                    raise PydanticCustomError(
                        "unquoted_time",
                        'write times in quotes ("07:30"): unquoted, YAML reads 07:30 as a number',
                    )
        return value
