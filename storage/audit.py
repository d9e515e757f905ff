"""The audit trail: an append-only Redis stream of what officials and admins did.

Entries are only ever added (XADD); nothing in the project edits or deletes them. Each has the
actor (``official:<id>``, ``admin:<telegram id>``, ``system``, ``cli``), the action, the time, the
case (ticket) if any, and free-form details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis

from storage.keys import Keys


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded action."""

    id: str
    at: datetime
    actor: str
    action: str
    ticket: str | None
    details: dict[str, str]


class AuditLog:
    """Appends to and reads the audit stream."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def append(
        self, actor: str, action: str, at: datetime, ticket: str | None = None, **details: str
    ) -> str:
        """Record an action; returns the entry id."""
        fields = {
            "actor": actor,
            "action": action,
            "at": at.astimezone(UTC).isoformat(),
            "ticket": ticket or "",
        }
        fields.update({f"d:{k}": v for k, v in details.items()})
        return str(await self._redis.xadd(self._keys.audit(), fields))  # type: ignore[arg-type]

    async def entries(
        self,
        *,
        ticket: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        count: int = 10_000,
    ) -> list[AuditEntry]:
        """Entries oldest first, filtered by case, actor and time."""
        start = f"{int(since.timestamp() * 1000)}-0" if since else "-"
        raw: list[tuple[str, dict[str, str]]] = await self._redis.xrange(  # type: ignore[assignment]
            self._keys.audit(), min=start, max="+", count=count
        )
        result = []
        for entry_id, fields in raw:
            entry = AuditEntry(
                id=str(entry_id),
                at=datetime.fromisoformat(fields["at"]),
                actor=fields["actor"],
                action=fields["action"],
                ticket=fields.get("ticket") or None,
                details={k[2:]: v for k, v in fields.items() if k.startswith("d:")},
            )
            if (ticket is None or entry.ticket == ticket) and (actor is None or entry.actor == actor):
                result.append(entry)
        return result
