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
from handlers.common import Screen, esc, excerpt, length_limit
from storage.models import Draft, HistoryEntry, Official, Petition, PetitionStatus, Unit

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
ASK_QUESTIONS = (
    N_("Could you tell us the exact place: village or residential group, street, house number?"),
    N_("Could you send a photo or a video of the problem?"),
    N_("Since when has this been happening, and is it still going on?"),
    N_("How many households or people are affected?"),
    N_("Have you already raised this with another office? Which one, and what did they answer?"),
    N_("Could you send the documents you mention (decision, contract, certificate)?"),
)
DONE_LABELS = {
    CaseAction.ACCEPT: N_("✅ {ticket} accepted. The citizen has been told."),
    CaseAction.REPLY: N_("💬 Your reply on {ticket} was sent to the citizen."),
    CaseAction.ASK_INFO: N_("❓ Your question on {ticket} was sent to the citizen."),
    CaseAction.TRANSFER: N_("↪️ {ticket} was transferred to {target}."),
    CaseAction.RESOLVE: N_("✔️ {ticket} is resolved. The citizen has been sent your answer."),
    CaseAction.REJECT: N_("🚫 {ticket} was rejected. The citizen has been told why and where to go."),
    CaseAction.EXTEND: N_("⏳ The deadline of {ticket} was extended. The citizen has been told."),
}
SAVED_LABEL = N_("💾 {ticket}: your action is saved.")
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


def role_in_unit(official: Official | None, unit: Unit | None) -> str:
    """Who an official is, by role rather than by name — "Chủ tịch UBND xã Cẩm Trung": their title,
    followed by the unit's name unless the title already says it (not escaped)."""
    if official is None:
        return unit.name if unit else ""
    title = official.title.strip()
    if unit is None or not title:
        return title or (unit.name if unit else "")
    if unit.name.casefold() in title.casefold():
        return title
    return f"{title}, {unit.name}"


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
    officials: Mapping[str, Official] | None = None,
    co_signers: int = 0,
) -> str:
    """Everything an official needs to act; never the identity of an anonymous citizen (nor of any
    co-signer: only how many joined). ``officials`` name who transferred the case."""
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
    transfer = last_transfer(petition)
    if transfer is not None:
        lines.append(
            "↪️ "
            + _("Transferred by {who}, {when}. Reason:").format(
                who=esc(actor_label(_, transfer.actor, officials or {})), when=local_time(transfer.at)
            )
            + "\n<blockquote>{}</blockquote>".format(esc(transfer.note or "—"))
        )
    return "\n".join(lines)


def last_transfer(petition: Petition) -> HistoryEntry | None:
    """The transfer that brought the case to its current assignee, if that is how it came."""
    for entry in reversed(petition.history):
        if entry.action == "transferred":
            return entry if entry.assignee_id == petition.assignee_id else None
        if entry.action in ("routed", "escalated"):
            return None
    return None


def actor_label(_: Gettext, actor: str, officials: Mapping[str, Official]) -> str:
    """Who did something, as staff read it: "Name (Title)", "an administrator", or the raw reference."""
    kind, _sep, ref = actor.partition(":")
    if kind == "official":
        official = officials.get(ref)
        return f"{official.name} ({official.title})" if official else ref
    if kind == "admin":
        return _("an administrator")
    return actor


def case_screen(
    _: Gettext,
    petition: Petition,
    directory: Directory,
    assignee: Official | None,
    unit: Unit | None,
    *,
    header: str | None = None,
    officials: Mapping[str, Official] | None = None,
    co_signers: int = 0,
) -> Screen:
    """The case card with its buttons (the description apart when the card would be too long)."""
    text = case_card(
        _, petition, directory, assignee, unit, header=header, officials=officials, co_signers=co_signers
    )
    return with_description(_, text, petition.description, case_keyboard(_, petition))


def case_keyboard(_: Gettext, petition: Petition) -> InlineKeyboardMarkup:
    """The actions the petition's status allows, and its history."""
    extendable = any(d.is_pending and not d.extended for d in petition.deadlines.values())
    allowed = [
        a for a in CaseAction if petition.status in ALLOWED_FROM[a] and (a != CaseAction.EXTEND or extendable)
    ]
    buttons = [button(_(ACTION_LABELS[a]), case_callback(a.value, petition)) for a in allowed]
    rows = paired(buttons)
    history_row = [button(_("📜 History"), callbacks.build("o", "his", petition.id))]
    if petition.is_open:
        history_row.append(button(_("🗂 Change the topic"), case_callback("top", petition)))
    rows += paired(history_row)
    return InlineKeyboardMarkup(rows)


SHORT_LABEL = 16  # two buttons of at most this many characters share a row on a phone without being cut


