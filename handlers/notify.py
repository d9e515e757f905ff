"""Messages the bot sends on its own initiative: case cards to officials, news to citizens, relays.

Every such message is owed by a state change and recorded in the outbox with it (``storage.outbox``);
``deliver_entry`` below renders one outbox entry in its reader's language and sends it, and is what
the outbox sender (``bot.outbox``) calls. A recipient who cannot be reached (blocked the bot, never
joined) is not silently skipped: a fallback goes to whoever must know (the admins for an official's
card, the official for a citizen's news). Telegram's 429s, time-outs and 5xx become ``RetryLater``:
the entry waits and is sent again, in order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.context import Deps
from bot.domain.cases import CaseAction
from bot.i18n import N_, Gettext
from bot.logs import get_logger
from bot.outbox import Progress, RetryLater
from handlers.common import Markup, caption_and_rest, esc, split_html
from handlers.official import views
from storage.models import Attachment, AttachmentKind, Official, Petition
from storage.outbox import OutboxEntry

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
        caption = esc(attachment.caption) if attachment.caption else None  # the sender's words, escaped
        if attachment.kind == AttachmentKind.PHOTO and attachment.file_id:
            await bot.send_photo(chat_id, attachment.file_id, caption=caption, message_thread_id=thread_id)
        elif attachment.kind == AttachmentKind.DOCUMENT and attachment.file_id:
            await bot.send_document(chat_id, attachment.file_id, caption=caption, message_thread_id=thread_id)
        elif attachment.kind == AttachmentKind.VOICE and attachment.file_id:
            await bot.send_voice(chat_id, attachment.file_id, caption=caption, message_thread_id=thread_id)
        elif attachment.kind == AttachmentKind.AUDIO and attachment.file_id:
            await bot.send_audio(chat_id, attachment.file_id, caption=caption, message_thread_id=thread_id)
        elif attachment.kind == AttachmentKind.VIDEO and attachment.file_id:
            await bot.send_video(chat_id, attachment.file_id, caption=caption, message_thread_id=thread_id)
        elif attachment.kind == AttachmentKind.LOCATION and attachment.latitude is not None:
            await bot.send_location(
                chat_id, attachment.latitude, attachment.longitude or 0.0, message_thread_id=thread_id
            )


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


# ------------------------------------------------------------------------------ outbox delivery

CASE_HEADERS = {
    "new": N_("📥 A new petition for you."),
    "transferred": N_("↪️ A petition was transferred to you."),
    "dialogue_commitment": N_(
        "🎙 A commitment made at a dialogue: you must act on this case by its deadline."
    ),
    "dialogue_proposal": N_("🎙 A proposal raised at a dialogue, for you."),
}
FALLBACK_NOT_JOINED = N_(
    "⚠️ {ticket} is assigned to {official}, who has not joined the bot yet. Invite them, or transfer the case."
)
FALLBACK_UNREACHABLE = N_(
    "⚠️ {official} could not be reached about {ticket} (they may have blocked the bot). Here is what they were sent:"
)
CITIZEN_UNREACHABLE = N_(
    "⚠️ The citizen of {ticket} could not be reached (they may have blocked the bot or deleted their data). "
    "Your action is recorded in the case history; contact them another way if you can."
)
GAVE_UP = N_("⚠️ A message about {ticket} could not be delivered after several tries ({reason}).")
FALLBACK_ROUTED = N_(
    "ℹ️ No official covers {place} for {topic}: {ticket} went to the fallback desk. Consider adding "
    "coverage to the directory."
)


class Unreachable(Exception):  # an outcome, not an error
    """The recipient blocked the bot, never joined or does not exist."""


class Outbound:
    """What a renderer sends one outbox entry through: each send is one step of the entry, skipped
    when an earlier attempt already made it (``bot.outbox.Progress``)."""

    def __init__(self, bot: Bot, deps: Deps, progress: Progress) -> None:
        self.bot = bot
        self.deps = deps
        self.progress = progress
        self.entry = progress.entry

    async def message(
        self, chat_id: int, text: str, markup: Markup = None, *, thread_id: int | None = None
    ) -> None:
        """One text message (split into parts when longer than Telegram takes)."""
        if not chat_id:
            raise Unreachable("no chat")
        parts = split_html(text) or [text]
        for index, part in enumerate(parts):
            keyboard = markup if index == len(parts) - 1 else None
            await self._step(
                lambda p=part, k=keyboard: self.bot.send_message(  # type: ignore[misc]
                    chat_id, p, reply_markup=k, message_thread_id=thread_id
                )
            )

    async def attachments(
        self, chat_id: int, attachments: list[Attachment], *, thread_id: int | None = None
    ) -> None:
        """Stored attachments, one step each."""
        for attachment in attachments:

            async def send_one(a: Attachment = attachment) -> None:
                await send_attachments(self.bot, chat_id, [a], thread_id=thread_id)

            await self._step(send_one)

    async def copy(
        self,
        chat_id: int,
        from_chat: int,
        message_id: int,
        caption: str | None,
        *,
        thread_id: int | None = None,
    ) -> None:
        """A copy of a user's message (never a forward: that would reveal its sender)."""
        if not chat_id:
            raise Unreachable("no chat")
        rest: list[str] = []
        if caption is not None:
            caption, rest = caption_and_rest(caption)  # over 1024: the rest follows as messages
        await self._step(
            lambda: self.bot.copy_message(
                chat_id, from_chat, message_id, caption=caption, message_thread_id=thread_id
            )
        )
        for part in rest:
            await self.message(chat_id, part, thread_id=thread_id)

    async def _step(self, send: Callable[[], Awaitable[object]]) -> None:
        try:
            await self.progress.step(send)
        except Forbidden as exc:
            raise Unreachable(str(exc)) from exc
        except BadRequest as exc:
            if "chat not found" in str(exc).lower() or "user not found" in str(exc).lower():
                raise Unreachable(str(exc)) from exc
            raise


