"""The broadcasting engine end to end: the real bot over HTTP against the emulator with its flood limits
on — thousands of subscribers each reached once, 429s honoured, blocked users, a crash mid-broadcast,
pause / resume / cancel from the progress message, and /broadcast for admins only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from telegram import Bot
from telegram.error import TimedOut

from bot.app import BotRuntime
from bot.broadcaster import Broadcaster
from bot.context import DEPS_KEY, Deps
from bot.domain.broadcast import Audience, Broadcast, BroadcastService, BroadcastState
from bot.domain.clock import ManualClock
from bot.domain.directory import Directory
from bot.i18n import Gettext, Translator
from emulator import BotApiEmulator, RateLimits, ScriptedUser
from handlers.admin.broadcast import ADMINS_ONLY, ADMINS_ONLY_BUTTON, HEADER, STATE_LABELS
from storage.audit import AuditLog
from storage.broadcasts import BroadcastRepository
from storage.citizens import CitizenRepository
from storage.keys import Keys
from storage.models import Citizen
from storage.subscriptions import PROVINCE, SubscriptionRepository
from tests.e2e.conftest import TOKEN, Harness, make_settings, start_runtime, stop_runtime

ADMIN = 9100
THANH_SEN, HA_HUY_TAP = "18073", "18652"
TEXTS = {"vi": "<b>Thông báo</b> họp dân", "en": "<b>Notice</b> citizens' meeting"}

Make = Callable[..., Awaitable[Harness]]


def deps_of(h: Harness) -> Deps:
    assert h.runtime.application is not None
    deps = h.runtime.application.bot_data[DEPS_KEY]
    assert isinstance(deps, Deps)
    return deps


@pytest.fixture
async def make(redis_url: str, key_prefix: str, redis: aioredis.Redis) -> AsyncIterator[Make]:
    """Start the bot against an emulator with the given flood limits and settings."""
    started: list[tuple[BotApiEmulator, BotRuntime, asyncio.Task[None]]] = []

    async def build(rate_limits: RateLimits | None = None, **overrides: object) -> Harness:
        emulator = BotApiEmulator(token=TOKEN, rate_limits=rate_limits)
        await emulator.start()
        emulator.add_user(ADMIN, "Admin", language_code="en", started=True)
        settings = make_settings(
            emulator, redis_url, key_prefix, admin_ids=str(ADMIN), broadcast_progress_seconds=0.3, **overrides
        )
        clock = ManualClock(datetime.now(UTC))
        runtime, task = await start_runtime(settings, clock)
        started.append((emulator, runtime, task))
        return Harness(emulator, runtime, redis, Keys(key_prefix, "ht"), settings, Translator(), clock)

    yield build
    for emulator, runtime, task in started:
        if runtime.redis is not None and not task.done():
            await stop_runtime(runtime, task)
        await emulator.stop()


def add_subscribers(h: Harness, first: int, count: int) -> list[int]:
    ids = list(range(first, first + count))
    for user_id in ids:
        h.emulator.add_user(user_id, f"U{user_id}", started=True)
    return ids


async def until_finished(h: Harness, broadcast_id: str, timeout: float = 20) -> Broadcast:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        broadcast = await deps_of(h).broadcasts.get(broadcast_id)
        if broadcast.state in (BroadcastState.DONE, BroadcastState.CANCELLED):
            return broadcast
        assert time.monotonic() < deadline, f"not finished: {broadcast}"
        await asyncio.sleep(0.05)


def received(h: Harness, user_id: int) -> list[str]:
    return [m.text or "" for m in h.emulator.bot_messages(user_id)]


def progress_tr(h: Harness, lang: str | None = None) -> Gettext:
    """The language of the progress message. The admin (Telegram language "en") never chose one with
    /language: until they write to the bot (or press a button) their language is unknown, so it is the
    bot's default (Vietnamese); from their first turn on it is remembered, and it is English."""
    return h.tr(lang or h.settings.default_language)


def state_line(h: Harness, broadcast_id: str, state: BroadcastState, lang: str | None = None) -> str:
    """The progress message's first line, e.g. "📢 Broadcast <id>: ⏸ Paused", as the admin reads it."""
    _ = progress_tr(h, lang)
    return _("📢 Broadcast {id}: {state}").format(id=broadcast_id, state=_(STATE_LABELS[state]))


