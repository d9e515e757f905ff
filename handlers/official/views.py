"""Pure builders of what officials see: the case card, its buttons, prompts, the inbox."""

from __future__ import annotations

from collections.abc import Mapping

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.domain.cases import ALLOWED_FROM, CaseAction
from bot.domain.directory import Directory, PetitionType
from bot.i18n import N_, Gettext
from handlers.citizen.views import (
    DESCRIPTION_MARK,
    STATUS_LABELS,
    TYPE_LABELS,
    attachments_summary,
    button,
    local_time,
    with_description,
)
from handlers.common import Screen, esc
from storage.models import Draft, Official, Petition, PetitionStatus, Unit

INBOX_PAGE = 6

ACTION_LABELS = {
    CaseAction.ACCEPT: N_("✅ Accept"),
    CaseAction.REPLY: N_("💬 Reply"),
    CaseAction.ASK_INFO: N_("❓ Ask for information"),
    CaseAction.TRANSFER: N_("↪️ Transfer"),
    CaseAction.RESOLVE: N_("✔️ Resolve"),
    CaseAction.REJECT: N_("🚫 Reject"),
    CaseAction.EXTEND: N_("⏳ Extend the deadline"),
}
DEADLINE_LABELS = {"accept": N_("Accept by"), "resolve": N_("Resolve by")}
DONE_LABELS = {
    CaseAction.ACCEPT: N_("✅ {ticket} accepted. The citizen has been told."),
    CaseAction.REPLY: N_("💬 Your reply on {ticket} was sent to the citizen."),
    CaseAction.ASK_INFO: N_("❓ Your question on {ticket} was sent to the citizen."),
    CaseAction.TRANSFER: N_("↪️ {ticket} was transferred to {target}."),
    CaseAction.RESOLVE: N_("✔️ {ticket} is resolved. The citizen has been sent your answer."),
    CaseAction.REJECT: N_("🚫 {ticket} was rejected. The citizen has been told why and where to go."),
    CaseAction.EXTEND: N_("⏳ The deadline of {ticket} was extended. The citizen has been told."),
}
PROMPTS = {
    CaseAction.REPLY: N_(
        "💬 Write your reply to the citizen about {ticket}. You can also send a photo or document "
        "with a caption."
    ),
    CaseAction.ASK_INFO: N_("❓ What information do you need from the citizen about {ticket}?"),
    CaseAction.TRANSFER: N_(
        "↪️ Why is {ticket} transferred to {target}? The reason is recorded and shown to the citizen."
    ),
    CaseAction.RESOLVE: N_(
        "✔️ Write the resolution of {ticket}: what was done, concretely. It is sent to the citizen."
    ),
    CaseAction.REJECT: N_("🚫 Why is {ticket} out of scope, and where should the citizen go instead?"),
    CaseAction.EXTEND: N_(
        "⏳ Why does {ticket} need more time? A deadline can be extended once; the reason is "
        "recorded and shown to the citizen."
    ),
}
HISTORY_LABELS = {
    "submitted": N_("Sent by the citizen"),
    "routed": N_("Assigned"),
    "accepted": N_("Accepted"),
    "replied": N_("Replied to the citizen"),
    "asked_info": N_("Asked the citizen for information"),
    "transferred": N_("Transferred"),
    "resolved": N_("Resolved"),
    "rejected": N_("Rejected"),
    "citizen_info": N_("The citizen added information"),
    "extended": N_("Deadline extended"),
    "escalated": N_("Escalated"),
    "reopened": N_("Reopened by the citizen"),
    "confirmed_resolved": N_("The citizen confirmed it is resolved"),
    "closed": N_("Closed"),
    "internal_note": N_("Internal note"),
    "dialogue_answer": N_("Answered at the dialogue"),
    "dialogue_commitment": N_("Commitment made at the dialogue"),
    "raised_at_dialogue": N_("Raised at the dialogue"),
    "co_signer_reopened": N_("Reopened by a co-signer"),
    "topic_changed": N_("Topic corrected"),
}


def case_callback(action: str, petition: Petition, *extra: str | int) -> str:
    """``o:<action>:<ticket>:<stage>[...]``."""
    return callbacks.build("o", action, petition.id, petition.stage, *extra)


