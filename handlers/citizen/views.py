"""Pure builders of what a citizen sees: texts (HTML) and keyboards. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot import callbacks
from bot.domain.citizens import CONSENT_TEXT_VERSION, encode_choices
from bot.domain.deadlines import DeadlineKind, Duration, DurationUnit
from bot.domain.directory import Directory, Locality, LocalitySearch, PetitionType
from bot.domain.intake import (
    ATTACHMENTS_MAX,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    INTAKE_STEPS,
    draft_tag,
    step_number,
)
from bot.domain.petitions import PetitionPage
from bot.domain.similarity import SimilarPetition
from bot.i18n import N_, Gettext
from handlers.common import Screen, esc, excerpt, visible_len
from storage.models import (
    AttachmentKind,
    ConsentPurpose,
    ConsentRecord,
    Deadline,
    Draft,
    Petition,
    PetitionStatus,
    Session,
    Step,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LOCALITIES_PER_PAGE = 8
TELEGRAM_LIMIT = 4096
HISTORY_SHOWN = 15

# Reply-keyboard labels of the main menu: matched back to actions in every language.
MENU_NEW = N_("📝 New petition")
MENU_MY = N_("📋 My petitions")
MENU_LANGUAGE = N_("🌐 Language")
MENU_HELP = N_("❓ Help")
MENU_LABELS = (MENU_NEW, MENU_MY, MENU_LANGUAGE, MENU_HELP)
SHARE_PHONE = N_("📱 Share my phone number")
STAY_ANONYMOUS = N_("🙈 Stay anonymous")
CANCEL_LABEL = N_("✖️ Cancel")

TYPE_LABELS = {
    PetitionType.REPORT: N_("Report a problem"),
    PetitionType.PROPOSAL: N_("Proposal"),
    PetitionType.QUESTION: N_("Question"),
    PetitionType.SUGGESTION: N_("Suggestion or idea"),
    PetitionType.COMPLAINT: N_("Complaint (formal)"),
    PetitionType.DENUNCIATION: N_("Denunciation (formal)"),
}
TYPE_HINTS = {
    PetitionType.REPORT: N_("something is wrong and should be fixed"),
    PetitionType.PROPOSAL: N_("something should change or be provided"),
    PetitionType.QUESTION: N_("you want an answer from the authorities"),
    PetitionType.SUGGESTION: N_("an idea to do things better"),
    PetitionType.COMPLAINT: N_("you contest an administrative decision about you"),
    PetitionType.DENUNCIATION: N_("you report wrongdoing by an official or organisation"),
}
STATUS_LABELS = {
    PetitionStatus.SUBMITTED: N_("🟡 Sent, waiting to be accepted"),
    PetitionStatus.ACCEPTED: N_("🔵 Accepted"),
    PetitionStatus.IN_PROGRESS: N_("🔵 Being handled"),
    PetitionStatus.RESOLVED: N_("🟢 Resolved"),
    PetitionStatus.REJECTED: N_("⚪ Not accepted"),
    PetitionStatus.CLOSED: N_("⚫ Closed"),
}
HISTORY_ACTIONS = {
    "submitted": N_("You sent the petition"),
    "routed": N_("Forwarded to the responsible official"),
    "accepted": N_("Accepted"),
    "replied": N_("The official answered"),
    "asked_info": N_("The official asked for more information"),
    "transferred": N_("Transferred to another official"),
    "resolved": N_("Resolved"),
    "rejected": N_("Not accepted"),
    "citizen_info": N_("You added information"),
    "extended": N_("The deadline was extended"),
    "escalated": N_("Escalated to a higher level"),
    "reopened": N_("You said it is not resolved yet"),
    "confirmed_resolved": N_("You confirmed it is resolved"),
    "closed": N_("Closed"),
    "dialogue_answer": N_("Answered at the dialogue"),
    "dialogue_commitment": N_("Commitment made at the dialogue"),
    "topic_changed": N_("The topic was corrected"),
    "co_signer_reopened": N_("A citizen who joined said it is not resolved yet"),
}
STEP_TITLES = {
    Step.LOCALITY: N_("Place"),
    Step.CATEGORY: N_("Topic"),
    Step.TYPE: N_("Kind"),
    Step.DESCRIPTION: N_("Description"),
    Step.ATTACHMENTS: N_("Photos and files"),
    Step.CONTACT: N_("Contact"),
}
ATTACHMENT_KINDS = {
    AttachmentKind.PHOTO: N_("photo"),
    AttachmentKind.DOCUMENT: N_("document"),
    AttachmentKind.VOICE: N_("voice message"),
    AttachmentKind.AUDIO: N_("audio"),
    AttachmentKind.VIDEO: N_("video"),
    AttachmentKind.LOCATION: N_("location"),
}
PURPOSE_LABELS = {
    ConsentPurpose.PETITIONS: N_("Handle my petitions"),
    ConsentPurpose.ANNOUNCEMENTS: N_("Send me dialogue schedules and announcements"),
}


def local_time(moment: datetime) -> str:
    """A date and time as people in Vietnam read it."""
    return moment.astimezone(TZ).strftime("%d/%m/%Y %H:%M")


def button(text: str, data: str) -> InlineKeyboardButton:
    """An inline button; ``data`` was built (and size-checked) by ``bot.callbacks.build``."""
    return InlineKeyboardButton(text, callback_data=data)


def main_menu(_: Gettext) -> ReplyKeyboardMarkup:
    """The persistent main menu."""
    return ReplyKeyboardMarkup(
        [[_(MENU_NEW), _(MENU_MY)], [_(MENU_LANGUAGE), _(MENU_HELP)]],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Choose from the menu"),
    )


# --- welcome and consent -------------------------------------------------------------------------


def welcome_text(_: Gettext, province: str) -> str:
    """The first thing a citizen reads."""
    return _(
        "👋 <b>Welcome to Tiếng Dân</b> — the people's voice of {province} province.\n\n"
        "Here you can send the authorities a report, proposal or question about your commune or ward, "
        "follow its progress and get the answer, all in this chat."
    ).format(province=esc(province))


def consent_text(_: Gettext, province: str) -> str:
    """The consent request: each purpose separately, nothing pre-selected."""
    return _(
        "🔒 <b>Your consent</b>\n\n"
        "To handle a petition we need to keep what you send: the place, topic, description and files, "
        "and — only if you choose to share them — your name and phone number. "
        "The citizen-affairs board of {province} province controls this data; only the officials responsible "
        "for your petition see it.\n\n"
        "Please tick each purpose you agree to:\n"
        "1. <b>Handle my petitions</b>: receive, route and answer them, and contact me to verify (needed to "
        "send a petition).\n"
        "2. <b>Dialogue schedules and announcements</b> (optional).\n\n"
        "⚠️ Telegram's servers are outside Vietnam. Do not send ID card images, health records or other "
        "sensitive data that are not needed.\n"
        "You can withdraw your consent at any time."
    ).format(province=esc(province))


def consent_keyboard(_: Gettext, session: Session) -> InlineKeyboardMarkup:
    """One toggle per purpose, the notice, and the decision buttons; each toggle and Continue carries
    the ticks this form shows (``c:t:<purpose>:<shown>``, ``c:ok:<shown>``)."""
    shown = encode_choices(session.consent_choices)
    rows = []
    for purpose, label in PURPOSE_LABELS.items():
        mark = "☑️" if session.consent_choices.get(purpose) else "⬜"
        rows.append([button(f"{mark} {_(label)}", callbacks.build("c", "t", purpose.value, shown))])
    rows.append([button(_("📄 Read the full privacy notice"), callbacks.build("c", "pn"))])
    rows.append(
        [
            button(_("✅ Continue"), callbacks.build("c", "ok", shown)),
            button(_("🚫 I do not agree"), callbacks.build("c", "no")),
        ]
    )
    return InlineKeyboardMarkup(rows)


def change_consent_keyboard(_: Gettext) -> InlineKeyboardMarkup:
    """Opens the consent form again."""
    return InlineKeyboardMarkup([[button(_("✏️ Change my consent"), callbacks.build("c", "ch"))]])


def privacy_notice(_: Gettext, province: str) -> str:
    """The full privacy notice (Luật 91/2025/QH15, Nghị định 356/2025)."""
    return _(
        "📄 <b>Privacy notice</b> (version {version})\n\n"
        "<b>Who controls your data:</b> the citizen-affairs board of {province} province, which runs this bot.\n"
        "<b>What is kept:</b> your Telegram account number and language; for each petition the place, topic, "
        "kind, description and attachments you send; your name and phone number only if you share them.\n"
        "<b>Purposes</b>, each with its own consent: (1) receiving, routing and answering your petitions and "
        "contacting you to verify them; (2) optional: sending you schedules of direct dialogues and "
        "announcements.\n"
        "<b>Who sees it:</b> the officials responsible for your petition and the board's administrators. "
        "If you stay anonymous, officials never see who you are.\n"
        "<b>Where:</b> Telegram's servers are outside Vietnam; do not send ID card images, health data or "
        "other sensitive data that are not needed.\n"
        "<b>Your rights</b> (Law 91/2025/QH15 on personal data protection): to know, view, correct, copy and "
        "delete your data, to restrict its use and to withdraw consent at any time; requests are answered "
        "within 2 working days. Withdrawing consent does not undo processing already done."
    ).format(version=CONSENT_TEXT_VERSION, province=esc(province))


def declined_text(_: Gettext, directory: Directory) -> str:
    """What a citizen who declines reads: nothing is kept but the refusal, and where else to go."""
    lines = [
        _("Understood. Nothing about you is kept except this refusal."),
        "",
        _("You can also raise your concern through:"),
    ]
    lines += [f"• {esc(channel.text(_.lang))}" for channel in directory.other_channels]
    lines += ["", _("If you change your mind, send /start.")]
    return "\n".join(lines)


def consent_status(_: Gettext, record: ConsentRecord | None) -> str:
    """The citizen's current consent, for /privacy."""
    if record is None:
        return _("You have not given any consent yet.")
    lines = [
        _("Your consent of {when} (notice version {version}):").format(
            when=local_time(record.at), version=esc(record.text_version)
        )
    ]
    for purpose, label in PURPOSE_LABELS.items():
        mark = "✅" if record.allows(purpose) else "❌"
        lines.append(f"{mark} {_(label)}")
    return "\n".join(lines)


