"""Officials act on cases: buttons on the case card, the text that completes an action, /inbox.

Every press is re-authorised here from Redis before anything about the case is read or shown
(``CaseService.visible_to``, then ``check`` for an action): the button's data only names the case, the
action and the stage of the case the official saw, and can be forged.
"""

from __future__ import annotations

from telegram import Message, Update

from bot import callbacks
from bot.context import BotContext
from bot.domain.cases import Actor, CaseAction, CaseChange, Relay
from bot.domain.visible_text import is_visibly_empty
from bot.errors import EvidenceRequired, NotAllowed, NoteRequired, NoteTooLong, StaleAction, UnknownChoice
from bot.i18n import N_
from bot.logs import get_logger
from handlers import notify
from handlers.citizen.views import main_menu
from handlers.common import (
    Turn,
    begin,
    close_keyboard,
    edit_or_send,
    esc,
    send,
    send_screen,
    too_long,
)
from handlers.official import views
from storage.models import Attachment, CaseInput, Petition

log = get_logger(__name__)

CITIZEN_NEWS = {
    CaseAction.ACCEPT: N_(
        "🔵 Your petition {ticket} has been accepted by {unit}. You will be told here of every step."
    ),
    CaseAction.REPLY: N_("💬 Answer about your petition {ticket} from {unit}:"),
    CaseAction.ASK_INFO: N_("❓ {unit} needs more information about your petition {ticket}:"),
    CaseAction.TRANSFER: N_(
        "↪️ Your petition {ticket} was transferred to {unit}, which is responsible for it. Reason:"
    ),
    CaseAction.RESOLVE: N_("🟢 Your petition {ticket} has been resolved by {unit}:"),
    CaseAction.REJECT: N_(
        "⚪ Your petition {ticket} was not accepted by {unit}. The reason, and where to go instead:"
    ),
    CaseAction.EXTEND: N_(
        "⏳ {unit} needs more time for your petition {ticket}; the deadline was extended. Reason:"
    ),
}
ANSWER_HINT = N_("To answer, reply to this message, or open /my → the petition → ➕ Add information.")


async def on_case_button(update: Update, context: BotContext) -> None:
    """Every button of a case card: ``o:<action>:<ticket>[:<stage>[:<arg>]]``."""
    query = update.callback_query
    assert query is not None
    data = callbacks.parse(query.data)
    turn = await begin(update, context)
    _ = turn._
    actor = await turn.deps.cases.actor(update.effective_user.id if update.effective_user else 0)
    if data is None or not actor.is_staff:
        await query.answer(_("This button is not for you."), show_alert=True)
        return
    try:
        await _dispatch(update, turn, actor, data)
    except NotAllowed:
        await query.answer(
            _("Only the official handling this case, their supervisors and admins can act on it."),
            show_alert=True,
        )
    except StaleAction:
        await query.answer(
            _("This case has changed since this card was sent. Here is its current state."), show_alert=True
        )
        await close_keyboard(update)
        await send_current_card(update, turn, data.arg(0))
    except UnknownChoice:
        await query.answer(_("This choice is not available."), show_alert=True)


