"""Subscriptions to announcements: a separate, optional consent (ConsentPurpose.ANNOUNCEMENTS).

Subscribing needs that consent; giving it from /subscribe records a new consent decision (the other
purposes unchanged). Any decision without it (/start's form, /privacy's withdrawal) ends every
subscription in the transaction that records it (``CitizenRepository.save_with_consent``).
"""

from __future__ import annotations

from bot.domain.citizens import CONSENT_PURPOSES, CONSENT_TEXT_VERSION
from bot.domain.clock import Clock
from bot.domain.directory import Directory
from bot.errors import UnknownChoice
from storage.citizens import CitizenRepository
from storage.models import Citizen, ConsentPurpose, ConsentRecord
from storage.subscriptions import PROVINCE, SubscriptionRepository

__all__ = ["PROVINCE", "SubscriptionService", "has_announcement_consent"]


def has_announcement_consent(citizen: Citizen) -> bool:
    """Whether the citizen's latest consent decision allows announcements."""
    return citizen.consent is not None and citizen.consent.allows(ConsentPurpose.ANNOUNCEMENTS)


class SubscriptionService:
    """Subscribe, unsubscribe, list; the one-time offer after a first petition."""

    def __init__(
        self, repo: SubscriptionRepository, citizens: CitizenRepository, directory: Directory, clock: Clock
    ) -> None:
        self.repo = repo
        self._citizens = citizens
        self._directory = directory
        self._clock = clock

    def check_target(self, target: str) -> str:
        """A locality code of the directory or ``province``; UnknownChoice otherwise."""
        if target != PROVINCE and self._directory.locality(target) is None:
            raise UnknownChoice(target)
        return target

    async def grant_announcements(self, citizen: Citizen, language: str) -> ConsentRecord:
        """Record a new consent decision adding announcements to the citizen's current choices."""
        now = self._clock.now()
        previous = citizen.consent
        choices = {p: (previous.allows(p) if previous else False) for p in CONSENT_PURPOSES}
        choices[ConsentPurpose.ANNOUNCEMENTS] = True
        record = ConsentRecord(at=now, text_version=CONSENT_TEXT_VERSION, choices=choices, language=language)
        citizen.consent = record
        citizen.language = citizen.language or language
        citizen.updated_at = now
        await self._citizens.save_with_consent(citizen, record)
        return record

    async def subscribe(self, citizen: Citizen, targets: list[str]) -> None:
        """Add subscriptions (consent to announcements required)."""
        if not has_announcement_consent(citizen):
            raise PermissionError("announcements consent required")
        await self.repo.add(int(citizen.external_id), [self.check_target(t) for t in targets])

    async def unsubscribe(self, telegram_id: int, targets: list[str] | None = None) -> list[str]:
        """Remove some subscriptions, or all (None)."""
        return await self.repo.remove(telegram_id, targets)

    async def of(self, telegram_id: int) -> list[str]:
        """Current subscriptions."""
        return await self.repo.of(telegram_id)

    async def should_offer(self, citizen: Citizen, locality_code: str) -> bool:
        """True once per citizen (recorded in Redis), unless they already get that locality's news."""
        if locality_code in await self.repo.of(int(citizen.external_id)):
            return False
        return await self.repo.mark_offered(citizen.id)
