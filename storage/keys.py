"""The Redis key space — a persisted contract, pinned by tests/storage/test_keys.py.

Every key is ``<prefix>:{<province>}:v1:<entity>:<id>[:<facet>]``. The province sits in a hash tag
so that all keys of one province land in one Redis Cluster slot: the multi-key transactions and
Lua scripts below then run unchanged on a single server, on Sentinel replicas or on a cluster.

| key | type | TTL | what |
|---|---|---|---|
| ``citizen:<cid>`` | string (JSON) | none | a citizen's profile, language and latest consent |
| ``citizen:<cid>:consents`` | list (JSON) | none | every consent decision ever made, oldest first |
| ``session:<cid>`` | string (JSON) | 7 days | the conversation step and the draft petition |
| ``petition:<ticket>`` | string (JSON) | none | a petition with its history |
| ``petition:by-draft:<draft_id>`` | string | 30 days | ticket created from a draft (Confirm pressed twice) |
| ``counter:petition:<year>`` | string (int) | none | last ticket sequence number of that year |
| ``idx:petitions:citizen:<cid>`` | zset | none | tickets by citizen, score = created time |
| ``idx:petitions:locality:<code>`` | zset | none | tickets by locality |
| ``idx:petitions:category:<key>`` | zset | none | tickets by category |
| ``idx:petitions:status:<status>`` | zset | none | tickets by current status |
| ``idx:petitions:created`` | zset | none | all tickets by created time |
| ``updates:handled`` | zset | trimmed | Telegram update_ids already handled, score = update_id |
| ``updates:offset`` | string (int) | none | the next getUpdates offset to confirm |
| ``official:<id>`` | string (JSON) | none | an official (role, unit, coverage, Telegram id) |
| ``officials`` | set | none | every official's id |
| ``official:by-telegram:<tg id>`` | string | none | the official a Telegram user is |
| ``unit:<key>`` / ``units`` | string (JSON) / set | none | units and their answer templates |
| ``directory:settings`` | string (JSON) | none | fallback desk, categories that need evidence |
| ``invite:<code>`` | string (JSON) | 7 days | a single-use onboarding link |
| ``idx:petitions:assignee:<id>`` | zset | none | open tickets of an official, score = created time |
| ``topic:<chat id>:<thread id>`` | string | none | the ticket a team chat's forum topic belongs to |
| ``timers:due`` | zset | none | durable timers, member ``kind|ticket|arg|n``, score = due time |
| ``timers:inflight`` | zset | none | timers being fired, score = lease expiry (Redis time) |
| ``audit`` | stream | none (never edited) | every action of an official or admin: who, what, when, case |
| ``heartbeat:poller`` | string (ISO time) | 90 s | set by the polling loop after every poll (health check) |

``cid`` is channel-qualified (``tg:123456``) so another messenger can share the key space.
"""

from __future__ import annotations

from datetime import timedelta

SCHEMA_VERSION = "v1"
SESSION_TTL = timedelta(days=7)
DRAFT_RECEIPT_TTL = timedelta(days=30)
HANDLED_UPDATES_KEPT = 10_000
HEARTBEAT_TTL = timedelta(seconds=90)


class Keys:
    """Builds every Redis key of one province; nothing else in the project spells a key."""

    def __init__(self, prefix: str = "tiengdan", province: str = "ht") -> None:
        self._p = f"{prefix}:{{{province}}}:{SCHEMA_VERSION}"

    @property
    def root(self) -> str:
        """The common prefix of every key (for SCAN in tests and tools)."""
        return self._p

    def citizen(self, citizen_id: str) -> str:
        """A citizen's profile."""
        return f"{self._p}:citizen:{citizen_id}"

    def citizen_consents(self, citizen_id: str) -> str:
        """The append-only log of a citizen's consent decisions."""
        return f"{self._p}:citizen:{citizen_id}:consents"

    def session(self, citizen_id: str) -> str:
        """A citizen's conversation step and draft."""
        return f"{self._p}:session:{citizen_id}"

    def petition(self, ticket: str) -> str:
        """One petition."""
        return f"{self._p}:petition:{ticket}"

    def petition_prefix(self) -> str:
        """What ``petition(ticket)`` puts before the ticket (the Lua script appends the ticket)."""
        return f"{self._p}:petition:"

    def petition_by_draft(self, draft_id: str) -> str:
        """The ticket a draft became, so a second Confirm returns the same petition."""
        return f"{self._p}:petition:by-draft:{draft_id}"

    def petition_counter(self, year: int) -> str:
        """The ticket sequence of one year."""
        return f"{self._p}:counter:petition:{year}"

    def petitions_by_citizen(self, citizen_id: str) -> str:
        """Index: a citizen's tickets by creation time."""
        return f"{self._p}:idx:petitions:citizen:{citizen_id}"

    def petitions_by_locality(self, code: str) -> str:
        """Index: tickets of one locality."""
        return f"{self._p}:idx:petitions:locality:{code}"

    def petitions_by_category(self, key: str) -> str:
        """Index: tickets of one category."""
        return f"{self._p}:idx:petitions:category:{key}"

    def petitions_by_status(self, status: str) -> str:
        """Index: tickets currently in one status."""
        return f"{self._p}:idx:petitions:status:{status}"

    def petitions_by_time(self) -> str:
        """Index: every ticket by creation time."""
        return f"{self._p}:idx:petitions:created"

    def handled_updates(self) -> str:
        """Telegram update_ids that were fully handled (redelivery guard)."""
        return f"{self._p}:updates:handled"

    def update_offset(self) -> str:
        """The getUpdates offset to send next (everything below it is handled)."""
        return f"{self._p}:updates:offset"

    def poller_heartbeat(self) -> str:
        """Refreshed by the polling loop; its absence means the bot is not polling."""
        return f"{self._p}:heartbeat:poller"

    def official(self, official_id: str) -> str:
        """One official."""
        return f"{self._p}:official:{official_id}"

    def officials(self) -> str:
        """The set of every official's id."""
        return f"{self._p}:officials"

    def official_by_telegram(self, telegram_id: int) -> str:
        """Which official a Telegram user is."""
        return f"{self._p}:official:by-telegram:{telegram_id}"

    def unit(self, key: str) -> str:
        """One unit."""
        return f"{self._p}:unit:{key}"

    def units(self) -> str:
        """The set of every unit's key."""
        return f"{self._p}:units"

    def directory_settings(self) -> str:
        """Routing settings of the officials directory."""
        return f"{self._p}:directory:settings"

    def invite(self, code: str) -> str:
        """A single-use onboarding invitation."""
        return f"{self._p}:invite:{code}"

    def open_petitions_by_assignee(self, official_id: str) -> str:
        """Index: the open tickets assigned to an official."""
        return f"{self._p}:idx:petitions:assignee:{official_id}"

    def topic(self, chat_id: int, thread_id: int) -> str:
        """Which petition a forum topic of a team chat is about."""
        return f"{self._p}:topic:{chat_id}:{thread_id}"

    def timers_due(self) -> str:
        """Durable timers waiting for their time."""
        return f"{self._p}:timers:due"

    def timers_inflight(self) -> str:
        """Timers claimed by a worker and not yet done."""
        return f"{self._p}:timers:inflight"

    def audit(self) -> str:
        """The append-only audit trail (a stream)."""
        return f"{self._p}:audit"
