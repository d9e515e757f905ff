"""The outbox: every message a state change owes to someone, recorded with the change, sent later.

A change that owes a message (a receipt, a case card, a notice...) appends an entry in the *same*
Lua script as the change itself (``outbox_push.lua`` is prepended to those scripts), so a crash can
never keep the change and lose the message. Entries queue in *lanes*, one per recipient (a citizen
id, ``official:<id>``, ``admins``); a sender claims a whole lane under a lease in Redis time, sends its
entries in order and acknowledges each one. A sender that dies leaves its lease to expire and the
lane is claimed again elsewhere: delivery is at least once. Only the message being sent when the
sender died can go twice (Telegram has no idempotency key); each entry records how many of its
messages were already sent, so a card with photos resumes where it stopped.

| key | type | what |
|---|---|---|
| ``outbox:seq`` | string (int) | the last entry id |
| ``outbox:lane:<lane>`` | list | one recipient's entries (JSON: kind, ticket, data, attempts, progress), oldest first |
| ``outbox:lanes`` | zset | lanes with something to send, score = when (Redis time; 0 = now) |
| ``outbox:inflight`` | zset | lanes held by a sender, score = lease expiry (Redis time) |
| ``outbox:hold`` | string (float) | until when the whole bot must wait (a global flood wait) |
| ``outbox:delivered`` | stream (capped) | what was delivered, failed or fell back, and when |
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, Field

from storage.connection import load_script, replication_wait
from storage.keys import Keys

log = logging.getLogger(__name__)
LEASE_SECONDS = 15  # a dead sender's lanes wait at most this long (each ack extends it)
DELIVERED_KEPT = 10_000
ADMINS_LANE = "admins"


def official_lane(official_id: str) -> str:
    """The lane of an official's messages."""
    return f"official:{official_id}"


def with_outbox(script: str) -> str:
    """A Lua script with the outbox's ``outbox_push`` function available to it."""
    return load_script("outbox_push.lua") + "\n" + load_script(script)


class OutboxEntry(BaseModel):
    """One owed message (or a few that go together, like a card and its photos), rendered when sent."""

    id: str = ""
    kind: str
    lane: str
    ticket: str = ""
    official_id: str | None = None  # the official it is for; None: the lane says who
    chat_id: int | None = None  # an explicit chat (a dialogue attendee, a relay's source...)
    data: dict[str, str] = Field(default_factory=dict)
    created_at: float = Field(default_factory=time.time)
    attempts: int = 0
    done: int = 0  # how many of its messages were already sent (a retry skips them)

    def body(self) -> str:
        """The JSON the scripts store (without the id, which the script assigns)."""
        return self.model_dump_json(exclude={"id"})


def outbox_args(entries: Sequence[OutboxEntry]) -> list[str]:
    """The ARGV pairs (lane, body) a state-changing script passes to ``outbox_push``."""
    args: list[str] = []
    for entry in entries:
        args += [entry.lane, entry.body()]
    return args


