"""Subscriptions to announcements: per-locality and province-wide sets of Telegram ids, and each
citizen's own record of what they subscribed to, changed together in one transaction."""

from __future__ import annotations

import redis.asyncio as aioredis

from storage.keys import Keys

PROVINCE = "province"


class SubscriptionRepository:
    """Reads and writes ``subscribers:*`` and ``citizen:<cid>:subscriptions``."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    def _set_of(self, target: str) -> str:
        return (
            self._keys.subscribers_province()
            if target == PROVINCE
            else self._keys.subscribers_locality(target)
        )

    async def add(self, telegram_id: int, targets: list[str]) -> None:
        """Subscribe to localities (codes) and/or ``province``."""
        if not targets:
            return
        cid = f"tg:{telegram_id}"
        async with self._redis.pipeline(transaction=True) as pipe:
            for target in targets:
                pipe.sadd(self._set_of(target), str(telegram_id))
            pipe.sadd(self._keys.citizen_subscriptions(cid), *targets)
            await pipe.execute()

    async def remove(self, telegram_id: int, targets: list[str] | None = None) -> list[str]:
        """Unsubscribe from ``targets`` (everything when None); returns what was removed."""
        cid = f"tg:{telegram_id}"
        current = await self.of(telegram_id)
        chosen = [t for t in current if targets is None or t in targets]
        if not chosen:
            return []
        async with self._redis.pipeline(transaction=True) as pipe:
            for target in chosen:
                pipe.srem(self._set_of(target), str(telegram_id))
            pipe.srem(self._keys.citizen_subscriptions(cid), *chosen)
            await pipe.execute()
        return chosen

    async def of(self, telegram_id: int) -> list[str]:
        """A citizen's subscriptions (``province`` first, then locality codes)."""
        key = self._keys.citizen_subscriptions(f"tg:{telegram_id}")
        members = [str(m) for m in await self._redis.smembers(key)]
        return sorted(members, key=lambda m: (m != PROVINCE, m))

    async def add_many(self, target: str, telegram_ids: list[int]) -> None:
        """Bulk subscribe (imports, tests): the set and every citizen's record, in batches."""
        for start in range(0, len(telegram_ids), 1000):
            batch = telegram_ids[start : start + 1000]
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.sadd(self._set_of(target), *[str(t) for t in batch])
                for telegram_id in batch:
                    pipe.sadd(self._keys.citizen_subscriptions(f"tg:{telegram_id}"), target)
                await pipe.execute()

    def source_keys(self, localities: list[str], province_wide: bool) -> list[str]:
        """The subscriber sets an audience unites."""
        keys = [self._keys.subscribers_locality(code) for code in localities]
        return keys + ([self._keys.subscribers_province()] if province_wide else [])

    async def mark_offered(self, citizen_id: str) -> bool:
        """True the first time only: the subscription offer after a petition is made once."""
        return bool(await self._redis.set(self._keys.subscription_offer(citizen_id), "1", nx=True))

    async def set_awaiting(self, telegram_id: int, what: str | None) -> None:
        """Remember (or forget) what the user's next text answers; 2 hours."""
        if what is None:
            await self._redis.delete(self._keys.awaiting(telegram_id))
        else:
            await self._redis.set(self._keys.awaiting(telegram_id), what, ex=7200)

    async def awaiting(self, telegram_id: int) -> str | None:
        """What the user's next text answers, if anything."""
        value = await self._redis.get(self._keys.awaiting(telegram_id))
        return str(value) if value is not None else None
