"""/new, /cancel and the intake steps: thin adapters over ``bot.domain.intake``."""

from __future__ import annotations

from telegram import Message, Update

from bot import callbacks
from bot.context import BotContext
from bot.domain.citizens import has_petition_consent
from bot.domain.directory import PetitionType
from bot.domain.intake import ATTACHMENTS_MAX, DESCRIPTION_MIN
from bot.domain.visible_text import is_visibly_empty
from bot.errors import (
    DescriptionEmpty,
    DescriptionTooLong,
    DescriptionTooShort,
    DraftIncomplete,
    NotYourContact,
    StaleAction,
    TooManyAttachments,
    UnknownChoice,
)
from bot.logs import bind, get_logger
from handlers.citizen import views
from handlers.common import (
    CHANNEL,
    Turn,
    answer_query,
    begin,
    close_keyboard,
    edit_or_send,
    edit_screen,
    esc,
    send,
    send_screen,
)
from storage.models import Attachment, Step

log = get_logger(__name__)

LOCALITY_MATCHES_MAX = 200  # every match of a typed name, shown a page at a time
LOCALITY_QUERY_MAX = 200


async def prompt_current_step(update: Update, turn: Turn) -> None:
    """Send the prompt of the step the citizen is at (used to resume after anything)."""
    session, _ = turn.session, turn._
    draft = session.draft
    directory = turn.deps.directory
    if draft is None or session.step in (Step.IDLE, Step.CONSENT):
        return
    if session.step == Step.LOCALITY:
        await send(update, *views.locality_prompt(_, draft, session))
    elif session.step == Step.CATEGORY:
        suggestions = turn.deps.intake.topic_suggestions(session)
        await send(update, *views.category_prompt(_, draft, session, directory, suggestions))
    elif session.step == Step.TYPE:
        if session.pending_type:
            await send(update, *views.formal_notice(_, draft, PetitionType(session.pending_type)))
        else:
            await send(update, *views.type_prompt(_, draft, session))
    elif session.step == Step.DESCRIPTION:
        await send_screen(update, views.description_prompt(_, draft, session))
    elif session.step == Step.ATTACHMENTS:
        await send(update, *views.attachments_prompt(_, draft, session))
    elif session.step == Step.CONTACT:
        formal = draft.type is not None and PetitionType(draft.type).is_formal
        await send(update, *views.contact_prompt(_, draft, formal))
    elif session.step == Step.CONFIRM:
        await send_screen(update, views.summary(_, draft, directory))
    elif session.step == Step.SIMILAR:
        await _offer_similar(update, turn)


async def _offer_similar(update: Update, turn: Turn) -> None:
    """ "Me too": show the similar open petitions, or move on when there is none."""
    session = turn.session
    found = await turn.deps.intake.find_similar(session, turn.citizen.id)
    await turn.save()
    if not found:
        await prompt_current_step(update, turn)  # the next step
        return
    assert session.draft is not None
    counts = await turn.deps.cosign.counts([f.petition.id for f in found])
    await send(
        update, *views.similar_offer(turn._, session.draft, session, found, counts, turn.deps.directory)
    )


async def start_or_resume(update: Update, turn: Turn) -> None:
    """Begin a new draft, or offer to continue the unfinished one."""
    intake = turn.deps.intake
    if intake.has_unfinished_draft(turn.session):
        assert turn.session.draft is not None
        await turn.save()
        await send(update, *views.resume_offer(turn._, turn.session.draft))
        return
    if turn.session.draft is not None and turn.session.draft.kept_text is not None:
        intake.resume(turn.session)  # a draft begun with a message typed at the main menu
    else:
        intake.start_draft(turn.session)
    await turn.save()
    await prompt_current_step(update, turn)


async def start_with_text(update: Update, turn: Turn, text: str) -> None:
    """A message typed at the main menu begins a petition: it waits as the description draft while the
    citizen chooses the place, topic and kind (after consent, when not given yet)."""
    _ = turn._
    intake = turn.deps.intake
    unfinished = intake.has_unfinished_draft(turn.session)
    intake.keep_text(turn.session, text)
    if not has_petition_consent(turn.citizen):
        from handlers.citizen.start import ask_consent

        await send(
            update,
            _(
                "📝 I kept your message to start a petition with it. Before you send a petition, please read "
                "and answer the consent request."
            ),
        )
        await ask_consent(update, turn, then="new")
        return
    if unfinished:
        await start_or_resume(update, turn)  # continue the other draft, or start again with this text
        return
    if await _over_daily_limit(update, turn):
        return
    intake.resume(turn.session)
    await turn.save()
    await send(
        update,
        _(
            "📝 I kept your message as the description of a new petition. First, a few short questions: "
            "where, what about, and what kind of petition."
        ),
        views.main_menu(_),
    )
    await prompt_current_step(update, turn)


