"""Direct dialogues and citizen receptions: creation, attendance, reminders, questions and follow-up.

A question for a dialogue is an ordinary petition whose draft names the dialogue (same intake, same
routing). After the dialogue the admin records, per question, the answer given on the spot or the
commitment made (who acts, by when); a commitment becomes the petition's resolve deadline, tracked by
the usual timers. Reminders are durable timers ``dlg_remind|<id>|24h|<start epoch>``: a rescheduled
dialogue has another start time, so the old timers find nothing to do.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.cases import OPEN, Actor, CaseService
from bot.domain.clock import Clock
from bot.domain.cosign import for_co_signers
from bot.domain.deadlines import DeadlineKind
from bot.domain.directory import Directory, PetitionType
from bot.domain.escalation import DeadlineTracker, epoch
from bot.domain.visible_text import is_visibly_empty
from bot.errors import DomainError, NotAllowed, StaleAction, UnknownChoice
from bot.outbox import Outbox
from storage.audit import AuditLog
from storage.dialogues import Dialogue, DialogueKind, DialogueRepository, DialogueStatus, Outcome
from storage.models import Deadline, HistoryEntry, Petition, PetitionStatus, Role, Session
from storage.outbox import OutboxEntry, official_lane
from storage.petitions import PetitionRepository
from storage.timers import Timer

REMIND_KIND = "dlg_remind"
REMINDERS = {"24h": timedelta(hours=24), "1h": timedelta(hours=1)}
TEXT_MAX = 300
ANSWER_MAX = 3500
TEXT_FIELDS = ("title", "host_name", "host_title", "place")  # required, each visibly non-empty
COMMITMENT_HOUR = time(17, 0)
_WHEN = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2})[:hH](\d{2}))?\s*$")


class BadDate(DomainError):
    """Not a date written dd/mm/yyyy [hh:mm]."""


class PastDate(DomainError):
    """A date that has already passed."""


class DialogueFull(DomainError):
    """Every seat is taken."""


def parse_local(text: str, tz: ZoneInfo, *, with_time: bool) -> datetime:
    """``dd/mm/yyyy hh:mm`` (or ``dd/mm/yyyy`` when not ``with_time``: 17:00) in the province's zone."""
    match = _WHEN.match(text)
    if match is None or (with_time and match.group(4) is None):
        raise BadDate(text)
    day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
    hour, minute = (int(match.group(4)), int(match.group(5))) if match.group(4) else (17, 0)
    try:
        return datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:
        raise BadDate(text) from None


@dataclass(frozen=True, slots=True)
class FollowUp:
    """How the proposals raised at a dialogue are doing."""

    raised: int
    answered: int
    in_progress: int
    resolved: int
    overdue: int


def follow_up(dialogue: Dialogue, petitions: list[Petition]) -> FollowUp:
    """Counts, each petition in one bucket: answered on the spot, resolved, overdue or in progress."""
    answered = resolved = overdue = in_progress = 0
    for petition in petitions:
        outcome = dialogue.outcomes.get(petition.id)
        if outcome is not None and outcome.kind == "answer":
            answered += 1
        elif not petition.is_open:
            resolved += 1
        elif petition.overdue:
            overdue += 1
        else:
            in_progress += 1
    return FollowUp(len(petitions), answered, in_progress, resolved, overdue)


