"""The redelivery guard: which Telegram updates were handled, the offset to confirm, and the lease
that lets one process poll (the updates waiting to be handled are in ``storage.update_streams``)."""

from __future__ import annotations

import asyncio
import contextvars
import secrets
from typing import Any

import redis.asyncio as aioredis

from storage.keys import HANDLED_UPDATES_KEPT, HEARTBEAT_TTL, Keys
from storage.prefetch import Command, read_all
from storage.update_streams import GROUP

# An update waiting for the group commit: its id, its stream entry (key, id), and its waiter.
_Mark = tuple[int, tuple[str, str] | None, asyncio.Future[None]]

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class UpdateLog:
    """Reads and writes ``updates:*`` keys."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._marks: list[_Mark] = []
        self._flusher: asyncio.Task[None] | None = None

    def _is_handled_command(self, update_id: int) -> Command:
        return ("ZSCORE", self._keys.handled_updates(), str(update_id))  # as ``is_handled`` sends it

    async def prefetch(
        self, update_id: int, telegram_id: int | None, citizen_id: str | None
    ) -> dict[Command, Any]:
        """The reads an update starts with, in one round trip (``storage.prefetch``): whether it was
        handled; and of its sender, whether they are an official, their profile, their conversation and
        whether they were marked unreachable. The exact commands the repositories send."""
        commands: list[Command] = [self._is_handled_command(update_id)]
        if telegram_id is not None:
            commands.append(("GET", self._keys.official_by_telegram(telegram_id)))
            commands.append(("SISMEMBER", self._keys.unreachable(), str(telegram_id)))
        if citizen_id is not None:
            commands.append(("GET", self._keys.citizen(citizen_id)))
            commands.append(("GET", self._keys.session(citizen_id)))
        return await read_all(self._redis, commands)

    async def is_handled(self, update_id: int) -> bool:
        """Whether this update_id was already handled."""
        return await self._redis.zscore(self._keys.handled_updates(), str(update_id)) is not None

    async def mark_handled(self, update_id: int, entry: tuple[str, str] | None = None) -> None:
        """Record the update as handled, keeping only the newest ids; ``entry`` (stream key, entry id):
        acknowledge and delete the stream entry it came from, in the same transaction. Returns once that
        transaction ran.

        Group commit: the updates that finish while one such transaction is on its way are recorded
        together in the next one (one round trip for all of them, not one each); an idle bot writes at
        once. A failed transaction raises in every caller whose update it carried."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._marks.append((update_id, entry, done))
        if self._flusher is None or self._flusher.done():
            # (an empty context: the flusher serves many updates, and no update's prefetched snapshot)
            self._flusher = loop.create_task(self._flush_marks(), context=contextvars.Context())
        await done

    async def _flush_marks(self) -> None:
        while self._marks:
            batch, self._marks = self._marks, []
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.zadd(self._keys.handled_updates(), {str(u): u for u, _, _ in batch})
                    pipe.zremrangebyrank(self._keys.handled_updates(), 0, -HANDLED_UPDATES_KEPT - 1)
                    for _, entry, _ in batch:
                        if entry is not None:
                            pipe.xack(entry[0], GROUP, entry[1])
                            pipe.xdel(entry[0], entry[1])
                    await pipe.execute()
            except Exception as exc:
                _settle(batch, exc)
                continue
            except BaseException as exc:
                # Cancelled (the loop is closing): the updates queued meanwhile have no flusher left; they
                # fail too rather than wait for ever (they are not recorded: handled again).
                batch, self._marks = batch + self._marks, []
                _settle(batch, RuntimeError(repr(exc)))
                raise
            _settle(batch, None)

    async def offset(self) -> int:
        """The next offset to ask getUpdates for (0 at first start)."""
        raw = await self._redis.get(self._keys.update_offset())
        return int(raw) if raw else 0

    async def set_offset(self, offset: int) -> None:
        """Remember the offset; it only ever grows."""
        current = await self.offset()
        if offset > current:
            await self._redis.set(self._keys.update_offset(), offset)

    async def beat(self, now_iso: str) -> None:
        """Record that the polling loop is alive."""
        await self._redis.set(self._keys.poller_heartbeat(), now_iso, ex=int(HEARTBEAT_TTL.total_seconds()))

    async def last_beat(self) -> str | None:
        """When the polling loop last reported, if within the heartbeat TTL."""
        raw = await self._redis.get(self._keys.poller_heartbeat())
        return str(raw) if raw else None

    # -- the poller lease: only one process polls Telegram at a time ---------------------------

    @staticmethod
    def new_token() -> str:
        """A lease token unique to one process."""
        return secrets.token_hex(8)

    async def acquire_lease(self, token: str, seconds: float) -> bool:
        """Take the poller lease if nobody holds it (or keep it, if this token does)."""
        if await self._redis.set(self._keys.poller_lease(), token, nx=True, px=int(seconds * 1000)):
            return True
        return await self.renew_lease(token, seconds)

    async def renew_lease(self, token: str, seconds: float) -> bool:
        """Extend the lease if this token still holds it."""
        return bool(await self._renew(keys=[self._keys.poller_lease()], args=[token, int(seconds * 1000)]))

    async def release_lease(self, token: str) -> None:
        """Give the lease up (at a clean stop), so another process takes over at once."""
        await self._release(keys=[self._keys.poller_lease()], args=[token])


def _settle(marks: list[_Mark], error: Exception | None) -> None:
    """Wake the updates waiting for ``marks``: recorded (``error`` None), or not, with ``error``."""
    for _, _, done in marks:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
