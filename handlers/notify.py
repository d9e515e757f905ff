"""Messages the bot sends on its own initiative: case cards to officials, news to citizens, relays.

A chat that blocked the bot (403) or disappeared never breaks the action that caused the message:
delivery failures are logged and reported back as False.
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden

from bot.context import Deps
from bot.domain.escalation import Notice
from bot.i18n import N_, Gettext
from bot.logs import get_logger
from handlers.common import esc
from handlers.official import views
from storage.models import Attachment, AttachmentKind, Official, Petition

log = get_logger(__name__)


def citizen_chat(petition: Petition) -> int:
    """The Telegram chat of the petition's citizen (``tg:<id>``); 0 once they erased their data."""
    channel, _sep, external = petition.citizen_id.partition(":")
    return int(external) if channel == "tg" and external.lstrip("-").isdigit() else 0


async def language_of(deps: Deps, telegram_id: int, fallback: str | None = None) -> Gettext:
    """A user's chosen language, else ``fallback``, else the default."""
    citizen = await deps.citizens.get("tg", str(telegram_id))
    return deps.translator(citizen.language or fallback)


async def send_attachments(
    bot: Bot, chat_id: int, attachments: list[Attachment], *, thread_id: int | None = None
) -> None:
    """Re-send stored attachments by file id (nothing was downloaded)."""
    if not chat_id:
        return  # an erased citizen (see citizen_chat)
    for attachment in attachments:
        if attachment.kind == AttachmentKind.PHOTO and attachment.file_id:
            await bot.send_photo(chat_id, attachment.file_id, message_thread_id=thread_id)
        elif attachment.kind == AttachmentKind.DOCUMENT and attachment.file_id:
            await bot.send_document(chat_id, attachment.file_id, message_thread_id=thread_id)
        elif attachment.kind == AttachmentKind.VOICE and attachment.file_id:
            await bot.send_voice(chat_id, attachment.file_id, message_thread_id=thread_id)
        elif attachment.kind == AttachmentKind.AUDIO and attachment.file_id:
            await bot.send_audio(chat_id, attachment.file_id, message_thread_id=thread_id)
        elif attachment.kind == AttachmentKind.VIDEO and attachment.file_id:
            await bot.send_video(chat_id, attachment.file_id, message_thread_id=thread_id)
        elif attachment.kind == AttachmentKind.LOCATION and attachment.latitude is not None:
            await bot.send_location(
                chat_id, attachment.latitude, attachment.longitude or 0.0, message_thread_id=thread_id
            )


async def deliver_case(bot: Bot, deps: Deps, petition: Petition, *, header_text: str) -> bool:
    """Send the case card, its buttons and attachments to the assignee — or, when they work in a team
    chat, into a forum topic of its own there. False when nobody could be reached."""
    officials = await deps.cases.officials_by_id()
    assignee = officials.get(petition.assignee_id or "")
    if (
        assignee is not None
        and assignee.team_chat_id is not None
        and await _deliver_to_topic(bot, deps, petition, assignee, header_text)
    ):
        return True
    if assignee is None or assignee.telegram_id is None:
        await tell_admins(
            bot,
            deps,
            N_(
                "⚠️ {ticket} is assigned to {official}, who has not joined the bot yet. Invite them, or transfer the case."
            ),
            ticket=esc(petition.id),
            official=esc(official_label(assignee) if assignee else str(petition.assignee_id)),
        )
        return False
    _ = await language_of(deps, assignee.telegram_id)
    return await _send_card(bot, deps, petition, assignee, assignee.telegram_id, None, _(header_text), _)


async def _send_card(
    bot: Bot,
    deps: Deps,
    petition: Petition,
    assignee: Official,
    chat_id: int,
    thread_id: int | None,
    header: str,
    _: Gettext,
) -> bool:
    unit = await deps.cases.unit(assignee.unit)
    co_signers = await deps.cosign.count(petition.id)  # me too: the card shows how many joined
    screen = views.case_screen(
        _, petition, deps.directory, assignee, unit, header=header, co_signers=co_signers
    )
    try:
        if screen.preface:
            await bot.send_message(chat_id, screen.preface, message_thread_id=thread_id)
        await bot.send_message(chat_id, screen.text, reply_markup=screen.markup, message_thread_id=thread_id)
        await send_attachments(bot, chat_id, petition.attachments, thread_id=thread_id)
    except (Forbidden, BadRequest) as exc:
        log.warning("case.delivery_failed", ticket=petition.id, official=assignee.id, error=str(exc))
        return False
    return True


