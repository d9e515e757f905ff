"""/privacy: what is stored about me, a copy of it, withdrawing consent per purpose, deleting my data.

Buttons ``pv:<action>[:<purpose>]``; each is re-checked against Redis (a forged purpose, or withdrawing
a consent that is not given, changes nothing and says so).
"""

from __future__ import annotations

import io
import json

from telegram import InlineKeyboardMarkup, InputFile, ReplyKeyboardRemove, Update

from bot import callbacks
from bot.context import BotContext
from bot.domain.privacy import PrivacySummary
from bot.i18n import Gettext
from handlers.citizen import views
from handlers.citizen.views import PURPOSE_LABELS, button, local_time
from handlers.common import Turn, begin, close_keyboard, esc, send
from storage.models import ConsentPurpose, Step

TICKETS_SHOWN = 20


def summary_text(_: Gettext, summary: PrivacySummary, subscription_names: list[str] | None = None) -> str:
    """Everything stored about the citizen, in short; ``subscription_names`` (escaped) name the
    subscriptions (their codes otherwise)."""
    citizen = summary.citizen
    lines = [_("🔒 <b>Your data</b>"), "", _("What is stored about you:")]
    lines.append("• " + _("your Telegram account number and your language"))
    profile = []
    if citizen.name:
        profile.append(_("name: {value}").format(value=esc(citizen.name)))
    if citizen.username:
        profile.append(_("username: {value}").format(value=esc(citizen.username)))
    if citizen.phone:
        profile.append(_("phone: {value}").format(value=esc(citizen.phone)))
    if profile:
        lines.append("• " + _("profile:") + " " + "; ".join(profile))
    lines.append("• " + _("consent decisions: {count}").format(count=len(summary.consents)))
    for record in summary.consents[-5:]:
        marks = ", ".join(
            "{} {}".format("✅" if record.allows(p) else "❌", _(label))
            for p, label in PURPOSE_LABELS.items()
        )
        lines.append("   {} — {}".format(local_time(record.at), marks))
    count = len(summary.tickets)
    if count:
        shown = ", ".join(esc(t) for t in summary.tickets[-TICKETS_SHOWN:])
        more = count - min(count, TICKETS_SHOWN)
        lines.append("• " + _("petitions: {count} ({tickets})").format(count=count, tickets=shown))
        if more:
            lines.append("   " + _("and {count} earlier").format(count=more))
        lines.append(
            "   " + _("with what you wrote, your attachments and, if you shared them, name and phone")
        )
    else:
        lines.append("• " + _("petitions: none"))
    if summary.subscriptions:
        items = ", ".join(subscription_names or [esc(code) for code in summary.subscriptions])
        lines.append("• " + _("subscriptions: {items}").format(items=items))
    lines += [
        "",
        _(
            "Your rights: download a copy of your data, withdraw a consent, or delete your data. "
            "Requests made here are carried out at once (the law allows 2 working days)."
        ),
    ]
    return "\n".join(lines)


def privacy_keyboard(_: Gettext) -> InlineKeyboardMarkup:
    """The data-rights buttons."""
    return InlineKeyboardMarkup(
        [
            [button(_("📥 Download a copy"), callbacks.build("pv", "dl"))],
            [button(_("↩️ Withdraw consent"), callbacks.build("pv", "wd"))],
            [button(_("🗑 Delete my data"), callbacks.build("pv", "del"))],
            [button(_("📄 Read the full privacy notice"), callbacks.build("c", "pn"))],
            [button(_("✏️ Change my consent"), callbacks.build("c", "ch"))],
        ]
    )


async def show_privacy(update: Update, turn: Turn) -> None:
    """Send the summary of the citizen's data and the rights buttons."""
    from handlers.citizen.subscriptions import target_name

    summary = await turn.deps.privacy.summary(turn.citizen)
    await turn.save()
    names = [target_name(turn, code) for code in summary.subscriptions]
    await send(update, summary_text(turn._, summary, names), privacy_keyboard(turn._))


