"""Privacy storage on a real Redis: the flood window counter."""

from __future__ import annotations

import redis.asyncio as aioredis

from storage.keys import Keys
from storage.privacy import PrivacyRepository


async def test_the_flood_window_counts_and_keeps_its_first_expiry(redis: aioredis.Redis, keys: Keys) -> None:
    repo = PrivacyRepository(redis, keys)
    assert [await repo.hit("tg:7", 60) for _ in range(3)] == [1, 2, 3]
    ttl = await redis.ttl(keys.flood("tg:7"))
    assert 0 < ttl <= 60
    await redis.expire(keys.flood("tg:7"), 5)  # the window runs on: a hit never extends it
    assert await repo.hit("tg:7", 60) == 4
    assert 0 < await redis.ttl(keys.flood("tg:7")) <= 5
    await redis.delete(keys.flood("tg:7"))  # the window passed: a new one starts
    assert await repo.hit("tg:7", 60) == 1
    assert 0 < await redis.ttl(keys.flood("tg:7")) <= 60