async def _dispatch(update: Update, turn: Turn, actor: Actor, data: callbacks.Callback) -> None:
    query = update.callback_query
    assert query is not None
    _ = turn._
    cases = turn.deps.cases
    action, ticket = data.action, data.arg(0)
    stage = int(data.arg(1)) if data.arg(1).isdigit() else -1
    if action == "inb":
        await query.answer()
        status = data.arg(1) if data.arg(1) in {key for key, _label in views.INBOX_FILTERS} else "all"
        await send_inbox(update, turn, actor, int(ticket) if ticket.isdigit() else 0, status, edit=True)
        return
    if action == "cx":
        turn.session.case_input = None  # the presser's own input in progress: cancelled in any case
        await turn.save()
    # Every other button names a case: nothing about it is read or shown before this check.
    petition = await cases.visible_to(actor, ticket)
    if action == "cx":
        await query.answer(_("Cancelled."))
        await close_keyboard(update)
        await _send_card(update, turn, petition)
        return
    if action in ("top", "tpc"):
        await _change_topic(update, turn, actor, data, stage)
        return
    if action in ("his", "card"):
        await query.answer()
        if action == "his":
            await send(update, views.history(_, petition, await cases.officials_by_id()))
        else:
            await _send_card(update, turn, petition)
        return
    if action == "tpl":
        pending = turn.session.case_input
        if pending is None or pending.ticket != ticket or pending.version != stage:
            raise StaleAction(ticket)
        petition = await cases.check(actor, ticket, stage, CaseAction(pending.action))
        templates = await _templates(turn, petition, CaseAction(pending.action))
        index = int(data.arg(2)) if data.arg(2).isdigit() else -1
        if not 0 <= index < len(templates):
            raise UnknownChoice(data.arg(2))
        await query.answer()
        await close_keyboard(update)
        await complete(update, turn, actor, templates[index], [], None)
        return
    try:
        case_action = CaseAction(action if action != "trt" else "trf")
    except ValueError:
        raise UnknownChoice(action) from None
    petition = await cases.check(actor, ticket, stage, case_action)
    if case_action == CaseAction.ACCEPT:
        change = await cases.apply(actor, ticket, stage, CaseAction.ACCEPT)
        await query.answer(_("Accepted."))
        await close_keyboard(update)
        await after_change(update, turn, actor, change, None)
        return
    if action == "trf":
        targets = await cases.transfer_targets(petition)
        units = {u.key: u for u in await cases.units()}
        await query.answer()
        unit_key = data.arg(2) or None
        screen = views.transfer_targets(_, petition, targets, units, unit_key)
        if unit_key is None:  # from the case card: close it, the list follows
            await close_keyboard(update)
            await send(update, *screen)
        else:  # a unit chosen, or back to the units: in place
            await edit_or_send(update, *screen)
        return
    target_name = ""
    target_id = None
    if action == "trt":
        target = (await cases.officials_by_id()).get(data.arg(2))
        if target is None or not target.is_active or target.id == petition.assignee_id:
            raise UnknownChoice(data.arg(2))
        target_id, target_name = target.id, target.name
    turn.session.case_input = CaseInput(
        ticket=ticket,
        action=case_action.value,
        version=stage,
        target_official_id=target_id,
        deadline_kind=cases.extendable(petition) if case_action == CaseAction.EXTEND else None,
    )
    await turn.save()
    await query.answer()
    # The card's buttons close while the official writes; a fresh card follows the action (or Cancel).
    await close_keyboard(update)
    await send(
        update,
        *views.prompt(_, case_action, petition, await _templates(turn, petition, case_action), target_name),
    )


async def _change_topic(
    update: Update, turn: Turn, actor: Actor, data: callbacks.Callback, stage: int
) -> None:
    """ "Change the topic": the list of topics, then the correction (re-authorised on each press)."""
    query = update.callback_query
    assert query is not None
    _ = turn._
    cases = turn.deps.cases
    ticket = data.arg(0)
    petition = await cases.visible_to(actor, ticket)  # NotAllowed also for a ticket that does not exist
    if petition.stage != stage or not petition.is_open:
        raise StaleAction(ticket)
    if data.action == "top":
        await query.answer()
        await close_keyboard(update)
        await send(update, *views.topic_choices(_, petition, turn.deps.directory))
        return
    known = [c.key for c in turn.deps.directory.categories]
    change = await cases.change_topic(actor, ticket, stage, data.arg(2), known=known)
    category = turn.deps.directory.category(change.after.category)
    await query.answer(_("Topic changed."))
    await close_keyboard(
        update, "🗂 " + esc(category.name(_.lang) if category else change.after.category) + " ✓"
    )
    await _send_card(update, turn, change.after)


async def _templates(turn: Turn, petition: Petition, action: CaseAction) -> list[str]:
    """What the official may pick instead of typing: common questions when asking for information,
    else the unit's saved answers."""
    if action == CaseAction.ASK_INFO:
        return [turn._(question) for question in views.ASK_QUESTIONS]
    officials = await turn.deps.cases.officials_by_id()
    assignee = officials.get(petition.assignee_id or "")
    unit = await turn.deps.cases.unit(assignee.unit) if assignee else None
    return list(unit.templates) if unit else []


async def on_official_input(
    update: Update, turn: Turn, text: str | None, attachment: Attachment | None, message: Message
) -> None:
    """The text (or file) that completes a pending case action."""
    actor = await turn.deps.cases.actor(update.effective_user.id if update.effective_user else 0)
    await complete(update, turn, actor, text, [attachment] if attachment else [], message)


