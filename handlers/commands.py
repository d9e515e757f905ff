"""The ``/`` commands shown in Telegram's menu, registered with setMyCommands in each language.

Citizens see the citizen commands; each official's own chat also lists /inbox and /dialogue, an
organiser's (supervisors, admins) /newdialogue, and an admin's the administration commands (a
chat-scoped list, set at start-up, when someone joins and when they change language).
"""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application

from bot.context import DEPS_KEY, Deps
from bot.i18n import N_, Gettext
from bot.logs import get_logger

log = get_logger(__name__)

CITIZEN_COMMANDS = (
    ("new", N_("Send a new petition")),
    ("my", N_("My petitions and their status")),
    ("cancel", N_("Cancel the petition being written")),
    ("language", N_("Change language")),
    ("privacy", N_("My data and consent")),
    ("subscribe", N_("Receive announcements for my area")),
    ("unsubscribe", N_("Stop announcements")),
    ("dialogues", N_("Upcoming dialogues with the authorities")),
    ("help", N_("How it works")),
    ("start", N_("Welcome and consent")),
)
OFFICIAL_COMMANDS = (
    ("inbox", N_("Open cases assigned to me")),
    ("dialogue", N_("A dialogue's questions and follow-up: /dialogue [number]")),
)
ORGANISER_COMMANDS = (("newdialogue", N_("Organise a dialogue with citizens")),)
ADMIN_COMMANDS = (
    ("invite", N_("Invite an official (single-use link)")),
    ("officials", N_("List officials, deactivate, change coverage")),
    ("stats", N_("Statistics for a period, with a chart")),
    ("export", N_("Export petitions: Excel, CSV, Open311")),
    ("broadcast", N_("Send an announcement to subscribers")),
    ("block", N_("Block an abusive citizen: /block [ticket or id] [reason]")),
    ("unblock", N_("Unblock a citizen: /unblock [ticket or id]")),
)


def _commands(_: Gettext, *groups: tuple[tuple[str, str], ...]) -> list[BotCommand]:
    return [BotCommand(name, _(description)) for group in groups for name, description in group]


async def publish_commands(application: Application) -> None:  # type: ignore[type-arg]
    """setMyCommands for private chats (default language, then each language), then staff chats."""
    deps: Deps = application.bot_data[DEPS_KEY]
    scope = BotCommandScopeAllPrivateChats()
    for language_code in ("", "vi", "en"):
        _ = deps.translator(language_code or deps.settings.default_language)
        await application.bot.set_my_commands(
            _commands(_, CITIZEN_COMMANDS), scope=scope, language_code=language_code or None
        )
    staff = set(deps.settings.admin_ids)
    staff |= {
        o.telegram_id for o in (await deps.cases.officials_by_id()).values() if o.telegram_id and o.is_active
    }
    for telegram_id in sorted(staff):
        await publish_staff_commands(application.bot, deps, telegram_id)


async def publish_staff_commands(bot: Bot, deps: Deps, telegram_id: int) -> None:
    """The command list of one official's or admin's private chat, in their language."""
    actor = await deps.cases.actor(telegram_id)
    if not actor.is_staff:
        return
    citizen = await deps.citizens.get("tg", str(telegram_id))
    _ = deps.translator(citizen.language)
    groups = [CITIZEN_COMMANDS, OFFICIAL_COMMANDS]
    groups += [ORGANISER_COMMANDS] if deps.dialogues.may_manage(actor) else []
    groups += [ADMIN_COMMANDS] if actor.is_admin else []
    try:
        await bot.set_my_commands(_commands(_, *groups), scope=BotCommandScopeChat(telegram_id))
    except (BadRequest, Forbidden) as exc:  # a chat the bot has never seen: set when they write
        log.info("commands.staff_not_set", telegram_id=telegram_id, error=str(exc))
