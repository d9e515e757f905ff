"""Deadlines with an injected clock: reminders, escalation up the chain, extension, the citizen's
verdict (rating, reopen, escalation after two "not yet", closing without an answer) — every timer
firing exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from emulator import ScriptedUser
from storage.models import PetitionStatus
from tests.e2e.conftest import Harness, Staff
from tests.e2e.flows import stored_petition, submit

MONDAY_9H = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 09:00 in Hà Tĩnh
LOCAL = timedelta(hours=7)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A December 2026 local time in Hà Tĩnh, as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - LOCAL


async def tick(h: Harness, at: datetime) -> None:
    """Move the clock and let the timer worker fire what is due."""
    h.clock.set(at)
    assert h.runtime.timer_worker is not None
    await h.runtime.timer_worker.tick()


def count(h: Harness, user: ScriptedUser, text: str) -> int:
    return sum(1 for m in h.emulator.bot_messages(user.chat_id) if (m.text or "").startswith(text))


async def test_reminder_then_escalation_up_the_chain_each_once(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    h.clock.set(MONDAY_9H)
    citizen, ticket = await submit(h)
    petition = await stored_petition(h, ticket)
    accept = petition.deadlines["accept"]
    assert accept.due_at == local(8, 17)  # one working day: Tuesday 17:00
    officer, chair, head = staff["ts-cb"], staff["ts-ct"], staff["tcd-tb"]
    await officer.expect(ticket)

    await tick(h, local(7, 16, 59))  # nothing yet
    await tick(h, local(7, 17, 1))  # one working day before the deadline
    await officer.expect("⏰")
    assert count(h, officer, "⏰") == 1

    await tick(h, local(8, 17, 1))  # the deadline passes: overdue, escalated to the chairman
    await chair.expect(ticket)
    notice = await citizen.expect("⬆️")
    assert "Chủ tịch UBND phường Thành Sen" in (notice.text or "")  # the role, not just the same body
    await officer.expect(ticket)
    stored = await stored_petition(h, ticket)
    assert stored.overdue and stored.escalated_to == "ts-ct" and stored.escalation_level == 1

    await tick(h, local(10, 17, 2))  # two more working days: up to the head of the board
    await head.expect("⬆️")
    assert (await stored_petition(h, ticket)).escalated_to == "tcd-tb"
    for _again in range(3):  # firing again changes nothing and sends nothing
        await tick(h, local(10, 17, 3))
    await tick(h, local(11, 9))
    assert count(h, officer, "⏰") == 2 and count(h, chair, "⬆️") == 1 and count(h, head, "⬆️") == 1
    assert count(h, citizen, "⬆️") == 2
    await officer.send("/inbox")
    inbox = await officer.expect(ticket)
    assert "⏰" in inbox.text
    assert await h.redis.zcard(h.keys.timers_inflight()) == 0


async def test_extension_moves_the_deadline_once(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    h.clock.set(MONDAY_9H)
    citizen, ticket = await submit(h)
    officer = staff["ts-cb"]
    card = await officer.expect(ticket)
    assert _("⏳ Extend the deadline") not in [b.text for b in card.iter_buttons()]  # only after Accept
    await officer.tap(_("✅ Accept"))
    await officer.expect(_("✅ {ticket} accepted. The citizen has been told.").format(ticket=ticket))
    resolve_before = (await stored_petition(h, ticket)).deadlines["resolve"].due_at
    await officer.tap(_("⏳ Extend the deadline"))
    await officer.send("Cần phối hợp với phòng địa chính để đo đạc.")
    await citizen.expect("phối hợp với phòng địa chính")
    petition = await stored_petition(h, ticket)
    assert petition.deadlines["resolve"].extended and petition.deadlines["resolve"].due_at > resolve_before
    await tick(h, resolve_before + timedelta(minutes=5))  # the old due time: nothing happens
    assert not (await stored_petition(h, ticket)).overdue
    card = await officer.expect(ticket)
    assert _("⏳ Extend the deadline") not in [b.text for b in card.iter_buttons()]  # once only


async def resolved_case(h: Harness, staff: Staff) -> tuple[ScriptedUser, str]:
    _ = h.tr("vi")
    h.clock.set(MONDAY_9H)
    citizen, ticket = await submit(h)
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    await officer.tap(_("✅ Accept"))
    await officer.expect(_("✅ {ticket} accepted. The citizen has been told.").format(ticket=ticket))
    await officer.tap(_("✔️ Resolve"))
    await officer.send("Đã yêu cầu hộ dân tháo dỡ hàng rào, trả lại lối đi chung.")
    await citizen.expect(
        _(
            "❓ Has your concern in {ticket} really been resolved? Your answer helps the province check the "
            "work of its officials."
        ).format(ticket=ticket)
    )
    return citizen, ticket


async def test_verdict_yes_rating_and_comment_close_the_case(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await resolved_case(h, staff)
    await citizen.tap(_("✅ Yes, it is resolved"))
    await citizen.tap("⭐⭐⭐⭐")
    await citizen.send("Cán bộ xử lý nhanh, cảm ơn.")
    await citizen.expect(_("🙏 Thank you for your feedback."))
    petition = await stored_petition(h, ticket)
    assert petition.status == PetitionStatus.CLOSED and petition.verdict is not None
    assert petition.verdict.resolved and petition.verdict.rating == 4
    assert petition.verdict.comment == "Cán bộ xử lý nhanh, cảm ơn."
    await tick(h, MONDAY_9H + timedelta(days=8))  # the 7-day close timer finds nothing to do
    assert (await stored_petition(h, ticket)).verdict.closed_without_answer is False  # type: ignore[union-attr]


async def test_not_yet_reopens_and_twice_escalates(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await resolved_case(h, staff)
    officer, chair = staff["ts-cb"], staff["ts-ct"]
    await citizen.tap(_("❌ Not yet"))
    await citizen.send("Hàng rào vẫn chưa được tháo.")
    await officer.expect("Hàng rào vẫn chưa được tháo.")
    await chair.expect("Hàng rào vẫn chưa được tháo.")
    petition = await stored_petition(h, ticket)
    assert petition.status == PetitionStatus.IN_PROGRESS and petition.reopen_count == 1
    assert petition.deadlines["resolve"].is_pending
    # Resolved again, and again not really: one level up.
    await officer.tap(_("✔️ Resolve"))
    await officer.send("Đã cưỡng chế tháo dỡ.")
    await citizen.expect("Đã cưỡng chế tháo dỡ.")
    await citizen.tap(_("❌ Not yet"))
    await citizen.send("Vẫn còn một đoạn hàng rào.")
    await chair.expect("⬆️")
    petition = await stored_petition(h, ticket)
    assert petition.reopen_count == 2 and petition.escalated_to == "ts-ct"


async def test_no_answer_in_seven_days_closes(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await resolved_case(h, staff)
    await tick(h, MONDAY_9H + timedelta(days=6))
    assert (await stored_petition(h, ticket)).status == PetitionStatus.RESOLVED
    await tick(h, MONDAY_9H + timedelta(days=7, minutes=5))
    await citizen.expect("⚫")
    petition = await stored_petition(h, ticket)
    assert petition.status == PetitionStatus.CLOSED and petition.verdict is not None
    assert petition.verdict.closed_without_answer
    await citizen.tap(_("❌ Not yet"))  # within 14 days of the resolution it still reopens
    await citizen.send("Chưa xong.")
    await citizen.expect("🔁")
    assert (await stored_petition(h, ticket)).status == PetitionStatus.IN_PROGRESS
