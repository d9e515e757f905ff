"""The outbox sender: delivers what state changes owe to people, in order per recipient, until it is
delivered, whatever happens to the process or to Telegram.

Every bot process runs one. It claims lanes (one recipient each) from ``storage.outbox`` under a lease,
sends their entries in order through ``deliver`` (the messenger adapter, ``handlers.notify``) and
acknowledges each. What the adapter cannot do now it signals with :class:`RetryLater`: the lane waits
(``retry_after`` of a 429 for that chat; a growing backoff, capped low, for a network error or a 5xx)
and nothing behind it in that lane overtakes it. A 429 seen for several chats at once is a flood wait
on the whole bot: every sender holds off (``outbox:hold``). Any other exception is a bug or bad data:
logged, retried a few times, then the entry is given up with a notice to the admins (``give_up``).

Handlers call :meth:`OutboxSender.flush` right after a change so its messages leave at once; the
loop is the safety net (crash, 429, outage). Delivery is at least once; see README "Delivery".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence

from redis.exceptions import RedisError

from bot import metrics
from bot.logs import bound, get_logger
from storage.outbox import OutboxEntry, OutboxRepository

log = get_logger(__name__)

BACKOFF_CAP = 60.0  # seconds: a lane never waits longer than this for a transient error
BROKEN_ATTEMPTS = 5  # unexpected errors of one entry before it is given up (admins told)
GLOBAL_FLOOD_WINDOW = 2.0  # 429s for two different chats within this many seconds: a global wait


class RetryLater(Exception):  # a signal, not an error
    """The adapter could not deliver now; try this lane again after ``delay`` seconds (None: backoff)."""

    def __init__(self, reason: str, delay: float | None = None, *, flood: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay
        self.flood = flood


class Progress:
    """Lets the adapter record that an entry's first messages were sent, so a retry skips them."""

    def __init__(self, repo: OutboxRepository, entry: OutboxEntry) -> None:
        self._repo = repo
        self.entry = entry
        self.index = 0

    async def step(self, send: Callable[[], Awaitable[object]]) -> bool:
        """Run ``send`` unless an earlier attempt already did; True when it ran now."""
        position = self.index
        self.index += 1
        if position < self.entry.done:
            return False
        await send()
        self.entry.done = position + 1
        await self._repo.progress(self.entry)
        return True


Deliver = Callable[[OutboxEntry, Progress], Awaitable[str]]
GiveUp = Callable[[OutboxEntry, str], Awaitable[None]]


