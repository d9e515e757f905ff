"""Runs before every other handler (group -1): blocked citizens and message floods stop here.

O(1) per update: one lookup of who the sender is, one of the citizen record, one counter with a TTL.
Officials and admins are never blocked or throttled.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.domain.citizens import citizen_id
from bot.domain.privacy import FloodVerdict
from handlers.common import CHANNEL, esc, send


async def on_any_update(update: Update, context: BotContext) -> None:
    """Drop updates of blocked citizens (telling them once) and of citizens over the flood limit."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return
    deps = context.deps
    actor = await deps.cases.actor(user.id)
    if actor.is_admin or actor.official is not None:
        return
    cid = citizen_id(CHANNEL, user.id)
    citizen = await deps.privacy.stored_citizen(cid)
    if citizen is not None and citizen.block is not None:
        if await deps.privacy.mark_block_notified(citizen):
            _ = deps.translator(citizen.language or user.language_code)
            lines = [
                _("⛔ The administrators have blocked your access to this bot. Reason: {reason}").format(
                    reason=esc(citizen.block.reason)
                ),
                "",
                _("You can also raise your concern through:"),
            ]
            lines += [f"• {esc(channel.text(_.lang))}" for channel in deps.directory.other_channels]
            await send(update, "\n".join(lines))
        if update.callback_query is not None:
            await update.callback_query.answer()
        raise ApplicationHandlerStop
    if update.message is None:
        return  # only messages count towards the flood limit (button taps are cheap and bounded)
    verdict = await deps.privacy.flood(cid)
    if verdict == FloodVerdict.OK:
        return
    if verdict == FloodVerdict.WARN:
        _ = deps.translator((citizen.language if citizen else None) or user.language_code)
        await send(
            update,
            _("⏳ You are sending messages very fast. Please slow down: I will answer again in a minute."),
        )
    if update.callback_query is not None:
        await update.callback_query.answer()
    raise ApplicationHandlerStop