async def deliver_entry(bot: Bot, deps: Deps, entry: OutboxEntry, progress: Progress) -> str:
    """Deliver one outbox entry; returns the outcome recorded with it (delivered, fallback...)."""
    out = Outbound(bot, deps, progress)
    try:
        return await _render(out, entry)
    except RetryAfter as exc:
        wait = exc.retry_after
        delay = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        raise RetryLater("flood wait", delay, flood=True) from exc
    except (TimedOut, NetworkError) as exc:
        if isinstance(exc, BadRequest):
            raise
        raise RetryLater(type(exc).__name__) from exc


async def give_up(bot: Bot, deps: Deps, entry: OutboxEntry, reason: str) -> None:
    """An entry that kept failing for an unexpected reason: the admins are told (best effort)."""
    with contextlib.suppress(Exception):
        await tell_admins(
            bot, deps, GAVE_UP, ticket=esc(entry.ticket or entry.kind), reason=esc(reason[:200])
        )


async def _render(out: Outbound, entry: OutboxEntry) -> str:
    kind = entry.kind
    if kind.startswith("dialogue"):
        from handlers.dialogues import deliver_dialogue_entry

        return await deliver_dialogue_entry(out, entry)
    if kind == "admin_notice":
        await _admins(out, entry.data["message"], **{k: v for k, v in entry.data.items() if k != "message"})
        return "delivered"
    petition = await out.deps.cases.find(entry.ticket)
    if petition is None:
        return "no_petition"  # erased meanwhile
    if kind == "case":
        return await _case(out, entry, petition)
    if kind == "routed_to_fallback":
        directory = out.deps.directory
        locality = directory.locality(petition.locality_code)
        category = directory.category(petition.category)
        await _admins(
            out,
            FALLBACK_ROUTED,
            place=esc(locality.name if locality else petition.locality_code),
            topic=esc(category.name_en if category else petition.category),
            ticket=esc(petition.id),
        )
        return "delivered"
    if kind == "relay_to_official":
        return await _relay_to_official(out, entry, petition)
    if entry.official_id is None and entry.data.get("co_signer") and entry.lane != petition.citizen_id:
        return await _to_co_signer(out, entry, petition)
    if entry.official_id is None:
        return await _to_citizen(out, entry, petition)
    return await _to_official(out, entry, petition)


async def _admins(out: Outbound, message: str, **values: str) -> None:
    for admin_id in await admin_chats(out.deps):
        _ = await language_of(out.deps, admin_id)
        with contextlib.suppress(Unreachable):
            await out.message(admin_id, _(message).format(**values))


async def admin_chats(deps: Deps) -> list[int]:
    """Every admin's chat: ADMIN_IDS and active officials with the admin role."""
    admin_ids = set(deps.settings.admin_ids)
    for official in (await deps.cases.officials_by_id()).values():
        if official.role.value == "admin" and official.is_active and official.telegram_id:
            admin_ids.add(official.telegram_id)
    return sorted(admin_ids)


