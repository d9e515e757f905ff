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
import time
from pathlib import Path

import redis.asyncio as aioredis

from bot.embedded_redis import EmbeddedRedis, free_port
from bot.i18n import Translator
from emulator import BotApiEmulator, EmulatorEvent
from handlers.notify import NOTICE_TEXTS
from storage.keys import Keys
from storage.outbox import OutboxRepository
from tests.conftest import client_for
from tests.e2e.chaos import (
    JOINED,
    BotProcess,
    ChaosCitizen,
    check_every_petition_delivered,
    install_directory,
    make_citizens,
    run_all,
    tolerated,
    wait_until_delivered,
)
from tests.e2e.test_deadlines import MONDAY_9H, local

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
    redis = client_for(redis_url)
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
    redis = client_for(redis_url)
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


OUTAGE_CITIZENS = 12
OUTAGE_SECONDS = 10.0
PROBES = 6  # people who write for the first time while Redis is down: their very first Redis call fails
TOLD_WITHIN = 1.0  # seconds from a message sent while Redis is down to "your message is kept"
BACK_WITHIN = 5.0  # seconds from Redis answering again to the answers everyone was waiting for


async def test_redis_stopped_for_ten_seconds_mid_flow(emulator: BotApiEmulator, tmp_path: Path) -> None:
    rng = random.Random(seed())
    # A Redis of this test's own (the session's is shared), stopped and started again on its port.
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True, port=free_port())
    redis_url = await asyncio.to_thread(server.start)
    keys = Keys("outage", "ht")
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    bot = BotProcess(emulator, redis_url, "outage", tmp_path / "bot.log")
    citizens = make_citizens(emulator, OUTAGE_CITIZENS, first_id=320_000)
    probes = [
        emulator.add_user(user_id=329_000 + n, first_name=f"Probe{n}", language_code="vi" if n % 2 else "en")
        for n in range(PROBES)
    ]
    translator = Translator()
    kept = {
        lang: translator(lang)(
            "⏳ The service is having trouble saving data right now. Your message is kept and will be "
            "handled as soon as it is back — there is no need to send it again."
        )
        for lang in ("vi", "en")
    }
    arrivals: list[tuple[float, int, str]] = []  # when each bot message reached a chat

    def record(event: EmulatorEvent) -> None:
        if event.kind == "message" and event.message is not None and event.message.from_bot:
            arrivals.append((time.monotonic(), event.message.chat_id, event.message.text or ""))

    remove_listener = emulator.add_listener(record)
    outage: list[float] = []
    probed: dict[int, float] = {}

    async def chaos() -> None:
        total = OUTAGE_CITIZENS * ChaosCitizen.STEPS
        await emulator.wait_for(lambda: sum(c.steps for c in citizens) >= total * 0.3, timeout=120)
        outage.append(time.monotonic())
        await asyncio.to_thread(server.stop)  # mid-flow: updates are being handled right now
        for probe in probes:  # at random moments of the outage
            await asyncio.sleep(rng.uniform(0.2, (OUTAGE_SECONDS - TOLD_WITHIN) / PROBES))
            emulator.user_sends_text(probe, "/start")
            probed[probe.id] = time.monotonic()
        await asyncio.sleep(outage[0] + OUTAGE_SECONDS - time.monotonic())
        await asyncio.to_thread(server.start)
        outage.append(time.monotonic())

    try:
        await install_directory(redis, keys, emulator)
        await bot.start()
        await run_all(citizens, chaos())
        await wait_until_delivered(redis, keys)
        report = await check_every_petition_delivered(emulator, redis, keys, citizens)
        print(report)
    except BaseException:
        print(bot.tail())
        raise
    finally:
        remove_listener()
        await bot.stop()
        await redis.aclose()
        await asyncio.to_thread(server.stop)
    assert bot.exit_codes == [0], bot.tail()  # the process survived: recovery needed no restart
    down, up = outage

    def shown(chat: int) -> list[tuple[float, str]]:
        return [(t, text) for t, to, text in arrivals if to == chat]

    # Whoever wrote while Redis was down was told at once, in their language, once; then answered.
    for probe in probes:
        notice = kept[probe.language_code or "vi"]
        messages = shown(probe.id)
        notices = [t for t, text in messages if text == notice]
        assert len(notices) == 1, (probe.id, messages)
        assert notices[0] - probed[probe.id] <= TOLD_WITHIN, (probe.id, notices[0] - probed[probe.id])
        welcome = [t for t, text in messages if text.startswith("🔒")]
        assert welcome and up < welcome[0] <= up + BACK_WITHIN, (probe.id, up, messages)
    # The citizens in the middle of their petitions: told at most once per message, then answered soon
    # after Redis came back (their flows completed above, with nothing sent twice).
    waited = 0
    for citizen in citizens:
        notice = kept[citizen._.lang]
        messages = shown(citizen.chat)
        notices = [t for t, text in messages if text == notice]
        pending = [a for a in citizen.acted_at if down - 5 <= a <= up]
        assert len(notices) <= len(pending), (citizen.number, messages)
        if notices:
            waited += 1
            answer = next(t for t, text in messages if t > up and text != notice)
            assert answer <= up + BACK_WITHIN, (citizen.number, answer - up)
    assert waited, "nobody was in the middle of something when Redis stopped"
    unexpected = [r for r in emulator.rejections if not tolerated(r.method, r.description)]
    assert not unexpected, unexpected


