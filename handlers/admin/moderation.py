"""/block and /unblock: admins stop (or let again) a citizen who abuses the bot, with a reason.

``/block <ticket or Telegram id> <reason>``. Authorised on the server: only admins; officials and
admins themselves cannot be blocked. Recorded on the citizen record and in the audit trail.
"""

from __future__ import annotations

import re

from telegram import Update

from bot.context import BotContext
from bot.domain.citizens import citizen_id
from bot.domain.privacy import ERASED_PREFIX
from bot.domain.visible_text import is_visibly_empty
from bot.errors import StaleAction
from handlers.common import CHANNEL, esc, send

TICKET = re.compile(r"^[A-Za-z]{1,8}-\d{4}-\d{1,9}$")
REASON_MAX = 500


async def on_block(update: Update, context: BotContext) -> None:
    """/block <ticket or Telegram id> <reason>."""
    await _moderate(update, context, block=True)


async def on_unblock(update: Update, context: BotContext) -> None:
    """/unblock <ticket or Telegram id> <reason>."""
    await _moderate(update, context, block=False)


async def _moderate(update: Update, context: BotContext, *, block: bool) -> None:
    user = update.effective_user
    assert user is not None
    deps = context.deps
    actor = await deps.cases.actor(user.id)
    known = await deps.citizens.get(CHANNEL, str(user.id))
    _ = deps.translator(known.language or user.language_code)
    if not actor.is_admin:
        await send(update, _("Only administrators can block or unblock citizens."))
        return
    args = context.args or []
    usage = (
        _("Usage: /block &lt;ticket or Telegram id&gt; &lt;reason&gt;")
        if block
        else _("Usage: /unblock &lt;ticket or Telegram id&gt; &lt;reason&gt;")
    )
    if len(args) < 2 or is_visibly_empty(" ".join(args[1:])):
        await send(update, usage)
        return
    target, reason = args[0], " ".join(args[1:])[:REASON_MAX]
    ticket: str | None = None
    if TICKET.match(target):
        ticket = target.upper()
        try:
            petition = await deps.cases.get(ticket)
        except StaleAction:
            await send(update, _("No petition {ticket}.").format(ticket=esc(ticket)))
            return
        if petition.citizen_id.startswith(ERASED_PREFIX):
            await send(
                update,
                _("The citizen of {ticket} deleted their data: they cannot be identified.").format(
                    ticket=esc(ticket)
                ),
            )
            return
        cid = petition.citizen_id
    elif target.isdigit():
        cid = citizen_id(CHANNEL, int(target))
    else:
        await send(update, usage)
        return
    telegram_id = int(cid.split(":", 1)[1])
    target_actor = await deps.cases.actor(telegram_id)
    if target_actor.is_admin or target_actor.official is not None:
        await send(update, _("Officials and administrators cannot be blocked."))
        return
    if block:
        citizen = await deps.privacy.block(cid, reason, actor.ref, ticket)
        text = (
            _("⛔ Citizen blocked. Reason: {reason}").format(reason=esc(reason))
            if citizen
            else _("No such citizen: they have never written to the bot.")
        )
    else:
        citizen = await deps.privacy.unblock(cid, reason, actor.ref, ticket)
        text = _("✅ Citizen unblocked.") if citizen else _("This citizen is not blocked.")
    await send(update, text)
