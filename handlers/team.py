"""Team chats: an official (or unit) works in a forum supergroup, one topic per petition.

``/teamchat <official id>`` (by an admin, in the group) links the group; from then on each petition
of that official gets its own topic with the case card. What members write in a topic reaches the
citizen; messages starting with ``#`` and commands stay internal notes.
"""

from __future__ import annotations

from telegram import ChatMemberAdministrator, ChatMemberOwner, Update

from bot.context import BotContext
from bot.domain.cases import CaseAction, may_act
from bot.errors import StaleAction, UnknownChoice
from bot.i18n import Gettext
from handlers import notify
from handlers.citizen.messages import attachment_of
from handlers.common import begin, esc, send
from handlers.official.cases import ANSWER_HINT, CITIZEN_NEWS, on_official_input


async def on_teamchat(update: Update, context: BotContext) -> None:
    """/teamchat <official id> | /teamchat off <official id>: link a forum group to an official."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    deps = context.deps
    _ = deps.translator(user.language_code)
    actor = await deps.cases.actor(user.id)
    if not actor.is_admin:
        await send(update, _("Only an administrator can link a team chat."))
        return
    args = list(context.args or [])
    turning_off = bool(args) and args[0] == "off"
    if turning_off:
        args = args[1:]
    if len(args) != 1:
        # The usage names placeholders in angle brackets: escaped, it is text, not HTML.
        await send(update, esc(_("Usage: /teamchat <official id>, or /teamchat off <official id>.")))
        return
    if not turning_off:
        if not chat.is_forum:
            await send(update, _("This group has no topics. Turn on Topics in the group settings first."))
            return
        member = await context.bot.get_chat_member(chat.id, context.bot.id)
        can_manage = isinstance(member, ChatMemberOwner) or (
            isinstance(member, ChatMemberAdministrator) and bool(member.can_manage_topics)
        )
        if not can_manage:
            await send(
                update,
                _("Make me an administrator of this group with the right to manage topics, then try again."),
            )
            return
    try:
        official = await deps.cases.set_team_chat(args[0], None if turning_off else chat.id)
    except UnknownChoice:
        await send(update, _("There is no official with the id {id}.").format(id=esc(args[0])))
        return
    if turning_off:
        await send(
            update,
            _("New petitions of {name} go to their private chat again.").format(name=esc(official.name)),
        )
    else:
        await send(
            update,
            _("✅ New petitions of {name} will each get a topic in this group.").format(
                name=esc(official.name)
            ),
        )


async def on_team_message(update: Update, context: BotContext) -> None:
    """A message in a case's topic: completes a pending action, is an internal note, or goes to the citizen."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or not message.is_topic_message:
        return
    deps = context.deps
    ticket = await deps.cases.ticket_of_topic(chat.id, message.message_thread_id or 0)
    if ticket is None:
        return  # not a case topic: the bot stays silent in groups
    turn = await begin(update, context)
    _ = turn._
    attachment = attachment_of(message)
    text = message.text
    if turn.session.case_input is not None and turn.session.case_input.ticket == ticket:
        await on_official_input(update, turn, text, attachment, message)
        return
    actor = await deps.cases.actor(user.id)
    petition = await deps.cases.get(ticket)
    officials = await deps.cases.officials_by_id()
    assignee = officials.get(petition.assignee_id or "")
    same_unit = actor.official is not None and assignee is not None and actor.official.unit == assignee.unit
    if not actor.is_staff or not (may_act(actor, petition, officials) or same_unit):
        await send(update, _("Only officials linked to the bot can answer citizens from here."))
        return
    content = text or message.caption or ""
    if (text or "").startswith(("#", "/")):
        await deps.cases.record_team_message(actor.ref, ticket, content, internal=True)
        return
    if not petition.is_open:
        await send(
            update,
            _("{ticket} is closed: this message was not sent to the citizen.").format(ticket=esc(ticket)),
        )
        return
    if not content and attachment is None:
        return
    try:
        petition = await deps.cases.record_team_message(
            actor.ref,
            ticket,
            content or f"[{attachment.kind.value}]" if attachment else content,
            internal=False,
        )
    except StaleAction:
        return
    unit = await deps.cases.unit(assignee.unit) if assignee else None
    citizen_ = await notify.language_of(deps, notify.citizen_chat(petition), petition.language)
    header = citizen_(CITIZEN_NEWS[CaseAction.REPLY]).format(
        ticket=esc(ticket), unit=esc(unit.name if unit else "")
    )
    bot = update.get_bot()
    if attachment is not None:
        caption = header + ("\n" + esc(message.caption) if message.caption else "")
        reached = await notify.copy_to(bot, notify.citizen_chat(petition), message, caption[:1024])
    else:
        body = f"{header}\n<blockquote>{esc(content)}</blockquote>\n{citizen_(ANSWER_HINT)}"
        reached = await notify.tell_citizen(bot, petition, body) is not None
    unit_name = esc(unit.name if unit else "")

    def co_signer_news(g: Gettext) -> str:
        news = g(CITIZEN_NEWS[CaseAction.REPLY]).format(ticket=esc(ticket), unit=unit_name)
        return f"{news}\n<blockquote>{esc(content or message.caption or '')}</blockquote>"

    await notify.tell_co_signers(bot, deps, petition, co_signer_news)  # me too: co-signers are told too
    if not reached:
        await send(
            update, _("⚠️ The citizen could not be reached (they may have blocked the bot); it is recorded.")
        )
