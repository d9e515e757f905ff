"""The intake state machine (with a real Redis behind its repositories and a manual clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from bot.domain.clock import ManualClock
from bot.domain.directory import Directory
from bot.domain.intake import ATTACHMENTS_MAX, DESCRIPTION_MAX, IntakeService, next_step
from bot.errors import (
    DescriptionEmpty,
    DescriptionTooLong,
    DescriptionTooShort,
    DraftIncomplete,
    StaleAction,
    TooManyAttachments,
    UnknownChoice,
)
from storage.keys import Keys
from storage.models import Attachment, AttachmentKind, Session, Step
from storage.petitions import PetitionRepository
from storage.sessions import SessionRepository

START = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # already 2027 in Hà Tĩnh (UTC+7)


@pytest.fixture
def intake(redis: aioredis.Redis, keys: Keys) -> IntakeService:
    return IntakeService(
        Directory.default(),
        SessionRepository(redis, keys),
        PetitionRepository(redis, keys),
        ManualClock(START),
    )


async def filled(intake: IntakeService) -> Session:
    session = await intake.load("tg:7")
    intake.start_draft(session)
    intake.set_locality(session, "18742")
    intake.set_category(session, "environment")
    assert intake.choose_type(session, "report") is False
    intake.set_description(session, "Bãi rác tự phát gây ô nhiễm")
    intake.finish_attachments(session)
    intake.set_anonymous(session)
    return session


async def test_steps_follow_the_missing_fields(intake: IntakeService) -> None:
    session = await intake.load("tg:7")
    assert session.step == Step.IDLE
    intake.start_draft(session)
    seen = [session.step]
    intake.set_locality(session, "18742")
    seen.append(session.step)
    intake.set_category(session, "land")
    seen.append(session.step)
    intake.choose_type(session, "proposal")
    seen.append(session.step)
    intake.set_description(session, "Đề nghị cấp giấy chứng nhận quyền sử dụng đất")
    seen.append(session.step)
    intake.finish_attachments(session)
    seen.append(session.step)
    intake.set_contact(session, name="Lan", phone="+84900000000")
    seen.append(session.step)
    assert seen == [
        Step.LOCALITY,
        Step.CATEGORY,
        Step.TYPE,
        Step.DESCRIPTION,
        Step.ATTACHMENTS,
        Step.CONTACT,
        Step.CONFIRM,
    ]


async def test_session_survives_a_round_trip_through_redis(intake: IntakeService) -> None:
    session = await intake.load("tg:7")
    intake.start_draft(session)
    intake.set_locality(session, "18073")
    await intake.save(session)
    again = await intake.load("tg:7")
    assert again.step == Step.CATEGORY and again.draft == session.draft


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", DescriptionEmpty),
        ("   \n ", DescriptionEmpty),
        ("\u3164" * 20, DescriptionEmpty),  # Hangul fillers show nothing
        ("\u200b\u200c\u200d\u2060\ufeff\u2800\u115f\u1160" * 3, DescriptionEmpty),
        ("ngắn quá", DescriptionTooShort),
        ("\u3164" * 12 + "ab", DescriptionTooShort),  # 14 characters, 2 of them visible
        ("x" * (DESCRIPTION_MAX + 1), DescriptionTooLong),
    ],
)
async def test_description_validation_keeps_the_draft(intake: IntakeService, text: str, error: type) -> None:
    session = await filled(intake)
    intake.edit(session, Step.DESCRIPTION)
    with pytest.raises(error):
        intake.set_description(session, text)
    assert session.draft is not None and session.draft.description == "Bãi rác tự phát gây ô nhiễm"
    assert session.step == Step.DESCRIPTION


async def test_description_limits_are_inclusive(intake: IntakeService) -> None:
    session = await filled(intake)
    intake.edit(session, Step.DESCRIPTION)
    intake.set_description(session, "x" * DESCRIPTION_MAX)
    assert session.step == Step.CONFIRM
    intake.edit(session, Step.DESCRIPTION)
    intake.set_description(session, "  0123456789  ")
    assert session.draft is not None and session.draft.description == "0123456789"


async def test_formal_types_need_confirmation_and_identity(intake: IntakeService) -> None:
    session = await filled(intake)
    intake.edit(session, Step.TYPE)
    assert intake.choose_type(session, "complaint") is True
    assert session.step == Step.TYPE
    with pytest.raises(StaleAction):
        intake.confirm_formal_type(session, "denunciation")
    intake.confirm_formal_type(session, "complaint")
    # The anonymous choice made before no longer holds: a complaint needs the citizen's identity.
    assert session.step == Step.CONTACT
    with pytest.raises(UnknownChoice):
        intake.set_anonymous(session)


async def test_forged_choices_are_refused(intake: IntakeService) -> None:
    session = await intake.load("tg:7")
    intake.start_draft(session)
    with pytest.raises(UnknownChoice):
        intake.set_locality(session, "99999")
    intake.set_locality(session, "18742")
    with pytest.raises(UnknownChoice):
        intake.set_category(session, "weather")
    intake.set_category(session, "land")
    with pytest.raises(UnknownChoice):
        intake.choose_type(session, "petition")
    with pytest.raises(StaleAction):
        intake.check_tag(session, "0000000000000000")


async def test_attachments_are_capped(intake: IntakeService) -> None:
    session = await filled(intake)
    intake.edit(session, Step.ATTACHMENTS)
    for n in range(ATTACHMENTS_MAX):
        assert intake.add_attachment(session, Attachment(kind=AttachmentKind.PHOTO, file_id=f"f{n}")) == n + 1
    with pytest.raises(TooManyAttachments):
        intake.add_attachment(session, Attachment(kind=AttachmentKind.PHOTO, file_id="one-too-many"))
    intake.back_to_summary(session)
    assert session.step == Step.CONFIRM


async def test_submit_uses_the_local_year_and_happens_once(intake: IntakeService) -> None:
    session = await filled(intake)
    copy = session.model_copy(deep=True)
    first = await intake.submit(session, citizen_id="tg:7", channel="tg", language="vi")
    assert first.ticket == "HT-2027-000001" and first.created
    assert session.step == Step.IDLE and session.draft is None
    second = await intake.submit(copy, citizen_id="tg:7", channel="tg", language="vi")
    assert second.ticket == first.ticket and not second.created
    stored = await intake.load("tg:7")
    assert stored.step == Step.IDLE


async def test_incomplete_draft_cannot_be_submitted(intake: IntakeService) -> None:
    session = await intake.load("tg:7")
    draft = intake.start_draft(session)
    intake.set_locality(session, "18742")
    assert next_step(draft) == Step.CATEGORY
    with pytest.raises(DraftIncomplete):
        await intake.submit(session, citizen_id="tg:7", channel="tg", language="vi")
