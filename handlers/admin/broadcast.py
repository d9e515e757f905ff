"""/broadcast (admins only): audience → text → preview in each language → Confirm, then a live progress
message with Pause / Resume / Cancel.

Every command, text and button re-checks ``Actor.is_admin`` in Redis. The choices in progress live in
``broadcast:draft:<tg id>`` (2 hours) with a tag that travels in the buttons, so an older form's button
is refused. Buttons: ``bc:<action>:<tag>[:<code>]`` for the flow, ``bc:<p|r|c|u>:<broadcast id>`` on
the progress message (``c`` asks first; ``cy`` / ``cn`` answer).
"""

from __future__ import annotations

import secrets

from pydantic import BaseModel, Field
from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden

from bot import callbacks
from bot.context import BotContext, Deps
from bot.domain.broadcast import Audience, Broadcast, BroadcastNotFound, BroadcastState
from bot.domain.visible_text import is_visibly_empty
from bot.i18n import N_, Gettext
from bot.logs import get_logger
from handlers.citizen.views import button
from handlers.common import (
    TELEGRAM_TEXT_LIMIT,
    Turn,
    begin,
    close_keyboard,
    edit_or_send,
    esc,
    send,
    visible_len,
)
from handlers.notify import language_of

log = get_logger(__name__)

AWAITING = "bc"
DRAFT_TTL_SECONDS = 7200
HEADER = N_("📢 Announcement from {province}")
ADMINS_ONLY = N_("Only administrators can use this command.")
ADMINS_ONLY_BUTTON = N_("Only administrators can use this button.")
NOT_CURRENT = N_("This form is no longer current. Send the command again to start over.")
STATE_LABELS = {
    BroadcastState.RUNNING: N_("▶️ Sending"),
    BroadcastState.PAUSED: N_("⏸ Paused"),
    BroadcastState.CANCELLED: N_("⏹ Cancelled"),
    BroadcastState.DONE: N_("✅ Finished"),
}


class BroadcastDraft(BaseModel):
    """An admin's /broadcast in progress."""

    tag: str
    everyone: bool = False
    localities: list[str] = Field(default_factory=list)
    audience_chosen: bool = False
    text: str | None = None


def _user_id(update: Update) -> int:
    return update.effective_user.id if update.effective_user else 0


async def _load(deps: Deps, telegram_id: int) -> BroadcastDraft | None:
    raw = await deps.redis.get(deps.keys.broadcast_draft(telegram_id))
    return BroadcastDraft.model_validate_json(raw) if raw else None


async def _save(deps: Deps, telegram_id: int, draft: BroadcastDraft) -> None:
    await deps.redis.set(
        deps.keys.broadcast_draft(telegram_id), draft.model_dump_json(), ex=DRAFT_TTL_SECONDS
    )


async def _drop(deps: Deps, telegram_id: int) -> None:
    await deps.redis.delete(deps.keys.broadcast_draft(telegram_id))
    await deps.subscriptions.repo.set_awaiting(telegram_id, None)


def _cb(action: str, *args: str) -> str:
    return callbacks.build("bc", action, *args)


def render(_: Gettext, province: str, text: str) -> str:
    """What a citizen receives: the translated header and the admin's (escaped) text."""
    return "<b>" + esc(_(HEADER).format(province=province)) + "</b>\n\n" + esc(text)


def _audience_label(turn: Turn, draft: BroadcastDraft) -> str:
    _ = turn._
    if draft.everyone or not draft.localities:
        return _("all subscribers")
    names = [turn.deps.directory.locality(c) for c in draft.localities]
    return _("subscribers of {places}, and province-wide subscribers").format(
        places=", ".join(esc(n.name) for n in names if n is not None)
    )


def _audience_screen(_: Gettext, tag: str) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [button(_("📢 All subscribers"), _cb("all", tag))],
        [button(_("📍 Chosen communes and wards"), _cb("loc", tag))],
        [button(_("✖️ Cancel"), _cb("x", tag))],
    ]
    return _("📢 New announcement. Who should receive it?"), InlineKeyboardMarkup(rows)


