"""Sending, formatting limits, keyboards, edits and callback answers, driven through real PTB calls."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from emulator import BotApiEmulator, EmulatedUser


@pytest.fixture
def lan(emu: BotApiEmulator) -> EmulatedUser:
    return emu.add_user(1001, "Lan", last_name="Nguyễn", username="lan_ng", started=True)


async def test_send_html_stores_plain_text_and_entities(
    bot: Bot, emu: BotApiEmulator, lan: EmulatedUser
) -> None:
    html = '<b>Kiến nghị</b> số <code>42</code> &amp; <a href="https://example.org/p/42">chi tiết</a> &lt;3'
    sent = await bot.send_message(lan.id, html, parse_mode=ParseMode.HTML)
    assert sent.text == "Kiến nghị số 42 & chi tiết <3"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 9),
        ("code", 13, 2),
        ("text_link", 18, 8),
    ]
    assert sent.entities[2].url == "https://example.org/p/42"
    stored = emu.bot_messages(lan.id)[-1]
    assert stored.raw_text == html
    assert stored.text == sent.text
    assert stored.parse_mode == "HTML"


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_bad_html_is_rejected(
    bot: Bot, emu: BotApiEmulator, lan: EmulatedUser, html: str, error: str
) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities") as info:
        await bot.send_message(lan.id, html, parse_mode=ParseMode.HTML)
    assert info.value.message.startswith("Can't parse entities")
    assert emu.rejections[-1].description == f"Bad Request: can't parse entities: {error}"
    assert emu.bot_messages(lan.id) == []


async def test_lenient_html_cases(bot: Bot, lan: EmulatedUser) -> None:
    sent = await bot.send_message(lan.id, "Tom & Jerry &nbsp; &#9731; &#x1F600;", parse_mode=ParseMode.HTML)
    assert sent.text == "Tom & Jerry &nbsp; ☃ 😀"
    spoiler = await bot.send_message(
        lan.id, '<tg-spoiler>a</tg-spoiler><span class="tg-spoiler">b</span><pre><code class="language-py">x</code></pre>',
        parse_mode=ParseMode.HTML,
    )  # fmt: skip
    assert [(e.type, e.language) for e in spoiler.entities] == [
        ("spoiler", None),
        ("spoiler", None),
        ("pre", "py"),
    ]


async def test_text_length_limits_in_utf16(bot: Bot, emu: BotApiEmulator, lan: EmulatedUser) -> None:
    assert (await bot.send_message(lan.id, "a" * 4096)).text == "a" * 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(lan.id, "a" * 4097)
    # an emoji outside the BMP counts as two UTF-16 code units
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(lan.id, "😀" * 2049)
    await bot.send_message(lan.id, "😀" * 2048)
    # markup does not count towards the limit, only the text after parsing
    await bot.send_message(lan.id, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    assert emu.rejections[-1].description == "Bad Request: message is too long"


async def test_caption_limit(bot: Bot, emu: BotApiEmulator, lan: EmulatedUser) -> None:
    photo = emu.create_file("photo", __import__("emulator").sample_png()).file_id
    await bot.send_photo(lan.id, photo, caption="c" * 1024)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(lan.id, photo, caption="c" * 1025)


async def test_callback_data_is_limited_to_64_bytes(bot: Bot, emu: BotApiEmulator, lan: EmulatedUser) -> None:
    ok_data = "ệ" * 21 + "a"  # 21 × 3 bytes + 1 = 64 bytes
    assert len(ok_data.encode()) == 64
    await bot.send_message(
        lan.id, "ok", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data=ok_data)]])
    )
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(
            lan.id,
            "too long",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("B", callback_data="x" * 65)]]),
        )
    assert emu.rejections[-1].description == "Bad Request: BUTTON_DATA_INVALID"


async def test_keyboard_structure_checks(bot: Bot, emu: BotApiEmulator, lan: EmulatedUser) -> None:
    import httpx

    base = f"{emu.url}/bot{emu.token}/sendMessage"
    cases = [
        ({"inline_keyboard": [[{"text": "no action"}]]}, "Text buttons are unallowed in the inline keyboard"),
        (
            {"inline_keyboard": [[{"text": "two", "url": "https://a.vn", "callback_data": "x"}]]},
            "only one of",
        ),
        ({"inline_keyboard": [[{"text": "bad url", "url": "javascript:alert(1)"}]]}, "BUTTON_URL_INVALID"),
        (
            {"inline_keyboard": [[{"text": f"b{i}", "callback_data": str(i)} for i in range(101)]]},
            "BUTTONS_TOO_MUCH",
        ),
        ({"keyboard": [[{"text": ""}]]}, "keyboard button text must be non-empty"),
        ({"remove_keyboard": False}, "must be equal to True"),
    ]
    async with httpx.AsyncClient() as http:
        for markup, error in cases:
            r = await http.post(base, json={"chat_id": lan.id, "text": "t", "reply_markup": markup})
            assert r.status_code == 400, markup
            assert error in r.json()["description"], (markup, r.json())
    reply = ReplyKeyboardMarkup(
        [[KeyboardButton("📝 Kiến nghị mới")], [KeyboardButton("📞 Gửi số", request_contact=True)]]
    )
    await bot.send_message(lan.id, "menu", reply_markup=reply)
    assert emu.reply_keyboard(lan.id) == [
        [{"text": "📝 Kiến nghị mới"}],
        [{"text": "📞 Gửi số", "request_contact": True}],
    ]
    assert "reply_markup" not in emu.bot_messages(lan.id)[-1].raw  # reply keyboards are not echoed back


async def test_edit_semantics(bot: Bot, emu: BotApiEmulator, lan: EmulatedUser) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Đồng ý", callback_data="yes")]])
    sent = await bot.send_message(lan.id, "<b>Bước 1</b>", parse_mode=ParseMode.HTML, reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>Bước 1</b>", lan.id, sent.message_id, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    edited = await bot.edit_message_text("Bước 2", lan.id, sent.message_id, reply_markup=markup)
    assert edited.text == "Bước 2" and edited.edit_date is not None
    # editing without reply_markup removes the inline keyboard, as in Telegram
    await bot.edit_message_text("Bước 3", lan.id, sent.message_id)
    stored = emu.messages(lan.id)[-1]
    assert (stored.text, stored.reply_markup, stored.edited, stored.edit_count) == ("Bước 3", None, True, 2)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", lan.id, 999)
    emu.user_sends_text(lan, "tin của tôi")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", lan.id, emu.messages(lan.id)[-1].message_id)
    await bot.edit_message_reply_markup(lan.id, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(lan.id, sent.message_id, reply_markup=markup)
    assert await bot.delete_message(lan.id, sent.message_id) is True
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(lan.id, sent.message_id)
    assert [m.message_id for m in emu.messages(lan.id)] == [2]
    assert emu.messages(lan.id, include_deleted=True)[0].deleted is True


async def test_answer_callback_query_once(bot: Bot, emu: BotApiEmulator, lan: EmulatedUser) -> None:
    sent = await bot.send_message(
        lan.id, "Q", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="y")]])
    )
    update = emu.user_presses(lan, sent.message_id, "y")
    query = update["callback_query"]
    assert query["message"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "y"
    assert query["from"]["id"] == lan.id
    assert await bot.answer_callback_query(query["id"], text="Đã ghi nhận", show_alert=True)
    assert emu.callback_answers[query["id"]]["text"] == "Đã ghi nhận"
    assert emu.callback_answers[query["id"]]["show_alert"] is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query["id"])
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")
    second = emu.user_presses(lan, sent.message_id, "y")["callback_query"]["id"]
    with pytest.raises(BadRequest, match="Message_too_long"):
        await bot.answer_callback_query(second, text="x" * 201)
    with pytest.raises(ValueError, match="no button"):
        emu.user_presses(lan, sent.message_id, "forged")


async def test_commands_per_scope_and_language(bot: Bot, emu: BotApiEmulator, lan: EmulatedUser) -> None:
    await bot.set_my_commands(
        [BotCommand("start", "Bắt đầu"), BotCommand("help", "Trợ giúp")], language_code="vi"
    )
    await bot.set_my_commands([BotCommand("admin", "Admin panel")], scope=BotCommandScopeChat(lan.id))
    assert emu.commands(language_code="vi") == [
        {"command": "start", "description": "Bắt đầu"},
        {"command": "help", "description": "Trợ giúp"},
    ]
    assert emu.commands("chat", chat_id=lan.id) == [{"command": "admin", "description": "Admin panel"}]
    assert emu.commands() == []
    fetched = await bot.get_my_commands(language_code="vi")
    assert [c.command for c in fetched] == ["start", "help"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "x")])
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("a" * 33, "x")])
    with pytest.raises(BadRequest, match="Too many commands"):
        await bot.set_my_commands([BotCommand(f"c{i}", "d") for i in range(101)])
    assert await bot.delete_my_commands(language_code="vi")
    assert emu.commands(language_code="vi") == []


async def test_blocked_user_gets_forbidden(bot: Bot, emu: BotApiEmulator, lan: EmulatedUser) -> None:
    emu.block_bot(lan.id)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(lan.id, "hello")
    assert emu.rejections[-1].error_code == 403
    emu.unblock_bot(lan.id)
    assert (await bot.send_message(lan.id, "hello")).text == "hello"


async def test_forum_topics(bot: Bot, emu: BotApiEmulator, lan: EmulatedUser) -> None:
    group = emu.add_group(-1001234567890, "Cán bộ xã", is_forum=True, members=[lan])
    topic = await bot.create_forum_topic(group.id, "Kiến nghị #42")
    sent = await bot.send_message(group.id, "Mới", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(group.id, "x", message_thread_id=9999)
    assert await bot.close_forum_topic(group.id, topic.message_thread_id)
    emu.user_sends_text(lan, "trả lời", chat_id=group.id, message_thread_id=topic.message_thread_id)
    assert emu.messages(group.id)[-1].message_thread_id == topic.message_thread_id
