"""Citizens: who they are to the bot, their language and their consent (Luật 91/2025).

Consent is asked per purpose, nothing pre-selected; each decision is appended to a log with its
time, the version of the text shown and the choices. Someone who declines has nothing stored but
that refusal (and the language they chose to read it in).

The form's buttons carry the choices the form showed when it was pressed (``encode_choices``), so what
is saved is what the citizen saw ticked, whatever other presses did to the session meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.clock import Clock
from bot.errors import NothingChosen
from storage.citizens import CitizenRepository
from storage.models import Citizen, ConsentPurpose, ConsentRecord, Session

CONSENT_TEXT_VERSION = "2026-11-27"
CONSENT_PURPOSES = (ConsentPurpose.PETITIONS, ConsentPurpose.ANNOUNCEMENTS)


def citizen_id(channel: str, external_id: str | int) -> str:
    """The channel-qualified id of a citizen, e.g. ``tg:123456``."""
    return f"{channel}:{external_id}"


def encode_choices(choices: Mapping[ConsentPurpose, bool]) -> str:
    """The ticks a consent form shows, as one digit per purpose (``"10"``: petitions only)."""
    return "".join("1" if choices.get(p, False) else "0" for p in CONSENT_PURPOSES)


def decode_choices(code: str) -> dict[ConsentPurpose, bool] | None:
    """The ticks a pressed form showed; None for anything that is not such a code."""
    if len(code) != len(CONSENT_PURPOSES) or set(code) - {"0", "1"}:
        return None
    return {p: digit == "1" for p, digit in zip(CONSENT_PURPOSES, code, strict=True)}


class CitizenService:
    """Looks citizens up and records their choices."""

    def __init__(self, citizens: CitizenRepository, clock: Clock) -> None:
        self._citizens = citizens
        self._clock = clock

    async def get(self, channel: str, external_id: str) -> Citizen:
        """The stored citizen, or an unsaved new one."""
        cid = citizen_id(channel, external_id)
        citizen = await self._citizens.get(cid)
        if citizen is None:
            now = self._clock.now()
            citizen = Citizen(
                id=cid, channel=channel, external_id=external_id, created_at=now, updated_at=now
            )
        return citizen

    async def set_language(self, citizen: Citizen, language: str) -> None:
        """Remember the language the citizen chose."""
        citizen.language = language
        citizen.updated_at = self._clock.now()
        await self._citizens.save(citizen)

    def toggle_choice(
        self, session: Session, purpose: ConsentPurpose, shown: Mapping[ConsentPurpose, bool]
    ) -> None:
        """Tick or untick one purpose of the form as it was ``shown`` (nothing is stored as consent yet)."""
        choices = {p: shown.get(p, False) for p in CONSENT_PURPOSES}
        choices[purpose] = not choices.get(purpose, False)
        session.consent_choices = choices

    async def decide(
        self,
        citizen: Citizen,
        session: Session,
        language: str,
        choices: Mapping[ConsentPurpose, bool] | None,
    ) -> ConsentRecord:
        """Record the choices the pressed form showed as the citizen's consent; ``None`` refuses
        everything. Continue with nothing ticked is no decision (NothingChosen): refusing is its own
        button."""
        if choices is None:
            choices = {p: False for p in CONSENT_PURPOSES}
        elif not any(choices.get(p, False) for p in CONSENT_PURPOSES):
            raise NothingChosen()
        choices = {p: choices.get(p, False) for p in CONSENT_PURPOSES}
        now = self._clock.now()
        record = ConsentRecord(at=now, text_version=CONSENT_TEXT_VERSION, choices=choices, language=language)
        citizen.consent = record
        citizen.language = citizen.language or language
        citizen.updated_at = now
        await self._citizens.save_with_consent(citizen, record)
        session.consent_choices = {}
        return record

    async def consents(self, citizen: Citizen) -> list[ConsentRecord]:
        """Every consent decision of the citizen, oldest first."""
        return await self._citizens.consents(citizen.id)


def has_petition_consent(citizen: Citizen) -> bool:
    """Whether the citizen's latest decision allows handling their petitions."""
    return citizen.consent is not None and citizen.consent.allows(ConsentPurpose.PETITIONS)