def _localities_screen(turn: Turn, draft: BroadcastDraft) -> tuple[str, InlineKeyboardMarkup]:
    _ = turn._
    chosen = [turn.deps.directory.locality(c) for c in draft.localities]
    text = _("Type the name of a commune or ward to add it to the audience.")
    if draft.localities:
        text += "\n\n" + _("Chosen:") + "\n" + "\n".join("• " + esc(n.name) for n in chosen if n)
    rows = [[button("❌ " + n.name, _cb("t", draft.tag, n.code))] for n in chosen if n]
    if draft.localities:
        rows.append([button(_("➡️ Next: the text"), _cb("d", draft.tag))])
    rows.append([button(_("✖️ Cancel"), _cb("x", draft.tag))])
    return text, InlineKeyboardMarkup(rows)


async def _admin(update: Update, turn: Turn) -> bool:
    return (await turn.deps.cases.actor(_user_id(update))).is_admin


async def on_broadcast(update: Update, context: BotContext) -> None:
    """/broadcast: choose the audience."""
    turn = await begin(update, context)
    if not await _admin(update, turn):
        await send(update, turn._(ADMINS_ONLY))
        return
    draft = BroadcastDraft(tag=secrets.token_hex(3))
    await _save(turn.deps, _user_id(update), draft)
    await turn.deps.subscriptions.repo.set_awaiting(_user_id(update), None)
    await send(update, *_audience_screen(turn._, draft.tag))


async def _ask_text(update: Update, turn: Turn, draft: BroadcastDraft) -> None:
    draft.audience_chosen = True
    await _save(turn.deps, _user_id(update), draft)
    await turn.deps.subscriptions.repo.set_awaiting(_user_id(update), AWAITING)
    text = turn._("Audience: {audience}.").format(audience=_audience_label(turn, draft)) + "\n\n"
    text += turn._("✍️ Now write the announcement as one message. It is sent exactly as you write it.")
    await edit_or_send(
        update, text, InlineKeyboardMarkup([[button(turn._("✖️ Cancel"), _cb("x", draft.tag))]])
    )


async def on_awaited_text(update: Update, turn: Turn, text: str) -> bool:
    """The admin's typed locality name or announcement; False when no /broadcast is waiting for it."""
    user_id = _user_id(update)
    if await turn.deps.subscriptions.repo.awaiting(user_id) != AWAITING:
        return False
    _ = turn._
    draft = await _load(turn.deps, user_id)
    if draft is None or not await _admin(update, turn):
        await turn.deps.subscriptions.repo.set_awaiting(user_id, None)
        await send(update, _(ADMINS_ONLY) if draft else _(NOT_CURRENT))
        return True
    if not draft.audience_chosen:
        search = turn.deps.directory.search_localities(text)
        rows = [
            [button("➕ " + m.locality.name, _cb("t", draft.tag, m.locality.code))] for m in search.matches
        ]
        rows.append([button(_("✖️ Cancel"), _cb("x", draft.tag))])
        answer = (
            _("Which one? Tap it to add it.")
            if search.matches
            else _("I could not find a commune or ward by that name. Type another name.")
        )
        await send(update, answer, InlineKeyboardMarkup(rows))
        return True
    if is_visibly_empty(text):
        await send(update, _("This message shows no text. Please write the announcement."))
        return True
    province = turn.deps.directory.province_name
    longest = max(visible_len(render(turn.deps.translator(lang), province, text)) for lang in ("vi", "en"))
    if longest > TELEGRAM_TEXT_LIMIT:
        await send(
            update,
            _(
                "This announcement is too long: at most {limit} characters with the header. Please shorten it."
            ).format(limit=_.number(TELEGRAM_TEXT_LIMIT - (longest - visible_len(esc(text))))),
        )
        return True
    draft.text = text
    await _save(turn.deps, user_id, draft)
    await turn.deps.subscriptions.repo.set_awaiting(user_id, None)
    await send(update, _("👀 Preview — exactly what citizens will see:"))
    for lang in ("vi", "en"):
        label = "🇻🇳 Tiếng Việt" if lang == "vi" else "🇬🇧 English"
        await send(update, label + "\n\n" + render(turn.deps.translator(lang), province, text))
    rows = [
        [button(_("✅ Confirm and send"), _cb("ok", draft.tag))],
        [button(_("✏️ Edit the text"), _cb("e", draft.tag)), button(_("✖️ Cancel"), _cb("x", draft.tag))],
    ]
    summary = _("Audience: {audience}.").format(audience=_audience_label(turn, draft))
    audience = Audience(localities=[] if draft.everyone else draft.localities, everyone=draft.everyone)
    reach = await turn.deps.broadcasts.count(audience)
    summary += "\n" + (
        _("👥 It will reach {count} subscribers.").format(count=_.number(reach))
        if reach
        else _("👥 Nobody has subscribed to this audience yet: it would reach no one.")
    )
    await send(update, summary + "\n" + _("Send it?"), InlineKeyboardMarkup(rows))
    return True