def menu_text(_: Gettext) -> str:
    """Shown with the main menu."""
    return _(
        "What would you like to do?\n"
        "📝 /new — send a petition\n"
        "📋 /my — your petitions and their status\n"
        "🌐 /language — Tiếng Việt / English\n"
        "❓ /help — how it works"
    )


def help_text(_: Gettext) -> str:
    """/help."""
    return _(
        "❓ <b>How Tiếng Dân works</b>\n\n"
        "1. Send /new and answer six short questions: the place, the topic, the kind of petition, a "
        "description, optional photos or files, and whether officials may contact you.\n"
        "2. Check the summary and tap Send: you get a ticket number such as HT-2026-000123.\n"
        "3. The officials responsible for your commune or topic handle it; you are told here when it is "
        "accepted, answered or resolved.\n\n"
        "At any step: /cancel stops and discards the draft. If you leave, your draft waits for you for "
        "7 days — send /new to continue.\n"
        "/my — your petitions · /language — change language · /privacy — your data and consent\n\n"
        "⚠️ This bot is not an emergency service. In an emergency call 113 (police), 114 (fire) or 115 "
        "(ambulance)."
    )


def language_keyboard() -> InlineKeyboardMarkup:
    """The language choice; each label is in its own language."""
    return InlineKeyboardMarkup(
        [
            [
                button("🇻🇳 Tiếng Việt", callbacks.build("l", "vi")),
                button("🇬🇧 English", callbacks.build("l", "en")),
            ]
        ]
    )