async def complete(
    update: Update,
    turn: Turn,
    actor: Actor,
    note: str | None,
    attachments: list[Attachment],
    message: Message | None,
) -> None:
    """Apply the pending action with its note (and evidence)."""
    _ = turn._
    pending = turn.session.case_input
    assert pending is not None
    action = CaseAction(pending.action)
    cases = turn.deps.cases
    if is_visibly_empty(note):
        note = None  # only invisible characters: no text (the action then asks for one)
    if action == CaseAction.RESOLVE and pending.note and attachments and not note:
        note = pending.note  # the evidence after the note
    if note is None and attachments and message is not None and not is_visibly_empty(message.caption):
        note = message.caption
        for attachment in attachments:
            attachment.caption = None  # it is the note, told to the citizen once
    if note is None and attachments and action in (CaseAction.REPLY, CaseAction.ASK_INFO):
        note = f"[{attachments[0].kind.value}]"
    try:
        change = await cases.apply(
            actor,
            pending.ticket,
            pending.version,
            action,
            note=note,
            target_official_id=pending.target_official_id,
            attachments=attachments,
            deadline_kind=pending.deadline_kind,
            relay=Relay(message.chat_id, message.message_id, message.caption)
            if message is not None and attachments
            else None,
        )
    except NoteRequired:
        await send(update, _("Please write a text: it is required for this action."))
        return
    except NoteTooLong as exc:  # the action waits: the official sends a shorter text
        await send(update, too_long(_, exc))
        return
    except EvidenceRequired:
        pending.note = note
        await turn.save()
        petition = await cases.get(pending.ticket)
        await send(update, *views.evidence_prompt(_, petition))
        return
    except NotAllowed:
        turn.session.case_input = None
        await turn.save()
        await send(
            update, _("Only the official handling this case, their supervisors and admins can act on it.")
        )
        return
    except StaleAction:
        turn.session.case_input = None
        await turn.save()
        await send(update, _("This case has changed since this card was sent. Here is its current state."))
        await send_current_card(update, turn, pending.ticket)
        return
    turn.session.case_input = None
    await turn.save()
    await after_change(update, turn, actor, change, message if attachments else None)


async def after_change(
    update: Update, turn: Turn, actor: Actor, change: CaseChange, media: Message | None
) -> None:
    """Deliver what the change owes (recorded with it: the citizen's news, the new official's card), then
    tell the official what happened — "the citizen has been told" only when they were."""
    _ = turn._
    deps = turn.deps
    petition = change.after
    outcomes = await deps.outbox.flush(change.lanes)
    officials = await deps.cases.officials_by_id()
    responsible = officials.get(petition.assignee_id or "")
    news = outcomes.get("news")
    if news == "delivered" or petition.channel != "tg" or change.action == CaseAction.TRANSFER:
        done = _(views.DONE_LABELS[change.action])
    else:
        done = _(views.SAVED_LABEL)
        if news is None:  # not delivered yet (Telegram is slow or refusing): it will be
            done += "\n" + _("The citizen will be told as soon as the message can be delivered.")
    await send(update, done.format(ticket=esc(petition.id), target=esc(notify.official_label(responsible))))
    if petition.is_open and change.action != CaseAction.TRANSFER:
        await _send_card(update, turn, petition)


async def _send_card(update: Update, turn: Turn, petition: Petition) -> None:
    officials = await turn.deps.cases.officials_by_id()
    assignee = officials.get(petition.assignee_id or "")
    unit = await turn.deps.cases.unit(assignee.unit) if assignee else None
    co_signers = await turn.deps.cosign.count(petition.id)
    await send_screen(
        update,
        views.case_screen(
            turn._, petition, turn.deps.directory, assignee, unit, officials=officials, co_signers=co_signers
        ),
    )


async def send_current_card(update: Update, turn: Turn, ticket: str) -> None:
    """The case card as it is now (after a stale press or a cancelled action), to whoever may see it."""
    actor = await turn.deps.cases.actor(update.effective_user.id if update.effective_user else 0)
    try:
        petition = await turn.deps.cases.visible_to(actor, ticket)
    except NotAllowed:
        return
    await _send_card(update, turn, petition)


async def send_inbox(
    update: Update, turn: Turn, actor: Actor, page: int = 0, status: str = "all", *, edit: bool = False
) -> None:
    """The actor's open cases (a page of them, filtered by status)."""
    petitions = await turn.deps.cases.inbox(actor)
    co_signers = await turn.deps.cosign.counts([p.id for p in petitions])
    text, markup = views.inbox(turn._, petitions, page, turn.deps.directory, status, co_signers)
    if edit:
        await edit_or_send(update, text, markup)
    else:
        await send(update, text, markup)


async def on_inbox(update: Update, context: BotContext) -> None:
    """/inbox: the official's open cases (a supervisor's include their officials')."""
    turn = await begin(update, context)
    await turn.save()
    actor = await turn.deps.cases.actor(update.effective_user.id if update.effective_user else 0)
    if not actor.is_staff:
        await send(
            update, turn._("/inbox is for officials. To send a petition, use /new."), main_menu(turn._)
        )
        return
    await send_inbox(update, turn, actor)
