"""The citizen's side of the conversation with the official: adding information to an open petition,
from /my or by replying to one of the bot's messages about it. Relayed by copying, never forwarding."""

from __future__ import annotations

import re

from telegram import Message, Update

from bot.domain.cases import Relay
from bot.domain.visible_text import is_visibly_empty
from bot.errors import NotAllowed, NoteRequired, NoteTooLong, StaleAction
from handlers.citizen import views
from handlers.common import Turn, esc, length_limit, send, too_long
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
    caption = message.caption if attachment else None
    note = next((t for t in (text, caption) if t and not is_visibly_empty(t)), None)
    if note is None:
        note = f"[{attachment.kind.value}]" if attachment else (text or "")
    # A file is copied (never forwarded); a text goes quoted under a header.
    relay = Relay(message.chat_id, message.message_id, message.caption) if attachment is not None else None
    try:
        petition, lanes = await turn.deps.cases.add_citizen_info(turn.citizen.id, ticket, note, relay)
    except NoteRequired:
        turn.session.case_input = pending  # still waiting for the information
        await turn.save()
        await send(
            update,
            _(
                "This message shows no text. Please write the information, or send a photo, document, "
                "voice message or location."
            ),
        )
        return
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
    outcomes = await turn.deps.outbox.flush(lanes)
    if outcomes.get("relay_to_official") != "delivered":
        # Saved with the petition either way; only what really reached the official is called "sent".
        await send(
            update,
            _("✅ Added to {ticket}. It will reach the official handling it as soon as possible.").format(
                ticket=esc(petition.id)
            ),
            views.main_menu(_),
        )
        return
    await send(
        update,
        _("✅ Added to {ticket} and sent to the official handling it.").format(ticket=esc(petition.id)),
        views.main_menu(_),
    )
