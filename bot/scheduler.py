"""The timer worker: claims due timers from Redis and fires them, in every bot process.

Redis is the store (``storage.timers``); this loop only polls it. Each timer is claimed by exactly
one process; a process that dies mid-firing leaves its claim to expire, and the timer fires again
elsewhere — harmlessly, since firing is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from bot.domain.cases import CaseService
from bot.domain.clock import Clock
from bot.domain.escalation import Notice
from bot.logs import get_logger
from storage.timers import TimerRepository

log = get_logger(__name__)

Deliver = Callable[[list[Notice]], Awaitable[None]]


class TimerWorker:
    """Polls for due timers every ``interval`` seconds until stopped."""

    def __init__(
        self,
        cases: CaseService,
        timers: TimerRepository,
        clock: Clock,
        deliver: Deliver,
        *,
        interval: float = 1.0,
    ) -> None:
        self._cases = cases
        self._timers = timers
        self._clock = clock
        self._deliver = deliver
        self._interval = interval
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish after the timers in hand."""
        self._stopping.set()

    async def run(self) -> None:
        """Fire due timers until ``stop()``."""
        while not self._stopping.is_set():
            try:
                fired = await self.tick()
            except (RedisError, OSError) as exc:
                log.warning("timers.storage_unavailable", error=type(exc).__name__)
                fired = 0
            if fired == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)

    async def tick(self) -> int:
        """Claim and fire what is due now; returns how many timers fired."""
        claimed = await self._timers.claim(self._clock.now())
        for timer in claimed:
            try:
                notices = await self._cases.fire_timer(timer)
                await self._deliver(notices)
            except (RedisError, OSError):
                raise  # the claim expires and the timer fires again later
            except Exception:
                log.error("timer.failed", exc_info=True, timer=timer.member)
            await self._timers.done(timer)
            log.info("timer.fired", timer=timer.member)
        return len(claimed)
