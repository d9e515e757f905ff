"""Citizens' data rights (Luật 91/2025, Nghị định 356/2025) and abuse limits.

- know / view / copy: ``summary`` and ``export`` (everything stored about the citizen);
- withdraw consent per purpose (``withdraw``): processing already done is not undone;
- delete (``erase``): personal data erased, petitions kept anonymised for the officials and statistics;
- retention (``sweep_retention``): closed petitions anonymised after ``retention_days``, by one process;
- abuse: a daily petition limit, flood throttling, admins' block and unblock (audited).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.citizens import CONSENT_TEXT_VERSION
from bot.domain.clock import Clock
from storage.audit import AuditLog
from storage.citizens import CitizenRepository
from storage.cosign import CoSignRepository
from storage.keys import Keys
from storage.models import BlockRecord, Citizen, ConsentPurpose, ConsentRecord, Petition, PetitionStatus
from storage.petitions import PetitionRepository
from storage.privacy import PrivacyRepository

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ERASED_PREFIX = "erased:"
SWEEP_LEASE_SECONDS = 600
SWEEP_BATCH = 200
ERASE_ATTEMPTS = 5


class FloodVerdict(StrEnum):
    """What to do with an update, given the citizen's rate."""

    OK = "ok"
    WARN = "warn"  # the first update over the limit: say "please slow down" once
    DROP = "drop"  # ignore until the window passes


@dataclass(frozen=True, slots=True)
class PrivacySummary:
    """What is stored about a citizen, for /privacy."""

    citizen: Citizen
    consents: list[ConsentRecord]
    tickets: list[str]
    subscriptions: list[str] = field(default_factory=list)


def opaque_id() -> str:
    """An id that stands for an erased citizen and leads back to no one."""
    return ERASED_PREFIX + secrets.token_hex(8)


def is_erased(petition: Petition) -> bool:
    """Whether the petition no longer names its citizen."""
    return petition.citizen_id.startswith(ERASED_PREFIX)


def anonymised(petition: Petition, opaque: str) -> Petition:
    """The petition without its citizen's identity: what officials and statistics keep."""
    return petition.model_copy(
        update={
            "citizen_id": opaque,
            "contact_name": None,
            "contact_phone": None,
            "is_anonymous": True,
            "version": petition.version + 1,
        }
    )


def closed_at(petition: Petition) -> datetime:
    """When the petition was closed (its last "closed" history entry, else its last update)."""
    for entry in reversed(petition.history):
        if entry.status == PetitionStatus.CLOSED:
            return entry.at
    return petition.updated_at


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The start and end of ``now``'s day in Hà Tĩnh (Asia/Ho_Chi_Minh)."""
    start = datetime.combine(now.astimezone(TZ).date(), time(0), TZ)
    return start, start + timedelta(days=1)


