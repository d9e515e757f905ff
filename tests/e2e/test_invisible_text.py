"""Text made only of invisible characters (Hangul fillers, zero-width spaces, braille blanks...) counts
as no text wherever a text is required: official notes, descriptions, the citizen's follow-ups and
verdict, dialogue fields, broadcasts, block reasons."""

from __future__ import annotations

from storage.models import Citizen, PetitionStatus
from tests.e2e.conftest import Harness, Staff
from tests.e2e.flows import new_petition, stored_petition, submit

BLANKS = [
    "\u3164",  # HANGUL FILLER "ㅤ"
    "\u200b\u200c\u200d",  # zero-width space, non-joiner, joiner
    "\u2060\ufeff",  # word joiner, zero-width no-break space
    "\u115f\u1160",  # Hangul choseong / jungseong fillers
    "\u2800\u2800\u2800",  # braille blanks
    "\u3164 \u200b\u3000\u2800",
]


async def test_an_official_note_of_invisible_characters_is_no_note(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    await officer.tap(_("✅ Accept"))
    await officer.expect(_("✅ {ticket} accepted. The citizen has been told.").format(ticket=ticket))
    await officer.tap(_("✔️ Resolve"))
    await officer.expect(_("Or pick a saved answer:"))
    for blank in BLANKS:
        await officer.send(blank)
        await officer.expect(_("Please write a text: it is required for this action."))
    petition = await stored_petition(h, ticket)
    assert petition.status == PetitionStatus.ACCEPTED and petition.resolution is None
    await officer.send("Đã giải tỏa hàng rào, trả lại lối đi chung.")
    await citizen.expect("Đã giải tỏa hàng rào")
    assert (await stored_petition(h, ticket)).status == PetitionStatus.RESOLVED


async def test_the_citizens_texts_of_invisible_characters_are_refused(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    await officer.tap(_("❓ Ask for information"))
    await officer.send("Xin cho biết số nhà của hộ lấn chiếm.")
    question = await citizen.expect(ticket)
    no_text = _(
        "This message shows no text. Please write the information, or send a photo, document, "
        "voice message or location."
    )
    for blank in BLANKS:
        await citizen.send(blank, reply_to_message_id=question.message_id)
        await citizen.expect(no_text)
    await citizen.send("/my")
    await citizen.tap(f"🔎 {ticket}")
    await citizen.tap(_("➕ Add information"))
    await citizen.send("\u3164\u3164")
    await citizen.expect(no_text)
    await citizen.send("Số nhà 15, ngõ 7.")  # still waiting for the information: this is it
    await officer.expect("Số nhà 15, ngõ 7.")
    history = [e.action for e in (await stored_petition(h, ticket)).history]
    assert history.count("citizen_info") == 1

    writer = await new_petition(h, "vi")
    await writer.send("Thành Sen")
    await writer.tap("Phường Thành Sen")
    await writer.tap("Đất đai")
    await writer.tap(_("Report a problem"))
    await writer.send("\u3164" * 40)
    await writer.expect(_("The description is empty. Please type what the problem is."))
    await writer.send("\u3164" * 20 + "ab")
    await writer.expect("(2 ")  # too short: 2 visible characters
    session = await h.redis.get(h.keys.session(f"tg:{writer.user.id}"))
    assert session is not None and '"description":null' in session.replace(" ", "")


async def test_staff_texts_of_invisible_characters_are_refused(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    admin = staff["tcd-tb"]
    await admin.send("/newdialogue")
    await admin.expect("🎙")
    await admin.send("\u3164")
    await admin.expect(_("This message shows no text. Please type it again."))
    await admin.send("Đối thoại về đất đai")
    await admin.expect("👤")  # the next question: the host
    await admin.tap(_("✖️ Cancel"))
    await admin.expect(_("Cancelled."))

    await admin.send("/broadcast")
    await admin.tap(_("📢 All subscribers"))
    await admin.expect(_("✍️ Now write the announcement as one message. It is sent exactly as you write it."))
    await admin.send("\u200b\u2800")
    await admin.expect(_("This message shows no text. Please write the announcement."))

    citizen, ticket = await submit(h)
    await admin.send(f"/block {ticket} \u3164\u3164")
    await admin.expect("/block")
    stored = Citizen.model_validate_json(await h.redis.get(h.keys.citizen(f"tg:{citizen.user.id}")) or "")
    assert stored.block is None
