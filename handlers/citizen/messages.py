"""Messages in the private chat that are not commands: menu buttons, answers to the current step,
attachments, contact cards — and guidance for everything else, never silence."""

from __future__ import annotations

from telegram import Message, Update

from bot.context import BotContext
from bot.domain.citizens import has_petition_consent
from handlers import dialogues
from handlers.admin import reports as admin_reports
from handlers.citizen import followup, verdict, views
from handlers.citizen.intake import (
    cancel,
    on_new,
    on_step_attachment,
    on_step_contact,
    on_step_text,
    prompt_current_step,
    start_with_text,
)
from handlers.citizen.my import on_my
from handlers.citizen.start import ask_consent, on_help, on_language
from handlers.common import CAPTION_LIMIT, Turn, begin, excerpt, send
from handlers.official.cases import on_official_input
from storage.models import Attachment, AttachmentKind, Step


def _menu_action(turn: Turn, text: str) -> str | None:
    for lang in ("vi", "en"):
        _ = turn.deps.translator(lang)
        for label in views.MENU_LABELS:
            if text == _(label):
                return label
        if text == _(views.CANCEL_LABEL):
            return views.CANCEL_LABEL
    return None


async def awaited_text(update: Update, turn: Turn, text: str) -> bool:
    """Text that answers /subscribe (a place) or /broadcast (a place, the announcement)."""
    from handlers.admin import broadcast
    from handlers.citizen import subscriptions

    return await broadcast.on_awaited_text(update, turn, text) or await subscriptions.on_awaited_text(
        update, turn, text
    )


async def _case_conversation(
    update: Update, turn: Turn, text: str | None, attachment: Attachment | None, message: Message
) -> bool:
    """Handle a message that continues a case conversation; False when it is not one."""
    pending = turn.session.case_input
    if pending is not None and pending.action in (verdict.COMMENT, verdict.REOPEN):
        if text is None:
            await send(update, turn._("Please write it as a text message."))
            return True
        await verdict.on_verdict_text(update, turn, text)
        return True
    if pending is not None and pending.action == followup.CITIZEN_INFO:
        await followup.relay_info(update, turn, pending.ticket, text, attachment, message)
        return True
    if pending is not None and pending.action == admin_reports.RANGE_INPUT:
        await admin_reports.on_range_text(update, turn, text)
        return True
    if pending is not None:
        await on_official_input(update, turn, text, attachment, message)
        return True
    ticket = followup.ticket_replied_to(message, update.get_bot().id)
    if ticket is not None and (text or attachment) and turn.session.step in (Step.IDLE, Step.CONSENT):
        await followup.relay_info(update, turn, ticket, text, attachment, message)
        return True
    return False


async def on_text(update: Update, context: BotContext) -> None:
    """Plain text: a menu button, an answer to the current step, or guidance."""
    message = update.effective_message
    assert message is not None and message.text is not None
    turn = await begin(update, context)
    action = _menu_action(turn, message.text)
    if action is None and await dialogues.on_text(update, turn, message.text):
        return
    if action is None and await _case_conversation(update, turn, message.text, None, message):
        return
    if action == views.MENU_NEW:
        await on_new(update, context)
    elif action == views.MENU_MY:
        await on_my(update, context)
    elif action == views.MENU_LANGUAGE:
        await on_language(update, context)
    elif action == views.MENU_HELP:
        await on_help(update, context)
    elif action == views.CANCEL_LABEL:
        await cancel(update, turn)
    elif turn.session.step == Step.CONSENT:
        if (
            turn.session.after_consent_dialogue is None
            and not has_petition_consent(turn.citizen)
            and turn.deps.intake.could_describe(message.text)
        ):
            # Their problem, typed while the form waits: kept as the petition's description, the
            # petition starts once they answered the form.
            await start_with_text(update, turn, message.text)
            return
        await turn.save()
        await send(update, turn._("Please tick what you agree to above, then tap Continue."))
        await ask_consent(
            update, turn, then=turn.session.after_consent, dialogue_id=turn.session.after_consent_dialogue
        )
    elif turn.session.step == Step.IDLE and await awaited_text(update, turn, message.text):
        return  # a /subscribe place name or a /broadcast text
    elif turn.session.step == Step.IDLE or turn.session.draft is None:
        await _idle_text(update, turn, message.text)
    else:
        await on_step_text(update, turn, message.text)


