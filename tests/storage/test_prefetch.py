"""The per-update read snapshot (storage.prefetch) and the group commit of handled updates, against a
real Redis: prefetched reads cost no round trip, a write is never followed by a stale read of its key,
scripts and many-key commands drop everything, nothing outlives the update."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.embedded_redis import free_port
from storage.connection import connect
from storage.keys import Keys
from storage.prefetch import PrefetchingRedis, read_all, snapshot
from storage.updates import UpdateLog
from tests.conftest import on_cluster

single_server = pytest.mark.skipif(on_cluster(), reason="a cluster client does not prefetch (tested below)")


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """The bot's own client (``storage.connection.connect``): a PrefetchingRedis on one server."""
    bot_client = await connect(redis_url)
    yield bot_client
    await bot_client.aclose()


async def reads(redis: aioredis.Redis) -> int:
    """Reads the server made from clients' sockets so far (a round trip each, for small requests)."""
    return int((await redis.info("stats"))["total_reads_processed"])


@single_server
async def test_prefetched_reads_are_one_round_trip_and_served_until_the_block_ends(
    client: aioredis.Redis, redis: aioredis.Redis, key_prefix: str
) -> None:
    assert isinstance(client, PrefetchingRedis)
    a, b, members = f"{key_prefix}:a", f"{key_prefix}:b", f"{key_prefix}:s"
    await redis.set(a, "1")
    await redis.sadd(members, "x")
    commands = [("GET", a), ("GET", b), ("SISMEMBER", members, "x")]
    before = await reads(redis)
    answers = await read_all(client, commands)
    assert await reads(redis) - before == 2  # the pipeline, and this INFO
    assert answers == {("GET", a): "1", ("GET", b): None, ("SISMEMBER", members, "x"): 1}
    await redis.set(a, "changed by someone else")  # after the snapshot was taken
    with snapshot(answers):
        before = await reads(redis)
        assert await client.get(a) == "1"  # from the snapshot: no round trip
        assert await client.get(b) is None
        assert await client.sismember(members, "x")
        assert await reads(redis) - before == 1  # only this INFO
        assert await client.get(f"{key_prefix}:other") is None  # not prefetched: read from Redis
        assert await client.get(a) == "1"  # a read does not end the snapshot
    assert await client.get(a) == "changed by someone else"  # outside: Redis again
    assert answers == {}  # emptied at the end of the block


async def two_keys_read(
    client: aioredis.Redis, redis: aioredis.Redis, key_prefix: str
) -> tuple[str, str, dict[tuple[object, ...], object]]:
    """Two keys (a0, b0) and their answers, prefetched by ``client``."""
    a, b = f"{key_prefix}:a", f"{key_prefix}:b"
    await redis.mset({a: "a0", b: "b0"})
    return a, b, await read_all(client, [("GET", a), ("GET", b)])


@single_server
async def test_a_write_drops_the_answers_about_its_key_only(
    client: aioredis.Redis, redis: aioredis.Redis, key_prefix: str
) -> None:
    a, b, answers = await two_keys_read(client, redis, key_prefix)
    await redis.set(b, "b1")  # someone else's write: the snapshot still answers b0 (its time)
    with snapshot(answers):
        await client.set(a, "a1")
        assert await client.get(a) == "a1"  # never an answer older than our own write
        assert await client.get(b) == "b0"  # another key: still from the snapshot
        async with client.pipeline(transaction=True) as pipe:  # a MULTI/EXEC writing b
            pipe.incrby(f"{key_prefix}:counter", 1)
            pipe.set(b, "b2")
            await pipe.execute()
        assert await client.get(b) == "b2"


@single_server
async def test_a_script_or_a_many_key_command_drops_the_whole_snapshot(
    client: aioredis.Redis, redis: aioredis.Redis, key_prefix: str
) -> None:
    script = client.register_script("return redis.call('SET', ARGV[1], 'by a script')")
    a, b, answers = await two_keys_read(client, redis, key_prefix)
    with snapshot(answers):
        await script(args=[a])  # the key is built inside the script: nothing in the snapshot is trusted
        assert answers == {}
        assert await client.get(a) == "by a script"
    answers = await read_all(client, [("GET", a), ("GET", b)])
    with snapshot(answers):
        await client.delete(a, b)
        assert answers == {}
        assert await client.get(b) is None


