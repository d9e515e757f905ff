"""Observability end to end: the Prometheus endpoint of a real bot process, per-process health
(``python -m bot health``), and JSON log lines carrying the update being handled."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from bot import cli
from bot.domain.clock import ManualClock
from bot.i18n import Translator
from bot.logs import formatter
from emulator import BotApiEmulator
from storage.keys import Keys
from storage.timers import Timer, TimerRepository
from tests.e2e.conftest import Harness, Staff, make_settings, start_runtime, stop_runtime
from tests.e2e.flows import consent, submit

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def harness(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, redis: aioredis.Redis
) -> AsyncIterator[Harness]:
    """The real bot with its metrics endpoint on a free port, a name, and a small stall threshold."""
    settings = make_settings(
        emulator,
        redis_url,
        key_prefix,
        metrics_listen="127.0.0.1:0",
        metrics_cache_seconds=0,
        process_name=f"obs-{key_prefix}",
        health_stall_seconds=4,
    )
    runtime, task = await start_runtime(settings, ManualClock(datetime.now(UTC)))
    assert runtime.clock is not None
    yield Harness(emulator, runtime, redis, Keys(key_prefix, "ht"), settings, Translator(), runtime.clock)  # type: ignore[arg-type]
    await stop_runtime(runtime, task)
    assert not emulator.rejections, f"the emulator rejected calls: {emulator.rejections}"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the bot logs at INFO, formatted as ``LOG_FORMAT=json`` formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(as_json=True))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


async def scrape(h: Harness) -> Samples:
    """Every sample the endpoint serves now, by name and labels."""
    server = h.runtime.metrics_server
    assert server is not None and server.port
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}/metrics") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: Samples, metric: str, **labels: str) -> float:
    """The sum of ``metric``'s samples whose labels include ``labels``."""
    return sum(
        value
        for (sample, found), value in samples.items()
        if sample == metric and set(labels.items()) <= set(found)
    )


async def scrape_until(h: Harness, check: object, timeout: float = 10.0) -> Samples:  # noqa: ASYNC109
    """Scrape until ``check(samples)`` holds (the outbox works in the background)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        samples = await scrape(h)
        if check(samples):  # type: ignore[operator]
            return samples
        assert asyncio.get_running_loop().time() < deadline, "the metrics never showed it"
        await asyncio.sleep(0.1)


async def test_metrics_follow_a_petition_a_blocked_recipient_and_a_429(
    harness: Harness, staff: Staff, json_lines: io.StringIO
) -> None:
    h = harness
    before = await scrape(h)
    assert total(before, "tiengdan_petitions") == 0
    assert total(before, "tiengdan_outbox_backlog") == 0
    assert total(before, "tiengdan_state_read_ok") == 1
    assert total(before, "tiengdan_process", name=h.settings.process_name or "") == 1

    # The officer's chat fails (502) until told otherwise: the case card waits in the outbox.
    officer = staff["ts-cb"].chat_id
    blocked = h.emulator.inject(None, chat_id=officer, status=502, count=None)
    citizen, ticket = await submit(h)
    retries = total(before, "tiengdan_outbox_retries_total")
    after = await scrape_until(
        h,
        lambda s: (
            total(s, "tiengdan_outbox_backlog") >= 1 and total(s, "tiengdan_outbox_retries_total") > retries
        ),
    )
    assert total(after, "tiengdan_petitions") == 1
    assert sum(v for (n, lbl), v in after.items() if n == "tiengdan_petitions" and v) == 1
    assert total(after, "tiengdan_outbox_lanes") >= 1
    assert total(after, "tiengdan_outbox_oldest_age_seconds") > 0
    assert total(after, "tiengdan_timers_scheduled") >= 1  # the petition's deadline
    for kind in ("message", "callback_query"):
        handled = total(after, "tiengdan_updates_handled_total", kind=kind, outcome="ok")
        assert handled > total(before, "tiengdan_updates_handled_total", kind=kind, outcome="ok")
        timed = total(after, "tiengdan_update_handling_seconds_count", kind=kind)
        assert timed > total(before, "tiengdan_update_handling_seconds_count", kind=kind)
    assert blocked.hits >= 1

    # The officer's chat works again: the backlog drains (the outbox retries after its backoff).
    h.emulator.clear_faults()
    drained = await scrape_until(h, lambda s: total(s, "tiengdan_outbox_backlog") == 0)
    assert total(drained, "tiengdan_outbox_oldest_age_seconds") == 0
    assert total(drained, "tiengdan_outbox_finished_total", outcome="delivered") > total(
        before, "tiengdan_outbox_finished_total", outcome="delivered"
    )

    # A 429 on a handler's reply: waited out and retried by the limiter, and counted.
    flood = h.emulator.inject("sendMessage", chat_id=citizen.chat_id, status=429, retry_after=1)
    await citizen.send("/help")
    await citizen.expect("")
    assert flood.hits == 1
    counted = await scrape(h)
    assert total(counted, "tiengdan_telegram_429_total") == total(before, "tiengdan_telegram_429_total") + 1

    # Loops of this process, all recent.
    ages = {lbl: v for (n, lbl), v in counted.items() if n == "tiengdan_loop_seconds_since_progress"}
    assert {dict(lbl)["loop"] for lbl in ages} == {"poller", "outbox", "timers", "broadcaster"}

    # JSON log lines: the update being handled, its user's lane; the outbox's with the ticket.
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines() if line.startswith("{")]
    submitted = [line for line in lines if line["event"] == "petition.submitted"]
    assert submitted and isinstance(submitted[0]["update_id"], int), submitted
    assert submitted[0]["lane"] == f"u{citizen.user.id}" and submitted[0]["ticket"] == ticket
    delivered = [
        line for line in lines if line["event"] == "outbox.delivered" and line.get("ticket") == ticket
    ]
    assert delivered and all("lane" in line for line in delivered), delivered
    # The officer's card went out later, from the sender's loop: no update in its context.
    late = [line for line in delivered if line["lane"] == "official:ts-cb"]
    assert late and "update_id" not in late[-1], delivered


def health(monkeypatch: pytest.MonkeyPatch, h: Harness, *args: str) -> int:
    """``python -m bot health ARGS`` against the test's Redis and key prefix (run in a thread)."""
    monkeypatch.setenv("REDIS_URL", str(h.settings.redis_url))
    monkeypatch.setenv("REDIS_KEY_PREFIX", h.settings.redis_key_prefix)
    monkeypatch.setenv("HEALTH_STALL_SECONDS", str(h.settings.health_stall_seconds))
    monkeypatch.delenv("PROCESS_NAME", raising=False)
    return cli.main(["health", *args])