def backoff(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed tries: 1, 2, 4... capped at BACKOFF_CAP."""
    return float(min(2 ** max(attempts - 1, 0), BACKOFF_CAP))


class OutboxSender:
    """Claims lanes and delivers their entries; ``run()`` loops until ``stop()``."""

    def __init__(
        self,
        repo: OutboxRepository,
        deliver: Deliver,
        give_up: GiveUp,
        *,
        interval: float = 0.5,
        concurrency: int = 16,
        rate: float = 25.0,
    ) -> None:
        self.repo = repo
        self._deliver = deliver
        self._give_up = give_up
        self._interval = interval
        self._lanes = asyncio.Semaphore(concurrency)
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._recent_floods: dict[str, float] = {}
        # Sends across chats are paced like Telegram paces them (about 30 a second), bursts allowed.
        self._rate = rate
        self._tokens = rate
        self._refilled = time.monotonic()
        self.sent = 0  # counters for metrics and tests
        self.retried = 0
        self.progressed_at = time.time()  # the loop's last turn (per-process health, bot.health)

    def stop(self) -> None:
        """Finish what is in hand, then return from ``run``."""
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """Something was recorded: look now rather than at the next interval."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until ``stop()``; no exception of one round ends the loop."""
        while not self._stopping.is_set():
            self.progressed_at = time.time()
            claimed = 0
            try:
                claimed = await self.tick()
            except (RedisError, OSError) as exc:
                metrics.redis_error("outbox")
                log.warning("outbox.storage_unavailable", error=type(exc).__name__)
            except Exception:
                log.error("outbox.round_failed", exc_info=True)
            if claimed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
                self._wake.clear()

    async def flush(self, lanes: Sequence[str]) -> dict[str, str]:
        """Deliver these lanes now (right after the change that filled them); never raises: what is
        not delivered now stays for the loop. Returns the outcome of each entry finished now, by kind."""
        outcomes: dict[str, str] = {}
        if not lanes:
            return outcomes
        try:
            await self.tick(lanes, outcomes)
        except Exception:
            log.warning("outbox.flush_failed", exc_info=True)
            self.wake()
        return outcomes

    async def tick(self, lanes: Sequence[str] = (), outcomes: dict[str, str] | None = None) -> int:
        """Claim due lanes (only ``lanes`` if given) and drain each; returns how many were claimed."""
        claimed = await self.repo.claim(lanes=lanes)
        if claimed:
            results = outcomes if outcomes is not None else {}
            await asyncio.gather(*(self._drain(lane, entries, results) for lane, entries in claimed))
        return len(claimed)

    async def _pace(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self._rate, self._tokens + (now - self._refilled) * self._rate)
            self._refilled = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self._rate)

    async def _drain(self, lane: str, entries: list[OutboxEntry], outcomes: dict[str, str]) -> None:
        """Send a lane's entries in order; stop at the first that must wait."""
        async with self._lanes:
            for entry in entries:
                await self._pace()
                with bound(ticket=entry.ticket or None, lane=lane):  # on every line logged meanwhile
                    if not await self._send(lane, entry, outcomes):
                        return
            await self.repo.release(lane)

    async def _send(self, lane: str, entry: OutboxEntry, outcomes: dict[str, str]) -> bool:
        """Deliver one entry and acknowledge it; False when the lane must stop here."""
        try:
            outcome = await self._deliver(entry, Progress(self.repo, entry))
        except RetryLater as exc:
            await self._wait(lane, entry, exc)
            return False
        except (RedisError, OSError):
            raise  # the lease expires and the lane is claimed again
        except Exception as exc:
            entry.attempts += 1
            log.error("outbox.entry_failed", exc_info=True, entry=entry.id, kind=entry.kind)
            if entry.attempts < BROKEN_ATTEMPTS:
                await self.repo.release(lane, backoff(entry.attempts), entry)
                return False
            await self._give_up(entry, f"{type(exc).__name__}: {exc}")
            outcome = "failed"
        if not await self.repo.ack(entry, outcome):
            return False  # the lease ran out and another sender has this lane now
        outcomes[entry.kind] = outcome
        self.sent += 1
        metrics.OUTBOX_FINISHED.labels(entry.kind, outcome).inc()
        log.info("outbox.delivered", entry=entry.id, kind=entry.kind, ticket=entry.ticket, outcome=outcome)
        return True

    async def _wait(self, lane: str, entry: OutboxEntry, exc: RetryLater) -> None:
        entry.attempts += 1
        self.retried += 1
        metrics.OUTBOX_RETRIES.labels(exc.reason).inc()
        if exc.flood:
            metrics.telegram_429("outbox")
        delay = exc.delay if exc.delay is not None else backoff(entry.attempts)
        if exc.flood and exc.delay:
            now = time.monotonic()
            self._recent_floods = {
                k: v for k, v in self._recent_floods.items() if now - v < GLOBAL_FLOOD_WINDOW
            }
            self._recent_floods[lane] = now
            if len(self._recent_floods) >= 2:
                await self.repo.hold(exc.delay)  # several chats at once: the whole bot must wait
        log.info("outbox.retry", entry=entry.id, lane_kind=lane.split(":")[0], reason=exc.reason, wait=delay)
        await self.repo.release(lane, delay, entry)


class Outbox:
    """What services and handlers hold: record entries on their own, and deliver lanes at once through
    the process's sender (set when the bot starts; without one, the loop of another process will)."""

    def __init__(self, repo: OutboxRepository) -> None:
        self.repo = repo
        self.sender: OutboxSender | None = None

    async def enqueue(self, entries: Sequence[OutboxEntry]) -> tuple[str, ...]:
        """Record entries that go with no other write; returns their lanes."""
        await self.repo.enqueue(entries)
        return tuple(dict.fromkeys(entry.lane for entry in entries))

    async def flush(self, lanes: Sequence[str]) -> dict[str, str]:
        """Deliver ``lanes`` now if this process sends; the outcome of each entry finished, by kind."""
        if self.sender is None or not lanes:
            return {}
        return await self.sender.flush(lanes)
