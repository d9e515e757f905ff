"""Onboarding: /invite issues single-use deep links, ``/start inv-…`` redeems them, /officials manages.

Every command and every button re-checks ``Actor.is_admin`` from Redis (ADMIN_IDS, or an active
official with the admin role): callback data is only a hint of what was pressed. The choices in progress
live in a short-lived draft (``storage.invites``) whose tag travels in the buttons, so a button of an
older form is refused rather than applied to the new one.

Buttons: ``iv:<action>:<tag>[:<arg>...]`` for /invite, ``of:<action>:...`` for /officials.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.error import BadRequest, Forbidden

from bot import callbacks
from bot.context import BotContext, Deps
from bot.domain.cases import Actor
from bot.domain.onboarding import (
    AlreadyLinked,
    FallbackDeskRequired,
    InviteAlreadyUsed,
    InviteNoLongerValid,
    InviteUnknown,
    OnboardingService,
    toggled,
)
from bot.errors import StaleAction, UnknownChoice
from bot.i18n import N_
from bot.logs import get_logger
from handlers.admin import views
from handlers.commands import publish_staff_commands
from handlers.common import Screen, Turn, begin, close_keyboard, edit_screen, esc, send, send_screen
from handlers.notify import language_of
from storage.invites import DraftSlot, InviteDraft, InviteRepository
from storage.models import Role, Unit
from storage.officials import OfficialRepository

log = get_logger(__name__)

ADMINS_ONLY = N_("Only administrators can use this command.")
ADMINS_ONLY_BUTTON = N_("Only administrators can use this button.")
NOT_CURRENT = N_("This form is no longer current. Send the command again to start over.")
NOT_AVAILABLE = N_("This choice is not available.")
CHOOSE_LOCALITY = N_("Choose at least one locality, or “Province-wide”.")
CHOOSE_CATEGORY = N_("Choose at least one category, or “All categories”.")


def onboarding(deps: Deps) -> OnboardingService:
    """The onboarding service over the application's Redis (Deps has no field for it)."""
    return OnboardingService(
        InviteRepository(deps.redis, deps.keys),
        OfficialRepository(deps.redis, deps.keys),
        deps.clock,
        deps.directory,
        deps.audit,
    )


def _user_id(update: Update) -> int:
    return update.effective_user.id if update.effective_user else 0


async def _admin(update: Update, turn: Turn) -> Actor | None:
    """The actor if they are an admin now (checked in Redis), else None."""
    actor = await turn.deps.cases.actor(_user_id(update))
    return actor if actor.is_admin else None


def _page(text: str) -> int:
    return int(text) if text.isdigit() else 0


# --------------------------------------------------------------------------------------------- /invite


async def on_invite(update: Update, context: BotContext) -> None:
    """/invite: start choosing whom the invitation is for."""
    turn = await begin(update, context)
    if await _admin(update, turn) is None:
        await send(update, turn._(ADMINS_ONLY))
        return
    draft = await onboarding(turn.deps).start_draft("draft", _user_id(update))
    await send_screen(update, views.invite_start(turn._, draft.tag))


async def on_invite_button(update: Update, context: BotContext) -> None:
    """Every button of the /invite flow."""
    await _admin_button(
        update, context, lambda turn, actor, data: _invite_step(update, context, turn, actor, data)
    )


async def _admin_button(
    update: Update,
    context: BotContext,
    step: Callable[[Turn, Actor, callbacks.Callback], Awaitable[None]],
) -> None:
    """The frame of every admin button: re-check the admin in Redis, parse, run ``step``, explain refusals."""
    query = update.callback_query
    assert query is not None
    turn = await begin(update, context)
    _ = turn._
    actor = await _admin(update, turn)
    if actor is None:
        await query.answer(_(ADMINS_ONLY_BUTTON), show_alert=True)
        return
    data = callbacks.parse(query.data)
    if data is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    try:
        await step(turn, actor, data)
    except StaleAction:
        await query.answer(_(NOT_CURRENT), show_alert=True)
        await close_keyboard(update)
    except UnknownChoice:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
    except FallbackDeskRequired:
        await query.answer(
            _(
                "The fallback desk cannot be deactivated: it receives every petition no one else covers. "
                "Name another fallback desk in the directory first."
            ),
            show_alert=True,
        )


