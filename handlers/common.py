"""What every handler shares: loading the citizen's turn from Redis, replying, escaping."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import NamedTuple

from telegram import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.error import BadRequest

from bot.context import BotContext, Deps
from bot.domain.cases import NOTE_MAX
from bot.errors import NoteTooLong
from bot.i18n import Gettext
from storage.models import Citizen, Session

CHANNEL = "tg"
TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
CAPTION_LIMIT = TELEGRAM_CAPTION_LIMIT

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


_TAG = re.compile(r"<[^>]+>")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji can count 2)."""
    return len(text.encode("utf-16-le")) // 2


def visible_len(html_text: str) -> int:
    """What an HTML message counts towards the 4096 limit: its text after entity parsing."""
    return utf16_len(html.unescape(_TAG.sub("", html_text)))


_TOKEN = re.compile(r"<[^>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)


def _tag_name(tag: str) -> str:
    return tag.strip("</>").split(None, 1)[0].lower() if tag.strip("</>") else ""


def split_html(text: str, limit: int = TELEGRAM_TEXT_LIMIT, first_limit: int | None = None) -> list[str]:
    """Telegram HTML cut into messages of at most ``limit`` visible UTF-16 units each (``first_limit``
    for the first: a caption), at a line break, else between words, else between characters — never
    inside a tag or an entity such as ``&amp;``. Tags open at a cut are closed at the end of the part
    and opened again (with their attributes) at the start of the next, so every part parses alone."""
    if visible_len(text) <= (first_limit or limit):
        return [text] if text.strip() else []
    tokens = _TOKEN.findall(text)
    parts: list[str] = []
    start = 0  # where the next part starts
    reopen: list[str] = []  # the tags open there
    while start < len(tokens):
        budget = limit if parts or first_limit is None else first_limit
        while start < len(tokens) and tokens[start] in (" ", "\n"):  # no part starts with a blank
            start += 1
        stack: list[str] = list(reopen)
        used = 0
        line_cut: tuple[int, list[str]] | None = None
        word_cut: tuple[int, list[str]] | None = None
        end, end_stack = len(tokens), stack
        for index in range(start, len(tokens)):
            token = tokens[index]
            if token.startswith("<") and len(token) > 1:
                if token.startswith("</"):
                    name = _tag_name(token)
                    for depth in range(len(stack) - 1, -1, -1):
                        if _tag_name(stack[depth]) == name:
                            del stack[depth]
                            break
                else:
                    stack.append(token)
                continue
            width = utf16_len(html.unescape(token)) if token.startswith("&") else utf16_len(token)
            if used + width > budget:
                cut = line_cut if line_cut and line_cut[0] - start > (index - start) // 2 else None
                cut = cut or word_cut or line_cut or (index, list(stack))
                end, end_stack = cut
                if end <= start:  # nothing fits (a budget below one character): one token, to progress
                    end, end_stack = start + 1, list(stack)
                break
            used += width
            if token == "\n":
                line_cut = (index, list(stack))
            elif token == " ":
                word_cut = (index, list(stack))
        body = "".join(reopen) + "".join(tokens[start:end])
        body += "".join(f"</{_tag_name(tag)}>" for tag in reversed(end_stack))
        if html.unescape(_TAG.sub("", body)).strip():
            parts.append(body)
        start, reopen = end, end_stack
        if end < len(tokens) and tokens[end] in (" ", "\n"):
            start += 1  # the space or line break at the cut goes
    return parts


def caption_and_rest(text: str) -> tuple[str, list[str]]:
    """A caption within Telegram's 1024 and the messages that carry the rest (cut by ``split_html``)."""
    parts = split_html(text, TELEGRAM_TEXT_LIMIT, first_limit=TELEGRAM_CAPTION_LIMIT)
    return (parts[0] if parts else ""), parts[1:]


def excerpt(text: str, limit: int) -> str:
    """At most ``limit`` characters of a plain text, cut between words and marked with "…"."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(None, 1)[0] if " " in text[:limit].strip() else text[:limit]
    return cut.rstrip() + "…"


def length_limit(_: Gettext) -> str:
    """The sentence a prompt ends with, so the limit is known before typing."""
    return _("(At most {limit} characters.)").format(limit=_.number(NOTE_MAX))


def too_long(_: Gettext, exc: NoteTooLong) -> str:
    """The refusal of an over-long text: its length and the limit; nothing was cut or sent."""
    return _(
        "⚠️ This text is too long: {length} characters, at most {maximum}. Nothing was sent or saved. "
        "Please shorten it and send it again."
    ).format(length=_.number(exc.length), maximum=_.number(exc.maximum))


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
    """Send an HTML message into the update's chat (in its forum topic, in a team chat). Over Telegram's
    4096 it goes as several messages (``split_html``), the buttons under the last; returns the last."""
    chat = update.effective_chat
    assert chat is not None
    message = update.effective_message
    thread_id = message.message_thread_id if message is not None and message.is_topic_message else None
    *first, last = split_html(text) or [text]
    for part in first:
        await chat.send_message(part, message_thread_id=thread_id)
    return await chat.send_message(last, reply_markup=markup, message_thread_id=thread_id)


QUERY_GONE = ("query is too old", "query id is invalid")


async def answer_query(update: Update, text: str | None = None, *, alert: bool = False) -> bool:
    """Answer the pressed button's query. When Telegram no longer takes the answer (the update was
    replayed after a crash, or came late), a text is sent as a message instead, so the user sees it
    anyway. True when the query itself was answered."""
    query = update.callback_query
    if query is None:
        return False
    try:
        if await query.answer(text, show_alert=alert):
            return True  # (False: the bot's limiter found the query gone, bot.telegram_calls)
    except BadRequest as exc:
        if not any(gone in str(exc).lower() for gone in QUERY_GONE):
            raise
    if text:
        await send(update, text)
    return False


async def edit_or_send(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the message whose button was pressed; send a new one when that is impossible. A text over
    Telegram's 4096 replaces it with its first part; the others follow, the buttons under the last."""
    query = update.callback_query
    if query is not None and query.message is not None and isinstance(query.message, Message):
        first, *rest = split_html(text) or [text]
        try:
            await query.message.edit_text(first, reply_markup=None if rest else markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                await send(update, text, markup)
                return
        for index, part in enumerate(rest, start=1):
            await send(update, part, markup if index == len(rest) else None)
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