async def _case(out: Outbound, entry: OutboxEntry, petition: Petition) -> str:
    """The case card for its official (or their team chat's topic); the admins when unreachable."""
    deps = out.deps
    officials = await deps.cases.officials_by_id()
    official = officials.get(entry.official_id or petition.assignee_id or "")
    header = CASE_HEADERS.get(entry.data.get("header", "new"), CASE_HEADERS["new"])
    if official is not None and official.team_chat_id is not None:
        with contextlib.suppress(Unreachable):
            await _card_in_topic(out, petition, official, header)
            return "delivered"
    if official is None or official.telegram_id is None:
        await _admins(
            out,
            FALLBACK_NOT_JOINED,
            ticket=esc(petition.id),
            official=esc(official_label(official) if official else str(entry.official_id)),
        )
        await _card_to_admins(out, petition, official)
        return "fallback"
    _ = await language_of(deps, official.telegram_id)
    try:
        await _card(out, petition, official, official.telegram_id, None, _(header), _)
    except Unreachable:
        await _admins(
            out, FALLBACK_UNREACHABLE, ticket=esc(petition.id), official=esc(official_label(official))
        )
        await _card_to_admins(out, petition, official)
        return "fallback"
    return "delivered"


async def _card_to_admins(out: Outbound, petition: Petition, official: Official | None) -> None:
    for admin_id in await admin_chats(out.deps):
        _ = await language_of(out.deps, admin_id)
        with contextlib.suppress(Unreachable):
            await _card(out, petition, official, admin_id, None, "", _)


async def _card(
    out: Outbound,
    petition: Petition,
    assignee: Official | None,
    chat_id: int,
    thread_id: int | None,
    header: str,
    _: Gettext,
) -> None:
    unit = await out.deps.cases.unit(assignee.unit) if assignee else None
    officials = await out.deps.cases.officials_by_id()  # to name who transferred the case
    co_signers = await out.deps.cosign.count(petition.id)  # me too: the card shows how many joined
    screen = views.case_screen(
        _,
        petition,
        out.deps.directory,
        assignee,
        unit,
        header=header,
        officials=officials,
        co_signers=co_signers,
    )
    if screen.preface:
        await out.message(chat_id, screen.preface, thread_id=thread_id)
    await out.message(chat_id, screen.text, screen.markup, thread_id=thread_id)
    await out.attachments(chat_id, petition.attachments, thread_id=thread_id)


async def _card_in_topic(out: Outbound, petition: Petition, assignee: Official, header_text: str) -> None:
    """One forum topic per petition in the team chat, named with the ticket and the category."""
    deps = out.deps
    chat_id = assignee.team_chat_id
    assert chat_id is not None
    _ = deps.translator(None)
    thread_id = petition.topic_thread_id if petition.topic_chat_id == chat_id else None
    if thread_id is None:
        category = deps.directory.category(petition.category)
        name = f"{petition.id} · {category.name(_.lang) if category else petition.category}"[:128]
        try:
            topic = await out.bot.create_forum_topic(chat_id, name)
        except (Forbidden, BadRequest) as exc:
            log.warning("topic.create_failed", ticket=petition.id, chat=chat_id, error=str(exc))
            raise Unreachable(str(exc)) from exc
        thread_id = topic.message_thread_id
        await deps.cases.link_topic(petition.id, chat_id, thread_id)
    header = (
        _(header_text)
        + "\n"
        + _("Write in this topic to answer the citizen; messages starting with # stay internal.")
    )
    await _card(out, petition, assignee, chat_id, thread_id, header, _)


async def _to_citizen(out: Outbound, entry: OutboxEntry, petition: Petition) -> str:
    """News, receipts, questions and relays for the petition's citizen; their official is told when the
    citizen cannot be reached (never the other way round: nobody is told "sent" that was not)."""
    deps = out.deps
    if petition.channel != "tg":
        return "no_channel"  # raised at a dialogue on behalf of those present: nobody to tell
    chat = citizen_chat(petition)
    _ = await language_of(deps, chat, petition.language)
    try:
        if not chat:
            raise Unreachable("erased")
        await _citizen_message(out, entry, petition, chat, _)
    except Unreachable as exc:
        log.info("citizen.unreachable", ticket=petition.id, kind=entry.kind, error=str(exc))
        if entry.kind in ("news", "relay_to_citizen"):
            await _tell_official_citizen_unreachable(out, entry, petition)
            return "fallback"
        return "unreachable"
    return "delivered"


