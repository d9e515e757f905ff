"""What every handler shares: loading the citizen's turn from Redis, replying, escaping."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import NamedTuple

from telegram import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.error import BadRequest

from bot.context import BotContext, Deps
from bot.i18n import Gettext
from storage.models import Citizen, Session

CHANNEL = "tg"
TELEGRAM_TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


_TAG = re.compile(r"<[^>]+>")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji can count 2)."""
    return len(text.encode("utf-16-le")) // 2


def visible_len(html_text: str) -> int:
    """What an HTML message counts towards the 4096 limit: its text after entity parsing."""
    return utf16_len(html.unescape(_TAG.sub("", html_text)))


def clip_utf16(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` UTF-16 units."""
    if utf16_len(text) <= limit:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


class Screen(NamedTuple):
    """A message to show, and optionally a message to send before it (a long description)."""

    text: str
    markup: InlineKeyboardMarkup | None
    preface: str | None = None


def esc(text: object) -> str:
    """HTML-escape anything a user typed (or anything not written by us) before sending it."""
    return html.escape(str(text), quote=False)


@dataclass(slots=True)
class Turn:
    """One update's view of a citizen: loaded from Redis at the start of every update."""

    deps: Deps
    citizen: Citizen
    session: Session
    _: Gettext

    @property
    def lang(self) -> str:
        """The language the citizen reads."""
        return self._.lang

    async def save(self) -> None:
        """Write the session through to Redis."""
        await self.deps.intake.save(self.session)


async def begin(update: Update, context: BotContext) -> Turn:
    """Load the citizen and their session for this update."""
    deps = context.deps
    user = update.effective_user
    assert user is not None
    citizen = await deps.citizens.get(CHANNEL, str(user.id))
    gettext = deps.translator(citizen.language or user.language_code)
    session = await deps.intake.load(citizen.id)
    turn = Turn(deps, citizen, session, gettext)
    if citizen.language is None and (await deps.cases.actor(user.id)).is_staff:
        await remember_language(turn)  # reminders, escalations and admin notices come in it
    return turn


async def remember_language(turn: Turn) -> None:
    """Store the language this person reads now (unless they chose one with /language), so that what is
    sent to them later, outside their own turns, is in it too."""
    if turn.citizen.language is None:
        await turn.deps.citizens.set_language(turn.citizen, turn.lang)


async def send(update: Update, text: str, markup: Markup = None) -> Message:
    """Send an HTML message into the update's chat (in its forum topic, in a team chat)."""
    chat = update.effective_chat
    assert chat is not None
    message = update.effective_message
    thread_id = message.message_thread_id if message is not None and message.is_topic_message else None
    return await chat.send_message(text, reply_markup=markup, message_thread_id=thread_id)


async def edit_or_send(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the message whose button was pressed; send a new one when that is impossible."""
    query = update.callback_query
    if query is not None and query.message is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
    await send(update, text, markup)


async def close_keyboard(update: Update, summary: str | None = None) -> None:
    """Remove the pressed message's buttons (optionally replacing its text) so it cannot be pressed again."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    if summary is None and query.message.reply_markup is None:
        return  # nothing to close (Telegram would answer "message is not modified")
    try:
        if summary is not None:
            await query.message.edit_text(summary, reply_markup=None)
        else:
            await query.message.edit_reply_markup(reply_markup=None)
    except BadRequest:
        pass  # already edited or too old: nothing to close


async def send_screen(update: Update, screen: Screen) -> None:
    """Send the preface (if any), then the screen."""
    if screen.preface:
        await send(update, screen.preface)
    await send(update, screen.text, screen.markup)


async def edit_screen(update: Update, screen: Screen) -> None:
    """Replace the pressed message with the screen (a preface goes as a new message first)."""
    if screen.preface:
        await send(update, screen.preface)
    await edit_or_send(update, screen.text, screen.markup)
