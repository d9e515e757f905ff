"""Suggesting a petition's topic from the citizen's own words (no model, no network: a vocabulary).

Contract:
* ``TopicVocabulary.load(path, directory)`` reads a province's ``topics.yaml`` (format in
  ``bot/provinces/TOPICS.md``): per category, ``strong`` phrases (3 points) and ``words`` (1 point),
  plus ``abbreviations`` ("ko" → "không"). Any problem raises ``TopicVocabularyError`` naming the file,
  the line and the field. A loaded vocabulary is immutable and safe to share.
* ``TopicClassifier.suggest(text)`` returns up to three category keys, most likely first. It never
  raises. Text is matched syllable by syllable on the accent-less form (``vietnamese.fold_ascii``); a
  text typed *with* diacritics (a quarter of its syllables or more) must also agree on them ("diện
  tích" is not "điện", "bao nhiêu" is not "bão"). Raw Telex ("dduwowngf" → đường), abbreviations and one-letter
  typos inside a phrase ("mặt đườg" → mặt đường, at a reduced score) are recognised. A phrase inside a longer matching phrase
  does not count again, and each phrase counts once. When fewer than three topics score, ``other``
  (if the province has it) completes the list.
* Pure: no Telegram, no Redis, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.directory import Directory
from bot.domain.vietnamese import Syllable, search_tokens
from bot.domain.yaml_lines import dotted, line_of, text_lines

__all__ = [
    "FUZZY_FACTOR",
    "STRONG_WEIGHT",
    "SUGGESTIONS",
    "WORD_WEIGHT",
    "TopicClassifier",
    "TopicVocabulary",
    "TopicVocabularyError",
    "telex_fold",
]

STRONG_WEIGHT: Final = 3.0
WORD_WEIGHT: Final = 1.0
FUZZY_FACTOR: Final = 0.7  # a syllable recognised through a one-letter typo
SUGGESTIONS: Final = 3
FALLBACK_TOPIC: Final = "other"
ACCENTED_SHARE: Final = 0.25  # of syllables with a diacritic, for a text to count as typed with them
_FUZZY_MIN_LENGTH: Final = 4  # shorter syllables have too many neighbours
_VOWELS: Final = frozenset("aeiouy")
_TONE_KEYS: Final = frozenset("sfrxjz")
_TELEX_PAIRS: Final = (
    ("dd", "d"),
    ("aa", "a"),
    ("ee", "e"),
    ("oo", "o"),
    ("aw", "a"),
    ("ow", "o"),
    ("uw", "u"),
)


class TopicVocabularyError(ValueError):
    """The topics file is missing or invalid (the message says where)."""


def telex_fold(token: str) -> str:
    """The accent-less form of an ASCII syllable typed in raw Telex ("dduwowngf" → "duong")."""
    text = token
    for pair, single in _TELEX_PAIRS:
        text = text.replace(pair, single)
    text = text.replace("w", "u")
    out: list[str] = []
    for index, char in enumerate(text):
        # No Vietnamese syllable has s f r x j z after a vowel or at its end: there they are tone keys.
        if char in _TONE_KEYS and index > 0 and ((out and out[-1] in _VOWELS) or index == len(text) - 1):
            continue
        out.append(char)
    return "".join(out)


def _deletions(token: str) -> set[str]:
    return {token[:i] + token[i + 1 :] for i in range(len(token))}


# ------------------------------------------------------------------------------------------ file model


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class _TopicModel(_Model):
    strong: list[str] = Field(default_factory=list)
    words: list[str] = Field(default_factory=list)


class _TopicsFile(_Model):
    format_version: Literal[1]
    abbreviations: dict[str, str] = Field(default_factory=dict)
    topics: dict[str, _TopicModel] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class _Phrase:
    topic: str
    text: str
    folds: tuple[str, ...]
    canons: tuple[str, ...]
    weight: float


@dataclass(frozen=True, slots=True)
class _Position:
    """One syllable of the text and the vocabulary syllables it may stand for (fold → factor)."""

    canon: str
    marked: bool
    alternatives: Mapping[str, float]


class TopicVocabulary:
    """A province's words per topic; ``phrases`` and ``abbreviations`` are normalised at load."""

    __slots__ = ("abbreviations", "phrases", "topics")

    def __init__(
        self,
        phrases: Iterable[_Phrase],
        abbreviations: Mapping[str, tuple[Syllable, ...]],
        topics: Sequence[str],
    ) -> None:
        self.phrases: tuple[_Phrase, ...] = tuple(phrases)
        self.abbreviations: dict[str, tuple[Syllable, ...]] = dict(abbreviations)
        self.topics: tuple[str, ...] = tuple(topics)

    @classmethod
    def from_mapping(
        cls, raw: object, directory: Directory, *, name: str = "topics.yaml", text: str = ""
    ) -> TopicVocabulary:
        """Validate parsed YAML (``text`` gives line numbers in errors)."""
        lines, repeated = text_lines(text) if text else ({}, [])

        def fail(loc: Sequence[str | int], message: str) -> TopicVocabularyError:
            line = line_of(lines, loc) if lines else None
            where = f" line {line}" if line is not None else ""
            field = f" {dotted(loc)}:" if loc else ""
            return TopicVocabularyError(f"{name}{where}:{field} {message}")

        if not isinstance(raw, dict):
            raise fail((), "the file must be a YAML mapping (format_version, abbreviations, topics)")
        for loc, line in repeated:
            raise TopicVocabularyError(f"{name} line {line}: {dotted(loc)}: given twice")
        try:
            model = _TopicsFile.model_validate(raw)
        except ValidationError as exc:
            errors = exc.errors()
            message = str(fail(errors[0]["loc"], errors[0]["msg"]))
            if len(errors) > 1:
                message += f" (and {len(errors) - 1} more problem(s))"
            raise TopicVocabularyError(message) from None
        known = [c.key for c in directory.categories]
        phrases: list[_Phrase] = []
        for key, topic in model.topics.items():
            if key not in known:
                raise fail(
                    ("topics", key), f"'{key}' is not a category of the province (known: {', '.join(known)})"
                )
            seen: dict[tuple[str, ...], str] = {}
            for group, weight in (("strong", STRONG_WEIGHT), ("words", WORD_WEIGHT)):
                for index, phrase in enumerate(getattr(topic, group)):
                    tokens = search_tokens(phrase)
                    if not tokens:
                        raise fail(
                            ("topics", key, group, index), "an entry needs at least one letter or digit"
                        )
                    folds = tuple(t.fold for t in tokens)
                    if folds in seen:
                        raise fail(
                            ("topics", key, group, index),
                            f"'{phrase}' is listed twice for {key} (also '{seen[folds]}')",
                        )
                    seen[folds] = phrase
                    phrases.append(
                        _Phrase(key, phrase.strip(), folds, tuple(t.canon for t in tokens), weight)
                    )
        abbreviations: dict[str, tuple[Syllable, ...]] = {}
        for short, long in model.abbreviations.items():
            short_tokens = search_tokens(short)
            if len(short_tokens) != 1:
                raise fail(("abbreviations", short), f"'{short}' must be one word")
            expansion = search_tokens(long)
            if not expansion:
                raise fail(("abbreviations", short), "the expansion needs at least one letter or digit")
            abbreviations[short_tokens[0].fold] = expansion
        return cls(phrases, abbreviations, known)

    @classmethod
    def load(cls, path: Path, directory: Directory) -> TopicVocabulary:
        """Read and validate a topics YAML file; raise TopicVocabularyError on any problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise TopicVocabularyError(f"{path}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise TopicVocabularyError(f"{path}: cannot read ({exc})") from None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise TopicVocabularyError(
                f"{path.name}{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}"
            ) from None
        return cls.from_mapping(raw, directory, name=path.name, text=text)

    @staticmethod
    def beside(province_file: Path) -> Path:
        """Where a province's topics file is: ``topics.yaml`` beside its province file."""
        return Path(province_file).parent / "topics.yaml"


