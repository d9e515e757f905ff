"""Durable timers: a sorted set by due time, claimed atomically so each fires in one worker only.

A timer is its member string ``<kind>|<ticket>|<arg>|<n>`` (no separate payload to lose); scheduling
the same member again only moves it. A claimed timer sits in ``timers:inflight`` with a lease in
Redis server time; if its worker dies, the next claim puts it back. Firing must therefore be
idempotent: the effects check the petition's state, which the same versioned write updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import redis.asyncio as aioredis

from storage.connection import load_script
from storage.keys import Keys

LEASE_SECONDS = 120


@dataclass(frozen=True, slots=True)
class Timer:
    """A timer: what to do, for which petition, about what, and a number that keeps members distinct."""

    kind: str
    ticket: str
    arg: str = ""
    n: int = 0

    @property
    def member(self) -> str:
        """The sorted-set member this timer is stored as."""
        return f"{self.kind}|{self.ticket}|{self.arg}|{self.n}"

    @classmethod
    def parse(cls, member: str) -> Timer:
        """The timer a member encodes."""
        kind, ticket, arg, n = member.split("|", 3)
        return cls(kind, ticket, arg, int(n))


class TimerRepository:
    """Schedules, claims and completes timers."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._claim = redis.register_script(load_script("claim_timers.lua"))

    async def schedule(self, timers: list[tuple[Timer, datetime]]) -> None:
        """Add (or move) timers."""
        if timers:
            await self._redis.zadd(
                self._keys.timers_due(), {t.member: when.timestamp() for t, when in timers}
            )

    async def claim(self, now: datetime, limit: int = 50) -> list[Timer]:
        """Take the timers due at ``now``; nobody else gets them while this worker holds the lease."""
        members = await self._claim(
            keys=[self._keys.timers_due(), self._keys.timers_inflight()],
            args=[now.timestamp(), LEASE_SECONDS, limit],
        )
        return [Timer.parse(str(m)) for m in members]

    async def done(self, timer: Timer) -> None:
        """The timer fired: forget it."""
        await self._redis.zrem(self._keys.timers_inflight(), timer.member)

    async def pending(self) -> list[tuple[Timer, float]]:
        """Every timer waiting, with its due time (for tests and tools)."""
        entries: list[tuple[str, float]] = await self._redis.zrange(  # type: ignore[assignment]
            self._keys.timers_due(), 0, -1, withscores=True
        )
        return [(Timer.parse(str(m)), float(score)) for m, score in entries]
