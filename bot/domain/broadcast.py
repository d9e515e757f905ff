"""Broadcasting: announcements (and dialogue notices) to many citizens, each once, at Telegram's pace.

``start`` snapshots the recipients in Redis (subscribers of the audience minus those who blocked the
bot); the broadcaster worker (``bot.broadcaster``) claims them in chunks and records each outcome once,
so a crash or a restart resumes where it stopped. Texts are already-rendered HTML, one per language.
"""

from __future__ import annotations

import json
import secrets

from bot.domain.clock import Clock
from bot.domain.directory import Directory
from storage.audit import AuditLog
from storage.broadcasts import BroadcastRepository
from storage.models import Audience, Broadcast, BroadcastState
from storage.subscriptions import SubscriptionRepository

__all__ = ["Audience", "Broadcast", "BroadcastNotFound", "BroadcastService", "BroadcastState"]


class BroadcastNotFound(LookupError):
    """No broadcast with that id."""


class BroadcastService:
    """Starts, steers and reports broadcasts; the sending itself is the worker's."""

    def __init__(
        self,
        broadcasts: BroadcastRepository,
        subscriptions: SubscriptionRepository,
        directory: Directory,
        clock: Clock,
        audit: AuditLog,
        default_language: str = "vi",
    ) -> None:
        self.repo = broadcasts
        self._subscriptions = subscriptions
        self._directory = directory
        self._clock = clock
        self._audit = audit
        self.default_language = default_language

    def _check_texts(self, texts: dict[str, str]) -> None:
        if not texts or not any(t.strip() for t in texts.values()):
            raise ValueError("a broadcast needs a text")

    async def start(
        self,
        *,
        actor_ref: str,
        audience: Audience,
        texts: dict[str, str],
        kind: str = "announcement",
        ref: str | None = None,
        progress_chat_id: int | None = None,
    ) -> str:
        """Snapshot the audience's subscribers (minus the unreachable) and start; returns the id."""
        self._check_texts(texts)
        unknown = [c for c in audience.localities if self._directory.locality(c) is None]
        if unknown:
            raise ValueError(f"unknown localities: {', '.join(unknown)}")
        sources = self._sources(audience)
        broadcast = self._new(actor_ref, audience, texts, kind, ref, progress_chat_id)
        total = await self.repo.create(broadcast, sources=sources)
        await self._record_start(broadcast, total)
        return broadcast.id

    def _sources(self, audience: Audience) -> list[str]:
        if audience.everyone:
            return self._subscriptions.source_keys([loc.code for loc in self._directory.localities], True)
        return self._subscriptions.source_keys(audience.localities, audience.province_wide)

    async def count(self, audience: Audience) -> int:
        """How many people the audience would reach if it started now (shown before Confirm)."""
        return await self.repo.count(self._sources(audience))

    async def start_to(
        self,
        *,
        actor_ref: str,
        recipients: list[int],
        texts: dict[str, str],
        kind: str,
        ref: str | None = None,
        progress_chat_id: int | None = None,
    ) -> str:
        """Start a broadcast to an explicit list of Telegram ids (duplicates and the unreachable dropped)."""
        self._check_texts(texts)
        audience = Audience(province_wide=False, explicit=True)
        broadcast = self._new(actor_ref, audience, texts, kind, ref, progress_chat_id)
        total = await self.repo.create(broadcast, recipients=[int(r) for r in recipients])
        await self._record_start(broadcast, total)
        return broadcast.id

    def _new(
        self,
        actor_ref: str,
        audience: Audience,
        texts: dict[str, str],
        kind: str,
        ref: str | None,
        progress_chat_id: int | None,
    ) -> Broadcast:
        return Broadcast(
            id="b" + secrets.token_hex(5),
            created_by=actor_ref,
            created_at=self._clock.now(),
            kind=kind,
            ref=ref,
            texts=dict(texts),
            audience=audience,
            progress_chat_id=progress_chat_id,
        )

    async def _record_start(self, broadcast: Broadcast, total: int) -> None:
        await self._audit.append(
            broadcast.created_by,
            "broadcast.start",
            broadcast.created_at,
            broadcast=broadcast.id,
            kind=broadcast.kind,
            ref=broadcast.ref or "",
            audience=json.dumps(broadcast.audience.model_dump()),
            recipients=str(total),
        )

    async def get(self, broadcast_id: str) -> Broadcast:
        """The broadcast with its counts; BroadcastNotFound if unknown."""
        broadcast = await self.repo.get(broadcast_id)
        if broadcast is None:
            raise BroadcastNotFound(broadcast_id)
        return broadcast

    async def _move(
        self, broadcast_id: str, actor_ref: str, new: BroadcastState, allowed: list[BroadcastState]
    ) -> bool:
        before = await self.repo.move(broadcast_id, new, allowed)
        if before == "":
            raise BroadcastNotFound(broadcast_id)
        changed = before in {s.value for s in allowed}
        if changed:
            broadcast = await self.get(broadcast_id)
            await self._audit.append(
                actor_ref,
                f"broadcast.{ {'paused': 'pause', 'running': 'resume', 'cancelled': 'cancel'}[new.value] }",
                self._clock.now(),
                broadcast=broadcast_id,
                sent=str(broadcast.sent),
                failed=str(broadcast.failed),
                blocked=str(broadcast.blocked),
                remaining=str(broadcast.remaining),
            )
        return changed

    async def pause(self, broadcast_id: str, actor_ref: str) -> bool:
        """Stop sending after the messages in flight; False when it was not running."""
        return await self._move(broadcast_id, actor_ref, BroadcastState.PAUSED, [BroadcastState.RUNNING])

    async def resume(self, broadcast_id: str, actor_ref: str) -> bool:
        """Continue a paused broadcast; False when it was not paused."""
        return await self._move(broadcast_id, actor_ref, BroadcastState.RUNNING, [BroadcastState.PAUSED])

    async def cancel(self, broadcast_id: str, actor_ref: str) -> bool:
        """Stop for good; False when it had already finished."""
        return await self._move(
            broadcast_id, actor_ref, BroadcastState.CANCELLED, [BroadcastState.RUNNING, BroadcastState.PAUSED]
        )

    async def finished(self, broadcast_id: str) -> Broadcast:
        """Record a broadcast that just finished (counts) in the audit trail."""
        broadcast = await self.get(broadcast_id)
        await self._audit.append(
            "system",
            "broadcast.done",
            self._clock.now(),
            broadcast=broadcast_id,
            created_by=broadcast.created_by,
            sent=str(broadcast.sent),
            failed=str(broadcast.failed),
            blocked=str(broadcast.blocked),
        )
        return broadcast

    def text_for(self, broadcast: Broadcast, language: str | None) -> str:
        """The text in the recipient's language, else the default language's, else any."""
        for lang in (language, self.default_language):
            if lang and lang in broadcast.texts:
                return broadcast.texts[lang]
        return next(iter(broadcast.texts.values()))
