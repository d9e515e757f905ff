"""Petitions, their ticket counter and their indexes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import redis.asyncio as aioredis

from storage.keys import DRAFT_RECEIPT_TTL, SESSION_TTL, Keys
from storage.models import Petition, Session
from storage.outbox import OutboxEntry, outbox_args, with_outbox

CO_SIGNER_LANE = "@co-signer@"  # update_petition.lua records such an entry once per co-signer


class PetitionRepository:
    """Reads and writes ``petition:*``, ``counter:*`` and ``idx:petitions:*`` keys."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._create = redis.register_script(with_outbox("create_petition.lua"))
        self._update = redis.register_script(with_outbox("update_petition.lua"))

    async def create(
        self,
        petition: Petition,
        *,
        ticket_prefix: str,
        year: int,
        session: Session,
        timers: Sequence[tuple[str, float]] = (),
        outbox: Sequence[OutboxEntry] = (),
    ) -> tuple[str, bool]:
        """Store ``petition`` under a new ticket ``<prefix>-<year>-NNNNNN`` (its ``id`` is ignored)
        with every index entry, ``session`` as the citizen's new session and the messages the creation
        owes (``outbox``, "{ticket}" standing for the new ticket), atomically. A draft already
        submitted returns its ticket and False instead of creating a second petition."""
        index_keys = [
            self._keys.petitions_by_citizen(petition.citizen_id),
            self._keys.petitions_by_locality(petition.locality_code),
            self._keys.petitions_by_category(petition.category),
            self._keys.petitions_by_status(petition.status),
            self._keys.petitions_by_time(),
        ]
        if petition.assignee_id is not None:
            index_keys.append(self._keys.open_petitions_by_assignee(petition.assignee_id))
        if petition.dialogue_id is not None:
            index_keys.append(self._keys.dialogue_questions(petition.dialogue_id))
        keys = [
            self._keys.petition_counter(year),
            self._keys.petition_by_draft(petition.draft_id),
            self._keys.session(session.citizen_id),
            self._keys.timers_due(),
            *index_keys,
        ]
        body = petition.model_dump_json(exclude={"id"})
        args: list[str | int | float] = [
            self._keys.petition_prefix(),
            f"{ticket_prefix}-{year}-",
            body,
            petition.created_at.timestamp(),
            int(DRAFT_RECEIPT_TTL.total_seconds()),
            session.model_dump_json(),
            int(SESSION_TTL.total_seconds()),
            self._keys.outbox_base(),
            len(timers),
        ]
        for member_template, due in timers:
            args += [due, member_template]
        args += outbox_args(outbox)
        ticket, created = await self._create(keys=keys, args=args)
        return str(ticket), bool(int(created))

    async def update(
        self,
        before: Petition,
        after: Petition,
        timers: Sequence[tuple[str, float]] = (),
        outbox: Sequence[OutboxEntry] = (),
        co_signers: Sequence[OutboxEntry] = (),
    ) -> bool:
        """Store ``after`` if the petition is still at ``before.version`` (``after.version`` must be
        the next one); move its index entries; schedule ``timers`` and record the messages the change
        owes (``outbox``) in the same step. ``co_signers``: entries recorded once for each citizen who
        joined the petition at that moment ("me too"; their lane is set per co-signer). False when
        someone changed it first."""
        if after.version != before.version + 1:
            raise ValueError("after.version must be before.version + 1")
        placeholder = self._keys.open_petitions_by_assignee("-")
        old_open = (
            self._keys.open_petitions_by_assignee(before.assignee_id) if before.assignee_id else placeholder
        )
        new_open = (
            self._keys.open_petitions_by_assignee(after.assignee_id) if after.assignee_id else placeholder
        )
        result = await self._update(
            keys=[
                self._keys.petition(before.id),
                self._keys.petitions_by_status(before.status),
                self._keys.petitions_by_status(after.status),
                old_open,
                new_open,
                self._keys.timers_due(),
                self._keys.cosigners(before.id),
            ],
            args=[
                str(before.version),
                after.model_dump_json(),
                before.id,
                after.created_at.timestamp(),
                "1" if after.is_open and after.assignee_id else "0",
                self._keys.outbox_base(),
                len(timers),
                *[part for member, due in timers for part in (due, member)],
                len(co_signers),
                *[entry.model_copy(update={"lane": CO_SIGNER_LANE}).body() for entry in co_signers],
                *outbox_args(outbox),
            ],
        )
        if int(result) == -1:
            raise KeyError(before.id)
        return int(result) == 1

    async def link_topic(self, ticket: str, chat_id: int, thread_id: int) -> None:
        """Remember that a team chat's forum topic is about this petition (and the petition its topic)."""
        await self._redis.set(self._keys.topic(chat_id, thread_id), ticket)
        for _attempt in range(5):
            before = await self.get(ticket)
            if before is None:
                return
            after = before.model_copy(
                update={"topic_chat_id": chat_id, "topic_thread_id": thread_id, "version": before.version + 1}
            )
            if await self.update(before, after):
                return

    async def ticket_of_topic(self, chat_id: int, thread_id: int) -> str | None:
        """The petition a forum topic is about."""
        ticket = await self._redis.get(self._keys.topic(chat_id, thread_id))
        return str(ticket) if ticket else None

    async def open_tickets_of(self, official_ids: list[str]) -> list[str]:
        """Open tickets assigned to any of these officials, oldest first."""
        return await self._merge_indexes([self._keys.open_petitions_by_assignee(i) for i in official_ids])

    async def tickets_with_status(self, statuses: list[str]) -> list[str]:
        """Tickets currently in any of these statuses, oldest first."""
        return await self._merge_indexes([self._keys.petitions_by_status(s) for s in statuses])

    async def _merge_indexes(self, index_keys: list[str]) -> list[str]:
        scored: dict[str, float] = {}
        for key in index_keys:
            entries: list[tuple[str, float]] = await self._redis.zrange(key, 0, -1, withscores=True)  # type: ignore[assignment]
            for ticket, score in entries:
                scored[str(ticket)] = float(score)
        return sorted(scored, key=lambda t: (scored[t], t))

    async def get_many(self, tickets: list[str]) -> list[Petition]:
        """Petitions in the order asked (missing ones skipped)."""
        if not tickets:
            return []
        raws = await self._redis.mget([self._keys.petition(t) for t in tickets])
        return [Petition.model_validate_json(raw) for raw in raws if raw]

    async def get(self, ticket: str) -> Petition | None:
        """The petition with that ticket, or None."""
        raw = await self._redis.get(self._keys.petition(ticket))
        return Petition.model_validate_json(raw) if raw else None

    async def ticket_for_draft(self, draft_id: str) -> str | None:
        """The ticket a draft was submitted as, if it was."""
        ticket = await self._redis.get(self._keys.petition_by_draft(draft_id))
        return str(ticket) if ticket else None

    async def count_by_citizen(self, citizen_id: str) -> int:
        """How many petitions the citizen has sent."""
        return int(await self._redis.zcard(self._keys.petitions_by_citizen(citizen_id)))

    async def list_by_citizen(self, citizen_id: str, *, offset: int = 0, count: int = 5) -> list[Petition]:
        """The citizen's petitions, newest first."""
        tickets = [
            str(t)
            for t in await self._redis.zrevrange(
                self._keys.petitions_by_citizen(citizen_id), offset, offset + count - 1
            )
        ]
        if not tickets:
            return []
        raws = await self._redis.mget([self._keys.petition(t) for t in tickets])
        return [Petition.model_validate_json(raw) for raw in raws if raw]

    async def tickets_created_between(self, start: datetime, end: datetime) -> list[str]:
        """Tickets created in ``[start, end)``, oldest first (reports and exports)."""
        found = await self._redis.zrangebyscore(
            self._keys.petitions_by_time(), start.timestamp(), f"({end.timestamp()}"
        )
        return [str(t) for t in found]
