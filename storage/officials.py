"""Officials, units and routing settings: the officials directory in Redis."""

from __future__ import annotations

import redis.asyncio as aioredis
from pydantic import Field

from storage.keys import Keys
from storage.models import Official, Stored, Unit


class DirectorySettings(Stored):
    """Routing settings: the fallback desk and the categories whose resolution needs evidence."""

    fallback_official_id: str
    evidence_required: list[str] = Field(default_factory=list)


class OfficialRepository:
    """Reads and writes ``official:*``, ``unit:*`` and ``directory:settings``."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, official_id: str) -> Official | None:
        """One official, or None."""
        raw = await self._redis.get(self._keys.official(official_id))
        return Official.model_validate_json(raw) if raw else None

    async def by_telegram(self, telegram_id: int) -> Official | None:
        """The official a Telegram user is, or None."""
        official_id = await self._redis.get(self._keys.official_by_telegram(telegram_id))
        return await self.get(str(official_id)) if official_id else None

    async def all(self) -> list[Official]:
        """Every official (active or not), sorted by id."""
        ids = sorted(str(i) for i in await self._redis.smembers(self._keys.officials()))
        if not ids:
            return []
        raws = await self._redis.mget([self._keys.official(i) for i in ids])
        return [Official.model_validate_json(raw) for raw in raws if raw]

    async def save(self, official: Official, *, previous_telegram_id: int | None = None) -> None:
        """Store one official with its Telegram mapping, atomically."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.official(official.id), official.model_dump_json())
            pipe.sadd(self._keys.officials(), official.id)
            if previous_telegram_id is not None and previous_telegram_id != official.telegram_id:
                pipe.delete(self._keys.official_by_telegram(previous_telegram_id))
            if official.telegram_id is not None:
                pipe.set(self._keys.official_by_telegram(official.telegram_id), official.id)
            await pipe.execute()

    async def units(self) -> list[Unit]:
        """Every unit, sorted by key."""
        keys = sorted(str(k) for k in await self._redis.smembers(self._keys.units()))
        if not keys:
            return []
        raws = await self._redis.mget([self._keys.unit(k) for k in keys])
        return [Unit.model_validate_json(raw) for raw in raws if raw]

    async def unit(self, key: str) -> Unit | None:
        """One unit, or None."""
        raw = await self._redis.get(self._keys.unit(key))
        return Unit.model_validate_json(raw) if raw else None

    async def settings(self) -> DirectorySettings | None:
        """The routing settings, or None before a directory was imported."""
        raw = await self._redis.get(self._keys.directory_settings())
        return DirectorySettings.model_validate_json(raw) if raw else None

    async def replace(
        self, units: list[Unit], officials: list[Official], settings: DirectorySettings
    ) -> None:
        """Install a whole directory in one transaction: all of it or nothing.

        Officials missing from the new directory are kept but deactivated (their cases must stay
        assigned to someone who exists); a Telegram id already linked by onboarding is kept when the
        file has none.
        """
        existing = {o.id: o for o in await self.all()}
        existing_units = {u.key for u in await self.units()}
        new_ids = {o.id for o in officials}
        async with self._redis.pipeline(transaction=True) as pipe:
            # A unit still referenced by an official kept (deactivated) is kept too.
            still_referenced = {o.unit for i, o in existing.items() if i not in new_ids}
            for key in existing_units - {u.key for u in units} - still_referenced:
                pipe.delete(self._keys.unit(key))
                pipe.srem(self._keys.units(), key)
            for unit in units:
                pipe.set(self._keys.unit(unit.key), unit.model_dump_json())
                pipe.sadd(self._keys.units(), unit.key)
            for official in officials:
                old = existing.get(official.id)
                if official.telegram_id is None and old is not None and old.telegram_id is not None:
                    official = official.model_copy(update={"telegram_id": old.telegram_id})
                if (
                    old is not None
                    and old.telegram_id is not None
                    and old.telegram_id != official.telegram_id
                ):
                    pipe.delete(self._keys.official_by_telegram(old.telegram_id))
                pipe.set(self._keys.official(official.id), official.model_dump_json())
                pipe.sadd(self._keys.officials(), official.id)
                if official.telegram_id is not None:
                    pipe.set(self._keys.official_by_telegram(official.telegram_id), official.id)
            for official_id, old in existing.items():
                if official_id not in new_ids and old.is_active:
                    pipe.set(
                        self._keys.official(official_id),
                        old.model_copy(update={"is_active": False}).model_dump_json(),
                    )
            pipe.set(self._keys.directory_settings(), settings.model_dump_json())
            await pipe.execute()

    async def open_load(self, official_ids: list[str]) -> dict[str, int]:
        """How many open petitions each official has."""
        if not official_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for official_id in official_ids:
                pipe.zcard(self._keys.open_petitions_by_assignee(official_id))
            counts = await pipe.execute()
        return {official_id: int(n) for official_id, n in zip(official_ids, counts, strict=True)}