async def on_privacy_button(update: Update, context: BotContext) -> None:
    """Download, withdraw, delete: ``pv:<action>[:<purpose>]``."""
    query = update.callback_query
    assert query is not None
    data = callbacks.parse(query.data)
    turn = await begin(update, context)
    _ = turn._
    action = data.action if data is not None else ""
    if action == "dl":
        await query.answer()
        await _send_copy(update, turn)
    elif action == "wd" and data is not None and data.arg(0):
        await _withdraw(update, turn, data.arg(0))
    elif action == "wd":
        granted = [p for p in PURPOSE_LABELS if turn.citizen.consent and turn.citizen.consent.allows(p)]
        await query.answer()
        if not granted:
            await send(update, _("You have no consent to withdraw."))
            return
        rows = [[button("↩️ " + _(PURPOSE_LABELS[p]), callbacks.build("pv", "wd", p.value))] for p in granted]
        await send(
            update,
            _("Which consent do you withdraw? Each purpose is separate."),
            InlineKeyboardMarkup(rows),
        )
    elif action == "del":
        await query.answer()
        await send(
            update,
            _(
                "🗑 <b>Delete my data?</b>\n\n"
                "Your name, username, phone number, consent records, any draft and the link between your "
                "Telegram account and your petitions will be erased. Your petitions stay with the officials "
                "without your identity, so that they can still be handled and the records stay complete; you "
                "will no longer be told about them here. This cannot be undone."
            ),
            InlineKeyboardMarkup(
                [
                    [button(_("🗑 Yes, delete my data"), callbacks.build("pv", "delok"))],
                    [button(_("✖️ No, keep it"), callbacks.build("pv", "keep"))],
                ]
            ),
        )
    elif action == "delok":
        await query.answer()
        await _erase(update, turn)
    elif action == "keep":
        await query.answer()
        await close_keyboard(update, _("Nothing was deleted."))
    else:
        await query.answer(_("This button is no longer valid."), show_alert=True)


async def _send_copy(update: Update, turn: Turn) -> None:
    copy = await turn.deps.privacy.export(turn.citizen)
    await turn.save()
    body = json.dumps(copy, ensure_ascii=False, indent=2).encode("utf-8")
    day = turn.deps.clock.now().strftime("%Y%m%d")
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(io.BytesIO(body), filename="tiengdan-my-data-" + day + ".json"),
        caption=turn._("📥 A copy of all the data stored about you (JSON)."),
    )


async def _withdraw(update: Update, turn: Turn, value: str) -> None:
    query = update.callback_query
    assert query is not None
    _ = turn._
    try:
        purpose = ConsentPurpose(value)
    except ValueError:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    consent = turn.citizen.consent
    if consent is None or not consent.allows(purpose):
        await query.answer(_("This consent is not given: nothing to withdraw."), show_alert=True)
        await close_keyboard(update)
        return
    record = await turn.deps.privacy.withdraw(turn.citizen, purpose, turn.lang)
    await query.answer()
    await close_keyboard(update, views.consent_status(_, record))
    if purpose == ConsentPurpose.PETITIONS:
        turn.deps.intake.cancel(turn.session)  # no new petition without consent: the draft goes too
        turn.session.case_input = None
        open_count = await _open_petitions(turn)
        await turn.save()
        await send(
            update,
            _(
                "↩️ Your consent to handling your petitions is withdrawn. You cannot send new petitions "
                "unless you give it again (/start).\n\n"
                "Processing already done is not undone. Your open petitions ({count}) continue to be handled "
                "and you will be told about them, unless you delete your data (/privacy → Delete my data)."
            ).format(count=open_count),
            views.main_menu(_),
        )
    else:
        await turn.save()
        await send(
            update,
            _(
                "↩️ Your consent to dialogue schedules and announcements is withdrawn: you will not receive "
                "them any more. Your petitions are not affected."
            ),
        )


async def _open_petitions(turn: Turn) -> int:
    page = await turn.deps.petitions.page_for_citizen(turn.citizen.id, 0, 100)
    return sum(1 for p in page.petitions if p.is_open)


async def _erase(update: Update, turn: Turn) -> None:
    _ = turn._
    kept = await turn.deps.privacy.erase(turn.citizen)
    # Nothing is saved after this point: the session and profile are gone for good.
    await close_keyboard(update, _("🗑 Deleting your data…"))
    if kept:
        kept_text = _(
            "Kept: your {count} petitions ({tickets}) stay with the officials without your name, phone number "
            "or Telegram account, so that cases under way can be completed and the province's records and "
            "statistics stay complete. Nothing links them to you any more, so you will not be told about them "
            "here."
        ).format(count=len(kept), tickets=esc(", ".join(kept)))
    else:
        kept_text = _("You had no petitions: nothing about you was kept.")
    text = "\n\n".join(
        [
            _(
                "✅ Your personal data has been deleted: name, username, phone number, consent records, "
                "drafts and the link between your Telegram account and your petitions."
            ),
            kept_text,
            _(
                "Messages already delivered in Telegram cannot be recalled by the bot. If you write again, you "
                "start as a new user."
            ),
        ]
    )
    await send(update, text, ReplyKeyboardRemove())
    turn.session.step = Step.IDLE  # the in-memory turn only; never written back