class DialogueService:
    """Everything about dialogues that is not Telegram."""

    def __init__(
        self,
        repo: DialogueRepository,
        petitions: PetitionRepository,
        cases: CaseService,
        tracker: DeadlineTracker,
        directory: Directory,
        clock: Clock,
        audit: AuditLog,
        outbox: Outbox | None = None,
    ) -> None:
        self.repo = repo
        self.outbox = outbox
        self._petitions = petitions
        self._cases = cases
        self._tracker = tracker
        self.directory = directory
        self._clock = clock
        self._audit = audit
        self.tz = ZoneInfo(directory.timezone)

    # ------------------------------------------------------------------ rights

    @staticmethod
    def may_manage(actor: Actor) -> bool:
        """Admins, and active supervisors (chairmen), may organise dialogues."""
        official = actor.official
        return actor.is_admin or (
            official is not None and official.is_active and official.role in (Role.SUPERVISOR, Role.ADMIN)
        )

    def may_run(self, actor: Actor, dialogue: Dialogue) -> bool:
        """Admins, and whoever created the dialogue (its host's office), may change and follow it."""
        return actor.is_admin or (self.may_manage(actor) and dialogue.created_by == actor.ref)

    async def get(self, dialogue_id: str) -> Dialogue:
        """The dialogue, or StaleAction (unknown or forged id)."""
        dialogue = await self.repo.get(dialogue_id)
        if dialogue is None:
            raise StaleAction(dialogue_id)
        return dialogue

    async def for_runner(self, actor: Actor, dialogue_id: str) -> Dialogue:
        """The dialogue if ``actor`` may run it; NotAllowed otherwise."""
        dialogue = await self.get(dialogue_id)
        if not self.may_run(actor, dialogue):
            raise NotAllowed(dialogue_id)
        return dialogue

    # ------------------------------------------------------------------ creation

    def parse_start(self, text: str) -> datetime:
        """The start typed dd/mm/yyyy hh:mm; PastDate when it has passed."""
        when = parse_local(text, self.tz, with_time=True)
        if when <= self._clock.now():
            raise PastDate(text)
        return when

    def parse_due(self, text: str) -> datetime:
        """A commitment's date (dd/mm/yyyy, 17:00 that day); PastDate when it has passed."""
        when = parse_local(text, self.tz, with_time=False)
        if when <= self._clock.now():
            raise PastDate(text)
        return when

    async def create(self, actor: Actor, fields: dict[str, object]) -> Dialogue:
        """Store a prepared (not yet published) dialogue."""
        if not self.may_manage(actor):
            raise NotAllowed("dialogue")
        for field in TEXT_FIELDS:
            if is_visibly_empty(str(fields.get(field) or "")):
                raise UnknownChoice(field)
        now = self._clock.now()
        capacity = fields.get("capacity")
        dialogue = Dialogue(
            id="",
            title=str(fields["title"]),
            host_name=str(fields["host_name"]),
            host_title=str(fields["host_title"]),
            kind=DialogueKind(str(fields["kind"])),
            starts_at=datetime.fromisoformat(str(fields["starts_at"])),
            place=str(fields["place"]),
            localities=[str(c) for c in fields.get("localities", []) or []],  # type: ignore[attr-defined]
            topics=[str(c) for c in fields.get("topics", []) or []],  # type: ignore[attr-defined]
            capacity=int(str(capacity)) if capacity else None,
            created_by=actor.ref,
            created_by_telegram=actor.telegram_id,
            created_at=now,
            updated_at=now,
        )
        dialogue.id = await self.repo.create(dialogue)
        await self._audit.append(actor.ref, "dialogue_created", now, dialogue=dialogue.id)
        return dialogue

    def reminder_timers(self, dialogue: Dialogue) -> list[tuple[str, float]]:
        """The 24 h and 1 h reminders still ahead, stamped with the start time."""
        now = self._clock.now()
        result = []
        for which, before in REMINDERS.items():
            due = dialogue.starts_at - before
            if due > now:
                result.append(
                    (
                        Timer(REMIND_KIND, dialogue.id, which, epoch(dialogue.starts_at)).member,
                        due.timestamp(),
                    )
                )
        return result

    async def _change(
        self,
        actor: Actor,
        dialogue_id: str,
        allowed: set[DialogueStatus],
        change: dict[str, object],
        notice: tuple[str, str] | None = None,
    ) -> tuple[Dialogue, Dialogue]:
        """A versioned change; ``notice`` (kind, tag prefix) is recorded for everyone concerned in the
        same write (``tag prefix`` + the new version: each person is told once)."""
        for _attempt in range(5):
            before = await self.for_runner(actor, dialogue_id)
            if before.status not in allowed:
                raise StaleAction(dialogue_id)
            after = before.model_copy(
                update={**change, "version": before.version + 1, "updated_at": self._clock.now()}
            )
            timers = self.reminder_timers(after) if after.status == DialogueStatus.PUBLISHED else []
            entries = []
            if notice is not None:
                kind, prefix = notice
                tag = f"{prefix}-{after.version}"
                entries.append(
                    OutboxEntry(
                        kind=kind, lane=f"dialogue:{dialogue_id}", ticket=dialogue_id, data={"tag": tag}
                    )
                )
            if await self.repo.update(before, after, timers, entries):
                return before, after
        raise StaleAction(dialogue_id)

    async def publish(self, actor: Actor, dialogue_id: str) -> Dialogue:
        """Announce the dialogue (its reminders are scheduled in the same write)."""
        dialogue = await self.get(dialogue_id)
        if dialogue.starts_at <= self._clock.now():
            raise PastDate(dialogue_id)
        _before, after = await self._change(
            actor, dialogue_id, {DialogueStatus.DRAFT}, {"status": DialogueStatus.PUBLISHED}
        )
        await self._audit.append(actor.ref, "dialogue_published", self._clock.now(), dialogue=dialogue_id)
        return after

    async def set_broadcast(self, dialogue_id: str, broadcast_id: str) -> None:
        """Remember the announcement's broadcast."""
        for _attempt in range(5):
            before = await self.get(dialogue_id)
            after = before.model_copy(update={"broadcast_id": broadcast_id, "version": before.version + 1})
            if await self.repo.update(before, after):
                return

    async def cancel(self, actor: Actor, dialogue_id: str) -> Dialogue:
        """Cancel an announced (or prepared) dialogue; its reminders become no-ops."""
        _before, after = await self._change(
            actor,
            dialogue_id,
            {DialogueStatus.DRAFT, DialogueStatus.PUBLISHED},
            {"status": DialogueStatus.CANCELLED},
            ("dialogue_cancelled", "cx"),
        )
        await self._audit.append(actor.ref, "dialogue_cancelled", self._clock.now(), dialogue=dialogue_id)
        return after

    async def reschedule(self, actor: Actor, dialogue_id: str, starts_at: datetime) -> Dialogue:
        """Move the dialogue; new reminders are scheduled and the old ones find another start time."""
        if starts_at <= self._clock.now():
            raise PastDate(dialogue_id)
        _before, after = await self._change(
            actor,
            dialogue_id,
            {DialogueStatus.DRAFT, DialogueStatus.PUBLISHED},
            {"starts_at": starts_at},
            ("dialogue_moved", "rs"),
        )
        await self._audit.append(
            actor.ref,
            "dialogue_rescheduled",
            self._clock.now(),
            dialogue=dialogue_id,
            to=starts_at.isoformat(),
        )
        return after

    async def mark_held(self, actor: Actor, dialogue_id: str) -> Dialogue:
        """The dialogue took place: outcomes can now be recorded."""
        now = self._clock.now()
        _before, after = await self._change(
            actor, dialogue_id, {DialogueStatus.PUBLISHED}, {"status": DialogueStatus.HELD, "held_at": now}
        )
        await self._audit.append(actor.ref, "dialogue_held", now, dialogue=dialogue_id)
        return after

    # ------------------------------------------------------------------ citizens

    async def upcoming(self) -> list[Dialogue]:
        """Announced dialogues that have not started, soonest first."""
        now = self._clock.now()
        found = await self.repo.starting_between(now, now + timedelta(days=3650))
        return [d for d in found if d.status == DialogueStatus.PUBLISHED]

    async def open_for_citizens(self, dialogue_id: str) -> Dialogue:
        """An announced dialogue still ahead; StaleAction otherwise."""
        dialogue = await self.get(dialogue_id)
        if dialogue.status != DialogueStatus.PUBLISHED or dialogue.starts_at <= self._clock.now():
            raise StaleAction(dialogue_id)
        return dialogue

    async def attend(self, dialogue_id: str, telegram_id: int) -> bool:
        """Register (atomically within capacity); False when already registered, DialogueFull when full."""
        dialogue = await self.open_for_citizens(dialogue_id)
        result = await self.repo.attend(dialogue_id, telegram_id, dialogue.capacity)
        if result == 0:
            raise DialogueFull(dialogue_id)
        return result == 1

    async def leave(self, dialogue_id: str, telegram_id: int) -> bool:
        """Give up one's seat, so someone else can have it; False when not registered."""
        await self.open_for_citizens(dialogue_id)
        return await self.repo.leave(dialogue_id, telegram_id)

    async def remind_me(self, dialogue_id: str, telegram_id: int) -> bool:
        """Remind this citizen 24 h and 1 h before; False when already asked."""
        await self.open_for_citizens(dialogue_id)
        return await self.repo.add_reminder(dialogue_id, telegram_id)

    async def questions(self, dialogue_id: str) -> list[Petition]:
        """The petitions linked to the dialogue, oldest first."""
        return await self._petitions.get_many(await self.repo.question_tickets(dialogue_id))

    async def concerned(self, dialogue_id: str, *, reminders: bool) -> set[int]:
        """Telegram ids of attendees, askers (and, with ``reminders``, those who asked to be reminded)."""
        people = await self.repo.attendees(dialogue_id)
        if reminders:
            people |= await self.repo.to_remind(dialogue_id)
        for petition in await self.questions(dialogue_id):
            if petition.channel == "tg" and petition.citizen_id.startswith("tg:"):
                people.add(int(petition.citizen_id.split(":", 1)[1]))
        return people

    async def citizen_localities(self, citizen_id: str) -> set[str]:
        """The localities of the citizen's petitions (to show their dialogues first)."""
        return {p.locality_code for p in await self._petitions.list_by_citizen(citizen_id, count=50)}

    # ------------------------------------------------------------------ timers

    async def fire_timer(self, timer: Timer) -> tuple[str, ...]:
        """A reminder is due: recorded in the outbox (one entry for everyone concerned, each told once),
        unless the dialogue moved or ended; returns the outbox lanes."""
        dialogue = await self.repo.get(timer.ticket)
        if (
            dialogue is None
            or dialogue.status != DialogueStatus.PUBLISHED
            or epoch(dialogue.starts_at) != timer.n
            or timer.arg not in REMINDERS
            or self.outbox is None
        ):
            return ()
        return await self.notify(dialogue.id, "dialogue_reminder", f"{timer.arg}-{timer.n}", which=timer.arg)

    async def notify(self, dialogue_id: str, kind: str, tag: str, **data: str) -> tuple[str, ...]:
        """Record a notice to everyone concerned by a dialogue (``tag``: each person gets it once)."""
        if self.outbox is None:
            return ()
        entry = OutboxEntry(
            kind=kind, lane=f"dialogue:{dialogue_id}", ticket=dialogue_id, data={"tag": tag, **data}
        )
        return await self.outbox.enqueue([entry])

    # ------------------------------------------------------------------ after the dialogue

    async def record_outcome(
        self,
        actor: Actor,
        dialogue_id: str,
        ticket: str,
        *,
        text: str,
        official_id: str | None = None,
        due_at: datetime | None = None,
    ) -> tuple[Dialogue, Petition]:
        """The answer given (no ``due_at``: resolved on the spot) or the commitment made (``official_id``
        must act by ``due_at``) about one question; the petition follows."""
        dialogue = await self.for_runner(actor, dialogue_id)
        if dialogue.status != DialogueStatus.HELD:
            raise StaleAction(dialogue_id)
        text = text.strip()[:ANSWER_MAX]
        if is_visibly_empty(text):
            raise UnknownChoice("text")
        officials = await self._cases.officials_by_id()
        if official_id is not None and (official_id not in officials or not officials[official_id].is_active):
            raise UnknownChoice(official_id)
        outcome = Outcome(
            kind="commitment" if due_at is not None else "answer",
            text=text,
            official_id=official_id,
            due_at=due_at,
            recorded_at=self._clock.now(),
            recorded_by=actor.ref,
        )
        petition = await self._apply_to_petition(actor, dialogue_id, ticket, outcome)
        for _attempt in range(5):
            before = await self.get(dialogue_id)
            after = before.model_copy(deep=True)
            after.outcomes[ticket] = outcome
            after.version = before.version + 1
            after.updated_at = outcome.recorded_at
            if await self.repo.update(before, after):
                details = {"dialogue": dialogue_id, "kind": outcome.kind}
                if due_at is not None:
                    details["due"] = due_at.isoformat()
                await self._audit.append(
                    actor.ref, "dialogue_outcome", outcome.recorded_at, ticket, **details
                )
                return after, petition
        raise StaleAction(dialogue_id)

    async def _apply_to_petition(
        self, actor: Actor, dialogue_id: str, ticket: str, outcome: Outcome
    ) -> Petition:
        for _attempt in range(5):
            before = await self._petitions.get(ticket)
            if before is None or before.dialogue_id != dialogue_id:
                raise UnknownChoice(ticket)
            if before.status not in OPEN:
                raise StaleAction(ticket)
            after = before.model_copy(deep=True)
            now = self._clock.now()
            timers: list[tuple[str, float]] = []
            self._tracker.meet(after, DeadlineKind.ACCEPT, now)
            if outcome.kind == "answer":
                after.status = PetitionStatus.RESOLVED
                after.resolution = outcome.text
                self._tracker.meet(after, DeadlineKind.RESOLVE, now)
                timers += self._tracker.ask_verdict(after, now)
                action = "dialogue_answer"
            else:
                assert outcome.due_at is not None
                after.status = PetitionStatus.IN_PROGRESS
                if outcome.official_id and outcome.official_id != after.assignee_id:
                    after.assignee_id = outcome.official_id
                    after.routed_by = "dialogue"
                after.deadlines[DeadlineKind.RESOLVE.value] = Deadline(
                    kind=DeadlineKind.RESOLVE.value, due_at=outcome.due_at
                )
                after.escalated_to, after.escalation_level = None, 0
                action = "dialogue_commitment"
            after.history.append(
                HistoryEntry(
                    at=now,
                    actor=actor.ref,
                    action=action,
                    status=after.status,
                    note=outcome.text,
                    assignee_id=outcome.official_id,
                )
            )
            timers += self._tracker.timers(after, now)
            after.updated_at = now
            after.version = before.version + 1
            after.stage = before.stage + 1
            entries = self._outcome_owes(dialogue_id, after, outcome)
            # Me too: those who joined the question hear the outcome too (and are asked for a verdict).
            shared = for_co_signers(entries, after)
            if await self._petitions.update(before, after, timers, entries, shared):
                return after
        raise StaleAction(ticket)

    def _outcome_owes(self, dialogue_id: str, petition: Petition, outcome: Outcome) -> list[OutboxEntry]:
        """The citizen hears what was answered or committed (and is asked for a verdict after an
        answer); the official who committed gets the case card."""
        data = {"dialogue": dialogue_id, "outcome": outcome.kind, "text": outcome.text}
        if outcome.official_id:
            data["official"] = outcome.official_id
        if outcome.due_at is not None:
            data["due"] = outcome.due_at.isoformat()
        entries = [OutboxEntry(kind="outcome_news", lane=petition.citizen_id, ticket=petition.id, data=data)]
        if outcome.kind == "answer":
            entries.append(OutboxEntry(kind="verdict", lane=petition.citizen_id, ticket=petition.id))
        elif petition.assignee_id:
            entries.append(
                OutboxEntry(
                    kind="case",
                    lane=official_lane(petition.assignee_id),
                    ticket=petition.id,
                    official_id=petition.assignee_id,
                    data={"header": "dialogue_commitment"},
                )
            )
        return entries

    async def raise_proposal(
        self, actor: Actor, dialogue_id: str, *, text: str, locality_code: str, category: str, language: str
    ) -> Petition:
        """A proposal raised at the dialogue without a prior question: an anonymous petition on behalf
        of the citizens present, routed as usual."""
        dialogue = await self.for_runner(actor, dialogue_id)
        if dialogue.status != DialogueStatus.HELD:
            raise StaleAction(dialogue_id)
        if self.directory.locality(locality_code) is None or self.directory.category(category) is None:
            raise UnknownChoice(locality_code)
        if is_visibly_empty(text):
            raise UnknownChoice("text")
        now = self._clock.now()
        decision = await self._cases.route(locality_code, category)
        citizen_id = f"dialogue:{dialogue_id}"
        petition = Petition(
            id="",
            citizen_id=citizen_id,
            channel="dialogue",
            draft_id=f"dlg-{dialogue_id}-{secrets.token_hex(6)}",
            locality_code=locality_code,
            category=category,
            type=PetitionType.PROPOSAL.value,
            description=text.strip()[:ANSWER_MAX],
            is_anonymous=True,
            language=language,
            created_at=now,
            updated_at=now,
            history=[
                HistoryEntry(
                    at=now, actor=actor.ref, action="raised_at_dialogue", status=PetitionStatus.SUBMITTED
                ),
                HistoryEntry(
                    at=now,
                    actor="system",
                    action="routed",
                    note=decision.rule.value,
                    assignee_id=decision.official_id,
                ),
            ],
            assignee_id=decision.official_id,
            routed_by=decision.rule.value,
            dialogue_id=dialogue_id,
        )
        self._tracker.plan(petition, now)
        timers = self._tracker.timers(petition, now, ticket="{ticket}")
        entries = []
        if decision.official_id:
            entries.append(
                OutboxEntry(
                    kind="case",
                    lane=official_lane(decision.official_id),
                    ticket="{ticket}",
                    official_id=decision.official_id,
                    data={"header": "dialogue_proposal"},
                )
            )
        ticket, _created = await self._petitions.create(
            petition,
            ticket_prefix=self.directory.ticket_prefix,
            year=now.astimezone(self.tz).year,
            session=Session(citizen_id=citizen_id, updated_at=now),
            timers=timers,
            outbox=entries,
        )
        await self._audit.append(actor.ref, "dialogue_proposal", now, ticket, dialogue=dialogue_id)
        stored = await self._petitions.get(ticket)
        assert stored is not None
        return stored
