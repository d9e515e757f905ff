"""Statistics for the leadership: pure functions over petitions, a period and the current time.

A period is a half-open interval of local days (Asia/Ho_Chi_Minh by default). Every count is about the
petitions *received* in the period (the cohort), except the overdue list, which is every case in scope
that is open and late now. ``ReportService`` loads the petitions from storage and applies the scope:
admins see the whole province, supervisors the cases of themselves and their subordinates and the
localities those officials cover.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain.cases import Actor, subordinates
from storage.cosign import CoSignRepository
from storage.models import Official, Petition, PetitionStatus, Role
from storage.officials import OfficialRepository
from storage.petitions import PetitionRepository

STEPS = ("accept", "resolve")
RESOLVED_STATUSES = frozenset({PetitionStatus.RESOLVED, PetitionStatus.CLOSED})
OPEN_STATUSES = (PetitionStatus.SUBMITTED, PetitionStatus.ACCEPTED, PetitionStatus.IN_PROGRESS)
MAX_CUSTOM_DAYS = 3 * 366
MOST_CO_SIGNED = 5
_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


class PeriodKind(StrEnum):
    """The periods offered by buttons (short values: they travel in callback data)."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    CUSTOM = "custom"


class PeriodError(ValueError):
    """Dates that do not make a period (the message is for logs; callers explain it to the user)."""


