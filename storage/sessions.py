"""Conversation sessions: the step and draft, written through on every update."""

from __future__ import annotations

import redis.asyncio as aioredis

from storage.keys import SESSION_TTL, Keys
from storage.models import Session


class SessionRepository:
    """Reads and writes ``session:*`` keys; every write renews the 7-day expiry of a silent draft."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, citizen_id: str) -> Session | None:
        """The stored session, or None when there is none or it expired."""
        raw = await self._redis.get(self._keys.session(citizen_id))
        return Session.model_validate_json(raw) if raw else None

    async def save(self, session: Session) -> None:
        """Store the session with a fresh TTL."""
        await self._redis.set(
            self._keys.session(session.citizen_id),
            session.model_dump_json(),
            ex=int(SESSION_TTL.total_seconds()),
        )

    async def delete(self, citizen_id: str) -> None:
        """Forget the session."""
        await self._redis.delete(self._keys.session(citizen_id))
