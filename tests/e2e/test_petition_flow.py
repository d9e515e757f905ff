"""A citizen submits a petition end to end: real Application, real HTTP, real Redis."""

from __future__ import annotations

from tests.e2e.conftest import Harness
from tests.e2e.flows import consent, new_petition, stored_petition, this_year


async def test_happy_path_in_vietnamese(harness: Harness) -> None:
    h = harness
    _ = h.tr("vi")
    citizen = await new_petition(h, "vi")
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=1, total=6, title=_("Place")))
    await citizen.send("cam loc")
    await citizen.expect(_("Which one do you mean? Tap it, or type another name."))
    await citizen.tap("Xã Cẩm Trung")
    await citizen.expect(_("What is it about?"))
    await citizen.tap("Môi trường, rác thải")
    await citizen.expect(_("What kind of petition is it?"))
    await citizen.tap(_("Report a problem"))
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=4, total=6, title=_("Description")))
    description = "Bãi rác tự phát ở đầu thôn Trung Hòa bốc mùi, đề nghị xã thu gom."
    await citizen.send(description)
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=5, total=6, title=_("Photos and files")))
    await citizen.send_photo()
    await citizen.expect(_("📎 Received ({count} of {max}). Send more, or tap Done.").format(count=1, max=10))
    await citizen.send_location(18.35, 105.9)
    await citizen.expect(_("📎 Received ({count} of {max}). Send more, or tap Done.").format(count=2, max=10))
    await citizen.tap(_("✅ Done ({count} attached)").format(count=2))
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=6, total=6, title=_("Contact")))
    await citizen.tap_reply(_("📱 Share my phone number"))
    summary = await citizen.expect(_("Please check your petition"))
    assert description in summary.text and "Xã Cẩm Trung" in summary.text and "+84912345678" in summary.text
    await citizen.tap(_("✅ Send"))
    ticket = f"HT-{this_year()}-000001"
    receipt = await citizen.expect(ticket)
    assert "/my" in receipt.text and "Xã Cẩm Trung" in receipt.text

    petition = await stored_petition(h, ticket)
    assert (
        petition.locality_code == "18742" and petition.category == "environment" and petition.type == "report"
    )
    assert petition.description == description
    assert [a.kind.value for a in petition.attachments] == ["photo", "location"]
    assert petition.contact_phone == "+84912345678" and petition.contact_name == "Lan Nguyễn"
    assert not petition.is_anonymous and petition.language == "vi"
    assert petition.history[0].action == "submitted"

    await citizen.send("/my")
    listing = await citizen.expect(ticket)
    assert _("🟡 Sent, waiting to be accepted") in listing.text
    await citizen.tap(f"🔎 {ticket}")
    detail = await citizen.expect(_("History"))
    assert _("You sent the petition") in detail.text and description in detail.text


async def test_anonymous_petition_in_english(harness: Harness) -> None:
    h = harness
    _ = h.tr("en")
    citizen = h.citizen(first_name="John", last_name=None, language_code="en-GB")
    await consent(h, citizen, "en")
    await citizen.tap_reply(_("📝 New petition"))
    await citizen.expect("Step 1 of 6 · Place")
    await citizen.send("Thanh Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.tap("Transport and infrastructure")
    await citizen.tap("Question")
    await citizen.send("When will the street lights on Phan Dinh Phung street be repaired?")
    await citizen.tap("Skip — no attachments")
    await citizen.expect("May the official contact you?")
    await citizen.tap_reply("🙈 Stay anonymous")
    summary = await citizen.expect("Please check your petition")
    assert "anonymous" in summary.text
    await citizen.tap("✅ Send")
    ticket = f"HT-{this_year()}-000001"
    await citizen.expect(ticket)
    petition = await stored_petition(h, ticket)
    assert petition.is_anonymous and petition.contact_phone is None and petition.contact_name is None
    assert petition.language == "en" and petition.type == "question"