async def test_health_fails_for_a_process_whose_loop_stalled(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    h = harness
    name = h.settings.process_name or ""
    await consent(h, h.citizen(), "vi")  # the bot is working
    assert h.runtime.heartbeat is not None
    await h.runtime.heartbeat.write()
    assert await asyncio.to_thread(health, monkeypatch, h, "--process", name) == 0
    assert f"{name} (all): healthy" in capsys.readouterr().out
    assert await asyncio.to_thread(health, monkeypatch, h, "--all") == 0
    assert await asyncio.to_thread(health, monkeypatch, h, "--process", "nobody") == 1
    # Without a name: as before, someone polled lately (this host has no <hostname>:<pid> process here).
    assert await asyncio.to_thread(health, monkeypatch, h) == 0
    assert "healthy: last poll" in capsys.readouterr().out

    # The timer loop stops turning (the other loops go on): after the 4 s threshold, unhealthy.
    assert h.runtime.timer_worker is not None
    h.runtime.timer_worker.stop()
    for _attempt in range(100):
        await h.runtime.heartbeat.write()
        capsys.readouterr()
        if await asyncio.to_thread(health, monkeypatch, h, "--process", name) != 0:
            break
        await asyncio.sleep(0.2)
    out = capsys.readouterr()
    assert re.search(r"unhealthy: .*timers [\d.]+s STALLED", out.out), out
    assert re.search(r"outbox [\d.]+s,", out.out), out  # the outbox loop still turns
    assert "a loop is stalled" in out.err

    # The process's own endpoint says so too; `health --all` fails.
    server = h.runtime.metrics_server
    assert server is not None
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}/healthz") as response,
    ):
        assert response.status == 503
        assert (await response.json())["stalled"] == ["timers"]
    assert await asyncio.to_thread(health, monkeypatch, h, "--all") == 1

    # With no timer worker, a timer that came due two minutes ago is due and overdue.
    late = Timer("remind", "HT-2026-999999")
    await TimerRepository(h.redis, h.keys).schedule([(late, h.clock.now() - timedelta(minutes=2))])
    soon = Timer("remind", "HT-2026-999998")
    await TimerRepository(h.redis, h.keys).schedule([(soon, h.clock.now() + timedelta(hours=1))])
    samples = await scrape(h)
    assert total(samples, "tiengdan_timers_due") == 1
    assert total(samples, "tiengdan_timers_overdue") == 1
    assert total(samples, "tiengdan_timers_scheduled") == 2

    # A clean stop takes the heartbeat away: the process is no longer healthy.
    await h.runtime.heartbeat.repo.remove(name)
    assert await asyncio.to_thread(health, monkeypatch, h, "--process", name) == 1
