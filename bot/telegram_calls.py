"""How the handlers' Bot API calls survive a flaky Telegram and a replayed update.

PTB's ``AIORateLimiter`` paces calls and retries a 429, but it makes *every* call of the bot wait
for one chat's ``retry_after``, and a time-out, a dropped connection or a 5xx fails the handler's
call at once: the user's next prompt is lost although their answer was saved. ``ResilientLimiter``:

- retries transient failures (time-outs, dropped connections, 5xx) a few times with a growing pause;
  a call whose answer was lost may then be done twice (the duplicate window of README "Delivery");
- waits out a 429 for that call only, so one chat's flood wait holds up no other user;
- answers ``False`` instead of failing when a button's query can no longer be answered (already
  answered before a crash, or too old): the replayed handler goes on to show the user where they
  are (``handlers.common.answer_query`` then sends the answer's text as a message).

The outbox sender and the broadcaster have Bots of their own without it: they retry themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter

from bot import metrics
from bot.logs import get_logger

log = get_logger(__name__)

TRANSIENT_PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds before each retry of a transient failure
FLOOD_RETRIES = 3  # 429s waited out for one call before it fails
QUERY_GONE = ("query is too old", "query id is invalid")

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


def retry_after_seconds(exc: RetryAfter) -> float:
    """A 429's ``retry_after`` in seconds (PTB gives an int or a timedelta)."""
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


class ResilientLimiter(AIORateLimiter):
    """``AIORateLimiter``'s pacing with per-call retries (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)  # 429s are waited out here, for the call that got them
        # Its only messages are about the 429s it no longer retries; this class logs its own.
        logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        floods = transient = 0
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest as exc:
                if endpoint.lower() == "answercallbackquery" and any(
                    gone in str(exc).lower() for gone in QUERY_GONE
                ):
                    log.info("telegram.query_gone", detail=str(exc))
                    return False
                raise
            except RetryAfter as exc:
                if floods >= FLOOD_RETRIES:
                    raise
                floods += 1
                metrics.telegram_429("handlers")
                wait = retry_after_seconds(exc)
                log.info("telegram.flood_wait", method=endpoint, wait=wait)
                await asyncio.sleep(wait)
            except NetworkError as exc:  # TimedOut, a dropped connection, a 5xx (BadRequest is above)
                if endpoint.lower() == "getupdates" or transient >= len(TRANSIENT_PAUSES):
                    raise  # the poller has its own back-off
                pause = TRANSIENT_PAUSES[transient]
                transient += 1
                log.warning("telegram.retry", method=endpoint, error=type(exc).__name__, wait=pause)
                await asyncio.sleep(pause)
