"""Citizens' profiles and their consent log."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from storage.keys import Keys
from storage.models import Citizen, ConsentPurpose, ConsentRecord
from storage.subscriptions import PROVINCE


class CitizenRepository:
    """Reads and writes ``citizen:*`` keys."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, citizen_id: str) -> Citizen | None:
        """The stored citizen, or None."""
        raw = await self._redis.get(self._keys.citizen(citizen_id))
        return Citizen.model_validate_json(raw) if raw else None

    async def save(self, citizen: Citizen) -> None:
        """Store the citizen's profile."""
        await self._redis.set(self._keys.citizen(citizen.id), citizen.model_dump_json())

    async def save_with_consent(self, citizen: Citizen, record: ConsentRecord) -> list[str]:
        """Store the profile and append the consent decision, in one transaction; a decision without the
        announcements consent ends every subscription in the same transaction. Returns those ended."""
        subscriptions = self._keys.citizen_subscriptions(citizen.id)
        ends_subscriptions = not record.allows(ConsentPurpose.ANNOUNCEMENTS)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    ended: list[str] = []
                    if ends_subscriptions:  # WATCH: a subscription added meanwhile is ended too
                        await pipe.watch(subscriptions)
                        ended = sorted(str(m) for m in await pipe.smembers(subscriptions))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(self._keys.citizen(citizen.id), citizen.model_dump_json())
                    pipe.rpush(self._keys.citizen_consents(citizen.id), record.model_dump_json())
                    if ended:
                        for target in ended:
                            pipe.srem(self._subscribers(target), citizen.external_id)
                        pipe.delete(subscriptions)
                    await pipe.execute()
                    return ended
                except WatchError:
                    continue

    def _subscribers(self, target: str) -> str:
        return (
            self._keys.subscribers_province()
            if target == PROVINCE
            else self._keys.subscribers_locality(target)
        )

    async def consents(self, citizen_id: str) -> list[ConsentRecord]:
        """Every consent decision, oldest first."""
        raw = await self._redis.lrange(self._keys.citizen_consents(citizen_id), 0, -1)
        return [ConsentRecord.model_validate_json(item) for item in raw]
