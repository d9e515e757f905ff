"""Fault injection: 5xx answers, dropped connections, 429s and delays, for chaos tests and benchmarks."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest
from telegram import Bot
from telegram.error import NetworkError, RetryAfter

from emulator import BotApiEmulator

TOKEN = "123456:TEST-TOKEN"


async def test_status_fails_the_next_calls_then_stops(bot: Bot, emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan", started=True)
    fault = emu.inject("sendMessage", status=500, count=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(user.id, "lost")
    await bot.send_message(user.id, "third")
    assert [m.text for m in emu.bot_messages(user.id)] == ["third"]  # a failed call did nothing
    assert fault.hits == 2 and fault.exhausted and not emu.faults
    assert [call.params["text"] for _f, call in emu.fault_hits] == ["lost", "lost"]
    assert not emu.rejections  # an injected failure is not the bot's mistake


async def test_skip_lets_calls_pass_first(bot: Bot, emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan", started=True)
    emu.inject("sendMessage", status=500, skip=2)
    await bot.send_message(user.id, "one")
    await bot.send_message(user.id, "two")
    with pytest.raises(NetworkError):
        await bot.send_message(user.id, "three")
    await bot.send_message(user.id, "four")
    assert [m.text for m in emu.bot_messages(user.id)] == ["one", "two", "four"]


async def test_502_body_and_status(emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Lan", started=True)
    emu.inject("sendmessage", status=502)  # method names are case-insensitive
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{emu.url}/bot{TOKEN}/sendMessage", json={"chat_id": 1001, "text": "x"})
    assert r.status_code == 502
    assert r.json() == {"ok": False, "error_code": 502, "description": "Bad Gateway"}


async def test_only_the_chosen_method_and_chat(bot: Bot, emu: BotApiEmulator) -> None:
    lan = emu.add_user(1001, "Lan", started=True)
    minh = emu.add_user(1002, "Minh", started=True)
    emu.inject("sendMessage", chat_id=lan.id, status=500, count=None)
    await bot.send_message(minh.id, "to Minh")
    await bot.send_chat_action(lan.id, "typing")
    for _ in range(3):
        with pytest.raises(NetworkError):
            await bot.send_message(lan.id, "to Lan")
    emu.clear_faults()
    await bot.send_message(lan.id, "to Lan")
    assert [m.text for m in emu.bot_messages(lan.id)] == ["to Lan"]
    assert [m.text for m in emu.bot_messages(minh.id)] == ["to Minh"]


async def test_any_method_spares_get_updates(bot: Bot, emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan")
    emu.inject(status=500, count=None)
    emu.user_sends_text(user, "hi")
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["hi"]
    with pytest.raises(NetworkError):
        await bot.get_me()


async def test_429_carries_retry_after(bot: Bot, emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan", started=True)
    emu.inject("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(user.id, "x")
    wait = caught.value.retry_after
    assert (wait.total_seconds() if isinstance(wait, timedelta) else wait) == 3
    await bot.send_message(user.id, "x")
    assert len(emu.bot_messages(user.id)) == 1


async def test_drop_closes_the_connection_without_doing_the_call(bot: Bot, emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan", started=True)
    emu.inject("sendMessage", drop=True)
    with pytest.raises(NetworkError):
        await bot.send_message(user.id, "dropped")
    assert emu.bot_messages(user.id) == []
    await bot.send_message(user.id, "next")  # the server itself is fine
    assert [m.text for m in emu.bot_messages(user.id)] == ["next"]


async def test_after_performs_the_call_and_loses_its_answer(bot: Bot, emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan", started=True)
    emu.inject("sendMessage", drop=True, after=True)
    with pytest.raises(NetworkError):
        await bot.send_message(user.id, "sent, answer lost")
    assert [m.text for m in emu.bot_messages(user.id)] == ["sent, answer lost"]
    emu.inject("sendMessage", status=502, after=True)
    with pytest.raises(NetworkError):
        await bot.send_message(user.id, "sent, answered 502")
    assert len(emu.bot_messages(user.id)) == 2


async def test_delay_of_one_chat_and_of_every_call(bot: Bot, emu: BotApiEmulator) -> None:
    slow = emu.add_user(1001, "Slow", started=True)
    fast = emu.add_user(1002, "Fast", started=True)
    emu.inject(chat_id=slow.id, delay=0.6, count=None)
    started = time.monotonic()
    slow_send = asyncio.ensure_future(bot.send_message(slow.id, "slow"))
    await bot.send_message(fast.id, "fast")
    assert time.monotonic() - started < 0.5  # one slow chat does not hold up another
    assert not emu.bot_messages(slow.id)  # not done before its delay
    await slow_send
    assert time.monotonic() - started >= 0.6
    emu.clear_faults()
    emu.call_delay = 0.3
    started = time.monotonic()
    await bot.send_message(fast.id, "again")
    assert time.monotonic() - started >= 0.3


async def test_a_client_that_hangs_up_during_a_delay_leaves_nothing_done(emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan", started=True)
    emu.inject("sendMessage", delay=0.5)
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(
                f"{emu.url}/bot{TOKEN}/sendMessage", json={"chat_id": 1001, "text": "x"}, timeout=0.1
            )
    await asyncio.sleep(0.6)
    assert emu.bot_messages(user.id) == []


async def test_after_with_delay_answers_late_but_did_it_at_once(bot: Bot, emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan", started=True)
    emu.inject("sendMessage", delay=0.5, after=True)
    send = asyncio.ensure_future(bot.send_message(user.id, "done early"))
    await emu.wait_for(lambda: bool(emu.bot_messages(user.id)), timeout=0.4)
    assert not send.done()
    await send


def test_a_fault_needs_an_effect(emu: BotApiEmulator) -> None:
    with pytest.raises(ValueError, match="needs"):
        emu.inject("sendMessage")
    with pytest.raises(ValueError, match="no status"):
        emu.inject("sendMessage", status=500, drop=True)
