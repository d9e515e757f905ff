"""Deadlines in motion: which timers a petition needs, and what each timer does when it fires.

* At creation every petition gets its deadlines (accept, resolve) from the policy, and two timers
  per deadline: a reminder one working day before, and the deadline itself.
* A deadline that passes unmet marks the case overdue and escalates it one level up the chain of
  supervisors (commune officer → chairman → provincial board...); while it stays unmet it escalates
  again every few working days, until the top of the chain.
* When a case is resolved the citizen is asked for a verdict; without an answer it closes after a
  week.

Timers carry the due time they were set for (``n`` = epoch seconds); a timer whose deadline moved
(extension, transfer, reopening) finds a different due time and does nothing. Every effect is a
versioned write of the petition, so a timer fired twice (a worker died after firing) changes
nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.deadlines import DeadlineKind, DeadlinePolicy
from bot.domain.directory import Directory
from storage.models import Deadline, HistoryEntry, Official, Petition, PetitionStatus, Verdict
from storage.outbox import OutboxEntry, official_lane
from storage.timers import Timer

REMIND = "remind"
DUE = "due"
ESCALATE = "escalate"
VERDICT_CLOSE = "verdict_close"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to tell someone, rendered by the messenger adapter in the reader's language."""

    kind: str
    ticket: str
    official_id: str | None = None  # None: the petition's citizen
    data: dict[str, str] = field(default_factory=dict)


def owed(notices: list[Notice] | tuple[Notice, ...], citizen_id: str) -> list[OutboxEntry]:
    """The outbox entries that deliver ``notices`` (an official's go to their lane, the citizen's to
    theirs), to be recorded in the same write as the change that produced them."""
    entries = []
    for notice in notices:
        lane = official_lane(notice.official_id) if notice.official_id else citizen_id
        entries.append(
            OutboxEntry(
                kind=notice.kind,
                lane=lane,
                ticket=notice.ticket,
                official_id=notice.official_id,
                data=dict(notice.data),
            )
        )
    return entries


def lanes_of(entries: list[OutboxEntry]) -> tuple[str, ...]:
    """The distinct lanes of some entries, in order (what a handler flushes after the change)."""
    return tuple(dict.fromkeys(entry.lane for entry in entries))


def epoch(moment: datetime) -> int:
    """Whole seconds since the epoch (what a timer remembers of its due time)."""
    return int(moment.timestamp())


def next_up(official_id: str | None, officials: dict[str, Official]) -> str | None:
    """The active supervisor one level above an official, if any."""
    current = officials.get(official_id or "")
    seen: set[str] = set()
    while current is not None and current.supervisor_id and current.supervisor_id not in seen:
        seen.add(current.supervisor_id)
        above = officials.get(current.supervisor_id)
        if above is not None and above.is_active:
            return above.id
        current = above
    return None


