"""Dialogues (direct dialogues, citizen receptions): the record, its attendees, reminders and questions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

import redis.asyncio as aioredis
from pydantic import Field

from storage.connection import load_script
from storage.keys import Keys
from storage.models import Stored
from storage.outbox import OutboxEntry, outbox_args

COMPOSE_TTL = timedelta(hours=2)
DELIVERED_TTL = timedelta(days=30)

_CREATE = """
local n = redis.call('INCR', KEYS[1])
local id = tostring(n)
local body = '{"id":' .. cjson.encode(id) .. ',' .. string.sub(ARGV[1], 2)
redis.call('SET', ARGV[2] .. id, body)
redis.call('ZADD', KEYS[2], ARGV[3], id)
return id
"""
_UPDATE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return -1 end
if tostring(cjson.decode(raw)['version']) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
local timers_end = 6 + 2 * tonumber(ARGV[6])
for i = 7, timers_end, 2 do
  redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i + 1])
end
for i = timers_end + 1, #ARGV, 2 do
  outbox_push(ARGV[5], ARGV[i], ARGV[i + 1])
end
return 1
"""
_ATTEND = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 2 end
local capacity = tonumber(ARGV[2])
if capacity > 0 and redis.call('SCARD', KEYS[1]) >= capacity then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
"""


class DialogueKind(StrEnum):
    """A direct dialogue with citizens, or a citizen reception."""

    DIALOGUE = "dialogue"
    RECEPTION = "reception"


class DialogueStatus(StrEnum):
    """Lifecycle: prepared, announced, cancelled, held."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    HELD = "held"


class Outcome(Stored):
    """What was answered or committed at the dialogue about one question or proposal."""

    kind: Literal["answer", "commitment"]
    text: str
    official_id: str | None = None
    due_at: datetime | None = None
    recorded_at: datetime
    recorded_by: str


class Dialogue(Stored):
    """A direct dialogue or citizen reception."""

    schema_version: Literal[1] = 1
    id: str
    title: str
    host_name: str
    host_title: str
    kind: DialogueKind
    starts_at: datetime
    place: str
    localities: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    capacity: int | None = None
    status: DialogueStatus = DialogueStatus.DRAFT
    created_by: str
    created_by_telegram: int
    created_at: datetime
    updated_at: datetime
    version: int = 1
    broadcast_id: str | None = None
    held_at: datetime | None = None
    outcomes: dict[str, Outcome] = Field(default_factory=dict)


