"""/subscribe, /unsubscribe and the one-time offer after a first petition: announcements by locality
and province-wide, a separate optional consent.

Buttons: ``sb:<action>[:<target>]`` where target is a locality code or ``province``; every target is
checked against the directory, and a citizen only ever changes their own subscriptions.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot import callbacks
from bot.context import BotContext
from bot.domain.subscriptions import PROVINCE, has_announcement_consent
from bot.errors import UnknownChoice
from bot.i18n import N_, Gettext
from handlers.citizen.views import button
from handlers.common import Turn, begin, close_keyboard, edit_or_send, esc, send
from storage.models import Citizen

AWAITING = "sub"
PROVINCE_LABEL = N_("🏛 Province-wide announcements")
NOT_AVAILABLE = N_("This choice is not available.")


def _cb(action: str, *args: str) -> str:
    return callbacks.build("sb", action, *args)


def target_name(turn: Turn, target: str) -> str:
    """A subscription as the citizen reads it (escaped)."""
    if target == PROVINCE:
        return esc(turn._(PROVINCE_LABEL))
    locality = turn.deps.directory.locality(target)
    return esc(locality.name if locality else target)


def _user_id(update: Update) -> int:
    return update.effective_user.id if update.effective_user else 0


async def _current(turn: Turn, update: Update) -> str:
    targets = await turn.deps.subscriptions.of(_user_id(update))
    if not targets:
        return turn._("You are not subscribed to any announcements yet.")
    names = "\n".join("• " + target_name(turn, t) for t in targets)
    return turn._("Your subscriptions:") + "\n" + names


def consent_screen(_: Gettext, then: str) -> tuple[str, InlineKeyboardMarkup]:
    """Ask for the separate consent to announcements (nothing pre-selected)."""
    text = _(
        "📢 Announcements (dialogue schedules with the leadership, notices for your commune or ward) are "
        "a separate, optional choice. Your Telegram account and the places you choose are kept only to "
        "send them; you can stop at any time with /unsubscribe or in /privacy.\n\n"
        "Do you agree to receive dialogue schedules and announcements?"
    )
    rows = [
        [button(_("✅ I agree"), _cb("ok", then) if then else _cb("ok"))],
        [button(_("No, thanks"), _cb("n"))],
    ]
    return text, InlineKeyboardMarkup(rows)


async def _menu(turn: Turn, update: Update) -> tuple[str, InlineKeyboardMarkup]:
    _ = turn._
    await turn.deps.subscriptions.repo.set_awaiting(_user_id(update), AWAITING)
    text = (
        await _current(turn, update)
        + "\n\n"
        + _("Type the name of a commune or ward to follow its announcements, or choose below.")
    )
    rows = [[button(_(PROVINCE_LABEL), _cb("a", PROVINCE))], [button(_("✔️ Done"), _cb("d"))]]
    return text, InlineKeyboardMarkup(rows)


async def on_subscribe(update: Update, context: BotContext) -> None:
    """/subscribe: consent to announcements first if needed, then choose places."""
    turn = await begin(update, context)
    if not has_announcement_consent(turn.citizen):
        await send(update, *consent_screen(turn._, ""))
        return
    await send(update, *await _menu(turn, update))


async def on_unsubscribe(update: Update, context: BotContext) -> None:
    """/unsubscribe: the subscriptions with a remove button each, and one for all."""
    turn = await begin(update, context)
    await send(update, *await _unsubscribe_screen(turn, update))


async def _unsubscribe_screen(turn: Turn, update: Update) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = turn._
    targets = await turn.deps.subscriptions.of(_user_id(update))
    if not targets:
        return _("You are not subscribed to any announcements. Send /subscribe to choose some."), None
    rows = [[button("❌ " + target_name(turn, t), _cb("r", t))] for t in targets]
    rows.append([button(_("🔕 Unsubscribe from all"), _cb("ra"))])
    return _("Tap a subscription to remove it:"), InlineKeyboardMarkup(rows)


async def on_awaited_text(update: Update, turn: Turn, text: str) -> bool:
    """A locality name typed after /subscribe; False when the citizen was not choosing places."""
    if await turn.deps.subscriptions.repo.awaiting(_user_id(update)) != AWAITING:
        return False
    _ = turn._
    search = turn.deps.directory.search_localities(text)
    if not search.matches:
        query = search.query if len(search.query) <= 80 else search.query[:80] + "…"
        await send(
            update,
            _(
                "I could not find a commune or ward called «{query}». Check the spelling or type another name."
            ).format(query=esc(query)),
        )
        return True
    rows = [[button("🔔 " + m.locality.name, _cb("a", m.locality.code))] for m in search.matches]
    rows.append([button(_("✔️ Done"), _cb("d"))])
    await send(update, _("Which one do you want to follow? Tap it."), InlineKeyboardMarkup(rows))
    return True


async def offer_after_petition(update: Update, turn: Turn, citizen: Citizen, locality_code: str) -> None:
    """Once per citizen, after their first petition: offer its locality's announcements."""
    subscriptions = turn.deps.subscriptions
    locality = turn.deps.directory.locality(locality_code)
    if locality is None or not await subscriptions.should_offer(citizen, locality_code):
        return
    _ = turn._
    text = _(
        "🔔 Would you like to receive announcements for {place}, such as dialogues with the leadership?"
    ).format(place=esc(locality.name))
    rows = [[button(_("🔔 Yes, subscribe"), _cb("a", locality_code))], [button(_("No, thanks"), _cb("n"))]]
    await send(update, text, InlineKeyboardMarkup(rows))


