"""Reading petitions on behalf of the citizen who sent them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import StaleAction
from storage.models import Petition
from storage.petitions import PetitionRepository


@dataclass(frozen=True, slots=True)
class PetitionPage:
    """One page of a citizen's petitions, newest first."""

    petitions: tuple[Petition, ...]
    page: int
    page_count: int
    total: int


class PetitionService:
    """What a citizen may see of their own petitions."""

    def __init__(self, petitions: PetitionRepository) -> None:
        self._petitions = petitions

    async def page_for_citizen(self, citizen_id: str, page: int, per_page: int = 5) -> PetitionPage:
        """The citizen's petitions on ``page`` (clamped into range)."""
        total = await self._petitions.count_by_citizen(citizen_id)
        page_count = max(1, -(-total // per_page))
        page = min(max(page, 0), page_count - 1)
        items = await self._petitions.list_by_citizen(citizen_id, offset=page * per_page, count=per_page)
        return PetitionPage(tuple(items), page, page_count, total)

    async def get_for_citizen(self, citizen_id: str, ticket: str) -> Petition:
        """The petition, if it belongs to this citizen; otherwise StaleAction (never someone else's)."""
        petition = await self._petitions.get(ticket)
        if petition is None or petition.citizen_id != citizen_id:
            raise StaleAction("not yours")
        return petition
