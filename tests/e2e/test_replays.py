"""What the chaos tests found, pinned: a replayed button whose query was already answered still shows
the user where they are; a handler's message survives a failing Telegram; one chat's flood wait
holds up nobody else."""

from __future__ import annotations

import asyncio
import time

from telegram import Update

from tests.e2e.conftest import Harness


async def replay(h: Harness, update: dict[str, object]) -> None:
    """Handle an update again as the poller does after a crash that came after the handler's first
    writes (and its answer to the button) but before it was recorded as handled."""
    poller, application = h.runtime.poller, h.runtime.application
    assert poller is not None and application is not None
    parsed = Update.de_json(update, application.bot)
    assert parsed is not None
    await h.emulator.wait_for(lambda: parsed.update_id not in poller._in_flight)
    await h.redis.zrem(h.keys.handled_updates(), str(parsed.update_id))
    await poller.handle(parsed)


async def test_a_replayed_consent_continue_shows_the_menu(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await citizen.send("/start")
    await citizen.tap(_("Handle my petitions"))
    await h.emulator.wait_for(
        lambda: any(b.text.startswith("☑️") for b in citizen.last_bot_message.iter_buttons())
    )
    pressed = await citizen.tap(_("✅ Continue"))
    thanks = _("✅ Thank you. Your choices are saved.")
    await citizen.expect(thanks)
    before = len(h.emulator.bot_messages(citizen.chat_id))
    await replay(h, pressed)  # the first run died before its menu reached the citizen
    await citizen.expect(thanks)
    assert len(h.emulator.bot_messages(citizen.chat_id)) == before + 1
    # Telegram refused the second answer to the query; nothing else was refused.
    assert [r.method for r in h.emulator.rejections] == ["answerCallbackQuery"]
    h.emulator.rejections.clear()


async def test_a_replayed_consent_tick_still_shows_the_ticked_form(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await citizen.send("/start")
    form = await citizen.expect("🔒")
    button = next(b for b in form.iter_buttons() if _("Handle my petitions") in b.text)
    assert button.callback_data is not None
    pressed = h.emulator.user_presses(citizen.user, form, button.callback_data)
    # A first run answered the tap and died before editing the form (the bot has not seen it yet).
    h.emulator.callback_queries[pressed["callback_query"]["id"]]["answered"] = True
    await h.emulator.wait_for(lambda: any(b.text.startswith("☑️") for b in form.iter_buttons()))
    assert [r.method for r in h.emulator.rejections] == ["answerCallbackQuery"]
    h.emulator.rejections.clear()


async def test_a_reply_that_telegram_fails_is_sent_again(harness: Harness) -> None:
    h, _ = harness, harness.tr("en")
    citizen = h.citizen(language_code="en")
    h.emulator.inject("sendMessage", chat_id=citizen.chat_id, status=502)
    h.emulator.inject("sendMessage", chat_id=citizen.chat_id, drop=True)
    h.emulator.inject("sendMessage", chat_id=citizen.chat_id, status=500)
    await citizen.send("/start")
    await citizen.expect("🔒", timeout=10)
    assert not h.emulator.faults  # all three were met on the way


async def test_one_chats_flood_wait_does_not_hold_up_another(harness: Harness) -> None:
    h = harness
    flooded, other = h.citizen(language_code="en"), h.citizen(language_code="en")
    h.emulator.inject("sendMessage", chat_id=flooded.chat_id, status=429, retry_after=3)
    await flooded.send("/start")
    await h.emulator.wait_for(lambda: bool(h.emulator.fault_hits))
    started = time.monotonic()
    await other.send("/start")
    await other.expect("🔒", timeout=10)
    assert time.monotonic() - started < 2.0  # not after the other chat's 3 s
    await flooded.expect("🔒", timeout=10)
    await asyncio.sleep(0)