# ------------------------------------------------------------------------------------------ classifier


class TopicClassifier:
    """Scores each topic by the vocabulary phrases found in a text."""

    def __init__(self, vocabulary: TopicVocabulary) -> None:
        self.vocabulary = vocabulary
        self._by_first: dict[str, list[_Phrase]] = {}
        for phrase in vocabulary.phrases:
            self._by_first.setdefault(phrase.folds[0], []).append(phrase)
        self._known: frozenset[str] = frozenset(f for p in vocabulary.phrases for f in p.folds)
        self._near: dict[str, set[str]] = {}
        for token in self._known:
            if len(token) >= _FUZZY_MIN_LENGTH and token.isalpha():
                for variant in (token, *_deletions(token)):
                    self._near.setdefault(variant, set()).add(token)
        self._order = {key: index for index, key in enumerate(vocabulary.topics)}

    def suggest(self, text: str, limit: int = SUGGESTIONS) -> list[str]:
        """Up to ``limit`` category keys, most likely first (``other`` completes a short list)."""
        scores = self.scores(text)
        ranked = sorted(
            (key for key, score in scores.items() if score > 0),
            key=lambda key: (-scores[key], self._order.get(key, math.inf)),
        )[:limit]
        if len(ranked) < limit and FALLBACK_TOPIC in self._order and FALLBACK_TOPIC not in ranked:
            ranked.append(FALLBACK_TOPIC)
        return ranked

    def scores(self, text: str) -> dict[str, float]:
        """Each topic's score for ``text`` (topics without any match are left out)."""
        positions = self._positions(text)
        matches: list[tuple[int, int, _Phrase, float]] = []
        for start, position in enumerate(positions):
            for first in position.alternatives:
                for phrase in self._by_first.get(first, ()):
                    factor = self._match(phrase, positions, start)
                    if factor > 0:
                        matches.append((start, start + len(phrase.folds), phrase, factor))
        best: dict[tuple[str, tuple[str, ...]], float] = {}
        for start, end, phrase, factor in matches:
            contained = any(s <= start and end <= e and e - s > end - start for s, e, _other, _f in matches)
            if contained:
                continue
            key = (phrase.topic, phrase.folds)
            best[key] = max(best.get(key, 0.0), phrase.weight * factor)
        scores: dict[str, float] = {}
        for (topic, _folds), score in best.items():
            scores[topic] = scores.get(topic, 0.0) + score
        return scores

    def _positions(self, text: str) -> list[_Position]:
        syllables: list[Syllable] = []
        for token in search_tokens(text):
            expansion = self.vocabulary.abbreviations.get(token.fold)
            if expansion is not None and token.fold == token.canon:
                syllables += expansion
            else:
                syllables.append(token)
        # A text typed with diacritics marks every syllable (a plain "bao" then is not "bão"); one typed
        # without them is matched on letters only.
        accented = sum(t.fold != t.canon for t in syllables) >= ACCENTED_SHARE * len(syllables) > 0
        positions = []
        for token in syllables:
            alternatives: dict[str, float] = {token.fold: 1.0}
            if token.fold not in self._known:
                decoded = telex_fold(token.fold) if not accented and token.fold.isascii() else token.fold
                if decoded != token.fold and decoded in self._known:
                    alternatives = {decoded: 1.0}
                elif len(token.fold) >= _FUZZY_MIN_LENGTH:
                    for variant in (token.fold, *_deletions(token.fold)):
                        for near in self._near.get(variant, ()):
                            alternatives.setdefault(near, FUZZY_FACTOR)
            positions.append(_Position(token.canon, accented, alternatives))
        return positions

    @staticmethod
    def _match(phrase: _Phrase, positions: Sequence[_Position], start: int) -> float:
        """The factor (0 when it does not match) of ``phrase`` read at ``start``."""
        if start + len(phrase.folds) > len(positions):
            return 0.0
        factor = 1.0
        exact = 0
        for offset, fold in enumerate(phrase.folds):
            position = positions[start + offset]
            found = position.alternatives.get(fold)
            if found is None:
                return 0.0
            if found == 1.0:
                if position.marked and position.canon != phrase.canons[offset]:
                    return 0.0  # typed with diacritics, and they differ: another word ("bảo", "bão")
                exact += 1
            else:
                factor *= found
        if exact == 0:
            return 0.0  # one syllable alone (or every one of a phrase) is too easily mistaken
        return factor