# --- intake ----------------------------------------------------------------------------------------


def step_header(_: Gettext, step: Step) -> str:
    """ "Step 2 of 6 · Topic"."""
    return _("Step {n} of {total} · {title}").format(
        n=step_number(step), total=len(INTAKE_STEPS), title=_(STEP_TITLES[step])
    )


def _intake(draft: Draft, action: str, *args: str | int) -> str:
    return callbacks.build("i", action, draft_tag(draft), *args)


def _tail_rows(_: Gettext, draft: Draft, session: Session) -> list[list[InlineKeyboardButton]]:
    rows = []
    if session.editing:
        rows.append([button(_("◀️ Back to the summary"), _intake(draft, "bs"))])
    rows.append([button(_("✖️ Cancel this petition"), _intake(draft, "cx"))])
    return rows


def resume_offer(_: Gettext, draft: Draft) -> tuple[str, InlineKeyboardMarkup]:
    """Offered on /new (or on a message typed at the main menu) when an unfinished draft exists."""
    if draft.kept_text is not None:
        text = _(
            "You have an unfinished petition started on {when}. Continue it, or start a new petition with "
            "the message you just sent?"
        ).format(when=local_time(draft.started_at))
    else:
        text = _("You have an unfinished petition started on {when}. Continue it or start a new one?").format(
            when=local_time(draft.started_at)
        )
    markup = InlineKeyboardMarkup(
        [
            [button(_("▶️ Continue"), _intake(draft, "rs"))],
            [button(_("🆕 Start again"), _intake(draft, "rn"))],
        ]
    )
    return text, markup


def locality_prompt(_: Gettext, draft: Draft, session: Session) -> tuple[str, InlineKeyboardMarkup]:
    """Ask where the problem is."""
    text = "<b>{}</b>\n{}".format(
        step_header(_, Step.LOCALITY),
        _(
            "Which commune or ward is it in? Type its name — names from before July 2025 work too "
            "(for example «Bắc Hà», now part of Thành Sen, or «Cẩm Lộc»). Or browse the list."
        ),
    )
    rows = [
        [button(_("📋 Browse all communes and wards"), _intake(draft, "lp", 0))],
        *_tail_rows(_, draft, session),
    ]
    return text, InlineKeyboardMarkup(rows)


def locality_label(_: Gettext, locality: Locality) -> str:
    """A locality's name as shown on a button."""
    return locality.name


def _mid_sentence(_: Gettext, name: str) -> str:
    """A unit's name inside a Vietnamese sentence starts in lower case ("huyện Thạch Hà")."""
    return name[:1].lower() + name[1:] if _.lang == "vi" else name


def merge_notes(_: Gettext, search: LocalitySearch) -> list[str]:
    """Why a match is listed: a former commune merged into it, or it lies in a former district."""
    notes: list[str] = []
    merged: dict[str, list[str]] = {}
    districts: dict[str, list[str]] = {}
    for match in search.matches:
        if match.via is not None and search.split is None:
            merged.setdefault(match.via.name, []).append(match.locality.name)
        elif match.via_district:
            districts.setdefault(match.via_district, []).append(match.locality.name)
    for old, new in merged.items():
        notes.append(
            "• " + _("The former {old} is now part of {new}.").format(old=esc(old), new=esc(", ".join(new)))
        )
    for district, names in districts.items():
        notes.append(
            "• "
            + _(
                "Districts were abolished on 1 July 2025; the territory of the former {district} is now in: {names}."
            ).format(district=esc(_mid_sentence(_, district)), names=esc(", ".join(names)))
        )
    return notes