def case_card(
    _: Gettext,
    petition: Petition,
    directory: Directory,
    assignee: Official | None,
    unit: Unit | None,
    *,
    header: str | None = None,
    co_signers: int = 0,
) -> str:
    """Everything an official needs to act; never the identity of an anonymous citizen (nor of any
    co-signer: only how many joined)."""
    locality = directory.locality(petition.locality_code)
    category = directory.category(petition.category)
    lines = []
    if header:
        lines += [header, ""]
    lines += [
        "📋 <b>{}</b> · {}".format(esc(petition.id), _(STATUS_LABELS[petition.status])),
        "📍 {} · 🗂 {} · 📌 {}".format(
            esc(locality.name if locality else petition.locality_code),
            esc(category.name(_.lang) if category else petition.category),
            _(TYPE_LABELS[PetitionType(petition.type)]),
        ),
        DESCRIPTION_MARK,
    ]
    if petition.dialogue_id:
        lines.insert(
            -1, "🎙 " + _("Raised for dialogue #{id} (/dialogue {id})").format(id=esc(petition.dialogue_id))
        )
    if petition.attachments:
        draft_like = Draft(id="x", started_at=petition.created_at, attachments=petition.attachments)
        lines.append("📎 {} {}".format(_("Attachments (sent below):"), attachments_summary(_, draft_like)))
    if petition.is_anonymous:
        lines.append("👤 " + _("Anonymous citizen: identity not disclosed"))
    else:
        lines.append(
            "👤 {}".format(", ".join(esc(p) for p in (petition.contact_name, petition.contact_phone) if p))
        )
    if co_signers:
        lines.append(
            "👥 "
            + _(
                "{count} more citizens joined this petition (me too): its status news and your answers "
                "reach them too."
            ).format(count=co_signers)
        )
    lines.append("🕒 {} {}".format(_("Received:"), local_time(petition.created_at)))
    for kind, deadline in petition.deadlines.items():
        label = _(DEADLINE_LABELS[kind]) if kind in DEADLINE_LABELS else esc(kind)
        if deadline.met_at is not None:
            state = "✅"
        elif deadline.overdue_at is not None:
            state = "⏰ " + _("overdue")
        else:
            state = ""
        extended = " (" + _("extended") + ")" if deadline.extended else ""
        lines.append(f"⏳ {label} {local_time(deadline.due_at)}{extended} {state}".rstrip())
    if petition.escalated_to:
        lines.append("⬆️ {} {}".format(_("Escalated, level"), petition.escalation_level))
    if assignee is not None:
        who = f"{assignee.name} ({assignee.title})"
        if unit is not None:
            who += f", {unit.name}"
        lines.append("👮 {} {}".format(_("Assigned to:"), esc(who)))
    return "\n".join(lines)


def case_screen(
    _: Gettext,
    petition: Petition,
    directory: Directory,
    assignee: Official | None,
    unit: Unit | None,
    *,
    header: str | None = None,
    co_signers: int = 0,
) -> Screen:
    """The case card with its buttons (the description apart when the card would be too long)."""
    text = case_card(_, petition, directory, assignee, unit, header=header, co_signers=co_signers)
    return with_description(_, text, petition.description, case_keyboard(_, petition))


def case_keyboard(_: Gettext, petition: Petition) -> InlineKeyboardMarkup:
    """The actions the petition's status allows, and its history."""
    extendable = any(d.is_pending and not d.extended for d in petition.deadlines.values())
    allowed = [
        a for a in CaseAction if petition.status in ALLOWED_FROM[a] and (a != CaseAction.EXTEND or extendable)
    ]
    buttons = [button(_(ACTION_LABELS[a]), case_callback(a.value, petition)) for a in allowed]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    history_row = [button(_("📜 History"), callbacks.build("o", "his", petition.id))]
    if petition.is_open:
        history_row.append(button(_("🗂 Change the topic"), case_callback("top", petition)))
    rows.append(history_row)
    return InlineKeyboardMarkup(rows)


def topic_choices(_: Gettext, petition: Petition, directory: Directory) -> tuple[str, InlineKeyboardMarkup]:
    """The topics an open case can be moved to (the correction is recorded to improve suggestions)."""
    current = directory.category(petition.category)
    text = _(
        "🗂 {ticket} is filed under {topic}. Which topic is it really about? The case stays with its "
        "official (use Transfer to hand it over); the correction helps the bot suggest topics better."
    ).format(ticket=esc(petition.id), topic=esc(current.name(_.lang) if current else petition.category))
    rows = [
        [button(f"{c.emoji} {c.name(_.lang)}".strip(), case_callback("tpc", petition, c.key))]
        for c in directory.categories
        if c.key != petition.category
    ]
    rows.append([button(_("✖️ Cancel"), callbacks.build("o", "cx", petition.id))])
    return text, InlineKeyboardMarkup(rows)