async def test_deadline_notices_survive_a_kill_between_the_write_and_the_send(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    """The timer's write records its notices (outbox) with the petition's change; the process dies
    with a notice on its way to Telegram. Not yet at Telegram: sent once by the next process, after
    the dead sender's lease (15 s, waited out here). Done by Telegram but the answer lost: the one
    message in flight may go twice — the documented duplicate window — never zero times."""
    keys = Keys(key_prefix, "ht")
    redis = client_for(redis_url)
    clock = tmp_path / "now.txt"
    clock.write_text(MONDAY_9H.isoformat())
    bot = BotProcess(emulator, redis_url, key_prefix, tmp_path / "bot.log", CLOCK_FILE=str(clock))
    officer, chair = JOINED["ts-cb"], JOINED["ts-ct"]
    (citizen,) = make_citizens(emulator, 1, first_id=330_000)  # Phường Thành Sen: ts-cb's
    vi = Translator()("vi")  # the officials' language

    def count(chat: int, notice: str) -> int:
        _ = citizen._ if chat == citizen.chat else vi
        start = _(NOTICE_TEXTS[notice]).split("{")[0]
        return sum(
            1
            for m in emulator.bot_messages(chat)
            if (m.text or "").startswith(start) and citizen.ticket and citizen.ticket in (m.text or "")
        )

    try:
        await install_directory(redis, keys, emulator)
        await bot.start()
        await run_all([citizen], asyncio.sleep(0))
        await wait_until_delivered(redis, keys)

        # 1. The reminder's send hangs on its way to Telegram; the process is killed meanwhile.
        on_its_way = emulator.inject("sendMessage", chat_id=officer, delay=120)
        clock.write_text(local(7, 17, 1).isoformat())  # one working day before the deadline
        await emulator.wait_for(lambda: on_its_way.hits == 1, timeout=20)
        assert [e.kind for e in await OutboxRepository(redis, keys).pending()] == ["reminder"]
        await bot.kill(expire_leases=False)
        assert count(officer, "reminder") == 0
        await bot.start()  # waits out the dead sender's outbox lease, as a real restart would
        await emulator.wait_for(lambda: count(officer, "reminder") == 1, timeout=40)
        await wait_until_delivered(redis, keys)

        # 2. The overdue notice reaches Telegram, the answer does not reach the process, which dies.
        answer_lost = emulator.inject("sendMessage", chat_id=officer, delay=120, after=True)
        clock.write_text(local(8, 17, 1).isoformat())  # the deadline passed: overdue and escalation
        await emulator.wait_for(lambda: count(officer, "overdue") == 1, timeout=20)
        await bot.kill()
        await bot.start()
        await wait_until_delivered(redis, keys)
        assert answer_lost.hits == 1
        assert count(officer, "overdue") == 2  # the one message in flight, sent again
        assert count(chair, "escalated_to_you") in (1, 2)  # other lanes: at least once, at most the one
        assert count(citizen.chat, "escalated") in (1, 2)  # message each had in flight at the kill
        assert count(officer, "reminder") == 1  # nothing earlier is repeated
        await asyncio.sleep(1.5)  # the timer worker ticks again: a timer fires once
        assert count(officer, "overdue") == 2
    except BaseException:
        print(bot.tail())
        raise
    finally:
        await bot.stop()
        await redis.aclose()
    assert bot.exit_codes == [0], bot.tail()
    unexpected = [r for r in emulator.rejections if not tolerated(r.method, r.description)]
    assert not unexpected, unexpected
