"""Files, copy vs forward, rate limits and the ScriptedUser helper with a real PTB Application."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from emulator import BotApiEmulator, RateLimits, ScriptedUser, sample_png


async def test_photo_upload_resend_get_file_and_download(bot: Bot, emu: BotApiEmulator) -> None:
    lan = emu.add_user(1001, "Lan", started=True)
    png = sample_png(5, 7)
    first = await bot.send_photo(lan.id, png, caption="<i>ảnh</i>", parse_mode="HTML")
    assert (first.photo[-1].width, first.photo[-1].height) == (5, 7)
    assert first.caption == "ảnh" and first.caption_entities[0].type == "italic"
    again = await bot.send_photo(lan.id, first.photo[-1].file_id)
    assert again.photo[-1].file_unique_id == first.photo[-1].file_unique_id
    tg_file = await bot.get_file(first.photo[-1].file_id)
    assert tg_file.file_size == len(png)
    assert bytes(await tg_file.download_as_bytearray()) == png
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(lan.id, "AgACunknown")
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(lan.id, b"not an image")
    with pytest.raises(BadRequest, match=r"(?i)can't use file of type photo as document"):
        await bot.send_document(lan.id, first.photo[-1].file_id)


async def test_user_files_are_downloadable_and_resendable(bot: Bot, emu: BotApiEmulator) -> None:
    lan = emu.add_user(1001, "Lan")
    update = emu.user_sends_document(lan, "don.pdf", b"%PDF-1.4 petition", "application/pdf", caption="Đơn")
    document = update["message"]["document"]
    assert document["file_name"] == "don.pdf"
    data = await (await bot.get_file(document["file_id"])).download_as_bytearray()
    assert bytes(data) == b"%PDF-1.4 petition"
    group = emu.add_group(-100500, "Cán bộ")
    resent = await bot.send_document(group.id, document["file_id"], caption="Từ công dân")
    assert resent.document.file_id == document["file_id"]
    photo = emu.user_sends_photo(lan, caption="ổ gà")["message"]["photo"][-1]
    assert (await bot.send_photo(group.id, photo["file_id"])).photo[-1].file_id == photo["file_id"]


async def test_copy_hides_sender_forward_reveals_it(bot: Bot, emu: BotApiEmulator) -> None:
    lan = emu.add_user(1001, "Lan", last_name="Nguyễn", username="lan_ng")
    officials = emu.add_group(-100777, "Cán bộ")
    original = emu.user_sends_text(lan, "Đường hỏng ở thôn 3")["message"]
    copied = await bot.copy_message(officials.id, lan.id, original["message_id"])
    forwarded = await bot.forward_message(officials.id, lan.id, original["message_id"])
    copy_stored = emu.messages(officials.id)[0]
    assert copy_stored.message_id == copied.message_id
    assert copy_stored.text == "Đường hỏng ở thôn 3"
    assert "forward_origin" not in copy_stored.raw
    assert "lan_ng" not in str(copy_stored.raw) and "1001" not in str(copy_stored.raw)
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.sender_user.id == lan.id
    with pytest.raises(BadRequest, match="Message to copy not found"):
        await bot.copy_message(officials.id, lan.id, 999)


async def test_rate_limit_surfaces_as_retry_after() -> None:
    emu = BotApiEmulator(rate_limits=RateLimits(per_chat_per_second=1, global_per_second=30, retry_after=3))
    await emu.start()
    bot = Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url)
    try:
        await bot.initialize()
        lan = emu.add_user(1001, "Lan", started=True)
        binh = emu.add_user(1002, "Bình", started=True)
        await bot.send_message(lan.id, "1")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(lan.id, "2")
        retry = info.value.retry_after
        assert (retry if isinstance(retry, int) else retry.total_seconds()) == 3
        await bot.send_message(binh.id, "other chat is fine")
        assert [r.error_code for r in emu.rate_limited] == [429]
        assert emu.rejections[-1].description == "Too Many Requests: retry after 3"
    finally:
        await bot.shutdown()
        await emu.stop()


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Đồng ý", callback_data="agree:1")]])
    await context.bot.send_message(
        update.effective_chat.id, "Chào <b>bạn</b>!", parse_mode="HTML", reply_markup=keyboard
    )
    await context.bot.send_message(
        update.effective_chat.id,
        "Menu",
        reply_markup=ReplyKeyboardMarkup([[KeyboardButton("📞 Gửi số điện thoại", request_contact=True)]]),
    )


async def _agree(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Cảm ơn!")
    await query.edit_message_text("Bạn đã đồng ý.")


async def _contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.contact is not None
    await update.message.reply_text(f"Số của bạn: {update.message.contact.phone_number}")


@pytest.fixture
async def app(emu: BotApiEmulator) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    application = (
        Application.builder().token(emu.token).base_url(emu.base_url).base_file_url(emu.base_file_url).build()
    )
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(CallbackQueryHandler(_agree, pattern="^agree:"))
    application.add_handler(MessageHandler(filters.CONTACT, _contact))
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


async def test_scripted_user_with_real_application(emu: BotApiEmulator, app: Application) -> None:  # type: ignore[type-arg]
    citizen = ScriptedUser(emu, emu.add_user(1001, "Lan"))
    await citizen.send("/start")
    greeting = await citizen.expect("Chào bạn")
    assert greeting.entities == [{"type": "bold", "offset": 5, "length": 3}]
    await citizen.expect("Menu")
    await citizen.tap("Đồng")  # substring match
    await citizen.expect_alert("Cảm ơn")
    edited = await citizen.expect("đã đồng ý")
    assert edited.message_id == greeting.message_id and edited.edited and edited.reply_markup is None
    with pytest.raises(AssertionError, match="no new bot message containing 'Chào'"):
        await citizen.expect("Chào", timeout=0.3)  # stale text before the last action does not count
    await citizen.tap_reply("Gửi số")
    reply = await citizen.expect("+84912345678")
    contact = emu.messages(1001)[-2]
    assert (contact.kind, contact.raw["contact"]["user_id"], reply.message_id) == (
        "contact",
        1001,
        contact.message_id + 1,
    )
    with pytest.raises(AssertionError, match="no inline button"):
        await citizen.tap("Không có")
    assert emu.rejections == []