async def _invite_step(
    update: Update, context: BotContext, turn: Turn, actor: Actor, data: callbacks.Callback
) -> None:
    query = update.callback_query
    assert query is not None
    _ = turn._
    service = onboarding(turn.deps)
    directory = turn.deps.directory
    draft = await service.draft("draft", actor.telegram_id, data.arg(0))
    action = data.action
    units = {u.key: u for u in await service.units()}
    if action == "x":
        await service.drop_draft("draft", actor.telegram_id)
        await query.answer()
        await close_keyboard(update, _("Invitation cancelled."))
        return
    if action == "st":
        draft = draft.model_copy(
            update={"official_id": None, "role": None, "unit": None, "localities": [], "categories": []}
        )
        await service.save_draft("draft", draft)
        await query.answer()
        await edit_screen(update, views.invite_start(_, draft.tag))
        return
    if action == "ex":
        await query.answer()
        await edit_screen(
            update, views.directory_pick(_, draft.tag, await service.unlinked(), units, _page(data.arg(1)))
        )
        return
    if action == "pk":
        official = await service.official(data.arg(1))
        if not official.is_active or official.telegram_id is not None:
            raise UnknownChoice(official.id)
        draft = draft.model_copy(update={"official_id": official.id, "role": None, "unit": None})
        await service.save_draft("draft", draft)
        await query.answer()
        await edit_screen(update, views.invite_confirm(_, draft, official, units, directory))
        return
    if action == "nw":
        draft = draft.model_copy(update={"official_id": None})
        await service.save_draft("draft", draft)
        await query.answer()
        await edit_screen(update, views.role_choice(_, draft.tag))
        return
    if action == "ro":
        try:
            role = Role(data.arg(1))
        except ValueError:
            raise UnknownChoice(data.arg(1)) from None
        draft = draft.model_copy(update={"official_id": None, "role": role})
        await service.save_draft("draft", draft)
        await query.answer()
        await edit_screen(update, views.unit_choice(_, draft.tag, list(units.values()), 0))
        return
    if action == "up":
        await query.answer()
        await edit_screen(update, views.unit_choice(_, draft.tag, list(units.values()), _page(data.arg(1))))
        return
    if action == "un":
        if draft.role is None or data.arg(1) not in units:
            raise UnknownChoice(data.arg(1))
        draft = draft.model_copy(update={"unit": data.arg(1), "localities": [], "categories": []})
        await service.save_draft("draft", draft)
        await query.answer()
        await edit_screen(update, _coverage_screen(turn, "iv", draft, "l", 0))
        return
    if action == "ok":
        await _issue(update, context, turn, actor, draft, units)
        return
    if action[:1] in ("l", "c") and len(action) == 2:
        if draft.role is None or draft.unit is None:
            raise StaleAction(draft.tag)
        finished = await _coverage_step(update, turn, "iv", "draft", draft, action, data)
        if finished is None:
            return
        await query.answer()
        if action[0] == "l":
            await edit_screen(update, _coverage_screen(turn, "iv", finished, "c", 0))
        else:
            await edit_screen(update, views.invite_confirm(_, finished, None, units, directory))
        return
    raise UnknownChoice(action)


def _coverage_screen(
    turn: Turn, ns: str, draft: InviteDraft, kind: views.Kind, page: int, official_name: str | None = None
) -> Screen:
    return views.coverage_select(
        turn._,
        ns=ns,
        tag=draft.tag,
        kind=kind,
        selected=draft.localities if kind == "l" else draft.categories,
        directory=turn.deps.directory,
        page=page,
        heading=official_name if official_name is not None else turn._("A new official"),
    )


def _first_selected_page(turn: Turn, kind: views.Kind, draft: InviteDraft) -> int:
    """The page showing the first selected item, so an edit opens where the coverage is."""
    directory = turn.deps.directory
    values = (
        [loc.code for loc in directory.localities] if kind == "l" else [c.key for c in directory.categories]
    )
    selected = set(draft.localities if kind == "l" else draft.categories)
    first = next((index for index, value in enumerate(values) if value in selected), 0)
    return first // views.PER_PAGE