async def on_new(update: Update, context: BotContext) -> None:
    """/new: start a petition (after consent)."""
    turn = await begin(update, context)
    if not has_petition_consent(turn.citizen):
        from handlers.citizen.start import ask_consent

        await send(update, turn._("Before you send a petition, please read and answer the consent request."))
        await ask_consent(update, turn, then="new")
        return
    if not turn.deps.intake.has_unfinished_draft(turn.session) and await _over_daily_limit(update, turn):
        return
    await start_or_resume(update, turn)


async def _over_daily_limit(update: Update, turn: Turn) -> bool:
    """Tell the citizen (politely) when they already sent today's maximum of petitions (issue 6)."""
    privacy = turn.deps.privacy
    if not await privacy.daily_limit_reached(turn.citizen.id):
        return False
    await turn.save()
    await send(
        update,
        turn._(
            "🙏 You have already sent {limit} petitions today, the most one person can send in a day, so that "
            "officials can give every petition the attention it needs. Please send this one tomorrow: an "
            "unfinished draft is kept for 7 days. In an emergency call 113, 114 or 115."
        ).format(limit=privacy.max_petitions_per_day),
        views.main_menu(turn._),
    )
    return True


async def on_cancel(update: Update, context: BotContext) -> None:
    """/cancel: discard the draft, whatever the step."""
    turn = await begin(update, context)
    await cancel(update, turn)


async def cancel(update: Update, turn: Turn) -> None:
    """Discard the draft and say so."""
    _ = turn._
    pending = turn.session.case_input
    if pending is not None:
        turn.session.case_input = None
        await turn.save()
        await send(update, _("Cancelled."), views.main_menu(_))
        if pending.action != "info":  # an official's action: show the case again
            from handlers.official.cases import send_current_card

            await send_current_card(update, turn, pending.ticket)
        return
    if turn.session.step == Step.CONSENT:
        turn.session.step = Step.IDLE
        await turn.save()
        await send(update, _("OK, cancelled. Nothing was saved."), views.main_menu(_))
        return
    had_draft = turn.deps.intake.cancel(turn.session)
    await turn.save()
    text = (
        _("Cancelled. Your draft was discarded and nothing was sent. Send /new to start again.")
        if had_draft
        else _("There is nothing to cancel.")
    )
    await send(update, text, views.main_menu(_))


