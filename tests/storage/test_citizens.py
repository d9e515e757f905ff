"""Citizens in Redis: a consent decision without announcements ends every subscription, atomically."""

from __future__ import annotations

from datetime import UTC, datetime

import redis.asyncio as aioredis

from storage.citizens import CitizenRepository
from storage.keys import Keys
from storage.models import Citizen, ConsentPurpose, ConsentRecord
from storage.subscriptions import PROVINCE, SubscriptionRepository

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def decision(announcements: bool) -> ConsentRecord:
    choices = {ConsentPurpose.PETITIONS: True, ConsentPurpose.ANNOUNCEMENTS: announcements}
    return ConsentRecord(at=NOW, text_version="1", choices=choices, language="vi")


async def test_a_decision_without_announcements_ends_every_subscription(
    redis: aioredis.Redis, keys: Keys
) -> None:
    citizens, subs = CitizenRepository(redis, keys), SubscriptionRepository(redis, keys)
    lan = Citizen(id="tg:5", channel="tg", external_id="5", created_at=NOW, updated_at=NOW)
    other = Citizen(id="tg:6", channel="tg", external_id="6", created_at=NOW, updated_at=NOW)
    for citizen in (lan, other):
        citizen.consent = decision(True)
        await citizens.save_with_consent(citizen, citizen.consent)
        await subs.add(int(citizen.external_id), [PROVINCE, "18073"])

    assert await citizens.save_with_consent(lan, decision(True)) == []  # still consenting: kept
    assert await subs.of(5) == [PROVINCE, "18073"]

    lan.consent = decision(False)
    assert await citizens.save_with_consent(lan, lan.consent) == ["18073", PROVINCE]
    assert await subs.of(5) == [] and not await redis.exists(keys.citizen_subscriptions("tg:5"))
    assert await redis.smembers(keys.subscribers_province()) == {"6"}
    assert await redis.smembers(keys.subscribers_locality("18073")) == {"6"}
    assert len(await citizens.consents("tg:5")) == 3
    stored = await citizens.get("tg:5")
    assert stored is not None and stored.consent is not None
    assert not stored.consent.allows(ConsentPurpose.ANNOUNCEMENTS)
    assert await subs.of(6) == [PROVINCE, "18073"]
