"""Chaos: the bot SIGKILLed at random moments, Telegram failing, Redis stopped, a deadline's sender
killed mid-send — every citizen still completes their petition without repeating anything, has
their receipt, and every case card reaches its official (or the admins).

The bot runs as a real process (``python -m bot run``) against the emulator and a real Redis.
``CHAOS_CITIZENS`` (default 60) sets how many citizens go through the intake at once in the SIGKILL
test; ``CHAOS_CITIZENS=200`` is the full load (about a minute longer on two cores). ``CHAOS_SEED``
replays a run's random kill moments and faults (each test prints the seed it used).
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import redis.asyncio as aioredis

from emulator import BotApiEmulator
from storage.keys import Keys
from tests.e2e.chaos import (
    BotProcess,
    ChaosCitizen,
    check_every_petition_delivered,
    install_directory,
    make_citizens,
    run_all,
    tolerated,
    wait_until_delivered,
)

CITIZENS = int(os.environ.get("CHAOS_CITIZENS", "60"))
KILLS = 5


def seed() -> int:
    value = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1 << 30))
    print(f"CHAOS_SEED={value}")
    return value


async def test_sigkill_at_random_moments_during_concurrent_intakes(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    rng = random.Random(seed())
    keys = Keys(key_prefix, "ht")
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    bot = BotProcess(emulator, redis_url, key_prefix, tmp_path / "bot.log")
    citizens = make_citizens(emulator, CITIZENS, first_id=300_000)
    total = CITIZENS * ChaosCitizen.STEPS
    # Kill points spread over the run (by the citizens' progress), each at a random moment.
    moments = sorted(rng.uniform(0.05, 0.95) * total for _ in range(KILLS))

    def progress() -> int:
        return sum(c.steps for c in citizens)

    async def chaos() -> None:
        for moment in moments:
            await emulator.wait_for(lambda m=moment: progress() >= m, timeout=300)
            await asyncio.sleep(rng.uniform(0.0, 0.4))
            await bot.kill()
            await bot.start()

    try:
        await install_directory(redis, keys, emulator)
        await bot.start()
        await run_all(citizens, chaos())
        assert bot.kills == KILLS
        await wait_until_delivered(redis, keys)
        report = await check_every_petition_delivered(emulator, redis, keys, citizens)
        print(report)
        assert report.cards_to_officials and report.cards_to_admins  # both paths were exercised
    except BaseException:
        print(bot.tail())
        raise
    finally:
        await bot.stop()
        await redis.aclose()
    assert bot.exit_codes == [0], bot.tail()
    unexpected = [r for r in emulator.rejections if not tolerated(r.method, r.description)]
    assert not unexpected, unexpected


FAULT_CITIZENS = 20


async def test_telegram_failing_sends_500_502_dropped_and_429(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    rng = random.Random(seed())
    keys = Keys(key_prefix, "ht")
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    bot = BotProcess(emulator, redis_url, key_prefix, tmp_path / "bot.log")
    citizens = make_citizens(emulator, FAULT_CITIZENS, first_id=310_000)
    kinds = {
        "500": {"status": 500},
        "502": {"status": 502},
        "dropped": {"drop": True},  # the request never reached Telegram
        "answer lost": {"drop": True, "after": True},  # sent, but the bot cannot know
        "429": {"status": 429, "retry_after": 1},
        "429 long": {"status": 429, "retry_after": 3},
    }
    injected: dict[str, int] = dict.fromkeys(kinds, 0)
    flows_done = asyncio.Event()

    async def chaos() -> None:
        # One fault at a time, on one of the next few sendMessage calls (a reply, a prompt, a receipt,
        # a card...): a retried call may meet another, but never one after the other for ever.
        while not flows_done.is_set():
            kind = rng.choice(list(kinds))
            fault = emulator.inject("sendMessage", skip=rng.randint(2, 8), **kinds[kind])  # type: ignore[arg-type]
            try:
                await emulator.wait_for(lambda f=fault: f.exhausted or flows_done.is_set(), timeout=300)
            finally:
                emulator.clear_faults()
            injected[kind] += fault.hits

    async def flows() -> None:
        try:
            await run_all(citizens, asyncio.sleep(0))
        finally:
            flows_done.set()

    try:
        await install_directory(redis, keys, emulator)
        await bot.start()
        await asyncio.gather(flows(), chaos())
        await wait_until_delivered(redis, keys)
        report = await check_every_petition_delivered(emulator, redis, keys, citizens)
        print(report, injected)
        assert all(injected.values()), injected  # every kind of failure happened at least once
    except BaseException:
        print(bot.tail())
        raise
    finally:
        await bot.stop()
        await redis.aclose()
    assert bot.exit_codes == [0], bot.tail()
    unexpected = [r for r in emulator.rejections if not tolerated(r.method, r.description)]
    assert not unexpected, unexpected