CO_SIGNER_HEADER = N_("👥 News of petition {ticket}, which you joined:")
CO_SIGNER_FILE = N_("📎 (a photo or file, sent to the citizen who filed the petition)")


async def _to_co_signer(out: Outbound, entry: OutboxEntry, petition: Petition) -> str:
    """Me too: a petition's news for a citizen who joined it (the lane is their citizen id), under a line
    saying which petition it is; nothing when they left meanwhile (erased their data). Nobody else is
    told when a co-signer cannot be reached: the petitioner's own news carries the fallback."""
    citizen_id = entry.lane
    if not await out.deps.cosign.is_co_signer(petition.id, citizen_id):
        return "not_co_signer"
    channel, _sep, external = citizen_id.partition(":")
    if channel != "tg" or not external.lstrip("-").isdigit():
        return "no_channel"
    chat = int(external)
    _ = await language_of(out.deps, chat)
    header = _(CO_SIGNER_HEADER).format(ticket=esc(petition.id))
    try:
        if entry.kind == "verdict":
            from handlers.citizen.verdict import verdict_keyboard, verdict_question

            await out.message(
                chat, header + "\n" + verdict_question(_, petition), verdict_keyboard(petition, _)
            )
        elif entry.kind == "relay_to_citizen":
            from handlers.official.cases import CITIZEN_NEWS

            text = entry.data.get("note") or entry.data.get("caption") or ""
            assignee = (await out.deps.cases.officials_by_id()).get(petition.assignee_id or "")
            unit = await out.deps.cases.unit(assignee.unit) if assignee else None
            news = _(CITIZEN_NEWS[CaseAction.REPLY]).format(
                ticket=esc(petition.id), unit=esc(unit.name if unit else "")
            )
            body = f"{header}\n{news}\n"
            body += "<blockquote>{}</blockquote>".format(esc(text)) if text else _(CO_SIGNER_FILE)
            await out.message(chat, body)
        elif entry.kind == "news":
            await out.message(chat, header + "\n" + await _news_text(out.deps, entry, petition, _))
        elif entry.kind == "outcome_news":
            from handlers.dialogues import outcome_news

            await out.message(chat, header + "\n" + await outcome_news(out.deps, entry, petition, _))
        elif entry.kind in NOTICE_TEXTS:
            await out.message(chat, header + "\n" + await _citizen_notice_text(out.deps, entry, petition, _))
        else:
            raise ValueError(f"unknown co-signer entry kind {entry.kind!r}")
    except Unreachable as exc:
        log.info("co_signer.unreachable", ticket=petition.id, kind=entry.kind, error=str(exc))
        return "unreachable"
    return "delivered"


async def _news_text(deps: Deps, entry: OutboxEntry, petition: Petition, _: Gettext) -> str:
    """An official's action told as text (the headline and the official's words; no file, no hint to
    answer: a co-signer follows the petition, the petitioner converses)."""
    from handlers.official.cases import CITIZEN_NEWS

    action = CaseAction(entry.data["action"])
    officials = await deps.cases.officials_by_id()
    responsible = officials.get(entry.data.get("assignee") or petition.assignee_id or "")
    unit = await deps.cases.unit(responsible.unit) if responsible else None
    news = _(CITIZEN_NEWS[action]).format(ticket=esc(petition.id), unit=esc(unit.name if unit else ""))
    note = entry.data.get("note", "")
    if note and action != CaseAction.ACCEPT:
        news += "\n<blockquote>{}</blockquote>".format(esc(note))
    elif "from_chat" in entry.data:
        news += "\n" + _(CO_SIGNER_FILE)
    return news


async def _citizen_message(
    out: Outbound, entry: OutboxEntry, petition: Petition, chat: int, _: Gettext
) -> None:
    from handlers.citizen import views as citizen_views

    deps = out.deps
    kind = entry.kind
    if kind == "receipt":
        locality = deps.directory.locality(petition.locality_code)
        await out.message(
            chat,
            citizen_views.submitted_text(_, petition.id, locality, deadlines=petition.deadlines),
            citizen_views.main_menu(_),
        )
    elif kind == "news":
        await _news(out, entry, petition, chat, _)
    elif kind == "verdict":
        from handlers.citizen.verdict import verdict_keyboard, verdict_question

        await out.message(chat, verdict_question(_, petition), verdict_keyboard(petition, _))
    elif kind == "outcome_news":
        from handlers.dialogues import outcome_news

        await out.message(chat, await outcome_news(deps, entry, petition, _))
    elif kind == "relay_to_citizen":
        await _relay_to_citizen(out, entry, petition, chat, _)
    elif kind in NOTICE_TEXTS:
        await out.message(chat, await _citizen_notice_text(out.deps, entry, petition, _))
    elif kind == "text":
        await out.message(chat, entry.data["text"])
    else:
        raise ValueError(f"unknown outbox entry kind {kind!r}")


