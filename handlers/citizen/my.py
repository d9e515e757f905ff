"""/my: the citizen's petitions, their status and history."""

from __future__ import annotations

from telegram import Update

from bot import callbacks
from bot.context import BotContext
from bot.errors import StaleAction
from handlers.citizen import followup, views
from handlers.common import begin, edit_or_send, edit_screen, send


async def on_my(update: Update, context: BotContext) -> None:
    """/my: the first page of the citizen's petitions."""
    turn = await begin(update, context)
    await turn.save()
    page = await turn.deps.petitions.page_for_citizen(turn.citizen.id, 0)
    text, markup = views.my_list(turn._, page, turn.deps.directory)
    await send(update, text, markup or views.main_menu(turn._))


async def on_my_button(update: Update, context: BotContext) -> None:
    """Page through the list (``m:p:<page>``) or open a petition (``m:o:<ticket>:<page>``)."""
    query = update.callback_query
    assert query is not None
    data = callbacks.parse(query.data)
    turn = await begin(update, context)
    _ = turn._
    if data is None or data.action not in ("p", "o", "ai"):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    if data.action == "p":
        number = int(data.arg(0)) if data.arg(0).isdigit() else 0
        page = await turn.deps.petitions.page_for_citizen(turn.citizen.id, number)
        await query.answer()
        await edit_or_send(update, *views.my_list(_, page, turn.deps.directory))
        return
    back = int(data.arg(1)) if data.arg(1).isdigit() else 0
    try:
        petition = await turn.deps.petitions.get_for_citizen(turn.citizen.id, data.arg(0))
    except StaleAction:
        await query.answer(_("This petition was not found."), show_alert=True)
        return
    await query.answer()
    if data.action == "ai":
        if not petition.is_open:
            await send(
                update,
                _("{ticket} is closed, so nothing can be added. Send /new for a new petition.").format(
                    ticket=petition.id
                ),
            )
            return
        await followup.ask_for_info(update, turn, petition)
        return
    await edit_screen(update, views.petition_detail(_, petition, turn.deps.directory, back))