async def _idle_text(update: Update, turn: Turn, text: str) -> None:
    """Text at the main menu: long enough to describe something, it begins a petition (officials get
    the guidance instead: their chat is for cases)."""
    user_id = update.effective_user.id if update.effective_user else 0
    if turn.deps.intake.could_describe(text) and not (await turn.deps.cases.actor(user_id)).is_staff:
        await start_with_text(update, turn, text)
        return
    _ = turn._
    if not has_petition_consent(turn.citizen):
        await send(update, _("Welcome! Send /start to begin."))
        return
    await turn.save()
    await send(
        update,
        _("To send a petition, tap «📝 New petition» or send /new.") + "\n\n" + views.menu_text(_),
        views.main_menu(_),
    )


def attachment_of(message: Message) -> Attachment | None:
    """The evidence a message carries, as a stored Attachment (file ids only, nothing downloaded), with
    its caption."""
    attachment = _file_of(message)
    if attachment is not None and message.caption:
        attachment.caption = excerpt(message.caption, CAPTION_LIMIT)
    return attachment


def _file_of(message: Message) -> Attachment | None:
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return Attachment(
            kind=AttachmentKind.PHOTO,
            file_id=photo.file_id,
            file_unique_id=photo.file_unique_id,
            file_size=photo.file_size,
        )
    if message.document:
        doc = message.document
        return Attachment(
            kind=AttachmentKind.DOCUMENT,
            file_id=doc.file_id,
            file_unique_id=doc.file_unique_id,
            file_name=doc.file_name,
            mime_type=doc.mime_type,
            file_size=doc.file_size,
        )
    if message.voice:
        voice = message.voice
        return Attachment(
            kind=AttachmentKind.VOICE,
            file_id=voice.file_id,
            file_unique_id=voice.file_unique_id,
            mime_type=voice.mime_type,
            file_size=voice.file_size,
        )
    if message.audio:
        audio = message.audio
        return Attachment(
            kind=AttachmentKind.AUDIO,
            file_id=audio.file_id,
            file_unique_id=audio.file_unique_id,
            file_name=audio.file_name,
            mime_type=audio.mime_type,
            file_size=audio.file_size,
        )
    if message.video:
        video = message.video
        return Attachment(
            kind=AttachmentKind.VIDEO,
            file_id=video.file_id,
            file_unique_id=video.file_unique_id,
            file_name=video.file_name,
            mime_type=video.mime_type,
            file_size=video.file_size,
        )
    if message.location:
        return Attachment(
            kind=AttachmentKind.LOCATION,
            latitude=message.location.latitude,
            longitude=message.location.longitude,
        )
    return None


async def on_media(update: Update, context: BotContext) -> None:
    """A photo, document, voice message, audio, video or location."""
    message = update.effective_message
    assert message is not None
    turn = await begin(update, context)
    attachment = attachment_of(message)
    if attachment is not None and await _case_conversation(update, turn, None, attachment, message):
        return
    if attachment is None or turn.session.draft is None or turn.session.step in (Step.IDLE, Step.CONSENT):
        await turn.save()
        await send(
            update,
            turn._(
                "To send photos or files with a petition, start it with /new; you can attach them at step 5."
            ),
            views.main_menu(turn._),
        )
        return
    await on_step_attachment(update, turn, attachment, message.caption)


async def on_contact(update: Update, context: BotContext) -> None:
    """A shared contact card."""
    message = update.effective_message
    assert message is not None
    turn = await begin(update, context)
    await on_step_contact(update, turn, message)


async def on_unsupported(update: Update, context: BotContext) -> None:
    """Stickers, video notes, polls, games...: explain what the bot understands."""
    turn = await begin(update, context)
    _ = turn._
    await turn.save()
    if turn.session.step in (Step.IDLE, Step.CONSENT) or turn.session.draft is None:
        await send(
            update,
            _("Sorry, I cannot read this kind of message. Please use text or the menu buttons."),
            views.main_menu(_),
        )
        return
    await send(update, _("Sorry, I cannot use this kind of message here."))
    await prompt_current_step(update, turn)


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not know."""
    turn = await begin(update, context)
    await turn.save()
    await send(
        update,
        turn._("I don't know that command.") + "\n\n" + views.menu_text(turn._),
        views.main_menu(turn._),
    )


async def on_stale_button(update: Update, context: BotContext) -> None:
    """A button whose data matches nothing we build (forged or from an old version)."""
    query = update.callback_query
    assert query is not None
    _ = context.deps.translator(update.effective_user.language_code if update.effective_user else None)
    await query.answer(_("This button is no longer valid."), show_alert=True)


async def on_edited(update: Update, context: BotContext) -> None:
    """An edited message: say that edits are not picked up, and how to change an answer."""
    turn = await begin(update, context)
    await turn.save()
    await send(
        update,
        turn._(
            "I noticed you edited a message. Edits are not picked up: to change an answer, "
            "use Edit on the summary before sending, or just send the new text."
        ),
    )
