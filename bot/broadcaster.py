"""The broadcast worker: claims recipients of running broadcasts from Redis and sends, in every process.

Redis is the store (``storage.broadcasts``); this loop only paces and sends. The pace is shared by
every process (a send slot in Redis), a 429 hands the recipient back and delays every sender by its
retry_after, a 403 marks the user unreachable. Each outcome is written once with the recipient's claim
released in the same script, so a restart resumes with no recipient twice and none skipped; when the
task is cancelled, the sends already begun finish and are recorded, the others are handed back. A claim's
lease starts at its pace slot (storage/scripts/broadcast_claim.lua), so waiting for it never hands the
recipients to a second sender. A failure in one broadcast (or in drawing its progress) is logged and
retried without stopping the others; a broadcast paused or cancelled mid-chunk is redrawn once the sends
in flight are recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from redis.exceptions import RedisError
from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot import metrics
from bot.domain.broadcast import BroadcastService
from bot.logs import get_logger
from storage.models import Broadcast

log = get_logger(__name__)

Progress = Callable[[str, bool], Awaitable[None]]
MAX_CHUNK = 200


def retry_seconds(exc: RetryAfter) -> float:
    """A 429's retry_after in seconds (read without PTB's deprecation warning)."""
    value = getattr(exc, "_retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(exc.retry_after) if isinstance(exc.retry_after, int) else exc.retry_after.total_seconds()


class Broadcaster:
    """Sends running broadcasts until stopped."""

    def __init__(
        self,
        service: BroadcastService,
        bot: Bot,
        progress: Progress,
        *,
        rate: float = 25.0,
        paid: bool = False,
        lease: float = 60.0,
        interval: float = 0.5,
        concurrency: int = 64,
        yield_to: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._service = service
        # Awaited before each free (not paid) send: conversations first (bot.telegram_calls.SendPacer.bulk).
        self._yield_to = None if paid else yield_to
        self._repo = service.repo
        self._bot = bot
        self._progress = progress
        self.rate = rate
        self._paid = paid
        self._lease = lease
        self._interval = interval
        self._semaphore = asyncio.Semaphore(concurrency)
        self._stopping = asyncio.Event()
        self._meta: dict[str, Broadcast] = {}
        self._pending: set[asyncio.Task[int]] = set()
        self._held_until = 0.0
        self.progressed_at = time.time()  # the loop's last turn (per-process health, bot.health)

    @property
    def chunk(self) -> int:
        """Recipients claimed at once: about one second of sending."""
        return max(1, min(MAX_CHUNK, int(self.rate)))

    @property
    def check_every(self) -> int:
        """How many sends between two looks at the state (about ten times a second)."""
        return max(1, int(self.rate // 10))

    def stop(self) -> None:
        """Finish after the chunk in hand."""
        self._stopping.set()

    async def run(self) -> None:
        """Send until ``stop()``; on cancellation, finish what is in flight and hand back the rest."""
        while not self._stopping.is_set():
            self.progressed_at = time.time()
            try:
                worked = await self.tick()
            except (RedisError, OSError) as exc:
                metrics.redis_error("broadcast")
                log.warning("broadcast.storage_unavailable", error=type(exc).__name__)
                worked = False
            except Exception:  # never let one failure end the sender: log it, try again after a pause
                log.error("broadcast.tick_failed", exc_info=True)
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)

    async def tick(self) -> bool:
        """One chunk of every active broadcast; True when something was sent."""
        worked = False
        for broadcast_id in await self._repo.active():
            if self._stopping.is_set():
                break
            try:
                worked = await self._chunk(broadcast_id) or worked
            except (RedisError, OSError):
                raise  # Redis is down: the loop waits, for every broadcast alike
            except Exception:
                # This broadcast failed (its claims come back after the lease): the others go on.
                self._meta.pop(broadcast_id, None)
                log.error("broadcast.chunk_failed", exc_info=True, broadcast=broadcast_id)
        return worked

    async def _chunk(self, broadcast_id: str) -> bool:
        broadcast = self._meta.get(broadcast_id) or await self._service.get(broadcast_id)
        self._meta[broadcast_id] = broadcast
        claim = await self._repo.claim(broadcast_id, self.chunk, self._lease, self.rate)
        if claim.state == "done":
            await self._finish(broadcast_id)
            return False
        if not claim.recipients:
            return False
        languages = await self._repo.languages(claim.recipients)
        queue = list(zip(claim.recipients, languages, strict=True))
        finished = False
        try:
            if claim.delay > 0:
                await asyncio.sleep(claim.delay)
            start = time.monotonic()
            tasks: list[asyncio.Task[int]] = []
            for index, (recipient, language) in enumerate(queue):
                if time.monotonic() < self._held_until or (  # a 429, or paused / cancelled meanwhile
                    index % self.check_every == 0 and index and not await self._repo.is_running(broadcast_id)
                ):
                    await self._hand_back(broadcast_id, [r for r, _lang in queue[index:]])
                    break
                wait = start + index / self.rate - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if self._yield_to is not None:
                    await self._yield_to()
                text = self._service.text_for(broadcast, language)
                task = asyncio.create_task(self._deliver(broadcast_id, recipient, text))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
                tasks.append(task)
                queue[index] = (0, None)  # started: its own task records it
            # Shielded: a cancellation never interrupts a send between Telegram's answer and its record.
            results = await asyncio.shield(asyncio.gather(*tasks))
            finished = 2 in results
        except asyncio.CancelledError:
            await asyncio.shield(self._hand_back(broadcast_id, [r for r, _lang in queue if r]))
            raise
        if finished:
            await self._finish(broadcast_id)
        else:
            # Paused or cancelled meanwhile: the sends in flight are recorded now, and the redraw made
            # when the admin tapped showed the counts before them. Draw again, past the throttle.
            stopped = not await self._repo.is_running(broadcast_id)
            await self._draw(broadcast_id, stopped)
        return True

    async def _hand_back(self, broadcast_id: str, unsent: list[int]) -> None:
        """Cancelled mid-chunk: let started sends finish (and be recorded); the rest go back to the queue."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        for recipient in unsent:  # the shared pace already waits for any retry_after
            await self._repo.ack(broadcast_id, recipient, "retry")
        log.info("broadcast.handed_back", broadcast=broadcast_id, recipients=len(unsent))

    async def _deliver(self, broadcast_id: str, recipient: int, text: str) -> int:
        """Send to one recipient and record the outcome (or hand the recipient back)."""
        async with self._semaphore:
            retry_after = 0.0
            try:
                await self._bot.send_message(
                    recipient,
                    text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    allow_paid_broadcast=True if self._paid else None,
                )
                outcome = "sent"
            except RetryAfter as exc:
                outcome, retry_after = "retry", retry_seconds(exc)
                metrics.telegram_429("broadcast")
                self._held_until = max(self._held_until, time.monotonic() + retry_after)
                log.info("broadcast.retry_after", broadcast=broadcast_id, seconds=retry_after)
            except Forbidden:
                outcome = "blocked"
            except BadRequest as exc:
                outcome = "failed"
                log.info("broadcast.failed", broadcast=broadcast_id, recipient=recipient, error=str(exc))
            except NetworkError as exc:  # timeouts included: handed back, sent again later
                outcome, retry_after = "retry", 1.0
                log.warning("broadcast.network", broadcast=broadcast_id, error=str(exc))
            return await self._repo.ack(broadcast_id, recipient, outcome, retry_after)

    async def _finish(self, broadcast_id: str) -> None:
        self._meta.pop(broadcast_id, None)
        await self._service.finished(broadcast_id)
        await self._draw(broadcast_id, True)
        log.info("broadcast.done", broadcast=broadcast_id)

    async def _draw(self, broadcast_id: str, final: bool) -> None:
        """Update the progress message; a failure (a timeout editing it) never stops the sending."""
        try:
            await self._progress(broadcast_id, final)
        except Exception:
            log.error("broadcast.progress_failed", exc_info=True, broadcast=broadcast_id)
