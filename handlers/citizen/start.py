"""/start, consent, /language, /help, /privacy and the main menu."""

from __future__ import annotations

from telegram import Update

from bot import callbacks
from bot.context import BotContext
from bot.domain.citizens import decode_choices, encode_choices, has_petition_consent
from bot.errors import NothingChosen
from handlers.citizen import views
from handlers.common import Turn, answer_query, begin, close_keyboard, edit_or_send, send
from storage.models import ConsentPurpose, Step


async def show_menu(update: Update, turn: Turn, text: str | None = None) -> None:
    """Send the main menu keyboard with a short text."""
    await send(update, text or views.menu_text(turn._), views.main_menu(turn._))


async def staff_tools(update: Update, turn: Turn) -> tuple[bool, bool] | None:
    """``(is_admin, may_organise)`` when the user is an official or admin, else None."""
    actor = await turn.deps.cases.actor(update.effective_user.id if update.effective_user else 0)
    if not actor.is_staff:
        return None
    return actor.is_admin, turn.deps.dialogues.may_manage(actor)


async def ask_consent(
    update: Update, turn: Turn, *, then: str = "menu", dialogue_id: str | None = None
) -> None:
    """Show the consent form (nothing pre-selected) and remember what to do after it: the menu, a new
    petition, or a new question for ``dialogue_id``."""
    turn.session.step = Step.CONSENT
    turn.session.after_consent = "new" if then == "new" else "menu"
    turn.session.after_consent_dialogue = dialogue_id if then == "new" else None
    await turn.save()
    await send(
        update,
        views.consent_text(turn._, turn.deps.directory.province_name),
        views.consent_keyboard(turn._, turn.session),
    )


async def on_start(update: Update, context: BotContext) -> None:
    """Welcome the citizen; ask for consent if they have not given it."""
    if context.args and context.args[0].startswith("inv-"):
        from handlers.admin.onboarding import on_invite_start  # an official's invitation link

        await on_invite_start(update, context, context.args[0])
        return
    turn = await begin(update, context)
    province = turn.deps.directory.province_name
    if not has_petition_consent(turn.citizen):
        await send(update, views.welcome_text(turn._, province))
        await ask_consent(update, turn)
        return
    await turn.save()
    text = views.welcome_text(turn._, province) + "\n\n" + views.menu_text(turn._)
    if turn.deps.intake.has_unfinished_draft(turn.session):
        text += "\n\n" + turn._("You have an unfinished petition: send /new to continue it.")
    await show_menu(update, turn, text)


async def on_consent_button(update: Update, context: BotContext) -> None:
    """Toggle a purpose, show the notice, or record the decision."""
    query = update.callback_query
    assert query is not None
    data = callbacks.parse(query.data)
    turn = await begin(update, context)
    _ = turn._
    if data is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    if data.action == "pn":
        await query.answer()
        await send(update, views.privacy_notice(_, turn.deps.directory.province_name))
        return
    if data.action == "ch":
        await query.answer()
        await ask_consent(update, turn)
        return
    if turn.session.step != Step.CONSENT:
        if (
            data.action == "ok"
            and turn.citizen.consent is not None
            and data.arg(0) == encode_choices(turn.citizen.consent.choices)
        ):
            # This very Continue again: replayed after a crash (its query already answered) or pressed
            # twice. What it asked for is saved; show the menu, which the first run may not have sent.
            await answer_query(update)
            await close_keyboard(update)
            await show_menu(
                update, turn, _("✅ Thank you. Your choices are saved.") + "\n\n" + views.menu_text(_)
            )
            return
        await answer_query(
            update, _("This form was already answered. Send /start to see it again."), alert=True
        )
        await close_keyboard(update)
        return
    # The ticks the pressed form showed travel with the button: they, not the session, are the choice.
    shown = decode_choices(data.arg(1) if data.action == "t" else data.arg(0))
    if data.action in ("t", "ok") and shown is None:  # a form of an older version of the bot
        await query.answer(_("This button is no longer valid."), show_alert=True)
        await close_keyboard(update)
        await ask_consent(
            update, turn, then=turn.session.after_consent, dialogue_id=turn.session.after_consent_dialogue
        )
        return
    if data.action == "t":
        assert shown is not None
        try:
            purpose = ConsentPurpose(data.arg(0))
        except ValueError:
            await query.answer(_("This button is no longer valid."), show_alert=True)
            return
        turn.deps.citizens.toggle_choice(turn.session, purpose, shown)
        await turn.save()
        await query.answer()
        await edit_or_send(
            update,
            views.consent_text(_, turn.deps.directory.province_name),
            views.consent_keyboard(_, turn.session),
        )
        return
    if data.action not in ("ok", "no"):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    try:
        record = await turn.deps.citizens.decide(
            turn.citizen, turn.session, turn.lang, shown if data.action == "ok" else None
        )
    except NothingChosen:
        await query.answer(
            _("Please tick what you agree to, then tap Continue. If you do not agree, tap «I do not agree»."),
            show_alert=True,
        )
        return
    then, dialogue_id = turn.session.after_consent, turn.session.after_consent_dialogue
    turn.session.step = Step.IDLE
    turn.session.after_consent, turn.session.after_consent_dialogue = "menu", None
    if not record.allows(ConsentPurpose.PETITIONS):
        turn.deps.intake.cancel(turn.session)  # without consent no draft is kept either
        turn.session.case_input = None
    await turn.save()
    await query.answer()
    await close_keyboard(
        update,
        views.consent_text(_, turn.deps.directory.province_name) + "\n\n" + views.consent_status(_, record),
    )
    if not record.allows(ConsentPurpose.PETITIONS):
        await send(update, views.declined_text(_, turn.deps.directory))
        return
    await show_menu(update, turn, _("✅ Thank you. Your choices are saved.") + "\n\n" + views.menu_text(_))
    if then == "new" and dialogue_id is not None:
        from handlers.dialogues import ask_question  # the question that led to the consent form

        await ask_question(update, turn, dialogue_id)
    elif then == "new":
        from handlers.citizen.intake import start_or_resume

        await start_or_resume(update, turn)