async def _news(out: Outbound, entry: OutboxEntry, petition: Petition, chat: int, _: Gettext) -> None:
    """What an official's action means for the citizen, with the official's words and files."""
    from handlers.official.cases import ANSWER_HINT, CITIZEN_NEWS

    deps = out.deps
    action = CaseAction(entry.data["action"])
    officials = await deps.cases.officials_by_id()
    responsible = officials.get(entry.data.get("assignee") or petition.assignee_id or "")
    unit = await deps.cases.unit(responsible.unit) if responsible else None
    unit_name = esc(unit.name if unit else "")
    headline = _(CITIZEN_NEWS[action]).format(ticket=esc(petition.id), unit=unit_name)
    note = entry.data.get("note", "")
    if "from_chat" in entry.data:  # a reply or question sent as a photo or file: copied with the headline
        caption = headline
        if note:
            caption += "\n" + esc(note)
        await out.copy(chat, int(entry.data["from_chat"]), int(entry.data["message_id"]), caption)
        return
    news = headline
    if note and action != CaseAction.ACCEPT:
        news += "\n<blockquote>{}</blockquote>".format(esc(note))
    if action in (CaseAction.REPLY, CaseAction.ASK_INFO):
        news += "\n" + _(ANSWER_HINT)
    await out.message(chat, news)
    if action == CaseAction.RESOLVE and petition.resolution_attachments:
        await out.attachments(chat, petition.resolution_attachments)


async def _relay_to_citizen(
    out: Outbound, entry: OutboxEntry, petition: Petition, chat: int, _: Gettext
) -> None:
    """What an official wrote in the case's team topic, for the citizen."""
    from handlers.official.cases import ANSWER_HINT, CITIZEN_NEWS

    officials = await out.deps.cases.officials_by_id()
    assignee = officials.get(petition.assignee_id or "")
    unit = await out.deps.cases.unit(assignee.unit) if assignee else None
    header = _(CITIZEN_NEWS[CaseAction.REPLY]).format(
        ticket=esc(petition.id), unit=esc(unit.name if unit else "")
    )
    if "from_chat" in entry.data:
        caption = entry.data.get("caption")
        await out.copy(
            chat,
            int(entry.data["from_chat"]),
            int(entry.data["message_id"]),
            header + ("\n" + esc(caption) if caption else ""),
        )
        return
    body = "{}\n<blockquote>{}</blockquote>\n{}".format(
        header, esc(entry.data.get("note", "")), _(ANSWER_HINT)
    )
    await out.message(chat, body)


async def _relay_to_official(out: Outbound, entry: OutboxEntry, petition: Petition) -> str:
    """What the citizen added to their petition, for the official handling it (in the case's team topic
    when it has one); the admins get it when the official cannot be reached."""
    deps = out.deps
    officials = await deps.cases.officials_by_id()
    assignee = officials.get(entry.official_id or petition.assignee_id or "")
    targets: list[tuple[int, int | None, Gettext]] = []
    if (
        assignee is not None
        and petition.topic_chat_id is not None
        and assignee.team_chat_id == petition.topic_chat_id
    ):
        targets.append((petition.topic_chat_id, petition.topic_thread_id, deps.translator(None)))
    elif assignee is not None and assignee.telegram_id is not None:
        targets.append((assignee.telegram_id, None, await language_of(deps, assignee.telegram_id)))

    async def send_to(chat_id: int, thread_id: int | None, _: Gettext) -> None:
        header = _("📩 The citizen added information to {ticket}:").format(ticket=esc(petition.id))
        if "from_chat" in entry.data:
            caption = entry.data.get("caption")
            await out.copy(
                chat_id,
                int(entry.data["from_chat"]),
                int(entry.data["message_id"]),
                header + ("\n" + esc(caption) if caption else ""),
                thread_id=thread_id,
            )
        else:
            text = f"{header}\n<blockquote>{esc(entry.data.get('note', ''))}</blockquote>"
            await out.message(chat_id, text, thread_id=thread_id)

    for chat_id, thread_id, gettext in targets:
        try:
            await send_to(chat_id, thread_id, gettext)
            return "delivered"
        except Unreachable:
            pass
    # Nobody to give it to: the admins get it, with the card, so that the case does not stall.
    who = esc(official_label(assignee) if assignee else str(entry.official_id))
    reason = FALLBACK_UNREACHABLE if targets else FALLBACK_NOT_JOINED
    await _admins(out, reason, ticket=esc(petition.id), official=who)
    for admin_id in await admin_chats(deps):
        with contextlib.suppress(Unreachable):
            await send_to(admin_id, None, await language_of(deps, admin_id))
    return "fallback"


