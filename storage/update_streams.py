"""Incoming Telegram updates as Redis Streams, partitioned by user, read through a consumer group.

Whoever receives updates (the elected poller, the webhook endpoint) *appends* them; workers *consume*
them. A user's updates always land in the same partition (``updates:stream:<n>``, n = a stable hash of
the user id), and a partition is read by one worker at a time (``updates:partition:<n>:lease``), so a
user's updates are handled in order whichever worker runs. An entry is acknowledged *and deleted* in
the same transaction that records its update as handled; a worker that dies leaves its entries in the
group's pending list, and the next owner of the partition claims them (XAUTOCLAIM) before reading new
ones. Appending is idempotent by update_id (``updates:seen``): a webhook retry or a re-fetched batch
adds nothing. Every command here exists in Redis 6.2.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from storage.keys import HANDLED_UPDATES_KEPT, HEARTBEAT_TTL, Keys

GROUP = "handlers"
FIELD = "u"

_APPEND = """
local appended = 0
local base = 2
for i = 3, #ARGV, 3 do
  local id = ARGV[i + 1]
  if not redis.call('ZSCORE', KEYS[1], id) then
    redis.call('XADD', KEYS[base + 1 + tonumber(ARGV[i])], '*', 'u', ARGV[i + 2])
    redis.call('ZADD', KEYS[1], id, id)
    appended = appended + 1
  end
end
if appended > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[1]) - 1)
end
if ARGV[2] ~= '' then
  local current = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(ARGV[2]) > current then
    redis.call('SET', KEYS[2], ARGV[2])
  end
end
return appended
"""

# KEYS[1] = workers zset, KEYS[2..] = partition leases; ARGV = token, lease ms, now ms.
# Registers the worker, renews the leases it holds; returns {live workers, state of each partition}
# with 1 = held by this token (renewed), 0 = free, 2 = another's.
_TICK = """
redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local result = {redis.call('ZCARD', KEYS[1])}
for i = 2, #KEYS do
  local owner = redis.call('GET', KEYS[i])
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    result[i] = 1
  elseif owner then
    result[i] = 2
  else
    result[i] = 0
  end
