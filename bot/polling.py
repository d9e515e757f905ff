"""A getUpdates loop that never loses an update and never lets one user's slow update hold up others.

PTB's Updater confirms updates as soon as they are fetched, so a crash loses them. Here each fetched
update is first stored in Redis (``updates:pending``, with the next offset, in one step); only then is
the next getUpdates sent, which confirms the batch to Telegram. Fetching goes on while updates are
handled: each user has a lane of their own (their updates in order), lanes run concurrently, and an
update leaves ``updates:pending`` only once it was handled (``updates:handled`` guards against doing
it twice). After a crash, the pending updates are handled first.

When Redis fails during an update, the user is told at once (in their language, without Redis) that
their message is kept and will be handled; the update stays pending and is retried every couple of
seconds in its lane until Redis answers again, then handled normally.

Only one process polls: it holds ``poller:lease`` (renewed); others wait to take over and meanwhile
run timers, the outbox and broadcasts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from datetime import UTC, datetime

from redis.exceptions import RedisError
from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

from bot import metrics
from bot.context import DEPS_KEY, BotApplication, Deps
from bot.logs import get_logger
from storage.connection import StorageUnavailable
from storage.updates import UpdateLog

log = get_logger(__name__)
STORAGE_FAILURES_KEY = "storage_failures"  # where the error handler reports updates that lacked storage
STORAGE_ERRORS = (RedisError, StorageUnavailable, OSError)
RETRY_CAP = 2.0  # seconds: how long an update waits at most before it is tried again while Redis fails
# While Redis fails, fetching goes on this often, so that whoever writes meanwhile is told at once.
OUTAGE_POLL = 0.5
LEASE_SECONDS = 10.0  # a SIGKILLed poller's successor waits at most this long
MAX_IN_FLIGHT = 2_000  # fetched, not yet handled: fetching pauses above this


def serial_key(update: Update) -> str:
    """Updates with the same key are handled one after another: per user, else per chat."""
    if update.effective_user is not None:
        return f"u{update.effective_user.id}"
    if update.effective_chat is not None:
        return f"c{update.effective_chat.id}"
    return f"x{update.update_id}"


class DurablePoller:
    """Fetch, store, handle (per user in order, users concurrently), confirm."""

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
        self._lanes: dict[str, deque[Update]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[int] = set()
        self._told: set[int] = set()  # updates whose user was told of a storage failure
        self._drained = asyncio.Event()
        self._drained.set()
        self.token = update_log.new_token()
        self.holds_lease = False
        self.progressed_at = time.time()  # the loop's last turn (per-process health, bot.health)
        # Update ids whose handling failed for want of storage (filled by the error handler).
        self.storage_failures: set[int] = set()
        application.bot_data[STORAGE_FAILURES_KEY] = self.storage_failures

    def stop(self) -> None:
        """Ask the loop to stop fetching; ``run`` returns once the updates in hand are handled."""
        self._stopping.set()

    @property
    def in_flight(self) -> int:
        """Updates fetched and not yet handled in this process."""
        return len(self._in_flight)

    async def run(self) -> None:
        """Poll until ``stop()``: while another process holds the poller lease, wait to take over."""
        try:
            while not self._stopping.is_set():
                await self._take_lease()
                if self._stopping.is_set():
                    return
                renewer = asyncio.create_task(self._keep_lease())
                try:
                    await self._resume_pending()
                    await self._poll()
                finally:
                    renewer.cancel()
                    with contextlib.suppress(BaseException):
                        await renewer
                await self._drain(10.0)
        finally:
            await self._drain(10.0)
            if self.holds_lease:
                with contextlib.suppress(Exception):
                    await self._log.release_lease(self.token)
                self.holds_lease = False

    async def _take_lease(self) -> None:
        said = False
        while not self._stopping.is_set():
            self.progressed_at = time.time()
            try:
                if await self._log.acquire_lease(self.token, LEASE_SECONDS):
                    self.holds_lease = True
                    log.info("poller.leader")
                    return
            except STORAGE_ERRORS as exc:
                log.warning("poller.lease_unavailable", error=type(exc).__name__)
            if not said:
                log.info(
                    "poller.standby",
                    detail="another process polls Telegram; this one runs timers and the outbox",
                )
                said = True
            await self._sleep(LEASE_SECONDS / 6)

    async def _keep_lease(self) -> None:
        while not self._stopping.is_set():
            await self._sleep(LEASE_SECONDS / 4)
            try:
                if not await self._log.renew_lease(self.token, LEASE_SECONDS):
                    # Another process polls now (this one stalled): stop fetching, go back to standby.
                    log.error("poller.lease_lost")
                    self.holds_lease = False
                    return
            except STORAGE_ERRORS as exc:
                log.warning("poller.lease_renewal_failed", error=type(exc).__name__)

    async def _resume_pending(self) -> None:
        """Updates stored before a crash and never handled: handled first, in order."""
        while not self._stopping.is_set():
            try:
                pending = await self._log.pending()
                break
            except STORAGE_ERRORS as exc:
                log.warning("polling.storage_unavailable", error=type(exc).__name__)
                await self._sleep(RETRY_CAP)
        else:
            return
        for raw in pending:
            update = Update.de_json(raw, self._app.bot)
            if update is not None:
                log.info("update.resumed", update_id=update.update_id)
                self.dispatch(update)

    async def _poll(self) -> None:
        offset: int | None = None
        backoff = 1.0
        outage = False  # the last batch could not be stored
        while not self._stopping.is_set() and self.holds_lease:
            self.progressed_at = time.time()
            if offset is None:
                try:
                    offset = await self._log.offset()
                except STORAGE_ERRORS as exc:
                    log.warning("polling.storage_unavailable", error=type(exc).__name__)
                    await self._sleep(RETRY_CAP)
                    continue
            if len(self._in_flight) >= MAX_IN_FLIGHT:
                await self._sleep(0.05)
                continue
            self.progressed_at = time.time() + self._poll_timeout  # the long poll's wait is no stall
            try:
                updates = await self._fetch(offset)
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                raise
            except RetryAfter as exc:
                metrics.telegram_429("poller")
                wait = exc.retry_after
                await self._sleep(float(wait if isinstance(wait, int | float) else wait.total_seconds()))
                continue
            except (TimedOut, NetworkError, Conflict) as exc:
                log.warning("polling.retry", error=type(exc).__name__, detail=str(exc), wait=backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 1.0
            if not updates:
                await self._beat()
                continue
            fresh = [u for u in updates if u.update_id not in self._in_flight]
            next_offset = updates[-1].update_id + 1
            try:
                await self._log.keep([u.to_dict() for u in fresh], next_offset)
            except STORAGE_ERRORS as exc:
                # Not stored, so not confirmed: Telegram keeps them. Tell each user once, and fetch again
                # soon (the same batch comes back at once), so that what arrives meanwhile is told too.
                metrics.redis_error("poller")
                if not outage:
                    log.error("polling.storage_unavailable", error=type(exc).__name__, detail=str(exc))
                outage = True
                await asyncio.gather(*(self._tell_storage_trouble(update) for update in fresh))
                await self._sleep(OUTAGE_POLL)
                continue
            if outage:
                log.info("polling.storage_back")
                outage = False
            offset = next_offset
            for update in fresh:
                self.dispatch(update)
            await self._beat()

    def dispatch(self, update: Update) -> None:
        """Queue an update in its user's lane (started if idle)."""
        if update.update_id in self._in_flight:
            return
        self._in_flight.add(update.update_id)
        self._drained.clear()
        key = serial_key(update)
        self._lanes.setdefault(key, deque()).append(update)
        if key not in self._lane_tasks:
            self._lane_tasks[key] = asyncio.create_task(self._run_lane(key))

    async def _run_lane(self, key: str) -> None:
        lane = self._lanes[key]
        try:
            while lane:
                update = lane[0]
                await self._handle_until_done(update)
                lane.popleft()
                self._in_flight.discard(update.update_id)
                self._told.discard(update.update_id)
        finally:
            self._lane_tasks.pop(key, None)
            if not lane:
                self._lanes.pop(key, None)
            if not self._in_flight:
                self._drained.set()

    async def _handle_until_done(self, update: Update) -> None:
        """Handle the update; while storage fails, tell the user once and try again every ~2 s."""
        wait = 0.25
        while True:
            try:
                async with self._semaphore:
                    with metrics.handling(update, serial_key(update)):  # counted, timed, logs bound
                        await self.handle(update)
                return
            except STORAGE_ERRORS as exc:
                metrics.redis_error("poller")
                log.error("update.storage_unavailable", update_id=update.update_id, error=type(exc).__name__)
                await self._tell_storage_trouble(update)
            except Exception:
                log.error("update.unhandled", exc_info=True, update_id=update.update_id)
                return  # a bug in a handler: logged; the update stays pending and resumes at restart
            if self._stopping.is_set() and not self.holds_lease:
                return
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY_CAP)

    async def _tell_storage_trouble(self, update: Update) -> None:
        """Tell the user (once per update, without Redis) that their message is kept and will be handled."""
        if update.update_id in self._told:
            return
        chat = update.effective_chat
        if chat is None or chat.type != "private":
            return
        self._told.add(update.update_id)
        deps: Deps = self._app.bot_data[DEPS_KEY]
        user = update.effective_user
        _ = deps.translator(user.language_code if user else None)
        text = _(
            "⏳ The service is having trouble saving data right now. Your message is kept and will be "
            "handled as soon as it is back — there is no need to send it again."
        )
        try:
            if update.callback_query is not None:
                with contextlib.suppress(TelegramError):
                    await update.callback_query.answer()
            await self._app.bot.send_message(chat.id, text)
        except TelegramError:
            log.warning("update.storage_trouble_not_told", update_id=update.update_id)

    async def _drain(self, timeout: float) -> None:  # noqa: ASYNC109
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), timeout)

    async def _beat(self) -> None:
        try:
            await self._log.beat(datetime.now(UTC).isoformat())
        except STORAGE_ERRORS as exc:
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
            with contextlib.suppress(BaseException):
                await fetch
            return ()
        stopping.cancel()
        return fetch.result()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def handle(self, update: Update) -> None:
        """Handle one update unless it was handled before, then record it (storage errors propagate)."""
        if await self._log.is_handled(update.update_id):
            log.info("update.skipped_duplicate", update_id=update.update_id)
            metrics.update_outcome("duplicate")
            await self._log.mark_handled(update.update_id)  # clears a pending copy, if any
            return
        self.storage_failures.discard(update.update_id)
        await self._app.process_update(update)
        if update.update_id in self.storage_failures:
            # The handler could not reach Redis: do not record it as handled; it is tried again.
            raise StorageUnavailable(f"update {update.update_id} failed for want of storage")
        await self._log.mark_handled(update.update_id)
