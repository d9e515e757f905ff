"""The redelivery guard: which Telegram updates were handled, which were fetched and wait, the offset
to confirm, and the lease that lets one process poll."""

from __future__ import annotations

import json
import secrets
from typing import Any

import redis.asyncio as aioredis

from storage.keys import HANDLED_UPDATES_KEPT, HEARTBEAT_TTL, Keys

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class UpdateLog:
    """Reads and writes ``updates:*`` keys."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def is_handled(self, update_id: int) -> bool:
        """Whether this update_id was already handled."""
        return await self._redis.zscore(self._keys.handled_updates(), str(update_id)) is not None

    async def keep(self, updates: list[dict[str, Any]], offset: int) -> None:
        """Store fetched updates (raw JSON) until they are handled, and the offset that confirms them to
        Telegram, in one step: once Telegram forgets them, Redis has them."""
        async with self._redis.pipeline(transaction=True) as pipe:
            if updates:
                pipe.hset(
                    self._keys.pending_updates(),
                    mapping={str(u["update_id"]): json.dumps(u, ensure_ascii=False) for u in updates},
                )
            pipe.set(self._keys.update_offset(), offset)
            await pipe.execute()

    async def pending(self) -> list[dict[str, Any]]:
        """Updates fetched and not yet handled (after a crash), oldest first."""
        raw: dict[str, str] = await self._redis.hgetall(self._keys.pending_updates())  # type: ignore[assignment]
        return [json.loads(raw[key]) for key in sorted(raw, key=int)]

    async def mark_handled(self, update_id: int) -> None:
        """Record the update as handled (no longer pending), keeping only the newest ids."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._keys.handled_updates(), {str(update_id): update_id})
            pipe.zremrangebyrank(self._keys.handled_updates(), 0, -HANDLED_UPDATES_KEPT - 1)
            pipe.hdel(self._keys.pending_updates(), str(update_id))
            await pipe.execute()

    async def offset(self) -> int:
        """The next offset to ask getUpdates for (0 at first start)."""
        raw = await self._redis.get(self._keys.update_offset())
        return int(raw) if raw else 0

    async def set_offset(self, offset: int) -> None:
        """Remember the offset; it only ever grows."""
        current = await self.offset()
        if offset > current:
            await self._redis.set(self._keys.update_offset(), offset)

    async def beat(self, now_iso: str) -> None:
        """Record that the polling loop is alive."""
        await self._redis.set(self._keys.poller_heartbeat(), now_iso, ex=int(HEARTBEAT_TTL.total_seconds()))

    async def last_beat(self) -> str | None:
        """When the polling loop last reported, if within the heartbeat TTL."""
        raw = await self._redis.get(self._keys.poller_heartbeat())
        return str(raw) if raw else None

    # -- the poller lease: only one process polls Telegram at a time ---------------------------

    @staticmethod
    def new_token() -> str:
        """A lease token unique to one process."""
        return secrets.token_hex(8)

    async def acquire_lease(self, token: str, seconds: float) -> bool:
        """Take the poller lease if nobody holds it (or keep it, if this token does)."""
        if await self._redis.set(self._keys.poller_lease(), token, nx=True, px=int(seconds * 1000)):
            return True
        return await self.renew_lease(token, seconds)

    async def renew_lease(self, token: str, seconds: float) -> bool:
        """Extend the lease if this token still holds it."""
        return bool(await self._renew(keys=[self._keys.poller_lease()], args=[token, int(seconds * 1000)]))

    async def release_lease(self, token: str) -> None:
        """Give the lease up (at a clean stop), so another process takes over at once."""
        await self._release(keys=[self._keys.poller_lease()], args=[token])