async def test_five_thousand_subscribers_each_get_it_exactly_once_with_no_429(make: Make) -> None:
    h = await make(
        RateLimits(per_chat_per_second=1, global_per_second=2000, per_group_per_minute=20),
        broadcast_rate=1500,
    )
    ids = add_subscribers(h, 300_000, 5000)
    subs = SubscriptionRepository(h.redis, h.keys)
    await subs.add_many(PROVINCE, ids[:2500])
    await subs.add_many(THANH_SEN, ids[2500:])
    await subs.add_many(HA_HUY_TAP, ids[-10:])  # also in another locality: still once
    citizens = CitizenRepository(h.redis, h.keys)
    now = datetime.now(UTC)
    for user_id in ids[:5]:  # these chose English
        await citizens.save(
            Citizen(
                id=f"tg:{user_id}",
                channel="tg",
                external_id=str(user_id),
                language="en",
                created_at=now,
                updated_at=now,
            )
        )
    started = time.monotonic()
    bid = await deps_of(h).broadcasts.start(
        actor_ref=f"admin:{ADMIN}",
        audience=Audience(localities=[THANH_SEN, HA_HUY_TAP]),
        texts=TEXTS,
        progress_chat_id=ADMIN,
    )
    done = await until_finished(h, bid, timeout=30)
    elapsed = time.monotonic() - started
    assert done.state == BroadcastState.DONE and (done.total, done.sent, done.failed) == (5000, 5000, 0)
    counts = [len(h.emulator.bot_messages(user_id)) for user_id in ids]
    assert counts == [1] * 5000  # each exactly once
    assert received(h, ids[0]) == ["Notice citizens' meeting"] and received(h, ids[-1]) == [
        "Thông báo họp dân"
    ]
    assert h.emulator.rate_limited == [] and h.emulator.rejections == []
    assert elapsed > 5000 / 1500 * 0.8  # paced, not a burst
    finished = state_line(h, bid, BroadcastState.DONE)
    await h.emulator.wait_for(lambda: finished in (h.emulator.bot_messages(ADMIN)[-1].text or ""))
    progress = h.emulator.bot_messages(ADMIN)
    sent = progress_tr(h)("Sent: {sent} · Failed: {failed} · Blocked the bot: {blocked}").format(
        sent=progress_tr(h).number(5000), failed=0, blocked=0
    )
    assert len(progress) == 1 and sent in (progress[0].text or "")  # one message, edited
    entries = await deps_of(h).audit.entries()
    assert [e.action for e in entries] == ["broadcast.start", "broadcast.done"]
    assert entries[0].actor == f"admin:{ADMIN}" and entries[1].details["sent"] == "5000"


async def test_a_429_is_honoured_and_the_recipient_still_gets_exactly_one(make: Make) -> None:
    h = await make(
        RateLimits(per_chat_per_second=1, global_per_second=3, per_group_per_minute=20, retry_after=1)
    )
    assert h.settings.broadcast_rate == 25  # the default pace, above what this emulator allows
    ids = add_subscribers(h, 310_000, 8)
    await SubscriptionRepository(h.redis, h.keys).add_many(PROVINCE, ids)
    bid = await deps_of(h).broadcasts.start(actor_ref=f"admin:{ADMIN}", audience=Audience(), texts=TEXTS)
    done = await until_finished(h, bid)
    assert h.emulator.rate_limited, "the tight limit should have answered 429"
    assert {r.error_code for r in h.emulator.rejections} == {429}
    assert [len(h.emulator.bot_messages(user_id)) for user_id in ids] == [1] * 8
    assert (done.sent, done.failed, done.blocked) == (8, 0, 0)
    # After a 429 nothing new was sent before its retry_after had passed.
    first_429 = h.emulator.rate_limited[0].time
    sends = [c.time - first_429 for c in h.emulator.calls if c.method == "sendMessage"]
    assert not [t for t in sends if 0.05 < t < 0.9] and any(t >= 0.9 for t in sends)


