"""The me-too index against a real redis-server: buckets, inverted index, document frequencies."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bot.domain.similarity import cosine, features
from storage.keys import Keys
from storage.similarity import SimilarityIndex, ticket_number

ROAD = "Đường Trần Phú đoạn trước chợ bị ngập sâu mỗi khi mưa"
ROAD_AGAIN = "duong tran phu truoc cho ngap nang qua moi khi mua"
LIGHT = "Đèn đường Nguyễn Du hỏng cả tuần nay"


@pytest.fixture
def index(redis: aioredis.Redis, keys: Keys) -> SimilarityIndex:
    return SimilarityIndex(redis, keys, "HT")


async def test_search_finds_the_same_problem_in_its_bucket_only(index: SimilarityIndex) -> None:
    await index.put("HT-2026-000001", "18073", "infrastructure", features(ROAD))
    await index.put("HT-2026-000002", "18073", "infrastructure", features(LIGHT))
    await index.put("HT-2026-000003", "18070", "infrastructure", features(ROAD))  # another ward
    await index.put("HT-2026-000004", "18073", "environment", features(ROAD))  # another topic
    found = await index.search("18073", "infrastructure", features(ROAD_AGAIN), 30, 20_000)
    assert [ticket for ticket, _score in found] == ["HT-2026-000001", "HT-2026-000002"]
    assert found[0][1] > 0.5 > found[1][1]


async def test_scores_are_the_documented_cosine(
    redis: aioredis.Redis, keys: Keys, index: SimilarityIndex
) -> None:
    texts = [ROAD, LIGHT, "Rác thải chợ Trần Phú không được thu gom", "Cống thoát nước đường Trần Phú tắc"]
    for n, text in enumerate(texts, start=1):
        await index.put(f"HT-2026-{n:06d}", "18073", "infrastructure", features(text))
    df = {k: int(v) for k, v in (await redis.hgetall(keys.similar_df())).items()}
    found = dict(await index.search("18073", "infrastructure", features(ROAD_AGAIN), 30, 20_000))
    for n, text in enumerate(texts, start=1):
        expected = cosine(features(ROAD_AGAIN), features(text), df, len(texts))
        assert found.get(f"HT-2026-{n:06d}", 0.0) == pytest.approx(expected)


async def test_drop_and_move_leave_nothing_behind(
    redis: aioredis.Redis, keys: Keys, index: SimilarityIndex
) -> None:
    await index.put("HT-2026-000001", "18073", "infrastructure", features(ROAD))
    await index.put("HT-2026-000001", "18073", "environment", features(ROAD))  # the topic was corrected
    assert await index.search("18073", "infrastructure", features(ROAD), 30, 20_000) == []
    assert [t for t, _s in await index.search("18073", "environment", features(ROAD), 30, 20_000)] == [
        "HT-2026-000001"
    ]
    await index.drop("HT-2026-000001")
    await index.drop("HT-2026-000001")  # twice: nothing to do
    left = [key async for key in redis.scan_iter(match=f"{keys.root}:similar:*")]
    assert left == [] and await index.size() == 0


async def test_document_frequencies_follow_puts_and_drops(
    redis: aioredis.Redis, keys: Keys, index: SimilarityIndex
) -> None:
    await index.put("HT-2026-000001", "18073", "infrastructure", ["duong", "ngap"])
    await index.put("HT-2026-000002", "18070", "infrastructure", ["duong", "den"])
    assert await redis.hgetall(keys.similar_df()) == {"duong": "2", "ngap": "1", "den": "1"}
    await index.put("HT-2026-000001", "18073", "infrastructure", ["duong", "lut"])
    assert await redis.hgetall(keys.similar_df()) == {"duong": "2", "lut": "1", "den": "1"}
    await index.drop("HT-2026-000002")
    assert await redis.hgetall(keys.similar_df()) == {"duong": "1", "lut": "1"}


async def test_concurrent_writers_keep_the_index_consistent(
    redis: aioredis.Redis, keys: Keys, index: SimilarityIndex
) -> None:
    ticket = "HT-2026-000009"
    versions = [["duong", "ngap"], ["den", "hong"], ["rac", "thai"], ["cong", "tac"]]
    await asyncio.gather(*[index.put(ticket, "18073", "infrastructure", v) for v in versions * 2])
    number = str(ticket_number(ticket))
    doc = await redis.hget(keys.similar_docs(), number)
    assert doc is not None
    tokens = doc.split("|")[2].split()
    assert await redis.hgetall(keys.similar_df()) == dict.fromkeys(tokens, "1")
    postings = [key async for key in redis.scan_iter(match=f"{keys.root}:similar:open:*:t:*")]
    assert sorted(p.rsplit(":", 1)[1] for p in postings) == sorted(tokens)
    assert await redis.smembers(keys.similar_bucket("18073", "infrastructure")) == {number}


async def test_buckets_hold_integers(redis: aioredis.Redis, keys: Keys, index: SimilarityIndex) -> None:
    for n in range(1, 6):
        await index.put(f"HT-2026-{n:06d}", "18073", "infrastructure", ["duong"])
    assert await redis.object("encoding", keys.similar_bucket("18073", "infrastructure")) == "intset"


async def test_the_budget_reads_the_rarest_syllables_first(index: SimilarityIndex) -> None:
    for n in range(1, 41):
        await index.put(f"HT-2026-{n:06d}", "18073", "infrastructure", ["duong", f"so{n}"])
    await index.put("HT-2026-000099", "18073", "infrastructure", ["duong", "ngap", "tranphu"])
    found = await index.search("18073", "infrastructure", ["duong", "ngap", "tranphu"], 5, 10)
    assert found[0][0] == "HT-2026-000099"  # found through "ngap"/"tranphu"; "duong" (41 ids) skipped