async def _deliver_to_topic(
    bot: Bot, deps: Deps, petition: Petition, assignee: Official, header_text: str
) -> bool:
    """One forum topic per petition in the team chat, named with the ticket and the category."""
    chat_id = assignee.team_chat_id
    assert chat_id is not None
    _ = deps.translator(None)
    thread_id = petition.topic_thread_id if petition.topic_chat_id == chat_id else None
    if thread_id is None:
        category = deps.directory.category(petition.category)
        name = f"{petition.id} · {category.name(_.lang) if category else petition.category}"[:128]
        try:
            topic = await bot.create_forum_topic(chat_id, name)
        except (Forbidden, BadRequest) as exc:
            log.warning("topic.create_failed", ticket=petition.id, chat=chat_id, error=str(exc))
            return False
        thread_id = topic.message_thread_id
        await deps.cases.link_topic(petition.id, chat_id, thread_id)
    header = (
        _(header_text)
        + "\n"
        + _("Write in this topic to answer the citizen; messages starting with # stay internal.")
    )
    return await _send_card(bot, deps, petition, assignee, chat_id, thread_id, header, _)


async def tell_citizen(
    bot: Bot, petition: Petition, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send a message to the petition's citizen; None when they blocked the bot or left."""
    if petition.channel != "tg":
        return None  # raised at a dialogue on behalf of the citizens present: nobody to tell
    if not citizen_chat(petition):
        return None  # the citizen erased their data: nobody to tell
    try:
        return await bot.send_message(citizen_chat(petition), text, reply_markup=markup)
    except (Forbidden, BadRequest) as exc:
        log.info("citizen.unreachable", ticket=petition.id, error=str(exc))
        return None


# --- me too: co-signers get a petition's news too (the lead ports this to the outbox) ---------------
CO_SIGNER_HEADER = N_("👥 News of petition {ticket}, which you joined:")


async def tell_co_signers(
    bot: Bot,
    deps: Deps,
    petition: Petition,
    render: Callable[[Gettext], str],
    markup: Callable[[Gettext], InlineKeyboardMarkup | None] | None = None,
) -> int:
    """Send ``render(_)`` (HTML) to each co-signer of the petition in their language, under a line
    saying which petition they joined; returns how many were reached."""
    reached = 0
    for citizen_id in await deps.cosign.co_signers(petition.id):
        channel, _sep, external = citizen_id.partition(":")
        if channel != "tg" or not external.lstrip("-").isdigit():
            continue
        _ = await language_of(deps, int(external), petition.language)
        text = _(CO_SIGNER_HEADER).format(ticket=esc(petition.id)) + "\n" + render(_)
        try:
            await bot.send_message(int(external), text, reply_markup=markup(_) if markup else None)
        except (Forbidden, BadRequest) as exc:
            log.info("co_signer.unreachable", ticket=petition.id, error=str(exc))
            continue
        reached += 1
    return reached


def _notice_text(message: str, unit: str, values: dict[str, str]) -> Callable[[Gettext], str]:
    """A citizen's notice rendered in any language (for co-signers)."""
    return lambda g: g(message).format(unit=unit, what="", **values)


# ---------------------------------------------------------------------------------------------------


async def copy_to(bot: Bot, chat_id: int, source: Message, caption: str | None) -> bool:
    """Copy a message (never forward: a forward would reveal its sender) with a new caption."""
    if not chat_id:
        return False  # an erased citizen (see citizen_chat)
    try:
        await bot.copy_message(chat_id, source.chat_id, source.message_id, caption=caption)
    except (Forbidden, BadRequest) as exc:
        log.info("relay.failed", chat=chat_id, error=str(exc))
        return False
    return True


async def tell_admins(bot: Bot, deps: Deps, message: str, **values: str) -> None:
    """Tell every admin (ADMIN_IDS and active officials with the admin role), each in their language;
    ``message`` is a msgid marked with ``N_`` and ``values`` are already HTML-escaped."""
    admin_ids = set(deps.settings.admin_ids)
    for official in (await deps.cases.officials_by_id()).values():
        if official.role.value == "admin" and official.is_active and official.telegram_id:
            admin_ids.add(official.telegram_id)
    for admin_id in sorted(admin_ids):
        _ = await language_of(deps, admin_id)
        try:
            await bot.send_message(admin_id, _(message).format(**values))
        except (Forbidden, BadRequest) as exc:
            log.info("admin.unreachable", admin=admin_id, error=str(exc))


def official_label(official: Official | None) -> str:
    """ "Name (Title)" of an official."""
    return f"{official.name} ({official.title})" if official else "?"


DEADLINE_WHAT = {
    "accept": N_("accept it"),
    "resolve": N_("resolve it"),
}
NOTICE_TEXTS = {
    "reminder": N_("⏰ Reminder: {ticket} — you must {what} by {due}."),
    "overdue": N_(
        "⏰ {ticket} is overdue: you had to {what} by {due}. It has been escalated to your supervisor."
    ),
    "escalated_to_you": N_("⬆️ {ticket} was escalated to you: {assignee} did not {what} in time."),
    "escalated": N_("⬆️ Your petition {ticket} was not handled in time, so it has been escalated to {unit}."),
    "escalated_citizen_reopened": N_(
        "⬆️ As the problem is still not resolved, your petition {ticket} has been escalated to a higher level."
    ),
    "escalated_reopened": N_(
        "⬆️ {ticket} was escalated to you: the citizen said twice that it is not resolved."
    ),
    "escalated_no_unit": N_(
        "⬆️ Your petition {ticket} was not handled in time, so it has been escalated to a higher level."
    ),
    "closed": N_("⚫ Your petition {ticket} is now closed. Thank you for using Tiếng Dân."),
    "reopened": N_("🔁 The citizen says {ticket} is not resolved yet:"),
    "reopened_supervisor": N_("🔁 {ticket}, handled by {assignee}, was reopened by the citizen:"),
}


async def deliver_notices(bot: Bot, deps: Deps, notices: list[Notice]) -> None:
    """Send what the deadline timers and the citizen's verdicts produced, each in its reader's language."""
    from handlers.citizen.views import local_time

    officials = await deps.cases.officials_by_id()
    for notice in notices:
        if notice.kind.startswith("dialogue"):
            from handlers.dialogues import deliver_notice

            await deliver_notice(bot, deps, notice)
            continue
        try:
            petition = await deps.cases.get(notice.ticket)
        except Exception:
            continue
        assignee = officials.get(petition.assignee_id or "")
        kind = notice.data.get("kind", "")
        deadline = petition.deadlines.get(kind)
        values = {
            "ticket": esc(petition.id),
            "due": local_time(deadline.due_at) if deadline else "",
            "assignee": esc(official_label(assignee)),
        }
        if notice.official_id is None:
            _ = await language_of(deps, citizen_chat(petition), petition.language)
            escalated = officials.get(petition.escalated_to or "")
            unit = await deps.cases.unit(escalated.unit) if escalated else None
            message = NOTICE_TEXTS[notice.kind]
            if notice.kind == "escalated" and kind == "reopened":
                message = NOTICE_TEXTS["escalated_citizen_reopened"]
            elif notice.kind == "escalated" and unit is None:
                message = NOTICE_TEXTS["escalated_no_unit"]
            text = _(message).format(unit=esc(unit.name if unit else ""), what="", **values)
            await tell_citizen(bot, petition, text)
            await tell_co_signers(
                bot, deps, petition, _notice_text(message, esc(unit.name if unit else ""), values)
            )
            continue
        official = officials.get(notice.official_id)
        if official is None:
            continue
        chat_id = official.telegram_id
        if chat_id is None:
            continue
        _ = await language_of(deps, chat_id)
        what = _(DEADLINE_WHAT[kind]) if kind in DEADLINE_WHAT else ""
        message = NOTICE_TEXTS[notice.kind]
        if notice.kind == "escalated_to_you" and kind == "reopened":
            message = NOTICE_TEXTS["escalated_reopened"]
        text = _(message).format(what=what, unit="", **values)
        if "reason" in notice.data:
            text += "\n<blockquote>{}</blockquote>".format(esc(notice.data["reason"]))
        try:
            await bot.send_message(chat_id, text)
        except (Forbidden, BadRequest) as exc:
            log.info("notice.failed", ticket=petition.id, official=official.id, error=str(exc))
            continue
        if notice.kind in ("escalated_to_you", "reopened", "reopened_supervisor"):
            await _send_card(bot, deps, petition, assignee or official, chat_id, None, "", _)
