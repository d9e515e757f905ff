"""A getUpdates loop that confirms an update to Telegram only after it was handled.

PTB's Updater confirms updates as soon as they are queued, so a crash loses them. Here each batch is
handled first — one user's updates in order, different users concurrently — and only then is the
next offset requested (which is what confirms the batch). Handled update_ids are recorded in Redis,
so a batch fetched again after a crash skips what was already done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from datetime import UTC, datetime

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.context import BotApplication
from bot.logs import get_logger
from storage.updates import UpdateLog

log = get_logger(__name__)


def serial_key(update: Update) -> str:
    """Updates with the same key are handled one after another: per user, else per chat."""
    if update.effective_user is not None:
        return f"u{update.effective_user.id}"
    if update.effective_chat is not None:
        return f"c{update.effective_chat.id}"
    return f"x{update.update_id}"


class DurablePoller:
    """Fetch, handle, then confirm."""

    def __init__(
        self,
        application: BotApplication,
        update_log: UpdateLog,
        *,
        max_concurrent: int = 32,
        poll_timeout: int = 25,
        limit: int = 100,
    ) -> None:
        self._app = application
        self._log = update_log
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._poll_timeout = poll_timeout
        self._limit = limit
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Ask the loop to finish after the batch in hand."""
        self._stopping.set()

    async def run(self) -> None:
        """Poll until ``stop()``; returns after the current batch is handled."""
        offset = await self._log.offset()
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                updates = await self._fetch(offset)
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                raise
            except RetryAfter as exc:
                await self._sleep(float(exc.retry_after if isinstance(exc.retry_after, int | float) else 1))
                continue
            except (TimedOut, NetworkError, Conflict) as exc:
                log.warning("polling.retry", error=type(exc).__name__, detail=str(exc), wait=backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            await self._log.beat(datetime.now(UTC).isoformat())
            if not updates:
                continue
            await self.handle_batch(updates)
            offset = updates[-1].update_id + 1
            await self._log.set_offset(offset)

    async def _fetch(self, offset: int) -> tuple[Update, ...]:
        fetch = asyncio.ensure_future(
            self._app.bot.get_updates(
                offset=offset,
                timeout=self._poll_timeout,
                limit=self._limit,
                allowed_updates=Update.ALL_TYPES,
                read_timeout=self._poll_timeout + 10,
            )
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            # Stopping mid-poll: nothing fetched is lost, the offset was not advanced.
            fetch.cancel()
            return ()
        stopping.cancel()
        return fetch.result()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def handle_batch(self, updates: tuple[Update, ...] | list[Update]) -> None:
        """Handle a batch: each user's updates in order, users concurrently."""
        lanes: dict[str, list[Update]] = defaultdict(list)
        for update in updates:
            lanes[serial_key(update)].append(update)
        await asyncio.gather(*(self._handle_lane(lane) for lane in lanes.values()))

    async def _handle_lane(self, lane: list[Update]) -> None:
        for update in lane:
            async with self._semaphore:
                await self.handle(update)

    async def handle(self, update: Update) -> None:
        """Handle one update unless it was handled before, then record it."""
        if await self._log.is_handled(update.update_id):
            log.info("update.skipped_duplicate", update_id=update.update_id)
            return
        await self._app.process_update(update)
        await self._log.mark_handled(update.update_id)
