"""The broadcast engine's storage against a real Redis: snapshot, claims under a lease, outcomes once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from bot.domain.broadcast import Audience, BroadcastService, BroadcastState
from bot.domain.clock import ManualClock
from bot.domain.directory import Directory
from storage.audit import AuditLog
from storage.broadcasts import BroadcastRepository
from storage.keys import Keys
from storage.privacy import PrivacyRepository
from storage.subscriptions import PROVINCE, SubscriptionRepository

TEXTS = {"vi": "<b>Thông báo</b>", "en": "<b>Notice</b>"}


@pytest.fixture
def directory() -> Directory:
    return Directory.default()


@pytest.fixture
def service(redis: aioredis.Redis, keys: Keys, directory: Directory) -> BroadcastService:
    return BroadcastService(
        BroadcastRepository(redis, keys),
        SubscriptionRepository(redis, keys),
        directory,
        ManualClock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC)),
        AuditLog(redis, keys),
    )


@pytest.fixture
def subs(redis: aioredis.Redis, keys: Keys) -> SubscriptionRepository:
    return SubscriptionRepository(redis, keys)


def codes(directory: Directory) -> tuple[str, str]:
    first, second = directory.localities[0].code, directory.localities[1].code
    return first, second


async def test_count_before_confirm_matches_the_snapshot_and_stores_nothing(
    service: BroadcastService,
    subs: SubscriptionRepository,
    directory: Directory,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    a, b = codes(directory)
    await subs.add_many(a, [1, 2, 3])
    await subs.add_many(b, [4])
    await subs.add_many(PROVINCE, [3, 5])
    await redis.sadd(keys.unreachable(), "2")
    audience = Audience(localities=[a])  # with the province-wide subscribers: 1, 3, 5 (2 blocked the bot)
    assert await service.count(audience) == 3
    assert await redis.zcard(keys.broadcasts()) == 0 and await redis.scard(keys.broadcasts_active()) == 0
    assert await service.count(Audience(localities=[b], province_wide=False)) == 1
    assert await service.count(Audience(everyone=True)) == 4
    bid = await service.start(actor_ref="admin:9", audience=audience, texts=TEXTS)
    assert (await service.get(bid)).total == 3


async def test_snapshot_unites_the_audience_minus_the_unreachable(
    service: BroadcastService,
    subs: SubscriptionRepository,
    directory: Directory,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    a, b = codes(directory)
    await subs.add_many(a, [1, 2, 3])
    await subs.add_many(b, [4])
    await subs.add_many(PROVINCE, [3, 5])
    await redis.sadd(keys.unreachable(), "2")
    bid = await service.start(actor_ref="admin:9", audience=Audience(localities=[a]), texts=TEXTS)
    assert await service.repo.recipients(bid) == [1, 3, 5]  # 4 is another locality's, 2 blocked the bot
    await subs.add_many(a, [6])  # a later subscriber is not in a running broadcast
    assert await service.repo.recipients(bid) == [1, 3, 5]
    everyone = await service.start(actor_ref="admin:9", audience=Audience(everyone=True), texts=TEXTS)
    assert await service.repo.recipients(everyone) == [1, 3, 4, 5, 6]
    only_province = await service.start(actor_ref="admin:9", audience=Audience(), texts=TEXTS)
    assert await service.repo.recipients(only_province) == [3, 5]
    explicit = await service.start_to(
        actor_ref="admin:9", recipients=[9, 2, 9, 7], texts=TEXTS, kind="dialogue"
    )
    assert await service.repo.recipients(explicit) == [7, 9]
    stored = await service.get(explicit)
    assert stored.total == 2 and stored.kind == "dialogue" and stored.state == BroadcastState.RUNNING
    with pytest.raises(ValueError):
        await service.start(actor_ref="admin:9", audience=Audience(localities=["nowhere"]), texts=TEXTS)
    actions = [e.action for e in await AuditLog(redis, keys).entries()]
    assert actions == ["broadcast.start"] * 4


async def test_two_senders_never_get_the_same_recipient_and_outcomes_count_once(
    service: BroadcastService,
) -> None:
    repo = service.repo
    bid = await service.start_to(actor_ref="admin:9", recipients=list(range(1, 101)), texts=TEXTS, kind="t")
    first, second = await asyncio.gather(repo.claim(bid, 30, 60, 10_000), repo.claim(bid, 30, 60, 10_000))
    assert not set(first.recipients) & set(second.recipients)
    assert len(first.recipients) == len(second.recipients) == 30
    assert await repo.ack(bid, first.recipients[0], "sent") == 1
    assert await repo.ack(bid, first.recipients[0], "sent") == 0  # recorded once
    assert await repo.ack(bid, first.recipients[1], "blocked") == 1
    assert await repo.unreachable([first.recipients[1], first.recipients[2]]) == [True, False]
    seen = set(first.recipients) | set(second.recipients)
    finished = []
    for recipient in sorted(seen - {first.recipients[0], first.recipients[1]}):
        finished.append(await repo.ack(bid, recipient, "failed" if recipient % 10 == 0 else "sent"))
    while (claim := await repo.claim(bid, 30, 60, 10_000)).recipients:
        assert not seen & set(claim.recipients)
        seen |= set(claim.recipients)
        for recipient in claim.recipients:
            finished.append(await repo.ack(bid, recipient, "sent"))
    assert seen == set(range(1, 101))
    assert finished.count(2) == 1 and finished[-1] == 2  # the last outcome finished it, once
    done = await service.get(bid)
    assert done.state == BroadcastState.DONE and (done.sent, done.failed, done.blocked) == (93, 6, 1)
    assert done.remaining == 0 and await repo.active() == []


async def test_a_dead_senders_claims_come_back_after_the_lease(service: BroadcastService) -> None:
    repo = service.repo
    bid = await service.start_to(actor_ref="admin:9", recipients=[1, 2, 3, 4], texts=TEXTS, kind="t")
    lost = await repo.claim(bid, 3, 0.3, 10_000)  # this sender "dies" without recording anything
    assert lost.recipients == [1, 2, 3]
    await repo.ack(bid, 2, "sent")  # …except one
    assert (await repo.claim(bid, 3, 0.3, 10_000)).recipients == [4]  # leases still held
    await asyncio.sleep(0.4)
    again = await repo.claim(bid, 3, 60, 10_000)
    assert sorted(again.recipients) == [1, 3, 4]  # every expired claim, never the recorded one
    for recipient in [1, 3, 4]:
        await repo.ack(bid, recipient, "sent")
    assert (await service.get(bid)).state == BroadcastState.DONE


async def test_a_429_hands_the_recipient_back_and_delays_every_sender(service: BroadcastService) -> None:
    repo = service.repo
    bid = await service.start_to(actor_ref="admin:9", recipients=[1, 2], texts=TEXTS, kind="t")
    claim = await repo.claim(bid, 1, 60, 10_000)
    assert await repo.ack(bid, claim.recipients[0], "retry", retry_after=2) == 0
    retried = await repo.claim(bid, 2, 60, 10_000)
    assert retried.recipients == [1, 2] and retried.delay > 1.5  # handed back first, after retry_after


async def test_pause_resume_cancel(service: BroadcastService, redis: aioredis.Redis, keys: Keys) -> None:
    repo = service.repo
    bid = await service.start_to(actor_ref="admin:9", recipients=[1, 2, 3], texts=TEXTS, kind="t")
    assert await service.pause(bid, "admin:9")
    assert not await service.pause(bid, "admin:9")
    assert (await repo.claim(bid, 5, 60, 10_000)).recipients == []
    assert await service.resume(bid, "admin:9")
    assert (await repo.claim(bid, 1, 60, 10_000)).recipients == [1]
    assert await service.cancel(bid, "admin:9")
    assert not await service.resume(bid, "admin:9")
    assert (await repo.claim(bid, 5, 60, 10_000)).recipients == []
    assert (await service.get(bid)).state == BroadcastState.CANCELLED and await repo.active() == []
    actions = [e.action for e in await AuditLog(redis, keys).entries(actor="admin:9")]
    assert actions == ["broadcast.start", "broadcast.pause", "broadcast.resume", "broadcast.cancel"]


async def test_delete_my_data_erases_the_id_from_broadcasts_without_moving_the_cursor(
    service: BroadcastService, redis: aioredis.Redis, keys: Keys
) -> None:
    repo, privacy = service.repo, PrivacyRepository(redis, keys)
    bid = await service.start_to(actor_ref="admin:9", recipients=[11, 12, 13, 14, 15], texts=TEXTS, kind="t")
    claim = await repo.claim(bid, 2, 60, 10_000)
    assert claim.recipients == [11, 12]
    await repo.ack(bid, 11, "sent")
    # 11 got it, 12 is in a sender's hands, 14 is not reached yet: all three delete their data.
    for telegram_id in (11, 12, 14):
        assert await privacy.erase(f"tg:{telegram_id}", [])
    recipients = await redis.lrange(keys.broadcast_recipients(bid), 0, -1)
    assert recipients == ["0", "0", "13", "0", "15"]  # same length: the cursor still points at 13
    assert await redis.hgetall(keys.broadcast_status(bid)) == {}
    assert await redis.zrange(keys.broadcast_inflight(bid), 0, -1) == []
    assert await repo.recipients(bid) == [13, 15]

    assert await repo.ack(bid, 12, "sent") == 1  # its sender answers for it: counted, its id kept nowhere
    assert await redis.hgetall(keys.broadcast_status(bid)) == {}
    assert (await repo.claim(bid, 5, 60, 10_000)).recipients == [13, 15]  # the tombstone is skipped
    await repo.ack(bid, 13, "sent")
    assert await repo.ack(bid, 15, "blocked") == 2
    done = await service.get(bid)
    assert done.state == BroadcastState.DONE
    assert (done.sent, done.blocked, done.erased, done.remaining) == (2, 1, 2, 0)
    assert await redis.hgetall(keys.broadcast_status(bid)) == {"13": "sent", "15": "blocked"}


async def test_a_finished_broadcasts_recipients_expire_and_its_counts_stay(
    service: BroadcastService, redis: aioredis.Redis, keys: Keys
) -> None:
    repo, month = service.repo, 30 * 86400
    done = await service.start_to(actor_ref="admin:9", recipients=[1, 2], texts=TEXTS, kind="t")
    cancelled = await service.start_to(actor_ref="admin:9", recipients=[3, 4, 5], texts=TEXTS, kind="t")
    for recipient in (await repo.claim(done, 5, 60, 10_000)).recipients:
        await repo.ack(done, recipient, "sent")
    assert (await repo.claim(cancelled, 1, 60, 10_000)).recipients == [3]
    assert await redis.ttl(keys.broadcast_recipients(cancelled)) == -1  # running: kept
    assert await service.cancel(cancelled, "admin:9")
    await repo.ack(cancelled, 3, "sent")  # the send in flight when it was cancelled
    for bid in (done, cancelled):
        assert month - 60 < await redis.ttl(keys.broadcast_recipients(bid)) <= month
        assert month - 60 < await redis.ttl(keys.broadcast_status(bid)) <= month
        assert await redis.ttl(keys.broadcast(bid)) == -1
    assert (await service.get(cancelled)).sent == 1


async def test_the_lease_covers_the_wait_for_the_pace_slot(service: BroadcastService) -> None:
    repo = service.repo
    bid = await service.start_to(actor_ref="admin:9", recipients=list(range(1, 41)), texts=TEXTS, kind="t")
    first = await repo.claim(bid, 20, 0.5, 10)  # 20 at 10/s: the pace slot is 2 s away afterwards
    second = await repo.claim(bid, 20, 0.5, 10)
    assert first.delay == 0 and 1.5 < second.delay <= 2
    await asyncio.sleep(0.7)  # past a lease counted from the claim, not from the slot
    assert (await repo.claim(bid, 40, 0.5, 10)).recipients == []  # nobody else takes them meanwhile
