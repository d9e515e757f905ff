"""Co-signing against a real redis-server: atomic, idempotent, only open petitions, erasable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import redis.asyncio as aioredis

from bot.domain.clock import ManualClock
from bot.domain.cosign import for_co_signers
from bot.domain.privacy import PrivacyService
from storage.audit import AuditLog
from storage.citizens import CitizenRepository
from storage.cosign import ALREADY, JOINED, NOT_OPEN, OWN, CoSignRepository
from storage.keys import Keys
from storage.models import Citizen, PetitionStatus, Session, Step
from storage.outbox import OutboxEntry, OutboxRepository
from storage.petitions import PetitionRepository
from storage.privacy import PrivacyRepository
from tests.storage.test_petitions import idle, make_petition

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


async def stored(
    redis: aioredis.Redis, keys: Keys, status: PetitionStatus = PetitionStatus.SUBMITTED, draft: str = "d1"
) -> str:
    repo = PetitionRepository(redis, keys)
    petition = make_petition(draft, citizen="tg:1").model_copy(update={"status": status})
    ticket, _created = await repo.create(petition, ticket_prefix="HT", year=2026, session=idle())
    return ticket


async def test_a_double_tap_adds_one_co_signer(redis: aioredis.Redis, keys: Keys) -> None:
    ticket = await stored(redis, keys)
    repo = CoSignRepository(redis, keys)
    after = Session(citizen_id="tg:2", step=Step.IDLE, updated_at=NOW)
    outcomes = await asyncio.gather(*[repo.join(ticket, "tg:2", NOW, after) for _ in range(10)])
    assert sorted(o for o, _n in outcomes) == [ALREADY] * 9 + [JOINED]
    assert {n for _o, n in outcomes} == {1}
    assert await repo.members(ticket) == ["tg:2"]
    assert await repo.joined_by("tg:2") == [ticket]
    assert await redis.get(keys.session("tg:2")) == after.model_dump_json()
    assert await redis.ttl(keys.session("tg:2")) > 0


async def test_counts_per_petition(redis: aioredis.Redis, keys: Keys) -> None:
    ticket = await stored(redis, keys)
    repo = CoSignRepository(redis, keys)
    for n in range(2, 6):
        await repo.join(ticket, f"tg:{n}", NOW, None)
    assert await repo.counts([ticket, "HT-2026-999999"]) == {ticket: 4, "HT-2026-999999": 0}


async def test_only_open_petitions_of_someone_else(redis: aioredis.Redis, keys: Keys) -> None:
    repo = CoSignRepository(redis, keys)
    closed = await stored(redis, keys, PetitionStatus.RESOLVED)
    assert await repo.join(closed, "tg:2", NOW, None) == (NOT_OPEN, 0)
    assert await repo.join("HT-2026-999999", "tg:2", NOW, None) == (NOT_OPEN, 0)
    own = await stored(redis, keys, draft="d2")
    assert await repo.join(own, "tg:1", NOW, None) == (OWN, 0)
    assert await repo.members(closed) == [] and await repo.members(own) == []
    assert not await redis.exists(keys.session("tg:2"))  # refused: the draft stays as it was


async def test_delete_my_data_removes_the_co_signature(redis: aioredis.Redis, keys: Keys) -> None:
    ticket = await stored(redis, keys)
    repo = CoSignRepository(redis, keys)
    await repo.join(ticket, "tg:2", NOW, None)
    await repo.join(ticket, "tg:3", NOW, None)
    await repo.set_verdict(ticket, "tg:2", {"resolved": True})
    citizens = CitizenRepository(redis, keys)
    await citizens.save(Citizen(id="tg:2", channel="tg", external_id="2", created_at=NOW, updated_at=NOW))
    privacy = PrivacyService(
        citizens,
        PetitionRepository(redis, keys),
        PrivacyRepository(redis, keys),
        AuditLog(redis, keys),
        keys,
        ManualClock(NOW),
    )
    citizen = await citizens.get("tg:2")
    assert citizen is not None
    copy = await privacy.export(citizen)
    assert copy["other_records"]["citizen:tg:2:cosigned"] == [ticket]
    await privacy.erase(citizen)
    assert await repo.members(ticket) == ["tg:3"]
    assert await repo.joined_by("tg:2") == []
    assert await repo.verdict(ticket, "tg:2") is None
    async for key in redis.scan_iter(match=f"{keys.root}:*"):
        kind = await redis.type(key)
        if kind == "set":
            assert "tg:2" not in await redis.smembers(key), key
        elif kind == "hash":
            assert "tg:2" not in await redis.hgetall(key), key


async def test_retention_anonymises_the_co_signers_and_keeps_the_count(
    redis: aioredis.Redis, keys: Keys
) -> None:
    repo = CoSignRepository(redis, keys)
    ticket = await stored(redis, keys)
    for n in (2, 3):
        await repo.join(ticket, f"tg:{n}", NOW, None)
    await repo.set_verdict(ticket, "tg:2", {"resolved": True, "rating": 5})
    assert await repo.anonymise(ticket) == 2
    members = await repo.members(ticket)
    assert len(members) == 2 and all(m.startswith("erased:") for m in members)
    assert await repo.joined_by("tg:2") == [] and await repo.joined_by("tg:3") == []
    assert await repo.verdict(ticket, "tg:2") is None
    assert await repo.verdicts(ticket) == [{"resolved": True, "rating": 5}]
    assert await repo.anonymise(ticket) == 0  # again: nothing left to anonymise
    assert await repo.counts([ticket]) == {ticket: 2}


async def test_the_retention_sweep_anonymises_co_signers_too(redis: aioredis.Redis, keys: Keys) -> None:
    from datetime import timedelta

    repo = CoSignRepository(redis, keys)
    ticket = await stored(redis, keys, PetitionStatus.CLOSED)
    await redis.sadd(keys.cosigners(ticket), "tg:5")  # joined while it was open
    await redis.zadd(keys.cosigned_by_citizen("tg:5"), {ticket: NOW.timestamp()})
    privacy = PrivacyService(
        CitizenRepository(redis, keys),
        PetitionRepository(redis, keys),
        PrivacyRepository(redis, keys),
        AuditLog(redis, keys),
        keys,
        ManualClock(NOW + timedelta(days=1826)),
    )
    privacy.cosign = repo
    assert await privacy.sweep_retention() == [ticket]
    members = await repo.members(ticket)
    assert len(members) == 1 and members[0].startswith("erased:") and await repo.joined_by("tg:5") == []


async def test_a_status_change_records_one_entry_per_co_signer_in_the_same_write(
    redis: aioredis.Redis, keys: Keys
) -> None:
    """What the petitioner is owed that co-signers get too is recorded by the petition's update script
    itself, once per co-signer present at that moment (anonymised ones skipped); nothing when the write
    loses to a concurrent change."""
    ticket = await stored(redis, keys)
    repo = CoSignRepository(redis, keys)
    for n in (2, 3):
        await repo.join(ticket, f"tg:{n}", NOW, None)
    await redis.sadd(keys.cosigners(ticket), "erased:0123456789abcdef")
    petitions = PetitionRepository(redis, keys)
    outbox = OutboxRepository(redis, keys)
    before = await petitions.get(ticket)
    assert before is not None
    after = before.model_copy(update={"status": PetitionStatus.RESOLVED, "version": before.version + 1})
    owed = [
        OutboxEntry(kind="news", lane="tg:1", ticket=ticket, data={"action": "res", "note": "Xong"}),
        OutboxEntry(kind="verdict", lane="tg:1", ticket=ticket),
        OutboxEntry(kind="case", lane="official:x", ticket=ticket, official_id="x"),
    ]
    shared = for_co_signers(owed, after)
    assert [e.kind for e in shared] == ["news", "verdict"]
    # Someone else wrote first: the stale write records nothing, for nobody.
    assert await petitions.update(before, before.model_copy(update={"version": before.version + 1}))
    assert not await petitions.update(before, after, (), owed, shared)
    assert await outbox.pending() == []
    before = await petitions.get(ticket)
    assert before is not None
    after = before.model_copy(update={"status": PetitionStatus.RESOLVED, "version": before.version + 1})
    assert await petitions.update(before, after, (), owed, shared)
    pending = await outbox.pending()
    by_lane: dict[str, list[str]] = {}
    for entry in pending:
        by_lane.setdefault(entry.lane, []).append(entry.kind)
    assert by_lane == {
        "tg:1": ["news", "verdict"],
        "tg:2": ["news", "verdict"],
        "tg:3": ["news", "verdict"],
        "official:x": ["case"],
    }
    co_news = next(e for e in pending if e.lane == "tg:2" and e.kind == "news")
    assert co_news.data == {"action": "res", "note": "Xong", "co_signer": "1"}
    # A question for the petitioner alone is not shared.
    ask = OutboxEntry(kind="news", lane="tg:1", ticket=ticket, data={"action": "ask"})
    assert for_co_signers([ask], after) == []
