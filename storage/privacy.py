"""Citizens' data rights and abuse limits in Redis: erasure, anonymisation, copies, counters, locks.

Erasure covers every key of the personal data registry (``storage.keys.PERSONAL_DATA_KEYS`` and
``PERSONAL_DATA_MEMBERS``), so keys added by other features are erased once they are registered.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from storage.connection import load_script
from storage.keys import Keys
from storage.models import Petition


class PrivacyRepository:
    """Atomic erasure and anonymisation, generic dumps of registered keys, flood counters, the sweep lock."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._anonymise = redis.register_script(load_script("anonymise.lua"))

    async def member_keys(self) -> list[str]:
        """Existing shared collections that may list a citizen (patterns expanded with SCAN)."""
        found: list[str] = []
        for pattern in self._keys.personal_data_member_patterns():
            if "*" in pattern:
                found += [str(key) async for key in self._redis.scan_iter(match=pattern, count=500)]
            else:
                found.append(pattern)
        return sorted(set(found))

    async def erase(self, citizen_id: str, changes: Sequence[tuple[Petition, Petition]]) -> bool:
        """Delete every registered key of the citizen, remove them from shared collections and store the
        anonymised petitions (``(before, after)`` pairs), atomically. False when something changed since
        it was read (nothing is written then)."""
        external = citizen_id.split(":", 1)[1] if ":" in citizen_id else citizen_id
        index = self._keys.petitions_by_citizen(citizen_id)
        return await self._run(
            index,
            len(changes),
            changes,
            [index] * len(changes),
            self._keys.personal_data_keys(citizen_id),
            await self.member_keys(),
            [citizen_id, external],
        )

    async def anonymise(self, changes: Sequence[tuple[Petition, Petition]]) -> bool:
        """Store anonymised petitions, removing each from its former citizen's index, atomically."""
        indexes = [self._keys.petitions_by_citizen(before.citizen_id) for before, _after in changes]
        return await self._run(self._keys.petitions_by_time(), -1, changes, indexes, [], [], [])

    async def _run(
        self,
        check_key: str,
        expected: int,
        changes: Sequence[tuple[Petition, Petition]],
        indexes: list[str],
        delete: list[str],
        members_in: list[str],
        members: list[str],
    ) -> bool:
        keys = [
            check_key,
            *[self._keys.petition(before.id) for before, _after in changes],
            *indexes,
            *delete,
            *members_in,
        ]
        args: list[str | int] = [len(changes), len(delete), len(members_in), expected, len(members), *members]
        for before, after in changes:
            args += [before.id, str(before.version), after.model_dump_json()]
        return int(await self._anonymise(keys=keys, args=args)) == 1

    async def dump(self, key: str) -> Any:
        """The content of any key as plain JSON-able data (None when it does not exist)."""
        kind = await self._redis.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        if kind == "string":
            raw = await self._redis.get(key)
            try:
                return json.loads(raw) if raw is not None else None
            except ValueError:
                return raw
        if kind == "list":
            return list(await self._redis.lrange(key, 0, -1))
        if kind == "set":
            return sorted(await self._redis.smembers(key))
        if kind == "zset":
            return list(await self._redis.zrange(key, 0, -1))
        if kind == "hash":
            return dict(await self._redis.hgetall(key))
        return None

    async def memberships(self, citizen_id: str) -> dict[str, bool]:
        """Which shared collections list the citizen (as ``tg:<id>`` or the bare id)."""
        external = citizen_id.split(":", 1)[1] if ":" in citizen_id else citizen_id
        result: dict[str, bool] = {}
        for key in await self.member_keys():  # a membership test per key: never a whole list or set read
            kind = await self._redis.type(key)
            kind = kind.decode() if isinstance(kind, bytes) else str(kind)
            for member in (citizen_id, external):
                if kind == "set":
                    present = bool(await self._redis.sismember(key, member))
                elif kind == "zset":
                    present = await self._redis.zscore(key, member) is not None
                elif kind == "hash":
                    present = bool(await self._redis.hexists(key, member))
                elif kind == "list":
                    present = await self._redis.lpos(key, member) is not None
                else:
                    present = False
                if present:
                    result[key] = True
        return result

    async def petitions_between(self, citizen_id: str, start: float, end: float) -> int:
        """How many petitions the citizen created in ``[start, end)`` (epoch seconds)."""
        return int(await self._redis.zcount(self._keys.petitions_by_citizen(citizen_id), start, f"({end}"))

    async def hit(self, citizen_id: str, window_seconds: int) -> int:
        """Count one update in the citizen's flood window; returns the count so far (O(1))."""
        key = self._keys.flood(citizen_id)
        # SET NX EX starts the window (with its expiry) only when there is none; INCR keeps the TTL.
        # Not EXPIRE ... NX: that is Redis 7, and the bot runs on 6.2.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, nx=True, ex=window_seconds)
            pipe.incr(key)
            _, count = await pipe.execute()
        return int(count)

    async def lock_sweep(self, lease_seconds: int) -> str | None:
        """Take the retention sweep lock (Redis time lease); a token, or None when another process has it."""
        token = secrets.token_hex(8)
        taken = await self._redis.set(self._keys.retention_sweep(), token, nx=True, ex=lease_seconds)
        return token if taken else None

    async def unlock_sweep(self, token: str) -> None:
        """Release the sweep lock if it is still ours."""
        script = (
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
        )
        await self._redis.eval(script, 1, self._keys.retention_sweep(), token)

    async def closed_tickets_created_before(self, before: float) -> list[str]:
        """Closed tickets created before ``before`` (epoch s): the only ones retention can concern."""
        tickets = await self._redis.zrangebyscore(self._keys.petitions_by_status("closed"), "-inf", before)
        return [str(t) for t in tickets]
