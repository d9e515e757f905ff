"""Onboarding of officials: single-use invitation links, and admins managing the directory.

An invitation names either an official already in the directory (imported without Telegram ids: the
link binds whoever opens it to that official) or a new official (role, unit, localities, categories;
the name is taken from the person's Telegram name and the title is "—" until an admin edits it).

``redeem`` is single-use and atomic (``InviteRepository.claim`` is a WATCH/MULTI transaction): of two
people opening the same link exactly one becomes the official, the other is told it was already used.
Authorisation (only admins invite and manage) is checked by the callers with ``Actor.is_admin``.
No Telegram here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta

from bot.domain.clock import Clock
from bot.domain.directory import Directory
from bot.errors import DomainError, StaleAction, UnknownChoice
from storage.audit import AuditLog
from storage.invites import INVITE_TTL, DraftSlot, Invite, InviteDraft, InviteRepository
from storage.models import Official, Role, Unit
from storage.officials import OfficialRepository

CODE_PREFIX = "inv-"
START_PARAMETER_MAX = 64  # Telegram's deep-link limit: [A-Za-z0-9_-]{1,64}
NEW_OFFICIAL_TITLE = "—"
_CLAIM_ATTEMPTS = 8


class InviteError(DomainError):
    """An invitation link that cannot be used."""


class InviteUnknown(InviteError):
    """No such invitation: mistyped, or expired (links live 7 days)."""


class InviteAlreadyUsed(InviteError):
    """Someone already opened this link and became the official."""


class InviteNoLongerValid(InviteError):
    """The official it names is gone, inactive or linked to someone else meanwhile."""


class AlreadyLinked(InviteError):
    """The person opening the link is already an active official."""

    def __init__(self, official: Official) -> None:
        super().__init__(official.id)
        self.official = official


class FallbackDeskRequired(DomainError):
    """The fallback desk receives what no one else covers: it cannot be deactivated."""


def new_code() -> str:
    """A fresh invitation code: ``inv-`` and 32 URL-safe random characters (well under 64)."""
    code = CODE_PREFIX + secrets.token_urlsafe(24)
    assert len(code) <= START_PARAMETER_MAX
    return code


def is_invite_code(payload: str) -> bool:
    """Whether a /start payload looks like an invitation code."""
    return payload.startswith(CODE_PREFIX) and len(payload) <= START_PARAMETER_MAX


def toggled(values: Sequence[str], value: str) -> list[str]:
    """``values`` with ``value`` added, or removed when it was there (order kept)."""
    return [v for v in values if v != value] if value in values else [*values, value]


def new_official_id(unit: str, taken: Iterable[str]) -> str:
    """A short id for a new official (it travels in callback data): ``<unit>-<6 hex>``."""
    existing = set(taken)
    while True:
        candidate = f"{unit[:15]}-{secrets.token_hex(3)}"
        if candidate not in existing:
            return candidate


class OnboardingService:
    """Invitations, their redemption, and the admins' changes to officials."""

    def __init__(
        self,
        invites: InviteRepository,
        officials: OfficialRepository,
        clock: Clock,
        directory: Directory,
        audit: AuditLog | None = None,
    ) -> None:
        self._invites = invites
        self._officials = officials
        self._clock = clock
        self._directory = directory
        self._audit = audit

    async def _record(self, actor: str, action: str, **details: str) -> None:
        if self._audit is not None:
            await self._audit.append(actor, action, self._clock.now(), None, **details)

    # ------------------------------------------------------------------ directory reads

    async def officials(self) -> list[Official]:
        """Every official, by unit then name."""
        return sorted(await self._officials.all(), key=lambda o: (o.unit, o.name, o.id))

    async def unlinked(self) -> list[Official]:
        """Active officials nobody has linked yet: whom an invitation can name."""
        return [o for o in await self.officials() if o.is_active and o.telegram_id is None]

    async def official(self, official_id: str) -> Official:
        """One official; UnknownChoice for an id that does not exist (forged data)."""
        official = await self._officials.get(official_id)
        if official is None:
            raise UnknownChoice(official_id)
        return official

    async def units(self) -> list[Unit]:
        """Every unit."""
        return await self._officials.units()

    async def unit(self, key: str) -> Unit | None:
        """One unit."""
        return await self._officials.unit(key)

    async def open_cases(self, official_id: str) -> int:
        """How many open petitions the official has."""
        return (await self._officials.open_load([official_id])).get(official_id, 0)

    # ------------------------------------------------------------------ drafts

    async def start_draft(
        self,
        slot: DraftSlot,
        admin_id: int,
        *,
        official_id: str | None = None,
        localities: Sequence[str] = (),
        categories: Sequence[str] = (),
    ) -> InviteDraft:
        """A fresh draft (replacing any older one of the same admin and slot)."""
        draft = InviteDraft(
            tag=secrets.token_hex(4),
            admin_id=admin_id,
            official_id=official_id,
            localities=list(localities),
            categories=list(categories),
            created_at=self._clock.now(),
        )
        await self._invites.save_draft(slot, draft)
        return draft

    async def draft(self, slot: DraftSlot, admin_id: int, tag: str) -> InviteDraft:
        """The admin's current draft; StaleAction when it expired or a newer one replaced it."""
        draft = await self._invites.draft(slot, admin_id)
        if draft is None or draft.tag != tag:
            raise StaleAction(tag)
        return draft

    async def save_draft(self, slot: DraftSlot, draft: InviteDraft) -> None:
        """Write the draft back (renewing its short TTL)."""
        await self._invites.save_draft(slot, draft)

    async def drop_draft(self, slot: DraftSlot, admin_id: int) -> None:
        """Forget the admin's draft."""
        await self._invites.delete_draft(slot, admin_id)

    def check_locality(self, code: str) -> str:
        """A current locality code, or UnknownChoice."""
        if self._directory.locality(code) is None:
            raise UnknownChoice(code)
        return code

    def check_category(self, key: str) -> str:
        """A category key of the province, or UnknownChoice."""
        if self._directory.category(key) is None:
            raise UnknownChoice(key)
        return key

    # ------------------------------------------------------------------ invitations

    async def create_invite(
        self,
        invited_by: int,
        invited_by_name: str,
        *,
        official_id: str | None = None,
        role: Role | None = None,
        unit: str | None = None,
        localities: Sequence[str] = (),
        categories: Sequence[str] = (),
        ttl: timedelta = INVITE_TTL,
    ) -> Invite:
        """Issue a single-use invitation (its ``code`` goes into the deep link); stored for ``ttl``."""
        if official_id is not None:
            target = await self.official(official_id)
            if not target.is_active or target.telegram_id is not None:
                raise UnknownChoice(official_id)
            role, unit, localities, categories = None, None, (), ()
        else:
            if role is None or unit is None or await self._officials.unit(unit) is None:
                raise UnknownChoice(unit or "")
            for code in localities:
                self.check_locality(code)
            for key in categories:
                self.check_category(key)
        now = self._clock.now()
        while True:
            invite = Invite(
                code=new_code(),
                official_id=official_id,
                role=role,
                unit=unit,
                localities=list(localities),
                categories=list(categories),
                invited_by=invited_by,
                invited_by_name=invited_by_name,
                created_at=now,
                expires_at=now + ttl,
            )
            if await self._invites.create(invite, ttl):
                await self._record(
                    f"admin:{invited_by}", "invite", official=official_id or "", role=str(role or "")
                )
                return invite

    async def invite(self, code: str) -> Invite | None:
        """The stored invitation (used or not), or None."""
        return await self._invites.get(code)

    async def redeem(self, code: str, telegram_id: int, display_name: str) -> Official:
        """Make the person who opened the link the official it names; single-use and atomic.

        Raises InviteUnknown (unknown or expired), InviteAlreadyUsed, AlreadyLinked (the person is
        already an active official: the invitation stays usable for the right person) or
        InviteNoLongerValid (the named official left the directory or was linked meanwhile).
        """
        if not is_invite_code(code):
            raise InviteUnknown(code)
        for _attempt in range(_CLAIM_ATTEMPTS):
            invite = await self._invites.get(code)
            now = self._clock.now()
            if invite is None or invite.expires_at <= now:
                raise InviteUnknown(code)
            current = await self._officials.by_telegram(telegram_id)
            if current is not None and current.is_active:
                raise AlreadyLinked(current)  # also when they reopen the link they used
            if invite.is_used:
                raise InviteAlreadyUsed(code)
            official = await self._target(invite, telegram_id, display_name)
            claimed = await self._invites.claim(
                code, official, expected_link=current.id if current else None, at=now
            )
            if not claimed:
                continue  # something changed meanwhile: read again (then usually "already used")
            if current is not None and current.id != official.id:
                # The person was linked to an inactive official: that one is no longer theirs.
                await self._officials.save(current.model_copy(update={"telegram_id": None}))
            await self._officials.save(official)
            await self._record(f"official:{official.id}", "invite_redeemed", official=official.id)
            return official
        raise InviteAlreadyUsed(code)

    async def _target(self, invite: Invite, telegram_id: int, display_name: str) -> Official:
        """The official the invitation makes of ``telegram_id`` (not stored yet)."""
        if invite.official_id is not None:
            official = await self._officials.get(invite.official_id)
            if official is None or not official.is_active:
                raise InviteNoLongerValid(invite.code)
            if official.telegram_id is not None and official.telegram_id != telegram_id:
                raise InviteNoLongerValid(invite.code)
            return official.model_copy(update={"telegram_id": telegram_id})
        if invite.unit is None or invite.role is None:
            raise InviteNoLongerValid(invite.code)
        taken = [o.id for o in await self._officials.all()]
        name = " ".join(display_name.split())[:120] or str(telegram_id)
        return Official(
            id=new_official_id(invite.unit, taken),
            telegram_id=telegram_id,
            name=name,
            title=NEW_OFFICIAL_TITLE,
            unit=invite.unit,
            role=invite.role,
            localities=list(invite.localities),
            categories=list(invite.categories),
        )

    # ------------------------------------------------------------------ managing officials

    async def set_active(self, official_id: str, active: bool, *, actor: str = "admin") -> Official:
        """Deactivate or reactivate; the fallback desk cannot be deactivated."""
        official = await self.official(official_id)
        if not active:
            settings = await self._officials.settings()
            if official.is_fallback or (
                settings is not None and settings.fallback_official_id == official.id
            ):
                raise FallbackDeskRequired(official_id)
        if official.is_active == active:
            return official
        updated = official.model_copy(update={"is_active": active})
        await self._officials.save(updated)
        await self._record(actor, "reactivate" if active else "deactivate", official=official_id)
        return updated

    async def set_localities(
        self, official_id: str, codes: Sequence[str], *, actor: str = "admin"
    ) -> Official:
        """Change whom the official covers: these localities, or the whole province when empty."""
        official = await self.official(official_id)
        updated = official.model_copy(update={"localities": [self.check_locality(c) for c in codes]})
        await self._officials.save(updated)
        await self._record(actor, "coverage_localities", official=official_id, localities=",".join(codes))
        return updated

    async def set_categories(
        self, official_id: str, keys: Sequence[str], *, actor: str = "admin"
    ) -> Official:
        """Change the categories the official handles: these, or every category when empty."""
        official = await self.official(official_id)
        updated = official.model_copy(update={"categories": [self.check_category(k) for k in keys]})
        await self._officials.save(updated)
        await self._record(actor, "coverage_categories", official=official_id, categories=",".join(keys))
        return updated
