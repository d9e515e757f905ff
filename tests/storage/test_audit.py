"""The audit stream: append-only, filtered by case, actor and time."""

from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from storage.audit import AuditLog
from storage.keys import Keys

T = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


async def test_append_and_filter(redis: aioredis.Redis, keys: Keys) -> None:
    log = AuditLog(redis, keys)
    await log.append("official:ts-cb", "accept", T, "HT-2026-000001")
    await log.append("admin:7", "invite", T, None, official="ts-cb")
    await log.append("official:ts-cb", "resolve", T, "HT-2026-000001", note_length="42")
    entries = await log.entries()
    assert [e.action for e in entries] == ["accept", "invite", "resolve"]
    assert [e.action for e in await log.entries(ticket="HT-2026-000001")] == ["accept", "resolve"]
    assert [e.action for e in await log.entries(actor="admin:7")] == ["invite"]
    assert entries[1].details == {"official": "ts-cb"} and entries[0].at == T
    assert await log.entries(since=datetime.now(UTC) + timedelta(days=1)) == []
