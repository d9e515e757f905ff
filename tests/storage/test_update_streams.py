"""The update streams against a real Redis: idempotent appends, one owner per partition, a dead
consumer's pending entries claimed by the next owner, acknowledgement with the handled record."""

from __future__ import annotations

import redis.asyncio as aioredis

from storage.keys import Keys
from storage.update_streams import GROUP, UpdateStreams, partition_of
from storage.updates import UpdateLog


def update(update_id: int, user: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "A"},
            "text": f"m{update_id}",
        },
    }


async def test_append_is_idempotent_and_moves_the_offset_forward_only(
    redis: aioredis.Redis, keys: Keys
) -> None:
    streams = UpdateStreams(redis, keys, 4)
    await streams.ensure_groups()
    await streams.ensure_groups()  # a second process: the groups exist, nothing fails
    assert await streams.append([(1, update(10, 7)), (2, update(11, 8))], 12) == 2
    assert await streams.append([(1, update(10, 7))], 11) == 0  # a retried delivery, an older offset
    assert await redis.get(keys.update_offset()) == "12"
    assert [await redis.xlen(keys.update_stream(n)) for n in range(4)] == [0, 1, 1, 0]
    assert await streams.backlog() == 2


async def test_a_partition_has_one_owner_and_a_dead_ones_entries_go_to_the_next(
    redis: aioredis.Redis, keys: Keys
) -> None:
    streams = UpdateStreams(redis, keys, 2)
    await streams.ensure_groups()
    assert await streams.acquire("a", [0, 1], 5) == [0, 1]
    assert await streams.acquire("b", [0, 1], 5) == []
    workers, state = await streams.tick("b", 5)
    assert workers == 1 and state == [2, 2]
    workers, state = await streams.tick("a", 5)
    assert workers == 2 and state == [1, 1]
    await streams.append([(0, update(1, 5)), (0, update(2, 5))])
    read = await streams.read("a", [0], count=10, block_ms=10)
    assert [e.update["update_id"] for e in read] == [1, 2]
    log = UpdateLog(redis, keys)
    await log.mark_handled(1, (streams.stream(0), read[0].entry_id))  # acknowledged and deleted
    # "a" dies with update 2 read and not handled; its lease is released (or expires): "b" claims it.
    await redis.delete(keys.partition_lease(0))
    assert await streams.acquire("b", [0], 5) == [0]
    claimed = await streams.claim_pending("b", 0)
    assert [e.update["update_id"] for e in claimed] == [2]
    assert await streams.read("b", [0], count=10, block_ms=10) == []  # nothing new
    await log.mark_handled(2, (streams.stream(0), claimed[0].entry_id))
    assert (await redis.xpending(keys.update_stream(0), GROUP))["pending"] == 0
    assert await redis.xlen(keys.update_stream(0)) == 0
    assert await redis.zscore(keys.handled_updates(), "2") == 2
    await streams.release("b", [0, 1], leaving=True)  # only its own lease goes
    assert await redis.get(keys.partition_lease(1)) == "a"
    assert await streams.live_workers() == 1


def test_a_users_partition_is_stable() -> None:
    assert partition_of("u42", 16) == partition_of("u42", 16)
    assert len({partition_of(f"u{n}", 16) for n in range(200)}) == 16


def test_keys_are_distinct() -> None:
    keys = Keys("p", "ht")
    assert keys.update_stream(0) != keys.update_stream(1) != keys.partition_lease(1)
