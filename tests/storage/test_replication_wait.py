"""REDIS_WAIT_REPLICAS: the outbox hands out nothing to send before a replica has what was written before.

A real master and replica (tests/topologies.py). The replica is frozen (SIGSTOP) so that it acknowledges
nothing: the claim waits; it is thawed and the claim returns, the replica already holding the petition the
message is about. With no replica able to answer, the claim gives up after the timeout and says so.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from storage.connection import RedisTarget, connect
from storage.keys import Keys
from storage.outbox import OutboxEntry, OutboxRepository
from tests.topologies import Servers, wait_replica_synced


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Servers, int, int]]:
    servers = Servers(tmp_path)
    master = await asyncio.to_thread(servers.spawn, "master", "--repl-diskless-sync-delay", "0")
    replica = await asyncio.to_thread(servers.spawn, "replica", "--replicaof", "127.0.0.1", str(master))
    await asyncio.to_thread(wait_replica_synced, replica)
    yield servers, master, replica
    if replica in servers.processes:
        servers.processes[replica].send_signal(signal.SIGCONT)
    await asyncio.to_thread(servers.stop)


async def test_the_claim_waits_for_the_replica_then_the_replica_has_the_petition(
    pair: tuple[Servers, int, int], caplog: pytest.LogCaptureFixture
) -> None:
    servers, master, replica_port = pair
    client = await connect(
        RedisTarget(url=f"redis://127.0.0.1:{master}/0", wait_replicas=1, wait_timeout_ms=60_000),
        max_connections=4,
    )
    replica = aioredis.Redis(port=replica_port, decode_responses=True)
    keys = Keys("wait", "ht")
    outbox = OutboxRepository(client, keys)
    try:
        servers.processes[replica_port].send_signal(signal.SIGSTOP)
        await client.set(keys.petition("HT-2026-000001"), "{}")  # what the receipt will confirm
        await outbox.enqueue([OutboxEntry(kind="receipt", lane="tg:1", ticket="HT-2026-000001")])
        claim = asyncio.create_task(outbox.claim())
        await asyncio.sleep(0.5)
        assert not claim.done()  # nothing to send while the replica has not acknowledged
        servers.processes[replica_port].send_signal(signal.SIGCONT)
        claimed = await asyncio.wait_for(claim, 60)
        assert [entry.ticket for _lane, entries in claimed for entry in entries] == ["HT-2026-000001"]
        assert await replica.get(keys.petition("HT-2026-000001")) == "{}"
        assert "replication_lag" not in caplog.text
    finally:
        await replica.aclose()
        await client.aclose()


async def test_without_a_replica_the_claim_gives_up_after_the_timeout(
    pair: tuple[Servers, int, int], caplog: pytest.LogCaptureFixture
) -> None:
    servers, master, replica_port = pair
    client = await connect(
        RedisTarget(url=f"redis://127.0.0.1:{master}/0", wait_replicas=1, wait_timeout_ms=200),
        max_connections=4,
    )
    outbox = OutboxRepository(client, Keys("wait", "ht"))
    try:
        assert await outbox.claim() == []  # nothing to send: no WAIT at all
        servers.kill(replica_port)
        await outbox.enqueue([OutboxEntry(kind="receipt", lane="tg:2", ticket="HT-2026-000002")])
        with caplog.at_level(logging.WARNING, logger="storage.outbox"):
            claimed = await outbox.claim()
        assert [entry.ticket for _lane, entries in claimed for entry in entries] == ["HT-2026-000002"]
        assert "redis.replication_lag replicas=0 wanted=1" in caplog.text
    finally:
        await client.aclose()
