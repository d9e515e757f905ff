"""How the handlers' Bot API calls are paced, and survive a flaky Telegram and a replayed update.

``ResilientLimiter`` paces what Telegram throttles, and only that (``SendPacer``): messages *sent*
(sendMessage, sendPhoto, copyMessage, ...) — 20 a minute per group and ``TELEGRAM_SEND_RATE`` a second
across chats, with bursts allowed (a private chat's ~1/s tolerates bursts; a 429 there waits for that call). Editing the screen
a user is looking at, answering a button, a chat action, reading: not paced (PTB's ``AIORateLimiter``
counted all of them against 30/s, which capped the bot at ~17 updates/s). A paid broadcast's sends are
apart (Telegram's paid limit). When the broadcaster shares the pace, conversations go first: it only
sends while the conversations leave at least half of the burst (``SendPacer.bulk``).

It also:

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
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot import metrics
from bot.logs import get_logger

log = get_logger(__name__)

TRANSIENT_PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds before each retry of a transient failure
FLOOD_RETRIES = 3  # 429s waited out for one call before it fails
QUERY_GONE = ("query is too old", "query id is invalid")
# A group: 20 a minute, bursts of 20 (as PTB's AIORateLimiter). A private chat is not paced here: Telegram
# tolerates bursts there (one person answering a screen), and a 429 waits for that call only.
GROUP_RATE, GROUP_BURST = 20 / 60, 20
SEND_METHODS = frozenset({"copymessage", "copymessages", "forwardmessage", "forwardmessages"})
IDLE_BUCKETS = 10_000  # per-chat buckets kept before the idle ones are forgotten


def is_send(endpoint: str) -> bool:
    """Whether a Bot API method posts a new message (what Telegram's flood limits count)."""
    name = endpoint.lower()
    return (name.startswith("send") and name != "sendchataction") or name in SEND_METHODS


def is_group(chat_id: object) -> bool:
    """A group, supergroup or channel (a negative id or an @username), not a private chat."""
    if chat_id is None:
        return False
    text = str(chat_id)
    return text.startswith("-") or not text.isdigit()


class Bucket:
    """A token bucket as a virtual schedule (GCRA): ``rate`` a second, ``burst`` at once. Callers
    reserve their slot at once, in order, then wait for it: no lock, no busy loop."""

    __slots__ = ("interval", "tat", "tolerance")

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.tolerance = (max(burst, 1) - 1) * self.interval
        self.tat = 0.0  # the theoretical arrival time of the next send

    def reserve(self, now: float) -> float:
        """Take the next slot; returns how long to wait for it."""
        tat = max(self.tat, now)
        self.tat = tat + self.interval
        return max(0.0, tat - self.tolerance - now)

    def spare(self, now: float) -> float:
        """How much of the burst is left, as a fraction (1: idle, 0: at the pace)."""
        if self.tolerance <= 0:
            return 1.0 if self.tat <= now else 0.0
        return max(0.0, min(1.0, 1 - (self.tat - now) / (self.tolerance + self.interval)))

    def idle(self, now: float) -> bool:
        return self.tat <= now


class SendPacer:
    """Telegram's send limits, in this process: per chat, and across chats (see the module)."""

    def __init__(self, rate: float = 30.0, burst: int = 30) -> None:
        self.overall = Bucket(rate, burst)
        self._chats: dict[str, Bucket] = {}

    def _chat(self, chat_id: object) -> Bucket:
        key = str(chat_id)
        bucket = self._chats.get(key)
        if bucket is None:
            if len(self._chats) >= IDLE_BUCKETS:
                now = asyncio.get_running_loop().time()
                self._chats = {k: b for k, b in self._chats.items() if not b.idle(now)}
            bucket = self._chats[key] = Bucket(GROUP_RATE, GROUP_BURST)
        return bucket

    async def send(self, chat_id: object) -> None:
        """Wait for a send's turn in its chat, then across chats."""
        loop = asyncio.get_running_loop()
        if is_group(chat_id):
            wait = self._chat(chat_id).reserve(loop.time())
            if wait > 0:
                await asyncio.sleep(wait)
        wait = self.overall.reserve(loop.time())
        if wait > 0:
            await asyncio.sleep(wait)

    async def bulk(self) -> None:
        """Before a broadcast's send (the broadcaster keeps its own pace, shared across processes):
        conversations first — wait while they use more than half of the burst across chats."""
        loop = asyncio.get_running_loop()
        while self.overall.spare(loop.time()) < 0.5:  # noqa: ASYNC110 - a schedule, no event to wait on
            await asyncio.sleep(self.overall.interval)


JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


def retry_after_seconds(exc: RetryAfter) -> float:
    """A 429's ``retry_after`` in seconds (PTB gives an int or a timedelta)."""
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


class ResilientLimiter(BaseRateLimiter[int]):
    """Pacing of sends with per-call retries (see the module's docstring)."""

    def __init__(self, pacer: SendPacer | None = None) -> None:
        self.pacer = pacer or SendPacer()

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

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
        paced = is_send(endpoint) and not data.get("allow_paid_broadcast")
        while True:
            try:
                if paced:
                    await self.pacer.send(data.get("chat_id"))
                return await callback(*args, **kwargs)
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
