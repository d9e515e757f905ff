"""PetitionRepository against a real redis-server: tickets, indexes, idempotency, exact text."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import redis.asyncio as aioredis

from storage.keys import Keys
from storage.models import Attachment, AttachmentKind, HistoryEntry, Petition, PetitionStatus, Session, Step
from storage.petitions import PetitionRepository
from storage.sessions import SessionRepository

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
HOSTILE = "<b>bold?</b> & «quotes» 🙂 Đường ngập nước\u200b ở xã Cẩm Trung </i> &amp; \u202e"


def make_petition(
    draft_id: str, citizen: str = "tg:1", description: str = "Đường làng bị ngập sâu"
) -> Petition:
    return Petition(
        id="",
        citizen_id=citizen,
        channel="tg",
        draft_id=draft_id,
        locality_code="18742",
        category="land",
        type="report",
        description=description,
        attachments=[Attachment(kind=AttachmentKind.LOCATION, latitude=18.3, longitude=105.9)],
        is_anonymous=True,
        language="vi",
        created_at=NOW,
        updated_at=NOW,
        history=[HistoryEntry(at=NOW, actor="citizen", action="submitted", status=PetitionStatus.SUBMITTED)],
    )


def idle(citizen: str = "tg:1") -> Session:
    return Session(citizen_id=citizen, step=Step.IDLE, updated_at=NOW)


async def test_create_assigns_sequential_tickets_and_indexes(redis: aioredis.Redis, keys: Keys) -> None:
    repo = PetitionRepository(redis, keys)
    first, created1 = await repo.create(make_petition("d1"), ticket_prefix="HT", year=2026, session=idle())
    second, created2 = await repo.create(make_petition("d2"), ticket_prefix="HT", year=2026, session=idle())
    assert (first, created1) == ("HT-2026-000001", True)
    assert (second, created2) == ("HT-2026-000002", True)
    stored = await repo.get(first)
    assert stored is not None and stored.id == first and stored.attachments[0].latitude == 18.3
    for index in (
        keys.petitions_by_citizen("tg:1"),
        keys.petitions_by_locality("18742"),
        keys.petitions_by_category("land"),
        keys.petitions_by_status("submitted"),
        keys.petitions_by_time(),
    ):
        assert await redis.zrange(index, 0, -1) == [first, second], index
    assert await redis.zscore(keys.petitions_by_time(), first) == NOW.timestamp()


async def test_same_draft_twice_creates_one_petition(redis: aioredis.Redis, keys: Keys) -> None:
    repo = PetitionRepository(redis, keys)
    results = await asyncio.gather(
        *(repo.create(make_petition("same"), ticket_prefix="HT", year=2026, session=idle()) for _ in range(5))
    )
    assert {ticket for ticket, _ in results} == {"HT-2026-000001"}
    assert sum(created for _, created in results) == 1
    assert await redis.get(keys.petition_counter(2026)) == "1"
    assert await repo.ticket_for_draft("same") == "HT-2026-000001"
    assert await repo.count_by_citizen("tg:1") == 1


async def test_create_stores_the_session_in_the_same_script(redis: aioredis.Redis, keys: Keys) -> None:
    repo = PetitionRepository(redis, keys)
    sessions = SessionRepository(redis, keys)
    await sessions.save(Session(citizen_id="tg:1", step=Step.CONFIRM, updated_at=NOW))
    await repo.create(make_petition("d1"), ticket_prefix="HT", year=2026, session=idle())
    session = await sessions.get("tg:1")
    assert session is not None and session.step == Step.IDLE and session.draft is None
    assert 0 < await redis.ttl(keys.session("tg:1")) <= 7 * 24 * 3600


async def test_hostile_text_round_trips_exactly(redis: aioredis.Redis, keys: Keys) -> None:
    repo = PetitionRepository(redis, keys)
    ticket, _ = await repo.create(
        make_petition("h", description=HOSTILE), ticket_prefix="HT", year=2026, session=idle()
    )
    stored = await repo.get(ticket)
    assert stored is not None and stored.description == HOSTILE


async def test_tickets_restart_each_year_and_keep_the_prefix(redis: aioredis.Redis, keys: Keys) -> None:
    repo = PetitionRepository(redis, keys)
    await repo.create(make_petition("a"), ticket_prefix="HT", year=2026, session=idle())
    ticket, _ = await repo.create(make_petition("b"), ticket_prefix="QN", year=2027, session=idle())
    assert ticket == "QN-2027-000001"


async def test_list_by_citizen_is_newest_first_and_private(redis: aioredis.Redis, keys: Keys) -> None:
    repo = PetitionRepository(redis, keys)
    for n in range(7):
        await repo.create(make_petition(f"d{n}"), ticket_prefix="HT", year=2026, session=idle())
    await repo.create(
        make_petition("other", citizen="tg:2"), ticket_prefix="HT", year=2026, session=idle("tg:2")
    )
    page = await repo.list_by_citizen("tg:1", offset=0, count=5)
    assert [p.id for p in page] == [f"HT-2026-{n:06d}" for n in range(7, 2, -1)]
    assert all(p.citizen_id == "tg:1" for p in page)
    assert await repo.count_by_citizen("tg:2") == 1
