"""Finding open petitions that raise the same problem ("me too"), and the index that keeps it fast.

Similarity is the cosine of TF-IDF vectors over the *folded* syllables of two descriptions
(``vietnamese.fold_ascii``: lowercase, no diacritics, so "Đường ngập" and "duong ngap" agree),
with petition boilerplate and function words removed (``STOPWORDS``, matched with their diacritics
when the text has them), each syllable counted once
(binary term frequency) and weighted by its smoothed inverse document frequency over every indexed
open petition of the province: ``idf(t) = ln((N + 1) / (df(t) + 1)) + 1``. Two petitions are offered
as the same problem at ``SIMILARITY_THRESHOLD`` or more (calibrated on ``tests/data/similar_pairs.yaml``).

Only open petitions of the same locality and topic are compared (a *bucket*), and within a bucket an
inverted index of syllables gives the candidates that share a syllable with the query, rarest first;
the best ``CANDIDATES`` are then scored exactly. The work per search grows with the postings of the
query's syllables in one bucket, not with the number of petitions stored (README, "Me too").

The index lives in Redis (``storage.similarity``); this module is pure apart from ``SimilarityService``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from bot.domain.vietnamese import search_tokens
from storage.models import Petition, PetitionStatus
from storage.petitions import PetitionRepository
from storage.similarity import SimilarityIndex

SIMILARITY_THRESHOLD: Final = 0.3
CANDIDATES: Final = 30  # scored exactly after the inverted index's first pass
POSTINGS_BUDGET: Final = 2_000  # ids read from the inverted index per search, rarest syllables first
OFFERED: Final = 3  # similar petitions shown to the citizen at most

# Function words and petition boilerplate: they say nothing about which problem it is. With diacritics
# they are matched exactly ("sổ" is not "số"); in text typed without them only words whose folded form
# is no content word are dropped ("cho" could be "chợ", "den" could be "đèn": they stay).
_STOP_MARKED_TEXT: Final = (
    "của và là có không được cho những các một nhiều ở tại từ đến với thì mà lại còn ra vào lên xuống "
    "người dân đã đang bị rất này nay nữa rồi sẽ xin đề nghị hỏi tôi chúng em anh chị ông bà gia đình "
    "nhà gì sao thế nào để do vì nên nhưng khi đi làm việc cũng đều hết vẫn mới cả hơn quá lắm trên "
    "trong dưới sau trước ngày tháng năm giờ mong muốn giúp cần phải ai đâu ạ nhé ơi hiện nay kính "
    "gửi vậy như đó kia ấy mình bạn họ ta"
)
_STOP_PLAIN_TEXT: Final = (
    "cua va la khong duoc nhung cac mot nhieu o tai tu voi thi lai con ra vao len xuong nguoi dan da "
    "dang bi rat nay nua roi se xin nghi chung em anh chi ong ba nha gi sao the nao do vi nen khi di "
    "lam viec cung deu het van moi hon qua tren trong duoi sau truoc ngay thang nam mong muon giup can "
    "phai ai a nhe oi hien kinh gui vay kia ay minh ban ho ta ko k dc j ng"
)
STOPWORDS: Final[tuple[str, ...]] = tuple(_STOP_MARKED_TEXT.split())
_STOP_CANON: Final[frozenset[str]] = frozenset(t.canon for w in STOPWORDS for t in search_tokens(w))
_STOP_PLAIN: Final[frozenset[str]] = frozenset(_STOP_PLAIN_TEXT.split())
_ACCENTED_SHARE: Final = 0.25


def features(text: str) -> list[str]:
    """The distinct folded syllables of ``text`` that can tell problems apart, sorted."""
    tokens = search_tokens(text)
    accented = sum(t.fold != t.canon for t in tokens) >= _ACCENTED_SHARE * len(tokens) > 0
    kept = {
        t.fold
        for t in tokens
        if (len(t.fold) > 1 or t.fold.isdigit())
        and not (t.canon in _STOP_CANON if accented else t.fold in _STOP_PLAIN)
    }
    return sorted(kept)


def idf(df: int, total: int) -> float:
    """Smoothed inverse document frequency of a syllable found in ``df`` of ``total`` petitions."""
    return math.log((total + 1) / (df + 1)) + 1.0


def cosine(query: Iterable[str], document: Iterable[str], df: Mapping[str, int], total: int) -> float:
    """Cosine of the binary TF-IDF vectors of two feature sets."""
    q, d = set(query), set(document)
    if not q or not d:
        return 0.0
    weight = {t: idf(df.get(t, 0), total) for t in q | d}
    dot = sum(weight[t] ** 2 for t in q & d)
    norm = math.sqrt(sum(weight[t] ** 2 for t in q)) * math.sqrt(sum(weight[t] ** 2 for t in d))
    return dot / norm


class PetitionLoader(Protocol):
    """What the similarity service reads of petitions."""

    async def get_many(self, tickets: list[str]) -> list[Petition]:
        """Petitions in the order asked (missing ones skipped)."""
        ...

    async def open_tickets(self) -> list[str]:
        """Every open ticket."""
        ...


class OpenPetitions:
    """``PetitionLoader`` over the petitions repository."""

    def __init__(self, petitions: PetitionRepository) -> None:
        self._petitions = petitions

    async def get_many(self, tickets: list[str]) -> list[Petition]:
        """Petitions in the order asked (missing ones skipped)."""
        return await self._petitions.get_many(tickets)

    async def open_tickets(self) -> list[str]:
        """Every open ticket, oldest first."""
        open_statuses = [s.value for s in PetitionStatus if s.open311 == "open"]
        return await self._petitions.tickets_with_status(open_statuses)


@dataclass(frozen=True, slots=True)
class SimilarPetition:
    """An open petition similar to a description, with the cosine similarity."""

    petition: Petition
    score: float


class SimilarityService:
    """Keeps the index of open petitions up to date and finds those similar to a new description."""

    def __init__(
        self, index: SimilarityIndex, petitions: PetitionLoader, threshold: float = SIMILARITY_THRESHOLD
    ) -> None:
        self.index = index
        self._petitions = petitions
        self.threshold = threshold
        self._checked_built = False

    async def add(self, petition: Petition) -> None:
        """Index an open petition (or drop a closed one)."""
        if not petition.is_open:
            await self.index.drop(petition.id)
            return
        await self.index.put(
            petition.id, petition.locality_code, petition.category, features(petition.description)
        )

    async def on_change(self, before: Petition, after: Petition) -> None:
        """Follow a petition's changes: it leaves the index when it closes, moves with its topic."""
        if (before.is_open, before.locality_code, before.category) != (
            after.is_open,
            after.locality_code,
            after.category,
        ):
            await self.add(after)

    async def ensure_built(self) -> None:
        """Index every open petition once, when the index was never built (first start with this feature)."""
        if self._checked_built:
            return
        if not await self.index.is_built():
            for tickets in _chunks(await self._petitions.open_tickets(), 200):
                for petition in await self._petitions.get_many(tickets):
                    await self.add(petition)
            await self.index.mark_built()
        self._checked_built = True

    async def rebuild(self) -> int:
        """Index every open petition again (the index is derived data); returns how many are indexed."""
        self._checked_built = False
        await self.index.mark_built(False)
        await self.ensure_built()
        return await self.index.size()

    async def offered(self, tickets: Sequence[str]) -> list[SimilarPetition]:
        """The petitions offered earlier that are still open (shown again, in the same order)."""
        petitions = await self._petitions.get_many(list(tickets))
        return [SimilarPetition(p, 0.0) for p in petitions if p.is_open]

    async def similar(
        self,
        locality_code: str,
        category: str,
        description: str,
        *,
        exclude: Sequence[str] = (),
        dialogue_id: str | None = None,
        limit: int = OFFERED,
    ) -> list[SimilarPetition]:
        """Open petitions of the same locality and topic at or above the threshold, most similar first."""
        await self.ensure_built()
        query = features(description)
        scored = await self.index.search(locality_code, category, query, CANDIDATES, POSTINGS_BUDGET)
        chosen = [
            (ticket, score) for ticket, score in scored if score >= self.threshold and ticket not in exclude
        ]
        found: list[SimilarPetition] = []
        petitions = {p.id: p for p in await self._petitions.get_many([t for t, _s in chosen])}
        for ticket, score in chosen:
            petition = petitions.get(ticket)
            if petition is None or not petition.is_open:
                await self.index.drop(ticket)  # closed meanwhile: the index heals itself
                continue
            if (petition.locality_code, petition.category) != (locality_code, category):
                await self.add(petition)
                continue
            if petition.dialogue_id != dialogue_id:
                continue  # a question for a dialogue joins questions of that dialogue only
            found.append(SimilarPetition(petition, score))
            if len(found) >= limit:
                break
        return found


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
