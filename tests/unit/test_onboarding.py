"""Invitations against a real Redis: single use (also under concurrency), expiry, refusals, coverage."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from bot.domain.clock import ManualClock
from bot.domain.directory import Directory
from bot.domain.onboarding import (
    NEW_OFFICIAL_TITLE,
    AlreadyLinked,
    FallbackDeskRequired,
    InviteAlreadyUsed,
    InviteNoLongerValid,
    InviteUnknown,
    OnboardingService,
    is_invite_code,
    new_code,
    toggled,
)
from bot.errors import StaleAction, UnknownChoice
from storage.invites import INVITE_TTL, Invite, InviteRepository
from storage.keys import Keys
from storage.models import Official, Role, Unit, UnitKind
from storage.officials import DirectorySettings, OfficialRepository

START = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
ADMIN = 777


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def officials(redis: aioredis.Redis, keys: Keys) -> OfficialRepository:
    repo = OfficialRepository(redis, keys)
    units = [
        Unit(key="ubnd-thanh-sen", name="UBND phường Thành Sen", kind=UnitKind.COMMUNE),
        Unit(key="ban-tcd", name="Ban Tiếp công dân tỉnh", kind=UnitKind.BOARD),
    ]
    people = [
        Official(
            id="ts-cb", name="Nguyễn Văn An", title="Công chức", unit="ubnd-thanh-sen", localities=["18073"]
        ),
        Official(
            id="ts-ct", name="Trần Thị Bình", title="Chủ tịch", unit="ubnd-thanh-sen", role=Role.SUPERVISOR
        ),
        Official(id="desk", name="Lý Văn Sơn", title="Chuyên viên", unit="ban-tcd", is_fallback=True),
        Official(id="gone", name="Cũ", title="Cũ", unit="ban-tcd", is_active=False),
    ]
    await repo.replace(units, people, DirectorySettings(fallback_official_id="desk"))
    return repo


@pytest.fixture
def service(
    redis: aioredis.Redis, keys: Keys, officials: OfficialRepository, clock: ManualClock
) -> OnboardingService:
    return OnboardingService(InviteRepository(redis, keys), officials, clock, Directory.default())


def test_codes_fit_a_telegram_start_parameter() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch(r"inv-[A-Za-z0-9_-]{1,60}", code) and len(code) <= 64
        assert is_invite_code(code)
    assert not is_invite_code("hello") and not is_invite_code("inv-" + "x" * 61)
    assert toggled(["a", "b"], "a") == ["b"] and toggled(["a"], "b") == ["a", "b"]


async def test_invite_is_stored_for_seven_days_with_who_and_when(
    service: OnboardingService, redis: aioredis.Redis, keys: Keys
) -> None:
    invite = await service.create_invite(ADMIN, "Admin Hà", official_id="ts-cb")
    raw = await redis.get(keys.invite(invite.code))
    assert raw is not None
    stored = Invite.model_validate_json(raw)
    assert stored.invited_by == ADMIN and stored.invited_by_name == "Admin Hà"
    assert stored.created_at == START and stored.expires_at == START + INVITE_TTL
    assert stored.official_id == "ts-cb" and not stored.is_used
    ttl = await redis.ttl(keys.invite(invite.code))
    assert INVITE_TTL.total_seconds() - 5 <= ttl <= INVITE_TTL.total_seconds()


async def test_redeem_links_the_official_once(
    service: OnboardingService, officials: OfficialRepository
) -> None:
    invite = await service.create_invite(ADMIN, "Admin", official_id="ts-cb")
    official = await service.redeem(invite.code, 5001, "An Nguyễn")
    assert official.id == "ts-cb" and official.telegram_id == 5001
    assert official.name == "Nguyễn Văn An"  # a directory official keeps the directory's name
    linked = await officials.by_telegram(5001)
    assert linked is not None and linked.id == "ts-cb" and linked.telegram_id == 5001
    used = await service.invite(invite.code)
    assert used is not None and used.used_by == 5001 and used.used_at == START
    with pytest.raises(InviteAlreadyUsed):
        await service.redeem(invite.code, 5002, "Someone Else")
    assert await officials.by_telegram(5002) is None
    with pytest.raises(AlreadyLinked):  # the winner reopening their own link is told who they are
        await service.redeem(invite.code, 5001, "An Nguyễn")


async def test_concurrent_redeems_have_exactly_one_winner(
    service: OnboardingService, officials: OfficialRepository
) -> None:
    for round_ in range(5):
        invite = await service.create_invite(ADMIN, "Admin", role=Role.OFFICIAL, unit="ban-tcd")
        people = [6000 + round_ * 10 + i for i in range(6)]
        results = await asyncio.gather(
            *(service.redeem(invite.code, person, f"Person {person}") for person in people),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, Official)]
        assert len(winners) == 1, results
        assert all(isinstance(r, InviteAlreadyUsed) for r in results if not isinstance(r, Official))
        linked = [p for p in people if await officials.by_telegram(p) is not None]
        assert linked == [winners[0].telegram_id]


async def test_two_links_for_one_official_opened_together_bind_one_person(
    service: OnboardingService, officials: OfficialRepository
) -> None:
    first = await service.create_invite(ADMIN, "Admin", official_id="ts-ct")
    second = await service.create_invite(ADMIN, "Admin", official_id="ts-ct")
    results = await asyncio.gather(
        service.redeem(first.code, 7001, "A"), service.redeem(second.code, 7002, "B"), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Official)]
    assert len(winners) == 1, results
    assert isinstance(next(r for r in results if not isinstance(r, Official)), InviteNoLongerValid)
    stored = await officials.get("ts-ct")
    assert stored is not None and stored.telegram_id == winners[0].telegram_id
    loser = 7002 if winners[0].telegram_id == 7001 else 7001
    assert await officials.by_telegram(loser) is None


async def test_expired_and_unknown_codes_are_refused(
    service: OnboardingService, redis: aioredis.Redis, keys: Keys, clock: ManualClock
) -> None:
    short = await service.create_invite(ADMIN, "Admin", official_id="ts-cb", ttl=timedelta(milliseconds=50))
    await asyncio.sleep(0.2)  # Redis expired the key
    with pytest.raises(InviteUnknown):
        await service.redeem(short.code, 5001, "An")
    deleted = await service.create_invite(ADMIN, "Admin", official_id="ts-cb")
    await redis.delete(keys.invite(deleted.code))
    with pytest.raises(InviteUnknown):
        await service.redeem(deleted.code, 5001, "An")
    late = await service.create_invite(ADMIN, "Admin", official_id="ts-cb")
    clock.advance(INVITE_TTL + timedelta(seconds=1))  # past expires_at even if the key lingered
    with pytest.raises(InviteUnknown):
        await service.redeem(late.code, 5001, "An")
    for code in ("inv-doesnotexist", "not-an-invite", ""):
        with pytest.raises(InviteUnknown):
            await service.redeem(code, 5001, "An")


async def test_a_user_linked_to_an_active_official_is_refused_and_the_link_stays_usable(
    service: OnboardingService, officials: OfficialRepository
) -> None:
    mine = await service.create_invite(ADMIN, "Admin", official_id="ts-cb")
    await service.redeem(mine.code, 5001, "An")
    other = await service.create_invite(ADMIN, "Admin", official_id="ts-ct")
    with pytest.raises(AlreadyLinked) as refused:
        await service.redeem(other.code, 5001, "An")
    assert refused.value.official.id == "ts-cb"
    still = await service.invite(other.code)
    assert still is not None and not still.is_used
    bound = await service.redeem(other.code, 5003, "Bình")
    assert bound.id == "ts-ct"
    by_telegram = await officials.by_telegram(5001)
    assert by_telegram is not None and by_telegram.id == "ts-cb"


async def test_a_user_of_an_inactive_official_can_join_again(
    service: OnboardingService, officials: OfficialRepository
) -> None:
    first = await service.create_invite(ADMIN, "Admin", official_id="ts-cb")
    await service.redeem(first.code, 5001, "An")
    await service.set_active("ts-cb", False)
    second = await service.create_invite(ADMIN, "Admin", official_id="ts-ct")
    joined = await service.redeem(second.code, 5001, "An")
    assert joined.id == "ts-ct"
    old = await officials.get("ts-cb")
    assert old is not None and old.telegram_id is None
    now = await officials.by_telegram(5001)
    assert now is not None and now.id == "ts-ct"


async def test_a_new_official_takes_the_telegram_name(
    service: OnboardingService, officials: OfficialRepository
) -> None:
    invite = await service.create_invite(
        ADMIN,
        "Admin",
        role=Role.SUPERVISOR,
        unit="ubnd-thanh-sen",
        localities=["18073"],
        categories=["land", "environment"],
    )
    official = await service.redeem(invite.code, 8001, "  Hoàng   Thị Mai ")
    assert official.name == "Hoàng Thị Mai" and official.title == NEW_OFFICIAL_TITLE
    assert official.role == Role.SUPERVISOR and official.unit == "ubnd-thanh-sen"
    assert official.localities == ["18073"] and official.categories == ["land", "environment"]
    assert official.id.startswith("ubnd-thanh-sen-") and len(official.id) <= 24
    assert official.id in {o.id for o in await officials.all()}
    stored = await service.invite(invite.code)
    assert stored is not None and stored.joined_official_id == official.id


async def test_invites_name_only_valid_targets(service: OnboardingService) -> None:
    with pytest.raises(UnknownChoice):
        await service.create_invite(ADMIN, "Admin", official_id="nobody")
    with pytest.raises(UnknownChoice):
        await service.create_invite(ADMIN, "Admin", official_id="gone")  # inactive
    with pytest.raises(UnknownChoice):
        await service.create_invite(ADMIN, "Admin", role=Role.OFFICIAL, unit="no-such-unit")
    with pytest.raises(UnknownChoice):
        await service.create_invite(ADMIN, "Admin", role=Role.OFFICIAL, unit="ban-tcd", localities=["99999"])
    with pytest.raises(UnknownChoice):
        await service.create_invite(
            ADMIN, "Admin", role=Role.OFFICIAL, unit="ban-tcd", categories=["weather"]
        )
    assert [o.id for o in await service.unlinked()] == ["desk", "ts-cb", "ts-ct"]


async def test_an_official_deactivated_after_the_invite_is_not_joined(service: OnboardingService) -> None:
    invite = await service.create_invite(ADMIN, "Admin", official_id="ts-cb")
    await service.set_active("ts-cb", False)
    with pytest.raises(InviteNoLongerValid):
        await service.redeem(invite.code, 5001, "An")


async def test_managing_officials(service: OnboardingService, officials: OfficialRepository) -> None:
    with pytest.raises(FallbackDeskRequired):
        await service.set_active("desk", False)
    desk = await officials.get("desk")
    assert desk is not None and desk.is_active
    assert not (await service.set_active("ts-cb", False)).is_active
    assert (await service.set_active("ts-cb", True)).is_active
    updated = await service.set_localities("ts-cb", ["18073", "18652"])
    assert updated.localities == ["18073", "18652"]
    assert (await service.set_categories("ts-cb", ["land"])).categories == ["land"]
    assert (await service.set_localities("ts-cb", [])).localities == []
    stored = await officials.get("ts-cb")
    assert stored is not None and stored.localities == [] and stored.categories == ["land"]
    with pytest.raises(UnknownChoice):
        await service.set_localities("ts-cb", ["00000"])
    with pytest.raises(UnknownChoice):
        await service.set_active("nobody", False)


async def test_drafts_are_per_admin_and_go_stale(service: OnboardingService) -> None:
    first = await service.start_draft("draft", ADMIN)
    assert (await service.draft("draft", ADMIN, first.tag)).tag == first.tag
    second = await service.start_draft("draft", ADMIN)
    with pytest.raises(StaleAction):
        await service.draft("draft", ADMIN, first.tag)  # a newer /invite replaced it
    with pytest.raises(StaleAction):
        await service.draft("draft", ADMIN + 1, second.tag)  # another admin's tag
    edit = await service.start_draft("edit", ADMIN, official_id="ts-cb", localities=["18073"])
    assert (await service.draft("draft", ADMIN, second.tag)).tag == second.tag  # separate slots
    await service.drop_draft("edit", ADMIN)
    with pytest.raises(StaleAction):
        await service.draft("edit", ADMIN, edit.tag)
