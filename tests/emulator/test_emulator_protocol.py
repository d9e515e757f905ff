"""Protocol-level behaviour of the emulator: auth, routing, param parsing, getUpdates semantics."""

from __future__ import annotations

import asyncio
import json

import httpx
from telegram import Bot

from emulator import BotApiEmulator

TOKEN = "123456:TEST-TOKEN"


async def test_get_me_through_ptb(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot is True
    assert me.username == "tiengdan_test_bot"
    assert me.first_name == "Tiếng Dân (test)"


async def test_wrong_token_unknown_method_and_case_insensitive_names(emu: BotApiEmulator) -> None:
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{emu.url}/bot999:WRONG/getMe")
        assert r.status_code == 401
        assert r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        r = await http.post(f"{emu.url}/bot{TOKEN}/sendMassage", json={"chat_id": 1, "text": "x"})
        assert r.status_code == 404
        assert r.json()["description"] == "Not Found"
        r = await http.get(f"{emu.url}/bot{TOKEN}/GETME")
        assert r.json()["ok"] is True
        assert r.json()["result"]["username"] == "tiengdan_test_bot"


async def test_params_from_query_json_form_and_multipart(emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan", started=True)
    async with httpx.AsyncClient() as http:
        base = f"{emu.url}/bot{TOKEN}/sendMessage"
        r1 = await http.get(base, params={"chat_id": user.id, "text": "query"})
        r2 = await http.post(base, json={"chat_id": user.id, "text": "json"})
        r3 = await http.post(base, data={"chat_id": str(user.id), "text": "form"})
        r4 = await http.post(
            base, data={"chat_id": str(user.id), "text": "multi"}, files={"x": ("a.txt", b"1")}
        )
    assert [r.json()["result"]["text"] for r in (r1, r2, r3, r4)] == ["query", "json", "form", "multi"]
    assert [m.message_id for m in emu.bot_messages(user.id)] == [1, 2, 3, 4]


async def test_missing_and_mistyped_params_are_rejected(emu: BotApiEmulator) -> None:
    emu.add_user(1001, "Lan", started=True)
    async with httpx.AsyncClient() as http:
        base = f"{emu.url}/bot{TOKEN}"
        r = await http.post(f"{base}/sendMessage", json={"text": "hi"})
        assert (r.status_code, r.json()["description"]) == (400, "Bad Request: chat_id is empty")
        r = await http.post(f"{base}/sendMessage", json={"chat_id": 1001})
        assert r.json()["description"] == "Bad Request: message text is empty"
        r = await http.post(f"{base}/sendMessage", json={"chat_id": 1001, "text": "   "})
        assert r.json()["description"] == "Bad Request: message text is empty"
        r = await http.post(
            f"{base}/sendMessage", json={"chat_id": 1001, "text": "x", "disable_notification": "maybe"}
        )
        assert r.status_code == 400 and "Boolean" in r.json()["description"]
        r = await http.post(f"{base}/deleteMessage", json={"chat_id": 1001, "message_id": "abc"})
        assert r.status_code == 400 and "Integer" in r.json()["description"]
        r = await http.post(
            f"{base}/sendMessage", data={"chat_id": "1001", "text": "x", "reply_markup": "{bad"}
        )
        assert r.json()["description"] == "Bad Request: can't parse reply keyboard markup JSON object"
        # unknown parameters are ignored, as Telegram does
        r = await http.post(f"{base}/sendMessage", json={"chat_id": 1001, "text": "ok", "foo": 1})
        assert r.json()["ok"] is True
    assert [r.description for r in emu.rejections][:2] == [
        "Bad Request: chat_id is empty",
        "Bad Request: message text is empty",
    ]


async def test_chat_not_found_until_user_writes(bot: Bot, emu: BotApiEmulator) -> None:
    import pytest
    from telegram.error import BadRequest

    user = emu.add_user(1001, "Lan")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(user.id, "hello")
    emu.user_sends_text(user, "/start")
    msg = await bot.send_message(user.id, "hello")
    assert msg.chat.id == user.id and msg.text == "hello"


async def test_get_updates_offset_confirms_and_drops(bot: Bot, emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan", last_name="Nguyễn", username="lan_ng")
    first = emu.user_sends_text(user, "/start")
    second = emu.user_sends_text(user, "xin chào")
    assert second["update_id"] == first["update_id"] + 1
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates] == ["/start", "xin chào"]
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[0].message.from_user.username == "lan_ng"
    # not confirmed yet: delivered again
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [u.update_id for u in updates]
    # confirming the first one drops it for good
    rest = await bot.get_updates(offset=first["update_id"] + 1, timeout=0)
    assert [u.message.text for u in rest] == ["xin chào"]
    assert emu.pending_update_count == 1
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=0) == ()
    assert emu.pending_update_count == 0
    assert emu.confirmed_offset == second["update_id"] + 1
    # limit
    for i in range(3):
        emu.user_sends_text(user, f"m{i}")
    assert [u.message.text for u in await bot.get_updates(limit=2, timeout=0)] == ["m0", "m1"]


async def test_get_updates_long_poll_waits_and_wakes(bot: Bot, emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan")
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await bot.get_updates(timeout=1, read_timeout=5) == ()
    assert loop.time() - start >= 0.9

    async def later() -> None:
        await asyncio.sleep(0.2)
        emu.user_sends_text(user, "wake up")

    task = asyncio.create_task(later())
    start = loop.time()
    updates = await bot.get_updates(timeout=10, read_timeout=15)
    await task
    assert loop.time() - start < 2
    assert [u.message.text for u in updates] == ["wake up"]


async def test_allowed_updates_filter(bot: Bot, emu: BotApiEmulator) -> None:
    user = emu.add_user(1001, "Lan")
    emu.user_sends_text(user, "/start")
    sent = await bot.send_message(user.id, "menu", reply_markup=_inline("OK", "ok"))
    emu.user_presses(user, sent.message_id, "ok")
    updates = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in updates] == ["ok"]
    emu.user_sends_text(user, "ignored")
    assert emu.dropped_updates[-1]["message"]["text"] == "ignored"


async def test_unimplemented_method_is_validated_and_recorded(emu: BotApiEmulator) -> None:
    async with httpx.AsyncClient() as http:
        base = f"{emu.url}/bot{TOKEN}"
        r = await http.post(f"{base}/setChatTitle", json={"chat_id": -100})
        assert r.json()["description"] == "Bad Request: title is empty"
        r = await http.post(f"{base}/setChatTitle", json={"chat_id": -100, "title": "T"})
        assert r.json() == {"ok": True, "result": True}
    assert [c.method for c in emu.unimplemented_calls] == ["setChatTitle"]
    assert json.dumps(emu.calls[-1].params) == '{"chat_id": -100, "title": "T"}'


def _inline(text: str, data: str):  # type: ignore[no-untyped-def]
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data)]])