def paired(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """Two short buttons to a row; a long label (Vietnamese ones often are) gets a row of its own."""
    rows: list[list[InlineKeyboardButton]] = []
    for item in buttons:
        last = rows[-1] if rows else None
        if (
            last is not None
            and len(last) == 1
            and len(last[0].text) <= SHORT_LABEL
            and len(item.text) <= SHORT_LABEL
        ):
            last.append(item)
        else:
            rows.append([item])
    return rows


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
    text = _(PROMPTS[action]).format(ticket=esc(petition.id), target=esc(target)) + " " + length_limit(_)
    rows = []
    if action in (CaseAction.REPLY, CaseAction.RESOLVE, CaseAction.REJECT, CaseAction.ASK_INFO) and templates:
        text += "\n\n" + (
            _("Or pick a question:") if action == CaseAction.ASK_INFO else _("Or pick a saved answer:")
        )
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


ALL_UNITS = "*"  # the transfer list's "back to the units" argument


def reachable(official: Official) -> bool:
    """Whether a case transferred to this official reaches someone (they joined, or work in a team chat)."""
    return official.is_active and (official.telegram_id is not None or official.team_chat_id is not None)


def transfer_targets(
    _: Gettext,
    petition: Petition,
    targets: list[Official],
    units: dict[str, Unit],
    unit_key: str | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """Whom to transfer the case to: first the unit, then one of its officials who joined the bot."""
    joined = [o for o in targets if reachable(o)]
    by_unit: dict[str, list[Official]] = {}
    for official in joined:
        by_unit.setdefault(official.unit, []).append(official)
    rows = []
    cancel = [button(_("✖️ Cancel"), callbacks.build("o", "cx", petition.id))]
    if unit_key is not None and unit_key != ALL_UNITS and unit_key in by_unit:
        unit = units.get(unit_key)
        for official in sorted(by_unit[unit_key], key=lambda o: o.name):
            rows.append(
                [button(f"{official.name} — {official.title}", case_callback("trt", petition, official.id))]
            )
        rows.append([button(_("◀️ Other units"), case_callback("trf", petition, ALL_UNITS))])
        text = _("↪️ Transfer {ticket} to whom in {unit}?").format(
            ticket=esc(petition.id), unit=esc(unit.name if unit else unit_key)
        )
        return text, InlineKeyboardMarkup([*rows, cancel])

    def unit_name(key: str) -> str:
        found = units.get(key)
        return found.name if found else key

    for key in sorted(by_unit, key=unit_name):
        count = len(by_unit[key])
        rows.append([button(f"{unit_name(key)} ({_.number(count)})", case_callback("trf", petition, key))])
    if not rows:
        text = _(
            "No other official who joined the bot can take {ticket}. Invite one with /invite first."
        ).format(ticket=esc(petition.id))
    else:
        text = _(
            "↪️ Transfer {ticket} to which unit? Only officials who have joined the bot are listed."
        ).format(ticket=esc(petition.id))
    return text, InlineKeyboardMarkup([*rows, cancel])


def history(_: Gettext, petition: Petition, officials: dict[str, Official]) -> str:
    """The case's history for officials (who did what, when; each note's beginning)."""
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
            line += f"\n  <i>{esc(excerpt(entry.note, 300))}</i>"
        lines.append(line)
    return "\n".join(lines)  # any length: send() splits it into messages between lines


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


def staff_menu_text(_: Gettext, *, is_admin: bool, may_organise: bool) -> str:
    """What an official (or admin) can do, in short: shown instead of the citizen's menu."""
    lines = [
        _("What would you like to do?"),
        _("📥 /inbox — your open cases"),
        _("🎙 /dialogues — upcoming dialogues · /dialogue [number] — one dialogue's questions"),
    ]
    if may_organise:
        lines.append(_("🗓 /newdialogue — organise a dialogue with citizens"))
    if is_admin:
        lines.append(_("🛠 /invite · /officials · /stats · /export · /broadcast · /block"))
    lines.append(_("🌐 /language — Tiếng Việt / English · ❓ /help — your tools"))
    return esc("\n".join(lines))  # plain text: "[number]" is a placeholder, not a tag


def staff_help_text(_: Gettext, *, is_admin: bool, may_organise: bool) -> str:
    """/help for officials and admins: their tools (sent before the citizen's help)."""
    sections = [
        (
            "🗂",
            _("For officials"),
            _(
                "Each petition for you arrives here as a case card with buttons: ✅ Accept, 💬 Reply, "
                "❓ Ask for information, ↪️ Transfer (to another official, with a reason), ✔️ Resolve (with "
                "what was done; some topics need a photo or document of the result), 🚫 Reject (with where "
                "to go instead) and, after accepting, ⏳ Extend the deadline once. The citizen is told every "
                "step in their language; an anonymous citizen's identity is never shown.\n"
                "/inbox — your open cases, oldest first, by status; a supervisor's include their team's.\n"
                "You are reminded one working day before a deadline; a late case goes up to your supervisor.\n"
                "/dialogue [number] — a dialogue's questions and their follow-up."
            ),
        )
    ]
    if may_organise:
        sections.append(
            (
                "🎙",
                _("Dialogues"),
                _(
                    "/newdialogue — organise a dialogue with citizens: title, host, time, place, communes, "
                    "topics and seats; a preview, then it is announced to the subscribers.\n"
                    "/dialogue [number] — reschedule or cancel it (attendees are told), mark it as held, "
                    "then record the answer or commitment for each question; commitments get a deadline "
                    "like any case."
                ),
            )
        )
    if is_admin:
        sections.append(
            (
                "🛠",
                _("For administrators"),
                _(
                    "/invite — a single-use link for an official · /officials — the directory: deactivate, "
                    "reactivate, change coverage\n"
                    "/stats — statistics for a period, with a chart · /export — Excel, CSV, Open311\n"
                    "/broadcast — an announcement to subscribers\n"
                    "/block [ticket or id] [reason], /unblock — stop an abusive citizen\n"
                    "/teamchat [official id] — in a forum group: one topic per petition of that official"
                ),
            )
        )
    return "\n\n".join(f"{emoji} <b>{esc(title)}</b>\n{esc(body)}" for emoji, title, body in sections)
