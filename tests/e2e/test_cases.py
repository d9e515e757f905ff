"""Officials handle cases end to end: routing, every action and its notifications, authorisation,
anonymity of relayed messages, transfer, a citizen who blocked the bot, /inbox."""

from __future__ import annotations

import json

import pytest

from bot.domain.cases import CaseAction
from handlers import notify
from handlers.official.views import DONE_LABELS, SAVED_LABEL
from storage.models import Petition, PetitionStatus
from storage.officials import OfficialRepository
from tests.e2e.conftest import Harness, Staff
from tests.e2e.flows import consent, new_petition, stored_petition, submit, this_year


async def test_petition_is_routed_and_the_official_gets_the_card(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    _citizen, ticket = await submit(h, first_name="Lan", last_name="Trần")
    petition = await stored_petition(h, ticket)
    assert petition.assignee_id == "ts-cb" and petition.routed_by == "locality"
    assert await h.redis.zrange(h.keys.open_petitions_by_assignee("ts-cb"), 0, -1) == [ticket]
    card = await staff["ts-cb"].expect(ticket)
    assert (
        _("📥 A new petition for you.") in card.text
        and "Lan Trần" in card.text
        and "+84912345678" in card.text
    )
    labels = [b.text for b in card.iter_buttons()]
    assert _("✅ Accept") in labels and _("✔️ Resolve") not in labels  # resolve comes after accepting
    assert _("⏳ Extend the deadline") not in labels  # extending comes after accepting too
    rows = card.raw["reply_markup"]["inline_keyboard"]
    for row in rows:  # a long Vietnamese label has a row of its own, so a phone shows it whole
        assert len(row) == 1 or all(len(b["text"]) <= 16 for b in row), row
    assert [b["text"] for b in rows[0]] == [_("✅ Accept"), _("💬 Reply")]


async def test_ask_for_information_offers_questions(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    await officer.tap(_("❓ Ask for information"))
    prompt = await officer.expect(_("Or pick a question:"))
    question = _("Could you send a photo or a video of the problem?")
    assert question in (prompt.text or "")
    assert "Cảm ơn bạn đã thông tin" not in (prompt.text or "")  # the saved answers are for replies
    await officer.tap("2")
    asked = await citizen.expect(question)
    assert ticket in (asked.text or "")


async def test_accept_reply_ask_resolve_with_notifications(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h, lang="en", place=("Thanh Sen", "Phường Thành Sen"), category="Land")
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    await officer.tap(_("✅ Accept"))
    news = await citizen.expect("has been accepted by")
    assert ticket in news.text and "UBND" in news.text  # in the citizen's language, naming the unit
    assert (await stored_petition(h, ticket)).status == PetitionStatus.ACCEPTED

    await officer.tap(_("💬 Reply"))
    await officer.expect(_("Or pick a saved answer:"))
    await officer.send("Chúng tôi sẽ cử cán bộ xuống kiểm tra <hiện trường> & lập biên bản.")
    answer = await citizen.expect("Answer about your petition")
    assert "kiểm tra <hiện trường> & lập biên bản" in answer.text and ticket in answer.text
    await officer.expect(_("💬 Your reply on {ticket} was sent to the citizen.").format(ticket=ticket))

    await officer.tap(_("❓ Ask for information"))
    await officer.send("Xin cho biết số nhà của hộ lấn chiếm.")
    question = await citizen.expect("needs more information")
    await citizen.send("Số nhà 15, ngõ 7.", reply_to_message_id=question.message_id)
    await citizen.expect("Added to")
    relayed = await officer.expect("Số nhà 15, ngõ 7.")
    assert ticket in relayed.text
    await officer.expect(_("❓ Your question on {ticket} was sent to the citizen.").format(ticket=ticket))

    await officer.tap(_("✔️ Resolve"))
    await officer.expect(_("Or pick a saved answer:"))
    await officer.tap("1")  # the unit's first saved answer
    resolved = await citizen.expect("has been resolved")
    assert ticket in resolved.text
    petition = await stored_petition(h, ticket)
    assert petition.status == PetitionStatus.RESOLVED and petition.resolution
    assert [e.action for e in petition.history] == [
        "submitted",
        "routed",
        "accepted",
        "replied",
        "asked_info",
        "citizen_info",
        "resolved",
    ]
    assert await h.redis.zcard(h.keys.open_petitions_by_assignee("ts-cb")) == 0
    await citizen.send("/my")
    await citizen.tap(f"🔎 {ticket}")
    detail = await citizen.expect("History")
    assert "Resolved" in detail.text and "You added information" in detail.text


async def test_resolution_needs_evidence_where_configured(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h, category="Xây dựng, trật tự đô thị")
    petition = await stored_petition(h, ticket)
    assert petition.assignee_id == "ts-cb"
    officer = staff["ts-cb"]
    await officer.tap(_("✅ Accept"))
    await officer.tap(_("✔️ Resolve"))
    await officer.send("Đã tháo dỡ công trình vi phạm ngày 25/11.")
    await officer.expect("📸")
    assert (await stored_petition(h, ticket)).status == PetitionStatus.ACCEPTED
    await officer.send_photo()
    await citizen.expect("Đã tháo dỡ công trình vi phạm")
    await h.emulator.wait_for(
        lambda: any(m.kind == "photo" for m in h.emulator.bot_messages(citizen.chat_id))
    )
    stored = await stored_petition(h, ticket)
    assert stored.status == PetitionStatus.RESOLVED and len(stored.resolution_attachments) == 1


async def test_photo_captions_reach_the_other_side_both_ways(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = await new_petition(h, "vi")
    await citizen.send("Thành Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.tap("Xây dựng, trật tự đô thị")
    await citizen.tap(_("Report a problem"))
    await citizen.send("Công trình xây lấn ra vỉa hè trước nhà số 12.")
    await citizen.send_photo(caption="Góc nhìn từ đầu ngõ <12> & vỉa hè")
    await citizen.expect(_("📎 Received ({count} of {max}). Send more, or tap Done.").format(count=1, max=10))
    await citizen.tap(_("✅ Done ({count} attached)").format(count=1))
    await citizen.tap_reply(_("🙈 Stay anonymous"))
    await citizen.tap(_("✅ Send"))
    receipt = await citizen.expect(f"HT-{this_year()}-")
    ticket = next(w.strip(".,") for w in receipt.text.split() if w.startswith("HT-"))
    stored = await stored_petition(h, ticket)
    assert stored.attachments[0].caption == "Góc nhìn từ đầu ngõ <12> & vỉa hè"
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    photo = await officer.expect("Góc nhìn từ đầu ngõ <12> & vỉa hè")  # escaped when sent, shown as typed
    assert photo.kind == "photo"

    await officer.tap(_("✅ Accept"))
    await officer.tap(_("✔️ Resolve"))
    await officer.send("Đã tháo dỡ phần lấn chiếm vỉa hè.")
    await officer.expect("📸")
    await officer.send_photo(caption="Vỉa hè sau khi tháo dỡ, chụp 25/11")
    evidence = await citizen.expect("Vỉa hè sau khi tháo dỡ, chụp 25/11")
    assert evidence.kind == "photo"
    resolved = await stored_petition(h, ticket)
    assert resolved.resolution_attachments[0].caption == "Vỉa hè sau khi tháo dỡ, chụp 25/11"


async def test_transfer_moves_the_case_and_old_buttons_go_stale(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    officer, other = staff["ts-cb"], staff["hht-cb"]
    card = await officer.expect(ticket)
    accept = next(b for b in card.iter_buttons() if b.text == _("✅ Accept"))
    await officer.tap(_("↪️ Transfer"))
    units = await officer.expect(
        _("↪️ Transfer {ticket} to which unit? Only officials who have joined the bot are listed.").format(
            ticket=ticket
        )
    )
    labels = [b.text for b in units.iter_buttons()]
    # grouped by unit, and only units with someone who joined (13 officials in the directory, 5 joined)
    assert "UBND phường Hà Huy Tập (1)" in labels and not any("Cẩm Trung" in label for label in labels)
    target = await OfficialRepository(h.redis, h.keys).get("hht-cb")
    assert target is not None
    await officer.tap("UBND phường Hà Huy Tập (1)")
    await officer.tap(f"{target.name} — {target.title}")
    await officer.send("Địa chỉ thuộc phường Hà Huy Tập.")
    received = await other.expect(_("↪️ A petition was transferred to you."))
    transferred_by = _("Transferred by {who}, {when}. Reason:").split("{who}")[0]
    assert transferred_by in (received.text or "") and "Nguyễn Văn An" in (received.text or "")
    assert "Địa chỉ thuộc phường Hà Huy Tập." in (received.text or "")
    await citizen.expect("Địa chỉ thuộc phường Hà Huy Tập.")
    petition = await stored_petition(h, ticket)
    assert petition.assignee_id == "hht-cb" and petition.status == PetitionStatus.SUBMITTED
    assert await h.redis.zrange(h.keys.open_petitions_by_assignee("hht-cb"), 0, -1) == [ticket]
    assert await h.redis.zcard(h.keys.open_petitions_by_assignee("ts-cb")) == 0
    # The first card's Accept is now stale: the old assignee is no longer allowed, nothing changes.
    update = h.emulator.user_presses(officer.user, card, accept.callback_data, strict=False)
    query = update["callback_query"]["id"]
    await h.emulator.wait_for(lambda: query in h.emulator.callback_answers)
    assert h.emulator.callback_answers[query].get("show_alert")
    assert (await stored_petition(h, ticket)).status == PetitionStatus.SUBMITTED


async def test_reject_tells_the_citizen_where_to_go(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    await officer.tap(_("🚫 Reject"))
    await officer.send("Tranh chấp dân sự: đề nghị gửi đơn đến Tòa án nhân dân khu vực.")
    await citizen.expect("Tòa án nhân dân khu vực")
    assert (await stored_petition(h, ticket)).status == PetitionStatus.REJECTED


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        ("ts-cb", True),
        ("ts-ct", True),
        ("tcd-tb", True),
        ("hht-cb", False),
        ("desk-ht", False),
        ("citizen", False),
    ],
)
async def test_authorisation_of_every_action_by_role(
    harness: Harness, staff: Staff, actor: str, allowed: bool
) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    card = await staff["ts-cb"].expect(ticket)
    person = citizen if actor == "citizen" else staff[actor]
    await person.send("/help")  # any message of the bot in the actor's chat to press on
    await person.expect("/new")
    anchor = person.last_bot_message
    for action in CaseAction:
        petition = await stored_petition(h, ticket)
        data = f"o:{action.value}:{ticket}:{petition.stage}"
        update = h.emulator.user_presses(person.user, anchor, data, strict=False)
        query = update["callback_query"]["id"]
        await h.emulator.wait_for(lambda q=query: q in h.emulator.callback_answers)
        answer = h.emulator.callback_answers[query]
        after = await stored_petition(h, ticket)
        if not allowed:
            assert answer.get("show_alert"), (actor, action)
            assert after.version == petition.version and after.stage == petition.stage, (actor, action)
        elif action == CaseAction.ACCEPT:
            assert after.status == PetitionStatus.ACCEPTED
        elif action in (CaseAction.REPLY, CaseAction.ASK_INFO, CaseAction.RESOLVE, CaseAction.REJECT):
            assert not answer.get("show_alert"), (actor, action)  # a prompt for the text follows
            await person.send("/cancel")
            await person.expect(_("Cancelled."))
    assert card is not None


async def test_anonymous_identity_never_reaches_the_official(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h, anonymous=True, first_name="Bí", last_name="Mật", username="bimat_99")
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    await officer.tap(_("❓ Ask for information"))
    await officer.send("Anh/chị có ảnh hiện trường không?")
    question = await citizen.expect(ticket)
    await citizen.send("Có, tôi gửi ảnh.", reply_to_message_id=question.message_id)
    await officer.expect("Có, tôi gửi ảnh.")
    await citizen.send("/my")
    await citizen.tap(f"🔎 {ticket}")
    await citizen.tap(_("➕ Add information"))
    await citizen.send_photo(caption="Ảnh chụp sáng nay")
    await officer.expect("Ảnh chụp sáng nay")
    secrets = [str(citizen.user.id), "Bí", "Mật", "bimat_99", "+84912345678"]
    for message in h.emulator.messages(officer.chat_id):
        if not message.from_bot:
            continue
        dumped = json.dumps(message.raw, ensure_ascii=False)
        for secret in secrets:
            assert secret not in dumped, (secret, message.raw)
        assert "forward_origin" not in message.raw
    petition: Petition = await stored_petition(h, ticket)
    assert petition.is_anonymous and petition.contact_phone is None


async def test_a_citizen_who_blocked_the_bot_does_not_break_the_action(
    harness: Harness, staff: Staff
) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    h.emulator.block_bot(citizen.user.id)
    await officer.tap(_("✅ Accept"))
    # Told what really happened: the action is saved, the citizen was not reached (never "told").
    warning = await officer.expect(_(notify.CITIZEN_UNREACHABLE).format(ticket=ticket)[:40])
    saved = await officer.expect(_(SAVED_LABEL).format(ticket=ticket))
    assert warning.message_id < saved.message_id
    assert not any(
        _(DONE_LABELS[CaseAction.ACCEPT]).format(ticket=ticket) in (m.text or "")
        for m in h.emulator.bot_messages(officer.chat_id)
    )
    assert (await stored_petition(h, ticket)).status == PetitionStatus.ACCEPTED
    assert all(r.error_code == 403 for r in h.emulator.rejections)
    h.emulator.rejections.clear()


async def test_inbox_for_officer_and_supervisor(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    _citizen, first = await submit(h)
    _citizen2, second = await submit(h, place=("Hà Huy Tập", "Phường Hà Huy Tập"))
    await staff["ts-cb"].send("/inbox")
    inbox = await staff["ts-cb"].expect(_("Open cases"))
    assert first in inbox.text and second not in inbox.text
    await staff["ts-ct"].send("/inbox")
    assert first in (await staff["ts-ct"].expect(_("Open cases"))).text
    await staff["tcd-tb"].send("/inbox")
    admin_inbox = await staff["tcd-tb"].expect(_("Open cases"))
    assert first in admin_inbox.text and second in admin_inbox.text
    await staff["ts-cb"].tap(_("✅ Accept"))  # the first case moves on
    await staff["ts-cb"].expect(_("✅ {ticket} accepted. The citizen has been told.").format(ticket=first))
    await staff["tcd-tb"].tap(_("Accepted"))
    await h.emulator.wait_for(lambda: second not in (staff["tcd-tb"].last_bot_message.text or ""))
    filtered = staff["tcd-tb"].last_bot_message
    assert first in (filtered.text or "") and "(1/2)" in (filtered.text or "")
    citizen = h.citizen()
    await consent(h, citizen, "vi")
    await citizen.send("/inbox")
    await citizen.expect("/new")
