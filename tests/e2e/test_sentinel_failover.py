"""Redis Sentinel: the master is killed in the middle of intakes; the bot follows the promoted replica and
every petition whose receipt reached its citizen is still there.

Real parts: a master, a replica and three sentinels (tests/topologies.py), the bot configured with
REDIS_SENTINEL only, citizens driving it through the Bot API emulator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.i18n import Translator
from emulator import BotApiEmulator
from storage.connection import connect
from storage.keys import Keys
from storage.models import Petition
from tests.e2e.conftest import TOKEN, Harness, start_runtime, stop_runtime
from tests.e2e.flows import new_petition, submit, this_year
from tests.topologies import LocalSentinel

pytestmark = pytest.mark.e2e


@pytest.fixture
async def sentinel(tmp_path: Path) -> AsyncIterator[LocalSentinel]:
    topology = LocalSentinel(tmp_path / "sentinel")
    await asyncio.to_thread(topology.start)
    yield topology
    await asyncio.to_thread(topology.stop)


async def test_killing_the_master_during_intake_loses_no_confirmed_petition(
    emulator: BotApiEmulator, sentinel: LocalSentinel, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_api_url=emulator.url,
        redis_sentinel=sentinel.setting,
        redis_key_prefix="ha",
        redis_wait_replicas=1,  # a receipt leaves only once the replica has the petition
        redis_socket_timeout=2,
        redis_connect_timeout=1,
    )
    clock = ManualClock(datetime.now(UTC))
    runtime, task = await start_runtime(settings, clock)
    assert runtime.redis is not None
    h = Harness(emulator, runtime, runtime.redis, Keys("ha", "ht"), settings, Translator(), clock)
    _ = h.tr("vi")
    confirmed: list[str] = []
    try:
        for _i in range(3):
            confirmed.append((await submit(h))[1])
        # Two citizens on their summary screens press Send: one just before the master dies, one just after.
        first = await new_petition(h)
        second = await new_petition(h)
        waiting = []
        for citizen in (first, second):
            await citizen.send("Thành Sen")
            await citizen.tap("Phường Thành Sen")
            await citizen.tap("Đất đai")
            await citizen.tap(_("Report a problem"))
            await citizen.send("Cống thoát nước tổ dân phố 5 bị tắc, nước tràn vào nhà dân.")
            await citizen.tap(_("⏭ Skip — no attachments"))
            await citizen.tap_reply(_("🙈 Stay anonymous"))
            waiting.append(citizen)
        old_master = sentinel.master()
        await first.tap(_("✅ Send"))
        await asyncio.to_thread(sentinel.kill_master)
        await second.tap(_("✅ Send"), timeout=30)
        for citizen in waiting:
            receipt = await citizen.expect(f"HT-{this_year()}-", timeout=60)
            ticket = next(w for w in receipt.text.replace("\n", " ").split() if w.startswith("HT-"))
            confirmed.append(ticket.strip(".,"))
        new_master = sentinel.master()
        assert new_master is not None and new_master != old_master  # the replica was promoted
        # And intake goes on. The promoted master has no replica left (the old master is dead): WAIT gives
        # up after its timeout, the receipt is sent anyway, and the lag is logged.
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="storage.outbox"):
            confirmed.append((await submit(h))[1])
        assert "redis.replication_lag replicas=0 wanted=1" in caplog.text
    finally:
        await stop_runtime(runtime, task)

    assert len(set(confirmed)) == len(confirmed) == 6
    reader = await connect(settings.redis_target(), max_connections=2)
    try:
        info = await reader.info("replication")
        assert info["role"] == "master"
        for ticket in confirmed:
            raw = await reader.get(h.keys.petition(ticket))
            assert raw is not None, f"{ticket} was confirmed to its citizen but is gone after the failover"
            assert Petition.model_validate_json(raw).id == ticket
    finally:
        await reader.aclose()