async def _coverage_step(
    update: Update,
    turn: Turn,
    ns: str,
    slot: DraftSlot,
    draft: InviteDraft,
    action: str,
    data: callbacks.Callback,
    official_name: str | None = None,
) -> InviteDraft | None:
    """Toggle / page / all / done of a multi-select. Returns the draft when the choice is finished
    (``done`` or ``all``: the caller answers the query), None when the screen was redrawn or refused."""
    query = update.callback_query
    assert query is not None
    _ = turn._
    service = onboarding(turn.deps)
    kind: views.Kind = "l" if action[0] == "l" else "c"
    field = "localities" if kind == "l" else "categories"
    step = action[1]
    if step == "t":
        value = data.arg(1)
        (service.check_locality if kind == "l" else service.check_category)(value)
        draft = draft.model_copy(update={field: toggled(getattr(draft, field), value)})
        await service.save_draft(slot, draft)
        await query.answer()
        await edit_screen(update, _coverage_screen(turn, ns, draft, kind, _page(data.arg(2)), official_name))
        return None
    if step == "p":
        await query.answer()
        await edit_screen(update, _coverage_screen(turn, ns, draft, kind, _page(data.arg(1)), official_name))
        return None
    if step == "a":
        draft = draft.model_copy(update={field: []})
        await service.save_draft(slot, draft)
        return draft
    if step == "d":
        if not getattr(draft, field):
            refusal = CHOOSE_LOCALITY if kind == "l" else CHOOSE_CATEGORY
            await query.answer(_(refusal), show_alert=True)
            return None
        return draft
    raise UnknownChoice(action)


async def _issue(
    update: Update,
    context: BotContext,
    turn: Turn,
    actor: Actor,
    draft: InviteDraft,
    units: dict[str, Unit],
) -> None:
    query = update.callback_query
    assert query is not None
    _ = turn._
    service = onboarding(turn.deps)
    user = update.effective_user
    name = user.full_name if user else str(actor.telegram_id)
    official = None
    if draft.official_id is not None:
        official = await service.official(draft.official_id)
        invite = await service.create_invite(actor.telegram_id, name, official_id=official.id)
    elif draft.role is not None and draft.unit is not None:
        invite = await service.create_invite(
            actor.telegram_id,
            name,
            role=draft.role,
            unit=draft.unit,
            localities=draft.localities,
            categories=draft.categories,
        )
    else:
        raise StaleAction(draft.tag)
    await service.drop_draft("draft", actor.telegram_id)
    link = views.invite_link(context.bot.username, invite.code)
    log.info("invite.created", by=actor.telegram_id, official=invite.official_id, unit=invite.unit)
    await query.answer()
    await close_keyboard(update, views.invite_issued(_, invite, link, official, units, turn.deps.directory))


# --------------------------------------------------------------------------------------------- /start inv-…


async def on_invite_start(update: Update, context: BotContext, code: str) -> None:
    """``/start inv-…``: whoever opens the link becomes the official it names (once)."""
    turn = await begin(update, context)
    _ = turn._
    user = update.effective_user
    assert user is not None
    service = onboarding(turn.deps)
    try:
        official = await service.redeem(code, user.id, user.full_name)
    except InviteAlreadyUsed:
        await send(
            update,
            _("⚠️ This invitation link has already been used. Ask your administrator for a new one."),
        )
        return
    except InviteUnknown:
        await send(
            update,
            _(
                "⚠️ This invitation link is not valid or has expired (links work for 7 days). "
                "Ask your administrator for a new one."
            ),
        )
        return
    except InviteNoLongerValid:
        await send(
            update,
            _("⚠️ This invitation link is no longer valid. Ask your administrator for a new one."),
        )
        return
    except AlreadyLinked as exc:
        unit = await service.unit(exc.official.unit)
        await send(
            update,
            _(
                "You are already registered as official {name} of {unit}, so this link was not used. "
                "Send /inbox to see your cases."
            ).format(name=esc(exc.official.name), unit=esc(unit.name if unit else exc.official.unit)),
        )
        return
    unit = await service.unit(official.unit)
    unit_name = esc(unit.name if unit else official.unit)
    text = _("✅ Welcome! You are now official <b>{name}</b> of {unit}.").format(
        name=esc(official.name), unit=unit_name
    )
    text += "\n\n" + _(
        "Petitions for you arrive in this chat as cards with buttons: accept, reply, ask for "
        "information, transfer, resolve or reject. Send /inbox at any time to see your open cases."
    )
    if official.role == Role.ADMIN:
        text += "\n\n" + _(
            "As an administrator you can also invite officials with /invite and manage them with /officials."
        )
    await send(update, text)
    log.info("invite.redeemed", official=official.id, telegram_id=user.id)
    await publish_staff_commands(update.get_bot(), turn.deps, user.id)
    invite = await service.invite(code)
    if invite is not None:
        await _tell_inviter(update, turn.deps, invite.invited_by, official.name, unit_name)


