"""Dialogues: /newdialogue (guided creation, preview, publish), /dialogues for citizens (attend, ask,
remind me), /dialogue <id> (management, questions grouped by dialogue, follow-up), reminders.

Buttons: ``dg:<action>[:<dialogue id>[:<arg>]]``. Every press is re-authorised from Redis: runner
actions through ``DialogueService.for_runner``; compose buttons only act on the presser's own
conversation in progress (``dialogue:compose:<tg id>``), which only staff can start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden

from bot import callbacks
from bot.context import BotContext, Deps
from bot.domain.broadcast import Audience
from bot.domain.cases import NOTE_MAX, Actor, note_length
from bot.domain.citizens import has_petition_consent
from bot.domain.dialogues import BadDate, DialogueFull, FollowUp, PastDate, follow_up
from bot.domain.visible_text import is_visibly_empty, visible_length
from bot.errors import NotAllowed, NoteTooLong, StaleAction, UnknownChoice
from bot.i18n import N_, Gettext
from bot.logs import get_logger
from handlers import notify
from handlers.citizen.views import STATUS_LABELS, button, local_time, main_menu
from handlers.common import Turn, begin, close_keyboard, edit_or_send, esc, remember_language, send, too_long
from storage.dialogues import Dialogue, DialogueKind, DialogueStatus
from storage.models import Petition
from storage.outbox import OutboxEntry

log = get_logger(__name__)

NS = "dg"
DIRECT_MAX = 50  # more recipients than this go through the broadcast engine
KIND_LABELS = {DialogueKind.DIALOGUE: N_("Direct dialogue"), DialogueKind.RECEPTION: N_("Citizen reception")}
STATUS_TEXT = {
    DialogueStatus.DRAFT: N_("prepared, not published"),
    DialogueStatus.PUBLISHED: N_("announced"),
    DialogueStatus.CANCELLED: N_("cancelled"),
    DialogueStatus.HELD: N_("held"),
}
PROMPTS = {
    "title": N_(
        "🎙 New dialogue. What is its title? (for example «Dialogue with the people of Thành Sen on land»)"
    ),
    "host_name": N_("👤 Who hosts it? Type the host's name."),
    "host_title": N_("🏷 The host's title (for example «Chairman of the People's Committee of Thành Sen»)?"),
    "kind": N_("Which kind of meeting is it?"),
    "when": N_("📅 When does it start? Type the date and time as dd/mm/yyyy hh:mm (Hà Tĩnh time)."),
    "place": N_("📍 Where does it take place? Type the address."),
    "localities": N_(
        "🏘 Which communes or wards does it concern? Type a name to search, tap to add or remove; tap Done when finished."
    ),
    "topics": N_("🗂 Which topics? Tap to add or remove, then Done."),
    "capacity": N_("👥 How many people can attend? Type a number, or tap «No limit»."),
}
TEXT_STEPS = ("title", "host_name", "host_title", "when", "place", "capacity")
FIELD_MAX = 200
NOT_CURRENT = N_("This button is no longer valid.")
NOT_ALLOWED = N_("Only administrators and the dialogue's organiser can do this.")
NO_TEXT = N_("This message shows no text. Please type it again.")


def _cb(action: str, *args: str | int) -> str:
    return callbacks.build(NS, action, *args)


def _user_id(update: Update) -> int:
    return update.effective_user.id if update.effective_user else 0


async def _actor(update: Update, deps: Deps) -> Actor:
    return await deps.cases.actor(_user_id(update))


# ---------------------------------------------------------------------------------------- rendering


def dialogue_card(_: Gettext, dialogue: Dialogue, deps: Deps, taken: int | None = None) -> str:
    """The dialogue as citizens see it (the preview shows exactly this)."""
    directory = deps.directory
    places = [directory.locality(c) for c in dialogue.localities]
    topics = [directory.category(k) for k in dialogue.topics]
    lines = [
        "🎙 <b>{}</b>".format(esc(dialogue.title)),
        "{} · #{}".format(_(KIND_LABELS[dialogue.kind]), esc(dialogue.id or "…")),
        "👤 {} {}, {}".format(_("Host:"), esc(dialogue.host_name), esc(dialogue.host_title)),
        "📅 {} {}".format(_("When:"), local_time(dialogue.starts_at)),
        "📍 {} {}".format(_("Where:"), esc(dialogue.place)),
    ]
    if places:
        lines.append("🏘 {} {}".format(_("For:"), esc(", ".join(p.name for p in places if p))))
    if topics:
        lines.append("🗂 {} {}".format(_("Topics:"), esc(", ".join(t.name(_.lang) for t in topics if t))))
    if dialogue.capacity:
        seats = _("{capacity} seats").format(capacity=_.number(dialogue.capacity))
        if taken is not None:
            seats += " · " + _("{left} left").format(left=_.number(max(dialogue.capacity - taken, 0)))
        lines.append("👥 " + seats)
    if dialogue.status == DialogueStatus.CANCELLED:
        lines.append("❌ " + _("Cancelled"))
    return "\n".join(lines)


def citizen_keyboard(_: Gettext, dialogue: Dialogue) -> InlineKeyboardMarkup:
    """Attend, submit a question, remind me."""
    return InlineKeyboardMarkup(
        [
            [button(_("🙋 Attend"), _cb("att", dialogue.id))],
            [button(_("❓ Submit a question"), _cb("ask", dialogue.id))],
            [button(_("🔔 Remind me"), _cb("rem", dialogue.id))],
        ]
    )


def announcement(_: Gettext, dialogue: Dialogue, deps: Deps) -> str:
    """What publishing sends to subscribers."""
    return (
        _("📣 A dialogue with citizens is announced:")
        + "\n\n"
        + dialogue_card(_, dialogue, deps)
        + "\n\n"
        + _("Send /dialogues to attend, submit a question in advance or be reminded.")
    )


def follow_up_text(_: Gettext, counts: FollowUp) -> str:
    """The follow-up counts."""
    return _(
        "📊 Proposals raised: {raised} · answered on the spot: {answered} · in progress: {in_progress} · "
        "resolved: {resolved} · overdue: {overdue}"
    ).format(
        raised=counts.raised,
        answered=counts.answered,
        in_progress=counts.in_progress,
        resolved=counts.resolved,
        overdue=counts.overdue,
    )


def _question_line(
    _: Gettext, petition: Petition, deps: Deps, dialogue: Dialogue | None, co_signers: int = 0
) -> str:
    locality = deps.directory.locality(petition.locality_code)
    line = "• <b>{}</b> · {} · {}".format(
        esc(petition.id),
        esc(locality.name if locality else petition.locality_code),
        _(STATUS_LABELS[petition.status]),
    )
    if co_signers:
        line += " · 👥 " + _("{count} joined").format(count=co_signers)
    if petition.overdue:
        line += " ⏰"
    short = petition.description if len(petition.description) <= 120 else petition.description[:120] + "…"
    line += "\n  <i>{}</i>".format(esc(short))
    outcome = dialogue.outcomes.get(petition.id) if dialogue else None
    if outcome is not None:
        if outcome.kind == "answer":
            line += "\n  ✅ " + _("Answered on the spot")
        elif outcome.due_at is not None:
            line += "\n  📌 " + _("Commitment, due {due}").format(due=local_time(outcome.due_at))
    return line


# ---------------------------------------------------------------------------------------- commands


async def on_newdialogue(update: Update, context: BotContext) -> None:
    """/newdialogue: start the guided creation (admins and supervisors)."""
    turn = await begin(update, context)
    await turn.save()
    actor = await _actor(update, turn.deps)
    if not turn.deps.dialogues.may_manage(actor):
        await send(update, turn._("Only administrators and commune chairmen can organise dialogues."))
        return
    state: dict[str, object] = {"mode": "create", "step": "title", "localities": [], "topics": []}
    await turn.deps.dialogues.repo.save_compose(actor.telegram_id, state)
    await _prompt(update, turn, state)


async def on_dialogues(update: Update, context: BotContext) -> None:
    """/dialogues: the upcoming dialogues, the citizen's localities first, each with its buttons."""
    turn = await begin(update, context)
    await turn.save()
    _ = turn._
    deps = turn.deps
    upcoming = await deps.dialogues.upcoming()
    actor = await _actor(update, deps)
    if deps.dialogues.may_manage(actor):
        await send(
            update, _("To organise a dialogue: /newdialogue. To manage one: /dialogue &lt;number&gt;.")
        )
    if not upcoming:
        await send(update, _("No dialogue is announced at the moment."), main_menu(_))
        return
    mine = await deps.dialogues.citizen_localities(turn.citizen.id)
    mine |= set(await deps.subscriptions.of(_user_id(update)))
    upcoming.sort(key=lambda d: (not (mine & set(d.localities)), d.starts_at))
    await send(update, _("🎙 Upcoming dialogues ({count}):").format(count=len(upcoming)))
    for dialogue in upcoming[:8]:
        taken = len(await deps.dialogues.repo.attendees(dialogue.id))
        await send(update, dialogue_card(_, dialogue, deps, taken), citizen_keyboard(_, dialogue))