async def on_intake_button(update: Update, context: BotContext) -> None:
    """Every inline button of the intake: ``i:<action>:<draft id>[:<arg>]``."""
    query = update.callback_query
    assert query is not None
    data = callbacks.parse(query.data)
    turn = await begin(update, context)
    _ = turn._
    if data is None:
        await answer_query(update, _("This button is no longer valid."), alert=True)
        return
    if not has_petition_consent(turn.citizen):
        await answer_query(update, _("Please answer the consent request first: send /start."), alert=True)
        return
    action, tag, arg = data.action, data.arg(0), data.arg(1)
    intake = turn.deps.intake
    session = turn.session
    try:
        if action == "ok":
            await _submit(update, turn, tag)
            return
        if action == "mt" and await _already_joined(update, turn, tag, arg):
            return
        draft = intake.check_tag(session, tag)
        if action == "rs":
            intake.resume(session)
            if draft.description is not None:
                draft.kept_text = None  # the continued petition is already described
        elif action == "rn":
            intake.start_draft(session, kept_text=draft.kept_text)
        elif action == "cx":
            await answer_query(update)
            await close_keyboard(update)
            await cancel(update, turn)
            return
        elif action == "lp":
            intake.check_tag(session, tag, Step.LOCALITY)
            await answer_query(update)
            page = int(arg) if arg.isdigit() else 0
            await turn.save()
            await edit_or_send(update, *views.locality_page(_, draft, session, turn.deps.directory, page))
            return
        elif action == "lq":
            intake.check_tag(session, tag, Step.LOCALITY)
            if session.locality_query is None:
                raise StaleAction("no search")
            await query.answer()
            search = turn.deps.directory.search_localities(session.locality_query, limit=LOCALITY_MATCHES_MAX)
            page = int(arg) if arg.isdigit() else 0
            await turn.save()
            await edit_or_send(
                update, *views.locality_results(_, draft, session, search, turn.deps.directory, page)
            )
            return
        elif action == "lc":
            intake.check_tag(session, tag, Step.LOCALITY)
            intake.set_locality(session, arg)
        elif action == "ct":
            intake.check_tag(session, tag, Step.CATEGORY)
            intake.set_category(session, arg)
        elif action in ("ds", "ca"):
            intake.check_tag(session, tag, Step.CATEGORY)
            await turn.save()
            await query.answer()
            if action == "ds":
                await edit_or_send(update, *views.describe_first_prompt(_, draft, session))
            else:
                await edit_or_send(update, *views.category_prompt(_, draft, session, turn.deps.directory))
            return
        elif action == "mt":
            intake.check_tag(session, tag, Step.SIMILAR)
            await _join(update, turn, arg)
            return
        elif action == "mn":
            intake.check_tag(session, tag, Step.SIMILAR)
            intake.decline_similar(session)
        elif action == "ty":
            intake.check_tag(session, tag, Step.TYPE)
            if intake.choose_type(session, arg):
                await turn.save()
                await answer_query(update)
                await edit_or_send(update, *views.formal_notice(_, draft, PetitionType(arg)))
                return
        elif action == "tf":
            intake.check_tag(session, tag, Step.TYPE)
            intake.confirm_formal_type(session, arg)
        elif action == "tb":
            intake.check_tag(session, tag, Step.TYPE)
            session.pending_type = None
            await turn.save()
            await answer_query(update)
            await edit_or_send(update, *views.type_prompt(_, draft, session))
            return
        elif action == "dk":
            intake.check_tag(session, tag, Step.DESCRIPTION)
            try:
                intake.keep_description(session)
            except (DescriptionEmpty, DescriptionTooShort, DescriptionTooLong):
                await query.answer()
                await _set_description(update, turn, draft.kept_text or "")
                return
        elif action == "ad":
            intake.check_tag(session, tag, Step.ATTACHMENTS)
            intake.finish_attachments(session)
        elif action == "ax":
            intake.check_tag(session, tag, Step.ATTACHMENTS)
            intake.clear_attachments(session)
            await turn.save()
            await answer_query(update, _("All attachments removed."))
            await edit_or_send(update, *views.attachments_prompt(_, draft, session))
            return
        elif action == "ed":
            intake.check_tag(session, tag, Step.CONFIRM)
            await answer_query(update)
            await turn.save()
            await edit_screen(update, views.edit_menu(_, draft, turn.deps.directory))
            return
        elif action == "ef":
            intake.check_tag(session, tag, Step.CONFIRM)
            try:
                intake.edit(session, Step(arg))
            except ValueError:
                raise UnknownChoice(arg) from None
        elif action == "bs":
            if not session.editing and session.step != Step.CONFIRM:
                raise StaleAction("not editing")
            intake.back_to_summary(session)
        else:
            raise UnknownChoice(action)
    except StaleAction:
        # An older message's button, or this very press replayed after a crash: say so, and show the
        # step the citizen is at now as a new message, so they always know what comes next.
        await answer_query(
            update, _("This button belongs to an earlier step. Please use the latest message."), alert=True
        )
        await close_keyboard(update)
        await prompt_current_step(update, turn)
        return
    except UnknownChoice:
        log.warning("intake.unknown_choice", action=action, arg=arg)
        await answer_query(
            update,
            _("This choice is not available. Please use the buttons of the latest message."),
            alert=True,
        )
        return
    await turn.save()
    await answer_query(update)
    await close_keyboard(update, _choice_echo(turn, action, arg))
    if action == "ct":
        category = turn.deps.directory.category(arg)
        if category is not None and category.is_urgent:
            await send(update, views.urgent_notice(_, turn.deps.directory))
    await prompt_current_step(update, turn)


def _choice_echo(turn: Turn, action: str, arg: str) -> str | None:
    """What the pressed message turns into, so the chat reads as a record of the answers."""
    _ = turn._
    directory = turn.deps.directory
    if action == "lc":
        locality = directory.locality(arg)
        return f"📍 {esc(locality.name)} ✓" if locality else None
    if action == "ct":
        category = directory.category(arg)
        return f"🗂 {esc(category.name(_.lang))} ✓" if category else None
    if action in ("ty", "tf"):
        return f"📌 {_(views.TYPE_LABELS[PetitionType(arg)])} ✓"
    if action == "dk":
        return _("📝 Description saved ✓")
    if action == "ad":
        draft = turn.session.draft
        count = len(draft.attachments) if draft else 0
        return "📎 " + (_("{count} attached").format(count=count) if count else _("no attachments")) + " ✓"
    if action == "mn":
        return "➡️ " + _("I continue with my own petition") + " ✓"
    return None


