"""The retention worker: in every bot process, tries the retention sweep every ``interval`` seconds.

The sweep itself takes a lock in Redis (``PrivacyService.sweep_retention``), so two processes never
anonymise at the same time, and anonymising is a versioned write, so a petition is anonymised once.
"""

from __future__ import annotations

import asyncio
import contextlib

from redis.exceptions import RedisError

from bot.domain.privacy import PrivacyService
from bot.logs import get_logger

log = get_logger(__name__)


class RetentionWorker:
    """Runs ``sweep_retention`` periodically until stopped."""

    def __init__(self, privacy: PrivacyService, *, interval: float = 3600.0) -> None:
        self._privacy = privacy
        self._interval = interval
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish after the current sweep."""
        self._stopping.set()

    async def run(self) -> None:
        """Sweep, wait, repeat until ``stop()``."""
        while not self._stopping.is_set():
            try:
                done = await self._privacy.sweep_retention()
                if done:
                    log.info("retention.anonymised", count=len(done))
            except (RedisError, OSError) as exc:
                log.warning("retention.storage_unavailable", error=type(exc).__name__)
            except Exception:
                log.error("retention.failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)