class PrivacyService:
    """The citizen's rights over their data, retention, and abuse limits."""

    def __init__(
        self,
        citizens: CitizenRepository,
        petitions: PetitionRepository,
        privacy: PrivacyRepository,
        audit: AuditLog,
        keys: Keys,
        clock: Clock,
        *,
        retention_days: int = 1825,
        max_petitions_per_day: int = 5,
        flood_max_updates: int = 20,
        flood_window_seconds: int = 60,
    ) -> None:
        self._citizens = citizens
        self._petitions = petitions
        self._privacy = privacy
        self._audit = audit
        self._keys = keys
        self._clock = clock
        self.retention_days = retention_days
        self.max_petitions_per_day = max_petitions_per_day
        self.flood_max_updates = flood_max_updates
        self.flood_window_seconds = flood_window_seconds
        self.cosign: CoSignRepository | None = None  # co-signers ("me too") are anonymised with the petition

    # --- know, view, copy -------------------------------------------------------------------------

    async def _tickets(self, citizen_id: str) -> list[str]:
        count = await self._petitions.count_by_citizen(citizen_id)
        petitions = await self._petitions.list_by_citizen(citizen_id, count=max(count, 1))
        return [p.id for p in reversed(petitions)]

    async def summary(self, citizen: Citizen) -> PrivacySummary:
        """What is stored about the citizen."""
        subscriptions: list[str] = []
        if hasattr(self._keys, "citizen_subscriptions"):
            stored = await self._privacy.dump(self._keys.citizen_subscriptions(citizen.id))
            subscriptions = [str(s) for s in stored or []]
        return PrivacySummary(
            citizen=citizen,
            consents=await self._citizens.consents(citizen.id),
            tickets=await self._tickets(citizen.id),
            subscriptions=subscriptions,
        )

    async def export(self, citizen: Citizen) -> dict[str, Any]:
        """A copy of everything stored about the citizen (JSON-able): profile, consent log, petitions
        with their history (officials' internal notes excepted), and every other registered key."""
        count = await self._petitions.count_by_citizen(citizen.id)
        petitions = await self._petitions.list_by_citizen(citizen.id, count=max(count, 1))
        copies = []
        for petition in reversed(petitions):
            data = petition.model_dump(mode="json")
            data["history"] = [e.model_dump(mode="json") for e in petition.history if not e.internal]
            copies.append(data)
        covered = {
            self._keys.citizen(citizen.id),
            self._keys.citizen_consents(citizen.id),
            self._keys.petitions_by_citizen(citizen.id),
            self._keys.flood(citizen.id),
        }
        other: dict[str, Any] = {}
        root = self._keys.root + ":"
        for key in self._keys.personal_data_keys(citizen.id):
            if key not in covered:
                value = await self._privacy.dump(key)
                if value is not None:
                    other[key.removeprefix(root)] = value
        memberships = await self._privacy.memberships(citizen.id)
        return {
            "generated_at": self._clock.now().isoformat(),
            "privacy_notice_version": CONSENT_TEXT_VERSION,
            "profile": citizen.model_dump(mode="json"),
            "consent_log": [r.model_dump(mode="json") for r in await self._citizens.consents(citizen.id)],
            "petitions": copies,
            "other_records": other,
            "listed_in": sorted(key.removeprefix(root) for key in memberships),
        }

    # --- withdraw, delete ------------------------------------------------------------------------

    async def withdraw(self, citizen: Citizen, purpose: ConsentPurpose, language: str) -> ConsentRecord:
        """Withdraw consent to one purpose (the others unchanged), logged as a new decision."""
        current = citizen.consent.choices if citizen.consent is not None else {}
        choices = {p: bool(current.get(p, False)) for p in ConsentPurpose}
        choices[purpose] = False
        now = self._clock.now()
        record = ConsentRecord(at=now, text_version=CONSENT_TEXT_VERSION, choices=choices, language=language)
        citizen.consent = record
        citizen.updated_at = now
        await self._citizens.save_with_consent(citizen, record)
        return record

    async def erase(self, citizen: Citizen) -> list[str]:
        """Erase the citizen's personal data; their petitions stay, anonymised. Returns the kept tickets."""
        opaque = opaque_id()
        for _attempt in range(ERASE_ATTEMPTS):
            tickets = await self._tickets(citizen.id)
            petitions = await self._petitions.get_many(tickets)
            changes = [(p, anonymised(p, opaque)) for p in petitions]
            if await self._privacy.erase(citizen.id, changes):
                await self._audit.append(
                    "citizen", "data_erasure", self._clock.now(), petitions=str(len(changes))
                )
                return tickets
        raise RuntimeError("erasure kept conflicting with concurrent changes")

    # --- retention -------------------------------------------------------------------------------

    async def sweep_retention(self) -> list[str]:
        """Anonymise closed petitions older than the retention period; one process at a time (a lock
        with a lease in Redis). Returns the tickets anonymised by this call."""
        token = await self._privacy.lock_sweep(SWEEP_LEASE_SECONDS)
        if token is None:
            return []
        done: list[str] = []
        try:
            now = self._clock.now()
            cutoff = now - timedelta(days=self.retention_days)
            tickets = await self._privacy.closed_tickets_created_before(cutoff.timestamp())
            for start in range(0, len(tickets), SWEEP_BATCH):
                for petition in await self._petitions.get_many(tickets[start : start + SWEEP_BATCH]):
                    if (
                        petition.status != PetitionStatus.CLOSED
                        or is_erased(petition)
                        or closed_at(petition) > cutoff
                    ):
                        continue
                    if await self._privacy.anonymise([(petition, anonymised(petition, opaque_id()))]):
                        if self.cosign is not None:
                            await self.cosign.anonymise(petition.id, ERASED_PREFIX)
                        await self._audit.append(
                            "system", "retention_anonymised", now, petition.id, days=str(self.retention_days)
                        )
                        done.append(petition.id)
        finally:
            await self._privacy.unlock_sweep(token)
        return done

    # --- abuse -----------------------------------------------------------------------------------

    async def petitions_today(self, citizen_id: str) -> int:
        """How many petitions the citizen created today (Hà Tĩnh time)."""
        start, end = day_bounds(self._clock.now())
        return await self._privacy.petitions_between(citizen_id, start.timestamp(), end.timestamp())

    async def daily_limit_reached(self, citizen_id: str) -> bool:
        """Whether the citizen may not create another petition today."""
        return await self.petitions_today(citizen_id) >= self.max_petitions_per_day

    async def flood(self, citizen_id: str) -> FloodVerdict:
        """Count an update; over the limit, warn once then drop until the window passes."""
        count = await self._privacy.hit(citizen_id, self.flood_window_seconds)
        if count <= self.flood_max_updates:
            return FloodVerdict.OK
        return FloodVerdict.WARN if count == self.flood_max_updates + 1 else FloodVerdict.DROP

    async def block(self, citizen_id: str, reason: str, by: str, ticket: str | None = None) -> Citizen | None:
        """Block a stored citizen with a reason (recorded on them and in the audit trail); None if unknown."""
        citizen = await self._citizens.get(citizen_id)
        if citizen is None:
            return None
        now = self._clock.now()
        ref = citizen.block.ref if citizen.block else "c-" + secrets.token_hex(6)
        citizen.block = BlockRecord(at=now, by=by, reason=reason, ref=ref)
        citizen.updated_at = now
        await self._citizens.save(citizen)
        await self._audit.append(by, "citizen_blocked", now, ticket, citizen=ref, reason=reason)
        return citizen

    async def unblock(
        self, citizen_id: str, reason: str, by: str, ticket: str | None = None
    ) -> Citizen | None:
        """Lift a block (audited); None when the citizen is unknown or not blocked."""
        citizen = await self._citizens.get(citizen_id)
        if citizen is None or citizen.block is None:
            return None
        now = self._clock.now()
        ref = citizen.block.ref
        citizen.block = None
        citizen.updated_at = now
        await self._citizens.save(citizen)
        await self._audit.append(by, "citizen_unblocked", now, ticket, citizen=ref, reason=reason)
        return citizen

    async def mark_block_notified(self, citizen: Citizen) -> bool:
        """Record that the blocked citizen was told; False when they already had been."""
        if citizen.block is None or citizen.block.notified:
            return False
        citizen.block = citizen.block.model_copy(update={"notified": True})
        await self._citizens.save(citizen)
        return True

    async def stored_citizen(self, citizen_id: str) -> Citizen | None:
        """The stored citizen, or None."""
        return await self._citizens.get(citizen_id)