async def _already_joined(update: Update, turn: Turn, tag: str, ticket: str) -> bool:
    """A second «Me too» (double tap, redelivered update) after the first one joined: say so, once more."""
    draft = turn.session.draft
    if draft is not None and draft.id == tag:
        return False
    if not await turn.deps.cosign.is_co_signer(ticket, turn.citizen.id):
        return False
    query = update.callback_query
    assert query is not None
    await query.answer(turn._("You have already joined {ticket}.").format(ticket=ticket), show_alert=True)
    return True


async def _join(update: Update, turn: Turn, ticket: str) -> None:
    """ "Me too": become a co-signer of the offered petition; the draft is discarded in the same step."""
    query = update.callback_query
    assert query is not None
    _ = turn._
    try:
        joined = await turn.deps.intake.join_similar(turn.session, turn.citizen.id, ticket)
    except StaleAction:
        # It closed meanwhile (or was never offered): it is no longer offered; show what is left.
        await turn.save()
        await query.answer(
            _("This petition is no longer open, so it cannot be joined. Please continue with yours."),
            show_alert=True,
        )
        await close_keyboard(update)
        await prompt_current_step(update, turn)
        return
    log.info("petition.co_signed", ticket=joined.ticket, added=joined.added, co_signers=joined.co_signers)
    await turn.save()
    await query.answer()
    await close_keyboard(update, "👥 " + _("Me too: {ticket}").format(ticket=esc(ticket)) + " ✓")
    await send(update, views.joined_text(_, joined.ticket, joined.co_signers), views.main_menu(_))


async def _submit(update: Update, turn: Turn, tag: str) -> None:
    """Confirm: create the petition once, however often the button is pressed or the update redelivered.
    The receipt, the case card and any admin notice are recorded with the petition (the outbox) and
    sent from there, so a crash right after the creation still delivers them."""
    query = update.callback_query
    assert query is not None
    _ = turn._
    intake = turn.deps.intake
    session = turn.session
    try:
        intake.check_tag(session, tag, Step.CONFIRM)
    except StaleAction:
        ticket = await intake.ticket_for_draft(tag)
        if ticket is None:
            raise
        # Pressed again, or replayed after a crash: the petition exists; say so in the chat (the query
        # may be too old to answer), and make sure what it owes leaves now.
        await answer_query(update, _("Already sent as {ticket}.").format(ticket=ticket), alert=True)
        await turn.deps.outbox.flush((turn.citizen.id,))
        return
    assert session.draft is not None
    if await _over_daily_limit(update, turn):
        await answer_query(update)
        return
    locality = turn.deps.directory.locality(session.draft.locality_code or "")
    try:
        submission = await intake.submit(
            session, citizen_id=turn.citizen.id, channel=CHANNEL, language=turn.lang
        )
    except DraftIncomplete:
        await turn.save()
        await answer_query(update, _("Something is still missing."), alert=True)
        await prompt_current_step(update, turn)
        return
    bind(ticket=submission.ticket)  # on the rest of this update's log lines
    log.info("petition.submitted", ticket=submission.ticket, created=submission.created)
    await answer_query(update, _("Sent!"))
    await close_keyboard(update)
    await turn.deps.outbox.flush(submission.lanes)  # the receipt, the case card, the admins' notice
    if submission.created:
        from handlers.citizen.subscriptions import offer_after_petition

        await offer_after_petition(update, turn, turn.citizen, locality.code if locality else "")


async def on_step_text(update: Update, turn: Turn, text: str) -> None:
    """Text typed during the intake: a locality search, the description, or guidance."""
    _ = turn._
    session = turn.session
    intake = turn.deps.intake
    draft = session.draft
    assert draft is not None
    if session.step == Step.LOCALITY:
        search = turn.deps.directory.search_localities(text, limit=LOCALITY_MATCHES_MAX)
        session.locality_query = text[:LOCALITY_QUERY_MAX]  # for the pages of the matches
        await turn.save()
        await send(update, *views.locality_results(_, draft, session, search, turn.deps.directory))
        return
    if session.step == Step.DESCRIPTION:
        await _set_description(update, turn, text)
        return
    if session.step == Step.CATEGORY and len(text.strip()) >= DESCRIPTION_MIN:
        # Described before the topic was chosen: keep it as the description and suggest the topic.
        await _set_description(update, turn, text, first=True)
        return
    if session.step == Step.CONTACT:
        if text in (
            _(views.STAY_ANONYMOUS),
            turn.deps.translator("vi")(views.STAY_ANONYMOUS),
            turn.deps.translator("en")(views.STAY_ANONYMOUS),
        ):
            try:
                intake.set_anonymous(session)
            except UnknownChoice:
                await turn.save()
                await send(
                    update,
                    _(
                        "A complaint or denunciation cannot be anonymous. Please share your "
                        "phone number with the button, or /cancel."
                    ),
                )
                return
            await turn.save()
            await send(update, _("🙈 You stay anonymous."), views.main_menu(_))
            await prompt_current_step(update, turn)
            return
        await turn.save()
        await send(update, _("Please use the buttons below: share your phone number or stay anonymous."))
        await prompt_current_step(update, turn)
        return
    guidance = {
        Step.CATEGORY: _("Please choose the topic with one of the buttons."),
        Step.TYPE: _("Please choose the kind of petition with one of the buttons."),
        Step.ATTACHMENTS: _(
            "Send a photo, document, voice message or location, or tap Done when finished. "
            "To change the description, use Edit on the summary."
        ),
        Step.CONFIRM: _("Please tap Send, Edit or Cancel under the summary."),
        Step.SIMILAR: _(
            "Please tap «Me too» if one of these petitions is about the same problem, or «No, mine is "
            "different» to continue."
        ),
    }
    await turn.save()
    await send(update, guidance.get(session.step, _("Please use the buttons.")))
    await prompt_current_step(update, turn)