end
return result
"""

_ACQUIRE = """
local taken = {}
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    taken[#taken + 1] = i
  end
end
return taken
"""

_RELEASE = """
local released = 0
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    released = released + 1
  end
end
if ARGV[2] == '1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return released
"""


def partition_of(serial_key: str, partitions: int) -> int:
    """The partition of a user (or chat): stable across processes and restarts."""
    return zlib.crc32(serial_key.encode()) % partitions


@dataclass(frozen=True)
class Entry:
    """One update read from a partition."""

    partition: int
    entry_id: str
    update: dict[str, Any]


class UpdateStreams:
    """Reads and writes ``updates:stream:*`` and the partition leases."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, partitions: int) -> None:
        self._redis = redis
        self._keys = keys
        self.partitions = partitions
        self._streams = [keys.update_stream(n) for n in range(partitions)]
        self._index = {key: n for n, key in enumerate(self._streams)}
        self._leases = [keys.partition_lease(n) for n in range(partitions)]
        self._append = redis.register_script(_APPEND)
        self._tick = redis.register_script(_TICK)
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)

    def stream(self, partition: int) -> str:
        """The key of one partition."""
        return self._streams[partition]

    async def ensure_groups(self) -> None:
        """Create each partition's stream and its consumer group (reading from the start), if missing."""
        for key in self._streams:
            try:
                await self._redis.xgroup_create(key, GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def append(self, updates: list[tuple[int, dict[str, Any]]], offset: int | None = None) -> int:
        """Append ``(partition, raw update)`` pairs, skipping update_ids appended before; with
        ``offset``, record the next getUpdates offset in the same step (it only grows). Returns how many
        were new."""
        args: list[str | int] = [HANDLED_UPDATES_KEPT, "" if offset is None else offset]
        for partition, update in updates:
            args += [partition, int(update["update_id"]), json.dumps(update, ensure_ascii=False)]
        keys = [self._keys.seen_updates(), self._keys.update_offset(), *self._streams]
        return int(await self._append(keys=keys, args=args))

    async def read(self, consumer: str, partitions: list[int], *, count: int, block_ms: int) -> list[Entry]:
        """New entries of ``partitions`` for ``consumer`` (waits up to ``block_ms`` for one)."""
        if not partitions:
            return []
        raw = await self._redis.xreadgroup(
            GROUP, consumer, {self._streams[n]: ">" for n in partitions}, count=count, block=block_ms
        )
        return self._entries(list(raw.items()) if isinstance(raw, dict) else list(raw or []))

    async def claim_pending(self, consumer: str, partition: int, *, min_idle_ms: int = 0) -> list[Entry]:
        """Every entry of ``partition`` read and not acknowledged (by a worker that died or gave the
        partition up) for at least ``min_idle_ms``, now ``consumer``'s, oldest first."""
        found: list[Entry] = []
        cursor = "0-0"
        key = self._streams[partition]
        while True:
            reply = await self._redis.xautoclaim(
                key, GROUP, consumer, min_idle_time=0, start_id=cursor, count=200
            )
            cursor, claimed = str(reply[0]), reply[1]
            for entry_id, fields in claimed:
                if entry_id is not None and fields:
                    found.append(Entry(partition, str(entry_id), json.loads(fields[FIELD])))
            if cursor == "0-0" or not claimed:
                return found

    def _entries(self, raw: list[Any]) -> list[Entry]:
        found = []
        for key, entries in raw:
            partition = self._index[str(key)]
            for entry_id, fields in entries:
                if fields:
                    found.append(Entry(partition, str(entry_id), json.loads(fields[FIELD])))
        return found

    async def backlog(self) -> int:
        """Entries not yet handled, over every partition (appended, pending or unread)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in self._streams:
                pipe.xlen(key)
            return sum(int(n) for n in await pipe.execute())

    # -- partition leases ----------------------------------------------------------------------

    async def tick(self, token: str, lease_seconds: float) -> tuple[int, list[int]]:
        """Register ``token`` as a live worker and renew its leases: (live workers, state per partition:
        1 held by ``token``, 0 free, 2 another's)."""
        lease_ms = int(lease_seconds * 1000)
        now_ms = int(time.time() * 1000)
        reply = await self._tick(
            keys=[self._keys.update_workers(), *self._leases], args=[token, lease_ms, now_ms]
        )
        return int(reply[0]), [int(x) for x in reply[1:]]

    async def acquire(self, token: str, partitions: list[int], lease_seconds: float) -> list[int]:
        """Take whichever of these free partitions nobody took meanwhile."""
        if not partitions:
            return []
        taken = await self._acquire(
            keys=[self._leases[n] for n in partitions], args=[token, int(lease_seconds * 1000)]
        )
        return [partitions[int(i) - 1] for i in taken]

    async def release(self, token: str, partitions: list[int], *, leaving: bool = False) -> None:
        """Give partitions up (so another worker takes them at once); ``leaving``: unregister too."""
        await self._release(
            keys=[self._keys.update_workers(), *(self._leases[n] for n in partitions)],
            args=[token, "1" if leaving else "0"],
        )

    async def live_workers(self) -> int:
        """Workers registered and not expired."""
        now_ms = int(time.time() * 1000)
        return int(await self._redis.zcount(self._keys.update_workers(), now_ms, "+inf"))

    async def beat(self, now_iso: str) -> None:
        """Record that a worker is alive (health check)."""
        await self._redis.set(self._keys.worker_heartbeat(), now_iso, ex=int(HEARTBEAT_TTL.total_seconds()))

    async def last_beat(self) -> str | None:
        """When a worker last reported, if within the heartbeat TTL."""
        raw = await self._redis.get(self._keys.worker_heartbeat())
        return str(raw) if raw else None

    async def migrate_pending_hash(self, serial: Any) -> int:
        """Updates an earlier version kept in ``updates:pending`` (fetched, not handled): appended to
        the streams (``serial(raw) -> partition``), then the hash is removed."""
        key = self._keys.pending_updates()
        raw: dict[str, str] = await self._redis.hgetall(key)  # type: ignore[assignment]
        if not raw:
            return 0
        updates = [json.loads(raw[k]) for k in sorted(raw, key=int)]
        added = await self.append([(serial(u), u) for u in updates])
        await self._redis.delete(key)
        return added