@dataclass(frozen=True, slots=True)
class Period:
    """Local days ``first`` … ``last`` (both included), as UTC instants ``[start, end)``."""

    kind: PeriodKind
    first: date
    last: date
    tz: str = "Asia/Ho_Chi_Minh"

    @property
    def start(self) -> datetime:
        """The first instant of the period."""
        return datetime.combine(self.first, datetime.min.time(), ZoneInfo(self.tz)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        day_after = self.last + timedelta(days=1)
        return datetime.combine(day_after, datetime.min.time(), ZoneInfo(self.tz)).astimezone(UTC)

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in the period."""
        return self.start <= moment < self.end

    def label(self) -> str:
        """``dd/mm/yyyy – dd/mm/yyyy``."""
        return f"{self.first:%d/%m/%Y} – {self.last:%d/%m/%Y}"


def period_of(kind: PeriodKind, now: datetime, tz: str = "Asia/Ho_Chi_Minh") -> Period:
    """This week (Monday first), this month or this quarter, around ``now`` in local time."""
    today = now.astimezone(ZoneInfo(tz)).date()
    if kind == PeriodKind.WEEK:
        first = today - timedelta(days=today.weekday())
        return Period(kind, first, first + timedelta(days=6), tz)
    if kind == PeriodKind.MONTH:
        first = today.replace(day=1)
    elif kind == PeriodKind.QUARTER:
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    else:
        raise PeriodError("a custom period needs its dates")
    months = 1 if kind == PeriodKind.MONTH else 3
    year, month = divmod(first.month - 1 + months, 12)
    return Period(kind, first, date(first.year + year, month + 1, 1) - timedelta(days=1), tz)


def parse_day(text: str) -> date:
    """``dd/mm/yyyy`` (also with ``.`` or ``-``) or ISO ``yyyy-mm-dd``."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        match = _DATE.fullmatch(text)
        if match is None:
            raise PeriodError(f"not a date: {text!r}")
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    except ValueError as exc:
        raise PeriodError(f"not a date: {text!r}") from exc


def custom_period(first: date, last: date, tz: str = "Asia/Ho_Chi_Minh") -> Period:
    """A range of days chosen by the user (checked: in order, at most about three years)."""
    if last < first:
        raise PeriodError("the end is before the start")
    if (last - first).days > MAX_CUSTOM_DAYS:
        raise PeriodError("the range is too long")
    return Period(PeriodKind.CUSTOM, first, last, tz)


def parse_range(text: str, tz: str = "Asia/Ho_Chi_Minh") -> Period:
    """Two dates typed in one message, e.g. ``01/01/2026 - 31/03/2026``."""
    found = _DATE.findall(text)
    if len(found) != 2:
        raise PeriodError("two dates are needed")
    days = []
    for day, month, year in found:
        try:
            days.append(date(int(year), int(month), int(day)))
        except ValueError as exc:
            raise PeriodError("not a date") from exc
    return custom_period(days[0], days[1], tz)


@dataclass(frozen=True, slots=True)
class DialogueRecord:
    """A dialogue held with citizens and the petitions (proposals) raised in it."""

    id: str
    held_at: datetime
    proposal_tickets: tuple[str, ...] = ()
    title: str = ""
    locality_code: str | None = None


class DialogueSource(Protocol):
    """Where dialogues come from (built elsewhere; none means no dialogue yet)."""

    async def held_between(self, start: datetime, end: datetime) -> list[DialogueRecord]:
        """Dialogues held in ``[start, end)``."""
        ...


@dataclass(frozen=True, slots=True)
class StepStats:
    """One step's deadline performance and durations (hours)."""

    met_on_time: int = 0
    due: int = 0  # met, or pending past its due time
    median_hours: float | None = None
    p90_hours: float | None = None

    @property
    def on_time_rate(self) -> float | None:
        """Met before due / (met or overdue); None when nothing was due."""
        return self.met_on_time / self.due if self.due else None


@dataclass(frozen=True, slots=True)
class OverdueCase:
    """An open case past a deadline."""

    ticket: str
    locality_code: str
    assignee_id: str | None
    step: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Report:
    """Everything ``/stats`` and the exports show about one period."""

    period: Period
    generated_at: datetime
    received: int
    by_status: dict[str, int]
    by_locality: dict[str, int]
    by_category: dict[str, int]
    by_type: dict[str, int]
    steps: dict[str, StepStats]
    on_time_by_locality: dict[str, tuple[int, int]]  # code → (on time, due), both steps together
    overdue: list[OverdueCase]
    verdicts_answered: int
    verdicts_resolved: int
    ratings: int
    average_rating: float | None
    resolved_once: int
    reopened: int
    dialogues_held: int
    proposals: int
    proposals_resolved: int
    weekly: list[tuple[date, dict[str, int]]] = field(default_factory=list)  # bucket start → by status
    co_signatures: int = 0  # citizens who joined ("me too") the petitions received in the period
    co_signed_petitions: int = 0  # petitions received in the period that someone joined
    most_co_signed: list[tuple[str, int]] = field(default_factory=list)  # open cases, most joined first

    @property
    def resolved_rate(self) -> float | None:
        """Share of answered verdicts saying "resolved"."""
        return self.verdicts_resolved / self.verdicts_answered if self.verdicts_answered else None

    @property
    def reopen_rate(self) -> float | None:
        """Share of resolved petitions the citizen reopened."""
        return self.reopened / self.resolved_once if self.resolved_once else None

    @property
    def proposals_resolution_rate(self) -> float | None:
        """Share of dialogue proposals that are resolved."""
        return self.proposals_resolved / self.proposals if self.proposals else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0–100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def accepted_at(petition: Petition) -> datetime | None:
    """When the accept step was met: the deadline's record, else the first "accepted" entry."""
    deadline = petition.deadlines.get("accept")
    if deadline is not None and deadline.met_at is not None:
        return deadline.met_at
    return next((e.at for e in petition.history if e.action == "accepted"), None)


def resolved_at(petition: Petition) -> datetime | None:
    """When the petition was (first) resolved."""
    first = next((e.at for e in petition.history if e.action == "resolved"), None)
    return first or petition.resolved_at


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _step(petitions: Iterable[Petition], kind: str, now: datetime) -> tuple[StepStats, dict[str, list[int]]]:
    on_time = due = 0
    by_locality: dict[str, list[int]] = {}
    durations: list[float] = []
    for petition in petitions:
        done = accepted_at(petition) if kind == "accept" else resolved_at(petition)
        if done is not None:
            durations.append(_hours(done - petition.created_at))
        deadline = petition.deadlines.get(kind)
        if deadline is None:
            continue
        counted = deadline.met_at is not None or deadline.due_at <= now or deadline.overdue_at is not None
        if not counted:
            continue
        good = deadline.met_at is not None and deadline.met_at <= deadline.due_at
        due += 1
        on_time += good
        pair = by_locality.setdefault(petition.locality_code, [0, 0])
        pair[0] += good
        pair[1] += 1
    stats = StepStats(
        on_time,
        due,
        statistics.median(durations) if durations else None,
        percentile(durations, 90),
    )
    return stats, by_locality


def _buckets(period: Period) -> list[date]:
    """Week starts (Mondays) covering the period; month starts when that would be over 16 bars."""
    first = period.first - timedelta(days=period.first.weekday())
    weeks = [first + timedelta(weeks=i) for i in range((period.last - first).days // 7 + 1)]
    if len(weeks) <= 16:
        return weeks
    months, day = [], period.first.replace(day=1)
    while day <= period.last:
        months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def overdue_cases(petitions: Iterable[Petition], now: datetime) -> list[OverdueCase]:
    """Open cases with a pending deadline already past, most overdue first."""
    found = []
    for petition in petitions:
        if not petition.is_open:
            continue
        late = [
            (d.due_at, kind)
            for kind, d in petition.deadlines.items()
            if d.met_at is None and (d.due_at <= now or d.overdue_at is not None)
        ]
        if late:
            due_at, kind = min(late)
            found.append(OverdueCase(petition.id, petition.locality_code, petition.assignee_id, kind, due_at))
    return sorted(found, key=lambda c: (c.due_at, c.ticket))


def compute(
    petitions: Iterable[Petition],
    period: Period,
    now: datetime,
    dialogues: Sequence[DialogueRecord] = (),
    co_signers: Mapping[str, int] | None = None,
) -> Report:
    """The report of ``period``: ``petitions`` are every petition in scope that was loaded (those
    received in the period, the open ones, and the proposals of ``dialogues``); ``co_signers`` is how
    many citizens joined each ("me too")."""
    co_signers = co_signers or {}
    everything = {p.id: p for p in petitions}
    cohort = sorted(
        (p for p in everything.values() if period.contains(p.created_at)), key=lambda p: p.created_at
    )
    steps: dict[str, StepStats] = {}
    on_time_by_locality: dict[str, tuple[int, int]] = {}
    for kind in STEPS:
        steps[kind], per_locality = _step(cohort, kind, now)
        for code, (good, due) in per_locality.items():
            before = on_time_by_locality.get(code, (0, 0))
            on_time_by_locality[code] = (before[0] + good, before[1] + due)
    answered = [p.verdict for p in cohort if p.verdict is not None and p.verdict.resolved is not None]
    ratings = [p.verdict.rating for p in cohort if p.verdict is not None and p.verdict.rating is not None]
    resolved_once = [p for p in cohort if resolved_at(p) is not None]
    tz = ZoneInfo(period.tz)
    buckets = _buckets(period)
    weekly: list[tuple[date, dict[str, int]]] = [(b, {}) for b in buckets]
    for petition in cohort:
        day = petition.created_at.astimezone(tz).date()
        index = max(i for i, b in enumerate(buckets) if b <= day)
        counts = weekly[index][1]
        counts[petition.status.value] = counts.get(petition.status.value, 0) + 1
    held = [d for d in dialogues if period.contains(d.held_at)]
    proposal_tickets = {t for d in held for t in d.proposal_tickets}
    proposals_resolved = sum(
        1 for t in proposal_tickets if t in everything and everything[t].status in RESOLVED_STATUSES
    )
    return Report(
        period=period,
        generated_at=now,
        received=len(cohort),
        by_status=dict(Counter(p.status.value for p in cohort)),
        by_locality=dict(Counter(p.locality_code for p in cohort)),
        by_category=dict(Counter(p.category for p in cohort)),
        by_type=dict(Counter(p.type for p in cohort)),
        steps=steps,
        on_time_by_locality=on_time_by_locality,
        overdue=overdue_cases(everything.values(), now),
        verdicts_answered=len(answered),
        verdicts_resolved=sum(1 for v in answered if v is not None and v.resolved),
        ratings=len(ratings),
        average_rating=sum(ratings) / len(ratings) if ratings else None,
        resolved_once=len(resolved_once),
        reopened=sum(1 for p in resolved_once if p.reopen_count > 0),
        dialogues_held=len(held),
        proposals=len(proposal_tickets),
        proposals_resolved=proposals_resolved,
        weekly=weekly,
        co_signatures=sum(co_signers.get(p.id, 0) for p in cohort),
        co_signed_petitions=sum(1 for p in cohort if co_signers.get(p.id, 0)),
        most_co_signed=sorted(
            ((p.id, co_signers[p.id]) for p in everything.values() if p.is_open and co_signers.get(p.id, 0)),
            key=lambda item: (-item[1], item[0]),
        )[:MOST_CO_SIGNED],
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """What a viewer may see: None means the whole province."""

    official_ids: frozenset[str] | None = None
    localities: frozenset[str] = frozenset()

    @property
    def is_province(self) -> bool:
        """The whole province."""
        return self.official_ids is None

    def covers(self, petition: Petition) -> bool:
        """Whether the petition is in scope."""
        if self.official_ids is None:
            return True
        return petition.assignee_id in self.official_ids or petition.locality_code in self.localities


def scope_of(actor: Actor, officials: Sequence[Official]) -> Scope | None:
    """Admins: the province; active supervisors: their team's cases and localities; others: None."""
    if actor.is_admin:
        return Scope()
    official = actor.official
    if official is None or not official.is_active or official.role != Role.SUPERVISOR:
        return None
    team = {official.id, *subordinates(official.id, officials)}
    localities = {code for o in officials if o.id in team for code in o.localities}
    return Scope(frozenset(team), frozenset(localities))


class ReportService:
    """Loads the petitions a report needs and computes it."""

    def __init__(
        self,
        petitions: PetitionRepository,
        officials: OfficialRepository,
        dialogues: DialogueSource | None = None,
        batch: int = 500,
        cosign: CoSignRepository | None = None,
    ) -> None:
        self._petitions = petitions
        self._officials = officials
        self._dialogues = dialogues
        self._batch = batch
        self._cosign = cosign

    async def co_signers(self, petitions: Sequence[Petition]) -> dict[str, int]:
        """How many citizens joined each petition ("me too"); empty without co-signers storage."""
        if self._cosign is None:
            return {}
        return await self._cosign.counts([p.id for p in petitions])

    async def officials(self) -> list[Official]:
        """The officials directory."""
        return await self._officials.all()

    async def load(
        self,
        period: Period,
        scope: Scope,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[Petition], list[DialogueRecord]]:
        """The petitions in scope received in the period, the open ones, and the dialogues' proposals."""
        dialogues = await self._dialogues.held_between(period.start, period.end) if self._dialogues else []
        tickets = await self._petitions.tickets_created_between(period.start, period.end)
        tickets += await self._petitions.tickets_with_status([s.value for s in OPEN_STATUSES])
        tickets += [t for d in dialogues for t in d.proposal_tickets]
        unique = list(dict.fromkeys(tickets))
        loaded: list[Petition] = []
        for offset in range(0, len(unique), self._batch):
            loaded += await self._petitions.get_many(unique[offset : offset + self._batch])
            if progress is not None:
                progress(min(offset + self._batch, len(unique)), len(unique))
        return [p for p in loaded if scope.covers(p)], dialogues

    async def report(self, period: Period, scope: Scope, now: datetime) -> tuple[Report, list[Petition]]:
        """The report and the petitions in scope received in the period (oldest first)."""
        petitions, dialogues = await self.load(period, scope)
        report = compute(petitions, period, now, dialogues, await self.co_signers(petitions))
        return report, received_in(petitions, period)


def received_in(petitions: Iterable[Petition], period: Period) -> list[Petition]:
    """The petitions received in the period, oldest first."""
    return sorted((p for p in petitions if period.contains(p.created_at)), key=lambda p: (p.created_at, p.id))
