"""Onboarding invitations (``invite:<code>``, 7 days) and the admins' drafts of them.

An invitation is a single-use deep link: ``claim`` marks it used and links the Telegram user to the
official in one WATCH/MULTI transaction, so two people opening the same link cannot both win. A used
invitation stays stored (with who used it) until its TTL ends, so a second opener is told "already
used" rather than "unknown".

Drafts are what an admin is choosing in the ``/invite`` flow or while changing an official's coverage;
they live under ``invite:draft-<telegram id>`` and ``invite:edit-<telegram id>`` (real codes start with
``inv-``, so they never collide) with a short TTL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import redis.asyncio as aioredis
from pydantic import Field
from redis.exceptions import WatchError

from storage.keys import Keys
from storage.models import Official, Role, Stored

INVITE_TTL = timedelta(days=7)
DRAFT_TTL = timedelta(hours=2)

DraftSlot = Literal["draft", "edit"]


class Invite(Stored):
    """A single-use onboarding link: for an official of the directory, or for a new official."""

    schema_version: Literal[1] = 1
    code: str
    # Either an existing official of the directory...
    official_id: str | None = None
    # ...or a new one, with the coverage the admin chose (empty = province-wide / every category).
    role: Role | None = None
    unit: str | None = None
    localities: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    invited_by: int
    invited_by_name: str
    created_at: datetime
    expires_at: datetime
    used_by: int | None = None
    used_at: datetime | None = None
    joined_official_id: str | None = None

    @property
    def is_used(self) -> bool:
        """Whether someone already opened it successfully."""
        return self.used_by is not None


class InviteDraft(Stored):
    """An admin's choices in progress; ``tag`` travels in callback data so old keyboards go stale."""

    schema_version: Literal[1] = 1
    tag: str
    admin_id: int
    official_id: str | None = None
    role: Role | None = None
    unit: str | None = None
    localities: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    created_at: datetime


def _ms(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() * 1000))


class InviteRepository:
    """Reads and writes ``invite:*``."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, code: str) -> Invite | None:
        """The invitation (used or not), or None when unknown or expired."""
        raw = await self._redis.get(self._keys.invite(code))
        return Invite.model_validate_json(raw) if raw else None

    async def create(self, invite: Invite, ttl: timedelta = INVITE_TTL) -> bool:
        """Store a new invitation; False if the code exists already (never overwritten)."""
        created = await self._redis.set(
            self._keys.invite(invite.code), invite.model_dump_json(), px=_ms(ttl), nx=True
        )
        return bool(created)

    async def ttl(self, code: str) -> timedelta | None:
        """How long the invitation still lives, or None when it does not exist."""
        ms = await self._redis.pttl(self._keys.invite(code))
        return timedelta(milliseconds=ms) if ms >= 0 else None

    async def claim(
        self,
        code: str,
        official: Official,
        *,
        expected_link: str | None,
        at: datetime,
    ) -> bool:
        """Mark the invitation used by ``official.telegram_id`` and link them, atomically.

        Succeeds only if, at commit time, the invitation exists and is unused, the user's Telegram
        mapping is still ``expected_link`` and the official is not linked to someone else. The
        invitation keeps its TTL. False when anything changed meanwhile: the caller reads again.
        """
        telegram_id = official.telegram_id
        if telegram_id is None:
            raise ValueError("claim needs the official with the new telegram_id")
        invite_key = self._keys.invite(code)
        link_key = self._keys.official_by_telegram(telegram_id)
        official_key = self._keys.official(official.id)
        async with self._redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(invite_key, link_key, official_key)
                raw = await pipe.get(invite_key)
                if not raw:
                    return False
                invite = Invite.model_validate_json(raw)
                if invite.is_used:
                    return False
                link = await pipe.get(link_key)
                if (str(link) if link else None) != expected_link:
                    return False
                stored = await pipe.get(official_key)
                if stored:
                    current = Official.model_validate_json(stored)
                    if current.telegram_id is not None and current.telegram_id != telegram_id:
                        return False
                used = invite.model_copy(
                    update={"used_by": telegram_id, "used_at": at, "joined_official_id": official.id}
                )
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(invite_key, used.model_dump_json(), keepttl=True)
                # Reserve the official and the user in the same transaction; OfficialRepository.save
                # then writes the same link (and the set of officials) the usual way.
                pipe.set(official_key, official.model_dump_json())
                pipe.set(link_key, official.id)
                await pipe.execute()
            except WatchError:
                return False
        return True

    # ------------------------------------------------------------------ drafts

    def _draft_key(self, slot: DraftSlot, admin_id: int) -> str:
        return self._keys.invite(f"{slot}-{admin_id}")

    async def draft(self, slot: DraftSlot, admin_id: int) -> InviteDraft | None:
        """The admin's draft in ``slot``, or None."""
        raw = await self._redis.get(self._draft_key(slot, admin_id))
        return InviteDraft.model_validate_json(raw) if raw else None

    async def save_draft(self, slot: DraftSlot, draft: InviteDraft, ttl: timedelta = DRAFT_TTL) -> None:
        """Store the draft with a fresh (short) TTL."""
        await self._redis.set(self._draft_key(slot, draft.admin_id), draft.model_dump_json(), px=_ms(ttl))

    async def delete_draft(self, slot: DraftSlot, admin_id: int) -> None:
        """Forget the draft."""
        await self._redis.delete(self._draft_key(slot, admin_id))
