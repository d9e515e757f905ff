"""What is stored in Redis, as versioned pydantic models (``extra="forbid"``: unknown data is an error).

The domain (``bot.domain``) builds and reads these; only ``storage`` serialises them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Stored(BaseModel):
    """Base of every stored model."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ConsentPurpose(StrEnum):
    """The purposes a citizen consents to, each separately (Luật 91/2025)."""

    PETITIONS = "petitions"
    ANNOUNCEMENTS = "announcements"


class ConsentRecord(Stored):
    """One consent decision: when, which text version was shown, what was chosen."""

    schema_version: Literal[1] = 1
    at: datetime
    text_version: str
    choices: dict[ConsentPurpose, bool]
    language: str

    def allows(self, purpose: ConsentPurpose) -> bool:
        """Whether this decision grants ``purpose``."""
        return self.choices.get(purpose, False)


class BlockRecord(Stored):
    """Why and since when an admin blocked a citizen; ``ref`` names them in the audit trail."""

    at: datetime
    by: str
    reason: str
    ref: str
    notified: bool = False


class Citizen(Stored):
    """A person who writes to the bot. Personal data is filled in only when they share it."""

    schema_version: Literal[1] = 1
    id: str
    channel: str
    external_id: str
    language: str | None = None
    consent: ConsentRecord | None = None
    name: str | None = None
    username: str | None = None
    phone: str | None = None
    created_at: datetime
    updated_at: datetime
    block: BlockRecord | None = None  # set by an admin's /block (abuse)


class AttachmentKind(StrEnum):
    """Kinds of evidence a citizen can attach."""

    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO = "video"
    LOCATION = "location"


class Attachment(Stored):
    """A file kept as the messenger's file id (never downloaded), or a location."""

    kind: AttachmentKind
    file_id: str | None = None
    file_unique_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    caption: str | None = None  # what the sender wrote under it, as typed (escape before sending)


class Draft(Stored):
    """A petition being written; becomes a Petition on Confirm."""

    id: str
    started_at: datetime
    locality_code: str | None = None
    category: str | None = None
    type: str | None = None
    description: str | None = None
    kept_text: str | None = None  # typed at the main menu: offered as the description at that step
    attachments: list[Attachment] = Field(default_factory=list)
    attachments_done: bool = False
    contact_decided: bool = False
    is_anonymous: bool = False
    contact_name: str | None = None
    contact_phone: str | None = None
    dialogue_id: str | None = None  # a question for a dialogue
    suggested_topics: list[str] = Field(default_factory=list)  # offered from the description, best first
    similar_checked: bool = False  # the search for a similar open petition ("me too") was done
    similar_offer: list[str] = Field(default_factory=list)  # the similar open petitions offered to join


class Step(StrEnum):
    """Where a citizen is in the conversation."""

    IDLE = "idle"
    CONSENT = "consent"
    LOCALITY = "locality"
    CATEGORY = "category"
    TYPE = "type"
    DESCRIPTION = "description"
    ATTACHMENTS = "attachments"
    CONTACT = "contact"
    CONFIRM = "confirm"
    SIMILAR = "similar"  # similar open petitions were found: join one ("me too") or continue


class CaseInput(Stored):
    """A case action waiting for the text (or file) that completes it: an official's reply, reason or
    resolution note, or a citizen's additional information."""

    ticket: str
    action: str
    version: int  # the petition's stage when the action began
    target_official_id: str | None = None
    deadline_kind: str | None = None
    note: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)


class Session(Stored):
    """A citizen's conversation state: the step, the draft and what the step needs to resume."""

    schema_version: Literal[1] = 1
    citizen_id: str
    step: Step = Step.IDLE
    draft: Draft | None = None
    editing: bool = False
    consent_choices: dict[ConsentPurpose, bool] = Field(default_factory=dict)
    after_consent: Literal["new", "menu"] = "menu"
    after_consent_dialogue: str | None = None  # the new petition is a question for this dialogue
    pending_type: str | None = None
    case_input: CaseInput | None = None
    locality_query: str | None = None  # the place name typed last, to page through its matches
    updated_at: datetime