async def on_language(update: Update, context: BotContext) -> None:
    """/language: offer the languages."""
    turn = await begin(update, context)
    await turn.save()
    await send(update, turn._("Choose your language:"), views.language_keyboard())


async def on_language_button(update: Update, context: BotContext) -> None:
    """Switch the citizen's language."""
    query = update.callback_query
    assert query is not None
    data = callbacks.parse(query.data)
    turn = await begin(update, context)
    if data is None or data.action not in ("vi", "en"):
        await query.answer(turn._("This button is no longer valid."), show_alert=True)
        return
    await turn.deps.citizens.set_language(turn.citizen, data.action)
    turn._ = turn.deps.translator(data.action)
    await turn.save()
    await query.answer()
    # Each language's name is written in that language: no translation needed.
    await close_keyboard(update, "✅ English" if data.action == "en" else "✅ Tiếng Việt")
    if turn.session.step == Step.CONSENT:
        await send(
            update,
            views.consent_text(turn._, turn.deps.directory.province_name),
            views.consent_keyboard(turn._, turn.session),
        )
        return
    tools = await staff_tools(update, turn)
    if tools is not None:  # an official keeps the official menu, and their commands follow the language
        from handlers.commands import publish_staff_commands
        from handlers.official.views import staff_menu_text

        user_id = update.effective_user.id if update.effective_user else 0
        await publish_staff_commands(update.get_bot(), turn.deps, user_id)
        await show_menu(update, turn, staff_menu_text(turn._, is_admin=tools[0], may_organise=tools[1]))
    else:
        await show_menu(update, turn)
    if turn.session.step not in (Step.IDLE, Step.CONSENT):
        from handlers.citizen.intake import prompt_current_step

        await prompt_current_step(update, turn)


async def on_help(update: Update, context: BotContext) -> None:
    """/help."""
    turn = await begin(update, context)
    await turn.save()
    tools = await staff_tools(update, turn)
    if tools is not None:  # their tools first; they may also send petitions like anyone
        from handlers.official.views import staff_help_text

        await send(update, staff_help_text(turn._, is_admin=tools[0], may_organise=tools[1]))
    await send(update, views.help_text(turn._), views.main_menu(turn._))


async def on_privacy(update: Update, context: BotContext) -> None:
    """/privacy: the citizen's current consent, what is stored about them, and their rights."""
    from handlers.citizen.privacy import show_privacy  # what is stored, copy, withdraw, delete (issue 6)

    turn = await begin(update, context)
    await send(update, views.consent_status(turn._, turn.citizen.consent))
    await show_privacy(update, turn)
