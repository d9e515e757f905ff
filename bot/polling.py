"""Getting updates in, and handling them: never losing one, never handling one twice, never letting
one user's slow update hold up others — in one process or in many.

Intake and handling meet in Redis Streams (``storage.update_streams``). The intake is either this
polling loop — one process at a time holds ``poller:lease`` and runs getUpdates; each batch is
appended to the streams together with the next offset, and only then is the next getUpdates sent,
which confirms the batch to Telegram — or the webhook endpoint (``bot.webhook``). Appending is
idempotent by update_id.

The consumer (every process of role ``all`` or ``worker``) takes its share of the partitions (one
worker per partition at a time, ``updates:partition:<n>:lease``), first claims the entries a previous
owner read and did not acknowledge, then reads new ones. Each user has a lane of their own (their
updates in order), lanes run concurrently, and an entry is acknowledged (and deleted) in the same
transaction that records its update in ``updates:handled`` — which also guards against handling an
update twice. A worker that dies mid-update leaves its entries pending; when its partition leases
expire, another worker takes the partitions over and handles them.

When Redis fails during an update, the user is told at once (in their language, without Redis) that
their message is kept and will be handled; the update stays pending and is retried every couple of
seconds in its lane until Redis answers again, then handled normally.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
import warnings
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from telegram import Update
from telegram.error import (
    Conflict,
    EndPointNotFound,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBUserWarning

from bot import metrics
from bot.context import DEPS_KEY, BotApplication, Deps
from bot.domain.citizens import citizen_id
from bot.logs import get_logger
from handlers.common import CHANNEL
from storage.connection import StorageUnavailable
from storage.prefetch import snapshot
from storage.update_streams import Entry, UpdateStreams, partition_of
from storage.updates import UpdateLog

# do_api_request("getUpdates") is used on purpose (the JSON is stored as it came, not parsed into
# Update objects): PTB's hint to use Bot.get_updates instead is not for us.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)

log = get_logger(__name__)
STORAGE_FAILURES_KEY = "storage_failures"  # where the error handler reports updates that lacked storage
STORAGE_ERRORS = (RedisError, StorageUnavailable, OSError)
RETRY_CAP = 2.0  # seconds: how long an update waits at most before it is tried again while Redis fails
# While Redis fails, fetching goes on this often, so that whoever writes meanwhile is told at once.
OUTAGE_POLL = 0.5
LEASE_SECONDS = 10.0  # a SIGKILLed poller's successor waits at most this long
MAX_IN_FLIGHT = 2_000  # read, not yet handled: fetching and reading pause above this
READ_COUNT = 200  # entries per partition per read
SWEEP_ROUNDS = 30  # every this many partition rounds, look for entries stranded in another's pending list
READ_BLOCK_MS = 1_000  # a read waits this long for new entries (then the owned partitions are re-read)


def serial_key(update: Update) -> str:
    """Updates with the same key are handled one after another: per user, else per chat."""
    if update.effective_user is not None:
        return f"u{update.effective_user.id}"
    if update.effective_chat is not None:
        return f"c{update.effective_chat.id}"
    return f"x{update.update_id}"


# Where each kind of update names its sender (as ``Update.effective_user`` reads them).
_SENDER_FIELD = {
    "message": "from", "edited_message": "from", "business_message": "from",
    "edited_business_message": "from", "guest_message": "from", "channel_post": "from",
    "edited_channel_post": "from", "inline_query": "from", "chosen_inline_result": "from",
    "callback_query": "from", "shipping_query": "from", "pre_checkout_query": "from",
    "poll_answer": "user", "my_chat_member": "from", "chat_member": "from", "chat_join_request": "from",
    "message_reaction": "user", "business_connection": "user", "purchased_paid_media": "from",
    "managed_bot": "user",
}  # fmt: skip


def raw_serial_key(raw: dict[str, Any]) -> str:
    """``serial_key`` of an update still in Telegram's JSON: read straight from the sender's id when there
    is one (nearly always; no objects built), else from the parsed update (the chat, or the update)."""
    kinds = [key for key in raw if key != "update_id"]
    if len(kinds) == 1 and kinds[0] in _SENDER_FIELD and isinstance(raw[kinds[0]], dict):
        sender = raw[kinds[0]].get(_SENDER_FIELD[kinds[0]])
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return f"u{sender['id']}"
    update = Update.de_json(raw, None)
    return serial_key(update) if update is not None else f"x{raw.get('update_id')}"


class DurablePoller:
    """Poll (if asked, under the poller lease) into the streams, and consume the streams: per user in
    order, users concurrently, acknowledged once handled."""

    def __init__(
        self,
        application: BotApplication,
        update_log: UpdateLog,
        streams: UpdateStreams,
        *,
        poll: bool = True,
        max_concurrent: int = 32,
        poll_timeout: int = 25,
        limit: int = 100,
        partition_lease: float = 10.0,
    ) -> None:
        self._app = application
        self._log = update_log
        self._streams = streams
        self._poll_enabled = poll
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._poll_timeout = poll_timeout
        self._limit = limit
        self._partition_lease = partition_lease
        self._stopping = asyncio.Event()
        self._lanes: dict[str, deque[Update]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[int] = set()
        self._entries: dict[int, Entry] = {}  # update_id → the stream entry it came from
        self._told: set[int] = set()  # updates whose user was told of a storage failure
        self._failed: set[int] = set()  # updates a handler failed on (a bug): left pending, not retried here
        self._drained = asyncio.Event()
        self._drained.set()
        self.token = f"{os.getpid()}-{update_log.new_token()}"  # the pid: for people reading Redis
        self.handled = 0  # updates this process handled (not counting duplicates skipped)
        self.holds_lease = False
        # The consumer: partitions this process reads, those it is giving up, and updates in hand per
        # partition (a partition is given up only once none is).
        self.partitions: set[int] = set()
        # partition being given up → the read that was under way when it was marked (reads are serial)
        self._releasing: dict[int, int] = {}
        self._reads_started = 0
        self._reads_done = 0
        self._rounds = 0
        self._load: Counter[int] = Counter()
        self._seen_free: set[int] = set()
        self._renewed_at = 0.0
        self._partitions_changed = asyncio.Event()
        self._consumed = asyncio.Event()  # the consumer finished: the lease keeper stops too
        self.progressed_at = time.time()  # the loop's last turn (per-process health, bot.health)
        # Update ids whose handling failed for want of storage (filled by the error handler).
        self.storage_failures: set[int] = set()
        application.bot_data[STORAGE_FAILURES_KEY] = self.storage_failures

    def stop(self) -> None:
        """Ask the loops to stop; ``run`` returns once the updates in hand are handled."""
        self._stopping.set()

    @property
    def in_flight(self) -> int:
        """Updates read and not yet handled in this process."""
        return len(self._in_flight)

    async def run(self) -> None:
        """Consume the streams until ``stop()``; with polling on, also poll Telegram whenever this
        process holds the poller lease."""
        consumer = asyncio.create_task(self._consume())
        try:
            if self._poll_enabled:
                await self._poll_while_leader()
            else:
                await self._stopping.wait()
        finally:
            self._stopping.set()
            await consumer

    # -- intake: the elected poller ----------------------------------------------------------------

    async def _poll_while_leader(self) -> None:
        try:
            while not self._stopping.is_set():
                await self._take_lease()
                if self._stopping.is_set():
                    return
                renewer = asyncio.create_task(self._keep_lease())
                try:
                    await self._poll()
                finally:
                    renewer.cancel()
                    with contextlib.suppress(BaseException):
                        await renewer
        finally:
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
                    detail="another process polls Telegram; this one handles updates, timers and the outbox",
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

    def partition(self, raw: dict[str, Any]) -> int:
        """The stream partition of an update in Telegram's JSON (by its user, else its chat)."""
        return partition_of(raw_serial_key(raw), self._streams.partitions)

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
            next_offset = int(updates[-1]["update_id"]) + 1
            try:
                # As Telegram sent them: stored without being parsed here (the consumer parses each once).
                await self._streams.append([(self.partition(raw), raw) for raw in updates], next_offset)
            except STORAGE_ERRORS as exc:
                # Not stored, so not confirmed: Telegram keeps them. Tell each user once, and fetch again
                # soon (the same batch comes back at once), so that what arrives meanwhile is told too.
                metrics.redis_error("poller")
                if not outage:
                    log.error("polling.storage_unavailable", error=type(exc).__name__, detail=str(exc))
                outage = True
                parsed = [Update.de_json(raw, self._app.bot) for raw in updates]
                await asyncio.gather(*(self._tell_storage_trouble(update) for update in parsed))
                await self._sleep(OUTAGE_POLL)
                continue
            if outage:
                log.info("polling.storage_back")
                outage = False
            offset = next_offset
            await self._beat()

    # -- the consumer: partitions, lanes ---------------------------------------------------------

    async def _consume(self) -> None:
        """Read the partitions this process owns and dispatch their entries, until stopped; then
        finish what is in hand and give the partitions up."""
        while not self._stopping.is_set():
            try:
                await self._streams.ensure_groups()
                moved = await self._streams.migrate_pending_hash(self.partition)
                if moved:
                    log.info("updates.migrated", count=moved)
                break
            except STORAGE_ERRORS as exc:
                log.warning("consumer.storage_unavailable", error=type(exc).__name__)
                await self._sleep(RETRY_CAP)
        keeper = asyncio.create_task(self._keep_partitions())
        try:
            while not self._stopping.is_set():
                if not self._poll_enabled:  # else the polling loop reports (bot.health)
                    self.progressed_at = time.time() + READ_BLOCK_MS / 1000
                readable = sorted(self.partitions - set(self._releasing))
                if not readable or len(self._in_flight) >= MAX_IN_FLIGHT:
                    self._partitions_changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._partitions_changed.wait(), 0.05 if readable else 1.0)
                    continue
                self._reads_started += 1
                try:
                    entries = await self._read(readable)
                except STORAGE_ERRORS as exc:
                    log.warning("consumer.read_failed", error=type(exc).__name__)
                    await self._sleep(OUTAGE_POLL)
                    continue
                finally:
                    self._reads_done = self._reads_started
                for entry in entries:
                    if entry.partition in self.partitions:  # not taken over meanwhile (else: its new owner)
                        self._dispatch_entry(entry)
        finally:
            await self._drain(10.0)  # the leases are still renewed meanwhile
            self._consumed.set()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(keeper, 5)
            self.partitions = set()
            with contextlib.suppress(Exception):  # every lease this token holds, even one half-taken
                await self._streams.release(self.token, list(range(self._streams.partitions)), leaving=True)

    async def _read(self, partitions: list[int]) -> list[Entry]:
        read = asyncio.ensure_future(
            self._streams.read(self.token, partitions, count=READ_COUNT, block_ms=READ_BLOCK_MS)
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({read, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if read not in done:
            # Stopping mid-read: anything the read returned stays pending for the next owner.
            read.cancel()
            with contextlib.suppress(BaseException):
                await read
            return []
        return read.result()

    async def _keep_partitions(self) -> None:
        """Every tick: register as a live worker, renew the partition leases held, give up what is
        above a fair share (once idle), and take free partitions (claiming their pending entries)."""
        tick = min(self._partition_lease / 4, 1.0)
        loop = asyncio.get_running_loop()
        while not self._consumed.is_set():  # until the updates in hand are handled, at a stop
            try:
                await self._partition_round(loop.time())
            except STORAGE_ERRORS as exc:
                log.warning("consumer.lease_round_failed", error=type(exc).__name__)
                if self.partitions and loop.time() - self._renewed_at > self._partition_lease:
                    # The leases may have expired meanwhile: another worker may own them now.
                    log.error("consumer.partitions_lost", partitions=sorted(self.partitions))
                    self.partitions.clear()
                    self._releasing.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._consumed.wait(), tick)

    async def _partition_round(self, now: float) -> None:
        streams = self._streams
        workers, state = await streams.tick(self.token, self._partition_lease)
        self._renewed_at = now
        held = {n for n, s in enumerate(state) if s == 1}
        lost = self.partitions - held
        if lost:
            log.warning("consumer.partitions_taken", partitions=sorted(lost))
        self.partitions &= held
        self._releasing = {n: mark for n, mark in self._releasing.items() if n in self.partitions}
        if self._stopping.is_set():
            return  # only renewing, while the updates in hand are finished
        self._rounds += 1
        share = math.ceil(streams.partitions / max(workers, 1))
        # Above the fair share: stop reading the extra partitions, give each up once nothing of it is
        # in hand and no read that included it is under way (so its next owner, which claims what was
        # read and not acknowledged, never handles an update this process handles too).
        extra = len(self.partitions) - share
        if extra > len(self._releasing):
            candidates = sorted(self.partitions - set(self._releasing), reverse=True)
            for n in candidates[: extra - len(self._releasing)]:
                self._releasing[n] = self._reads_started
        idle = [n for n, mark in self._releasing.items() if self._load[n] == 0 and self._reads_done >= mark]
        if idle:
            await streams.release(self.token, idle)
            self.partitions -= set(idle)
            for n in idle:
                del self._releasing[n]
        # Free partitions: up to the fair share at once; beyond it, only those nobody took for a whole
        # tick (a worker that died before its registration expired: nothing stays unowned for long).
        free = [n for n, s in enumerate(state) if s == 0]
        wanted = free[: max(share - len(self.partitions), 0)]
        wanted += [n for n in free if n not in wanted and n in self._seen_free]
        self._seen_free = set(free) - set(wanted)
        if wanted:
            for n in await streams.acquire(self.token, wanted, self._partition_lease):
                for entry in await streams.claim_pending(self.token, n):
                    log.info("update.resumed", update_id=entry.update.get("update_id"), partition=n)
                    self._dispatch_entry(entry)
                self.partitions.add(n)
                self._partitions_changed.set()
        if self._rounds % SWEEP_ROUNDS == 0:
            await self._sweep(int(self._partition_lease * 2000))
        await streams.beat(datetime.now(UTC).isoformat())

    async def _sweep(self, min_idle_ms: int) -> None:
        """Safety net: entries of owned partitions left unacknowledged for long by another consumer (one
        that read them as the partition changed hands) are claimed and handled here."""
        for n in sorted(self.partitions - set(self._releasing)):
            for entry in await self._streams.claim_pending(self.token, n, min_idle_ms=min_idle_ms):
                update_id = entry.update.get("update_id")
                if update_id in self._failed:
                    continue
                if update_id not in self._in_flight:
                    log.warning("update.reclaimed", update_id=update_id, partition=n)
                self._dispatch_entry(entry)

    def _dispatch_entry(self, entry: Entry) -> None:
        update = Update.de_json(entry.update, self._app.bot)
        if update is None:
            return
        if update.update_id not in self._in_flight:
            self._entries[update.update_id] = entry
            self._load[entry.partition] += 1
        self.dispatch(update)

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
                entry = self._entries.pop(update.update_id, None)
                if entry is not None:
                    self._load[entry.partition] -= 1
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
                self._failed.add(update.update_id)
                return  # a bug in a handler: logged; the entry stays pending, for the partition's next owner
            if self._stopping.is_set() and not self.partitions:
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

    async def _fetch(self, offset: int) -> list[dict[str, Any]]:
        """The next updates, in Telegram's JSON (getUpdates through PTB's request, not parsed: they go
        to the streams as they are)."""
        fetch = asyncio.ensure_future(self._get_updates(offset))
        stopping = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            # Stopping mid-poll: nothing fetched is lost, the offset was not advanced.
            fetch.cancel()
            with contextlib.suppress(BaseException):
                await fetch
            return []
        stopping.cancel()
        result = fetch.result()
        return [raw for raw in result if isinstance(raw, dict)] if isinstance(result, list) else []

    async def _get_updates(self, offset: int) -> Any:
        try:
            return await self._app.bot.do_api_request(
                "getUpdates",
                api_kwargs={
                    "offset": offset,
                    "timeout": self._poll_timeout,
                    "limit": self._limit,
                    "allowed_updates": list(Update.ALL_TYPES),
                },
                read_timeout=2 * self._poll_timeout + 10,  # (as get_updates computed it)
            )
        except EndPointNotFound as exc:
            # A 404/401 on a method that certainly exists: the token was revoked (do_api_request says
            # "endpoint not found" once the bot is initialised). Stop as get_updates would have.
            raise InvalidToken("the Bot API rejected the token while polling") from exc

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def handle(self, update: Update) -> None:
        """Handle one update unless it was handled before, then record it (storage errors propagate)."""
        entry = self._entries.get(update.update_id)
        source = (self._streams.stream(entry.partition), entry.entry_id) if entry is not None else None
        user = update.effective_user
        answers = await self._log.prefetch(
            update.update_id,
            user.id if user is not None else None,
            citizen_id(CHANNEL, user.id) if user is not None else None,
        )
        with snapshot(answers):  # the reads above serve the update until its first write
            await self._handle_unless_handled(update, source)

    async def _handle_unless_handled(self, update: Update, source: tuple[str, str] | None) -> None:
        if await self._log.is_handled(update.update_id):
            log.info("update.skipped_duplicate", update_id=update.update_id)
            metrics.update_outcome("duplicate")
            await self._log.mark_handled(update.update_id, source)  # acknowledges the entry
            return
        self.storage_failures.discard(update.update_id)
        await self._app.process_update(update)
        if update.update_id in self.storage_failures:
            # The handler could not reach Redis: do not record it as handled; it is tried again.
            raise StorageUnavailable(f"update {update.update_id} failed for want of storage")
        await self._log.mark_handled(update.update_id, source)
        self.handled += 1