class PetitionStatus(StrEnum):
    """Lifecycle of a petition; ``open311`` maps each onto Open311's open/closed."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    CLOSED = "closed"

    @property
    def open311(self) -> str:
        """Open311 GeoReport v2 status."""
        return (
            "closed"
            if self in (PetitionStatus.RESOLVED, PetitionStatus.REJECTED, PetitionStatus.CLOSED)
            else "open"
        )


class HistoryEntry(Stored):
    """Who did what to a petition, and when. ``actor`` is ``citizen``, ``system`` or ``official:<id>``."""

    at: datetime
    actor: str
    action: str
    status: PetitionStatus | None = None
    note: str | None = None
    assignee_id: str | None = None
    internal: bool = False


class Deadline(Stored):
    """One deadline of a petition (accept, resolve) and what happened to it."""

    kind: str
    due_at: datetime
    met_at: datetime | None = None
    reminded_at: datetime | None = None
    overdue_at: datetime | None = None
    extended: bool = False
    extension_reason: str | None = None

    @property
    def is_pending(self) -> bool:
        """Not met yet."""
        return self.met_at is None


class Verdict(Stored):
    """The citizen's answer to "Has your concern been resolved?"."""

    asked_at: datetime
    answered_at: datetime | None = None
    resolved: bool | None = None
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = None
    closed_without_answer: bool = False


class Petition(Stored):
    """A submitted petition with its full history."""

    schema_version: Literal[1] = 1
    id: str
    citizen_id: str
    channel: str
    draft_id: str
    locality_code: str
    category: str
    type: str
    description: str
    attachments: list[Attachment] = Field(default_factory=list)
    is_anonymous: bool
    contact_name: str | None = None
    contact_phone: str | None = None
    language: str
    status: PetitionStatus = PetitionStatus.SUBMITTED
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry] = Field(default_factory=list)
    assignee_id: str | None = None
    routed_by: str | None = None
    version: int = 1  # bumped by every write (the storage script's optimistic lock)
    stage: int = 1  # bumped by officials' actions only: what a case card's buttons refer to
    resolution: str | None = None
    resolution_attachments: list[Attachment] = Field(default_factory=list)
    topic_chat_id: int | None = None
    topic_thread_id: int | None = None
    deadlines: dict[str, Deadline] = Field(default_factory=dict)
    escalation_level: int = 0
    escalated_to: str | None = None
    resolved_at: datetime | None = None
    reopen_count: int = 0
    verdict: Verdict | None = None
    dialogue_id: str | None = None  # a question asked for (or a proposal raised at) a dialogue
    suggested_topics: list[str] = Field(default_factory=list)  # topics suggested from the description

    @property
    def overdue(self) -> bool:
        """Whether a pending deadline has passed (as recorded by the timers)."""
        return any(d.is_pending and d.overdue_at is not None for d in self.deadlines.values())

    @property
    def is_open(self) -> bool:
        """Whether officials still have to act on it."""
        return self.status.open311 == "open"


class Role(StrEnum):
    """What an official may do: act on their cases; also their subordinates'; everything."""

    OFFICIAL = "official"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class UnitKind(StrEnum):
    """Kinds of unit that receive petitions."""

    COMMUNE = "commune"
    DEPARTMENT = "department"
    BOARD = "board"


class Unit(Stored):
    """A commune People's Committee, a provincial department, the citizen-reception board..."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$")
    name: str
    kind: UnitKind
    templates: list[str] = Field(default_factory=list)


class Official(Stored):
    """Someone who receives and handles petitions. ``id`` is short: it travels in callback data."""

    schema_version: Literal[1] = 1
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$")
    telegram_id: int | None = None
    name: str
    title: str
    unit: str
    role: Role = Role.OFFICIAL
    supervisor_id: str | None = None
    localities: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    priority: int = 0
    is_active: bool = True
    is_fallback: bool = False
    team_chat_id: int | None = None


class BroadcastState(StrEnum):
    """Lifecycle of a broadcast."""

    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class Audience(BaseModel):
    """Whom a broadcast goes to: subscribers of ``localities`` plus province-wide ones, or everyone."""

    model_config = ConfigDict(extra="forbid")

    localities: list[str] = Field(default_factory=list)
    province_wide: bool = True
    everyone: bool = False
    explicit: bool = False  # an explicit list (start_to): none of the above applies


class Broadcast(Stored):
    """A message sent to many citizens: what, to whom, by whom, and how far it got."""

    schema_version: Literal[1] = 1
    id: str
    created_by: str
    created_at: datetime
    kind: str = "announcement"
    ref: str | None = None
    texts: dict[str, str]
    audience: Audience
    progress_chat_id: int | None = None
    progress_message_id: int | None = None
    state: BroadcastState = BroadcastState.RUNNING
    total: int = 0
    cursor: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    erased: int = 0  # recipients who deleted their data ("delete my data") before it reached them
    inflight: int = 0  # claimed (or handed back after a 429, a pause) and not recorded yet
    finished_at: datetime | None = None

    @property
    def remaining(self) -> int:
        """Recipients not yet answered for."""
        return max(0, self.total - self.sent - self.failed - self.blocked - self.erased)