async def test_blocked_users_are_marked_skipped_and_reachable_again_when_they_write(make: Make) -> None:
    h = await make()
    ids = add_subscribers(h, 320_000, 3)
    await SubscriptionRepository(h.redis, h.keys).add_many(PROVINCE, ids)
    h.emulator.block_bot(ids[1])
    service = deps_of(h).broadcasts
    first = await until_finished(
        h, await service.start(actor_ref="admin:1", audience=Audience(), texts=TEXTS)
    )
    assert (first.sent, first.blocked) == (2, 1)
    assert await h.redis.sismember(h.keys.unreachable(), str(ids[1]))
    assert [r.error_code for r in h.emulator.rejections] == [403]
    second = await until_finished(
        h, await service.start(actor_ref="admin:1", audience=Audience(), texts=TEXTS)
    )
    assert (second.total, second.sent, second.blocked) == (2, 2, 0)  # skipped, not tried again
    assert len(h.emulator.rejections) == 1
    user = ScriptedUser(h.emulator, h.emulator.users[ids[1]])
    await user.send("/help")  # writing to the bot unblocks it in Telegram, and here
    await user.expect("/new")
    assert not await h.redis.sismember(h.keys.unreachable(), str(ids[1]))
    third = await until_finished(
        h, await service.start(actor_ref="admin:1", audience=Audience(), texts=TEXTS)
    )
    assert (third.total, third.sent) == (3, 3)
    assert len(h.emulator.bot_messages(ids[0])) == 3 and "Thông báo" in received(h, ids[1])[-1]
    h.emulator.rejections.clear()


async def test_a_crash_mid_broadcast_resumes_with_no_duplicate_and_no_gap(make: Make) -> None:
    h = await make(broadcast_rate=300, broadcast_lease_seconds=2)
    ids = add_subscribers(h, 330_000, 900)
    await SubscriptionRepository(h.redis, h.keys).add_many(PROVINCE, ids)
    bid = await deps_of(h).broadcasts.start(actor_ref="admin:1", audience=Audience(), texts=TEXTS)
    await h.emulator.wait_for(lambda: sum(len(h.emulator.bot_messages(i)) for i in ids) >= 200, timeout=10)
    task = h.runtime.broadcast_task
    assert task is not None
    task.cancel()  # the sender dies mid-way
    with pytest.raises(asyncio.CancelledError):
        await task
    assert h.runtime.poller is not None
    old = h.runtime
    midway = await deps_of(h).broadcasts.get(bid)
    assert midway.state == BroadcastState.RUNNING and 200 <= midway.sent < 900
    old.poller.stop()  # type: ignore[union-attr]
    await old.close()
    runtime, poll = await start_runtime(h.settings, h.clock)  # a new process on the same Redis
    h.runtime = runtime
    try:
        done = await until_finished(h, bid)
    finally:
        await stop_runtime(runtime, poll)
    assert (done.sent, done.failed) == (900, 0)
    assert [len(h.emulator.bot_messages(user_id)) for user_id in ids] == [1] * 900


