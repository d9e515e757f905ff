"""The citizen's verdict on a resolved case: resolved (then a 1–5 rating and a comment) or not yet
(then the reason, and the case reopens with the same official)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot import callbacks
from bot.context import BotContext
from bot.domain.cases import checked_note
from bot.domain.visible_text import is_visibly_empty
from bot.errors import NotAllowed, NoteRequired, NoteTooLong, StaleAction, UnknownChoice
from bot.i18n import Gettext
from handlers.citizen import views
from handlers.common import Turn, begin, close_keyboard, edit_or_send, esc, length_limit, send, too_long
from storage.models import CaseInput, Petition, PetitionStatus

COMMENT = "comment"
REOPEN = "reopen"


def verdict_keyboard(petition: Petition, gettext: Gettext) -> InlineKeyboardMarkup:
    """Yes / Not yet."""
    return InlineKeyboardMarkup(
        [
            [views.button(gettext("✅ Yes, it is resolved"), callbacks.build("v", "y", petition.id))],
            [views.button(gettext("❌ Not yet"), callbacks.build("v", "n", petition.id))],
        ]
    )


def verdict_question(_: Gettext, petition: Petition) -> str:
    """Ask the citizen (or one who joined the petition) whether the resolution really solved the
    problem (sent by the outbox)."""
    return _(
        "❓ Has your concern in {ticket} really been resolved? Your answer helps the province check the "
        "work of its officials."
    ).format(ticket=esc(petition.id))


async def _co_signer(turn: Turn, ticket: str) -> bool:
    """Whether the citizen answers as a co-signer of the petition ("me too"), not as its petitioner."""
    return await turn.deps.cosign.is_co_signer(ticket, turn.citizen.id)


async def _resolved_by_co_signer(turn: Turn, ticket: str) -> None:
    """A co-signer says it is resolved: their answer is kept; only the petitioner's closes the case."""
    petition = await turn.deps.cases.get(ticket)
    if petition.status not in (PetitionStatus.RESOLVED, PetitionStatus.CLOSED):
        raise StaleAction(ticket)
    await turn.deps.cosign.record_verdict(ticket, turn.citizen.id, resolved=True)


async def on_verdict_button(update: Update, context: BotContext) -> None:
    """``v:y|n|s:<ticket>`` and ``v:r:<ticket>:<1-5>``."""
    query = update.callback_query
    assert query is not None
    data = callbacks.parse(query.data)
    turn = await begin(update, context)
    _ = turn._
    cases = turn.deps.cases
    if data is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    ticket = data.arg(0)
    co_signer = await _co_signer(turn, ticket)
    try:
        if data.action == "y":
            if co_signer:
                await _resolved_by_co_signer(turn, ticket)
            else:
                await cases.verdict(turn.citizen.id, ticket, True)
            await query.answer()
            stars = [views.button("⭐" * n, callbacks.build("v", "r", ticket, n)) for n in range(1, 6)]
            await edit_or_send(
                update,
                _("🙏 Thank you! How would you rate how {ticket} was handled?").format(ticket=esc(ticket)),
                InlineKeyboardMarkup([stars[:3], stars[3:]]),
            )
        elif data.action == "r":
            rating = int(data.arg(1)) if data.arg(1).isdigit() else 0
            if co_signer:
                if not 1 <= rating <= 5:
                    raise UnknownChoice(data.arg(1))
                await turn.deps.cosign.record_verdict(ticket, turn.citizen.id, rating=rating)
            else:
                await cases.rate(turn.citizen.id, ticket, rating)
            turn.session.case_input = CaseInput(ticket=ticket, action=COMMENT, version=0)
            await turn.save()
            await query.answer()
            skip = InlineKeyboardMarkup(
                [[views.button(_("⏭ No comment"), callbacks.build("v", "s", ticket))]]
            )
            await edit_or_send(
                update,
                _("Thank you. Anything to add about how it was handled? Type it, or tap «No comment».")
                + " "
                + length_limit(_),
                skip,
            )
        elif data.action == "s":
            turn.session.case_input = None
            await turn.save()
            await query.answer()
            await close_keyboard(update, _("🙏 Thank you for your feedback."))
        elif data.action == "n":
            petition = await cases.get(ticket)
            if petition.citizen_id != turn.citizen.id and not co_signer:
                raise NotAllowed(ticket)
            tracker = cases.tracker
            if tracker is None or not tracker.may_reopen(petition, turn.deps.clock.now()):
                await query.answer()
                await close_keyboard(update)
                await send(
                    update,
                    _(
                        "{ticket} can no longer be reopened. If the problem remains, please send a new "
                        "petition with /new."
                    ).format(ticket=esc(ticket)),
                )
                return
            turn.session.case_input = CaseInput(ticket=ticket, action=REOPEN, version=0)
            await turn.save()
            await query.answer()
            await close_keyboard(update)
            await send(
                update,
                _(
                    "What is still not resolved? Write it in a few words: it goes back to the official, "
                    "and their supervisor is told."
                )
                + " "
                + length_limit(_),
            )
        else:
            raise UnknownChoice(data.action)
    except (StaleAction, NotAllowed, UnknownChoice, ValueError):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        await close_keyboard(update)


async def on_verdict_text(update: Update, turn: Turn, text: str) -> None:
    """The comment after a rating, or the reason a case is not resolved."""
    _ = turn._
    pending = turn.session.case_input
    assert pending is not None
    turn.session.case_input = None
    cases = turn.deps.cases
    co_signer = await _co_signer(turn, pending.ticket)
    try:
        if pending.action == COMMENT:
            if co_signer:
                if is_visibly_empty(text):
                    raise NoteRequired("comment")
                await turn.deps.cosign.record_verdict(
                    pending.ticket, turn.citizen.id, comment=checked_note(text)
                )
            else:
                await cases.comment(turn.citizen.id, pending.ticket, text)
            await turn.save()
            await send(update, _("🙏 Thank you for your feedback."), views.main_menu(_))
            return
        petition, lanes = await cases.reopen(turn.citizen.id, pending.ticket, text, co_signer=co_signer)
        if co_signer:
            await turn.deps.cosign.record_verdict(pending.ticket, turn.citizen.id, resolved=False)
    except NoteRequired:
        turn.session.case_input = pending  # still waiting for the text
        await turn.save()
        await send(
            update,
            _("This message shows no text. Please write your comment, or tap «No comment».")
            if pending.action == COMMENT
            else _("This message shows no text. Please write in a few words what is still not resolved."),
        )
        return
    except NoteTooLong as exc:  # nothing stored: the question still waits for a shorter answer
        turn.session.case_input = pending
        await turn.save()
        await send(update, too_long(_, exc))
        return
    except (StaleAction, NotAllowed):
        await turn.save()
        await send(
            update,
            _(
                "{ticket} can no longer be reopened. If the problem remains, please send a new "
                "petition with /new."
            ).format(ticket=esc(pending.ticket)),
            views.main_menu(_),
        )
        return
    await turn.save()
    outcomes = await turn.deps.outbox.flush(lanes)
    text = (
        _("🔁 {ticket} is reopened. The official and their supervisor have been told.")
        if outcomes.get("reopened") in ("delivered", "fallback")
        else _("🔁 {ticket} is reopened. The official handling it will be told as soon as possible.")
    )
    await send(update, text.format(ticket=esc(petition.id)), views.main_menu(_))
