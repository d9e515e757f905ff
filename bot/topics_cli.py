"""``python -m bot topics check|evaluate|corrections`` and ``python -m bot similar rebuild``."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bot.app import load_directory
from bot.config import Settings
from bot.domain.directory import Directory
from bot.domain.reports import PeriodError, parse_day
from bot.domain.topics import TopicClassifier, TopicVocabulary, TopicVocabularyError
from bot.embedded_redis import open_redis
from storage.keys import Keys
from storage.topics import TopicCorrection, TopicCorrectionRepository

CANDIDATE_WORDS = 12


def _fail(message: str) -> int:
    print(f"tiengdan: {message}", file=sys.stderr)
    return 2


def _vocabulary_path(settings: Settings, given: str | None) -> Path:
    if given:
        return Path(given)
    return settings.topics_file or TopicVocabulary.beside(settings.directory_file or Directory.default_path())


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the vocabulary, measure it on labelled petitions, or list officials' corrections."""
    directory = load_directory(settings)
    path = _vocabulary_path(settings, getattr(args, "vocabulary", None))
    try:
        vocabulary = TopicVocabulary.load(path, directory)
    except TopicVocabularyError as exc:
        return _fail(str(exc))
    if args.action == "check":
        topics = {p.topic for p in vocabulary.phrases}
        print(f"valid: {path} ({len(vocabulary.phrases)} phrases for {len(topics)} topics)")
        return 0
    classifier = TopicClassifier(vocabulary)
    if args.action == "evaluate":
        return _evaluate(classifier, [Path(f) for f in args.files])
    return _corrections(args, settings, directory, vocabulary)


def _evaluate(classifier: TopicClassifier, files: list[Path]) -> int:
    """Top-1 and top-3 accuracy on labelled petitions (``petitions: [{topic, text}]``)."""
    for path in files:
        try:
            petitions: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["petitions"]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
            return _fail(f"{path}: cannot read labelled petitions ({exc})")
        top1 = top3 = 0
        confused: Counter[tuple[str, str]] = Counter()
        for item in petitions:
            suggested = classifier.suggest(str(item["text"]))
            top1 += suggested[:1] == [item["topic"]]
            top3 += item["topic"] in suggested
            if suggested[:1] != [item["topic"]]:
                confused[(str(item["topic"]), suggested[0] if suggested else "-")] += 1
        n = len(petitions)
        print(f"{path}: {n} petitions · top-1 {top1 / n:.3f} ({top1}) · top-3 {top3 / n:.3f} ({top3})")
        for (truth, guess), count in confused.most_common(10):
            print(f"  {truth} suggested as {guess}: {count}")
    return 0


def _corrections(
    args: argparse.Namespace, settings: Settings, directory: Directory, vocabulary: TopicVocabulary
) -> int:
    """Officials' topic corrections, and the words that could be added to the vocabulary."""
    try:
        since = parse_day(args.since) if args.since else None
    except PeriodError:
        return _fail("--since: use YYYY-MM-DD or dd/mm/yyyy")

    async def load() -> list[TopicCorrection]:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        start = datetime.combine(since, datetime.min.time(), ZoneInfo(directory.timezone)) if since else None
        async with open_redis(settings) as redis:
            keys = Keys(settings.redis_key_prefix, directory.ticket_prefix.lower())
            return await TopicCorrectionRepository(redis, keys).corrections(start)

    found = asyncio.run(load())
    if args.format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["ticket", "at", "by", "from", "to", "suggested", "features"])
        for c in found:
            writer.writerow(
                [
                    c.ticket,
                    c.at.isoformat(),
                    c.by,
                    c.from_topic,
                    c.to_topic,
                    " ".join(c.suggested),
                    " ".join(c.features),
                ]
            )
        sys.stdout.write(out.getvalue())
        return 0
    print(f"# {len(found)} topic corrections" + (f" since {since:%d/%m/%Y}" if since else ""))
    if not found:
        return 0
    right_first = sum(1 for c in found if c.suggested[:1] == (c.to_topic,))
    right_top3 = sum(1 for c in found if c.to_topic in c.suggested)
    print(f"# the corrected topic had been suggested first: {right_first}, among the three: {right_top3}")
    known: dict[str, set[str]] = {}
    for phrase in vocabulary.phrases:
        known.setdefault(phrase.topic, set()).update(phrase.folds)
    by_target: dict[str, list[TopicCorrection]] = {}
    for c in found:
        by_target.setdefault(c.to_topic, []).append(c)
    for topic, items in sorted(by_target.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        sources = Counter(c.from_topic for c in items)
        print(f"{topic} ← " + ", ".join(f"{source}: {n}" for source, n in sources.most_common()))
        words = Counter(w for c in items for w in set(c.features) if w not in known.get(topic, set()))
        frequent = [f"{w} ({n})" for w, n in words.most_common(CANDIDATE_WORDS) if n >= 2 or len(items) == 1]
        if frequent:
            print("  words of these petitions not yet in its vocabulary: " + ", ".join(frequent))
    print("# add the words that say the topic to topics.yaml (with their diacritics), then: topics check")
    return 0


def cmd_similar(args: argparse.Namespace, settings: Settings) -> int:
    """``similar rebuild``: index every open petition again for "me too" (the index is derived data)."""
    from bot.domain.similarity import OpenPetitions, SimilarityService
    from storage.petitions import PetitionRepository
    from storage.similarity import SimilarityIndex

    directory = load_directory(settings)

    async def rebuild() -> int:
        async with open_redis(settings) as redis:
            keys = Keys(settings.redis_key_prefix, directory.ticket_prefix.lower())
            service = SimilarityService(
                SimilarityIndex(redis, keys, directory.ticket_prefix),
                OpenPetitions(PetitionRepository(redis, keys)),
            )
            return await service.rebuild()

    print(f"indexed {asyncio.run(rebuild())} open petitions")
    return 0
