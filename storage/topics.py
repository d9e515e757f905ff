"""Officials' topic corrections: the petition moves to another category, and the correction is kept
(in the ``topics:corrections`` stream) so that the province can improve its topics vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis

from storage.connection import load_script
from storage.keys import Keys
from storage.models import Petition


@dataclass(frozen=True, slots=True)
class TopicCorrection:
    """One correction: which petition, from which topic to which, what had been suggested, the
    description's folded syllables (no identity, no raw text), who and when."""

    ticket: str
    from_topic: str
    to_topic: str
    suggested: tuple[str, ...]
    features: tuple[str, ...]
    by: str
    at: datetime


class TopicCorrectionRepository:
    """Writes a topic change atomically with its correction record; reads the corrections."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._change = redis.register_script(load_script("change_topic.lua"))

    async def change_topic(self, before: Petition, after: Petition, correction: TopicCorrection) -> bool:
        """Store ``after`` (another category) if the petition is still at ``before.version``, moving its
        category index entry and recording ``correction``. False when someone changed it first."""
        fields = {
            "ticket": correction.ticket,
            "from": correction.from_topic,
            "to": correction.to_topic,
            "suggested": ",".join(correction.suggested),
            "features": " ".join(correction.features),
            "by": correction.by,
            "at": correction.at.isoformat(),
        }
        result = await self._change(
            keys=[
                self._keys.petition(before.id),
                self._keys.petitions_by_category(before.category),
                self._keys.petitions_by_category(after.category),
                self._keys.topic_corrections(),
            ],
            args=[
                str(before.version),
                after.model_dump_json(),
                before.id,
                after.created_at.timestamp(),
                *[part for item in fields.items() for part in item],
            ],
        )
        if int(result) == -1:
            raise KeyError(before.id)
        return int(result) == 1

    async def corrections(self, since: datetime | None = None) -> list[TopicCorrection]:
        """Every correction (since a time), oldest first."""
        start = f"{int(since.timestamp() * 1000)}-0" if since else "-"
        entries = await self._redis.xrange(self._keys.topic_corrections(), min=start, max="+")
        found = []
        for _entry_id, raw in entries or []:
            fields = {str(k): str(v) for k, v in (raw or {}).items()}
            found.append(
                TopicCorrection(
                    ticket=fields.get("ticket", ""),
                    from_topic=fields.get("from", ""),
                    to_topic=fields.get("to", ""),
                    suggested=tuple(s for s in fields.get("suggested", "").split(",") if s),
                    features=tuple(fields.get("features", "").split()),
                    by=fields.get("by", ""),
                    at=datetime.fromisoformat(fields["at"]) if fields.get("at") else datetime.now(UTC),
                )
            )
        return found
