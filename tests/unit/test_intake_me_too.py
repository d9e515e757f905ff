"""The intake's topic suggestions and "me too" step (IntakeService with a real Redis and a manual clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from bot.domain.clock import ManualClock
from bot.domain.directory import Directory
from bot.domain.intake import IntakeService
from bot.domain.similarity import OpenPetitions, SimilarityService
from bot.domain.topics import TopicClassifier, TopicVocabulary
from bot.errors import StaleAction
from storage.cosign import CoSignRepository
from storage.keys import Keys
from storage.models import PetitionStatus, Session, Step
from storage.petitions import PetitionRepository
from storage.sessions import SessionRepository
from storage.similarity import SimilarityIndex

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
WARD = "18073"  # Phường Thành Sen
ROAD = "Đường Trần Phú đoạn trước chợ bị ngập sâu mỗi khi mưa"
ROAD_AGAIN = "duong tran phu truoc cho ngap nang moi khi mua"


@pytest.fixture
def intake(redis: aioredis.Redis, keys: Keys) -> IntakeService:
    directory = Directory.default()
    petitions = PetitionRepository(redis, keys)
    return IntakeService(
        directory,
        SessionRepository(redis, keys),
        petitions,
        ManualClock(NOW),
        topics=TopicClassifier(
            TopicVocabulary.load(TopicVocabulary.beside(Directory.default_path()), directory)
        ),
        similarity=SimilarityService(SimilarityIndex(redis, keys, "HT"), OpenPetitions(petitions)),
        cosign=CoSignRepository(redis, keys),
    )


async def described(intake: IntakeService, citizen: str, text: str, kind: str = "report") -> Session:
    session = await intake.load(citizen)
    intake.start_draft(session)
    intake.set_locality(session, WARD)
    intake.set_category(session, "infrastructure")
    if intake.choose_type(session, kind):  # a complaint: its procedure was explained, continue
        intake.confirm_formal_type(session, kind)
    intake.set_description(session, text)
    return session


async def filed(intake: IntakeService, citizen: str, text: str) -> str:
    session = await described(intake, citizen, text)
    await intake.find_similar(session, citizen)
    if session.step == Step.SIMILAR:
        intake.decline_similar(session)
    intake.finish_attachments(session)
    intake.set_anonymous(session)
    return (await intake.submit(session, citizen_id=citizen, channel="tg", language="vi")).ticket


async def test_suggestions_come_from_a_description_given_before_the_topic(intake: IntakeService) -> None:
    assert intake.suggest_topics("Đèn đường hỏng cả tuần")[0] == "infrastructure"
    session = await intake.load("tg:9")
    intake.start_draft(session)
    intake.set_locality(session, WARD)
    intake.set_description(session, "sổ đỏ của nhà tôi bị sai diện tích")
    assert session.step == Step.CATEGORY
    assert intake.topic_suggestions(session)[0] == "land"
    intake.set_category(session, "land")
    assert intake.topic_suggestions(session) == []  # chosen: nothing more to suggest
    assert session.draft is not None and session.draft.suggested_topics[0] == "land"


async def test_nothing_similar_moves_on_and_something_similar_is_offered(intake: IntakeService) -> None:
    first = await described(intake, "tg:1", ROAD)
    assert first.step == Step.SIMILAR
    assert await intake.find_similar(first, "tg:1") == []
    assert first.step == Step.ATTACHMENTS  # nothing open yet: straight on
    ticket = await filed(intake, "tg:1", ROAD)
    mine = await described(intake, "tg:1", ROAD_AGAIN)
    assert await intake.find_similar(mine, "tg:1") == []  # one's own petition is not offered
    other = await described(intake, "tg:2", ROAD_AGAIN)
    found = await intake.find_similar(other, "tg:2")
    assert [f.petition.id for f in found] == [ticket] and other.step == Step.SIMILAR
    assert other.draft is not None and other.draft.similar_offer == [ticket]
    intake.decline_similar(other)
    assert other.step == Step.ATTACHMENTS
    intake.finish_attachments(other)
    intake.set_anonymous(other)
    intake.edit(other, Step.DESCRIPTION)
    intake.set_description(other, ROAD_AGAIN + " nữa")
    assert other.step == Step.SIMILAR  # the description changed: searched again
    intake.back_to_summary(other)
    assert other.step == Step.CONFIRM  # «Back to the summary» keeps one's own petition


async def test_joining_closes_the_draft_and_a_closed_petition_cannot_be_joined(
    intake: IntakeService, redis: aioredis.Redis, keys: Keys
) -> None:
    ticket = await filed(intake, "tg:1", ROAD)
    session = await described(intake, "tg:2", ROAD_AGAIN)
    await intake.find_similar(session, "tg:2")
    with pytest.raises(StaleAction):
        await intake.join_similar(session, "tg:2", "HT-2026-999999")  # never offered (a forged button)
    joined = await intake.join_similar(session, "tg:2", ticket)
    assert (joined.ticket, joined.co_signers, joined.added) == (ticket, 1, True)
    assert session.draft is None and session.step == Step.IDLE
    stored = await SessionRepository(redis, keys).get("tg:2")
    assert stored is not None and stored.draft is None
    # Someone else is offered it, then it closes before they tap.
    late = await described(intake, "tg:3", ROAD_AGAIN)
    await intake.find_similar(late, "tg:3")
    petitions = PetitionRepository(redis, keys)
    before = await petitions.get(ticket)
    assert before is not None
    after = before.model_copy(update={"status": PetitionStatus.REJECTED, "version": before.version + 1})
    assert await petitions.update(before, after)
    with pytest.raises(StaleAction):
        await intake.join_similar(late, "tg:3", ticket)
    assert late.draft is not None and late.draft.similar_offer == [] and late.step == Step.ATTACHMENTS
    assert await CoSignRepository(redis, keys).members(ticket) == ["tg:2"]


async def test_complaints_are_never_offered(intake: IntakeService) -> None:
    await filed(intake, "tg:1", ROAD)
    session = await described(intake, "tg:2", ROAD_AGAIN, kind="complaint")
    assert session.step == Step.ATTACHMENTS
