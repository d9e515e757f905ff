"""Co-signers ("me too"): citizens who joined an open petition instead of filing the same problem again.

A co-signer gets the petition's status news and the verdict question; officials see how many there are,
never who. "Delete my data" removes the co-signature (``storage.keys`` personal data registry).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.clock import Clock
from storage.cosign import CoSignRepository
from storage.models import Petition
from storage.outbox import OutboxEntry
from storage.petitions import PetitionRepository


@dataclass(frozen=True, slots=True)
class CoSignerVerdict:
    """A co-signer's answer to "Has your concern been resolved?" (kept beside the petitioner's)."""

    resolved: bool | None = None
    rating: int | None = None
    comment: str | None = None


class CoSignService:
    """Who joined which petition, how many, and the co-signers' verdicts."""

    def __init__(self, repo: CoSignRepository, petitions: PetitionRepository, clock: Clock) -> None:
        self.repo = repo
        self._petitions = petitions
        self._clock = clock

    async def co_signers(self, ticket: str) -> list[str]:
        """The citizen ids of the petition's co-signers (for status news; never shown to officials)."""
        return await self.repo.members(ticket)

    async def count(self, ticket: str) -> int:
        """How many citizens joined the petition."""
        return (await self.repo.counts([ticket]))[ticket]

    async def counts(self, tickets: Sequence[str]) -> dict[str, int]:
        """How many citizens joined each petition."""
        return await self.repo.counts(list(dict.fromkeys(tickets)))

    async def is_co_signer(self, ticket: str, citizen_id: str) -> bool:
        """Whether the citizen joined this petition."""
        return await self.repo.is_member(ticket, citizen_id)

    async def joined_by(self, citizen_id: str) -> list[Petition]:
        """The petitions the citizen joined, most recent first."""
        return await self._petitions.get_many(await self.repo.joined_by(citizen_id))

    async def record_verdict(
        self,
        ticket: str,
        citizen_id: str,
        *,
        resolved: bool | None = None,
        rating: int | None = None,
        comment: str | None = None,
    ) -> CoSignerVerdict:
        """Store (part of) a co-signer's verdict; the fields not given keep their earlier value."""
        stored = await self.repo.verdict(ticket, citizen_id) or {}
        if resolved is not None:
            stored["resolved"] = resolved
        if rating is not None:
            stored["rating"] = rating
        if comment is not None:
            stored["comment"] = comment
        stored["at"] = self._clock.now().isoformat()
        await self.repo.set_verdict(ticket, citizen_id, stored)
        return CoSignerVerdict(stored.get("resolved"), stored.get("rating"), stored.get("comment"))

    async def verdict(self, ticket: str, citizen_id: str) -> CoSignerVerdict | None:
        """A co-signer's verdict, if they answered."""
        stored = await self.repo.verdict(ticket, citizen_id)
        if stored is None:
            return None
        return CoSignerVerdict(stored.get("resolved"), stored.get("rating"), stored.get("comment"))


# What a change owes the petitioner that those who joined get too: status news (not a question asked of
# the petitioner alone), an official's answer written in the team chat, the verdict question, dialogue
# outcomes, escalation and closing notices.
CO_SIGNER_KINDS = frozenset({"news", "relay_to_citizen", "verdict", "outcome_news", "escalated", "closed"})


def for_co_signers(entries: Sequence[OutboxEntry], petition: Petition) -> list[OutboxEntry]:
    """The entries, among those a change owes the petition's citizen, that each co-signer gets too (the
    storage script records one per co-signer, in the same write as the change)."""
    shared = []
    for entry in entries:
        if entry.lane != petition.citizen_id or entry.official_id is not None:
            continue
        if entry.kind not in CO_SIGNER_KINDS:
            continue
        if entry.kind == "news" and entry.data.get("action") == "ask":
            continue  # a question for the petitioner: only they can answer it
        shared.append(entry.model_copy(update={"data": {**entry.data, "co_signer": "1"}}, deep=True))
    return shared
