"""Petition intake: the citizen's step-by-step draft and its submission.

The conversation is a state machine over ``storage.models.Session``. The step is derived from the
draft: the first field still missing (locality → category → type → description → attachments →
contact), then the summary. Once the place, topic, kind and description are known, the open petitions
of that place and topic are searched for the same problem (``Step.SIMILAR``, "me too"): the citizen
may join one instead of filing a new petition. A description typed before the topic was chosen gives
topic suggestions (``suggest_topics``). Every method takes the session loaded from Redis for this update,
changes it, and the caller stores it again — so a restarted bot continues at the same step.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock
from bot.domain.directory import Directory, PetitionType
from bot.domain.escalation import DeadlineTracker, lanes_of
from bot.domain.routing import RouteDecision
from bot.domain.similarity import SimilarityService, SimilarPetition
from bot.domain.topics import TopicClassifier
from bot.domain.visible_text import is_visibly_empty, visible_length
from bot.errors import (
    DescriptionEmpty,
    DescriptionTooLong,
    DescriptionTooShort,
    DraftIncomplete,
    StaleAction,
    TooManyAttachments,
    UnknownChoice,
)
from storage.cosign import ALREADY, JOINED, OWN, CoSignRepository
from storage.models import Attachment, Draft, HistoryEntry, Petition, PetitionStatus, Session, Step
from storage.outbox import ADMINS_LANE, OutboxEntry, official_lane
from storage.petitions import PetitionRepository
from storage.sessions import SessionRepository

OFFERED = 3  # similar open petitions offered at most
DESCRIPTION_MIN = 10
DESCRIPTION_MAX = 3500
ATTACHMENTS_MAX = 10
INTAKE_STEPS = (Step.LOCALITY, Step.CATEGORY, Step.TYPE, Step.DESCRIPTION, Step.ATTACHMENTS, Step.CONTACT)
EDITABLE_STEPS = INTAKE_STEPS


Router = Callable[[str, str], Awaitable[RouteDecision]]


@dataclass(frozen=True, slots=True)
class Submission:
    """The result of Confirm: the ticket, whether this press created it, and who it went to."""

    ticket: str
    created: bool
    route: RouteDecision | None = None
    lanes: tuple[str, ...] = ()  # outbox lanes holding what the submission owes (receipt, case card)


def submission_owes(petition: Petition) -> list[OutboxEntry]:
    """What a new petition owes: the citizen's receipt, the case card to its official, and a word to
    the admins when nobody covered it ("{ticket}" stands for the ticket the script assigns)."""
    entries = [OutboxEntry(kind="receipt", lane=petition.citizen_id, ticket="{ticket}")]
    if petition.assignee_id is not None:
        entries.append(
            OutboxEntry(
                kind="case",
                lane=official_lane(petition.assignee_id),
                ticket="{ticket}",
                official_id=petition.assignee_id,
                data={"header": "new"},
            )
        )
    if petition.assignee_id is None or petition.routed_by == "fallback":
        entries.append(OutboxEntry(kind="routed_to_fallback", lane=ADMINS_LANE, ticket="{ticket}"))
    return entries


@dataclass(frozen=True, slots=True)
class Joined:
    """The result of "me too": the petition joined, how many joined it, whether this press added one."""

    ticket: str
    co_signers: int
    added: bool


def draft_tag(draft: Draft) -> str:
    """The tag carried in the draft's buttons, to recognise buttons of an older draft."""
    return draft.id


def next_step(draft: Draft) -> Step:
    """The first step whose field is still missing, or CONFIRM."""
    if draft.locality_code is None:
        return Step.LOCALITY
    if draft.category is None:
        return Step.CATEGORY
    if draft.type is None:
        return Step.TYPE
    if draft.description is None:
        return Step.DESCRIPTION
    if not draft.similar_checked:
        return Step.SIMILAR
    if not draft.attachments_done:
        return Step.ATTACHMENTS
    if not draft.contact_decided:
        return Step.CONTACT
    return Step.CONFIRM


def step_number(step: Step) -> int:
    """1-based position of an intake step (for "Step 2 of 6")."""
    return INTAKE_STEPS.index(step) + 1


