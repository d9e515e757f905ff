"""The timer worker: claims due timers from Redis and fires them, in every bot process.

Redis is the store (``storage.timers``); this loop only polls it. Each timer is claimed by exactly
one process; a process that dies mid-firing leaves its claim to expire, and the timer fires again
elsewhere — harmlessly, since firing is idempotent. What a timer owes to people (a reminder, an
overdue notice, an escalation card) is recorded in the outbox by the same write as its effect, then
flushed: a crash between the two cannot lose it, and a repeated firing records nothing new.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from bot import metrics
from bot.domain.cases import CaseService
from bot.domain.clock import Clock
from bot.logs import bound, get_logger
from storage.timers import Timer, TimerRepository

log = get_logger(__name__)

Flush = Callable[[tuple[str, ...]], Awaitable[object]]


class TimerWorker:
    """Polls for due timers every ``interval`` seconds until stopped."""

    def __init__(
        self,
        cases: CaseService,
        timers: TimerRepository,
        clock: Clock,
        flush: Flush,
        *,
        interval: float = 1.0,
    ) -> None:
        self._cases = cases
        self._timers = timers
        self._clock = clock
        self._flush = flush
        self._interval = interval
        self._stopping = asyncio.Event()
        self.progressed_at = time.time()  # the loop's last turn (per-process health, bot.health)

    def stop(self) -> None:
        """Finish after the timers in hand."""
        self._stopping.set()

    async def run(self) -> None:
        """Fire due timers until ``stop()``; no exception of one round ends the loop."""
        while not self._stopping.is_set():
            self.progressed_at = time.time()
            try:
                fired = await self.tick()
            except (RedisError, OSError) as exc:
                metrics.redis_error("timers")
                log.warning("timers.storage_unavailable", error=type(exc).__name__)
                fired = 0
            except Exception:
                log.error("timers.round_failed", exc_info=True)
                fired = 0
            if fired == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)

    async def tick(self) -> int:
        """Claim and fire what is due now; returns how many timers fired."""
        claimed = await self._timers.claim(self._clock.now())
        for timer in claimed:
            with bound(ticket=timer.ticket or None):  # on every line logged while it fires
                await self._fire(timer)
        return len(claimed)

    async def _fire(self, timer: Timer) -> None:
        try:
            lanes = await self._cases.fire_timer(timer)
        except (RedisError, OSError):
            raise  # the claim expires and the timer fires again later
        except Exception:
            log.error("timer.failed", exc_info=True, timer=timer.member)
            await self._timers.done(timer)
            return
        await self._timers.done(timer)
        metrics.TIMERS_FIRED.labels(timer.kind).inc()
        log.info("timer.fired", timer=timer.member)
        await self._flush(lanes)
