"""Group chats: the bot answers only /start there, pointing to the private chat."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext


async def on_group_start(update: Update, context: BotContext) -> None:
    """/start in a group: a link to the private chat."""
    chat = update.effective_chat
    user = update.effective_user
    assert chat is not None
    _ = context.deps.translator(user.language_code if user else None)
    link = f"https://t.me/{context.bot.username}?start=group"
    await chat.send_message(
        _(
            "Petitions are sent in a private chat with me, so that what you write stays between you and the "
            "officials. Tap the button to open it."
        ),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(_("💬 Open the private chat"), url=link)]]),
    )
