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
| ``dialogue:<id>`` | string (JSON) | none | a dialogue: title, host, time, place, localities, outcomes |
| ``counter:dialogue`` | string (int) | none | last dialogue number |
| ``idx:dialogues:starts`` | zset | none | every dialogue id, score = start time |
| ``dialogue:<id>:attendees`` / ``:remind`` | set | none | Telegram ids registered / to remind |
| ``dialogue:<id>:questions`` | zset | none | tickets linked to the dialogue, score = created time |
| ``dialogue:<id>:delivered:<tag>`` | set | 30 days | Telegram ids already sent one notice |
| ``dialogue:compose:<tg id>`` | string (JSON) | 2 hours | a staff member's dialogue conversation |
| ``subscribers:locality:<code>`` | set | none | Telegram ids subscribed to a locality's announcements |
| ``subscribers:province`` | set | none | Telegram ids subscribed to province-wide announcements |
| ``citizen:<cid>:subscriptions`` | set | none | a citizen's subscriptions: locality codes and ``province`` |
| ``citizen:<cid>:subscription-offer`` | string | none | set once the bot offered a subscription after a petition |
| ``citizens:unreachable`` | set | none | Telegram ids that blocked the bot (403); removed when they write |
| ``awaiting:<tg id>`` | string | 2 hours | what the next text of a user answers (subscription search, broadcast) |
| ``broadcast:<id>`` | hash | none | a broadcast: ``meta`` JSON, state, cursor, counts, progress message |
| ``broadcast:<id>:recipients`` | list | 30 days after finish | the recipients snapshotted at start (Telegram ids; ``0`` = erased) |
| ``broadcast:<id>:inflight`` | zset | 30 days after finish | recipients claimed by a sender, score = lease expiry (Redis time) |
| ``broadcast:<id>:status`` | hash | 30 days after finish | Telegram id → sent, failed or blocked (written once) |
| ``broadcast:<id>:staging`` | set | 1 hour | an explicit recipient list before its snapshot |
| ``broadcasts:active`` / ``broadcasts`` | set / zset | none | running or paused broadcasts / all, by start time |
| ``broadcasts:pacer`` | string (float) | 1 minute | the next send slot shared by every process (rate limit) |
| ``broadcast:draft:<tg id>`` | string (JSON) | 2 hours | an admin's /broadcast in progress |
| ``heartbeat:poller`` | string (ISO time) | 90 s | set by the polling loop after every poll (health check) |
| ``heartbeat:process:<name>`` | hash | 3 × stall threshold | one process's loops: loop → last progress (epoch s), host, pid, role |
| ``processes`` | zset | trimmed (1 day) | process names that wrote a heartbeat, score = last write (``health --all``) |
| ``updates:pending`` | hash | none | update_id → raw update JSON: fetched, not yet handled (replayed at start) |
| ``poller:lease`` | string (token) | 30 s, renewed | held by the one process that polls Telegram |
| ``outbox:*`` | see ``storage/outbox.py`` | none | messages owed to people, per recipient lane, until delivered |
| ``similar:docs`` | hash | none | "me too" index: petition number → ``locality|category|folded syllables`` (open petitions) |
| ``similar:df`` | hash | none | folded syllable → how many indexed open petitions contain it (for IDF) |
| ``similar:open:<locality>:<category>`` | set (ints) | none | a bucket: numbers of the open petitions of one locality and topic |
| ``similar:open:<locality>:<category>:t:<syllable>`` | set (ints) | none | inverted index: the bucket's petitions containing the syllable |
| ``similar:built`` | string | none | set once every open petition was indexed |
| ``cosigners:<ticket>`` | set | none | citizen ids who joined a petition ("me too"), never shown to officials |
| ``citizen:<cid>:cosigned`` | zset | none | tickets a citizen joined, score = time joined |
| ``cosigner-verdicts:<ticket>`` | hash | none | co-signer's citizen id → their verdict JSON (resolved, rating, comment) |
| ``topics:corrections`` | stream | none | officials' topic corrections: ticket, from, to, suggested, folded syllables |

