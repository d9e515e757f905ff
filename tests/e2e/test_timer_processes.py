"""Durable timers across processes: a bot and a timers-only process share the work, a SIGKILLed
process loses nothing, and each reminder or escalation is sent exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

from emulator import BotApiEmulator, ScriptedUser
from storage.keys import Keys
from storage.officials import OfficialRepository
from storage.outbox import OutboxRepository
from tests.conftest import client_for
from tests.e2e.conftest import TOKEN
from tests.e2e.test_deadlines import MONDAY_9H, local
from tests.e2e.test_durability import ROOT

OFFICER, CHAIR = 9101, 9102


async def spawn(
    emulator: BotApiEmulator, redis_url: str, prefix: str, clock: Path, log: Path, *, poller: bool
) -> asyncio.subprocess.Process:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "CLOCK_FILE": str(clock),
        "RUN_POLLER": "true" if poller else "false",
    }
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=out, stderr=out
        )


def starting_with(emulator: BotApiEmulator, chat: int, prefix: str) -> int:
    return sum(1 for m in emulator.bot_messages(chat) if (m.text or "").startswith(prefix))


async def test_timers_fire_once_across_processes_and_sigkill(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    clock, log = tmp_path / "now.txt", tmp_path / "bots.log"
    clock.write_text(MONDAY_9H.isoformat())
    redis = client_for(redis_url)
    keys = Keys(key_prefix, "ht")
    bot = await spawn(emulator, redis_url, key_prefix, clock, log, poller=True)
    worker = await spawn(emulator, redis_url, key_prefix, clock, log, poller=False)
    processes = [bot, worker]
    try:
        repo = OfficialRepository(redis, keys)

        async def directory_installed() -> None:
            while await repo.settings() is None:  # noqa: ASYNC110 (another process writes it)
                await asyncio.sleep(0.05)

        await asyncio.wait_for(directory_installed(), 30)
        for official_id, telegram_id in (("ts-cb", OFFICER), ("ts-ct", CHAIR)):
            official = await repo.get(official_id)
            assert official is not None
            await repo.save(official.model_copy(update={"telegram_id": telegram_id}))
            emulator.add_user(user_id=telegram_id, first_name=official_id, language_code="vi", started=True)
        citizen = ScriptedUser(
            emulator, emulator.add_user(user_id=4343, first_name="Mai", language_code="en")
        )
        await citizen.send("/start")
        await citizen.tap("Handle my petitions", timeout=30)
        await emulator.wait_for(
            lambda: any(b.text.startswith("☑️") for b in citizen.last_bot_message.iter_buttons())
        )
        await citizen.tap("✅ Continue")
        await citizen.send("/new")
        await citizen.send("Thanh Sen")
        await citizen.tap("Phường Thành Sen")
        await citizen.tap("Land")
        await citizen.tap("Report a problem")
        await citizen.send("The shared lane has been fenced off by a neighbour since last month.")
        await citizen.tap("Skip — no attachments")
        await citizen.tap_reply("🙈 Stay anonymous")
        await citizen.tap("✅ Send")
        await citizen.expect("HT-")
        await emulator.wait_for(
            lambda: starting_with(emulator, OFFICER, "📋") + starting_with(emulator, OFFICER, "📥") > 0,
            timeout=10,
        )

        clock.write_text(local(7, 17, 1).isoformat())  # the reminder, one working day before
        await emulator.wait_for(lambda: starting_with(emulator, OFFICER, "⏰") == 1, timeout=20)
        bot.send_signal(signal.SIGKILL)  # the polling bot dies; the timers-only process carries on
        await bot.wait()
        clock.write_text(local(8, 17, 1).isoformat())  # the deadline passes: escalation
        await emulator.wait_for(lambda: starting_with(emulator, CHAIR, "⬆️") == 1, timeout=20)
        bot = await spawn(emulator, redis_url, key_prefix, clock, log, poller=True)
        processes[0] = bot
        await citizen.send("/my")
        await citizen.expect("HT-", timeout=30)  # the restarted bot is up
        await asyncio.sleep(2.5)  # both processes tick at least twice more
        # An outbox lane the killed process held (it died between a send and its record) waits for its
        # lease: expire it now rather than waiting out the lease.
        held = await redis.zrange(keys.outbox_inflight(), 0, -1)
        if held:
            await redis.zadd(keys.outbox_inflight(), dict.fromkeys(held, 0))
        # The reminder and the overdue notice (at least once: the kill may repeat one, never lose one).
        await emulator.wait_for(lambda: starting_with(emulator, OFFICER, "⏰") >= 2, timeout=20)
        assert starting_with(emulator, CHAIR, "⬆️") == 1
        assert starting_with(emulator, citizen.user.id, "⬆️") == 1
        # A timer the killed process had claimed is still leased to it: expire the lease (instead of
        # waiting two minutes) and let the live processes fire it again — harmlessly.
        leased = await redis.zrange(keys.timers_inflight(), 0, -1)
        if leased:
            await redis.zadd(keys.timers_inflight(), dict.fromkeys(leased, 0))

        async def inflight_drained() -> None:
            while await redis.zcard(keys.timers_inflight()):  # noqa: ASYNC110 (other processes work)
                await asyncio.sleep(0.1)

        await asyncio.wait_for(inflight_drained(), 10)
        await asyncio.sleep(1.5)
        assert starting_with(emulator, OFFICER, "⏰") in (2, 3)
        assert starting_with(emulator, CHAIR, "⬆️") == 1
        assert not await OutboxRepository(redis, keys).pending()
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            await asyncio.wait_for(process.wait(), 20)
        await redis.aclose()
    assert all(p.returncode == 0 for p in processes), log.read_text()[-3000:]
    assert timedelta(0) < local(8, 17, 1) - MONDAY_9H
    assert not [r for r in emulator.rejections if r.method != "getUpdates"], emulator.rejections
