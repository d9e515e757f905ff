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

from redis.exceptions import RedisError
from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.context import BotApplication
from bot.logs import get_logger
from storage.connection import StorageUnavailable
from storage.updates import UpdateLog

log = get_logger(__name__)
STORAGE_FAILURES_KEY = "storage_failures"  # where the error handler reports updates that lacked storage


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
        # Update ids whose handling failed for want of storage in this process: not marked handled,
        # retried. Transient bookkeeping of the current batch, not user state.
        self.storage_failures: set[int] = set()
        application.bot_data[STORAGE_FAILURES_KEY] = self.storage_failures

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
            if not updates:
                await self._beat()
                continue
            # Handle the batch, then confirm it; while storage fails, retry the same batch (what was
            # handled is skipped) without confirming anything.
            while not self._stopping.is_set():
                try:
                    await self.handle_batch(updates)
                    await self._log.set_offset(updates[-1].update_id + 1)
                    break
                except (RedisError, StorageUnavailable, OSError) as exc:
                    log.error(
                        "polling.storage_unavailable", error=type(exc).__name__, detail=str(exc), wait=backoff
                    )
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
            backoff = 1.0
            offset = updates[-1].update_id + 1
            await self._beat()

    async def _beat(self) -> None:
        try:
            await self._log.beat(datetime.now(UTC).isoformat())
        except (RedisError, OSError) as exc:
            log.warning("polling.heartbeat_failed", error=type(exc).__name__)

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
        results = await asyncio.gather(
            *(self._handle_lane(lane) for lane in lanes.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _handle_lane(self, lane: list[Update]) -> None:
        for update in lane:
            async with self._semaphore:
                await self.handle(update)

    async def handle(self, update: Update) -> None:
        """Handle one update unless it was handled before, then record it."""
        if await self._log.is_handled(update.update_id):
            log.info("update.skipped_duplicate", update_id=update.update_id)
            return
        self.storage_failures.discard(update.update_id)
        await self._app.process_update(update)
        if update.update_id in self.storage_failures:
            # The handler could not reach Redis (the error handler told the user): do not confirm it.
            raise StorageUnavailable(f"update {update.update_id} failed for want of storage")
        await self._log.mark_handled(update.update_id)
