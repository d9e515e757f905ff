"""Citizens' data rights and abuse limits end to end: /privacy, a copy, withdrawing consent, erasure
(no personal data left anywhere in Redis), retention, the daily limit, flood throttling, block/unblock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import DEPS_KEY, Deps
from emulator import ScriptedUser
from storage.audit import AuditLog
from storage.models import Citizen, HistoryEntry, PetitionStatus
from storage.petitions import PetitionRepository
from tests.e2e.conftest import Harness, Staff
from tests.e2e.flows import consent, stored_petition, submit

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ERASE_QUESTION = (  # the msgid of the confirmation /privacy → Delete my data asks (handlers/citizen/privacy.py)
    "🗑 <b>Delete my data?</b>\n\n"
    "Your name, username, phone number, consent records, any draft and the link between your "
    "Telegram account and your petitions will be erased. Your petitions stay with the officials "
    "without your identity, so that they can still be handled and the records stay complete; you "
    "will no longer be told about them here. This cannot be undone."
)


def deps_of(h: Harness) -> Deps:
    """The running bot's dependencies."""
    assert h.runtime.application is not None
    deps = h.runtime.application.bot_data[DEPS_KEY]
    assert isinstance(deps, Deps)
    return deps


async def handled(h: Harness, update: dict[str, Any]) -> None:
    """Wait until the bot has handled ``update`` (answered or deliberately ignored it)."""

    async def done() -> bool:
        return await h.redis.zscore(h.keys.handled_updates(), update["update_id"]) is not None

    for _attempt in range(200):
        if await done():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"update {update['update_id']} was not handled")


async def every_key_and_value(h: Harness) -> list[tuple[str, str]]:
    """Every key under the test's prefix with its whole content as text (any Redis type)."""
    found = []
    async for key in h.redis.scan_iter(match=f"{h.keys.root.split(':')[0]}:*"):
        kind = await h.redis.type(key)
        if kind == "string":
            value: object = await h.redis.get(key)
        elif kind == "list":
            value = await h.redis.lrange(key, 0, -1)
        elif kind == "set":
            value = await h.redis.smembers(key)
        elif kind == "zset":
            value = await h.redis.zrange(key, 0, -1, withscores=True)
        elif kind == "hash":
            value = await h.redis.hgetall(key)
        elif kind == "stream":
            value = await h.redis.xrange(key)
        else:
            raise AssertionError(f"unexpected type {kind} of {key}")
        found.append((str(key), repr(value)))
    return found


def at_noon_today(h: Harness) -> datetime:
    """Today 12:00 in Hà Tĩnh (clear of the day's edges)."""
    today = datetime.now(TZ).date()
    return datetime(today.year, today.month, today.day, 12, tzinfo=TZ).astimezone(UTC)


async def test_erasure_leaves_no_personal_data_and_keeps_petitions_anonymous(
    harness: Harness, staff: Staff
) -> None:
    h, _ = harness, harness.tr("vi")
    user = h.emulator.add_user(
        user_id=770_001_234_567,
        first_name="Zebulon",
        last_name="Quixotez",
        username="zq_uniq",
        language_code="vi",
    )
    citizen = ScriptedUser(h.emulator, user)
    await consent(h, citizen, "vi")
    _c, ticket = await submit(h, citizen=citizen)  # shares the phone: contact name and phone stored
    _c, anonymous_ticket = await submit(h, citizen=citizen, anonymous=True)
    petition = await stored_petition(h, ticket)
    assert petition.contact_phone and petition.citizen_id == "tg:770001234567"
    await citizen.send("/new")  # a fresh draft, to be erased too
    await citizen.expect("Cẩm Lộc")
    broadcasts = deps_of(h).broadcasts  # an announcement reached them: its recipient list and outcomes
    announcement = await broadcasts.start_to(
        actor_ref="admin:1", recipients=[user.id], texts={"vi": "Thông báo cúp nước"}, kind="announcement"
    )
    await citizen.expect("Thông báo cúp nước")
    for _attempt in range(200):
        if (await broadcasts.get(announcement)).state == "done":
            break
        await asyncio.sleep(0.025)
    assert await h.redis.hget(h.keys.broadcast_status(announcement), str(user.id)) == "sent"
    secrets_of_citizen = ["770001234567", "Zebulon", "Quixotez", "zq_uniq", "84912345678"]
    assert any(
        s in key or s in value for key, value in await every_key_and_value(h) for s in secrets_of_citizen
    )

    await citizen.send("/privacy")
    shown = await citizen.expect(ticket)
    assert anonymous_ticket in shown.text
    await citizen.tap(_("🗑 Delete my data"))
    question = _(ERASE_QUESTION)
    assert question != ERASE_QUESTION, "ERASE_QUESTION no longer matches the msgid in the code"
    await citizen.expect(question.replace("<b>", "").replace("</b>", ""))  # as the user reads it
    await citizen.tap(_("🗑 Yes, delete my data"))
    told = await citizen.expect(ticket)
    assert "Zebulon" not in told.text and anonymous_ticket in told.text

    leaks = [
        (key, s)
        for key, value in await every_key_and_value(h)
        for s in secrets_of_citizen
        if s in key or s in value
    ]
    assert leaks == []
    opaque = set()
    for kept in (ticket, anonymous_ticket):
        petition = await stored_petition(h, kept)
        assert petition.is_anonymous and petition.contact_name is None and petition.contact_phone is None
        assert petition.citizen_id.startswith("erased:")
        opaque.add(petition.citizen_id)
        assert await h.redis.zscore(h.keys.petitions_by_time(), kept) is not None  # statistics complete
    assert len(opaque) == 1  # one opaque id: counts of distinct citizens stay right
    entries = [e for e in await AuditLog(h.redis, h.keys).entries() if e.action == "data_erasure"]
    assert [(e.actor, e.details) for e in entries] == [("citizen", {"petitions": "2"})]

    # The official still handles the case; the citizen, now unknown, is not told (nothing is rejected).
    await staff["ts-cb"].tap(_("✅ Accept"))
    # Writing again starts over as a new user.
    await citizen.send("/start")
    await citizen.expect("🔒")


