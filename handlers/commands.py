"""The ``/`` commands shown in Telegram's menu, registered with setMyCommands in each language."""

from __future__ import annotations

from telegram import BotCommand, BotCommandScopeAllPrivateChats
from telegram.ext import Application

from bot.context import DEPS_KEY, Deps
from bot.i18n import N_

CITIZEN_COMMANDS = (
    ("new", N_("Send a new petition")),
    ("my", N_("My petitions and their status")),
    ("cancel", N_("Cancel the petition being written")),
    ("language", N_("Change language")),
    ("privacy", N_("My data and consent")),
    ("help", N_("How it works")),
    ("start", N_("Welcome and consent")),
)


async def publish_commands(application: Application) -> None:  # type: ignore[type-arg]
    """setMyCommands for private chats: the default list in DEFAULT_LANGUAGE, then one per language."""
    deps: Deps = application.bot_data[DEPS_KEY]
    scope = BotCommandScopeAllPrivateChats()
    for language_code in ("", "vi", "en"):
        _ = deps.translator(language_code or deps.settings.default_language)
        commands = [BotCommand(name, _(description)) for name, description in CITIZEN_COMMANDS]
        await application.bot.set_my_commands(commands, scope=scope, language_code=language_code or None)