class OutboxRepository:
    """Reads and writes ``outbox:*`` keys."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._enqueue = redis.register_script(with_outbox("outbox_enqueue.lua"))
        self._claim = redis.register_script(load_script("outbox_claim.lua"))
        self._ack = redis.register_script(with_outbox("outbox_ack.lua"))
        self._release = redis.register_script(with_outbox("outbox_release.lua"))
        self._progress = redis.register_script(with_outbox("outbox_progress.lua"))

    @property
    def base(self) -> str:
        """The prefix the scripts build outbox keys from."""
        return self._keys.outbox_base()

    async def enqueue(self, entries: Sequence[OutboxEntry]) -> None:
        """Record entries on their own (when no other write goes with them)."""
        if entries:
            await self._enqueue(keys=[self._keys.outbox_lanes()], args=[self.base, *outbox_args(entries)])

    async def claim(
        self, *, lanes: Sequence[str] = (), most_lanes: int = 32, per_lane: int = 20
    ) -> list[tuple[str, list[OutboxEntry]]]:
        """Lanes whose turn has come (only ``lanes``, when given) with their first entries, held under a
        lease until released."""
        keys = [self._keys.outbox_lanes(), self._keys.outbox_inflight()]
        args: list[str | int] = [self.base, LEASE_SECONDS, most_lanes, per_lane, *lanes]
        wait = replication_wait(self._redis)
        if wait is None:
            raw: list[list[str]] = await self._claim(keys=keys, args=args)
        else:
            # WAIT on the claim's own connection, when something is to be sent: the replicas then have
            # everything written before the claim (replication is in order), so what a message confirms — a
            # petition, an answer — survives a failover. Past the timeout the messages go anyway (a replica
            # down must not silence the bot); REDIS_WAIT_* and the README's "Redis high availability".
            async with self._redis.client() as connection:
                raw = await self._claim(keys=keys, args=args, client=connection)
                if raw:
                    acknowledged = await connection.wait(wait[0], wait[1])
                    if int(acknowledged) < wait[0]:
                        log.warning("redis.replication_lag replicas=%s wanted=%s", acknowledged, wait[0])
        return [
            (str(item[0]), [OutboxEntry.model_validate_json(entry) for entry in item[1:]]) for item in raw
        ]

    async def ack(self, entry: OutboxEntry, outcome: str, **details: str) -> bool:
        """The entry is finished (``outcome``: delivered, fallback, failed): off its lane, logged."""
        fields = ["kind", entry.kind, "ticket", entry.ticket, "outcome", outcome, "at", f"{time.time():.3f}"]
        for name, value in details.items():
            fields += [name, value]
        return bool(
            await self._ack(
                keys=[
                    self._keys.outbox_lane(entry.lane),
                    self._keys.outbox_delivered(),
                    self._keys.outbox_inflight(),
                ],
                args=[entry.id, entry.lane, LEASE_SECONDS, DELIVERED_KEPT, *fields],
            )
        )

    async def progress(self, entry: OutboxEntry) -> bool:
        """Remember how far a multi-message entry got; extends the lease."""
        return bool(
            await self._progress(
                keys=[self._keys.outbox_lane(entry.lane), self._keys.outbox_inflight()],
                args=[entry.id, entry.model_dump_json(), entry.lane, LEASE_SECONDS],
            )
        )

    async def release(self, lane: str, delay: float = 0.0, entry: OutboxEntry | None = None) -> None:
        """Let go of a lane; what is left in it is due again after ``delay`` seconds. ``entry`` (the one
        that has to wait) is stored with its attempt count."""
        await self._release(
            keys=[
                self._keys.outbox_lanes(),
                self._keys.outbox_inflight(),
                self._keys.outbox_lane(lane),
            ],
            args=[
                lane,
                f"{max(delay, 0.0):.3f}",
                entry.id if entry else "",
                entry.model_dump_json() if entry else "",
            ],
        )

    async def hold(self, seconds: float) -> None:
        """Make every sender wait ``seconds`` (Telegram asked the whole bot to slow down)."""
        server_time = await self._redis.time()
        until = float(server_time[0]) + float(server_time[1]) / 1_000_000 + seconds
        current = await self._redis.get(self._keys.outbox_hold())
        if current is None or float(current) < until:
            await self._redis.set(self._keys.outbox_hold(), f"{until:.3f}", ex=max(1, int(seconds) + 1))

    async def lanes(self) -> list[str]:
        """Every lane with something in it (waiting or being sent)."""
        waiting = await self._redis.zrange(self._keys.outbox_lanes(), 0, -1)
        sending = await self._redis.zrange(self._keys.outbox_inflight(), 0, -1)
        return sorted({str(lane) for lane in [*waiting, *sending]})

    async def pending(self) -> list[OutboxEntry]:
        """Every entry not yet finished, oldest first (health, metrics, tests)."""
        entries: list[OutboxEntry] = []
        for lane in await self.lanes():
            raws = await self._redis.lrange(self._keys.outbox_lane(lane), 0, -1)
            entries += [OutboxEntry.model_validate_json(raw) for raw in raws]
        return sorted(entries, key=lambda e: int(e.id))

    async def backlog(self) -> tuple[int, float | None]:
        """How many entries wait, and when the oldest was recorded (epoch s)."""
        entries = await self.pending()
        return len(entries), min((e.created_at for e in entries), default=None)

    async def delivered(self, count: int = 1000) -> list[dict[str, Any]]:
        """The newest records of finished entries, oldest first (tests and tools)."""
        found: list[tuple[str, dict[str, str]]] = await self._redis.xrevrange(  # type: ignore[assignment]
            self._keys.outbox_delivered(), count=count
        )
        return [dict(fields) for _id, fields in reversed(found)]