async def _tell_inviter(
    update: Update, deps: Deps, admin_id: int, official_name: str, unit_name: str
) -> None:
    user = update.effective_user
    assert user is not None
    person = esc(user.full_name) + (f" (@{esc(user.username)})" if user.username else "")
    _ = await language_of(deps, admin_id)
    text = _("✅ {person} opened your invitation and is now official {official} of {unit}.").format(
        person=person, official=esc(official_name), unit=unit_name
    )
    try:
        await update.get_bot().send_message(admin_id, text)
    except (Forbidden, BadRequest) as exc:
        log.info("invite.inviter_unreachable", admin=admin_id, error=str(exc))


# --------------------------------------------------------------------------------------------- /officials


async def on_officials(update: Update, context: BotContext) -> None:
    """/officials: the directory, 8 per page."""
    turn = await begin(update, context)
    if await _admin(update, turn) is None:
        await send(update, turn._(ADMINS_ONLY))
        return
    await send_screen(update, await _list_screen(turn, 0))


async def _list_screen(turn: Turn, page: int) -> Screen:
    service = onboarding(turn.deps)
    units = {u.key: u for u in await service.units()}
    return views.officials_list(turn._, await service.officials(), units, page)


async def _details_screen(turn: Turn, official_id: str, page: int) -> Screen:
    service = onboarding(turn.deps)
    official = await service.official(official_id)
    supervisor = None
    if official.supervisor_id:
        try:
            supervisor = await service.official(official.supervisor_id)
        except UnknownChoice:
            supervisor = None
    units = {u.key: u for u in await service.units()}
    return views.official_details(
        turn._,
        official,
        units,
        supervisor,
        turn.deps.directory,
        await service.open_cases(official.id),
        page,
    )


async def on_officials_button(update: Update, context: BotContext) -> None:
    """Every button of /officials."""
    await _admin_button(update, context, lambda turn, actor, data: _officials_step(update, turn, actor, data))


async def _officials_step(update: Update, turn: Turn, actor: Actor, data: callbacks.Callback) -> None:
    query = update.callback_query
    assert query is not None
    _ = turn._
    service = onboarding(turn.deps)
    action = data.action
    if action == "ls":
        await query.answer()
        await edit_screen(update, await _list_screen(turn, _page(data.arg(0))))
        return
    if action == "v":
        screen = await _details_screen(turn, data.arg(0), _page(data.arg(1)))
        await query.answer()
        await edit_screen(update, screen)
        return
    if action in ("de", "re"):
        official = await service.set_active(data.arg(0), active=action == "re", actor=actor.ref)
        log.info("official.active", official=official.id, active=official.is_active, by=actor.telegram_id)
        await query.answer(_("Reactivated.") if official.is_active else _("Deactivated."))
        await edit_screen(update, await _details_screen(turn, official.id, _page(data.arg(1))))
        return
    if action in ("el", "ec"):
        official = await service.official(data.arg(0))
        draft = await service.start_draft(
            "edit",
            actor.telegram_id,
            official_id=official.id,
            localities=official.localities,
            categories=official.categories,
        )
        await query.answer()
        kind: views.Kind = "l" if action == "el" else "c"
        page = _first_selected_page(turn, kind, draft)
        await edit_screen(update, _coverage_screen(turn, "of", draft, kind, page, official.name))
        return
    # The multi-select of an edit: ``of:<l|c><t|p|a|d>:<tag>[...]`` and ``of:x:<tag>``.
    draft = await service.draft("edit", actor.telegram_id, data.arg(0))
    if draft.official_id is None:
        raise StaleAction(draft.tag)
    if action == "x":
        await service.drop_draft("edit", actor.telegram_id)
        await query.answer(_("Nothing was changed."))
        await edit_screen(update, await _details_screen(turn, draft.official_id, 0))
        return
    if action[:1] in ("l", "c") and len(action) == 2:
        official = await service.official(draft.official_id)
        finished = await _coverage_step(update, turn, "of", "edit", draft, action, data, official.name)
        if finished is None:
            return
        if action[0] == "l":
            await service.set_localities(official.id, finished.localities, actor=actor.ref)
        else:
            await service.set_categories(official.id, finished.categories, actor=actor.ref)
        await service.drop_draft("edit", actor.telegram_id)
        log.info("official.coverage", official=official.id, by=actor.telegram_id)
        await query.answer(_("Saved."))
        await edit_screen(update, await _details_screen(turn, official.id, 0))
        return
    raise UnknownChoice(action)
