"""Dialogues end to end: guided creation, preview and publication (broadcast), attendance within capacity,
reminders fired once by durable timers (and moved by a reschedule), cancellation notices, questions as
linked petitions, outcomes recorded after the dialogue and the follow-up counts; refusals for non-admins
and forged buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.context import DEPS_KEY, Deps
from bot.domain.cases import Actor, CaseAction
from bot.domain.dialogues import follow_up
from emulator import ScriptedUser
from handlers.citizen.views import local_time
from handlers.dialogues import REMINDER_TEXTS
from handlers.official.views import DONE_LABELS
from storage.dialogues import Dialogue, DialogueStatus
from storage.models import PetitionStatus
from tests.e2e.conftest import STAFF, Harness, Staff
from tests.e2e.flows import consent, past_similar, stored_petition, submit

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hà Tĩnh
LOCAL = timedelta(hours=7)
THANH_SEN = "Phường Thành Sen"


def deps_of(h: Harness) -> Deps:
    assert h.runtime.application is not None
    deps = h.runtime.application.bot_data[DEPS_KEY]
    assert isinstance(deps, Deps)
    return deps


def thanh_sen(h: Harness) -> str:
    return next(loc.code for loc in deps_of(h).directory.localities if loc.name == THANH_SEN)


async def stored(h: Harness, dialogue_id: str) -> Dialogue:
    raw = await h.redis.get(h.keys.dialogue(dialogue_id))
    assert raw is not None
    return Dialogue.model_validate_json(raw)


async def tick(h: Harness, at: datetime) -> None:
    h.clock.set(at)
    assert h.runtime.timer_worker is not None
    await h.runtime.timer_worker.tick()


def count(h: Harness, user: ScriptedUser, text: str) -> int:
    return sum(1 for m in h.emulator.bot_messages(user.chat_id) if text in (m.text or ""))


def reminder_mark(h: Harness, lang: str = "vi") -> str:
    """How every dialogue reminder begins in ``lang`` ("🔔 Reminder: " in English), to count them."""
    _ = h.tr(lang)
    [mark] = {_(text).split("{title}")[0].rstrip("«“") for text in REMINDER_TEXTS.values()}
    assert mark.startswith("🔔") and len(mark) > 3, mark
    return mark


def question_for(h: Harness, dialogue: Dialogue, lang: str = "vi") -> str:
    """The line that ties a question (a draft or a petition) to its dialogue, as the citizen reads it."""
    return h.tr(lang)("Question for dialogue #{id}").format(id=dialogue.id)


async def published(h: Harness, *, capacity: int | None = None, starts: datetime | None = None) -> Dialogue:
    """A dialogue for Thành Sen created and published by the admin through the service."""
    deps = deps_of(h)
    admin = await deps.cases.actor(STAFF["tcd-tb"])
    fields: dict[str, object] = {
        "title": "Đối thoại về đất đai <Thành Sen>",
        "host_name": "Nguyễn Văn A",
        "host_title": "Chủ tịch UBND phường",
        "kind": "dialogue",
        "starts_at": (starts or NOW + timedelta(days=3)).isoformat(),
        "place": "Hội trường UBND phường",
        "localities": [thanh_sen(h)],
        "topics": ["land"],
        "capacity": capacity,
    }
    dialogue = await deps.dialogues.create(admin, fields)
    return await deps.dialogues.publish(admin, dialogue.id)


async def forged_press(h: Harness, user: ScriptedUser, data: str) -> dict[str, Any]:
    message = user.last_bot_message
    update = h.emulator.user_presses(user.user, message, data, strict=False)
    query_id = update["callback_query"]["id"]
    await h.emulator.wait_for(lambda: query_id in h.emulator.callback_answers)
    return h.emulator.callback_answers[query_id]


async def test_create_preview_publish_broadcasts_to_the_localities(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    h.clock.set(NOW)
    deps = deps_of(h)
    subscriptions = getattr(deps, "subscriptions", None)
    subscriber = h.citizen()
    await consent(h, subscriber, "vi", announcements=True)
    if subscriptions is not None:
        citizen = await deps.citizens.get("tg", str(subscriber.user.id))
        await subscriptions.subscribe(citizen, [thanh_sen(h)])

    officer = staff["ts-cb"]
    await officer.send("/newdialogue")
    await officer.expect(_("Only administrators and commune chairmen can organise dialogues."))

    admin = staff["tcd-tb"]
    await admin.send("/newdialogue")
    await admin.expect("🎙")
    await admin.send("Đối thoại về đất đai <Thành Sen>")
    await admin.send("Nguyễn Văn A")
    await admin.send("Chủ tịch UBND phường")
    await admin.tap(_("Direct dialogue"))
    await admin.expect("dd/mm/yyyy")
    await admin.send("32/13/2026 8:00")
    await admin.expect("32/13/2026")
    await admin.send("01/12/2026 08:00")
    await admin.expect(_("That date and time has already passed. Please give a future one."))
    await admin.send("10/12/2026 08:00")
    await admin.send("Hội trường UBND phường")
    await admin.send("Thanh Sen")
    await admin.tap(THANH_SEN)
    await admin.expect(_("Chosen:"))
    await admin.tap(_("☑️ Done"))
    await admin.tap("Đất đai")
    await h.emulator.wait_for(
        lambda: any(b.text == "✅ Đất đai" for b in admin.last_bot_message.iter_buttons())
    )
    await admin.tap(_("☑️ Done"))
    await admin.send("1200")
    await admin.expect(_("👁 Preview — citizens will see exactly this:"))
    preview = await admin.expect("Nguyễn Văn A")
    assert _("{capacity} seats").format(capacity="1.200") in (preview.text or "")  # Vietnamese grouping
    assert "&lt;Thành Sen&gt;" not in (preview.text or "") and "<Thành Sen>" in (preview.text or "")
    assert "10/12/2026 08:00" in (preview.text or "") and THANH_SEN in (preview.text or "")
    assert await h.redis.zcard(h.keys.dialogues_by_time()) == 0  # nothing stored before publishing

    await admin.tap(_("📣 Publish"))
    await admin.expect("#1")
    dialogue = await stored(h, "1")
    assert dialogue.status == DialogueStatus.PUBLISHED and dialogue.capacity == 1200
    assert dialogue.starts_at == datetime(2026, 12, 10, 8, tzinfo=UTC) - LOCAL
    assert dialogue.localities == [thanh_sen(h)] and dialogue.topics == ["land"]
    timers = [t.member for t, _due in await deps.timers.pending()]
    start = int(dialogue.starts_at.timestamp())
    assert f"dlg_remind|1|24h|{start}" in timers and f"dlg_remind|1|1h|{start}" in timers
    actions = [e.action for e in await deps.audit.entries(actor="official:tcd-tb")]
    assert "dialogue_created" in actions and "dialogue_published" in actions

    engine = getattr(deps, "broadcasts", None)
    if engine is None:
        pytest.skip("the broadcast engine is not wired into Deps yet (another developer's part)")
    assert dialogue.broadcast_id is not None
    broadcast = await engine.get(dialogue.broadcast_id)
    assert broadcast.ref == "1" and broadcast.kind == "dialogue"
    assert broadcast.audience.localities == [thanh_sen(h)] and broadcast.audience.province_wide
    if subscriptions is not None:
        await subscriber.expect("📣", timeout=10)


async def test_reminders_come_in_each_attendees_language(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("en")
    h.clock.set(NOW)
    dialogue = await published(h)
    english, vietnamese = h.citizen(language_code="en"), h.citizen(language_code="vi")
    for citizen, lang in ((english, "en"), (vietnamese, "vi")):
        await citizen.send("/dialogues")
        await citizen.tap(h.tr(lang)("🙋 Attend"))
        await citizen.expect("🙋")
    await tick(h, dialogue.starts_at - timedelta(hours=24) + timedelta(seconds=1))
    await english.expect(reminder_mark(h, "en"), timeout=5)
    await vietnamese.expect(reminder_mark(h, "vi"), timeout=5)


async def test_an_attendee_can_give_up_their_seat(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    h.clock.set(NOW)
    dialogue = await published(h, capacity=1)
    first, second = h.citizen(), h.citizen()
    await first.send("/dialogues")
    await first.tap(_("🙋 Attend"))
    await first.expect("🙋")
    await second.send("/dialogues")
    await second.tap(_("🙋 Attend"))
    await second.expect_alert(_("Sorry, this dialogue is full: every seat is taken."))
    await first.tap(_("🚪 Give up my seat"))
    await first.expect("🚪")
    assert await h.redis.scard(h.keys.dialogue_attendees(dialogue.id)) == 0
    assert await h.redis.scard(h.keys.dialogue_reminded(dialogue.id)) == 0  # no reminder for a seat given up
    await second.tap(_("🙋 Attend"))  # the freed seat
    await second.expect("🙋")
    assert await h.redis.smembers(h.keys.dialogue_attendees(dialogue.id)) == {str(second.user.id)}


async def test_attend_within_capacity_and_reminders_fire_once_then_move(
    harness: Harness, staff: Staff
) -> None:
    h, _ = harness, harness.tr("vi")
    h.clock.set(NOW)
    dialogue = await published(h, capacity=2)
    first, second, third, reminded = (h.citizen() for _i in range(4))
    for citizen in (first, second):
        await citizen.send("/dialogues")
        await citizen.tap(_("🙋 Attend"))
        await citizen.expect("🙋")
    await third.send("/dialogues")
    await third.tap(_("🙋 Attend"))
    alert = await third.expect_alert(_("Sorry, this dialogue is full: every seat is taken."))
    assert alert.get("show_alert")
    assert await h.redis.scard(h.keys.dialogue_attendees(dialogue.id)) == 2
    await reminded.send("/dialogues")
    await reminded.tap(_("🔔 Remind me"))
    await reminded.expect("🔔")

    start = dialogue.starts_at
    await tick(h, start - timedelta(hours=24, minutes=1))
    await tick(h, start - timedelta(hours=24) + timedelta(seconds=1))
    for citizen in (first, second, reminded):
        await citizen.expect("🔔", timeout=5)
    await tick(h, start - timedelta(hours=24) + timedelta(seconds=2))  # again: nothing new
    reminder = reminder_mark(h)
    assert [count(h, c, reminder) for c in (first, second, third, reminded)] == [1, 1, 0, 1]

    admin = staff["tcd-tb"]
    await admin.send(f"/dialogue {dialogue.id}")
    await admin.tap(_("🕒 Reschedule"))
    await admin.send("12/12/2026 15:30")
    await admin.expect("12/12/2026 15:30")
    for citizen in (first, second, reminded):
        await citizen.expect("🕒")
    moved = await stored(h, dialogue.id)
    assert moved.starts_at == datetime(2026, 12, 12, 15, 30, tzinfo=UTC) - LOCAL

    await tick(h, start - timedelta(minutes=59))  # the old 1 h reminder: a no-op
    assert count(h, first, reminder) == 1
    await tick(h, moved.starts_at - timedelta(hours=23))
    await tick(h, moved.starts_at - timedelta(minutes=59))
    await first.expect(
        _(REMINDER_TEXTS["1h"]).format(title=moved.title, when=local_time(moved.starts_at), place=moved.place)
    )
    for _again in range(2):
        await tick(h, moved.starts_at - timedelta(minutes=58))
    assert [count(h, c, reminder) for c in (first, second, third, reminded)] == [3, 3, 0, 3]
    assert await h.redis.zcard(h.keys.timers_inflight()) == 0


async def test_cancel_notifies_registrants_and_askers_and_refuses_others(
    harness: Harness, staff: Staff
) -> None:
    h, _ = harness, harness.tr("vi")
    h.clock.set(NOW)
    dialogue = await published(h)
    attendee = h.citizen()
    await attendee.send("/dialogues")
    await attendee.tap(_("🙋 Attend"))
    await attendee.expect("🙋")
    asker, ticket = await _ask(h, dialogue)
    bystander = h.citizen()
    await bystander.send("/dialogues")
    await bystander.expect("🎙")

    # Forged runner buttons from a citizen and from an officer who is not the organiser.
    officer = staff["ts-cb"]
    await officer.send("/dialogues")
    await officer.expect("🎙")
    for user in (bystander, officer):
        for data in (f"dg:cx:{dialogue.id}", f"dg:held:{dialogue.id}", "dg:pp", "dg:k:dialogue"):
            answer = await forged_press(h, user, data)
            assert answer.get("show_alert") and answer.get("text"), data
    assert (await stored(h, dialogue.id)).status == DialogueStatus.PUBLISHED
    deps = deps_of(h)
    with pytest.raises(Exception, match="dialogue"):
        await deps.dialogues.create(Actor(STAFF["ts-cb"], None, False), {})

    admin = staff["tcd-tb"]
    await admin.send(f"/dialogue {dialogue.id}")
    await admin.tap(_("❌ Cancel the dialogue"))
    await admin.expect("❌")
    await attendee.expect("❌")
    await asker.expect("❌")
    assert count(h, bystander, "❌") == 0
    assert (await stored(h, dialogue.id)).status == DialogueStatus.CANCELLED
    assert "dialogue_cancelled" in [e.action for e in await deps.audit.entries(actor="official:tcd-tb")]
    await tick(h, dialogue.starts_at - timedelta(minutes=30))  # the reminders are no-ops now
    assert count(h, attendee, reminder_mark(h)) == 0
    assert ticket


async def _ask(h: Harness, dialogue: Dialogue, description: str | None = None) -> tuple[ScriptedUser, str]:
    _ = h.tr("vi")
    citizen = h.citizen()
    await consent(h, citizen, "vi")
    await citizen.send("/dialogues")
    await citizen.tap(_("❓ Submit a question"))
    await citizen.expect("❓")
    await citizen.send("Thành Sen")
    await citizen.tap(THANH_SEN)
    await citizen.tap("Đất đai")
    await citizen.tap(_("Question"))
    await citizen.send(description or "Khi nào phường cấp sổ đỏ cho các hộ ở tổ dân phố 5?")
    await past_similar(h, citizen, "vi")
    await citizen.tap(_("⏭ Skip — no attachments"))
    await citizen.tap_reply(_("🙈 Stay anonymous"))
    summary = await citizen.expect(_("Please check your petition"))
    assert question_for(h, dialogue) in (summary.text or "")
    await citizen.tap(_("✅ Send"))
    receipt = await citizen.expect("HT-")
    ticket = next(w for w in (receipt.text or "").replace("\n", " ").split() if w.startswith("HT-"))
    return citizen, ticket.strip(".,")


async def test_questions_outcomes_and_follow_up(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    h.clock.set(NOW)
    deps = deps_of(h)
    dialogue = await published(h)
    asker1, q1 = await _ask(h, dialogue)
    asker2, q2 = await _ask(h, dialogue, "Đề nghị làm lại đường bê tông ngõ 12 bị xuống cấp nặng.")
    _other, unrelated = await submit(h)  # an ordinary petition, not linked
    for ticket in (q1, q2):
        petition = await stored_petition(h, ticket)
        assert petition.dialogue_id == dialogue.id and petition.assignee_id == "ts-cb"
    officer = staff["ts-cb"]
    await officer.expect(q2)
    await officer.send(f"/dialogue {dialogue.id}")
    listing = await officer.expect(q1)
    assert q2 in (listing.text or "") and unrelated not in (listing.text or "")
    unrelated_officer = staff["hht-cb"]
    await unrelated_officer.send(f"/dialogue {dialogue.id}")
    assert q1 not in (await unrelated_officer.expect("🎙")).text
    await asker1.send("/my")
    await asker1.tap(q1)
    await asker1.expect(question_for(h, dialogue))

    admin = staff["tcd-tb"]
    h.clock.set(dialogue.starts_at + timedelta(hours=3))
    await admin.send(f"/dialogue {dialogue.id}")
    await admin.tap(_("✅ Mark as held"))
    await admin.expect(q1)
    # q1: answered on the spot.
    await admin.tap(q1)
    await admin.send("Phường sẽ trao sổ đỏ tại buổi đối thoại; đã trao xong.")
    await admin.tap(_("✅ Answered on the spot"))
    await asker1.expect("đã trao xong")
    # q2: a commitment by the officer within 10 days.
    await admin.tap(q2)
    await admin.send("Phường cam kết sửa đường ngõ 12 trước Tết.")
    await admin.tap(_("📌 A commitment: someone must act"))
    await admin.tap("Thành Sen")  # the officer, listed first as the current assignee
    await admin.send("20/12/2026")
    await asker2.expect("cam kết sửa đường")
    due = datetime(2026, 12, 20, 17, tzinfo=UTC) - LOCAL
    p2 = await stored_petition(h, q2)
    assert p2.deadlines["resolve"].due_at == due and p2.status == PetitionStatus.IN_PROGRESS
    assert f"due|{q2}|resolve|{int(due.timestamp())}" in [t.member for t, _d in await deps.timers.pending()]
    p1 = await stored_petition(h, q1)
    assert p1.status == PetitionStatus.RESOLVED and p1.resolution and p1.verdict is not None
    # A proposal raised on the spot.
    await admin.tap(_("➕ A proposal raised on the spot"))
    await admin.send("Người dân đề nghị lắp thêm đèn chiếu sáng đường Hà Huy Tập.")
    await admin.send("Thành Sen")
    await admin.tap(THANH_SEN)
    await admin.tap("Giao thông")
    proposal_receipt = await admin.expect("HT-")
    proposal = next(w for w in (proposal_receipt.text or "").split() if w.startswith("HT-"))
    p3 = await stored_petition(h, proposal)
    assert p3.dialogue_id == dialogue.id and p3.is_anonymous and p3.channel == "dialogue"
    await officer.expect(proposal)

    # The officer resolves the proposal; then the commitment's date passes unmet.
    await officer.tap(_("✅ Accept"))
    await officer.tap(_("✔️ Resolve"))
    await officer.send("Đã lắp 6 đèn chiếu sáng trên đường Hà Huy Tập.")
    await officer.expect(_(DONE_LABELS[CaseAction.RESOLVE]).format(ticket=proposal))
    await tick(h, due + timedelta(minutes=1))
    assert (await stored_petition(h, q2)).overdue
    petitions = [await stored_petition(h, t) for t in (q1, q2, proposal)]
    answered = {p.id for p in petitions if any(e.action == "dialogue_answer" for e in p.history)}
    rest = [p for p in petitions if p.id not in answered]
    expected = (
        len(petitions),
        len(answered),
        sum(1 for p in rest if p.is_open and not p.overdue),
        sum(1 for p in rest if p.status in (PetitionStatus.RESOLVED, PetitionStatus.CLOSED)),
        sum(1 for p in rest if p.is_open and p.overdue),
    )
    assert expected == (3, 1, 0, 1, 1)
    counts = follow_up(await stored(h, dialogue.id), petitions)
    assert (counts.raised, counts.answered, counts.in_progress, counts.resolved, counts.overdue) == expected
    await admin.send(f"/dialogue {dialogue.id}")
    view = await admin.expect("📊")
    numbers = [
        int(w.strip("·")) for w in (view.text or "").split("📊", 1)[1].split("\n")[0].split() if w.isdigit()
    ]
    assert tuple(numbers) == expected
    actions = [e.action for e in await deps.audit.entries(actor="official:tcd-tb")]
    assert (
        actions.count("dialogue_outcome") == 2
        and "dialogue_proposal" in actions
        and "dialogue_held" in actions
    )


async def test_the_usage_lines_reach_admins_and_citizens(harness: Harness, staff: Staff) -> None:
    """/dialogues for an organiser and a bare /dialogue name the argument as «<number>», in the reader's
    language (Telegram refuses a message with an unknown tag such as <number>)."""
    h = harness
    h.clock.set(NOW)
    await published(h)
    admin = staff["tcd-tb"]
    await admin.send("/dialogues")
    await admin.expect("/newdialogue")
    manage = await admin.expect("/dialogue <số của buổi đối thoại>")
    assert "<number>" not in (manage.text or "")
    await admin.expect("🎙")  # and the dialogues themselves follow
    await admin.send("/dialogue")
    await admin.expect("Cách dùng: /dialogue <số của buổi đối thoại>, ví dụ /dialogue 1.")
    citizen = h.citizen(language_code="en")
    await citizen.send("/dialogue")
    await citizen.expect("Usage: /dialogue <number>, for example /dialogue 1.")
    assert not h.emulator.rejections


async def test_a_question_asked_before_consenting_stays_with_its_dialogue(
    harness: Harness, staff: Staff
) -> None:
    h, _ = harness, harness.tr("vi")
    h.clock.set(NOW)
    dialogue = await published(h)
    citizen = h.citizen()
    await citizen.send("/dialogues")
    await citizen.tap(_("❓ Submit a question"))
    await citizen.expect(_("Before you send a petition, please read and answer the consent request."))
    await citizen.tap(_("Handle my petitions"))
    await h.emulator.wait_for(
        lambda: any(b.text.startswith("☑️") for b in citizen.last_bot_message.iter_buttons())
    )
    await citizen.tap(_("✅ Continue"))
    await citizen.expect("Đối thoại về đất đai <Thành Sen>")  # the question for that dialogue
    await citizen.send("Thành Sen")
    await citizen.tap(THANH_SEN)
    await citizen.tap("Đất đai")
    await citizen.tap(_("Question"))
    await citizen.send("Khi nào phường cấp sổ đỏ cho các hộ ở tổ dân phố 5?")
    await citizen.tap(_("⏭ Skip — no attachments"))
    await citizen.tap_reply(_("🙈 Stay anonymous"))
    summary = await citizen.expect(_("Please check your petition"))
    assert question_for(h, dialogue) in (summary.text or "")
    await citizen.tap(_("✅ Send"))
    receipt = await citizen.expect("HT-")
    ticket = next(w for w in (receipt.text or "").replace("\n", " ").split() if w.startswith("HT-"))
    ticket = ticket.strip(".,")
    assert (await stored_petition(h, ticket)).dialogue_id == dialogue.id
    assert ticket in await deps_of(h).dialogues.repo.question_tickets(dialogue.id)
    admin = staff["tcd-tb"]
    await admin.send(f"/dialogue {dialogue.id}")
    follow = await admin.expect("📊")
    assert ticket in (follow.text or "")
    assert follow_up(dialogue, await deps_of(h).dialogues.questions(dialogue.id)).raised == 1
