"""Case handling by officials: who may act, which actions each status allows, and what they do.

Every action names the petition *stage* the official saw (bumped by each official action); a button of
an earlier stage changes nothing. The storage script separately refuses any write over a petition
that changed since it was read (its *version*), so concurrent writes never overwrite each other. Authorisation is decided here, on the server, from the stored petition and the
officials directory — never from what a button claims.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.clock import Clock
from bot.domain.cosign import for_co_signers
from bot.domain.deadlines import DeadlineKind
from bot.domain.escalation import DeadlineTracker, Notice, lanes_of, next_up, owed
from bot.domain.routing import RouteDecision, route
from bot.domain.similarity import features
from bot.domain.visible_text import is_visibly_empty
from bot.errors import EvidenceRequired, NotAllowed, NoteRequired, NoteTooLong, StaleAction, UnknownChoice
from storage.audit import AuditLog
from storage.models import Attachment, HistoryEntry, Official, Petition, PetitionStatus, Role, Unit
from storage.officials import DirectorySettings, OfficialRepository
from storage.outbox import OutboxEntry, official_lane
from storage.petitions import PetitionRepository
from storage.timers import Timer, TimerRepository
from storage.topics import TopicCorrection, TopicCorrectionRepository

# The longest note (an official's reply, question, resolution, reason; what a citizen adds; a team chat
# message for the citizen), in UTF-16 units as Telegram counts: with the header around it the message
# stays under Telegram's 4096. A longer one is refused with its length, never cut.
NOTE_MAX = 3500
OPEN = frozenset({PetitionStatus.SUBMITTED, PetitionStatus.ACCEPTED, PetitionStatus.IN_PROGRESS})


class CaseAction(StrEnum):
    """What an official can do with a case (short values: they travel in callback data)."""

    ACCEPT = "acc"
    REPLY = "rep"
    ASK_INFO = "ask"
    TRANSFER = "trf"
    RESOLVE = "res"
    REJECT = "rej"
    EXTEND = "ext"


ALLOWED_FROM: dict[CaseAction, frozenset[PetitionStatus]] = {
    CaseAction.ACCEPT: frozenset({PetitionStatus.SUBMITTED}),
    CaseAction.REPLY: OPEN,
    CaseAction.ASK_INFO: OPEN,
    CaseAction.TRANSFER: OPEN,
    CaseAction.RESOLVE: frozenset({PetitionStatus.ACCEPTED, PetitionStatus.IN_PROGRESS}),
    CaseAction.REJECT: OPEN,
    CaseAction.EXTEND: frozenset({PetitionStatus.ACCEPTED, PetitionStatus.IN_PROGRESS}),  # after Accept
}
NEEDS_NOTE = frozenset(
    {
        CaseAction.REPLY,
        CaseAction.ASK_INFO,
        CaseAction.TRANSFER,
        CaseAction.RESOLVE,
        CaseAction.REJECT,
        CaseAction.EXTEND,
    }
)
MEETS_ACCEPT = frozenset(
    {CaseAction.ACCEPT, CaseAction.REPLY, CaseAction.ASK_INFO, CaseAction.RESOLVE, CaseAction.REJECT}
)
HISTORY_ACTION = {
    CaseAction.ACCEPT: "accepted",
    CaseAction.REPLY: "replied",
    CaseAction.ASK_INFO: "asked_info",
    CaseAction.TRANSFER: "transferred",
    CaseAction.RESOLVE: "resolved",
    CaseAction.REJECT: "rejected",
    CaseAction.EXTEND: "extended",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who pressed a button: possibly an official, possibly an admin (ADMIN_IDS or role admin)."""

    telegram_id: int
    official: Official | None
    is_admin: bool

    @property
    def ref(self) -> str:
        """How the actor is written in a petition's history."""
        if self.official is not None:
            return f"official:{self.official.id}"
        return f"admin:{self.telegram_id}"

    @property
    def is_staff(self) -> bool:
        """An active official or an admin."""
        return self.is_admin or (self.official is not None and self.official.is_active)


