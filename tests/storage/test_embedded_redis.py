"""The embedded redis-server: real, durable (appendonly), and adopted after a crash instead of doubled."""

from __future__ import annotations

import os
from pathlib import Path

import redis

from bot.embedded_redis import EmbeddedRedis


def test_data_survives_a_restart(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path / "data")
    url = first.start()
    client = redis.Redis.from_url(url, decode_responses=True)
    client.set("petition", "HT-2026-000001")
    assert client.config_get("appendonly")["appendonly"] == "yes"
    client.close()
    first.stop()
    assert not (tmp_path / "data" / "redis.pid").exists()

    second = EmbeddedRedis(tmp_path / "data")
    client = redis.Redis.from_url(second.start(), decode_responses=True)
    try:
        assert client.get("petition") == "HT-2026-000001"
    finally:
        client.close()
        second.stop()


def test_a_surviving_server_is_adopted_not_doubled(tmp_path: Path) -> None:
    crashed_bot = EmbeddedRedis(tmp_path / "data")
    url = crashed_bot.start()
    pid = int((tmp_path / "data" / "redis.pid").read_text())
    # The bot was SIGKILLed: its object is gone, the redis-server child lives on.
    restarted = EmbeddedRedis(tmp_path / "data")
    assert restarted.start() == url
    restarted.stop()
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        os.waitpid(pid, os.WNOHANG)
    else:
        raise AssertionError("the adopted redis-server was not stopped")
