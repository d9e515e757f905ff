"""Editing any field from the summary, attachments of every kind and their limit, /language."""

from __future__ import annotations

from handlers.citizen import views
from storage.models import Petition, Session
from tests.e2e.conftest import Harness
from tests.e2e.flows import consent, new_petition, ready_to_send, this_year


async def test_edit_fields_from_the_summary(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = await ready_to_send(h)
    await citizen.tap(_("✏️ Edit"))
    await citizen.expect(_("What would you like to change?"))
    await citizen.tap(_("Place"))
    await citizen.send("Can Lộc")
    await citizen.tap("Xã Can Lộc")
    summary = await citizen.expect(_("Is everything right? Tap Send."))
    assert "Xã Can Lộc" in summary.text and "Giáo dục" in summary.text
    # A description at the very limit, full of characters that HTML escaping lengthens, still fits.
    longest = ("<&> " * 875)[:3500]
    await citizen.tap(_("✏️ Edit"))
    await citizen.tap(_("Description"))
    await citizen.send(longest)
    summary = await citizen.expect(_("Is everything right? Tap Send."))
    assert "&lt;" not in summary.text and summary.text.count("<&>") >= 700
    await citizen.tap(_("✏️ Edit"))
    await citizen.tap(_("Contact"))
    await citizen.tap_reply(_("📱 Share my phone number"))
    summary = await citizen.expect(_("Is everything right? Tap Send."))
    assert "+84912345678" in summary.text
    await citizen.tap(_("✅ Send"))
    ticket = f"HT-{this_year()}-000001"
    await citizen.expect(ticket)
    raw = await h.redis.get(h.keys.petition(ticket))
    assert raw is not None
    petition = Petition.model_validate_json(raw)
    assert petition.locality_code != "" and petition.description == longest.strip()
    assert petition.contact_phone == "+84912345678" and not petition.is_anonymous


async def test_every_attachment_kind_and_the_limit(harness: Harness) -> None:
    h, _ = harness, harness.tr("en")
    citizen = await new_petition(h, "en")
    await citizen.send("Thanh Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.tap("Environment and waste")
    await citizen.tap("Report a problem")
    # A photo with a caption while the description is asked: both are taken.
    await citizen.send_photo(caption="Rubbish dumped by the river bank near the bridge")
    await citizen.expect("Received (1 of 10)")
    await citizen.send_document()
    await citizen.expect("Received (2 of 10)")
    await citizen.send_voice()
    await citizen.expect("Received (3 of 10)")
    for n in range(4, 11):
        await citizen.send_location(18.3 + n / 100, 105.9)
        await citizen.expect(f"Received ({n} of 10)")
    await citizen.send_photo()
    await citizen.expect("You have already attached 10, the most allowed.")
    await citizen.tap("Done (10 attached)")
    await citizen.tap_reply("🙈 Stay anonymous")
    summary = await citizen.expect("Please check your petition")
    assert "10 (1 photo, 1 document, 1 voice message, 7 location)" in summary.text
    assert "Rubbish dumped by the river bank" in summary.text
    raw = await h.redis.get(h.keys.session(f"tg:{citizen.user.id}"))
    draft = Session.model_validate_json(raw or "").draft
    assert draft is not None and draft.attachments[0].caption is None  # it became the description, once
    assert draft.attachments[1].caption is None  # sent without one


async def test_language_switch(harness: Harness) -> None:
    h = harness
    citizen = h.citizen(language_code="vi")
    await consent(h, citizen, "vi")
    await citizen.send("/language")
    await citizen.tap("🇬🇧 English")
    await citizen.expect("What would you like to do?")
    rows = h.emulator.reply_keyboard(citizen.chat_id) or []
    assert [b["text"] for b in rows[0]] == ["📝 New petition", "📋 My petitions"]
    await citizen.send("/help")
    await citizen.expect("How Tiếng Dân works")
    await citizen.tap_reply("🌐 Language")
    await citizen.tap("🇻🇳 Tiếng Việt")
    await citizen.expect(views.menu_text(h.tr("vi")).split("\n")[0])
