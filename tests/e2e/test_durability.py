"""Nothing is lost: SIGKILL mid-draft, redelivered updates, double taps, crash between fetch and handle."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from telegram import Update

from bot.i18n import Translator
from emulator import BotApiEmulator, ScriptedUser
from storage.keys import Keys
from tests.conftest import client_for
from tests.e2e.conftest import TOKEN, Harness, make_settings, start_runtime, stop_runtime
from tests.e2e.flows import consent, ready_to_send, this_year

ROOT = Path(__file__).resolve().parents[2]


async def spawn_bot(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, log: Path
) -> asyncio.subprocess.Process:
    """``python -m bot run`` as a separate process, talking to the emulator."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": key_prefix,
    }
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=out, stderr=out
        )


async def test_sigkill_mid_draft_then_restart_continues(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    translator = Translator()
    _ = translator("vi")
    citizen = ScriptedUser(emulator, emulator.add_user(user_id=4242, first_name="Minh", language_code="vi"))
    process = await spawn_bot(emulator, redis_url, key_prefix, log)
    try:
        await citizen.send("/start")
        await citizen.expect("🔒", timeout=30)  # the first answer waits for the process to start
        await citizen.tap(_("Handle my petitions"))
        await emulator.wait_for(
            lambda: any(b.text.startswith("☑️") for b in citizen.last_bot_message.iter_buttons())
        )
        await citizen.tap(_("✅ Continue"))
        await citizen.send("/new")
        await citizen.send("Hà Huy Tập")
        await citizen.tap("Phường Hà Huy Tập")
        await citizen.tap("Điện, nước sạch")
        last = await citizen.tap(_("Report a problem"))
        await citizen.expect(_("Step {n} of {total} · {title}").format(n=4, total=6, title=_("Description")))
        # Kill it mid-draft, once that tap is fully handled (a kill mid-update is the next test's case).
        handled = Keys(key_prefix, "ht").handled_updates()
        client = client_for(redis_url)

        async def tap_handled() -> None:
            while await client.zscore(handled, str(last["update_id"])) is None:  # noqa: ASYNC110 (state of another process)
                await asyncio.sleep(0.02)

        await asyncio.wait_for(tap_handled(), 10)
        await client.aclose()
        process.send_signal(signal.SIGKILL)
        await process.wait()

        # While the bot is dead the citizen keeps typing; nothing may be lost.
        description = "Mất điện ba ngày liền ở tổ dân phố 5, chưa thấy ai đến sửa."
        await citizen.send(description)
        process = await spawn_bot(emulator, redis_url, key_prefix, log)
        await citizen.expect(_("📝 Description saved ✓"), timeout=30)
        await citizen.tap(_("⏭ Skip — no attachments"))
        await citizen.tap_reply(_("📱 Share my phone number"))
        summary = await citizen.expect(_("Please check your petition"))
        assert "Phường Hà Huy Tập" in summary.text and "Điện, nước sạch" in summary.text
        assert description in summary.text
        await citizen.tap(_("✅ Send"))
        await citizen.expect(f"HT-{this_year()}-000001")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 20)
    assert process.returncode == 0, log.read_text()[-3000:]
    assert not emulator.rejections, emulator.rejections


