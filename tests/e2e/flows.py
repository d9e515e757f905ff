"""Steps that many end-to-end tests share: consent, starting a petition, reading what was stored."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from emulator import ScriptedUser
from storage.models import Petition
from tests.e2e.conftest import Harness


def this_year() -> int:
    """The ticket year: the current year in Hà Tĩnh."""
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year


async def consent(h: Harness, citizen: ScriptedUser, lang: str, *, announcements: bool = False) -> None:
    """/start, tick the petitions purpose (and announcements if asked), Continue."""
    _ = h.tr(lang)
    await citizen.send("/start")
    await citizen.expect("🔒")  # the consent form
    await citizen.tap(_("Handle my petitions"))
    await h.emulator.wait_for(
        lambda: any(b.text.startswith("☑️") for b in citizen.last_bot_message.iter_buttons())
    )
    if announcements:
        await citizen.tap(_("Send me dialogue schedules and announcements"))
        # Continue saves what the form it is pressed on shows: wait for the second tick to be shown.
        await h.emulator.wait_for(
            lambda: sum(b.text.startswith("☑️") for b in citizen.last_bot_message.iter_buttons()) == 2
        )
    await citizen.tap(_("✅ Continue"))
    await citizen.expect(_("✅ Thank you. Your choices are saved."))


async def new_petition(h: Harness, lang: str = "vi", **user: str | None) -> ScriptedUser:
    """A new citizen who consented and sent /new (at the locality step)."""
    citizen = h.citizen(language_code=lang, **user)  # type: ignore[arg-type]
    await consent(h, citizen, lang)
    await citizen.send("/new")
    return citizen


async def stored_petition(h: Harness, ticket: str) -> Petition:
    """The petition as stored in Redis."""
    raw = await h.redis.get(h.keys.petition(ticket))
    assert raw is not None, ticket
    return Petition.model_validate_json(raw)


async def ready_to_send(h: Harness) -> ScriptedUser:
    """A citizen with a complete draft on the summary screen."""
    _ = h.tr("vi")
    citizen = await new_petition(h, "vi")
    await citizen.send("Thạch Hà")
    await citizen.tap("Xã Thạch Hà")
    await citizen.tap("Giáo dục")
    await citizen.tap(_("Question"))
    await citizen.send("Khi nào trường tiểu học xây xong phòng học mới?")
    await citizen.tap(_("⏭ Skip — no attachments"))
    await citizen.tap_reply(_("🙈 Stay anonymous"))
    await citizen.expect(_("Please check your petition"))
    return citizen


async def past_similar(h: Harness, citizen: ScriptedUser, lang: str) -> bool:
    """After the description: when similar open petitions are offered ("me too"), continue with one's
    own petition. True when an offer was shown."""
    _ = h.tr(lang)
    skip, different = _("⏭ Skip — no attachments"), _("➡️ No, mine is different: continue")

    def labels() -> set[str]:
        try:
            return {b.text for b in citizen.last_bot_message.iter_buttons()}
        except AssertionError:
            return set()

    await h.emulator.wait_for(lambda: bool({skip, different} & labels()))
    if different in labels():
        await citizen.tap(different)
        return True
    return False


async def submit(
    h: Harness,
    *,
    lang: str = "vi",
    place: tuple[str, str] = ("Thành Sen", "Phường Thành Sen"),
    category: str = "Đất đai",
    anonymous: bool = False,
    description: str | None = None,
    citizen: ScriptedUser | None = None,
    **user: str | None,
) -> tuple[ScriptedUser, str]:
    """A citizen sends a complete petition; returns them and the ticket."""
    _ = h.tr(lang)
    if citizen is None:
        citizen = await new_petition(h, lang, **user)
    else:
        await citizen.send("/new")
    await citizen.send(place[0])
    await citizen.tap(place[1])
    await citizen.tap(category)
    await citizen.tap(_("Report a problem"))
    await citizen.send(description or "Hàng rào lấn chiếm lối đi chung của tổ dân phố 3 từ tháng trước.")
    await past_similar(h, citizen, lang)
    await citizen.tap(_("⏭ Skip — no attachments"))
    await citizen.tap_reply(_("🙈 Stay anonymous") if anonymous else _("📱 Share my phone number"))
    await citizen.tap(_("✅ Send"))
    receipt = await citizen.expect(f"HT-{this_year()}-")
    ticket = next(word for word in receipt.text.replace("\n", " ").split() if word.startswith("HT-"))
    return citizen, ticket.strip(".,")
