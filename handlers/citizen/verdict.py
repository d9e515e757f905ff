"""The citizen's verdict on a resolved case: resolved (then a 1–5 rating and a comment) or not yet
(then the reason, and the case reopens with the same official)."""

from __future__ import annotations

from telegram import Bot, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.context import BotContext, Deps
from bot.domain.cases import NOTE_MAX
from bot.errors import NotAllowed, StaleAction, UnknownChoice
from bot.i18n import N_, Gettext
from handlers import notify
from handlers.citizen import views
from handlers.common import Turn, begin, close_keyboard, edit_or_send, esc, send
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


VERDICT_QUESTION = N_(
    "❓ Has your concern in {ticket} really been resolved? Your answer helps the province check the "
    "work of its officials."
)


async def ask_verdict(bot: Bot, deps: Deps, petition: Petition, *, co_signers: bool = True) -> None:
    """Ask the citizen (and, with ``co_signers``, those who joined) whether the resolution really
    solved the problem."""
    _ = await notify.language_of(deps, notify.citizen_chat(petition), petition.language)
    text = _(VERDICT_QUESTION).format(ticket=esc(petition.id))
    await notify.tell_citizen(bot, petition, text, verdict_keyboard(petition, _))
    if co_signers:
        await ask_co_signers(bot, deps, petition)


async def ask_co_signers(bot: Bot, deps: Deps, petition: Petition) -> None:
    """Me too: the co-signers are asked the same question, each answer kept as theirs."""
    await notify.tell_co_signers(
        bot,
        deps,
        petition,
        lambda g: g(VERDICT_QUESTION).format(ticket=esc(petition.id)),
        lambda g: verdict_keyboard(petition, g),
    )


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
                _("Thank you. Anything to add about how it was handled? Type it, or tap «No comment»."),
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
                ),
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
                await turn.deps.cosign.record_verdict(
                    pending.ticket, turn.citizen.id, comment=text[:NOTE_MAX]
                )
            else:
                await cases.comment(turn.citizen.id, pending.ticket, text)
            await turn.save()
            await send(update, _("🙏 Thank you for your feedback."), views.main_menu(_))
            return
        if co_signer:
            await turn.deps.cosign.record_verdict(pending.ticket, turn.citizen.id, resolved=False)
        petition, notices = await cases.reopen(turn.citizen.id, pending.ticket, text, co_signer=co_signer)
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
    await send(
        update,
        _("🔁 {ticket} is reopened. The official and their supervisor have been told.").format(
            ticket=esc(petition.id)
        ),
        views.main_menu(_),
    )
    await notify.deliver_notices(update.get_bot(), turn.deps, notices)