async def test_redelivered_update_creates_no_second_petition(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = await ready_to_send(h)
    confirm = await citizen.tap(_("✅ Send"))
    ticket = f"HT-{this_year()}-000001"
    await citizen.expect(ticket)
    await citizen.expect("🔔")  # the one-time offer to subscribe to the locality follows the receipt
    poller = h.runtime.poller
    assert poller is not None and h.runtime.application is not None
    update = Update.de_json(confirm, h.runtime.application.bot)
    assert update is not None
    await h.emulator.wait_for(lambda: update.update_id not in poller._in_flight)
    messages_before = len(h.emulator.bot_messages(citizen.chat_id))
    await poller.handle(update)  # same update_id again: skipped
    assert len(h.emulator.bot_messages(citizen.chat_id)) == messages_before
    # Even if the record of handled updates were lost, the draft's receipt prevents a second petition.
    await h.redis.delete(h.keys.handled_updates())
    await poller.handle(update)
    assert await h.redis.get(h.keys.petition_counter(this_year())) == "1"
    assert await h.redis.zcard(h.keys.petitions_by_citizen(f"tg:{citizen.user.id}")) == 1
    # Telegram refuses a second answer to the same callback query: the bot survives it.
    assert all(r.method == "answerCallbackQuery" for r in h.emulator.rejections)
    h.emulator.rejections.clear()


async def test_confirm_pressed_twice_creates_one_petition(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = await ready_to_send(h)
    summary = citizen.last_bot_message
    send = next(b for b in summary.iter_buttons() if b.text == _("✅ Send"))
    first = h.emulator.user_presses(citizen.user, summary, send.callback_data)
    second = h.emulator.user_presses(citizen.user, summary, send.callback_data)
    ticket = f"HT-{this_year()}-000001"
    await citizen.expect(ticket)
    ids = (first["callback_query"]["id"], second["callback_query"]["id"])
    await h.emulator.wait_for(lambda: all(q in h.emulator.callback_answers for q in ids))
    assert ticket in (h.emulator.callback_answers[ids[1]].get("text") or "")
    assert await h.redis.zcard(h.keys.petitions_by_citizen(f"tg:{citizen.user.id}")) == 1
    receipts = [m for m in h.emulator.bot_messages(citizen.chat_id) if m.text and ticket in m.text]
    assert len(receipts) == 1


async def test_update_fetched_but_not_handled_is_handled_after_restart(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str
) -> None:
    citizen = ScriptedUser(emulator, emulator.add_user(user_id=777, first_name="Hoa", language_code="en"))
    await citizen.send("/start")
    # A bot fetched the update and died before handling it: fetching alone confirms nothing.
    from telegram import Bot

    async with Bot(TOKEN, base_url=f"{emulator.url}/bot", base_file_url=f"{emulator.url}/file/bot") as bot:
        fetched = await bot.get_updates(offset=0, timeout=0)
    assert len(fetched) == 1 and emulator.pending_update_count == 1
    runtime, task = await start_runtime(make_settings(emulator, redis_url, key_prefix))
    try:
        await citizen.expect("Welcome to Tiếng Dân")
        await emulator.wait_for(lambda: emulator.pending_update_count == 0)
    finally:
        await stop_runtime(runtime, task)
    welcomes = [
        m for m in emulator.bot_messages(citizen.chat_id) if m.text and "Welcome to Tiếng Dân" in m.text
    ]
    assert len(welcomes) == 1
    assert not emulator.rejections


async def test_one_users_burst_is_handled_in_order_while_others_proceed(harness: Harness) -> None:
    h = harness
    fast = [h.citizen(first_name=f"U{n}", language_code="en") for n in range(20)]
    for citizen in fast:
        await citizen.send("/start")  # all queued at once: one batch, twenty lanes
    for citizen in fast:
        await citizen.expect("🔒")
    burst = h.citizen(language_code="en")
    await consent(h, burst, "en")
    await burst.send("/new")
    await burst.expect("Step 1 of 6")
    # Several messages of one user in one batch: each sees the state the previous one left.
    await burst.send("Thanh Sen")
    await burst.send("/cancel")
    await burst.send("/new")
    await burst.expect("Step 1 of 6")
    texts = [m.text or "" for m in h.emulator.bot_messages(burst.chat_id)]
    tail = texts[-3:]
    assert "Which one do you mean?" in tail[0] and "Cancelled." in tail[1] and "Step 1 of 6" in tail[2]


def test_keys_are_under_the_test_prefix() -> None:
    assert Keys("x", "ht").petition("A").startswith("x:{ht}:v1:")


async def test_a_token_revoked_while_polling_stops_the_bot_as_an_invalid_token(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str
) -> None:
    """getUpdates goes through do_api_request (the JSON is stored unparsed); once the bot is initialised,
    PTB reports a rejected token there as "endpoint not found": the poller must still stop with
    InvalidToken (which `python -m bot run` explains), not retry or die of an unknown error."""
    from telegram.error import InvalidToken

    citizen = ScriptedUser(emulator, emulator.add_user(user_id=778, first_name="Hoa", language_code="en"))
    runtime, task = await start_runtime(make_settings(emulator, redis_url, key_prefix))
    try:
        await citizen.send("/start")
        await citizen.expect("Welcome to Tiếng Dân")
        emulator.token = "123456:REVOKED-BY-BOTFATHER"
        await citizen.send("/help")  # ends the long poll in progress; the next getUpdates is refused
        try:
            await asyncio.wait_for(task, 30)
        except InvalidToken:
            pass
        else:
            raise AssertionError("the poller went on after the token was rejected")
    finally:
        emulator.token = TOKEN
        if not task.done():
            await stop_runtime(runtime, task)
        else:
            await runtime.close()
