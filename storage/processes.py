"""Per-process heartbeats: when each loop of each bot process last made progress (``health``).

| key | type | TTL | what |
|---|---|---|---|
| ``heartbeat:process:<name>`` | hash | set by the writer | ``loop:<loop>`` → last progress (epoch s), ``at``, ``host``, ``pid``, ``role`` |
| ``processes`` | zset | members older than a day trimmed | process names, score = last heartbeat write |
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from storage.keys import Keys

LOOP_FIELD = "loop:"
PROCESSES_KEPT_SECONDS = 86_400


class ProcessHeartbeats:
    """Reads and writes ``heartbeat:process:*`` and ``processes``."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def write(self, name: str, loops: dict[str, float], info: dict[str, str], ttl: int) -> None:
        """Record this process's loops (loop → last progress, epoch seconds) and who it is."""
        now = time.time()
        key = self._keys.process_heartbeat(name)
        mapping: dict[str, str] = {**info, "at": f"{now:.3f}"}
        mapping.update({LOOP_FIELD + loop: f"{at:.3f}" for loop, at in loops.items()})
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)  # a loop that is gone (stopped) is not reported as stalled forever
            pipe.hset(key, mapping=dict(mapping))  # type: ignore[arg-type]  # redis-py's invariant Mapping
            pipe.expire(key, max(1, ttl))
            pipe.zadd(self._keys.processes(), {name: now})
            pipe.zremrangebyscore(self._keys.processes(), "-inf", now - PROCESSES_KEPT_SECONDS)
            await pipe.execute()

    async def read(self, name: str) -> dict[str, str] | None:
        """A process's heartbeat, or None when it has expired (or never was)."""
        raw = await self._redis.hgetall(self._keys.process_heartbeat(name))
        return {str(k): str(v) for k, v in raw.items()} if raw else None

    async def names(self) -> list[str]:
        """Processes that wrote a heartbeat in the last day, most recent first."""
        return [str(m) for m in await self._redis.zrevrange(self._keys.processes(), 0, -1)]

    async def remove(self, name: str) -> None:
        """A process stopping cleanly takes its heartbeat away."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.process_heartbeat(name))
            pipe.zrem(self._keys.processes(), name)
            await pipe.execute()


def loop_ages(beat: dict[str, str], now: float) -> dict[str, float]:
    """Seconds since each loop of a heartbeat made progress (``process`` for the writer itself)."""
    ages = {"process": now - float(beat.get("at", 0))}
    for field, value in beat.items():
        if field.startswith(LOOP_FIELD):
            ages[field[len(LOOP_FIELD) :]] = max(0.0, now - float(value))
    return ages
