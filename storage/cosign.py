"""Co-signers of petitions ("me too"): who joined which open petition, and their verdicts.

A co-signer is a citizen id in ``cosigners:<ticket>`` (and the ticket in their own
``citizen:<cid>:cosigned``): both are personal data, registered in ``storage.keys`` so that "delete my
data" removes the co-signature. Officials only ever see how many there are.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from storage.connection import load_script
from storage.keys import SESSION_TTL, Keys
from storage.models import Session

JOINED = 1
ALREADY = 0
NOT_OPEN = -1
OWN = -2


class CoSignRepository:
    """Reads and writes ``cosigners:*``, ``citizen:*:cosigned`` and ``cosigner-verdicts:*``."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._join = redis.register_script(load_script("cosign.lua"))

    async def join(
        self, ticket: str, citizen_id: str, at: datetime, session: Session | None
    ) -> tuple[int, int]:
        """Add the citizen to the petition's co-signers (once) and store their ``session``, atomically.
        Returns (JOINED, ALREADY, NOT_OPEN or OWN; the number of co-signers)."""
        outcome, count = await self._join(
            keys=[
                self._keys.petition(ticket),
                self._keys.cosigners(ticket),
                self._keys.cosigned_by_citizen(citizen_id),
                self._keys.session(citizen_id),
            ],
            args=[
                citizen_id,
                at.timestamp(),
                session.model_dump_json() if session is not None else "",
                int(SESSION_TTL.total_seconds()),
            ],
        )
        return int(outcome), int(count)

    async def members(self, ticket: str) -> list[str]:
        """The co-signers' citizen ids, sorted."""
        return sorted(str(m) for m in await self._redis.smembers(self._keys.cosigners(ticket)))

    async def is_member(self, ticket: str, citizen_id: str) -> bool:
        """Whether the citizen joined the petition."""
        return bool(await self._redis.sismember(self._keys.cosigners(ticket), citizen_id))

    async def counts(self, tickets: Sequence[str]) -> dict[str, int]:
        """How many co-signers each petition has (0 for none)."""
        if not tickets:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for ticket in tickets:
                pipe.scard(self._keys.cosigners(ticket))
            values = await pipe.execute()
        return {ticket: int(n) for ticket, n in zip(tickets, values, strict=True)}

    async def joined_by(self, citizen_id: str) -> list[str]:
        """The tickets the citizen joined, most recent first."""
        return [
            str(t) for t in await self._redis.zrevrange(self._keys.cosigned_by_citizen(citizen_id), 0, -1)
        ]

    async def set_verdict(self, ticket: str, citizen_id: str, verdict: dict[str, Any]) -> None:
        """Store a co-signer's verdict on a resolved petition (their own, apart from the petitioner's)."""
        await self._redis.hset(self._keys.cosigner_verdicts(ticket), citizen_id, json.dumps(verdict))

    async def verdict(self, ticket: str, citizen_id: str) -> dict[str, Any] | None:
        """A co-signer's verdict, if they gave one."""
        raw = await self._redis.hget(self._keys.cosigner_verdicts(ticket), citizen_id)
        return json.loads(raw) if raw else None

    async def verdicts(self, ticket: str) -> list[dict[str, Any]]:
        """Every co-signer's verdict on a petition (without who gave it)."""
        return [
            json.loads(v) for v in (await self._redis.hgetall(self._keys.cosigner_verdicts(ticket))).values()
        ]

    async def anonymise(self, ticket: str, prefix: str = "erased:") -> int:
        """Replace the petition's co-signers by opaque ids (the count stays for statistics), take it out
        of each co-signer's list and keep their verdicts under the opaque ids, atomically (retention).
        Returns how many co-signers were anonymised."""
        members_key, verdicts_key = self._keys.cosigners(ticket), self._keys.cosigner_verdicts(ticket)
        for _attempt in range(5):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(members_key, verdicts_key)
                    members = [str(m) for m in await pipe.smembers(members_key)]
                    people = [m for m in members if not m.startswith(prefix)]
                    if not people:
                        return 0
                    verdicts = {str(k): str(v) for k, v in (await pipe.hgetall(verdicts_key)).items()}
                    pipe.multi()  # type: ignore[no-untyped-call]
                    for citizen_id in people:
                        opaque = prefix + secrets.token_hex(8)
                        pipe.srem(members_key, citizen_id)
                        pipe.sadd(members_key, opaque)
                        pipe.zrem(self._keys.cosigned_by_citizen(citizen_id), ticket)
                        if citizen_id in verdicts:
                            pipe.hdel(verdicts_key, citizen_id)
                            pipe.hset(verdicts_key, opaque, verdicts[citizen_id])
                    await pipe.execute()
                    return len(people)
                except WatchError:
                    continue
        raise RuntimeError(f"co-signers of {ticket} kept changing")