def locality_results(
    _: Gettext, draft: Draft, session: Session, search: LocalitySearch, directory: Directory, page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """The matches of a typed locality name, a page at a time, with why each is listed."""
    rows: list[list[InlineKeyboardButton]] = []
    if search.split is not None:
        names = ", ".join(esc(m.locality.name) for m in search.matches)
        text = _(
            "In July 2025 {old} ({district}) was divided between {names}. Which part is the problem in?"
        ).format(old=esc(search.split.name), district=esc(search.split.district_name), names=names)
    elif not search.matches:
        text = _(
            "I could not find a commune or ward called «{query}». Check the spelling, type another name, "
            "or browse the list."
        ).format(query=esc(search.query if len(search.query) <= 80 else search.query[:80] + "…"))
    else:
        text = _("Which one do you mean? Tap it, or type another name.")
    notes = merge_notes(_, search)
    if notes:
        text += "\n\n" + "\n".join(notes)
    page_count = max(1, -(-len(search.matches) // LOCALITIES_PER_PAGE))
    page = min(max(page, 0), page_count - 1)
    shown = search.matches[page * LOCALITIES_PER_PAGE : (page + 1) * LOCALITIES_PER_PAGE]
    for match in shown:
        label = match.locality.name
        if match.via is not None and search.split is None:
            label = _("{new} (formerly {old})").format(new=match.locality.name, old=match.via.name)
        rows.append([button(label, _intake(draft, "lc", match.locality.code))])
    if page_count > 1:
        text += "\n\n" + _("{count} matches, page {page} of {pages}.").format(
            count=_.number(len(search.matches)), page=page + 1, pages=page_count
        )
        nav = []
        if page > 0:
            nav.append(button("◀️", _intake(draft, "lq", page - 1)))
        nav.append(button(f"{page + 1}/{page_count}", _intake(draft, "lq", page)))
        if page < page_count - 1:
            nav.append(button("▶️", _intake(draft, "lq", page + 1)))
        rows.append(nav)
    rows.append([button(_("📋 Browse all communes and wards"), _intake(draft, "lp", 0))])
    rows += _tail_rows(_, draft, session)
    return text, InlineKeyboardMarkup(rows)


def locality_page(
    _: Gettext, draft: Draft, session: Session, directory: Directory, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of the alphabetical list of localities."""
    items, page_count = directory.localities_page(page, LOCALITIES_PER_PAGE)
    page = min(max(page, 0), page_count - 1)
    rows = [[button(loc.name, _intake(draft, "lc", loc.code))] for loc in items]
    nav = []
    if page > 0:
        nav.append(button("◀️", _intake(draft, "lp", page - 1)))
    nav.append(button(f"{page + 1}/{page_count}", _intake(draft, "lp", page)))
    if page < page_count - 1:
        nav.append(button("▶️", _intake(draft, "lp", page + 1)))
    rows.append(nav)
    rows += _tail_rows(_, draft, session)
    text = "<b>{}</b>\n{}".format(
        step_header(_, Step.LOCALITY), _("Tap your commune or ward, or type its name.")
    )
    return text, InlineKeyboardMarkup(rows)


def emergency_line(_: Gettext, directory: Directory) -> str:
    """ "In an emergency call 113 Police · 114 ..."."""
    numbers = " · ".join(
        f"<b>{esc(n.number)}</b> {esc(n.label(_.lang))}" for n in directory.emergency_numbers
    )
    return _("🚨 In an emergency call {numbers}. This bot is not an emergency service.").format(
        numbers=numbers
    )


def category_prompt(
    _: Gettext, draft: Draft, session: Session, directory: Directory, suggestions: Sequence[str] = ()
) -> tuple[str, InlineKeyboardMarkup]:
    """Ask for the topic: the topics suggested from the description (best first) with «All topics»,
    else every topic (urgent ones first) with «Describe it in your own words»."""
    categories = [c for c in (directory.category(key) for key in suggestions) if c is not None]
    if categories:
        text = "<b>{}</b>\n{}\n\n{}".format(
            step_header(_, Step.CATEGORY),
            _("From your description, it is probably about one of these topics. Tap the right one:"),
            emergency_line(_, directory),
        )
        rows = [
            [button(f"{c.emoji} {c.name(_.lang)}".strip(), _intake(draft, "ct", c.key))] for c in categories
        ]
        rows.append([button(_("🗂 Another topic: show all"), _intake(draft, "ca"))])
        return text, InlineKeyboardMarkup(rows + _tail_rows(_, draft, session))
    text = "<b>{}</b>\n{}\n\n{}".format(
        step_header(_, Step.CATEGORY), _("What is it about?"), emergency_line(_, directory)
    )
    ordered = sorted(directory.categories, key=lambda c: not c.is_urgent)
    rows = [[button(f"{c.emoji} {c.name(_.lang)}".strip(), _intake(draft, "ct", c.key))] for c in ordered]
    if draft.description is None and draft.kept_text is None:  # not described yet
        rows.append([button(_("✍️ Not sure? Describe it in your own words"), _intake(draft, "ds"))])
    rows += _tail_rows(_, draft, session)
    return text, InlineKeyboardMarkup(rows)


def describe_first_prompt(_: Gettext, draft: Draft, session: Session) -> tuple[str, InlineKeyboardMarkup]:
    """The citizen will describe the problem before choosing the topic."""
    text = "<b>{}</b>\n{}".format(
        step_header(_, Step.CATEGORY),
        _(
            "✍️ Describe the problem in your own words: what happened, where exactly, since when "
            "(at least {min} characters). I will suggest the topic, and this will be your description."
        ).format(min=DESCRIPTION_MIN),
    )
    rows = [[button(_("🗂 Show the topics instead"), _intake(draft, "ca"))], *_tail_rows(_, draft, session)]
    return text, InlineKeyboardMarkup(rows)


def published_reply(petition: Petition) -> str | None:
    """The official's latest answer to a petition (what co-signers are told too), if any."""
    for entry in reversed(petition.history):
        if entry.action in ("replied", "dialogue_answer") and not entry.internal and entry.note:
            return entry.note
    return None


def similar_offer(
    _: Gettext,
    draft: Draft,
    session: Session,
    found: Sequence[SimilarPetition],
    counts: Mapping[str, int],
    directory: Directory,
) -> tuple[str, InlineKeyboardMarkup]:
    """Open petitions like the citizen's: join one («Me too») or continue. Never the other citizen's
    identity or description: the ticket, status, date, co-signers and the official's answer only."""
    locality = directory.locality(draft.locality_code or "")
    category = directory.category(draft.category or "")
    lines = [
        "👥 <b>{}</b>".format(_("Has this problem already been raised?")),
        _(
            "Other citizens have sent petitions about {topic} in {place} that look like yours. If one of "
            "them is about the same problem, tap «Me too»: you join it instead of sending a new petition, "
            "you are told here of every step, and officials see how many people it concerns. Nobody sees "
            "who you are."
        ).format(
            topic=esc(category.name(_.lang) if category else ""), place=esc(locality.name if locality else "")
        ),
    ]
    rows = []
    for number, item in enumerate(found, start=1):
        petition = item.petition
        lines += [
            "",
            "<b>{}. {}</b> · {}".format(number, esc(petition.id), _(STATUS_LABELS[petition.status])),
            "{} · 👥 {}".format(
                _("sent on {date}").format(date=local_time(petition.created_at)[:10]),
                _("{count} joined").format(count=counts.get(petition.id, 0)),
            ),
        ]
        reply = published_reply(petition)
        if reply:
            short = reply if len(reply) <= 300 else reply[:300] + "…"
            lines.append("💬 {} <i>{}</i>".format(_("Official's answer:"), esc(short)))
        rows.append(
            [button(_("👥 Me too: {ticket}").format(ticket=petition.id), _intake(draft, "mt", petition.id))]
        )
    rows.append([button(_("➡️ No, mine is different: continue"), _intake(draft, "mn"))])
    rows += _tail_rows(_, draft, session)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def joined_text(_: Gettext, ticket: str, co_signers: int) -> str:
    """The receipt of «Me too»."""
    return _(
        "👥 <b>You joined petition {ticket}.</b> {count} citizens have joined it so far.\n\n"
        "You will get a message here when it is accepted, answered or resolved, and you will be asked "
        "at the end whether the problem is really resolved. Your own draft was not sent. Officials see "
        "how many people joined, never who."
    ).format(ticket=esc(ticket), count=co_signers)


def urgent_notice(_: Gettext, directory: Directory) -> str:
    """Shown first when an urgent topic is chosen."""
    return (
        "⚠️ "
        + _("If anyone is in danger right now, do not wait for an answer here: call the emergency numbers.")
        + "\n"
        + emergency_line(_, directory)
    )


def type_prompt(_: Gettext, draft: Draft, session: Session) -> tuple[str, InlineKeyboardMarkup]:
    """Ask for the kind of petition."""
    lines = [f"<b>{step_header(_, Step.TYPE)}</b>", _("What kind of petition is it?"), ""]
    lines += [f"• <b>{_(TYPE_LABELS[t])}</b> — {_(TYPE_HINTS[t])}" for t in PetitionType]
    rows = [[button(_(TYPE_LABELS[t]), _intake(draft, "ty", t.value))] for t in PetitionType]
    rows += _tail_rows(_, draft, session)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def formal_notice(_: Gettext, draft: Draft, petition_type: PetitionType) -> tuple[str, InlineKeyboardMarkup]:
    """The formal procedure of a complaint or denunciation, before the citizen continues."""
    if petition_type == PetitionType.COMPLAINT:
        text = _(
            "⚖️ <b>A complaint (khiếu nại)</b> contests an administrative decision or action that affects "
            "you. It follows the Law on Complaints:\n"
            "• file it within 90 days of learning of the decision;\n"
            "• it needs your full name and contact, so it cannot be anonymous;\n"
            "• it is accepted within 7 working days and resolved within 30 days (45 if complex).\n\n"
            "If you only want to report a problem or make a proposal, choose that kind instead."
        )
    else:
        text = _(
            "⚖️ <b>A denunciation (tố cáo)</b> reports wrongdoing by an official, agency or organisation. It "
            "follows the Law on Denunciations:\n"
            "• it needs your full name and contact, so it cannot be anonymous;\n"
            "• your identity is kept confidential and is never revealed to the person you denounce;\n"
            "• it is accepted within 7 working days and resolved within 30 days (45 if complex).\n\n"
            "If you only want to report a problem or make a proposal, choose that kind instead."
        )
    markup = InlineKeyboardMarkup(
        [
            [button(_("✅ Continue with this procedure"), _intake(draft, "tf", petition_type.value))],
            [button(_("↩️ Choose another kind"), _intake(draft, "tb"))],
        ]
    )
    return text, markup


def description_prompt(_: Gettext, draft: Draft, session: Session) -> Screen:
    """Ask for the description; offer the text kept from the main menu, if any."""
    if draft.kept_text is not None:
        text = "<b>{}</b>\n{}\n{}\n\n{}".format(
            step_header(_, Step.DESCRIPTION),
            _("Earlier you wrote:"),
            DESCRIPTION_MARK,
            _(
                "Keep it as the description, or type a new one: what happened, where exactly, since when. "
                "Between {min} and {max} characters."
            ).format(min=_.number(DESCRIPTION_MIN), max=_.number(DESCRIPTION_MAX)),
        )
        rows = [[button(_("✅ Keep this text"), _intake(draft, "dk"))], *_tail_rows(_, draft, session)]
        return with_description(_, text, draft.kept_text, InlineKeyboardMarkup(rows))
    text = "<b>{}</b>\n{}\n\n{}".format(
        step_header(_, Step.DESCRIPTION),
        _(
            "Describe the problem in your own words: what happened, where exactly, since when. "
            "Between {min} and {max} characters."
        ).format(min=_.number(DESCRIPTION_MIN), max=_.number(DESCRIPTION_MAX)),
        _(
            "🔒 Please do not send ID card numbers, health records or other sensitive data that are not needed."
        ),
    )
    return Screen(text, InlineKeyboardMarkup(_tail_rows(_, draft, session)))


def attachments_prompt(_: Gettext, draft: Draft, session: Session) -> tuple[str, InlineKeyboardMarkup]:
    """Ask for optional attachments."""
    text = "<b>{}</b>\n{}".format(
        step_header(_, Step.ATTACHMENTS),
        _(
            "You can now send photos, documents, voice messages or a location (📎 → Location), up to {max}. "
            "This is optional."
        ).format(max=ATTACHMENTS_MAX),
    )
    return text, attachments_keyboard(_, draft, session)


def attachments_keyboard(_: Gettext, draft: Draft, session: Session) -> InlineKeyboardMarkup:
    """Done/Skip, and Remove all while editing."""
    count = len(draft.attachments)
    if count:
        rows = [[button(_("✅ Done ({count} attached)").format(count=count), _intake(draft, "ad"))]]
        if session.editing:
            rows.append([button(_("🗑 Remove all attachments"), _intake(draft, "ax"))])
    else:
        rows = [[button(_("⏭ Skip — no attachments"), _intake(draft, "ad"))]]
    return InlineKeyboardMarkup(rows + _tail_rows(_, draft, session))


def attachment_received(_: Gettext, count: int) -> str:
    """Acknowledges one attachment."""
    return _("📎 Received ({count} of {max}). Send more, or tap Done.").format(
        count=count, max=ATTACHMENTS_MAX
    )


def contact_prompt(_: Gettext, draft: Draft, formal: bool) -> tuple[str, ReplyKeyboardMarkup]:
    """Ask whether officials may contact the citizen (reply keyboard: request_contact)."""
    header = f"<b>{step_header(_, Step.CONTACT)}</b>\n"
    if formal:
        text = header + _(
            "A complaint or denunciation needs your identity. Share your phone number with the button "
            "below; it is kept confidential."
        )
        rows = [[KeyboardButton(_(SHARE_PHONE), request_contact=True)], [KeyboardButton(_(CANCEL_LABEL))]]
    else:
        text = header + _(
            "May the official contact you? Share your phone number with the button below, or stay "
            "anonymous — then officials never see who you are (but cannot call you to ask for details)."
        )
        rows = [
            [KeyboardButton(_(SHARE_PHONE), request_contact=True)],
            [KeyboardButton(_(STAY_ANONYMOUS))],
            [KeyboardButton(_(CANCEL_LABEL))],
        ]
    return text, ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def attachments_summary(_: Gettext, draft: Draft) -> str:
    """ "2 (1 photo, 1 location)"."""
    if not draft.attachments:
        return _("none")
    counts: dict[AttachmentKind, int] = {}
    for attachment in draft.attachments:
        counts[attachment.kind] = counts.get(attachment.kind, 0) + 1
    parts = ", ".join(f"{n} {_(ATTACHMENT_KINDS[kind])}" for kind, n in counts.items())
    return f"{len(draft.attachments)} ({parts})"


def contact_summary(_: Gettext, *, is_anonymous: bool, name: str | None, phone: str | None) -> str:
    """ "Nguyễn Lan, +84…" or "Anonymous"."""
    if is_anonymous:
        return _("anonymous — officials will not see who you are")
    return ", ".join(esc(part) for part in (name, phone) if part)


DESCRIPTION_MARK = "\x00DESCRIPTION\x00"


def _field_lines(
    _: Gettext,
    directory: Directory,
    *,
    locality_code: str | None,
    category: str | None,
    petition_type: str | None,
) -> list[str]:
    locality = directory.locality(locality_code) if locality_code else None
    category_obj = directory.category(category) if category else None
    type_label = _(TYPE_LABELS[PetitionType(petition_type)]) if petition_type else "—"
    return [
        "📍 {} {}".format(_("Place:"), esc(locality.name) if locality else "—"),
        "🗂 {} {}".format(_("Topic:"), esc(category_obj.name(_.lang)) if category_obj else "—"),
        "📌 {} {}".format(_("Kind:"), type_label),
        "📝 {}\n{}".format(_("Description:"), DESCRIPTION_MARK),
    ]


def with_description(_: Gettext, text: str, description: str, markup: InlineKeyboardMarkup | None) -> Screen:
    """Put the description where the mark is; when the whole would exceed Telegram's 4096 units, send
    the description, exactly, as a message of its own before the screen."""
    full = text.replace(DESCRIPTION_MARK, "<blockquote>{}</blockquote>".format(esc(description)))
    if visible_len(full) <= TELEGRAM_LIMIT:
        return Screen(full, markup)
    short = text.replace(DESCRIPTION_MARK, "<i>{}</i>".format(_("(in the message above)")))
    return Screen(short, markup, preface="📝 " + esc(description))  # send() splits a longer screen


def _summary_lines(_: Gettext, draft: Draft, directory: Directory) -> list[str]:
    lines = ["<b>{}</b>".format(_("Please check your petition")), ""]
    if draft.dialogue_id:
        lines.append("🎙 " + _("Question for dialogue #{id}").format(id=esc(draft.dialogue_id)))
    lines += _field_lines(
        _, directory, locality_code=draft.locality_code, category=draft.category, petition_type=draft.type
    )
    lines.append("📎 {} {}".format(_("Attachments:"), attachments_summary(_, draft)))
    lines.append(
        "👤 {} {}".format(
            _("Contact:"),
            contact_summary(
                _, is_anonymous=draft.is_anonymous, name=draft.contact_name, phone=draft.contact_phone
            ),
        )
    )
    return lines


def summary(_: Gettext, draft: Draft, directory: Directory) -> Screen:
    """The whole draft, with Send / Edit / Cancel."""
    text = "\n".join(_summary_lines(_, draft, directory)) + "\n\n" + _("Is everything right? Tap Send.")
    markup = InlineKeyboardMarkup(
        [
            [button(_("✅ Send"), _intake(draft, "ok"))],
            [button(_("✏️ Edit"), _intake(draft, "ed")), button(_("✖️ Cancel"), _intake(draft, "cx"))],
        ]
    )
    return with_description(_, text, draft.description or "", markup)


def edit_menu(_: Gettext, draft: Draft, directory: Directory) -> Screen:
    """Which field to change."""
    fields = [
        button(f"📍 {_(STEP_TITLES[Step.LOCALITY])}", _intake(draft, "ef", Step.LOCALITY.value)),
        button(f"🗂 {_(STEP_TITLES[Step.CATEGORY])}", _intake(draft, "ef", Step.CATEGORY.value)),
        button(f"📌 {_(STEP_TITLES[Step.TYPE])}", _intake(draft, "ef", Step.TYPE.value)),
        button(f"📝 {_(STEP_TITLES[Step.DESCRIPTION])}", _intake(draft, "ef", Step.DESCRIPTION.value)),
        button(f"📎 {_(STEP_TITLES[Step.ATTACHMENTS])}", _intake(draft, "ef", Step.ATTACHMENTS.value)),
        button(f"👤 {_(STEP_TITLES[Step.CONTACT])}", _intake(draft, "ef", Step.CONTACT.value)),
    ]
    rows = [fields[i : i + 2] for i in range(0, len(fields), 2)]
    rows.append([button(_("◀️ Back to the summary"), _intake(draft, "bs"))])
    text = "\n".join(_summary_lines(_, draft, directory)) + "\n\n" + _("What would you like to change?")
    return with_description(_, text, draft.description or "", InlineKeyboardMarkup(rows))


DURATION_WORDS = {
    DurationUnit.WORKING_DAYS: (N_("{n} working day"), N_("{n} working days")),
    DurationUnit.WORKING_HOURS: (N_("{n} working hour"), N_("{n} working hours")),
    DurationUnit.DAYS: (N_("{n} day"), N_("{n} days")),
}


def duration_text(_: Gettext, duration: Duration) -> str:
    """ "7 working days", "4 working hours", "30 days" in the reader's language."""
    value, unit = duration.label_parts()
    one, many = DURATION_WORDS[unit]
    number = _.number(value) if float(value).is_integer() else _.decimal(value, 1)
    return _(one if value == 1 else many).format(n=number)


def _deadline_words(_: Gettext, duration: Duration | None, deadline: Deadline | None) -> str | None:
    """ "within 7 working days (by 14/12/2026 17:00)", or what of it is known."""
    due = _("by {due}").format(due=local_time(deadline.due_at)) if deadline is not None else None
    if duration is None:
        return due
    within = _("within {duration}").format(duration=duration_text(_, duration))
    return f"{within} ({due})" if due else within


def submitted_text(
    _: Gettext,
    ticket: str,
    locality: Locality | None,
    durations: Mapping[DeadlineKind, Duration] | None = None,
    deadlines: Mapping[str, Deadline] | None = None,
) -> str:
    """The receipt: ticket number and what happens next, in plain words — with the deadlines of this
    petition's type and category: ``durations`` from ``DeadlinePolicy.durations(...)`` and/or the
    petition's ``deadlines`` (their due dates)."""
    place = esc(locality.name) if locality else ""
    durations = durations or {}
    deadlines = deadlines or {}
    accept = _deadline_words(_, durations.get(DeadlineKind.ACCEPT), deadlines.get(DeadlineKind.ACCEPT.value))
    resolve = _deadline_words(
        _, durations.get(DeadlineKind.RESOLVE), deadlines.get(DeadlineKind.RESOLVE.value)
    )
    if accept and resolve:
        first = _(
            "1. It goes to the officials responsible for {place}, who should accept it {accept} "
            "and resolve it {resolve}."
        ).format(place=place, accept=accept, resolve=resolve)
    elif accept:
        first = _(
            "1. It goes to the officials responsible for {place}, who should accept it {accept}."
        ).format(place=place, accept=accept)
    else:
        first = _("1. It goes to the officials responsible for {place}.").format(place=place)
    return _(
        "✅ <b>Your petition has been sent.</b>\n"
        "Ticket number: <b>{ticket}</b> — keep it for reference.\n\n"
        "What happens next:\n"
        "{first}\n"
        "2. You will get a message here when it is accepted, answered or resolved.\n"
        "3. /my shows its status at any time."
    ).format(ticket=esc(ticket), first=first)


# --- my petitions ------------------------------------------------------------------------------


def my_list(_: Gettext, page: PetitionPage, directory: Directory) -> tuple[str, InlineKeyboardMarkup | None]:
    """A page of the citizen's petitions."""
    if page.total == 0:
        return _("You have not sent any petitions yet. Send /new to write one."), None
    lines = ["<b>{}</b> ({})".format(_("Your petitions"), page.total), ""]
    rows = []
    for petition in page.petitions:
        category = directory.category(petition.category)
        locality = directory.locality(petition.locality_code)
        lines.append(f"<b>{esc(petition.id)}</b> · {local_time(petition.created_at)}")
        category_name = category.name(_.lang) if category else petition.category
        locality_name = locality.name if locality else petition.locality_code
        lines.append(f"{esc(category_name)} · {esc(locality_name)}")
        status = _(STATUS_LABELS[petition.status])
        if petition.overdue:
            status += " · " + _("⏰ late: escalated to a higher level")
        lines.append(status)
        lines.append("")
        rows.append([button(f"🔎 {petition.id}", callbacks.build("m", "o", petition.id, page.page))])
    nav = []
    if page.page > 0:
        nav.append(button("◀️", callbacks.build("m", "p", page.page - 1)))
    if page.page_count > 1:
        nav.append(button(f"{page.page + 1}/{page.page_count}", callbacks.build("m", "p", page.page)))
    if page.page < page.page_count - 1:
        nav.append(button("▶️", callbacks.build("m", "p", page.page + 1)))
    if nav:
        rows.append(nav)
    return "\n".join(lines).rstrip(), InlineKeyboardMarkup(rows)


def petition_detail(_: Gettext, petition: Petition, directory: Directory, back_page: int) -> Screen:
    """One petition with its (most recent) history."""
    lines = [f"<b>{esc(petition.id)}</b> — {_(STATUS_LABELS[petition.status])}", ""]
    if petition.dialogue_id:
        lines.append("🎙 " + _("Question for dialogue #{id}").format(id=esc(petition.dialogue_id)))
    lines += _field_lines(
        _,
        directory,
        locality_code=petition.locality_code,
        category=petition.category,
        petition_type=petition.type,
    )
    if petition.attachments:
        draft_like = Draft(id="x", started_at=petition.created_at, attachments=petition.attachments)
        lines.append("📎 {} {}".format(_("Attachments:"), attachments_summary(_, draft_like)))
    lines.append(
        "👤 {} {}".format(
            _("Contact:"),
            contact_summary(
                _,
                is_anonymous=petition.is_anonymous,
                name=petition.contact_name,
                phone=petition.contact_phone,
            ),
        )
    )
    resolve = petition.deadlines.get("resolve")
    if petition.is_open and resolve is not None and resolve.is_pending:
        lines.append("⏳ {} {}".format(_("Expected to be resolved by"), local_time(resolve.due_at)))
    if petition.overdue:
        lines.append(_("⏰ late: escalated to a higher level"))
    lines += ["", "<b>{}</b>".format(_("History"))]
    entries = [e for e in petition.history if not e.internal]
    if len(entries) > HISTORY_SHOWN:
        lines.append(_("… {count} earlier steps").format(count=len(entries) - HISTORY_SHOWN))
        entries = entries[-HISTORY_SHOWN:]
    for entry in entries:
        action = HISTORY_ACTIONS.get(entry.action)
        label = _(action) if action else esc(entry.action)
        note = ""
        if entry.note and entry.action not in ("routed",):
            note = f": {esc(excerpt(entry.note, 200))}"
        lines.append(f"• {local_time(entry.at)} — {label}{note}")
    rows = []
    if petition.is_open:
        rows.append([button(_("➕ Add information"), callbacks.build("m", "ai", petition.id))])
    rows.append([button(_("◀️ Back to my petitions"), callbacks.build("m", "p", back_page))])
    return with_description(_, "\n".join(lines), petition.description, InlineKeyboardMarkup(rows))
