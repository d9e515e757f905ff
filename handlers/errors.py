"""The one error handler: log the unexpected with the update id, tell the user honestly."""

from __future__ import annotations

from redis.exceptions import RedisError
from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot import metrics
from bot.context import BotContext
from bot.errors import StorageUnavailable
from bot.logs import get_logger

log = get_logger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log the error; tell the user whether what they sent was kept."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("telegram.forbidden", update_id=update_id, detail=str(error))
        return
    storage_down = isinstance(error, StorageUnavailable | RedisError | ConnectionError | OSError)
    metrics.update_outcome("storage_error" if storage_down else "error")  # counted with the update
    if storage_down:
        metrics.redis_error("handler")
    if storage_down and isinstance(update, Update):
        # The poller tells the user their message is kept, and handles the update again once Redis
        # answers (bot.polling): nothing to say here.
        from bot.polling import STORAGE_FAILURES_KEY

        failures = context.application.bot_data.get(STORAGE_FAILURES_KEY)
        if isinstance(failures, set):
            failures.add(update.update_id)
            log.warning("update.storage_failed", update_id=update.update_id, error=type(error).__name__)
            return
    log.error(
        "update.failed",
        exc_info=error is not None,
        update_id=update_id,
        error=type(error).__name__,
        storage=storage_down,
    )
    if (
        not isinstance(update, Update)
        or update.effective_chat is None
        or update.effective_chat.type != "private"
    ):
        return
    user = update.effective_user
    _ = context.deps.translator(user.language_code if user else None)
    if storage_down:
        text = _(
            "⚠️ The service is having trouble saving data right now, so your last message was not saved. "
            "Please send it again in a few minutes. Everything you sent before is safe."
        )
    else:
        text = _(
            "⚠️ Sorry, something went wrong on our side. Your answers so far are saved; please try again, "
            "or send /cancel to start over."
        )
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
        else:
            await update.effective_chat.send_message(text)
    except TelegramError:
        log.warning("update.error_not_reported", update_id=update_id)
