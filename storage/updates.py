"""The redelivery guard: which Telegram updates were handled, and the offset to confirm."""

from __future__ import annotations

import redis.asyncio as aioredis

from storage.keys import HANDLED_UPDATES_KEPT, HEARTBEAT_TTL, Keys


class UpdateLog:
    """Reads and writes ``updates:*`` keys."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def is_handled(self, update_id: int) -> bool:
        """Whether this update_id was already handled."""
        return await self._redis.zscore(self._keys.handled_updates(), str(update_id)) is not None

    async def mark_handled(self, update_id: int) -> None:
        """Record the update as handled, keeping only the newest ids."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._keys.handled_updates(), {str(update_id): update_id})
            pipe.zremrangebyrank(self._keys.handled_updates(), 0, -HANDLED_UPDATES_KEPT - 1)
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
