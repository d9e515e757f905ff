"""Thin Telegram adapters: parse the update, call a service, render the reply.

``register`` lists every handler in the order PTB tries them.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import dialogues
from handlers.admin import broadcast as admin_broadcast
from handlers.admin import moderation, onboarding
from handlers.admin import reports as admin_reports
from handlers.citizen import intake, messages, my, privacy, start, subscriptions, verdict
from handlers.errors import on_error
from handlers.group import on_group_start
from handlers.guard import on_any_update
from handlers.official import cases
from handlers.team import on_team_message, on_teamchat

PRIVATE = filters.ChatType.PRIVATE
# New messages only: an edited message is not a new answer (see messages.on_edited).
PRIVATE_NEW = PRIVATE & filters.UpdateType.MESSAGE
MEDIA = (
    filters.PHOTO | filters.Document.ALL | filters.VOICE | filters.AUDIO | filters.VIDEO | filters.LOCATION
)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler to the application."""
    application.add_handlers(
        [
            CommandHandler("start", start.on_start, filters=PRIVATE),
            CommandHandler("start", on_group_start, filters=filters.ChatType.GROUPS),
            CommandHandler("teamchat", on_teamchat, filters=filters.ChatType.GROUPS),
            CommandHandler("new", intake.on_new, filters=PRIVATE),
            CommandHandler("cancel", intake.on_cancel, filters=PRIVATE),
            CommandHandler("my", my.on_my, filters=PRIVATE),
            CommandHandler("language", start.on_language, filters=PRIVATE),
            CommandHandler("help", start.on_help, filters=PRIVATE),
            CommandHandler("privacy", start.on_privacy, filters=PRIVATE),
            CommandHandler("inbox", cases.on_inbox, filters=PRIVATE),
            CallbackQueryHandler(start.on_consent_button, pattern=r"^c:"),
            CallbackQueryHandler(start.on_language_button, pattern=r"^l:"),
            CallbackQueryHandler(intake.on_intake_button, pattern=r"^i:"),
            CallbackQueryHandler(my.on_my_button, pattern=r"^m:"),
            CallbackQueryHandler(cases.on_case_button, pattern=r"^o:"),
            CallbackQueryHandler(verdict.on_verdict_button, pattern=r"^v:"),
            CommandHandler("invite", onboarding.on_invite, filters=PRIVATE),
            CommandHandler("officials", onboarding.on_officials, filters=PRIVATE),
            CallbackQueryHandler(onboarding.on_invite_button, pattern=r"^iv:"),
            CallbackQueryHandler(onboarding.on_officials_button, pattern=r"^of:"),
            CommandHandler("newdialogue", dialogues.on_newdialogue, filters=PRIVATE),
            CommandHandler("dialogues", dialogues.on_dialogues, filters=PRIVATE),
            CommandHandler("dialogue", dialogues.on_dialogue, filters=PRIVATE),
            CallbackQueryHandler(dialogues.on_button, pattern=r"^dg:"),
            CommandHandler("stats", admin_reports.on_stats, filters=PRIVATE),
            CommandHandler("export", admin_reports.on_export, filters=PRIVATE),
            CallbackQueryHandler(admin_reports.on_report_button, pattern=r"^(st|ex):"),
            CommandHandler("block", moderation.on_block, filters=PRIVATE),
            CommandHandler("unblock", moderation.on_unblock, filters=PRIVATE),
            CallbackQueryHandler(privacy.on_privacy_button, pattern=r"^pv:"),
            CommandHandler("subscribe", subscriptions.on_subscribe, filters=PRIVATE),
            CommandHandler("unsubscribe", subscriptions.on_unsubscribe, filters=PRIVATE),
            CallbackQueryHandler(subscriptions.on_subscription_button, pattern=r"^sb:"),
            CommandHandler("broadcast", admin_broadcast.on_broadcast, filters=PRIVATE),
            CallbackQueryHandler(admin_broadcast.on_broadcast_button, pattern=r"^bc:"),
            CallbackQueryHandler(messages.on_stale_button),
            MessageHandler(PRIVATE & filters.UpdateType.EDITED_MESSAGE, messages.on_edited),
            MessageHandler(PRIVATE_NEW & filters.COMMAND, messages.on_unknown_command),
            MessageHandler(PRIVATE_NEW & filters.TEXT, messages.on_text),
            MessageHandler(PRIVATE_NEW & filters.CONTACT, messages.on_contact),
            MessageHandler(PRIVATE_NEW & MEDIA, messages.on_media),
            MessageHandler(PRIVATE_NEW & ~filters.StatusUpdate.ALL, messages.on_unsupported),
            MessageHandler(
                filters.ChatType.SUPERGROUP & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL,
                on_team_message,
            ),
        ]
    )
    # Blocked citizens and floods stop before any handler (issue 6: abuse).
    application.add_handler(TypeHandler(Update, on_any_update), group=-1)
    # Someone who blocked the bot and writes again is reachable for broadcasts (one SREM, never stops).
    application.add_handler(TypeHandler(Update, subscriptions.on_any_update), group=-2)
    application.add_error_handler(on_error)
