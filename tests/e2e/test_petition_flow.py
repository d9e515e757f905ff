"""A citizen submits a petition end to end: real Application, real HTTP, real Redis."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from emulator import ScriptedUser
from storage.models import Petition
from tests.e2e.conftest import Harness


def this_year() -> int:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year


async def consent(h: Harness, citizen: ScriptedUser, lang: str, *, announcements: bool = False) -> None:
    _ = h.tr(lang)
    await citizen.send("/start")
    await citizen.expect("🔒")  # the consent form
    await citizen.tap(_("Handle my petitions"))
    await h.emulator.wait_for(
        lambda: any(b.text.startswith("☑️") for b in citizen.last_bot_message.iter_buttons())
    )
    if announcements:
        await citizen.tap(_("Send me dialogue schedules and announcements"))
    await citizen.tap(_("✅ Continue"))
    await citizen.expect(_("✅ Thank you. Your choices are saved."))


async def stored_petition(h: Harness, ticket: str) -> Petition:
    raw = await h.redis.get(h.keys.petition(ticket))
    assert raw is not None, ticket
    return Petition.model_validate_json(raw)


async def test_happy_path_in_vietnamese(harness: Harness) -> None:
    h = harness
    _ = h.tr("vi")
    citizen = h.citizen(language_code="vi")
    await consent(h, citizen, "vi")
    await citizen.send("/new")
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