@single_server
async def test_watching_a_key_drops_its_answers_so_a_retry_after_a_watch_error_reads_it_fresh(
    client: aioredis.Redis, redis: aioredis.Redis, key_prefix: str
) -> None:
    """An optimistic transaction (read, WATCH, compare, MULTI/EXEC) whose key someone else changed since
    the snapshot fails; the caller reads again — and must see the change, or it retries forever."""
    a, b, answers = await two_keys_read(client, redis, key_prefix)
    await redis.set(a, "a1")  # someone else, after the snapshot
    with snapshot(answers):
        expected = await client.get(a)
        assert expected == "a0"  # the snapshot's answer, from the start of the update
        async with client.pipeline(transaction=True) as pipe:
            await pipe.watch(a)
            assert await pipe.get(a) != expected  # read fresh under WATCH: the caller gives up this try
            await pipe.reset()
        assert await client.get(a) == "a1"  # its retry reads Redis, not the snapshot
        assert await client.get(b) == "b0"  # an unwatched key is still answered from the snapshot
        assert answers == {("GET", b): "b0"}


@single_server
async def test_tasks_started_inside_share_it_and_see_nothing_stale_after(
    client: aioredis.Redis, redis: aioredis.Redis, key_prefix: str
) -> None:
    a = f"{key_prefix}:a"
    await redis.set(a, "old")
    answers = await read_all(client, [("GET", a)])
    release = asyncio.Event()

    async def later() -> str | None:
        await release.wait()
        return await client.get(a)

    with snapshot(answers):
        inside = await asyncio.create_task(client.get(a))  # type: ignore[arg-type]
        task = asyncio.create_task(later())
    assert inside == "old"
    await redis.set(a, "new")
    release.set()
    assert await task == "new"  # the update is over: the task reads Redis


async def test_a_cluster_client_prefetches_nothing(redis: aioredis.Redis, key_prefix: str) -> None:
    answers = await read_all(redis, [("GET", f"{key_prefix}:a")])
    assert answers == {}  # a plain client (or a cluster's): the commands will go one by one
    if on_cluster():
        assert isinstance(redis, RedisCluster)


async def test_handled_updates_finishing_together_share_one_transaction(
    client: aioredis.Redis, redis: aioredis.Redis, keys: Keys
) -> None:
    log = UpdateLog(client, keys)
    execs_before = 0 if on_cluster() else await execs(redis)
    await asyncio.gather(*(log.mark_handled(update_id) for update_id in range(1, 51)))
    assert await redis.zcard(keys.handled_updates()) == 50
    assert all([await log.is_handled(update_id) for update_id in range(1, 51)])
    assert not await log.is_handled(51)
    if not on_cluster():  # (a cluster's INFO is per node)
        assert 1 <= await execs(redis) - execs_before <= 2  # not 50
    await log.mark_handled(51)  # alone: written at once
    assert await log.is_handled(51)


async def test_a_failed_group_commit_raises_in_every_update_it_carried(keys: Keys) -> None:
    dead = aioredis.Redis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    log = UpdateLog(dead, keys)
    results = await asyncio.gather(*(log.mark_handled(n) for n in (1, 2, 3)), return_exceptions=True)
    assert [type(r) for r in results] == [RedisConnectionError] * 3
    await dead.aclose()


async def test_a_cancelled_group_commit_fails_the_updates_queued_behind_it_too(keys: Keys) -> None:
    """The flusher cancelled mid-transaction (the loop closing) leaves no update waiting for ever."""
    connected, finished = asyncio.Event(), asyncio.Event()

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()  # accepts and never answers: the transaction stays on its way
        await finished.wait()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hanging = aioredis.Redis(port=port, protocol=2, retry=Retry(NoBackoff(), 0))
    log = UpdateLog(hanging, keys)
    first = asyncio.create_task(log.mark_handled(1))
    await asyncio.wait_for(connected.wait(), 5)
    queued = [asyncio.create_task(log.mark_handled(n)) for n in (2, 3)]  # behind the one on its way
    await asyncio.sleep(0.05)
    assert log._flusher is not None
    log._flusher.cancel()
    results = await asyncio.wait_for(asyncio.gather(first, *queued, return_exceptions=True), 5)
    assert [type(r) for r in results] == [RuntimeError] * 3
    finished.set()
    server.close()
    await hanging.aclose(close_connection_pool=True)


async def execs(redis: aioredis.Redis) -> int:
    """MULTI/EXEC blocks the server ran so far."""
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_exec", {}).get("calls", 0))