``cid`` is channel-qualified (``tg:123456``) so another messenger can share the key space.

Keys of citizens' data rights and abuse limits (issue 6):

| key | type | TTL | what |
|---|---|---|---|
| ``flood:<cid>`` | string (int) | flood window | a citizen's updates in the current flood window |
| ``retention:sweep`` | string (token) | lease | held by the one process sweeping closed petitions |

Personal data registry (erasure, Luật 91/2025): "delete my data" (``storage.privacy``) erases, in
one Lua script, every key and every set/zset/hash/list member that ``PERSONAL_DATA_KEYS`` and
``PERSONAL_DATA_MEMBERS`` below name, and anonymises the citizen's petitions. **Whoever adds a key
holding a citizen's personal data adds it there** (an additive one-line edit, or
``PERSONAL_DATA_KEYS["my_key"] = "citizen_id"`` from their own module at import time);
``tests/e2e/test_privacy.py`` scans every key and value after an erasure. In a list the member is not
removed but replaced by the tombstone ``0`` (``LSET``), so that a cursor into the list (a running
broadcast's) keeps pointing at the same recipients; readers of such lists skip ``0``.
"""

from __future__ import annotations

from datetime import timedelta

SCHEMA_VERSION = "v1"
SESSION_TTL = timedelta(days=7)
DRAFT_RECEIPT_TTL = timedelta(days=30)
HANDLED_UPDATES_KEPT = 10_000
HEARTBEAT_TTL = timedelta(seconds=90)
# A finished (done or cancelled) broadcast's recipient list, outcomes and claims: kept this long, for the
# admins' questions ("did X get it?"), then gone with the Telegram ids in them. Its hash (counts) stays.
BROADCAST_RECIPIENTS_KEPT = timedelta(days=30)
ERASED_MEMBER = "0"  # what an erased citizen's entry in a registered list becomes

# Personal data registry — read by storage.privacy.PrivacyRepository.erase (see the module docstring).
# Keys that belong to ONE citizen and are deleted whole: ``Keys`` method name -> what it is built from,
# "citizen_id" (``tg:123``) or "telegram_id" (123).
PERSONAL_DATA_KEYS: dict[str, str] = {
    "citizen": "citizen_id",
    "citizen_consents": "citizen_id",
    "session": "citizen_id",
    "petitions_by_citizen": "citizen_id",
    "flood": "citizen_id",
    "citizen_subscriptions": "citizen_id",
    "subscription_offer": "citizen_id",
    "awaiting": "telegram_id",
    "outbox_citizen_lane": "citizen_id",
    "cosigned_by_citizen": "citizen_id",
}
# Shared sets, sorted sets, hashes or lists in which a citizen appears as a member (or hash field),
# written as their citizen id or their bare Telegram id: ``Keys`` method names; a method with
# parameters is called with "*" for each and SCANned as a pattern. Erasure removes the member.
PERSONAL_DATA_MEMBERS: list[str] = [
    "subscribers_province",
    "subscribers_locality",
    "unreachable",
    "dialogue_attendees",
    "dialogue_reminded",
    "dialogue_delivered",
    "outbox_lanes",
    "outbox_inflight",
    "broadcast_recipients",
    "broadcast_status",
    "broadcast_inflight",
    "cosigners",
    "cosigner_verdicts",
]


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

    def pending_updates(self) -> str:
        """Updates fetched from Telegram and not yet handled (update_id → raw JSON)."""
        return f"{self._p}:updates:pending"

    def poller_lease(self) -> str:
        """Held by the one process that polls Telegram (a token with a TTL, renewed)."""
        return f"{self._p}:poller:lease"

    def outbox_base(self) -> str:
        """What every outbox key starts with (the scripts append ``seq``, ``lane:<lane>``...)."""
        return f"{self._p}:outbox:"

    def outbox_lane(self, lane: str) -> str:
        """The entry ids of one recipient, in order."""
        return f"{self._p}:outbox:lane:{lane}"

    def outbox_citizen_lane(self, citizen_id: str) -> str:
        """A citizen's outbox lane (its name is their citizen id)."""
        return self.outbox_lane(citizen_id)

    def outbox_lanes(self) -> str:
        """Lanes with something to send, by when."""
        return f"{self._p}:outbox:lanes"

    def outbox_inflight(self) -> str:
        """Lanes held by a sender, by lease expiry."""
        return f"{self._p}:outbox:inflight"

    def outbox_hold(self) -> str:
        """Until when every sender waits (a flood wait on the whole bot)."""
        return f"{self._p}:outbox:hold"

    def outbox_delivered(self) -> str:
        """The capped log of finished entries."""
        return f"{self._p}:outbox:delivered"

    def poller_heartbeat(self) -> str:
        """Refreshed by the polling loop; its absence means the bot is not polling."""
        return f"{self._p}:heartbeat:poller"

    def process_heartbeat(self, name: str) -> str:
        """One process's heartbeat: when each of its loops last made progress."""
        return f"{self._p}:heartbeat:process:{name}"

    def processes(self) -> str:
        """Every process that wrote a heartbeat lately, by when."""
        return f"{self._p}:processes"

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

    def dialogue(self, dialogue_id: str) -> str:
        """One dialogue (direct dialogue or citizen reception)."""
        return f"{self._p}:dialogue:{dialogue_id}"

    def dialogue_counter(self) -> str:
        """The last dialogue number."""
        return f"{self._p}:counter:dialogue"

    def dialogues_by_time(self) -> str:
        """Index: every dialogue by its start time."""
        return f"{self._p}:idx:dialogues:starts"

    def dialogue_attendees(self, dialogue_id: str) -> str:
        """Telegram ids of the citizens who registered to attend (counted against capacity)."""
        return f"{self._p}:dialogue:{dialogue_id}:attendees"

    def dialogue_reminded(self, dialogue_id: str) -> str:
        """Telegram ids of the citizens who asked to be reminded."""
        return f"{self._p}:dialogue:{dialogue_id}:remind"

    def dialogue_questions(self, dialogue_id: str) -> str:
        """Index: tickets of the petitions linked to a dialogue (questions, proposals), by creation time."""
        return f"{self._p}:dialogue:{dialogue_id}:questions"

    def dialogue_delivered(self, dialogue_id: str, tag: str) -> str:
        """Telegram ids already sent one notice (a reminder, a cancellation): never twice."""
        return f"{self._p}:dialogue:{dialogue_id}:delivered:{tag}"

    def dialogue_compose(self, telegram_id: int) -> str:
        """A staff member's dialogue conversation in progress (creation, outcome), 2 hours."""
        return f"{self._p}:dialogue:compose:{telegram_id}"

    def subscribers_locality(self, code: str) -> str:
        """Telegram ids subscribed to one locality's announcements."""
        return f"{self._p}:subscribers:locality:{code}"

    def subscribers_province(self) -> str:
        """Telegram ids subscribed to province-wide announcements."""
        return f"{self._p}:subscribers:province"

    def citizen_subscriptions(self, citizen_id: str) -> str:
        """A citizen's subscriptions: locality codes and ``province``."""
        return f"{self._p}:citizen:{citizen_id}:subscriptions"

    def subscription_offer(self, citizen_id: str) -> str:
        """Set once the bot offered a subscription after the citizen's first petition."""
        return f"{self._p}:citizen:{citizen_id}:subscription-offer"

    def unreachable(self) -> str:
        """Telegram ids of users who blocked the bot."""
        return f"{self._p}:citizens:unreachable"

    def awaiting(self, telegram_id: int) -> str:
        """What the user's next text message answers (outside the intake)."""
        return f"{self._p}:awaiting:{telegram_id}"

    def broadcast(self, broadcast_id: str) -> str:
        """One broadcast (hash: meta, state, cursor, counts)."""
        return f"{self._p}:broadcast:{broadcast_id}"

    def broadcast_recipients(self, broadcast_id: str) -> str:
        """The snapshotted recipient list of a broadcast."""
        return f"{self._p}:broadcast:{broadcast_id}:recipients"

    def broadcast_inflight(self, broadcast_id: str) -> str:
        """Recipients claimed by a sender, score = lease expiry."""
        return f"{self._p}:broadcast:{broadcast_id}:inflight"

    def broadcast_status(self, broadcast_id: str) -> str:
        """Per-recipient outcome of a broadcast."""
        return f"{self._p}:broadcast:{broadcast_id}:status"

    def broadcast_staging(self, broadcast_id: str) -> str:
        """An explicit recipient list waiting to be snapshotted."""
        return f"{self._p}:broadcast:{broadcast_id}:staging"

    def broadcasts_active(self) -> str:
        """Broadcasts running or paused."""
        return f"{self._p}:broadcasts:active"

    def broadcasts(self) -> str:
        """Every broadcast by start time."""
        return f"{self._p}:broadcasts"

    def broadcast_pacer(self) -> str:
        """The next free send slot shared by every process."""
        return f"{self._p}:broadcasts:pacer"

    def broadcast_draft(self, telegram_id: int) -> str:
        """An admin's /broadcast conversation."""
        return f"{self._p}:broadcast:draft:{telegram_id}"

    def flood(self, citizen_id: str) -> str:
        """A citizen's update count in the current flood window (expires with the window)."""
        return f"{self._p}:flood:{citizen_id}"

    def retention_sweep(self) -> str:
        """The lock of the retention sweep (one process at a time)."""
        return f"{self._p}:retention:sweep"

    def similar_docs(self) -> str:
        """The "me too" index: petition number → locality, category and folded syllables."""
        return f"{self._p}:similar:docs"

    def similar_df(self) -> str:
        """How many indexed open petitions contain each folded syllable."""
        return f"{self._p}:similar:df"

    def similar_bucket(self, locality_code: str, category: str) -> str:
        """The open petitions of one locality and topic (petition numbers)."""
        return f"{self._p}:similar:open:{locality_code}:{category}"

    def similar_postings(self, locality_code: str, category: str, token: str) -> str:
        """The petitions of a bucket whose description contains a folded syllable."""
        return f"{self._p}:similar:open:{locality_code}:{category}:t:{token}"

    def similar_built(self) -> str:
        """Set once every open petition was indexed."""
        return f"{self._p}:similar:built"

    def cosigners(self, ticket: str) -> str:
        """Citizen ids who joined a petition ("me too")."""
        return f"{self._p}:cosigners:{ticket}"

    def cosigned_by_citizen(self, citizen_id: str) -> str:
        """The petitions a citizen joined, by time joined."""
        return f"{self._p}:citizen:{citizen_id}:cosigned"

    def cosigner_verdicts(self, ticket: str) -> str:
        """Each co-signer's verdict on a resolved petition."""
        return f"{self._p}:cosigner-verdicts:{ticket}"

    def topic_corrections(self) -> str:
        """Officials' topic corrections (a stream), to improve the topics vocabulary."""
        return f"{self._p}:topics:corrections"

    def personal_data_keys(self, citizen_id: str) -> list[str]:
        """Every registered key holding only this citizen's personal data (``PERSONAL_DATA_KEYS``)."""
        external = citizen_id.split(":", 1)[1] if ":" in citizen_id else citizen_id
        result = []
        for name, argument in PERSONAL_DATA_KEYS.items():
            build = getattr(self, name)
            result.append(build(citizen_id) if argument == "citizen_id" else build(external))
        return result

    def personal_data_member_patterns(self) -> list[str]:
        """Keys (or SCAN patterns) of shared collections listing citizens (``PERSONAL_DATA_MEMBERS``)."""
        import inspect

        patterns = []
        for name in PERSONAL_DATA_MEMBERS:
            build = getattr(self, name)
            arity = len(inspect.signature(build).parameters)
            patterns.append(build(*["*"] * arity))
        return patterns
