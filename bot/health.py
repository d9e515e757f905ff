"""Per-process health: each process writes its own heartbeat, naming when each of its loops (poller,
outbox sender, timers, broadcaster...) last made progress; ``python -m bot health`` fails when the
process it checks has a loop silent for longer than ``HEALTH_STALL_SECONDS``, or no heartbeat at all.

A process's name is ``PROCESS_NAME``, else ``<hostname>:<pid>``. The heartbeat is written every
few seconds by a task of the same event loop, so a blocked loop stops it too (its ``process`` age
grows). Components report progress by keeping a ``progressed_at`` attribute (epoch seconds) up to
date in their loop (a loop about to wait on purpose, like a long poll, may set it that far ahead);
the runtime says which components it runs (``BotRuntime.loops``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from bot import metrics
from bot.config import Settings
from bot.logs import get_logger
from storage.processes import ProcessHeartbeats, loop_ages

log = get_logger(__name__)
HEARTBEAT_INTERVAL = 5.0  # seconds between two writes of a process's heartbeat


def process_name(settings: Settings) -> str:
    """This process's name: ``PROCESS_NAME``, else ``<hostname>:<pid>``."""
    return settings.process_name or f"{socket.gethostname()}:{os.getpid()}"


class HeartbeatWriter:
    """Writes this process's heartbeat every ``interval`` seconds until stopped; removes it at close."""

    def __init__(
        self,
        repo: ProcessHeartbeats,
        name: str,
        loops: Callable[[], dict[str, float]],
        *,
        role: str = "all",
        stall_seconds: float = 90.0,
        interval: float | None = None,
    ) -> None:
        self.repo = repo
        self.name = name
        self._loops = loops
        self._info = {"host": socket.gethostname(), "pid": str(os.getpid()), "role": role}
        # Written often enough that a stall shows within the threshold (a small one in tests).
        self._interval = interval if interval is not None else min(HEARTBEAT_INTERVAL, stall_seconds / 3)
        self._ttl = int(max(3 * stall_seconds, 3 * self._interval, 30))
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Stop writing."""
        self._stopping.set()

    async def write(self) -> None:
        """One heartbeat now."""
        await self.repo.write(self.name, self._loops(), self._info, self._ttl)

    async def run(self) -> None:
        """Write until ``stop()``, then take the heartbeat away (a stopped process is not healthy)."""
        while not self._stopping.is_set():
            try:
                await self.write()
            except (RedisError, OSError) as exc:
                metrics.redis_error("heartbeat")
                log.warning("health.heartbeat_failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)
        with contextlib.suppress(RedisError, OSError):
            await self.repo.remove(self.name)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A process's health: its loops' ages and which of them are stalled."""

    name: str
    found: bool
    role: str = ""
    ages: tuple[tuple[str, float], ...] = ()
    stalled: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        """True with a heartbeat and no stalled loop."""
        return self.found and not self.stalled

    def describe(self) -> str:
        """One line: the verdict, then each loop's seconds since progress."""
        if not self.found:
            return f"{self.name}: no heartbeat (not running, or stalled since long)"
        loops = ", ".join(
            f"{loop} {age:.1f}s{' STALLED' if loop in self.stalled else ''}" for loop, age in self.ages
        )
        state = "healthy" if self.healthy else "unhealthy"
        return f"{self.name} ({self.role or '?'}): {state}: {loops}"


async def check(repo: ProcessHeartbeats, name: str, stall_seconds: float) -> Verdict:
    """The health of the process called ``name``."""
    beat = await repo.read(name)
    if beat is None:
        return Verdict(name, False)
    ages = sorted(loop_ages(beat, time.time()).items())
    stalled = tuple(loop for loop, age in ages if age > stall_seconds)
    return Verdict(name, True, beat.get("role", ""), tuple(ages), stalled)


async def check_all(repo: ProcessHeartbeats, stall_seconds: float) -> list[Verdict]:
    """Every process that wrote a heartbeat in the last day (those gone show as not found)."""
    return [await check(repo, name, stall_seconds) for name in await repo.names()]


async def local_names(repo: ProcessHeartbeats) -> list[str]:
    """Processes of this host (named ``<hostname>:<pid>``) whose heartbeat is still there."""
    prefix = socket.gethostname() + ":"
    found = []
    for name in await repo.names():
        if name.startswith(prefix) and await repo.read(name) is not None:
            found.append(name)
    return found