async def on_broadcast_button(update: Update, context: BotContext) -> None:
    """Every button of /broadcast and of the progress message."""
    query = update.callback_query
    assert query is not None
    turn = await begin(update, context)
    _ = turn._
    actor = await turn.deps.cases.actor(_user_id(update))
    data = callbacks.parse(query.data)
    if not actor.is_admin:
        await query.answer(_(ADMINS_ONLY_BUTTON), show_alert=True)
        return
    if data is None:
        await query.answer(_("This choice is not available."), show_alert=True)
        return
    if data.action in ("p", "r", "c", "cy", "cn", "u"):
        await _steer(update, turn, actor.ref, data)
        return
    draft = await _load(turn.deps, actor.telegram_id)
    if draft is None or draft.tag != data.arg(0):
        await query.answer(_(NOT_CURRENT), show_alert=True)
        await close_keyboard(update)
        return
    action = data.action
    if action == "x":
        await _drop(turn.deps, actor.telegram_id)
        await query.answer()
        await close_keyboard(update, _("Announcement cancelled. Nothing was sent."))
    elif action == "all":
        draft.everyone, draft.localities = True, []
        await query.answer()
        await _ask_text(update, turn, draft)
    elif action == "loc":
        await _save(turn.deps, actor.telegram_id, draft)
        await turn.deps.subscriptions.repo.set_awaiting(actor.telegram_id, AWAITING)
        await query.answer()
        await edit_or_send(update, *_localities_screen(turn, draft))
    elif (
        action == "t" and turn.deps.directory.locality(data.arg(1)) is not None and not draft.audience_chosen
    ):
        code = data.arg(1)
        draft.localities = (
            [c for c in draft.localities if c != code]
            if code in draft.localities
            else [
                *draft.localities,
                code,
            ]
        )
        await _save(turn.deps, actor.telegram_id, draft)
        await query.answer()
        await edit_or_send(update, *_localities_screen(turn, draft))
    elif action == "d" and draft.localities and not draft.audience_chosen:
        await query.answer()
        await _ask_text(update, turn, draft)
    elif action == "e" and draft.text is not None:
        await query.answer()
        await close_keyboard(update)
        await _ask_text(update, turn, draft)
    elif action == "ok" and draft.text is not None:
        await _confirm(update, turn, actor.ref, draft)
    else:
        await query.answer(_("This choice is not available."), show_alert=True)


async def _confirm(update: Update, turn: Turn, actor_ref: str, draft: BroadcastDraft) -> None:
    query = update.callback_query
    assert query is not None and draft.text is not None
    deps = turn.deps
    province = deps.directory.province_name
    texts = {lang: render(deps.translator(lang), province, draft.text) for lang in ("vi", "en")}
    audience = Audience(localities=[] if draft.everyone else draft.localities, everyone=draft.everyone)
    chat = update.effective_chat
    broadcast_id = await deps.broadcasts.start(
        actor_ref=actor_ref, audience=audience, texts=texts, progress_chat_id=chat.id if chat else None
    )
    await _drop(deps, _user_id(update))
    broadcast = await deps.broadcasts.get(broadcast_id)
    log.info("broadcast.started", broadcast=broadcast_id, by=actor_ref, recipients=broadcast.total)
    await query.answer()
    await close_keyboard(
        update,
        turn._("📢 Announcement {id} started: {total} recipients. Progress follows.").format(
            id=broadcast_id, total=turn._.number(broadcast.total)
        ),
    )