class IntakeService:
    """Creates and fills drafts, and turns a complete draft into a petition."""

    def __init__(
        self,
        directory: Directory,
        sessions: SessionRepository,
        petitions: PetitionRepository,
        clock: Clock,
        router: Router | None = None,
        tracker: DeadlineTracker | None = None,
        topics: TopicClassifier | None = None,
        similarity: SimilarityService | None = None,
        cosign: CoSignRepository | None = None,
    ) -> None:
        self.directory = directory
        self._router = router
        self._tracker = tracker
        self._topics = topics
        self._similarity = similarity
        self._cosign = cosign
        self._sessions = sessions
        self._petitions = petitions
        self._clock = clock
        self._tz = ZoneInfo(directory.timezone)

    async def load(self, citizen_id: str) -> Session:
        """The citizen's session from Redis, or a fresh idle one."""
        session = await self._sessions.get(citizen_id)
        return session or Session(citizen_id=citizen_id, updated_at=self._clock.now())

    async def save(self, session: Session) -> None:
        """Write the session through to Redis."""
        session.updated_at = self._clock.now()
        await self._sessions.save(session)

    def has_unfinished_draft(self, session: Session) -> bool:
        """Whether the citizen left a draft with something in it."""
        draft = session.draft
        return draft is not None and (draft.locality_code is not None or draft.description is not None)

    def start_draft(self, session: Session, kept_text: str | None = None) -> Draft:
        """Begin a new, empty draft (discarding any other), optionally with a text to offer as its
        description."""
        draft = Draft(id=secrets.token_hex(8), started_at=self._clock.now(), kept_text=kept_text)
        session.draft = draft
        session.editing = False
        session.pending_type = None
        session.step = Step.LOCALITY
        return draft

    @staticmethod
    def could_describe(text: str) -> bool:
        """Whether text typed outside a petition is long enough to start one with as its description."""
        return len(text.strip()) >= DESCRIPTION_MIN

    def keep_text(self, session: Session, text: str) -> Draft:
        """Keep text typed at the main menu for a petition: a new draft offering it as the description,
        or, when an unfinished draft waits, that draft (the citizen chooses to continue it or to start
        again with the text)."""
        if self.has_unfinished_draft(session):
            draft = self._draft(session)
            draft.kept_text = text.strip()
            return draft
        return self.start_draft(session, kept_text=text.strip())

    def keep_description(self, session: Session) -> None:
        """Use the kept text as the description (validated like a typed one)."""
        draft = self._draft(session)
        if draft.kept_text is None:
            raise StaleAction("kept text")
        self.set_description(session, draft.kept_text)

    def resume(self, session: Session) -> Draft:
        """Continue the existing draft at its first missing field."""
        draft = self._draft(session)
        session.editing = False
        session.pending_type = None
        session.step = next_step(draft)
        return draft

    def cancel(self, session: Session) -> bool:
        """Discard the draft; True when there was one."""
        had_draft = session.draft is not None
        session.draft = None
        session.editing = False
        session.pending_type = None
        session.step = Step.IDLE
        return had_draft

    def check_tag(self, session: Session, tag: str, step: Step | None = None) -> Draft:
        """The current draft, if a button carrying ``tag`` (and meant for ``step``) still applies."""
        draft = session.draft
        if draft is None or draft_tag(draft) != tag:
            raise StaleAction("draft")
        if step is not None and session.step != step:
            raise StaleAction("step")
        return draft

    def set_locality(self, session: Session, code: str) -> None:
        """Choose the commune-level unit."""
        draft = self._draft(session)
        if self.directory.locality(code) is None:
            raise UnknownChoice(code)
        draft.locality_code = code
        self._similar_again(draft)
        self._advance(session)

    def set_category(self, session: Session, key: str) -> None:
        """Choose the category."""
        draft = self._draft(session)
        if self.directory.category(key) is None:
            raise UnknownChoice(key)
        if draft.category is None and not draft.suggested_topics:
            # What was proposed from a text typed first is kept with the petition (the prompt that
            # showed it is not always saved with the session): the same words give the same topics.
            draft.suggested_topics = self.topic_suggestions(session)
        draft.category = key
        self._similar_again(draft)
        self._advance(session)

    def choose_type(self, session: Session, key: str) -> bool:
        """Choose the petition type; returns True when it is a formal one that must be confirmed first."""
        petition_type = self._petition_type(key)
        if petition_type.is_formal:
            session.pending_type = petition_type.value
            return True
        self._set_type(session, petition_type)
        return False

    def confirm_formal_type(self, session: Session, key: str) -> None:
        """Confirm a complaint or denunciation after its procedure was explained."""
        if session.pending_type != key:
            raise StaleAction("type")
        self._set_type(session, self._petition_type(key))

    def set_description(self, session: Session, text: str) -> None:
        """Store the description, exactly as typed apart from surrounding whitespace."""
        draft = self._draft(session)
        cleaned = text.strip()
        if is_visibly_empty(cleaned):
            raise DescriptionEmpty()
        if visible_length(cleaned) < DESCRIPTION_MIN:
            raise DescriptionTooShort(visible_length(cleaned), DESCRIPTION_MIN)
        if len(cleaned) > DESCRIPTION_MAX:
            raise DescriptionTooLong(len(cleaned), DESCRIPTION_MAX)
        draft.description = cleaned
        draft.kept_text = None
        if draft.category is None:
            draft.suggested_topics = self.suggest_topics(cleaned)
        self._similar_again(draft)
        self._advance(session)

    def suggest_topics(self, text: str) -> list[str]:
        """The likely topics of a description (at most three category keys, best first); none
        without a topics vocabulary."""
        if self._topics is None:
            return []
        return [key for key in self._topics.suggest(text) if self.directory.category(key) is not None]

    def topic_suggestions(self, session: Session) -> list[str]:
        """The topics to suggest at the topic step: from the description, when the citizen wrote it first."""
        draft = self._draft(session)
        text = draft.description or draft.kept_text  # typed first, or at the main menu
        if text is None or draft.category is not None:
            return []
        if not draft.suggested_topics:
            draft.suggested_topics = self.suggest_topics(text)
        return list(draft.suggested_topics)

    async def find_similar(self, session: Session, citizen_id: str) -> list[SimilarPetition]:
        """At ``Step.SIMILAR``: the open petitions to offer (searched once, then the same ones while
        they stay open). None found: the step is done and the draft moves on."""
        draft = self._draft(session)
        if session.step != Step.SIMILAR:
            return []
        found: list[SimilarPetition] = []
        if self._similarity is not None and draft.locality_code and draft.category and draft.description:
            if draft.similar_offer:
                found = await self._similarity.offered(draft.similar_offer)
            else:
                found = await self._similarity.similar(
                    draft.locality_code,
                    draft.category,
                    draft.description,
                    dialogue_id=draft.dialogue_id,
                    limit=OFFERED + 2,
                )
                found = [f for f in found if f.petition.citizen_id != citizen_id]
                if self._cosign is not None:
                    found = [f for f in found if not await self._cosign.is_member(f.petition.id, citizen_id)]
                found = found[:OFFERED]
        draft.similar_offer = [f.petition.id for f in found]
        if not found:
            draft.similar_checked = True
            self._advance(session)
        return found

    def decline_similar(self, session: Session) -> None:
        """ "Mine is different": continue with a petition of one's own."""
        draft = self._draft(session)
        draft.similar_checked = True
        draft.similar_offer = []
        self._advance(session)

    async def join_similar(self, session: Session, citizen_id: str, ticket: str) -> Joined:
        """ "Me too": become a co-signer of an offered open petition; the draft is discarded in the same
        step. StaleAction when the petition was not offered or has closed meanwhile (then it is no
        longer offered)."""
        draft = self._draft(session)
        if session.step != Step.SIMILAR or ticket not in draft.similar_offer or self._cosign is None:
            raise StaleAction("not offered")
        after = session.model_copy(deep=True)
        self.cancel(after)
        after.updated_at = self._clock.now()
        outcome, count = await self._cosign.join(ticket, citizen_id, self._clock.now(), after)
        if outcome in (JOINED, ALREADY):
            self.cancel(session)
            return Joined(ticket, count, outcome == JOINED)
        draft.similar_offer = [t for t in draft.similar_offer if t != ticket]
        if not draft.similar_offer:
            draft.similar_checked = True
            self._advance(session)
        raise StaleAction("own" if outcome == OWN else "closed")

    def add_attachment(self, session: Session, attachment: Attachment) -> int:
        """Attach a file or location; returns how many the draft now has."""
        draft = self._draft(session)
        if len(draft.attachments) >= ATTACHMENTS_MAX:
            raise TooManyAttachments(ATTACHMENTS_MAX)
        draft.attachments.append(attachment)
        return len(draft.attachments)

    def finish_attachments(self, session: Session) -> None:
        """No more attachments."""
        self._draft(session).attachments_done = True
        self._advance(session)

    def clear_attachments(self, session: Session) -> None:
        """Remove every attachment (while editing them)."""
        self._draft(session).attachments.clear()

    def set_contact(self, session: Session, *, name: str | None, phone: str) -> None:
        """The citizen shares their phone number; officials will see it with their name."""
        draft = self._draft(session)
        draft.contact_decided = True
        draft.is_anonymous = False
        draft.contact_name = name
        draft.contact_phone = phone
        self._advance(session)

    def set_anonymous(self, session: Session) -> None:
        """The citizen stays anonymous: no name or phone is kept with the petition."""
        draft = self._draft(session)
        if draft.type is not None and self._petition_type(draft.type).is_formal:
            raise UnknownChoice("anonymous")
        draft.contact_decided = True
        draft.is_anonymous = True
        draft.contact_name = None
        draft.contact_phone = None
        self._advance(session)

    def edit(self, session: Session, step: Step) -> None:
        """Go back to one field from the summary; the other fields are kept."""
        draft = self._draft(session)
        if step not in EDITABLE_STEPS:
            raise UnknownChoice(step)
        if step == Step.ATTACHMENTS:
            draft.attachments_done = False
        if step == Step.CONTACT:
            draft.contact_decided = False
        session.pending_type = None
        session.editing = True
        session.step = step

    def back_to_summary(self, session: Session) -> None:
        """Leave an edit without changing the field."""
        draft = self._draft(session)
        if session.step == Step.ATTACHMENTS:
            draft.attachments_done = True
        if session.step == Step.CONTACT and (draft.is_anonymous or draft.contact_phone):
            draft.contact_decided = True
        if session.step == Step.SIMILAR:
            draft.similar_checked = True  # back to the summary: the citizen keeps their own petition
            draft.similar_offer = []
        self._advance(session)

    async def submit(self, session: Session, *, citizen_id: str, channel: str, language: str) -> Submission:
        """Turn the complete draft into a petition with a ticket number — once, however often pressed."""
        draft = self._draft(session)
        if next_step(draft) != Step.CONFIRM:
            raise DraftIncomplete(next_step(draft))
        assert draft.locality_code and draft.category and draft.type and draft.description
        now = self._clock.now()
        decision = await self._router(draft.locality_code, draft.category) if self._router else None
        history = [HistoryEntry(at=now, actor="citizen", action="submitted", status=PetitionStatus.SUBMITTED)]
        if decision is not None:
            history.append(
                HistoryEntry(
                    at=now,
                    actor="system",
                    action="routed",
                    note=decision.rule.value,
                    assignee_id=decision.official_id,
                )
            )
        petition = Petition(
            id="",
            citizen_id=citizen_id,
            channel=channel,
            draft_id=draft.id,
            locality_code=draft.locality_code,
            category=draft.category,
            type=draft.type,
            description=draft.description,
            attachments=list(draft.attachments),
            is_anonymous=draft.is_anonymous,
            contact_name=draft.contact_name,
            contact_phone=draft.contact_phone,
            language=language,
            status=PetitionStatus.SUBMITTED,
            created_at=now,
            updated_at=now,
            history=history,
            assignee_id=decision.official_id if decision else None,
            routed_by=decision.rule.value if decision else None,
            dialogue_id=draft.dialogue_id,
            suggested_topics=list(draft.suggested_topics),
        )
        timers: list[tuple[str, float]] = []
        if self._tracker is not None:
            self._tracker.plan(petition, now)
            timers = self._tracker.timers(petition, now, ticket="{ticket}")
        after = session.model_copy(deep=True)
        self.cancel(after)
        after.updated_at = now
        owed = submission_owes(petition)
        ticket, created = await self._petitions.create(
            petition,
            ticket_prefix=self.directory.ticket_prefix,
            year=now.astimezone(self._tz).year,
            session=after,
            timers=timers,
            outbox=owed,
        )
        self.cancel(session)
        if self._similarity is not None:
            stored = await self._petitions.get(ticket)
            if stored is not None:
                await self._similarity.add(stored)  # idempotent: a redelivered Confirm indexes again
        return Submission(
            ticket=ticket, created=created, route=decision if created else None, lanes=lanes_of(owed)
        )

    async def ticket_for_draft(self, tag: str) -> str | None:
        """The ticket of an already submitted draft (Confirm pressed again, or a redelivered update)."""
        return await self._petitions.ticket_for_draft(tag)

    def _draft(self, session: Session) -> Draft:
        if session.draft is None:
            raise StaleAction("no draft")
        return session.draft

    def _petition_type(self, key: str) -> PetitionType:
        try:
            return PetitionType(key)
        except ValueError:
            raise UnknownChoice(key) from None

    def _set_type(self, session: Session, petition_type: PetitionType) -> None:
        draft = self._draft(session)
        draft.type = petition_type.value
        self._similar_again(draft)
        session.pending_type = None
        if petition_type.is_formal and draft.is_anonymous:
            # Complaints and denunciations need the citizen's identity (kept confidential).
            draft.contact_decided = False
            draft.is_anonymous = False
        self._advance(session)

    @staticmethod
    def _similar_again(draft: Draft) -> None:
        """The place, topic, kind or description changed: search for similar petitions again."""
        draft.similar_checked = False
        draft.similar_offer = []

    def _advance(self, session: Session) -> None:
        draft = self._draft(session)
        session.step = next_step(draft)
        if session.step == Step.SIMILAR and (
            self._similarity is None or (draft.type is not None and self._petition_type(draft.type).is_formal)
        ):
            # Complaints and denunciations concern the person who files them: nobody joins those.
            draft.similar_checked = True
            session.step = next_step(draft)
        if session.step == Step.CONFIRM:
            session.editing = False