@dataclass(frozen=True, slots=True)
class CaseChange:
    """The outcome of an action: the petition before and after."""

    action: CaseAction
    before: Petition
    after: Petition
    note: str | None
    notices: tuple[Notice, ...] = ()
    lanes: tuple[str, ...] = ()  # outbox lanes holding what the change owes (news, cards)


@dataclass(frozen=True, slots=True)
class Relay:
    """A message to copy to the other side (a photo or file an official or citizen sent): where it is."""

    from_chat: int
    message_id: int
    caption: str | None = None


def action_owes(
    action: CaseAction, actor: Actor, before: Petition, after: Petition, note: str | None, relay: Relay | None
) -> list[OutboxEntry]:
    """What an official's action owes: the news to the citizen (with the official's words or file), the
    verdict question after a resolution, the card to the official a case was transferred to."""
    data = {
        "action": action.value,
        "assignee": after.assignee_id or "",
        "actor": actor.official.id if actor.official else "",
    }
    data["actor_chat"] = str(actor.telegram_id)
    if note:
        data["note"] = note
    if relay is not None and action in (CaseAction.REPLY, CaseAction.ASK_INFO):
        data |= {"from_chat": str(relay.from_chat), "message_id": str(relay.message_id)}
    entries = [OutboxEntry(kind="news", lane=after.citizen_id, ticket=after.id, data=data)]
    if action == CaseAction.RESOLVE:
        entries.append(OutboxEntry(kind="verdict", lane=after.citizen_id, ticket=after.id))
    if action == CaseAction.TRANSFER and after.assignee_id:
        entries.append(
            OutboxEntry(
                kind="case",
                lane=official_lane(after.assignee_id),
                ticket=after.id,
                official_id=after.assignee_id,
                data={"header": "transferred", "from": actor.ref, "reason": note or ""},
            )
        )
    return entries


