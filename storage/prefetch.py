"""One round trip for the reads every update starts with (issue 14: pipelined Redis per step).

Every update reads the same few keys before anything else: is it already handled, is the sender an
official, their profile, their conversation step, whether they were marked unreachable. Sent one by one
these are five round trips (and five socket writes) before the handler does any work. ``UpdateLog``
sends them as one pipeline at the start of the update and installs the answers as a *snapshot* for the
code that runs in that update (a context variable: the update's task and the tasks it starts).

``PrefetchingRedis`` answers a command from the snapshot when exactly that command (same name, same
arguments) was prefetched — and only until the update writes that key: a one-key write (SET, INCRBY,
ZADD, ..., alone or in a pipeline) drops the answers about its key; any other command that is not a
known read (a script, whose keys may be built inside it; a many-key command) drops the whole snapshot.
So a handler never reads back an answer older than its own writes, and what it reads is what it would
have read at the start of the update — as when every key was read at the start, one round trip each.

On a Redis Cluster (``RedisCluster`` is not this class) nothing is prefetched: the same commands simply
go one by one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

Command = tuple[Any, ...]

# Commands that never change data: running one keeps the snapshot.
READ_ONLY = frozenset(
    {
        "GET", "MGET", "EXISTS", "TTL", "PTTL", "TYPE", "STRLEN",
        "HGET", "HMGET", "HGETALL", "HEXISTS", "HLEN", "HKEYS", "HVALS",
        "SISMEMBER", "SMISMEMBER", "SMEMBERS", "SCARD", "SRANDMEMBER",
        "ZSCORE", "ZMSCORE", "ZCARD", "ZCOUNT", "ZRANK", "ZREVRANK", "ZRANGE", "ZREVRANGE",
        "ZRANGEBYSCORE", "ZREVRANGEBYSCORE",
        "LRANGE", "LLEN", "LINDEX", "XLEN", "XRANGE", "XREVRANGE", "XPENDING", "XINFO",
        "PING", "TIME", "INFO", "SCAN", "SSCAN", "HSCAN", "ZSCAN",
    }
)  # fmt: skip

# Writes whose one key is their first argument: they drop only the snapshot's answers about that key.
ONE_KEY_WRITES = frozenset(
    {
        "SET", "SETEX", "PSETEX", "GETSET", "GETDEL", "INCR", "INCRBY", "DECR", "DECRBY", "APPEND",
        "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST",
        "HSET", "HSETNX", "HDEL", "HINCRBY", "HMSET",
        "SADD", "SREM", "SPOP",
        "ZADD", "ZREM", "ZINCRBY", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZPOPMIN", "ZPOPMAX",
        "LPUSH", "RPUSH", "LPOP", "RPOP", "LTRIM", "LREM", "LSET",
        "XADD", "XACK", "XDEL", "XTRIM", "XCLAIM", "XAUTOCLAIM",
    }
)  # fmt: skip

_SNAPSHOT: ContextVar[dict[Command, Any] | None] = ContextVar("redis_snapshot", default=None)


def _forget(snapshot: dict[Command, Any], args: Sequence[Any]) -> None:
    """What a command about to run changes in the snapshot: nothing (a read), the answers about its key
    (a one-key write), or everything (anything else: a script, MULTI, a many-key command)."""
    name = str(args[0]).upper()
    if name in READ_ONLY:
        return
    if name in ONE_KEY_WRITES and len(args) > 1:
        _drop_key(snapshot, args[1])
        return
    snapshot.clear()


def _drop_key(snapshot: dict[Command, Any], key: Any) -> None:
    """Forget the snapshot's answers about ``key``."""
    for command in [c for c in snapshot if len(c) > 1 and c[1] == key]:
        del snapshot[command]


class SnapshotPipeline(Pipeline):
    """A pipeline of ``PrefetchingRedis``: its writes drop what they change from the snapshot, and so does
    WATCH — a watched key is about to be read fresh and compared, and if the transaction then fails
    (someone else changed it), the caller's next read of it must see that change, not the snapshot."""

    async def watch(self, *names: Any) -> Any:  # type: ignore[override]
        snapshot = _SNAPSHOT.get()
        if snapshot:
            for name in names:
                _drop_key(snapshot, name)
        return await super().watch(*names)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        snapshot = _SNAPSHOT.get()
        if snapshot:
            for args, _options in self.command_stack:
                _forget(snapshot, args)
        return await super().execute(raise_on_error)


class PrefetchingRedis(aioredis.Redis):
    """A Redis client that answers prefetched reads from the current update's snapshot."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        snapshot = _SNAPSHOT.get()
        if snapshot:
            try:
                if args in snapshot:
                    return snapshot[args]
            except TypeError:  # an unhashable argument: certainly not prefetched
                pass
            _forget(snapshot, args)
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return SnapshotPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


async def read_all(redis: aioredis.Redis, commands: Sequence[Command]) -> dict[Command, Any]:
    """Send ``commands`` (reads) as one pipeline; their answers by command. An answer that failed is left
    out (the code that needs it sends the command again and sees the error). {} on a client that does not
    prefetch (a cluster)."""
    if not isinstance(redis, PrefetchingRedis) or not commands:
        return {}
    pipe = redis.pipeline(transaction=False)
    async with pipe:
        for command in commands:
            pipe.execute_command(*command)
        results = await pipe.execute(raise_on_error=False)
    return {
        command: result
        for command, result in zip(commands, results, strict=True)
        if not isinstance(result, RedisError | OSError)
    }


@contextmanager
def snapshot(answers: dict[Command, Any]) -> Iterator[None]:
    """Serve ``answers`` to the code run inside (and the tasks it starts) until its first write."""
    token = _SNAPSHOT.set(answers)
    try:
        yield
    finally:
        answers.clear()  # tasks started inside and still running see nothing stale afterwards
        _SNAPSHOT.reset(token)