async def _steer(update: Update, turn: Turn, actor_ref: str, data: callbacks.Callback) -> None:
    query = update.callback_query
    assert query is not None
    _ = turn._
    service = turn.deps.broadcasts
    broadcast_id = data.arg(0)
    if data.action == "c":  # stopping for good cannot be undone: ask first, in a message of its own
        try:
            broadcast = await service.get(broadcast_id)
        except BroadcastNotFound:
            await query.answer(_("This choice is not available."), show_alert=True)
            return
        await query.answer()
        if broadcast.state not in (BroadcastState.RUNNING, BroadcastState.PAUSED):
            await update_progress(update.get_bot(), turn.deps, broadcast_id, final=True)
            return
        await send(
            update,
            _(
                "⏹ Stop announcement {id} for good? {remaining} of {total} recipients have not received it "
                "yet, and it cannot be resumed."
            ).format(
                id=broadcast_id, remaining=_.number(broadcast.remaining), total=_.number(broadcast.total)
            ),
            InlineKeyboardMarkup(
                [
                    [button(_("⏹ Yes, stop sending"), _cb("cy", broadcast_id))],
                    [button(_("↩️ No, keep it"), _cb("cn", broadcast_id))],
                ]
            ),
        )
        return
    if data.action == "cn":
        await query.answer()
        await close_keyboard(update, _("↩️ The announcement continues."))
        return
    try:
        if data.action == "p":
            changed = await service.pause(broadcast_id, actor_ref)
        elif data.action == "r":
            changed = await service.resume(broadcast_id, actor_ref)
        elif data.action == "cy":
            changed = await service.cancel(broadcast_id, actor_ref)
            await close_keyboard(update)
        else:
            changed = True
    except BroadcastNotFound:
        await query.answer(_("This choice is not available."), show_alert=True)
        return
    await query.answer(None if changed else _("This broadcast has already moved on."))
    await update_progress(update.get_bot(), turn.deps, broadcast_id, final=True)


def format_eta(_: Gettext, seconds: float) -> str:
    """About how long: seconds, minutes or hours."""
    if seconds < 60:
        return _("about {n} s").format(n=max(1, round(seconds)))
    if seconds < 3600:
        return _("about {n} min").format(n=round(seconds / 60))
    return _("about {n} h").format(n=_.decimal(seconds / 3600, 1))


def progress_screen(_: Gettext, broadcast: Broadcast, rate: float) -> tuple[str, InlineKeyboardMarkup | None]:
    """The live progress message: counts, ETA and the buttons of the current state."""
    lines = [
        _("📢 Broadcast {id}: {state}").format(id=broadcast.id, state=_(STATE_LABELS[broadcast.state])),
        _("Sent: {sent} · Failed: {failed} · Blocked the bot: {blocked}").format(
            sent=_.number(broadcast.sent),
            failed=_.number(broadcast.failed),
            blocked=_.number(broadcast.blocked),
        ),
        _("Remaining: {remaining} of {total}").format(
            remaining=_.number(broadcast.remaining), total=_.number(broadcast.total)
        ),
    ]
    if broadcast.state == BroadcastState.RUNNING and broadcast.remaining:
        lines.append(_("Time left: {eta}").format(eta=format_eta(_, broadcast.remaining / rate)))
    rows = []
    if broadcast.state == BroadcastState.RUNNING:
        rows.append(
            [button(_("⏸ Pause"), _cb("p", broadcast.id)), button(_("⏹ Cancel"), _cb("c", broadcast.id))]
        )
    elif broadcast.state == BroadcastState.PAUSED:
        rows.append(
            [button(_("▶️ Resume"), _cb("r", broadcast.id)), button(_("⏹ Cancel"), _cb("c", broadcast.id))]
        )
    if rows:
        rows.append([button(_("🔄 Refresh"), _cb("u", broadcast.id))])
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


async def update_progress(bot: Bot, deps: Deps, broadcast_id: str, final: bool) -> None:
    """Send or edit the progress message: at most once per BROADCAST_PROGRESS_SECONDS unless ``final``."""
    repo = deps.broadcasts.repo
    broadcast = await deps.broadcasts.get(broadcast_id)
    chat_id = broadcast.progress_chat_id
    if chat_id is None:
        return
    first = broadcast.progress_message_id is None
    if not first and not await repo.take_progress_slot(
        broadcast_id, deps.settings.broadcast_progress_seconds, force=final
    ):
        return
    _ = await language_of(deps, chat_id)
    rate = (
        deps.settings.broadcast_paid_rate
        if deps.settings.allow_paid_broadcast
        else deps.settings.broadcast_rate
    )
    text, markup = progress_screen(_, broadcast, rate)
    try:
        if first:
            if await repo.claim_progress_message(broadcast_id):
                message = await bot.send_message(chat_id, text, reply_markup=markup)
                await repo.set_progress_message(broadcast_id, message.message_id)
                await repo.take_progress_slot(broadcast_id, 0, force=True)
            return
        assert broadcast.progress_message_id is not None
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=broadcast.progress_message_id, reply_markup=markup
        )
    except (BadRequest, Forbidden) as exc:
        if "not modified" not in str(exc).lower():
            log.info("broadcast.progress_failed", broadcast=broadcast_id, error=str(exc))