async def test_download_a_copy_holds_profile_consents_and_petitions(harness: Harness) -> None:
    h, _ = harness, harness.tr("en")
    citizen, ticket = await submit(h, lang="en", place=("Thanh Sen", "Phường Thành Sen"), category="Land")
    await citizen.send("/privacy")
    await citizen.expect(ticket)
    await citizen.tap(_("📥 Download a copy"))
    await h.emulator.wait_for(
        lambda: any(m.kind == "document" for m in h.emulator.bot_messages(citizen.chat_id))
    )
    document = next(m for m in h.emulator.bot_messages(citizen.chat_id) if m.kind == "document")
    assert document.file_id is not None
    copy = json.loads(h.emulator.files[document.file_id].data.decode("utf-8"))
    assert copy["profile"]["id"] == f"tg:{citizen.user.id}"
    assert len(copy["consent_log"]) == 1 and copy["consent_log"][0]["choices"]["petitions"] is True
    [petition] = copy["petitions"]
    assert petition["id"] == ticket and petition["contact_phone"] == "+84912345678"
    assert [e["action"] for e in petition["history"]][:2] == ["submitted", "routed"]


async def test_withdraw_consent_per_purpose(harness: Harness) -> None:
    h, _ = harness, harness.tr("en")
    citizen = h.citizen(language_code="en")
    await consent(h, citizen, "en", announcements=True)
    await citizen.send("/privacy")
    await citizen.tap(_("↩️ Withdraw consent"))
    await citizen.tap("↩️ " + _("Send me dialogue schedules and announcements"))
    await citizen.expect("schedules and announcements is withdrawn")
    raw = await h.redis.get(h.keys.citizen(f"tg:{citizen.user.id}"))
    stored = Citizen.model_validate_json(raw)
    assert stored.consent is not None
    assert stored.consent.choices == {"petitions": True, "announcements": False}
    await citizen.send("/new")  # petitions consent still given
    await citizen.expect("Cẩm Lộc")

    await citizen.send("/privacy")
    await citizen.tap(_("↩️ Withdraw consent"))
    await citizen.tap("↩️ " + _("Handle my petitions"))
    explained = await citizen.expect("Processing already done is not undone")
    assert "open petitions (0)" in explained.text
    stored = Citizen.model_validate_json(await h.redis.get(h.keys.citizen(f"tg:{citizen.user.id}")))
    assert stored.consent is not None and not any(stored.consent.choices.values())
    assert await h.redis.llen(h.keys.citizen_consents(f"tg:{citizen.user.id}")) == 3
    session = await h.redis.get(h.keys.session(f"tg:{citizen.user.id}"))
    assert session is not None and json.loads(session)["draft"] is None  # the draft went with it
    await citizen.send("/new")
    await citizen.expect(_("Before you send a petition, please read and answer the consent request."))


async def test_retention_anonymises_closed_petitions_after_the_period_once(harness: Harness) -> None:
    h = harness
    deps = deps_of(h)
    _citizen, closed_ticket = await submit(h)
    _citizen2, open_ticket = await submit(h)
    repo = PetitionRepository(h.redis, h.keys)
    before = await stored_petition(h, closed_ticket)
    closed = before.model_copy(
        update={
            "status": PetitionStatus.CLOSED,
            "version": before.version + 1,
            "history": [
                *before.history,
                HistoryEntry(at=h.clock.now(), actor="system", action="closed", status=PetitionStatus.CLOSED),
            ],
        }
    )
    assert await repo.update(before, closed)
    h.clock.advance(timedelta(days=deps.settings.retention_days - 1))
    assert await deps.privacy.sweep_retention() == []
    assert (await stored_petition(h, closed_ticket)).contact_phone == "+84912345678"

    h.clock.advance(timedelta(days=2))
    first, second = await asyncio.gather(deps.privacy.sweep_retention(), deps.privacy.sweep_retention())
    assert sorted([first, second]) == [[], [closed_ticket]]  # the lock: one process sweeps
    assert await deps.privacy.sweep_retention() == []  # and once anonymised, never again
    petition = await stored_petition(h, closed_ticket)
    assert petition.citizen_id.startswith("erased:") and petition.is_anonymous
    assert petition.contact_name is None and petition.contact_phone is None
    assert await h.redis.zcard(h.keys.petitions_by_citizen(before.citizen_id)) == 0
    assert (await stored_petition(h, open_ticket)).contact_phone == "+84912345678"  # open: untouched
    entries = [e for e in await AuditLog(h.redis, h.keys).entries() if e.action == "retention_anonymised"]
    assert [(e.actor, e.ticket) for e in entries] == [("system", closed_ticket)]