class DialogueRepository:
    """Reads and writes ``dialogue:*``, ``counter:dialogue`` and ``idx:dialogues:*`` keys."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._create = redis.register_script(_CREATE)
        self._update = redis.register_script(load_script("outbox_push.lua") + _UPDATE)
        self._attend = redis.register_script(_ATTEND)

    async def create(self, dialogue: Dialogue) -> str:
        """Store a new dialogue under the next number (its ``id`` is ignored); returns the id."""
        body = dialogue.model_dump_json(exclude={"id"})
        result = await self._create(
            keys=[self._keys.dialogue_counter(), self._keys.dialogues_by_time()],
            args=[body, self._keys.dialogue(""), dialogue.starts_at.timestamp()],
        )
        return str(result)

    async def get(self, dialogue_id: str) -> Dialogue | None:
        """The dialogue, or None."""
        if not dialogue_id.isdigit():
            return None
        raw = await self._redis.get(self._keys.dialogue(dialogue_id))
        return Dialogue.model_validate_json(raw) if raw else None

    async def update(
        self,
        before: Dialogue,
        after: Dialogue,
        timers: list[tuple[str, float]] | None = None,
        outbox: Sequence[OutboxEntry] = (),
    ) -> bool:
        """Store ``after`` if the dialogue is still at ``before.version``, with its timers and the
        notices the change owes (``outbox``), atomically."""
        if after.version != before.version + 1:
            raise ValueError("after.version must be before.version + 1")
        args: list[str | float] = [
            str(before.version),
            after.model_dump_json(),
            after.starts_at.timestamp(),
            after.id,
            self._keys.outbox_base(),
            len(timers or []),
        ]
        for member, due in timers or []:
            args += [due, member]
        args += outbox_args(outbox)
        result = await self._update(
            keys=[self._keys.dialogue(after.id), self._keys.dialogues_by_time(), self._keys.timers_due()],
            args=args,
        )
        if int(result) == -1:
            raise KeyError(after.id)
        return int(result) == 1

    async def starting_between(self, start: datetime, end: datetime) -> list[Dialogue]:
        """Dialogues starting in [start, end], soonest first."""
        ids = await self._redis.zrangebyscore(
            self._keys.dialogues_by_time(), start.timestamp(), end.timestamp()
        )
        if not ids:
            return []
        raws = await self._redis.mget([self._keys.dialogue(str(i)) for i in ids])
        return [Dialogue.model_validate_json(raw) for raw in raws if raw]

    async def attend(self, dialogue_id: str, telegram_id: int, capacity: int | None) -> int:
        """Register an attendee unless full: 1 registered, 2 already registered, 0 full."""
        result = await self._attend(
            keys=[self._keys.dialogue_attendees(dialogue_id)], args=[str(telegram_id), capacity or 0]
        )
        return int(result)

    async def leave(self, dialogue_id: str, telegram_id: int) -> bool:
        """Give up a seat (and the reminders that came with it), in one step; False when not registered."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.srem(self._keys.dialogue_attendees(dialogue_id), str(telegram_id))
            pipe.srem(self._keys.dialogue_reminded(dialogue_id), str(telegram_id))
            removed, _reminder = await pipe.execute()
        return bool(removed)

    async def add_reminder(self, dialogue_id: str, telegram_id: int) -> bool:
        """Remember to remind this citizen; False when already asked."""
        return bool(await self._redis.sadd(self._keys.dialogue_reminded(dialogue_id), str(telegram_id)))

    async def attendees(self, dialogue_id: str) -> set[int]:
        """Telegram ids of the registered attendees."""
        members = await self._redis.smembers(self._keys.dialogue_attendees(dialogue_id))
        return {int(m) for m in members}

    async def to_remind(self, dialogue_id: str) -> set[int]:
        """Telegram ids that asked for a reminder."""
        members = await self._redis.smembers(self._keys.dialogue_reminded(dialogue_id))
        return {int(m) for m in members}

    async def question_tickets(self, dialogue_id: str) -> list[str]:
        """Tickets linked to the dialogue, oldest first."""
        return [str(t) for t in await self._redis.zrange(self._keys.dialogue_questions(dialogue_id), 0, -1)]

    async def was_delivered(self, dialogue_id: str, tag: str, telegram_id: int) -> bool:
        """Whether this recipient already got notice ``tag`` (the outbox sends, then marks)."""
        return bool(
            await self._redis.sismember(self._keys.dialogue_delivered(dialogue_id, tag), str(telegram_id))
        )

    async def mark_delivered(self, dialogue_id: str, tag: str, telegram_id: int) -> None:
        """Record that this recipient got notice ``tag``."""
        key = self._keys.dialogue_delivered(dialogue_id, tag)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, str(telegram_id))
            pipe.expire(key, int(DELIVERED_TTL.total_seconds()))
            await pipe.execute()

    async def delivered_count(self, dialogue_id: str, tag: str) -> int:
        """How many recipients got notice ``tag``."""
        return int(await self._redis.scard(self._keys.dialogue_delivered(dialogue_id, tag)))

    async def claim_delivery(self, dialogue_id: str, tag: str, telegram_id: int) -> bool:
        """True the first time only: this recipient gets notice ``tag`` once, whatever happens."""
        key = self._keys.dialogue_delivered(dialogue_id, tag)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, str(telegram_id))
            pipe.expire(key, int(DELIVERED_TTL.total_seconds()))
            added, _expiry = await pipe.execute()
        return bool(added)

    async def compose(self, telegram_id: int) -> dict[str, object] | None:
        """A staff member's dialogue conversation in progress."""
        import json

        raw = await self._redis.get(self._keys.dialogue_compose(telegram_id))
        return dict(json.loads(raw)) if raw else None

    async def save_compose(self, telegram_id: int, state: dict[str, object] | None) -> None:
        """Store (or end, with None) a staff member's dialogue conversation."""
        import json

        key = self._keys.dialogue_compose(telegram_id)
        if state is None:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, json.dumps(state, default=str), ex=int(COMPOSE_TTL.total_seconds()))