async def on_subscription_button(update: Update, context: BotContext) -> None:
    """Every button of /subscribe, /unsubscribe and the offer."""
    query = update.callback_query
    assert query is not None
    turn = await begin(update, context)
    _ = turn._
    data = callbacks.parse(query.data)
    service = turn.deps.subscriptions
    user_id = _user_id(update)
    try:
        if data is None:
            raise UnknownChoice("")
        target = service.check_target(data.arg(0)) if data.arg(0) else ""
        if data.action == "n":
            await service.repo.set_awaiting(user_id, None)
            await query.answer()
            await close_keyboard(update, _("OK. You can subscribe at any time with /subscribe."))
        elif data.action == "ok":
            await service.grant_announcements(turn.citizen, turn.lang)
            await query.answer(_("✅ Thank you. Your choices are saved."))
            if target:
                await service.subscribe(turn.citizen, [target])
                await close_keyboard(
                    update, _("🔔 Subscribed to {name}.").format(name=target_name(turn, target))
                )
                return
            await edit_or_send(update, *await _menu(turn, update))
        elif data.action == "a" and target:
            if not has_announcement_consent(turn.citizen):
                await query.answer()
                await edit_or_send(update, *consent_screen(_, target))
                return
            await service.subscribe(turn.citizen, [target])
            await query.answer(_("🔔 Subscribed to {name}.").format(name=target_name(turn, target)))
            await edit_or_send(update, *await _menu(turn, update))
        elif data.action == "d":
            await service.repo.set_awaiting(user_id, None)
            await query.answer()
            await close_keyboard(update, await _current(turn, update))
        elif data.action == "r" and target:
            await service.unsubscribe(user_id, [target])
            await query.answer(_("🔕 Unsubscribed from {name}.").format(name=target_name(turn, target)))
            await edit_or_send(update, *await _unsubscribe_screen(turn, update))
        elif data.action == "ra":
            await service.unsubscribe(user_id)
            await query.answer()
            await close_keyboard(
                update, _("🔕 You will receive no more announcements. Send /subscribe to start again.")
            )
        else:
            raise UnknownChoice(data.action)
    except UnknownChoice:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)


async def on_any_update(update: Update, context: BotContext) -> None:
    """Whoever writes to the bot can be reached again: clear the 'blocked the bot' mark (one SREM)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return
    await context.deps.broadcasts.repo.clear_unreachable(user.id)