async def test_pause_resume_cancel_from_the_progress_message_admins_only(make: Make) -> None:
    h = await make(broadcast_rate=20)
    ids = add_subscribers(h, 340_000, 300)
    await SubscriptionRepository(h.redis, h.keys).add_many(PROVINCE, ids)
    service = deps_of(h).broadcasts
    bid = await service.start(
        actor_ref=f"admin:{ADMIN}", audience=Audience(), texts=TEXTS, progress_chat_id=ADMIN
    )
    admin = ScriptedUser(h.emulator, h.emulator.users[ADMIN])
    await h.emulator.wait_for(lambda: bool(h.emulator.bot_messages(ADMIN)), timeout=5)
    progress = h.emulator.bot_messages(ADMIN)[0]
    _ = progress_tr(h)
    lines = (progress.text or "").splitlines()
    assert lines[0] == state_line(h, bid, BroadcastState.RUNNING)
    remaining, time_left = (
        _(t).split("{")[0] for t in ("Remaining: {remaining} of {total}", "Time left: {eta}")
    )
    assert any(line.startswith(remaining) for line in lines) and any(
        line.startswith(time_left) for line in lines
    )

    outsider = h.emulator.add_user(350_001, "Mallory", started=True)
    h.emulator.user_presses(
        outsider,
        h.emulator.user_sends_text(outsider, "hi")["message"]["message_id"],
        f"bc:c:{bid}",
        strict=False,
    )
    await h.emulator.wait_for(
        lambda: any(
            a.get("text") == h.tr("vi")(ADMINS_ONLY_BUTTON) for a in h.emulator.callback_answers.values()
        )
    )
    assert (await service.get(bid)).state == BroadcastState.RUNNING  # the forged button changed nothing

    await admin.tap(_("⏸ Pause"))  # the admin's first turn: from now on in their language, English
    await admin.expect(state_line(h, bid, BroadcastState.PAUSED, "en"))
    await asyncio.sleep(0.3)  # the sends already begun finish
    paused = await service.get(bid)
    assert paused.sent < 300
    await asyncio.sleep(0.6)
    after = await service.get(bid)
    assert after.state == BroadcastState.PAUSED and after.sent + after.failed == paused.sent + paused.failed
    await admin.tap("▶️ Resume")
    await admin.expect(state_line(h, bid, BroadcastState.RUNNING, "en"))
    await asyncio.sleep(0.3)
    await admin.tap("⏹ Cancel")  # asks first: stopping cannot be undone
    await admin.expect("for good?")
    await admin.tap("↩️ No, keep it")
    await admin.expect("The announcement continues.")
    assert (await service.get(bid)).state == BroadcastState.RUNNING
    await admin.tap("⏹ Cancel")
    await admin.expect("for good?")
    await admin.tap("⏹ Yes, stop sending")
    await admin.expect(state_line(h, bid, BroadcastState.CANCELLED, "en"))
    cancelled = await until_finished(h, bid)
    await asyncio.sleep(0.3)
    delivered = sum(len(h.emulator.bot_messages(i)) for i in ids)
    assert cancelled.state == BroadcastState.CANCELLED and delivered == (await service.get(bid)).sent < 300
    actions = [e.action for e in await deps_of(h).audit.entries(actor=f"admin:{ADMIN}")]
    assert actions == ["broadcast.start", "broadcast.pause", "broadcast.resume", "broadcast.cancel"]


async def test_the_progress_message_shows_the_real_counts_once_paused_or_cancelled(make: Make) -> None:
    h = await make(broadcast_rate=100)  # 10 sends between two looks at the state
    ids = add_subscribers(h, 345_000, 1000)
    await SubscriptionRepository(h.redis, h.keys).add_many(PROVINCE, ids)
    service = deps_of(h).broadcasts
    bid = await service.start(
        actor_ref=f"admin:{ADMIN}", audience=Audience(), texts=TEXTS, progress_chat_id=ADMIN
    )
    admin = ScriptedUser(h.emulator, h.emulator.users[ADMIN])
    _ = progress_tr(h)  # until the admin's first press; from then on their own language (English)
    en = progress_tr(h, "en")

    async def shown_counts_match(state: BroadcastState) -> None:
        """Once the sends in flight are recorded, the progress message shows exactly the stored counts."""
        await admin.expect(state_line(h, bid, state, "en"))
        await asyncio.sleep(0.8)  # the sends already begun finish; the progress interval (0.3 s) passes
        stored = await service.get(bid)
        assert stored.sent > 0 and stored.remaining > 0
        counts = en("Sent: {sent} · Failed: {failed} · Blocked the bot: {blocked}").format(
            sent=f"{stored.sent:,}", failed=f"{stored.failed:,}", blocked=f"{stored.blocked:,}"
        )
        remaining = en("Remaining: {remaining} of {total}").format(
            remaining=f"{stored.remaining:,}", total="1,000"
        )
        text = h.emulator.bot_messages(ADMIN)[0].text or ""
        assert counts in text and remaining in text, (text, stored)

    await h.emulator.wait_for(lambda: sum(len(h.emulator.bot_messages(i)) for i in ids) >= 30, timeout=5)
    await admin.tap(_("⏸ Pause"))
    await shown_counts_match(BroadcastState.PAUSED)
    await admin.tap(en("▶️ Resume"))
    await admin.expect(state_line(h, bid, BroadcastState.RUNNING, "en"))
    await asyncio.sleep(0.3)
    await admin.tap("⏹ Cancel")  # asks first
    await admin.tap("⏹ Yes, stop sending")
    await shown_counts_match(BroadcastState.CANCELLED)


