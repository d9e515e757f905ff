"""Opening the Redis connection: one blocking pool sized to the bot's concurrency."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError


class StorageUnavailable(Exception):
    """Redis could not be reached or answered with an error."""


async def connect(url: str, *, max_connections: int = 64, wait_seconds: float = 10.0) -> aioredis.Redis:
    """Connect to ``url`` and check it answers; raise StorageUnavailable with a one-line reason."""
    # The default pool raises MaxConnectionsError past its size; a blocking pool makes callers wait.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=wait_seconds,
        decode_responses=True,
        socket_connect_timeout=5,
        health_check_interval=30,
    )
    client = aioredis.Redis(connection_pool=pool)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise StorageUnavailable(f"cannot reach Redis at {redact(url)}: {exc}") from exc
    return client


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