async def test_daily_limit_refuses_the_sixth_petition_until_the_next_day(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    h.clock.set(at_noon_today(h))
    deps_of(h).privacy.flood_max_updates = 1000  # six petitions in seconds: not what the flood limit is about
    citizen, _ticket = await submit(h)
    for _n in range(4):
        await submit(h, citizen=citizen)
    assert await h.redis.zcard(h.keys.petitions_by_citizen(f"tg:{citizen.user.id}")) == 5
    await citizen.send("/new")
    refusal = await citizen.expect("🙏")
    assert "5" in refusal.text
    assert await h.redis.get(h.keys.session(f"tg:{citizen.user.id}")) is not None
    assert json.loads(await h.redis.get(h.keys.session(f"tg:{citizen.user.id}")))["draft"] is None
    h.clock.advance(timedelta(days=1))
    _c, sixth = await submit(h, citizen=citizen)
    assert sixth.startswith("HT-")
    assert await h.redis.zcard(h.keys.petitions_by_citizen(f"tg:{citizen.user.id}")) == 6


async def test_flood_is_throttled_once_then_ignored_but_never_for_officials(
    harness: Harness, staff: Staff
) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    limit = h.settings.flood_max_updates
    last: dict[str, Any] = {}
    for n in range(limit + 5):
        last = await citizen.send(f"alo {n}")  # short: guidance, not a petition
    await handled(h, last)
    texts = [m.text or "" for m in h.emulator.bot_messages(citizen.chat_id)]
    slow = [t for t in texts if t.startswith("⏳")]
    assert len(slow) == 1
    assert len(texts) == limit + 1  # one answer per message within the limit, then the notice only
    # The window passes (its counter expires in Redis time): the citizen is answered again.
    await h.redis.delete(h.keys.flood(f"tg:{citizen.user.id}"))
    await citizen.send("/help")
    await citizen.expect("Tiếng Dân")

    official = staff["ts-cb"]
    for _n in range(limit + 3):
        last = await official.send("/inbox")
    await handled(h, last)
    assert not any((m.text or "").startswith("⏳") for m in h.emulator.bot_messages(official.chat_id))


async def test_block_and_unblock_by_admin_are_audited_and_told_once(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    cid = f"tg:{citizen.user.id}"
    await staff["ts-cb"].send(f"/block {ticket} spam")
    await staff["ts-cb"].expect(_("Only administrators can block or unblock citizens."))
    admin = staff["tcd-tb"]
    await admin.send("/block")
    await admin.expect("/block")
    await admin.send(f"/block {staff['ts-ct'].user.id} nope")
    await admin.expect(_("Officials and administrators cannot be blocked."))
    await admin.send(f"/block {ticket} gửi tin <rác> liên tục")
    await admin.expect("<rác>")
    stored = Citizen.model_validate_json(await h.redis.get(h.keys.citizen(cid)))
    assert stored.block is not None and stored.block.reason == "gửi tin <rác> liên tục"

    told = await citizen.send("xin chào")
    await handled(h, told)
    ignored = await citizen.send("xin chào lần nữa")
    await handled(h, ignored)
    blocked_messages = [
        m for m in h.emulator.bot_messages(citizen.chat_id) if (m.text or "").startswith("⛔")
    ]
    assert len(blocked_messages) == 1 and "<rác>" in (blocked_messages[0].text or "")
    assert h.emulator.bot_messages(citizen.chat_id)[-1] is blocked_messages[0]

    await admin.send(f"/unblock {citizen.user.id} đã cam kết")
    await admin.expect(_("✅ Citizen unblocked."))
    await citizen.send("/help")
    await citizen.expect("Tiếng Dân")
    entries = [
        e
        for e in await AuditLog(h.redis, h.keys).entries()
        if e.action in ("citizen_blocked", "citizen_unblocked")
    ]
    assert [(e.actor, e.action, e.ticket) for e in entries] == [
        ("official:tcd-tb", "citizen_blocked", ticket),
        ("official:tcd-tb", "citizen_unblocked", None),
    ]
    assert entries[0].details["reason"] == "gửi tin <rác> liên tục"
    assert entries[0].details["citizen"] == entries[1].details["citizen"]
    assert str(citizen.user.id) not in repr([e.details for e in entries])
