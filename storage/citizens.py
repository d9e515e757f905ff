"""Citizens' profiles and their consent log."""

from __future__ import annotations

import redis.asyncio as aioredis

from storage.keys import Keys
from storage.models import Citizen, ConsentRecord


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

    async def save_with_consent(self, citizen: Citizen, record: ConsentRecord) -> None:
        """Store the profile and append the consent decision, in one transaction."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.citizen(citizen.id), citizen.model_dump_json())
            pipe.rpush(self._keys.citizen_consents(citizen.id), record.model_dump_json())
            await pipe.execute()

    async def consents(self, citizen_id: str) -> list[ConsentRecord]:
        """Every consent decision, oldest first."""
        raw = await self._redis.lrange(self._keys.citizen_consents(citizen_id), 0, -1)
        return [ConsentRecord.model_validate_json(item) for item in raw]