async def _set_description(update: Update, turn: Turn, text: str, *, first: bool = False) -> None:
    _ = turn._
    try:
        turn.deps.intake.set_description(turn.session, text)
    except DescriptionEmpty:
        message = _("The description is empty. Please type what the problem is.")
    except DescriptionTooShort as exc:
        message = _(
            "That is too short ({length} characters). Please write at least {minimum} characters "
            "so the official understands the problem."
        ).format(length=exc.length, minimum=exc.minimum)
    except DescriptionTooLong as exc:
        message = _(
            "That is too long ({length} characters; at most {maximum}). Please shorten it and send "
            "it again — your other answers are kept."
        ).format(length=_.number(exc.length), maximum=_.number(exc.maximum))
    else:
        await turn.save()
        if first:
            await send(
                update,
                _("📝 Saved as the description of your petition ✓ (you can change it before sending)"),
            )
        else:
            await send(update, _("📝 Description saved ✓"))
        await prompt_current_step(update, turn)
        return
    await turn.save()
    await send(update, message)


async def on_step_attachment(update: Update, turn: Turn, attachment: Attachment, caption: str | None) -> None:
    """A photo, file, voice message or location sent during the intake."""
    _ = turn._
    session = turn.session
    intake = turn.deps.intake
    if session.step == Step.DESCRIPTION and not is_visibly_empty(caption):
        assert caption is not None
        # A photo with a caption while the description is asked: take both.
        try:
            intake.set_description(session, caption)
        except (DescriptionEmpty, DescriptionTooShort, DescriptionTooLong):
            await _set_description(update, turn, caption)
            return
        session.step = Step.ATTACHMENTS
        attachment.caption = None  # it became the description
    try:
        count = intake.add_attachment(session, attachment)
    except TooManyAttachments as exc:
        await turn.save()
        await send(
            update,
            _("You have already attached {max}, the most allowed. Tap Done to continue.").format(
                max=exc.maximum
            ),
        )
        return
    if session.step != Step.ATTACHMENTS:
        # Sent ahead of (or after) the attachments step: keep it with the draft, then carry on.
        await turn.save()
        await send(
            update,
            _("📎 Kept with your petition ({count} of {max}).").format(count=count, max=ATTACHMENTS_MAX),
        )
        await prompt_current_step(update, turn)
        return
    await turn.save()
    assert session.draft is not None
    await send(
        update, views.attachment_received(_, count), views.attachments_keyboard(_, session.draft, session)
    )


async def on_step_contact(update: Update, turn: Turn, message: Message) -> None:
    """The citizen shared a contact card: their own phone number, we hope."""
    _ = turn._
    session = turn.session
    contact = message.contact
    user = update.effective_user
    assert contact is not None and user is not None
    if session.step != Step.CONTACT:
        await turn.save()
        await send(update, _("Thanks, but a phone number is only needed at the last step of a petition."))
        await prompt_current_step(update, turn)
        return
    try:
        if contact.user_id != user.id:
            raise NotYourContact()
        name = " ".join(part for part in (user.first_name, user.last_name) if part) or None
        turn.deps.intake.set_contact(session, name=name, phone=contact.phone_number)
    except NotYourContact:
        await turn.save()
        await send(update, _("Please share your own number with the «Share my phone number» button."))
        return
    await turn.save()
    await send(update, _("📱 Phone number saved ✓"), views.main_menu(_))
    await prompt_current_step(update, turn)