def note_length(text: str) -> int:
    """A note's length as Telegram counts it (UTF-16 units: an emoji counts 2)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def checked_note(text: str) -> str:
    """The note itself; NoteTooLong (with its length) when it is over NOTE_MAX."""
    length = note_length(text)
    if length > NOTE_MAX:
        raise NoteTooLong(length, NOTE_MAX)
    return text


@dataclass(frozen=True, slots=True)
class CaseTopicChange:
    """A corrected topic: the petition before and after."""

    before: Petition
    after: Petition


def next_status(action: CaseAction, current: PetitionStatus) -> PetitionStatus:
    """The status an action leads to."""
    if action == CaseAction.ACCEPT:
        return PetitionStatus.ACCEPTED
    if action in (CaseAction.REPLY, CaseAction.ASK_INFO):
        return PetitionStatus.IN_PROGRESS
    if action == CaseAction.TRANSFER:
        return PetitionStatus.SUBMITTED
    if action == CaseAction.RESOLVE:
        return PetitionStatus.RESOLVED
    if action == CaseAction.EXTEND:
        return current
    return PetitionStatus.REJECTED


def supervises(supervisor_id: str, official_id: str | None, officials: dict[str, Official]) -> bool:
    """Whether ``supervisor_id`` is above ``official_id`` in the chain of supervisors."""
    seen: set[str] = set()
    current = officials.get(official_id) if official_id else None
    while current is not None and current.supervisor_id and current.supervisor_id not in seen:
        if current.supervisor_id == supervisor_id:
            return True
        seen.add(current.supervisor_id)
        current = officials.get(current.supervisor_id)
    return False


def may_act(actor: Actor, petition: Petition, officials: dict[str, Official]) -> bool:
    """Only the assignee, their supervisors and admins may act on a case."""
    if actor.is_admin:
        return True
    official = actor.official
    if official is None or not official.is_active:
        return False
    if official.id == petition.assignee_id:
        return True
    return official.role in (Role.SUPERVISOR, Role.ADMIN) and supervises(
        official.id, petition.assignee_id, officials
    )


def subordinates(official_id: str, officials: Sequence[Official]) -> list[str]:
    """Everyone below an official in the chain of supervisors (not the official)."""
    by_id = {o.id: o for o in officials}
    return sorted(o.id for o in officials if o.id != official_id and supervises(official_id, o.id, by_id))


class CaseService:
    """Routes new petitions and applies officials' actions."""

    def __init__(
        self,
        petitions: PetitionRepository,
        officials: OfficialRepository,
        clock: Clock,
        admin_ids: tuple[int, ...],
        tracker: DeadlineTracker | None = None,
        timers: TimerRepository | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._petitions = petitions
        self._officials = officials
        self._clock = clock
        self._admin_ids = frozenset(admin_ids)
        self.tracker = tracker
        self._timers = timers
        self.audit = audit
        # Other timer kinds (dialogue reminders...) registered by the composition root.
        self.timer_kinds: dict[str, Callable[[Timer], Awaitable[tuple[str, ...]]]] = {}
        self.corrections: TopicCorrectionRepository | None = None  # officials' topic corrections
        # Told of every petition written here (before, after): e.g. the "me too" index follows status.
        self.observers: list[Callable[[Petition, Petition], Awaitable[None]]] = []

    async def _changed(self, before: Petition, after: Petition) -> None:
        for observer in self.observers:
            await observer(before, after)

    async def actor(self, telegram_id: int) -> Actor:
        """Who this Telegram user is to the case workflow."""
        official = await self._officials.by_telegram(telegram_id)
        is_admin = telegram_id in self._admin_ids or (
            official is not None and official.is_active and official.role == Role.ADMIN
        )
        return Actor(telegram_id, official, is_admin)

    async def settings(self) -> DirectorySettings:
        """The routing settings (a directory is always installed at start-up)."""
        settings = await self._officials.settings()
        if settings is None:
            raise RuntimeError("no officials directory installed")
        return settings

    async def route(self, locality_code: str, category: str) -> RouteDecision:
        """Choose the official responsible for a new petition."""
        officials = await self._officials.all()
        settings = await self.settings()
        load = await self._officials.open_load([o.id for o in officials if o.is_active])
        return route(locality_code, category, officials, load, settings.fallback_official_id)

    async def get(self, ticket: str) -> Petition:
        """The petition, or StaleAction when there is none (forged ticket)."""
        petition = await self._petitions.get(ticket)
        if petition is None:
            raise StaleAction("no such petition")
        return petition

    async def find(self, ticket: str) -> Petition | None:
        """The petition, or None (erased, or never existed)."""
        return await self._petitions.get(ticket)

    async def unit(self, key: str) -> Unit | None:
        """One unit of the directory."""
        return await self._officials.unit(key)

    async def officials_by_id(self) -> dict[str, Official]:
        """Every official by id."""
        return {o.id: o for o in await self._officials.all()}

    def may_act_now(self, actor: Actor, petition: Petition, officials: dict[str, Official]) -> bool:
        """Whether ``actor`` may act on (and so see) this case."""
        return may_act(actor, petition, officials)

    async def visible_to(self, actor: Actor, ticket: str) -> Petition:
        """The petition, if ``actor`` may act on (and so see) it; NotAllowed otherwise, also when there is
        no such petition (a forged ticket learns nothing). Every button and command that reads or
        changes a case goes through here first."""
        petition = await self._petitions.get(ticket)
        if petition is None or not may_act(actor, petition, await self.officials_by_id()):
            raise NotAllowed(ticket)
        return petition

    async def units(self) -> list[Unit]:
        """Every unit of the directory."""
        return await self._officials.units()

    async def check(self, actor: Actor, ticket: str, stage: int, action: CaseAction) -> Petition:
        """The petition, if ``actor`` may do ``action`` on it now; NotAllowed or StaleAction otherwise."""
        petition = await self.visible_to(actor, ticket)
        if petition.stage != stage or petition.status not in ALLOWED_FROM[action]:
            raise StaleAction(ticket)
        return petition

    def extendable(self, petition: Petition) -> str | None:
        """The deadline an official may still extend (the earliest pending one never extended), if any."""
        pending = [d for d in petition.deadlines.values() if d.is_pending and not d.extended]
        return min(pending, key=lambda d: d.due_at).kind if pending and petition.is_open else None

    async def needs_evidence(self, petition: Petition) -> bool:
        """Whether resolving this petition needs a photo or document of the result."""
        return petition.category in (await self.settings()).evidence_required

    async def transfer_targets(self, petition: Petition) -> list[Official]:
        """Active officials a case can be transferred to (not its current assignee)."""
        return [o for o in await self._officials.all() if o.is_active and o.id != petition.assignee_id]

    async def apply(
        self,
        actor: Actor,
        ticket: str,
        stage: int,
        action: CaseAction,
        *,
        note: str | None = None,
        target_official_id: str | None = None,
        attachments: Sequence[Attachment] = (),
        deadline_kind: str | None = None,
        relay: Relay | None = None,
    ) -> CaseChange:
        """Check and perform one action atomically (retrying when only a citizen's note raced it), with
        the messages it owes recorded in the same write."""
        for _attempt in range(3):
            change = await self._apply_once(
                actor, ticket, stage, action, note, target_official_id, attachments, deadline_kind, relay
            )
            if change is not None:
                return change
        raise StaleAction(ticket)

    async def _apply_once(
        self,
        actor: Actor,
        ticket: str,
        stage: int,
        action: CaseAction,
        note: str | None,
        target_official_id: str | None,
        attachments: Sequence[Attachment],
        deadline_kind: str | None = None,
        relay: Relay | None = None,
    ) -> CaseChange | None:
        before = await self.check(actor, ticket, stage, action)
        note = None if is_visibly_empty(note) else (note or "").strip()
        if action in NEEDS_NOTE and note is None:
            raise NoteRequired(action)
        if note is not None:
            checked_note(note)
        after = before.model_copy(deep=True)
        now = self._clock.now()
        after.status = next_status(action, before.status)
        if action == CaseAction.TRANSFER:
            target = await self._officials.get(target_official_id or "")
            if target is None or not target.is_active or target.id == before.assignee_id:
                raise UnknownChoice(deadline_kind or "")
            after.assignee_id = target.id
            after.routed_by = "transfer"
        if action == CaseAction.RESOLVE:
            if not attachments and await self.needs_evidence(before):
                raise EvidenceRequired(before.category)
            after.resolution = note
            after.resolution_attachments = list(attachments)
        timers: list[tuple[str, float]] = []
        if action == CaseAction.EXTEND:
            deadline = after.deadlines.get(deadline_kind or "")
            if deadline is None or not deadline.is_pending or deadline.extended or self.tracker is None:
                raise UnknownChoice(deadline_kind or "")
            urgent = self.tracker.is_urgent(after.category)
            duration = self.tracker.policy.durations(after.category, after.type, urgent)[
                DeadlineKind(deadline.kind)
            ]
            deadline.due_at = self.tracker.policy.extended(deadline.due_at, duration)
            deadline.extended, deadline.extension_reason = True, note
            deadline.overdue_at = deadline.reminded_at = None
        after.history.append(
            HistoryEntry(
                at=now,
                actor=actor.ref,
                action=HISTORY_ACTION[action],
                status=after.status,
                note=note,
                assignee_id=after.assignee_id if action == CaseAction.TRANSFER else None,
            )
        )
        if self.tracker is not None:
            if action in MEETS_ACCEPT:
                self.tracker.meet(after, DeadlineKind.ACCEPT, now)
            if action in (CaseAction.RESOLVE, CaseAction.REJECT):
                self.tracker.meet(after, DeadlineKind.RESOLVE, now)
            if action == CaseAction.TRANSFER:
                self.tracker.plan(after, now, (DeadlineKind.ACCEPT,))
            if action == CaseAction.RESOLVE:
                timers += self.tracker.ask_verdict(after, now)
            timers += self.tracker.timers(after, now)
        after.updated_at = now
        after.version = before.version + 1
        after.stage = before.stage + 1
        entries = action_owes(action, actor, before, after, note, relay)
        if not await self._petitions.update(before, after, timers, entries, for_co_signers(entries, after)):
            return None  # written meanwhile: check again
        await self._changed(before, after)
        if self.audit is not None:
            details = {"to": after.assignee_id or ""} if action == CaseAction.TRANSFER else {}
            await self.audit.append(actor.ref, HISTORY_ACTION[action], now, ticket, **details)
        return CaseChange(action, before, after, note, lanes=lanes_of(entries))

    async def change_topic(
        self, actor: Actor, ticket: str, stage: int, category: str, *, known: Collection[str]
    ) -> CaseTopicChange:
        """Correct an open case's topic (a category of ``known``); the correction is recorded for the
        topics vocabulary (``python -m bot topics corrections``). The assignee stays: Transfer moves it."""
        if self.corrections is None or category not in known:
            raise UnknownChoice(category)
        for _attempt in range(3):
            before = await self.visible_to(actor, ticket)
            if before.stage != stage or not before.is_open:
                raise StaleAction(ticket)
            if before.category == category:
                raise UnknownChoice(category)
            now = self._clock.now()
            after = before.model_copy(deep=True)
            after.category = category
            after.history.append(
                HistoryEntry(
                    at=now, actor=actor.ref, action="topic_changed", note=f"{before.category} → {category}"
                )
            )
            after.updated_at = now
            after.version = before.version + 1
            after.stage = before.stage + 1
            correction = TopicCorrection(
                ticket=ticket,
                from_topic=before.category,
                to_topic=category,
                suggested=tuple(before.suggested_topics),
                features=tuple(features(before.description)),
                by=actor.ref,
                at=now,
            )
            if await self.corrections.change_topic(before, after, correction):
                await self._changed(before, after)
                if self.audit is not None:
                    await self.audit.append(
                        actor.ref, "topic_changed", now, ticket, **{"from": before.category, "to": category}
                    )
                return CaseTopicChange(before, after)
        raise StaleAction(ticket)

    async def fire_timer(self, timer: Timer) -> tuple[str, ...]:
        """Apply a due timer to its petition (once: a repeated firing finds nothing to do), recording the
        notices it owes (to the citizen and to those who joined) in the same write; returns their
        outbox lanes. Other timer kinds (dialogue reminders) record their notices themselves."""
        if timer.kind in self.timer_kinds:
            return await self.timer_kinds[timer.kind](timer)
        if self.tracker is None:
            return ()
        for _attempt in range(5):
            before = await self._petitions.get(timer.ticket)
            if before is None:
                return ()
            after = before.model_copy(deep=True)
            now = self._clock.now()
            outcome = self.tracker.fire(after, timer, now, await self.officials_by_id())
            if outcome is None:
                return ()
            notices, timers = outcome
            after.updated_at = now
            after.version = before.version + 1
            entries = owed(notices, after.citizen_id)
            if await self._petitions.update(before, after, timers, entries, for_co_signers(entries, after)):
                await self._changed(before, after)
                return lanes_of(entries)
        return ()

    async def _citizen_change(
        self,
        citizen_id: str,
        ticket: str,
        change: Callable[[Petition, datetime], list[Notice] | None],
        *,
        co_signer: bool = False,
    ) -> tuple[Petition, tuple[str, ...]]:
        """Apply a citizen's change to their own petition (or, ``co_signer``, to one the caller checked
        they joined) with the usual versioned write, recording the notices it owes; returns the petition
        and their outbox lanes."""
        for _attempt in range(5):
            before = await self._petitions.get(ticket)
            if before is None or (before.citizen_id != citizen_id and not co_signer):
                raise NotAllowed(ticket)
            after = before.model_copy(deep=True)
            now = self._clock.now()
            notices = change(after, now)
            if notices is None:
                raise StaleAction(ticket)
            after.updated_at = now
            after.version = before.version + 1
            timers = self.tracker.timers(after, now) if self.tracker else []
            entries = owed(notices, after.citizen_id)
            if await self._petitions.update(before, after, timers, entries, for_co_signers(entries, after)):
                await self._changed(before, after)
                return after, lanes_of(entries)
        raise StaleAction(ticket)

    async def verdict(self, citizen_id: str, ticket: str, resolved: bool) -> tuple[Petition, tuple[str, ...]]:
        """The citizen says whether the concern is resolved. "Yes" closes the case."""

        def answer(petition: Petition, now: datetime) -> list[Notice] | None:
            verdict = petition.verdict
            if (
                verdict is None
                or verdict.answered_at is not None
                or petition.status != PetitionStatus.RESOLVED
            ):
                return None
            if resolved:
                verdict.answered_at, verdict.resolved = now, True
                petition.status = PetitionStatus.CLOSED
                petition.history.append(
                    HistoryEntry(
                        at=now, actor="citizen", action="confirmed_resolved", status=PetitionStatus.CLOSED
                    )
                )
            return []

        return await self._citizen_change(citizen_id, ticket, answer)

    async def rate(self, citizen_id: str, ticket: str, rating: int) -> Petition:
        """Store the citizen's 1–5 rating of a case they confirmed resolved."""
        if not 1 <= rating <= 5:
            raise UnknownChoice(str(rating))

        def store(petition: Petition, now: datetime) -> list[Notice] | None:
            if petition.verdict is None or petition.verdict.resolved is not True:
                return None
            petition.verdict.rating = rating
            return []

        petition, _notices = await self._citizen_change(citizen_id, ticket, store)
        return petition

    async def comment(self, citizen_id: str, ticket: str, comment: str) -> Petition:
        """Store the citizen's comment on how the case was handled (NoteTooLong over NOTE_MAX)."""
        if is_visibly_empty(comment):
            raise NoteRequired("comment")
        checked_note(comment)

        def store(petition: Petition, now: datetime) -> list[Notice] | None:
            if petition.verdict is None or petition.verdict.answered_at is None:
                return None
            petition.verdict.comment = comment
            return []

        petition, _notices = await self._citizen_change(citizen_id, ticket, store)
        return petition

    async def reopen(
        self, citizen_id: str, ticket: str, reason: str, *, co_signer: bool = False
    ) -> tuple[Petition, tuple[str, ...]]:
        """ "Not yet": back to the same official with the citizen's reason; the second time, one level up.
        ``co_signer``: said by a citizen who joined the petition (the caller checked it). NoteTooLong
        when the reason is over NOTE_MAX."""
        if is_visibly_empty(reason):
            raise NoteRequired("reopen")
        checked_note(reason)
        officials = await self.officials_by_id()
        tracker = self.tracker
        if tracker is None:
            raise StaleAction(ticket)

        def reopen(petition: Petition, now: datetime) -> list[Notice] | None:
            if not tracker.may_reopen(petition, now):
                return None
            petition.status = PetitionStatus.IN_PROGRESS
            petition.reopen_count += 1
            petition.stage += 1
            if petition.verdict is not None:
                petition.verdict.answered_at, petition.verdict.resolved = now, False
            petition.history.append(
                HistoryEntry(
                    at=now,
                    actor="co-signer" if co_signer else "citizen",
                    action="co_signer_reopened" if co_signer else "reopened",
                    status=PetitionStatus.IN_PROGRESS,
                    note=reason,
                )
            )
            tracker.plan(petition, now, (DeadlineKind.RESOLVE,))
            notices = [Notice("reopened", petition.id, petition.assignee_id, {"reason": reason})]
            supervisor = next_up(petition.assignee_id, officials)
            if supervisor is not None:
                notices.append(Notice("reopened_supervisor", petition.id, supervisor, {"reason": reason}))
            if petition.reopen_count >= 2:
                notices += tracker.escalate_now(petition, now, officials, reason="reopened")
            return notices

        return await self._citizen_change(citizen_id, ticket, reopen, co_signer=co_signer)

    async def link_topic(self, ticket: str, chat_id: int, thread_id: int) -> None:
        """The petition is discussed in this forum topic of a team chat."""
        await self._petitions.link_topic(ticket, chat_id, thread_id)

    async def ticket_of_topic(self, chat_id: int, thread_id: int) -> str | None:
        """The petition a forum topic is about, if any."""
        return await self._petitions.ticket_of_topic(chat_id, thread_id)

    async def set_team_chat(self, official_id: str, chat_id: int | None) -> Official:
        """Make an official (and so their cases) work in a forum supergroup, or stop it."""
        official = await self._officials.get(official_id)
        if official is None:
            raise UnknownChoice(official_id)
        updated = official.model_copy(update={"team_chat_id": chat_id})
        await self._officials.save(updated, previous_telegram_id=official.telegram_id)
        return updated

    async def record_team_message(
        self, actor_ref: str, ticket: str, note: str, *, internal: bool, relay: Relay | None = None
    ) -> tuple[Petition, tuple[str, ...]]:
        """A message written in a case's topic: an internal note, or relayed to the citizen (``relay``:
        copied, else the note as text) by the outbox; returns the petition and the outbox lanes."""
        if is_visibly_empty(note):
            raise NoteRequired("team_message")
        checked_note(note)
        for _attempt in range(3):
            before = await self.get(ticket)
            after = before.model_copy(deep=True)
            now = self._clock.now()
            after.history.append(
                HistoryEntry(
                    at=now,
                    actor=actor_ref,
                    action="internal_note" if internal else "replied",
                    note=note,
                    internal=internal,
                )
            )
            if not internal and after.status == PetitionStatus.ACCEPTED:
                after.status = PetitionStatus.IN_PROGRESS
            after.updated_at = now
            after.version = before.version + 1
            entries = (
                [] if internal else [relay_entry("relay_to_citizen", after.citizen_id, after, relay, note)]
            )
            shared = for_co_signers(entries, after)  # me too: an official's answer reaches them too
            if await self._petitions.update(before, after, outbox=entries, co_signers=shared):
                return after, lanes_of(entries)
        raise StaleAction(ticket)

    async def inbox(self, actor: Actor) -> list[Petition]:
        """The open cases an actor handles, oldest first: their own, their subordinates', or (an admin
        without coverage) every open case."""
        officials = await self._officials.all()
        official = actor.official
        if official is None or (actor.is_admin and official.role == Role.ADMIN):
            if not actor.is_admin:
                return []
            tickets = await self._petitions.tickets_with_status([s.value for s in OPEN])
        else:
            ids = [official.id]
            if official.role in (Role.SUPERVISOR, Role.ADMIN):
                ids += subordinates(official.id, officials)
            tickets = await self._petitions.open_tickets_of(ids)
        return await self._petitions.get_many(tickets)

    async def add_citizen_info(
        self, citizen_id: str, ticket: str, note: str, relay: Relay | None = None
    ) -> tuple[Petition, tuple[str, ...]]:
        """Record information the citizen added to their open petition, and relay it to the official
        handling it (``relay``: their message, copied; else the note as text); returns the petition and
        the outbox lanes."""
        if is_visibly_empty(note):
            raise NoteRequired("citizen_info")
        checked_note(note)
        for _attempt in range(3):
            before = await self._petitions.get(ticket)
            if before is None or before.citizen_id != citizen_id:
                raise NotAllowed(ticket)
            if not before.is_open:
                raise StaleAction(ticket)
            after = before.model_copy(deep=True)
            now = self._clock.now()
            after.history.append(HistoryEntry(at=now, actor="citizen", action="citizen_info", note=note))
            after.updated_at = now
            after.version = before.version + 1
            entries = []
            if after.assignee_id:
                entry = relay_entry("relay_to_official", official_lane(after.assignee_id), after, relay, note)
                entry.official_id = after.assignee_id
                entries.append(entry)
            if await self._petitions.update(before, after, outbox=entries):
                return after, lanes_of(entries)
        raise StaleAction(ticket)


def relay_entry(kind: str, lane: str, petition: Petition, relay: Relay | None, note: str) -> OutboxEntry:
    """An entry that copies a message to the other side (or, without one, sends the note as text)."""
    if relay is None:
        return OutboxEntry(kind=kind, lane=lane, ticket=petition.id, data={"note": note})
    data = {"from_chat": str(relay.from_chat), "message_id": str(relay.message_id)}
    if relay.caption is not None:
        data["caption"] = relay.caption
    return OutboxEntry(kind=kind, lane=lane, ticket=petition.id, data=data)
