"""Broadcasts: the recipient snapshot, claims under a lease, per-recipient outcomes written once.

A broadcast is a hash (``meta`` JSON, state, cursor, counts), its recipient list (snapshotted when it
starts), the recipients claimed by a sender (a sorted set of lease expiries in Redis time) and the
outcome of each recipient. A sender that dies leaves its claims to expire; they are claimed again
first, and a recipient whose outcome is recorded is never claimed again. A citizen who deletes their data
leaves the tombstone ``0`` in the list (the cursor keeps its place), skipped and counted as ``erased``.
Once finished (done or cancelled) the list, claims and outcomes expire after
``BROADCAST_RECIPIENTS_KEPT``; the hash (counts) stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis

from storage.connection import load_script
from storage.keys import BROADCAST_RECIPIENTS_KEPT, ERASED_MEMBER, Keys
from storage.models import Broadcast, BroadcastState, Citizen

STAGING_TTL_SECONDS = 3600
KEPT_SECONDS = int(BROADCAST_RECIPIENTS_KEPT.total_seconds())
OUTCOMES = ("sent", "failed", "blocked")


@dataclass(frozen=True, slots=True)
class Claim:
    """Recipients handed to one sender, and how long to wait before the first send (the shared pace)."""

    state: str
    delay: float
    recipients: list[int]


class BroadcastRepository:
    """Reads and writes ``broadcast:*`` keys, always through the scripts for multi-key changes."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._start = redis.register_script(load_script("broadcast_start.lua"))
        self._claim = redis.register_script(load_script("broadcast_claim.lua"))
        self._ack = redis.register_script(load_script("broadcast_ack.lua"))
        self._state = redis.register_script(load_script("broadcast_state.lua"))
        self._progress = redis.register_script(load_script("broadcast_progress.lua"))
        self._count = redis.register_script(load_script("broadcast_count.lua"))

    async def count(self, sources: list[str]) -> int:
        """How many distinct, reachable subscribers the union of ``sources`` holds now (nothing stored)."""
        return int(await self._count(keys=[self._keys.unreachable(), *sources], args=[]))

    async def create(
        self, broadcast: Broadcast, sources: list[str] | None = None, recipients: list[int] | None = None
    ) -> int:
        """Store the broadcast and snapshot its recipients (the union of ``sources`` or the explicit
        ``recipients``, minus the unreachable); returns how many."""
        k, bid = self._keys, broadcast.id
        staged = recipients is not None
        if recipients:
            staging = k.broadcast_staging(bid)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(staging)
                for start in range(0, len(recipients), 5000):
                    pipe.sadd(staging, *recipients[start : start + 5000])
                pipe.expire(staging, STAGING_TTL_SECONDS)
                await pipe.execute()
        meta = broadcast.model_dump_json(include=_META_FIELDS)
        total = await self._start(
            keys=[
                k.broadcast(bid),
                k.broadcast_recipients(bid),
                k.broadcast_staging(bid),
                k.unreachable(),
                k.broadcasts_active(),
                k.broadcasts(),
                *([] if staged else (sources or [])),
            ],
            args=[bid, meta, broadcast.created_at.timestamp(), "1" if staged else "0"],
        )
        if int(total) < 0:
            raise ValueError(f"broadcast {bid} exists already")
        return int(total)

    async def get(self, broadcast_id: str) -> Broadcast | None:
        """The broadcast with its current state and counts, or None."""
        k = self._keys
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(k.broadcast(broadcast_id))
            pipe.zcard(k.broadcast_inflight(broadcast_id))
            raw, inflight = await pipe.execute()
        if not raw:
            return None
        data = Broadcast.model_validate_json(raw["meta"]).model_dump()
        data.update(
            state=BroadcastState(raw["state"]),
            total=int(raw.get("total", 0)),
            cursor=int(raw.get("cursor", 0)),
            sent=int(raw.get("sent", 0)),
            failed=int(raw.get("failed", 0)),
            blocked=int(raw.get("blocked", 0)),
            erased=int(raw.get("erased", 0)),
            inflight=int(inflight),
            progress_message_id=int(raw["progress_message_id"]) if raw.get("progress_message_id") else None,
            finished_at=datetime.fromisoformat(raw["finished_at"]) if raw.get("finished_at") else None,
        )
        return Broadcast.model_validate(data)

    async def active(self) -> list[str]:
        """Ids of the broadcasts running or paused."""
        members = await self._redis.smembers(self._keys.broadcasts_active())
        return sorted(str(m) for m in members)

    async def recent(self, limit: int = 20) -> list[str]:
        """Ids of the latest broadcasts, newest first."""
        return [str(m) for m in await self._redis.zrevrange(self._keys.broadcasts(), 0, limit - 1)]

    async def claim(self, broadcast_id: str, limit: int, lease: float, rate: float) -> Claim:
        """Take up to ``limit`` recipients; nobody else gets them while the lease lasts."""
        k = self._keys
        raw = await self._claim(
            keys=[
                k.broadcast(broadcast_id),
                k.broadcast_recipients(broadcast_id),
                k.broadcast_inflight(broadcast_id),
                k.broadcast_status(broadcast_id),
                k.broadcast_pacer(),
                k.broadcasts_active(),
            ],
            args=[limit, lease, rate, broadcast_id, _now_iso(), KEPT_SECONDS],
        )
        return Claim(str(raw[0]), float(raw[1]), [int(m) for m in raw[2:]])

    async def ack(self, broadcast_id: str, recipient: int, outcome: str, retry_after: float = 0) -> int:
        """Record a recipient's outcome (``sent``, ``failed``, ``blocked``) once, or hand it back
        (``retry``, after ``retry_after`` seconds for every sender). 2 when that finished the broadcast.
        A recipient erased meanwhile ("delete my data") is counted as ``erased``, its id written nowhere."""
        k = self._keys
        result = await self._ack(
            keys=[
                k.broadcast(broadcast_id),
                k.broadcast_inflight(broadcast_id),
                k.broadcast_status(broadcast_id),
                k.unreachable(),
                k.broadcasts_active(),
                k.broadcast_pacer(),
                k.broadcast_recipients(broadcast_id),
            ],
            args=[recipient, outcome, broadcast_id, _now_iso(), retry_after, KEPT_SECONDS],
        )
        return int(result)

    async def move(self, broadcast_id: str, new_state: BroadcastState, allowed: list[BroadcastState]) -> str:
        """Change the state if it is one of ``allowed``; returns the state before."""
        k = self._keys
        result = await self._state(
            keys=[
                k.broadcast(broadcast_id),
                k.broadcasts_active(),
                k.broadcast_recipients(broadcast_id),
                k.broadcast_inflight(broadcast_id),
                k.broadcast_status(broadcast_id),
            ],
            args=[broadcast_id, new_state.value, _now_iso(), KEPT_SECONDS, *(s.value for s in allowed)],
        )
        return str(result)

    async def is_running(self, broadcast_id: str) -> bool:
        """Whether the broadcast is still running (not paused, cancelled or done)."""
        return await self._redis.hget(self._keys.broadcast(broadcast_id), "state") == "running"

    async def status(self, broadcast_id: str, recipient: int) -> str | None:
        """What happened to one recipient, if anything yet."""
        value = await self._redis.hget(self._keys.broadcast_status(broadcast_id), str(recipient))
        return str(value) if value is not None else None

    async def recipients(self, broadcast_id: str) -> list[int]:
        """The snapshot (without the recipients erased since)."""
        members = await self._redis.lrange(self._keys.broadcast_recipients(broadcast_id), 0, -1)
        return [int(m) for m in members if m != ERASED_MEMBER]

    async def take_progress_slot(self, broadcast_id: str, interval: float, force: bool = False) -> bool:
        """True at most once per ``interval`` seconds across processes (or always when ``force``)."""
        result = await self._progress(
            keys=[self._keys.broadcast(broadcast_id)], args=[interval, "1" if force else "0"]
        )
        return bool(int(result))

    async def claim_progress_message(self, broadcast_id: str) -> bool:
        """True for the one process that may send the progress message."""
        return bool(await self._redis.hsetnx(self._keys.broadcast(broadcast_id), "progress_owner", "1"))

    async def set_progress_message(self, broadcast_id: str, message_id: int) -> None:
        """Remember the progress message to edit."""
        await self._redis.hset(self._keys.broadcast(broadcast_id), "progress_message_id", str(message_id))

    async def unreachable(self, telegram_ids: list[int]) -> list[bool]:
        """Whether each user blocked the bot."""
        if not telegram_ids:
            return []
        flags = await self._redis.smismember(self._keys.unreachable(), [str(t) for t in telegram_ids])
        return [bool(f) for f in flags]

    async def clear_unreachable(self, telegram_id: int) -> bool:
        """The user wrote to the bot: reachable again. True when they were marked. (A read first: it is
        prefetched with every update, ``storage.prefetch``, so the usual case costs no round trip. A mark a
        sender made after that prefetch, while this update ran, stays until the user's next update.)"""
        if not await self._redis.sismember(self._keys.unreachable(), str(telegram_id)):
            return False
        return bool(await self._redis.srem(self._keys.unreachable(), str(telegram_id)))

    async def languages(self, telegram_ids: list[int]) -> list[str | None]:
        """Each recipient's chosen language (None without a profile or a choice), in one round trip."""
        if not telegram_ids:
            return []
        raws = await self._redis.mget([self._keys.citizen(f"tg:{t}") for t in telegram_ids])
        result: list[str | None] = []
        for raw in raws:
            language = None
            if raw:
                language = Citizen.model_validate_json(raw).language
            result.append(language)
        return result


_META_FIELDS = {"id", "created_by", "created_at", "kind", "ref", "texts", "audience", "progress_chat_id"}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()
