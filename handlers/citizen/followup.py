"""The citizen's side of the conversation with the official: adding information to an open petition,
from /my or by replying to one of the bot's messages about it. Relayed by copying, never forwarding."""

from __future__ import annotations

import re

from telegram import Message, Update

from bot.errors import NotAllowed, NoteTooLong, StaleAction
from handlers import notify
from handlers.citizen import views
from handlers.common import Turn, caption_and_rest, esc, length_limit, send, too_long
from storage.models import Attachment, CaseInput, Petition

TICKET = re.compile(r"\b[A-Z]{1,6}-\d{4}-\d{6}\b")
CITIZEN_INFO = "info"


def ticket_replied_to(message: Message, bot_id: int) -> str | None:
    """The ticket number in the bot message this message replies to, if any."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot_id:
        return None
    match = TICKET.search(replied.text or replied.caption or "")
    return match.group(0) if match else None


async def ask_for_info(update: Update, turn: Turn, petition: Petition) -> None:
    """Wait for the information the citizen wants to add."""
    turn.session.case_input = CaseInput(ticket=petition.id, action=CITIZEN_INFO, version=petition.version)
    await turn.save()
    await send(
        update,
        turn._(
            "➕ Send the information to add to {ticket}: a text, photo, document, voice message "
            "or location. /cancel to stop."
        ).format(ticket=esc(petition.id))
        + " "
        + length_limit(turn._),
    )


async def relay_info(
    update: Update, turn: Turn, ticket: str, text: str | None, attachment: Attachment | None, message: Message
) -> None:
    """Record what the citizen added and pass it to the official handling the petition."""
    _ = turn._
    pending, turn.session.case_input = turn.session.case_input, None
    note = (
        text
        or (message.caption if attachment else None)
        or (f"[{attachment.kind.value}]" if attachment else "")
    )
    try:
        petition = await turn.deps.cases.add_citizen_info(turn.citizen.id, ticket, note)
    except NoteTooLong as exc:  # refused before anything is stored or relayed; /my's request still waits
        turn.session.case_input = pending
        await turn.save()
        await send(update, too_long(_, exc))
        return
    except NotAllowed:
        await turn.save()
        await send(update, _("This petition was not found."))
        return
    except StaleAction:
        await turn.save()
        await send(
            update,
            _("{ticket} is closed, so nothing can be added. Send /new for a new petition.").format(
                ticket=esc(ticket)
            ),
        )
        return
    await turn.save()
    officials = await turn.deps.cases.officials_by_id()
    assignee = officials.get(petition.assignee_id or "")
    in_topic = (
        assignee is not None
        and petition.topic_chat_id is not None
        and (assignee.team_chat_id == petition.topic_chat_id)
    )
    if in_topic:
        assert petition.topic_chat_id is not None
        official_ = turn.deps.translator(None)
        header = official_("📩 The citizen added information to {ticket}:").format(ticket=esc(petition.id))
        bot = update.get_bot()
        if attachment is not None:
            caption, rest = caption_and_rest(
                header + ("\n" + esc(message.caption) if message.caption else "")
            )
            await bot.copy_message(
                petition.topic_chat_id,
                message.chat_id,
                message.message_id,
                caption=caption,
                message_thread_id=petition.topic_thread_id,
            )
            for part in rest:  # a caption over 1024 goes on as messages
                await bot.send_message(
                    petition.topic_chat_id, part, message_thread_id=petition.topic_thread_id
                )
        else:
            await bot.send_message(
                petition.topic_chat_id,
                f"{header}\n<blockquote>{esc(text or '')}</blockquote>",
                message_thread_id=petition.topic_thread_id,
            )
    elif assignee is not None and assignee.telegram_id is not None:
        official_ = await notify.language_of(turn.deps, assignee.telegram_id)
        header = official_("📩 The citizen added information to {ticket}:").format(ticket=esc(petition.id))
        bot = update.get_bot()
        if attachment is not None:
            caption, rest = caption_and_rest(
                header + ("\n" + esc(message.caption) if message.caption else "")
            )
            if await notify.copy_to(bot, assignee.telegram_id, message, caption):
                for part in rest:  # a caption over 1024 goes on as messages
                    await bot.send_message(assignee.telegram_id, part)
        else:
            try:
                await bot.send_message(
                    assignee.telegram_id, f"{header}\n<blockquote>{esc(text or '')}</blockquote>"
                )
            except Exception:
                notify.log.info("relay.failed", ticket=petition.id)
    await send(
        update,
        _("✅ Added to {ticket} and sent to the official handling it.").format(ticket=esc(petition.id)),
        views.main_menu(_),
    )
