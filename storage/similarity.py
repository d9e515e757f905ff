"""The "me too" index of open petitions in Redis: buckets per (locality, topic) and an inverted index.

Petitions are stored in the index by *number*, ``year * 10**8 + sequence`` ("HT-2026-000123" →
202600000123), so that buckets and posting sets are sets of integers (Redis keeps small ones as
compact intsets). Writes go through one Lua script that checks the document it replaces (so two
writers never leave postings behind); searches are reads in a few pipelined round trips.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import redis.asyncio as aioredis

from storage.connection import load_script
from storage.keys import Keys

_TICKET = re.compile(r"^(?P<prefix>[A-Z]{1,6})-(?P<year>\d{4})-(?P<seq>\d{1,8})$")
_SEQ_SPAN = 10**8
_ATTEMPTS = 10  # every round one concurrent writer succeeds


def ticket_number(ticket: str) -> int | None:
    """The index's number of a ticket ("HT-2026-000123" → 202600000123); None when it is not one."""
    match = _TICKET.match(ticket)
    if match is None:
        return None
    return int(match["year"]) * _SEQ_SPAN + int(match["seq"])


def number_ticket(prefix: str, number: int) -> str:
    """The ticket of an index number (``%06d`` sequence, as the petition script writes it)."""
    year, seq = divmod(number, _SEQ_SPAN)
    return f"{prefix}-{year}-{seq:06d}"


def smoothed_idf(df: int, total: int) -> float:
    """``ln((total + 1) / (df + 1)) + 1`` (see ``bot.domain.similarity``)."""
    return math.log((total + 1) / (df + 1)) + 1.0


class SimilarityIndex:
    """Reads and writes ``similar:*`` keys."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, ticket_prefix: str) -> None:
        self._redis = redis
        self._keys = keys
        self._prefix = ticket_prefix
        self._script = redis.register_script(load_script("similar_index.lua"))

    async def put(self, ticket: str, locality_code: str, category: str, tokens: Sequence[str]) -> None:
        """Index (or re-index) an open petition's distinct folded syllables in its bucket."""
        if not tokens:
            await self.drop(ticket)
            return
        doc = f"{locality_code}|{category}|{' '.join(sorted(set(tokens)))}"
        await self._write(ticket, doc)

    async def drop(self, ticket: str) -> None:
        """Take a petition out of the index (closed, or nothing to compare)."""
        await self._write(ticket, "")

    async def _write(self, ticket: str, doc: str) -> None:
        number = ticket_number(ticket)
        if number is None:
            return
        for _attempt in range(_ATTEMPTS):
            current = str(await self._redis.hget(self._keys.similar_docs(), str(number)) or "")
            if current == doc:
                return
            old_bucket, old_tokens = self._parse(current)
            new_bucket, new_tokens = self._parse(doc)
            placeholder = self._keys.similar_bucket("-", "-")
            keys = [
                self._keys.similar_docs(),
                self._keys.similar_df(),
                self._keys.similar_bucket(*old_bucket) if old_bucket else placeholder,
                self._keys.similar_bucket(*new_bucket) if new_bucket else placeholder,
                *[self._keys.similar_postings(*old_bucket, t) for t in old_tokens if old_bucket],
                *[self._keys.similar_postings(*new_bucket, t) for t in new_tokens if new_bucket],
            ]
            args: list[str | int] = [
                str(number),
                current,
                doc,
                len(old_tokens),
                len(new_tokens),
                *old_tokens,
                *new_tokens,
            ]
            if int(await self._script(keys=keys, args=args)) == 1:
                return
        raise RuntimeError(f"similarity index: {ticket} kept changing")

    @staticmethod
    def _parse(doc: str) -> tuple[tuple[str, str] | None, list[str]]:
        if not doc:
            return None, []
        locality, category, tokens = doc.split("|", 2)
        return (locality, category), tokens.split()

    async def search(
        self, locality_code: str, category: str, tokens: Sequence[str], candidates: int, budget: int
    ) -> list[tuple[str, float]]:
        """Tickets of the bucket sharing a syllable with ``tokens``, with their cosine, best first."""
        query = sorted(set(tokens))
        if not query:
            return []
        keys = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hlen(keys.similar_docs())
            pipe.hmget(keys.similar_df(), query)
            for token in query:
                pipe.scard(keys.similar_postings(locality_code, category, token))
            total, dfs, *sizes = await pipe.execute()
        total = int(total)
        df = {t: int(v or 0) for t, v in zip(query, dfs, strict=True)}
        weight = {t: smoothed_idf(df[t], total) for t in query}
        # First pass: candidates through the rarest syllables first, within a budget of ids read.
        chosen, spent = [], 0
        for size, token in sorted(zip((int(s) for s in sizes), query, strict=True)):
            if size == 0:
                continue
            if spent and spent + size > budget:
                break
            chosen.append(token)
            spent += size
        if not chosen:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for token in chosen:
                pipe.smembers(keys.similar_postings(locality_code, category, token))
            postings = await pipe.execute()
        partial: dict[str, float] = {}
        for token, members in zip(chosen, postings, strict=True):
            for member in members:
                partial[member] = partial.get(member, 0.0) + weight[token] ** 2
        best = sorted(partial, key=lambda m: (-partial[m], -int(m)))[:candidates]
        # Second pass: the exact cosine of the best candidates, with every syllable's weight.
        docs = await self._redis.hmget(keys.similar_docs(), best)
        features: dict[str, set[str]] = {}
        for member, doc in zip(best, docs, strict=True):
            if doc:
                bucket, tokens_of_doc = self._parse(str(doc))
                if bucket == (locality_code, category):
                    features[member] = set(tokens_of_doc)
        missing = sorted({t for doc_set in features.values() for t in doc_set} - set(query))
        if missing:
            values = await self._redis.hmget(keys.similar_df(), missing)
            weight.update({t: smoothed_idf(int(v or 0), total) for t, v in zip(missing, values, strict=True)})
        query_norm = math.sqrt(sum(weight[t] ** 2 for t in query))
        scored = []
        for member, doc_set in features.items():
            dot = sum(weight[t] ** 2 for t in doc_set.intersection(query))
            norm = math.sqrt(sum(weight[t] ** 2 for t in doc_set))
            scored.append((number_ticket(self._prefix, int(member)), dot / (query_norm * norm)))
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored

    async def size(self) -> int:
        """How many petitions are indexed."""
        return int(await self._redis.hlen(self._keys.similar_docs()))

    async def is_built(self) -> bool:
        """Whether every open petition was indexed once."""
        return bool(await self._redis.exists(self._keys.similar_built()))

    async def mark_built(self, built: bool = True) -> None:
        """Record that every open petition was indexed (or forget it, to index again)."""
        if built:
            await self._redis.set(self._keys.similar_built(), "1")
        else:
            await self._redis.delete(self._keys.similar_built())