async def test_the_sender_survives_a_failing_broadcast_and_a_timed_out_progress_edit(
    emulator: BotApiEmulator, redis: aioredis.Redis, keys: Keys
) -> None:
    ids = list(range(346_000, 346_020))
    for user_id in ids:
        emulator.add_user(user_id, f"U{user_id}", started=True)
    service = BroadcastService(
        BroadcastRepository(redis, keys),
        SubscriptionRepository(redis, keys),
        Directory.default(),
        ManualClock(datetime.now(UTC)),
        AuditLog(redis, keys),
    )
    bid = await service.start_to(actor_ref="admin:1", recipients=ids, texts=TEXTS, kind="announcement")
    await redis.sadd(keys.broadcasts_active(), "b0")  # sorts first; its hash is gone: every look fails
    drawn: list[tuple[str, bool]] = []

    async def progress(broadcast_id: str, final: bool) -> None:
        drawn.append((broadcast_id, final))
        if len(drawn) <= 2:
            raise TimedOut()  # editing the progress message timed out

    bot = Bot(TOKEN, base_url=f"{emulator.url.rstrip('/')}/bot")
    await bot.initialize()
    sender = Broadcaster(service, bot, progress, rate=200, interval=0.05)
    task = asyncio.create_task(sender.run())
    try:
        for _attempt in range(200):
            if (bid, True) in drawn or task.done():  # the final redraw comes after the last outcome
                break
            await asyncio.sleep(0.05)
        assert not task.done(), task.exception()  # still running: the failures were logged and retried
        done = await service.get(bid)
        assert done.state == BroadcastState.DONE and done.sent == 20
        assert [len(emulator.bot_messages(user_id)) for user_id in ids] == [1] * 20
        assert (bid, True) in drawn
    finally:
        sender.stop()
        await asyncio.wait_for(task, 5)
        await bot.shutdown()


async def test_broadcast_command_flow_preview_confirm_and_refusals(make: Make) -> None:
    h = await make()
    subs = SubscriptionRepository(h.redis, h.keys)
    local, province, elsewhere = add_subscribers(h, 360_000, 3)
    await subs.add_many(THANH_SEN, [local])
    await subs.add_many(PROVINCE, [province])
    await subs.add_many(HA_HUY_TAP, [elsewhere])
    en = h.tr("en")
    admin = ScriptedUser(h.emulator, h.emulator.users[ADMIN])

    citizen = ScriptedUser(h.emulator, h.emulator.add_user(360_010, "Binh", started=True))
    await citizen.send("/broadcast")
    await citizen.expect(h.tr("vi")(ADMINS_ONLY))

    await admin.send("/broadcast")
    await admin.expect("Who should receive it?")
    await admin.tap("📍 Chosen communes and wards")
    await admin.send("Thanh Sen")
    await admin.tap("➕ Phường Thành Sen")
    await admin.tap("➡️ Next: the text")
    await admin.expect("Now write the announcement")
    await admin.send("Họp dân <ngày 5/12> & đối thoại")
    ask = await admin.expect("Send it?")
    assert "It will reach 2 subscribers." in (ask.text or "")  # Thành Sen's and the province-wide one
    header_vi = h.tr("vi")(HEADER).format(province=deps_of(h).directory.province_name)
    texts = [m.text or "" for m in h.emulator.bot_messages(ADMIN)]
    assert any(header_vi in t and "Họp dân <ngày 5/12> & đối thoại" in t for t in texts)
    assert any(en(HEADER).format(province=deps_of(h).directory.province_name) in t for t in texts)
    summary = admin.last_bot_message
    confirm = next(b for b in summary.iter_buttons() if b.text == "✅ Confirm and send")
    # A citizen replaying the admin's Confirm is refused.
    h.emulator.user_presses(citizen.user, citizen.last_bot_message, confirm.callback_data or "", strict=False)
    await h.emulator.wait_for(
        lambda: any(
            a.get("text") == h.tr("vi")(ADMINS_ONLY_BUTTON) for a in h.emulator.callback_answers.values()
        )
    )
    await admin.tap("✅ Confirm and send")
    await admin.expect("started: 2 recipients")
    await h.emulator.wait_for(lambda: bool(received(h, local)) and bool(received(h, province)))
    assert "Họp dân <ngày 5/12> & đối thoại" in received(h, local)[0] and header_vi in received(h, local)[0]
    assert received(h, elsewhere) == [] and received(h, citizen.user.id)[-1] == h.tr("vi")(ADMINS_ONLY)
    await admin.expect(progress_tr(h, "en")(STATE_LABELS[BroadcastState.DONE]))  # in the admin's language