class DeadlineTracker:
    """Computes deadlines and timers; applies timer effects to a petition (no I/O here)."""

    def __init__(self, policy: DeadlinePolicy, directory: Directory) -> None:
        self.policy = policy
        self._directory = directory

    def is_urgent(self, category: str) -> bool:
        """Whether a category is marked urgent in the province file."""
        found = self._directory.category(category)
        return bool(found and found.is_urgent)

    def plan(
        self, petition: Petition, start: datetime, kinds: tuple[DeadlineKind, ...] | None = None
    ) -> None:
        """Set (or reset) the petition's deadlines counted from ``start``."""
        category = self._directory.category(petition.category)
        due = self.policy.due_dates(
            petition.category, petition.type, bool(category and category.is_urgent), start
        )
        for kind, due_at in due.items():
            if kinds is None or kind in kinds:
                petition.deadlines[kind.value] = Deadline(kind=kind.value, due_at=due_at)

    def timers(self, petition: Petition, now: datetime, ticket: str | None = None) -> list[tuple[str, float]]:
        """(member, due) of the reminder and deadline timers of every pending deadline."""
        ticket = ticket or petition.id
        result: list[tuple[str, float]] = []
        for kind, deadline in petition.deadlines.items():
            if not deadline.is_pending or deadline.overdue_at is not None:
                continue
            n = epoch(deadline.due_at)
            remind_at = self.policy.reminder_at(deadline.due_at)
            if deadline.reminded_at is None and remind_at > now:
                result.append((Timer(REMIND, ticket, kind, n).member, remind_at.timestamp()))
            result.append((Timer(DUE, ticket, kind, n).member, deadline.due_at.timestamp()))
        return result

    def meet(self, petition: Petition, kind: DeadlineKind, now: datetime) -> None:
        """A deadline is met (the official accepted, answered, resolved...)."""
        deadline = petition.deadlines.get(kind.value)
        if deadline is not None and deadline.is_pending:
            deadline.met_at = now

    def fire(
        self, petition: Petition, timer: Timer, now: datetime, officials: dict[str, Official]
    ) -> tuple[list[Notice], list[tuple[str, float]]] | None:
        """Apply a timer to the petition (in place). None when it has nothing to do (obsolete, met,
        already done); else the notices to send and further timers."""
        if timer.kind == VERDICT_CLOSE:
            return self._close_without_verdict(petition, timer, now)
        deadline = petition.deadlines.get(timer.arg)
        if deadline is None or not petition.is_open or not deadline.is_pending:
            return None
        if timer.kind in (REMIND, DUE) and epoch(deadline.due_at) != timer.n:
            return None  # set for a due time that has since moved (extension, transfer, reopening)
        if timer.kind == REMIND:
            if deadline.reminded_at is not None:
                return None
            deadline.reminded_at = now
            notice = Notice("reminder", petition.id, petition.assignee_id, {"kind": deadline.kind})
            return [notice], []
        if timer.kind == DUE:
            if deadline.overdue_at is not None:
                return None
            deadline.overdue_at = now
            notices = self._escalate(petition, now, officials, reason=deadline.kind)
            notices.insert(0, Notice("overdue", petition.id, petition.assignee_id, {"kind": deadline.kind}))
            return notices, self._next_escalation(petition, deadline, now)
        if timer.kind == ESCALATE:
            return self._escalate_again(petition, deadline, timer, now, officials)
        return None

    def _next_escalation(
        self, petition: Petition, deadline: Deadline, now: datetime
    ) -> list[tuple[str, float]]:
        if petition.escalated_to is None:
            return []
        when = self.policy.next_escalation(now)
        member = Timer(
            ESCALATE, petition.id, deadline.kind, epoch(deadline.due_at) * 100 + petition.escalation_level
        )
        return [(member.member, when.timestamp())]

    def _escalate_again(
        self,
        petition: Petition,
        deadline: Deadline,
        timer: Timer,
        now: datetime,
        officials: dict[str, Official],
    ) -> tuple[list[Notice], list[tuple[str, float]]] | None:
        if timer.n != epoch(deadline.due_at) * 100 + petition.escalation_level:
            return None  # written for another level: obsolete
        notices = self._escalate(petition, now, officials, reason=deadline.kind)
        if not notices:
            return None  # the top of the chain
        return notices, self._next_escalation(petition, deadline, now)

    def _escalate(
        self, petition: Petition, now: datetime, officials: dict[str, Official], reason: str
    ) -> list[Notice]:
        """One level up: the next supervisor is told; so is the citizen."""
        above = next_up(petition.escalated_to or petition.assignee_id, officials)
        if above is None:
            return []
        petition.escalated_to = above
        petition.escalation_level += 1
        petition.history.append(
            HistoryEntry(at=now, actor="system", action="escalated", note=reason, assignee_id=above)
        )
        return [
            Notice("escalated_to_you", petition.id, above, {"kind": reason}),
            Notice("escalated", petition.id, None, {"kind": reason}),
        ]

    def escalate_now(
        self, petition: Petition, now: datetime, officials: dict[str, Official], reason: str
    ) -> list[Notice]:
        """Escalate outside the timers (the citizen said "not yet" twice)."""
        return self._escalate(petition, now, officials, reason)

    def ask_verdict(self, petition: Petition, now: datetime) -> list[tuple[str, float]]:
        """The case was resolved: ask the citizen; close it after a week without an answer."""
        petition.resolved_at = now
        petition.verdict = Verdict(asked_at=now)
        close_at = now + self.policy.close_after
        return [(Timer(VERDICT_CLOSE, petition.id, "", epoch(now)).member, close_at.timestamp())]

    def _close_without_verdict(
        self, petition: Petition, timer: Timer, now: datetime
    ) -> tuple[list[Notice], list[tuple[str, float]]] | None:
        verdict = petition.verdict
        if (
            petition.status != PetitionStatus.RESOLVED
            or verdict is None
            or verdict.answered_at is not None
            or epoch(verdict.asked_at) != timer.n
        ):
            return None
        verdict.closed_without_answer = True
        petition.status = PetitionStatus.CLOSED
        petition.history.append(
            HistoryEntry(at=now, actor="system", action="closed", status=PetitionStatus.CLOSED)
        )
        return [Notice("closed", petition.id, None)], []

    def may_reopen(self, petition: Petition, now: datetime) -> bool:
        """Whether "not yet" still reopens the case (within the policy's window after resolution)."""
        return (
            petition.status in (PetitionStatus.RESOLVED, PetitionStatus.CLOSED)
            and petition.resolved_at is not None
            and now - petition.resolved_at <= self.policy.reopen_within
            and not (petition.verdict is not None and petition.verdict.resolved is True)
        )
