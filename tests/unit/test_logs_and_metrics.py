"""Log context and formats; the metrics' handling of a Redis that does not answer."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot import metrics
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.logs import bind, bound, context_fields, formatter, get_logger, ticket_in
from storage.keys import Keys


def capture(as_json: bool) -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(as_json))
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return stream, handler


def test_bound_fields_reach_json_and_plain_lines_and_end_with_the_block() -> None:
    log = get_logger("tests.logs")
    stream, handler = capture(as_json=True)
    try:
        with bound(update_id=42, lane="u7", ticket=None):
            log.info("inside", ticket="HT-2026-000001")
        log.info("outside")
    finally:
        logging.getLogger("tests.logs").removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["event"] == "inside" and inside["update_id"] == 42 and inside["lane"] == "u7"
    assert inside["ticket"] == "HT-2026-000001"  # an explicit field wins over the context
    assert "update_id" not in outside and context_fields() == {}

    stream, handler = capture(as_json=False)
    try:
        with bound(update_id=43):
            log.info("plain")
    finally:
        logging.getLogger("tests.logs").removeHandler(handler)
    line = stream.getvalue()
    assert not line.startswith("{") and "plain update_id=43" in line


def test_bind_lasts_for_the_task_only() -> None:
    async def task() -> dict[str, object]:
        bind(ticket="HT-2026-000002")
        bind(lane="official:x", ticket=None)  # None removes
        return context_fields()

    assert asyncio.run(task()) == {"lane": "official:x"}
    assert context_fields() == {}


def test_ticket_in_callback_data() -> None:
    assert ticket_in("case:accept:HT-2026-000123") == "HT-2026-000123"
    assert ticket_in("consent:toggle:petitions") is None
    assert ticket_in(None) is None


def test_listen_address() -> None:
    assert metrics.parse_listen("127.0.0.1:9100") == ("127.0.0.1", 9100)
    assert metrics.parse_listen(":9100") == ("0.0.0.0", 9100)
    assert metrics.parse_listen("[::1]:9100") == ("::1", 9100)
    for good in ("", "0.0.0.0:9100", "[::]:9100", "metrics.local:80"):
        assert Settings(_env_file=None, metrics_listen=good).metrics_listen == good  # type: ignore[call-arg]
    for bad in ("9100", "host", "a b:1", "::1:9100"):
        with pytest.raises(ValidationError):
            Settings(_env_file=None, metrics_listen=bad)  # type: ignore[call-arg]


async def test_a_redis_that_does_not_answer_is_counted_and_reported_not_raised() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis = aioredis.Redis(port=port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    state = metrics.StateCollector(redis, Keys("t", "ht"), ManualClock(datetime.now(UTC)), cache_seconds=0)
    before = metrics.REDIS_ERRORS.labels("metrics")._value.get()
    try:
        await state.refresh()
    finally:
        await redis.aclose()
    assert metrics.REDIS_ERRORS.labels("metrics")._value.get() == before + 1
    text = metrics.exposition(state).decode()
    assert "tiengdan_state_read_ok 0.0" in text
    assert "tiengdan_redis_errors_total" in text