async def on_dialogue(update: Update, context: BotContext) -> None:
    """/dialogue <id>: management and follow-up for its runners, its questions for officials."""
    turn = await begin(update, context)
    await turn.save()
    _ = turn._
    args = context.args or []
    dialogue = await turn.deps.dialogues.repo.get(args[0].lstrip("#")) if args else None
    if dialogue is None:
        await send(
            update, _("Usage: /dialogue &lt;number&gt;, for example /dialogue 1. /dialogues lists them.")
        )
        return
    await _show(update, turn, dialogue, edit=False)


async def _show(update: Update, turn: Turn, dialogue: Dialogue, *, edit: bool) -> None:
    _ = turn._
    deps = turn.deps
    actor = await _actor(update, deps)
    questions = await deps.dialogues.questions(dialogue.id)
    # The agenda: the questions most citizens joined ("me too") first, then the oldest.
    joined = await deps.cosign.counts([p.id for p in questions])
    questions.sort(key=lambda p: -joined.get(p.id, 0))
    if deps.dialogues.may_run(actor, dialogue):
        lines = [dialogue_card(_, dialogue, deps, len(await deps.dialogues.repo.attendees(dialogue.id)))]
        lines.append("ℹ️ " + _(STATUS_TEXT[dialogue.status]))
        lines.append(follow_up_text(_, follow_up(dialogue, questions)))
        if questions:
            lines += ["", "<b>{}</b>".format(_("Questions and proposals"))]
            lines += [_question_line(_, p, deps, dialogue, joined.get(p.id, 0)) for p in questions[:20]]
        await _send_long(update, "\n".join(lines), _runner_keyboard(_, dialogue, questions), edit=edit)
        return
    if actor.is_staff:
        officials = await deps.cases.officials_by_id()
        mine = [p for p in questions if deps.cases.may_act_now(actor, p, officials)]
        lines = [
            dialogue_card(_, dialogue, deps),
            "",
            "<b>{}</b> ({})".format(_("Questions for you"), len(mine)),
        ]
        lines += [_question_line(_, p, deps, None, joined.get(p.id, 0)) for p in mine[:30]]
        rows = [[button(f"📋 {p.id}", callbacks.build("o", "card", p.id))] for p in mine[:10]]
        await _send_long(update, "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None, edit=edit)
        return
    if dialogue.status == DialogueStatus.PUBLISHED:
        await send(update, dialogue_card(_, dialogue, deps), citizen_keyboard(_, dialogue))
    else:
        await send(update, _("This dialogue is not open."))


async def _send_long(update: Update, text: str, markup: InlineKeyboardMarkup | None, *, edit: bool) -> None:
    # Never cut (a cut HTML text can end inside a tag): send() and edit_or_send() split it.
    if edit:
        await edit_or_send(update, text, markup)
    else:
        await send(update, text, markup)


def _runner_keyboard(_: Gettext, dialogue: Dialogue, questions: list[Petition]) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if dialogue.status == DialogueStatus.DRAFT:
        rows.append([button(_("📣 Publish"), _cb("pub", dialogue.id))])
    if dialogue.status in (DialogueStatus.DRAFT, DialogueStatus.PUBLISHED):
        rows.append(
            [
                button(_("🕒 Reschedule"), _cb("rs", dialogue.id)),
                button(_("❌ Cancel the dialogue"), _cb("cx", dialogue.id)),
            ]
        )
    if dialogue.status == DialogueStatus.PUBLISHED:
        rows.append([button(_("✅ Mark as held"), _cb("held", dialogue.id))])
    if dialogue.status == DialogueStatus.HELD:
        for petition in questions:
            if petition.id not in dialogue.outcomes and petition.is_open and len(rows) < 12:
                rows.append(
                    [
                        button(
                            _("✍️ Record the answer: {ticket}").format(ticket=petition.id),
                            _cb("ans", dialogue.id, petition.id),
                        )
                    ]
                )
        rows.append([button(_("➕ A proposal raised on the spot"), _cb("prop", dialogue.id))])
    return InlineKeyboardMarkup(rows)


# ---------------------------------------------------------------------------------------- compose


async def _prompt(update: Update, turn: Turn, state: dict[str, Any]) -> None:
    _ = turn._
    deps = turn.deps
    step = state["step"]
    cancel_row = [button(_("✖️ Cancel"), _cb("x"))]
    if state["mode"] == "create":
        if step == "kind":
            rows = [[button(_(label), _cb("k", kind.value))] for kind, label in KIND_LABELS.items()]
            await send(update, _(PROMPTS["kind"]), InlineKeyboardMarkup([*rows, cancel_row]))
        elif step == "localities":
            chosen = [deps.directory.locality(c) for c in state["localities"]]
            text = _(PROMPTS["localities"])
            if chosen:
                text += "\n" + _("Chosen:") + " " + esc(", ".join(c.name for c in chosen if c))
            rows = [[button(f"✅ {c.name}", _cb("lc", c.code))] for c in chosen if c]
            rows.append([button(_("☑️ Done"), _cb("ld"))])
            await send(update, text, InlineKeyboardMarkup([*rows, cancel_row]))
        elif step == "topics":
            await send(update, _(PROMPTS["topics"]), _topics_keyboard(_, deps, state))
        elif step == "capacity":
            markup = InlineKeyboardMarkup([[button(_("No limit"), _cb("nc"))], cancel_row])
            await send(update, _(PROMPTS["capacity"]), markup)
        elif step == "preview":
            await _preview(update, turn, state)
        else:
            await send(update, _(PROMPTS[str(step)]), InlineKeyboardMarkup([cancel_row]))
        return
    if state["mode"] == "reschedule":
        await send(update, _(PROMPTS["when"]), InlineKeyboardMarkup([cancel_row]))
    elif state["mode"] == "outcome":
        if step == "text":
            await send(
                update,
                _("✍️ {ticket}: type the answer given, or the commitment made, at the dialogue.").format(
                    ticket=esc(state["ticket"])
                ),
                InlineKeyboardMarkup([cancel_row]),
            )
        elif step == "kind":
            rows = [
                [button(_("✅ Answered on the spot"), _cb("oa"))],
                [button(_("📌 A commitment: someone must act"), _cb("oc"))],
            ]
            await send(
                update,
                _("Was it answered on the spot, or is it a commitment?"),
                InlineKeyboardMarkup([*rows, cancel_row]),
            )
        elif step == "official":
            officials = [o for o in (await deps.cases.officials_by_id()).values() if o.is_active]
            petition = await deps.cases.get(str(state["ticket"]))
            officials.sort(key=lambda o: (o.id != petition.assignee_id, o.name))
            rows = [[button(f"{o.name} ({o.title})", _cb("of", o.id))] for o in officials[:15]]
            await send(update, _("Who must act?"), InlineKeyboardMarkup([*rows, cancel_row]))
        elif step == "due":
            await send(
                update, _("📅 By when? Type the date as dd/mm/yyyy."), InlineKeyboardMarkup([cancel_row])
            )
    elif state["mode"] == "proposal":
        if step == "text":
            await send(
                update, _("➕ Type the proposal raised at the dialogue."), InlineKeyboardMarkup([cancel_row])
            )
        elif step == "locality":
            await send(
                update,
                _("📍 Which commune or ward does it concern? Type its name."),
                InlineKeyboardMarkup([cancel_row]),
            )
        elif step == "category":
            rows = [[button(c.name(_.lang), _cb("pc", c.key))] for c in deps.directory.categories]
            await send(update, _("🗂 Which topic?"), InlineKeyboardMarkup([*rows, cancel_row]))


def _topics_keyboard(_: Gettext, deps: Deps, state: dict[str, Any]) -> InlineKeyboardMarkup:
    chosen = set(state["topics"])
    rows = [
        [button(("✅ " if c.key in chosen else "") + c.name(_.lang), _cb("tp", c.key))]
        for c in deps.directory.categories
    ]
    rows.append([button(_("☑️ Done"), _cb("td"))])
    rows.append([button(_("✖️ Cancel"), _cb("x"))])
    return InlineKeyboardMarkup(rows)


def _draft_dialogue(deps: Deps, actor: Actor, state: dict[str, Any]) -> Dialogue:
    from datetime import datetime

    now = deps.clock.now()
    return Dialogue(
        id="",
        title=state["title"],
        host_name=state["host_name"],
        host_title=state["host_title"],
        kind=DialogueKind(state["kind"]),
        starts_at=datetime.fromisoformat(state["starts_at"]),
        place=state["place"],
        localities=state["localities"],
        topics=state["topics"],
        capacity=state.get("capacity"),
        created_by=actor.ref,
        created_by_telegram=actor.telegram_id,
        created_at=now,
        updated_at=now,
    )


async def _preview(update: Update, turn: Turn, state: dict[str, Any]) -> None:
    _ = turn._
    actor = await _actor(update, turn.deps)
    dialogue = _draft_dialogue(turn.deps, actor, state)
    await send(update, _("👁 Preview — citizens will see exactly this:"))
    await send(update, dialogue_card(_, dialogue, turn.deps))
    markup = InlineKeyboardMarkup(
        [
            [button(_("📣 Publish"), _cb("pp"))],
            [button(_("💾 Save without publishing"), _cb("sv"))],
            [button(_("✖️ Cancel"), _cb("x"))],
        ]
    )
    await send(
        update,
        _("Publish it now? Subscribers of its communes and province-wide subscribers will be told."),
        markup,
    )


async def _read_start(update: Update, turn: Turn, text: str) -> datetime | None:
    """The typed start time of a dialogue, or None after telling the organiser what is wrong."""
    _ = turn._
    try:
        return turn.deps.dialogues.parse_start(text)
    except BadDate:
        await send(
            update,
            _(
                "I could not read «{text}». Please type it as dd/mm/yyyy hh:mm, for example 25/12/2026 08:00."
            ).format(text=esc(text[:40])),
        )
    except PastDate:
        await send(update, _("That date and time has already passed. Please give a future one."))
    return None


async def on_text(update: Update, turn: Turn, text: str) -> bool:
    """Text that continues a staff member's dialogue conversation; False when there is none."""
    deps = turn.deps
    state = await deps.dialogues.repo.compose(_user_id(update))
    if state is None:
        return False
    _ = turn._
    await turn.save()
    step = str(state["step"])
    text = text.strip()
    mode = state["mode"]
    if mode == "create" and step in TEXT_STEPS:
        if is_visibly_empty(text):
            await send(update, _(NO_TEXT))
            return True
        if len(text) > FIELD_MAX:
            await send(update, _("Please type at most {max} characters.").format(max=FIELD_MAX))
            return True
        if step == "when":
            starts_at = await _read_start(update, turn, text)
            if starts_at is None:
                return True
            state["starts_at"] = starts_at.isoformat()
        elif step == "capacity":
            if not text.isdigit() or not 0 < int(text) <= 100_000:
                await send(update, _("Please type a whole number of seats, or tap «No limit»."))
                return True
            state["capacity"] = int(text)
        else:
            state[step] = text
        state["step"] = _next_create_step(step)
    elif mode == "create" and step == "localities":
        search = deps.directory.search_localities(text)
        if not search.matches:
            await send(
                update,
                _("I could not find a commune or ward called «{query}». Try another name.").format(
                    query=esc(text[:80])
                ),
            )
            return True
        rows = [[button(m.locality.name, _cb("lc", m.locality.code))] for m in search.matches]
        rows.append([button(_("☑️ Done"), _cb("ld"))])
        await deps.dialogues.repo.save_compose(_user_id(update), state)
        await send(update, _("Tap to add:"), InlineKeyboardMarkup(rows))
        return True
    elif mode == "reschedule":
        when = await _read_start(update, turn, text)
        if when is None:
            return True
        await deps.dialogues.repo.save_compose(_user_id(update), None)
        await _reschedule(update, turn, str(state["dialogue"]), when)
        return True
    elif mode == "outcome" and step == "text":
        if is_visibly_empty(text):
            await send(update, _(NO_TEXT))
            return True
        if note_length(text) > NOTE_MAX:  # refused with its length, never cut
            await send(update, too_long(_, NoteTooLong(note_length(text), NOTE_MAX)))
            return True
        state["text"] = text
        state["step"] = "kind"
    elif mode == "outcome" and step == "due":
        try:
            due = deps.dialogues.parse_due(text)
        except BadDate:
            await send(
                update,
                _("I could not read «{text}». Please type the date as dd/mm/yyyy.").format(
                    text=esc(text[:40])
                ),
            )
            return True
        except PastDate:
            await send(update, _("That date has already passed. Please give a future one."))
            return True
        await deps.dialogues.repo.save_compose(_user_id(update), None)
        await _record(update, turn, state, due)
        return True
    elif mode == "proposal" and step == "text":
        if visible_length(text) < 10:
            await send(update, _("Please write at least 10 characters."))
            return True
        if note_length(text) > NOTE_MAX:  # refused with its length, never cut
            await send(update, too_long(_, NoteTooLong(note_length(text), NOTE_MAX)))
            return True
        state["text"] = text
        state["step"] = "locality"
    elif mode == "proposal" and step == "locality":
        search = deps.directory.search_localities(text)
        if not search.matches:
            await send(
                update,
                _("I could not find a commune or ward called «{query}». Try another name.").format(
                    query=esc(text[:80])
                ),
            )
            return True
        rows = [[button(m.locality.name, _cb("pl", m.locality.code))] for m in search.matches]
        await send(update, _("Which one?"), InlineKeyboardMarkup(rows))
        return True
    else:
        await send(update, _("Please use the buttons above, or tap Cancel."))
        return True
    await deps.dialogues.repo.save_compose(_user_id(update), state)
    await _prompt(update, turn, state)
    return True


def _next_create_step(step: str) -> str:
    order = [
        "title",
        "host_name",
        "host_title",
        "kind",
        "when",
        "place",
        "localities",
        "topics",
        "capacity",
        "preview",
    ]
    return order[order.index(step) + 1]


# ---------------------------------------------------------------------------------------- buttons


async def on_button(update: Update, context: BotContext) -> None:
    """Every ``dg:`` button."""
    query = update.callback_query
    assert query is not None
    data = callbacks.parse(query.data)
    turn = await begin(update, context)
    _ = turn._
    if data is None:
        await query.answer(_(NOT_CURRENT), show_alert=True)
        return
    try:
        if data.action in ("att", "ask", "rem", "lv"):
            await _citizen_button(update, turn, data)
        elif data.action in ("pub", "rs", "cx", "held", "ans", "prop", "v"):
            await _runner_button(update, turn, data)
        else:
            await _compose_button(update, turn, data)
    except NotAllowed:
        await query.answer(_(NOT_ALLOWED), show_alert=True)
    except (StaleAction, UnknownChoice):
        await query.answer(_(NOT_CURRENT), show_alert=True)


async def _citizen_button(update: Update, turn: Turn, data: callbacks.Callback) -> None:
    query = update.callback_query
    assert query is not None
    _ = turn._
    service = turn.deps.dialogues
    dialogue_id = data.arg(0)
    try:
        dialogue = await service.open_for_citizens(dialogue_id)
    except StaleAction:
        await query.answer(_("This dialogue is no longer open."), show_alert=True)
        return
    if data.action == "att":
        try:
            new = await service.attend(dialogue_id, _user_id(update))
        except DialogueFull:
            await query.answer(_("Sorry, this dialogue is full: every seat is taken."), show_alert=True)
            return
        await query.answer()
        await remember_language(turn)  # for the reminders
        leave = InlineKeyboardMarkup([[button(_("🚪 Give up my seat"), _cb("lv", dialogue_id))]])
        if new:
            await send(
                update,
                _(
                    "🙋 You are registered for «{title}» on {when}. You will be reminded the day before and an hour before."
                ).format(title=esc(dialogue.title), when=local_time(dialogue.starts_at)),
                leave,
            )
            await service.repo.add_reminder(dialogue_id, _user_id(update))
        else:
            await send(
                update,
                _("You are already registered for «{title}».").format(title=esc(dialogue.title)),
                leave,
            )
        return
    if data.action == "lv":
        left = await service.leave(dialogue_id, _user_id(update))
        await query.answer()
        await close_keyboard(
            update,
            (
                _(
                    "🚪 You gave up your seat at «{title}»; it is free for someone else. Thank you for saying so."
                )
                if left
                else _("You are not registered for «{title}».")
            ).format(title=esc(dialogue.title)),
        )
        return
    if data.action == "rem":
        new = await service.remind_me(dialogue_id, _user_id(update))
        await query.answer()
        await remember_language(turn)
        await send(
            update,
            (
                _("🔔 You will be reminded 24 hours and 1 hour before «{title}».")
                if new
                else _("🔔 You already asked to be reminded of «{title}».")
            ).format(title=esc(dialogue.title)),
        )
        return
    await query.answer()
    if not has_petition_consent(turn.citizen):
        from handlers.citizen.start import ask_consent

        await send(update, _("Before you send a petition, please read and answer the consent request."))
        await ask_consent(update, turn, then="new", dialogue_id=dialogue.id)  # the question follows
        return
    await _start_question(update, turn, dialogue)


async def ask_question(update: Update, turn: Turn, dialogue_id: str) -> None:
    """After the consent form: the question for ``dialogue_id`` the citizen set out to ask."""
    try:
        dialogue = await turn.deps.dialogues.open_for_citizens(dialogue_id)
    except StaleAction:
        await send(update, turn._("This dialogue is no longer open."))
        return
    await _start_question(update, turn, dialogue)


async def _start_question(update: Update, turn: Turn, dialogue: Dialogue) -> None:
    from handlers.citizen.intake import prompt_current_step

    draft = turn.deps.intake.start_draft(turn.session)
    draft.dialogue_id = dialogue.id
    await turn.save()
    await send(
        update,
        turn._(
            "❓ Your question for «{title}» is a petition like any other: it goes to the officials responsible, who will prepare the answer."
        ).format(title=esc(dialogue.title)),
    )
    await prompt_current_step(update, turn)


async def _runner_button(update: Update, turn: Turn, data: callbacks.Callback) -> None:
    query = update.callback_query
    assert query is not None
    _ = turn._
    deps = turn.deps
    actor = await _actor(update, deps)
    dialogue = await deps.dialogues.for_runner(actor, data.arg(0))
    if data.action == "v":
        await query.answer()
        await _show(update, turn, dialogue, edit=True)
    elif data.action == "pub":
        await query.answer()
        await close_keyboard(update)
        await _publish(update, turn, actor, dialogue.id)
    elif data.action == "rs":
        if dialogue.status not in (DialogueStatus.DRAFT, DialogueStatus.PUBLISHED):
            raise StaleAction(dialogue.id)
        await query.answer()
        state: dict[str, object] = {"mode": "reschedule", "step": "when", "dialogue": dialogue.id}
        await deps.dialogues.repo.save_compose(actor.telegram_id, state)
        await _prompt(update, turn, state)
    elif data.action == "cx":
        after = await deps.dialogues.cancel(actor, dialogue.id)
        await query.answer(_("Cancelled."))
        await close_keyboard(update)
        count = await _tell_concerned(deps, after, "dialogue_cancelled", "cx")
        await send(
            update,
            _("❌ «{title}» is cancelled; {count} people were told.").format(
                title=esc(after.title), count=_.number(count)
            ),
        )
    elif data.action == "held":
        after = await deps.dialogues.mark_held(actor, dialogue.id)
        await query.answer()
        await close_keyboard(update)
        await send(
            update,
            _(
                "✅ «{title}» is marked as held. Now record the answer or commitment for each question."
            ).format(title=esc(after.title)),
        )
        await _show(update, turn, after, edit=False)
    elif data.action == "ans":
        ticket = data.arg(1)
        if dialogue.status != DialogueStatus.HELD or ticket not in await deps.dialogues.repo.question_tickets(
            dialogue.id
        ):
            raise StaleAction(dialogue.id)
        await query.answer()
        state = {"mode": "outcome", "step": "text", "dialogue": dialogue.id, "ticket": ticket}
        await deps.dialogues.repo.save_compose(actor.telegram_id, state)
        await _prompt(update, turn, state)
    elif data.action == "prop":
        if dialogue.status != DialogueStatus.HELD:
            raise StaleAction(dialogue.id)
        await query.answer()
        state = {"mode": "proposal", "step": "text", "dialogue": dialogue.id}
        await deps.dialogues.repo.save_compose(actor.telegram_id, state)
        await _prompt(update, turn, state)


async def _compose_button(update: Update, turn: Turn, data: callbacks.Callback) -> None:
    query = update.callback_query
    assert query is not None
    _ = turn._
    deps = turn.deps
    repo = deps.dialogues.repo
    user_id = _user_id(update)
    state = await repo.compose(user_id)
    if state is None:
        raise StaleAction("compose")
    actor = await _actor(update, deps)
    if not deps.dialogues.may_manage(actor):
        await repo.save_compose(user_id, None)
        raise NotAllowed("compose")
    action, arg = data.action, data.arg(0)
    mode, step = state["mode"], state["step"]
    if action == "x":
        await repo.save_compose(user_id, None)
        await query.answer(_("Cancelled."))
        await close_keyboard(update, _("Cancelled."))
        return
    if mode == "create" and step == "kind" and action == "k":
        if arg not in {k.value for k in DialogueKind}:
            raise UnknownChoice(arg)
        state["kind"] = arg
        state["step"] = "when"
    elif mode == "create" and step == "localities" and action == "lc":
        if deps.directory.locality(arg) is None:
            raise UnknownChoice(arg)
        chosen: list[str] = list(state["localities"])  # type: ignore[call-overload]
        if arg in chosen:
            chosen.remove(arg)
        else:
            chosen.append(arg)
        state["localities"] = chosen
        await repo.save_compose(user_id, state)
        await query.answer()
        await close_keyboard(update)
        await _prompt(update, turn, state)
        return
    elif mode == "create" and step == "localities" and action == "ld":
        if not state["localities"]:
            await query.answer(_("Choose at least one commune or ward."), show_alert=True)
            return
        state["step"] = "topics"
    elif mode == "create" and step == "topics" and action == "tp":
        if deps.directory.category(arg) is None:
            raise UnknownChoice(arg)
        topics: list[str] = list(state["topics"])  # type: ignore[call-overload]
        topics.remove(arg) if arg in topics else topics.append(arg)
        state["topics"] = topics
        await repo.save_compose(user_id, state)
        await query.answer()
        await edit_or_send(update, _(PROMPTS["topics"]), _topics_keyboard(_, deps, state))
        return
    elif mode == "create" and step == "topics" and action == "td":
        state["step"] = "capacity"
    elif mode == "create" and step == "capacity" and action == "nc":
        state["capacity"] = None
        state["step"] = "preview"
    elif mode == "create" and step == "preview" and action in ("pp", "sv"):
        dialogue = await deps.dialogues.create(actor, state)
        await repo.save_compose(user_id, None)
        await query.answer()
        await close_keyboard(update)
        if action == "pp":
            await _publish(update, turn, actor, dialogue.id)
        else:
            await send(
                update, _("💾 Saved as #{id}. /dialogue {id} to publish it later.").format(id=dialogue.id)
            )
        return
    elif mode == "outcome" and step == "kind" and action in ("oa", "oc"):
        if action == "oa":
            await repo.save_compose(user_id, None)
            await query.answer()
            await close_keyboard(update)
            await _record(update, turn, state, None)
            return
        state["step"] = "official"
    elif mode == "outcome" and step == "official" and action == "of":
        official = (await deps.cases.officials_by_id()).get(arg)
        if official is None or not official.is_active:
            raise UnknownChoice(arg)
        state["official"] = arg
        state["step"] = "due"
    elif mode == "proposal" and step == "locality" and action == "pl":
        if deps.directory.locality(arg) is None:
            raise UnknownChoice(arg)
        state["locality"] = arg
        state["step"] = "category"
    elif mode == "proposal" and step == "category" and action == "pc":
        if deps.directory.category(arg) is None:
            raise UnknownChoice(arg)
        await repo.save_compose(user_id, None)
        await query.answer()
        await close_keyboard(update)
        await _raise_proposal(update, turn, actor, state, arg)
        return
    else:
        raise StaleAction(action)
    await repo.save_compose(user_id, state)
    await query.answer()
    await close_keyboard(update)
    await _prompt(update, turn, state)


# ---------------------------------------------------------------------------------------- actions


def _broadcasts(deps: Deps) -> Any:
    """The broadcast engine."""
    return deps.broadcasts


async def _publish(update: Update, turn: Turn, actor: Actor, dialogue_id: str) -> None:
    _ = turn._
    deps = turn.deps
    try:
        dialogue = await deps.dialogues.publish(actor, dialogue_id)
    except PastDate:
        await send(update, _("This dialogue's time has passed: reschedule it first."))
        return
    texts = {lang: announcement(deps.translator(lang), dialogue, deps) for lang in ("vi", "en")}
    engine = _broadcasts(deps)
    if engine is None:
        log.error("dialogue.no_broadcast_engine", dialogue=dialogue.id)
        await send(
            update, _("📣 #{id} is published, but announcements cannot be sent now.").format(id=dialogue.id)
        )
        return
    broadcast_id = await engine.start(
        actor_ref=actor.ref,
        audience=Audience(localities=dialogue.localities, province_wide=True),
        texts=texts,
        kind="dialogue",
        ref=dialogue.id,
        progress_chat_id=actor.telegram_id,
    )
    await deps.dialogues.set_broadcast(dialogue.id, str(broadcast_id))
    await send(
        update,
        _(
            "📣 #{id} is published; the announcement is being sent to subscribers. /dialogue {id} to follow it."
        ).format(id=dialogue.id),
    )


async def _reschedule(update: Update, turn: Turn, dialogue_id: str, when: Any) -> None:
    _ = turn._
    deps = turn.deps
    actor = await _actor(update, deps)
    try:
        after = await deps.dialogues.reschedule(actor, dialogue_id, when)
    except NotAllowed:
        await send(update, _(NOT_ALLOWED))
        return
    except StaleAction:
        await send(update, _("This dialogue can no longer be rescheduled."))
        return
    count = await _tell_concerned(deps, after, "dialogue_moved", "rs")
    await send(
        update,
        _("🕒 «{title}» now starts on {when}; {count} people were told.").format(
            title=esc(after.title), when=local_time(after.starts_at), count=_.number(count)
        ),
    )


async def _record(update: Update, turn: Turn, state: dict[str, Any], due: Any) -> None:
    _ = turn._
    deps = turn.deps
    actor = await _actor(update, deps)
    try:
        dialogue, petition = await deps.dialogues.record_outcome(
            actor,
            str(state["dialogue"]),
            str(state["ticket"]),
            text=str(state["text"]),
            official_id=state.get("official") if due is not None else None,
            due_at=due,
        )
    except NotAllowed:
        await send(update, _(NOT_ALLOWED))
        return
    except (StaleAction, UnknownChoice):
        await send(update, _("This question can no longer be answered here (it changed meanwhile)."))
        return
    outcome = dialogue.outcomes[petition.id]
    outcomes = await deps.outbox.flush(
        (petition.citizen_id, *([f"official:{petition.assignee_id}"] if petition.assignee_id else []))
    )
    told = outcomes.get("outcome_news") == "delivered"
    if outcome.kind == "answer":
        done = _("✅ Recorded: {ticket} answered on the spot.").format(ticket=esc(petition.id))
    else:
        due_text = local_time(outcome.due_at) if outcome.due_at else ""
        done = _("📌 Recorded: {ticket} must be resolved by {due}; it is tracked like any case.").format(
            ticket=esc(petition.id), due=due_text
        )
    if petition.channel == "tg":
        done += "\n" + (_(TOLD_CITIZEN) if told else _(WILL_TELL_CITIZEN))
    await send(update, done)
    await _show(update, turn, dialogue, edit=False)


async def _raise_proposal(
    update: Update, turn: Turn, actor: Actor, state: dict[str, Any], category: str
) -> None:
    _ = turn._
    deps = turn.deps
    try:
        petition = await deps.dialogues.raise_proposal(
            actor,
            str(state["dialogue"]),
            text=str(state["text"]),
            locality_code=str(state["locality"]),
            category=category,
            language=deps.translator.default_language,
        )
    except NotAllowed:
        await send(update, _(NOT_ALLOWED))
        return
    except (StaleAction, UnknownChoice):
        await send(update, _("This dialogue can no longer take proposals."))
        return
    await deps.outbox.flush((f"official:{petition.assignee_id}",) if petition.assignee_id else ())
    await send(
        update,
        _("➕ Recorded as {ticket} and sent to the officials responsible.").format(ticket=esc(petition.id)),
    )


def _citizen_tg(petition: Petition) -> int | None:
    if petition.channel != "tg":
        return None
    return int(petition.citizen_id.split(":", 1)[1])


# ---------------------------------------------------------------------------------------- delivery


TOLD_CITIZEN = N_("The citizen has been told.")
WILL_TELL_CITIZEN = N_("The citizen will be told as soon as the message can be delivered.")
OUTCOME_TEXTS = {
    "answer": N_("🎙 At the dialogue «{title}», your question {ticket} was answered:"),
    "commitment": N_(
        "🎙 At the dialogue «{title}», a commitment was made about your question {ticket}: {official} must act by {due}."
    ),
}
NOTICE_TEXTS = {
    "dialogue_cancelled": N_("❌ «{title}», planned for {when}, has been cancelled. We apologise."),
    "dialogue_moved": N_("🕒 «{title}» has been moved: it now takes place on {when}, at {place}."),
}
REMINDER_TEXTS = {
    "24h": N_("🔔 Reminder: «{title}» is tomorrow, {when}, at {place}."),
    "1h": N_("🔔 Reminder: «{title}» starts in one hour ({when}), at {place}."),
}


async def deliver_dialogue_entry(out: notify.Outbound, entry: OutboxEntry) -> str:
    """An outbox entry about a dialogue (a reminder, a cancellation, a new time): each person concerned
    gets it once — sent first, then marked, so a crash in between repeats it for one person at most.
    Large audiences go through the broadcast engine."""
    deps = out.deps
    dialogue = await deps.dialogues.repo.get(entry.ticket)
    tag = entry.data.get("tag", "")
    if dialogue is None:
        return "no_dialogue"
    if entry.kind == "dialogue_reminder":
        message = REMINDER_TEXTS.get(entry.data.get("which", ""))
        recipients = await deps.dialogues.repo.attendees(dialogue.id) | await deps.dialogues.repo.to_remind(
            dialogue.id
        )
    else:
        message = NOTICE_TEXTS.get(entry.kind)
        recipients = await deps.dialogues.concerned(dialogue.id, reminders=True)
    if message is None:
        return "unknown"

    def render(_: Gettext) -> str:
        return _(message).format(
            title=esc(dialogue.title), when=local_time(dialogue.starts_at), place=esc(dialogue.place)
        )

    engine = _broadcasts(deps)
    if len(recipients) > DIRECT_MAX and engine is not None:
        texts = {lang: render(deps.translator(lang)) for lang in ("vi", "en")}
        await out.progress.step(
            lambda: engine.start_to(
                actor_ref="system",
                recipients=sorted(recipients),
                texts=texts,
                kind="dialogue_notice",
                ref=f"{dialogue.id}:{tag}",
            )
        )
        return "broadcast"
    for chat_id in sorted(recipients):
        if await deps.dialogues.repo.was_delivered(dialogue.id, tag, chat_id):
            continue
        _ = await notify.language_of(deps, chat_id)
        try:
            await out.bot.send_message(chat_id, render(_))
        except (Forbidden, BadRequest) as exc:
            log.info("dialogue.notice_failed", dialogue=dialogue.id, chat=chat_id, error=str(exc))
        await deps.dialogues.repo.mark_delivered(dialogue.id, tag, chat_id)
    return "delivered"


async def outcome_news(deps: Deps, entry: OutboxEntry, petition: Petition, _: Gettext) -> str:
    """What the citizen is told about their question's outcome at a dialogue."""
    dialogue = await deps.dialogues.repo.get(entry.data.get("dialogue", ""))
    title = esc(dialogue.title) if dialogue else ""
    officials = await deps.cases.officials_by_id()
    who = notify.official_label(officials.get(entry.data.get("official", "")))
    due = entry.data.get("due")
    text = _(OUTCOME_TEXTS[entry.data.get("outcome", "answer")]).format(
        title=title,
        ticket=esc(petition.id),
        official=esc(who),
        due=local_time(datetime.fromisoformat(due)) if due else "",
    )
    return text + "\n<blockquote>{}</blockquote>".format(esc(entry.data.get("text", "")))


async def _tell_concerned(deps: Deps, dialogue: Dialogue, kind: str, prefix: str) -> int:
    """Deliver the notice the change recorded (at once, in this update) and count who got it."""
    await deps.outbox.flush((f"dialogue:{dialogue.id}",))
    return await deps.dialogues.repo.delivered_count(dialogue.id, f"{prefix}-{dialogue.version}")