def prompt(
    _: Gettext, action: CaseAction, petition: Petition, templates: list[str], target: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    """Ask for the text that completes an action, offering the unit's saved answers."""
    text = _(PROMPTS[action]).format(ticket=esc(petition.id), target=esc(target))
    rows = []
    if action in (CaseAction.REPLY, CaseAction.RESOLVE, CaseAction.REJECT, CaseAction.ASK_INFO) and templates:
        text += "\n\n" + _("Or pick a saved answer:")
        for index, template in enumerate(templates[:8]):
            text += f"\n{index + 1}. {esc(template)}"
        rows.append(
            [button(str(i + 1), case_callback("tpl", petition, i)) for i in range(min(len(templates), 8))]
        )
    rows.append([button(_("✖️ Cancel"), callbacks.build("o", "cx", petition.id))])
    return text, InlineKeyboardMarkup(rows)


def evidence_prompt(_: Gettext, petition: Petition) -> tuple[str, InlineKeyboardMarkup]:
    """Resolving this category needs a photo or document of the result."""
    text = _(
        "📸 For this category the resolution needs evidence: send a photo or document of the result of "
        "{ticket}."
    ).format(ticket=esc(petition.id))
    return text, InlineKeyboardMarkup([[button(_("✖️ Cancel"), callbacks.build("o", "cx", petition.id))]])


def transfer_targets(
    _: Gettext, petition: Petition, targets: list[Official], units: dict[str, Unit]
) -> tuple[str, InlineKeyboardMarkup]:
    """Whom to transfer the case to."""
    rows = []
    for official in sorted(targets, key=lambda o: (o.unit, o.name)):
        unit = units.get(official.unit)
        label = f"{official.name} · {unit.name if unit else official.unit}"
        rows.append([button(label[:60], case_callback("trt", petition, official.id))])
    rows.append([button(_("✖️ Cancel"), callbacks.build("o", "cx", petition.id))])
    return _("↪️ Transfer {ticket} to whom?").format(ticket=esc(petition.id)), InlineKeyboardMarkup(rows)


def history(_: Gettext, petition: Petition, officials: dict[str, Official]) -> str:
    """The case's history for officials (who did what, when)."""
    lines = ["📜 <b>{}</b>".format(esc(petition.id))]
    for entry in petition.history:
        label = HISTORY_LABELS.get(entry.action)
        who = ""
        if entry.actor.startswith("official:"):
            official = officials.get(entry.actor.split(":", 1)[1])
            who = f" — {esc(official.name)}" if official else ""
        line = "• {} {}{}".format(local_time(entry.at), _(label) if label else esc(entry.action), who)
        if entry.assignee_id:
            target = officials.get(entry.assignee_id)
            line += " → {}".format(esc(target.name if target else entry.assignee_id))
        if entry.note:
            note = entry.note if len(entry.note) <= 300 else entry.note[:300] + "…"
            line += f"\n  <i>{esc(note)}</i>"
        lines.append(line)
    text = "\n".join(lines)
    return text if len(text) <= 3900 else text[:3900] + "…"


INBOX_FILTERS = (
    ("all", N_("All")),
    (PetitionStatus.SUBMITTED.value, N_("New")),
    (PetitionStatus.ACCEPTED.value, N_("Accepted")),
    (PetitionStatus.IN_PROGRESS.value, N_("In progress")),
)


def inbox(
    _: Gettext,
    petitions: list[Petition],
    page: int,
    directory: Directory,
    status: str = "all",
    co_signers: Mapping[str, int] | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A page of open cases (oldest first), filtered by status, with how many citizens joined each."""
    co_signers = co_signers or {}
    chosen = [p for p in petitions if status == "all" or p.status.value == status]
    chosen.sort(key=lambda p: (not p.overdue, p.created_at))  # overdue first, then oldest
    filters = [
        button(("• " if key == status else "") + _(label), callbacks.build("o", "inb", 0, key))
        for key, label in INBOX_FILTERS
    ]
    if not petitions:
        return _("📥 No open cases. Well done!"), None
    page_count = max(1, -(-len(chosen) // INBOX_PAGE))
    page = min(max(page, 0), page_count - 1)
    shown = chosen[page * INBOX_PAGE : (page + 1) * INBOX_PAGE]
    lines = ["📥 <b>{}</b> ({}/{})".format(_("Open cases"), len(chosen), len(petitions)), ""]
    rows = [filters[:2], filters[2:]]
    for petition in shown:
        locality = directory.locality(petition.locality_code)
        lines.append(
            "{}<b>{}</b> · {} · {}".format(
                "⏰ " if petition.overdue else "",
                esc(petition.id),
                local_time(petition.created_at),
                _(STATUS_LABELS[petition.status]),
            )
        )
        joined = co_signers.get(petition.id, 0)
        lines.append(
            "   {}{}".format(
                esc(locality.name if locality else petition.locality_code),
                " · 👥 " + _("{count} joined").format(count=joined) if joined else "",
            )
        )
        rows.append([button(f"📋 {petition.id}", callbacks.build("o", "card", petition.id))])
    nav = []
    if page > 0:
        nav.append(button("◀️", callbacks.build("o", "inb", page - 1, status)))
    if page_count > 1:
        nav.append(button(f"{page + 1}/{page_count}", callbacks.build("o", "inb", page, status)))
    if page < page_count - 1:
        nav.append(button("▶️", callbacks.build("o", "inb", page + 1, status)))
    if nav:
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def inline_rows(markup: InlineKeyboardMarkup | None) -> list[list[InlineKeyboardButton]]:
    """The rows of a markup (empty for None)."""
    return [list(row) for row in markup.inline_keyboard] if markup else []
