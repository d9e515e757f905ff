"""``python -m bot bench-similarity``: how long a "me too" search takes with many stored petitions.

Not a test (timings depend on the machine): it fills a Redis of its own (embedded, in a temporary
folder, unless REDIS_URL is set; then under a key prefix of its own, deleted afterwards) with synthetic
open petitions spread over the province's localities and topics with a realistic skew (a few wards
and topics get most petitions), then runs searches like the bot's and prints the latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis

from bot.config import Settings
from bot.domain.directory import Directory
from bot.domain.similarity import OFFERED, OpenPetitions, SimilarityService, features
from bot.domain.topics import TopicVocabulary
from bot.domain.vietnamese import fold_ascii
from bot.embedded_redis import EmbeddedRedis
from storage.connection import connect
from storage.keys import Keys
from storage.models import Petition
from storage.petitions import PetitionRepository
from storage.similarity import SimilarityIndex

TOPIC_SHARE = {  # roughly what provinces report: roads and land first
    "infrastructure": 20,
    "land": 16,
    "environment": 12,
    "compensation": 8,
    "construction": 8,
    "utilities": 7,
    "procedures": 6,
    "welfare": 5,
    "agriculture": 5,
    "security": 4,
    "health": 3,
    "education": 3,
    "conduct": 1,
    "disaster": 1,
    "other": 1,
}
PLACES = ("đường {}", "thôn {}", "tổ dân phố {}", "xóm {}", "khu phố {}", "ngõ {}", "chợ {}", "cầu {}")
NAMES = (
    "Trần Phú", "Nguyễn Du", "Hà Huy Tập", "Phan Đình Phùng", "Lê Lợi", "Hải Thượng Lãn Ông", "Xuân Diệu",
    "Nguyễn Công Trứ", "Đồng Môn", "Tân Hương", "Trung Lương", "Bắc Sơn", "Đông Hà", "Nam Hà", "Yên Thịnh",
)  # fmt: skip
FILLER = (
    "từ tuần trước", "đã lâu mà chưa ai xử lý", "rất nguy hiểm", "bà con rất bức xúc", "mong các cấp xem xét",
    "nhiều lần phản ánh", "đề nghị kiểm tra", "gây ảnh hưởng đến sinh hoạt", "buổi tối", "mỗi khi trời mưa",
    "đã báo trưởng thôn", "mong được giải quyết sớm", "ảnh hưởng đến học sinh", "người già và trẻ nhỏ",
)  # fmt: skip


def synthetic_description(rng: random.Random, phrases: dict[str, list[str]], topic: str) -> str:
    """A petition-like text: two to four words of the topic, a place, some filler; 30% without diacritics."""
    words = rng.sample(phrases[topic], k=min(len(phrases[topic]), rng.randint(2, 4)))
    place = rng.choice(PLACES).format(rng.choice(NAMES) if rng.random() < 0.7 else rng.randint(1, 30))
    parts = [*words, place, *rng.sample(FILLER, k=rng.randint(1, 3))]
    rng.shuffle(parts)
    text = " ".join(parts).capitalize()
    return fold_ascii(text) if rng.random() < 0.3 else text


def skewed(rng: random.Random, items: list[str], exponent: float = 0.9) -> list[str]:
    """Items with Zipf-like weights (the first ones much more frequent), as a population to sample."""
    weights = [1 / (rank**exponent) for rank in range(1, len(items) + 1)]
    return rng.choices(items, weights=weights, k=50_000)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Fill, search, report."""
    rng = random.Random(args.seed)
    directory = Directory.load(settings.directory_file) if settings.directory_file else Directory.default()
    vocabulary = TopicVocabulary.load(TopicVocabulary.beside(Directory.default_path()), directory)
    phrases: dict[str, list[str]] = {}
    for phrase in vocabulary.phrases:
        phrases.setdefault(phrase.topic, []).append(phrase.text)
    localities = [loc.code for loc in directory.localities]
    rng.shuffle(localities)
    locality_pool = skewed(rng, localities)
    topics = [t for t in TOPIC_SHARE if t in phrases]
    embedded: EmbeddedRedis | None = None
    folder = None
    if settings.redis_url is None:
        folder = tempfile.TemporaryDirectory(prefix="tiengdan-bench-")
        embedded = EmbeddedRedis(Path(folder.name), appendonly=False)
        url = await asyncio.to_thread(embedded.start)
    else:
        url = str(settings.redis_url)
    redis = await connect(url, max_connections=64)
    prefix = f"bench-{secrets.token_hex(4)}"
    keys = Keys(prefix, directory.ticket_prefix.lower())
    index = SimilarityIndex(redis, keys, directory.ticket_prefix)
    service = SimilarityService(index, OpenPetitions(PetitionRepository(redis, keys)))
    try:
        stored = await fill(
            args.petitions, rng, redis, keys, index, phrases, locality_pool, topics, directory
        )
        await index.mark_built()
        latencies: list[float] = []
        found_any = repeated = recalled = 0
        for _n in range(args.searches):
            original = None
            if rng.random() < 0.5:  # half the searches repeat a stored problem in other words
                original, locality, topic, text = rng.choice(stored)
                text = " ".join(rng.sample(text.split(), k=max(3, len(text.split()) * 2 // 3)))
            else:
                locality, topic = (
                    rng.choice(locality_pool),
                    rng.choices(topics, [TOPIC_SHARE[t] for t in topics])[0],
                )
                text = synthetic_description(rng, phrases, topic)
            start = time.perf_counter()
            found = await service.similar(locality, topic, text)
            latencies.append((time.perf_counter() - start) * 1000)
            found_any += bool(found)
            if original is not None:
                repeated += 1
                recalled += original in {f.petition.id for f in found}
        await report(args, redis, keys, latencies, found_any, localities, topics)
        print(
            f"a repeated problem found its stored petition among the {OFFERED} offered: {recalled}/{repeated}"
        )
    finally:
        if embedded is None:
            async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
                await redis.unlink(key)
        await redis.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        if folder is not None:
            folder.cleanup()
    return 0


async def fill(
    count: int,
    rng: random.Random,
    redis: aioredis.Redis,
    keys: Keys,
    index: SimilarityIndex,
    phrases: dict[str, list[str]],
    locality_pool: list[str],
    topics: list[str],
    directory: Directory,
) -> list[tuple[str, str, str, str]]:
    """Store ``count`` open petitions (JSON, as the bot stores them) and index them; returns a sample."""
    now = datetime.now(UTC)
    year = now.year
    weights = [TOPIC_SHARE[t] for t in topics]
    sample: list[tuple[str, str, str, str]] = []
    started = time.perf_counter()
    batch = 500
    indexing: list[tuple[str, str, str, str]] = []
    for first in range(1, count + 1, batch):
        rows = []
        for n in range(first, min(first + batch, count + 1)):
            locality, topic = rng.choice(locality_pool), rng.choices(topics, weights)[0]
            text = synthetic_description(rng, phrases, topic)
            ticket = f"{directory.ticket_prefix}-{year}-{n:06d}"
            rows.append((ticket, locality, topic, text))
            if len(sample) < 2000 and rng.random() < 0.05:
                sample.append((ticket, locality, topic, text))
        async with redis.pipeline(transaction=False) as pipe:
            for ticket, locality, topic, text in rows:
                petition = Petition(
                    id=ticket, citizen_id=f"tg:{rng.randint(1, 10**9)}", channel="tg", draft_id=ticket,
                    locality_code=locality, category=topic, type="report", description=text,
                    is_anonymous=True, language="vi", created_at=now, updated_at=now,
                )  # fmt: skip
                pipe.set(keys.petition(ticket), petition.model_dump_json())
            await pipe.execute()
        indexing += rows
    stored = int((await redis.info("memory"))["used_memory"])
    for first in range(0, len(indexing), batch):
        rows = indexing[first : first + batch]
        await asyncio.gather(*[index.put(t, loc, topic, features(text)) for t, loc, topic, text in rows])
        if sys.stderr.isatty():
            print(f"\rindexing {first + len(rows):,}/{count:,}", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    index_bytes = int((await redis.info("memory"))["used_memory"]) - stored
    print(
        f"stored and indexed {count:,} open petitions in {time.perf_counter() - started:.1f} s; "
        f"the index takes {index_bytes / 2**20:.1f} MB ({index_bytes / count:.0f} bytes per petition)"
    )
    return sample


async def report(
    args: argparse.Namespace,
    redis: aioredis.Redis,
    keys: Keys,
    latencies: list[float],
    found_any: int,
    localities: list[str],
    topics: list[str],
) -> None:
    """Print the latency percentiles and the shape of the data."""
    async with redis.pipeline(transaction=False) as pipe:
        for locality in localities:
            for topic in topics:
                pipe.scard(keys.similar_bucket(locality, topic))
        sizes = sorted((int(n) for n in await pipe.execute()), reverse=True)
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]

    memory = (await redis.info("memory")).get("used_memory_human", "?")
    print(
        f"buckets (locality × topic): {sum(1 for s in sizes if s)} non-empty of {len(sizes)}; largest "
        f"{sizes[0]:,}, median {statistics.median([s for s in sizes if s] or [0]):.0f} petitions"
    )
    print(f"Redis memory used: {memory}")
    print(
        f"{len(latencies)} searches ({found_any} found a similar petition): p50 {pct(50):.2f} ms · "
        f"p95 {pct(95):.2f} ms · p99 {pct(99):.2f} ms · max {ordered[-1]:.2f} ms"
    )


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Entry point of ``python -m bot bench-similarity``."""
    return asyncio.run(run(args, settings))
