"""Durable timers against a real Redis: due-ness by the service clock, one claimer per timer, recovery."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from storage.keys import Keys
from storage.timers import Timer, TimerRepository

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


async def test_only_due_timers_are_claimed(redis: aioredis.Redis, keys: Keys) -> None:
    repo = TimerRepository(redis, keys)
    early, late = Timer("remind", "HT-2026-000001", "accept", 1), Timer("due", "HT-2026-000001", "accept", 1)
    await repo.schedule([(early, T0), (late, T0 + timedelta(hours=5))])
    assert await repo.claim(T0 - timedelta(seconds=1)) == []
    assert await repo.claim(T0) == [early]
    assert await repo.claim(T0) == []  # claimed: not again
    assert await repo.claim(T0 + timedelta(days=1)) == [late]
    await repo.done(early)
    await repo.done(late)
    assert await redis.zcard(keys.timers_inflight()) == 0 and await repo.pending() == []


async def test_concurrent_claimers_share_timers_without_overlap(redis: aioredis.Redis, keys: Keys) -> None:
    repo = TimerRepository(redis, keys)
    timers = [Timer("remind", f"HT-2026-{n:06d}", "resolve", 1) for n in range(300)]
    await repo.schedule([(t, T0) for t in timers])
    other = TimerRepository(redis, keys)
    batches = await asyncio.gather(*(r.claim(T0, limit=7) for r in [repo, other] * 40))
    claimed = [t for batch in batches for t in batch]
    assert len(claimed) == len(set(claimed)) == 300


async def test_a_dead_workers_timers_come_back_after_the_lease(redis: aioredis.Redis, keys: Keys) -> None:
    repo = TimerRepository(redis, keys)
    timer = Timer("due", "HT-2026-000009", "resolve", 2)
    await repo.schedule([(timer, T0)])
    assert await repo.claim(T0) == [timer]
    # The worker died: make its lease expire (Redis server time) instead of waiting two minutes.
    await redis.zadd(keys.timers_inflight(), {timer.member: 0})
    assert await repo.claim(T0) == [timer]


def test_member_round_trip() -> None:
    timer = Timer("verdict_close", "HT-2026-000123", "", 4)
    assert Timer.parse(timer.member) == timer and timer.member == "verdict_close|HT-2026-000123||4"