async def _citizen_notice_text(deps: Deps, entry: OutboxEntry, petition: Petition, _: Gettext) -> str:
    from handlers.citizen.views import local_time

    officials = await deps.cases.officials_by_id()
    escalated = officials.get(entry.data.get("to") or petition.escalated_to or "")
    unit = await deps.cases.unit(escalated.unit) if escalated else None
    kind = entry.data.get("kind", "")
    deadline = petition.deadlines.get(kind)
    message = NOTICE_TEXTS[entry.kind]
    if entry.kind == "escalated" and kind == "reopened":
        message = NOTICE_TEXTS["escalated_citizen_reopened"]
    elif entry.kind == "escalated" and unit is None:
        message = NOTICE_TEXTS["escalated_no_unit"]
    return _(message).format(
        ticket=esc(petition.id),
        due=local_time(deadline.due_at) if deadline else "",
        assignee="",
        unit=esc(views.role_in_unit(escalated, unit)),
        what="",
    )


async def _tell_official_citizen_unreachable(out: Outbound, entry: OutboxEntry, petition: Petition) -> None:
    officials = await out.deps.cases.officials_by_id()
    official = officials.get(entry.data.get("actor") or petition.assignee_id or "")
    chat = official.telegram_id if official else None
    if chat is None and entry.data.get("actor_chat"):
        chat = int(entry.data["actor_chat"])
    if chat:
        _ = await language_of(out.deps, chat)
        with contextlib.suppress(Unreachable):
            await out.message(chat, _(CITIZEN_UNREACHABLE).format(ticket=esc(petition.id)))
            return
    await _admins(out, CITIZEN_UNREACHABLE, ticket=esc(petition.id))


async def _to_official(out: Outbound, entry: OutboxEntry, petition: Petition) -> str:
    """Deadline notices, escalations, reopenings and citizens' follow-ups for an official; the admins
    get them (with the card) when the official has not joined or blocked the bot."""
    from handlers.citizen.views import local_time

    deps = out.deps
    officials = await deps.cases.officials_by_id()
    official = officials.get(entry.official_id or petition.assignee_id or "")
    assignee = officials.get(petition.assignee_id or "")
    chat = official.telegram_id if official else None
    _ = await language_of(deps, chat or 0)
    with_card = entry.kind in ("escalated_to_you", "reopened", "reopened_supervisor")
    kind = entry.data.get("kind", "")
    deadline = petition.deadlines.get(kind)
    what = _(DEADLINE_WHAT[kind]) if kind in DEADLINE_WHAT else ""
    message = NOTICE_TEXTS[entry.kind]
    if entry.kind == "escalated_to_you" and kind == "reopened":
        message = NOTICE_TEXTS["escalated_reopened"]
    text = _(message).format(
        ticket=esc(petition.id),
        due=local_time(deadline.due_at) if deadline else "",
        assignee=esc(official_label(assignee)),
        what=what,
        unit="",
    )
    if "reason" in entry.data:
        text += "\n<blockquote>{}</blockquote>".format(esc(entry.data["reason"]))
    try:
        if chat is None:
            raise Unreachable("not joined")
        await out.message(chat, text)
        if with_card:
            await _card(out, petition, assignee or official, chat, None, "", _)
    except Unreachable:
        # Nobody may miss an escalation or a deadline: the admins get it, with the card to act on.
        who = esc(official_label(official) if official else str(entry.official_id))
        reason = FALLBACK_NOT_JOINED if chat is None else FALLBACK_UNREACHABLE
        await _admins(out, reason, ticket=esc(petition.id), official=who)
        for admin_id in await admin_chats(deps):
            with contextlib.suppress(Unreachable):
                await out.message(admin_id, text)
        await _card_to_admins(out, petition, assignee or official)
        return "fallback"
    return "delivered"
