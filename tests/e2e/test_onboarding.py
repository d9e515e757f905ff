"""Onboarding through the real bot: /invite → deep link → /start inv-…, /officials, and refusals."""

from __future__ import annotations

import operator
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial

import pytest
import redis.asyncio as aioredis

from bot.domain.clock import ManualClock
from bot.domain.directory import Directory
from bot.i18n import Translator
from emulator import BotApiEmulator, ScriptedUser
from handlers.admin.onboarding import (
    ADMINS_ONLY,
    ADMINS_ONLY_BUTTON,
    CHOOSE_LOCALITY,
    NOT_CURRENT,
)
from storage.keys import Keys
from storage.models import Official, Role
from storage.officials import OfficialRepository
from tests.e2e.conftest import Harness, make_settings, start_runtime, stop_runtime

ADMIN_ID = 900_001
LINK = re.compile(r"https://t\.me/tiengdan_test_bot\?start=(inv-[A-Za-z0-9_-]+)")


@pytest.fixture
async def h(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, redis: aioredis.Redis
) -> AsyncIterator[Harness]:
    """The real bot with ADMIN_ID in ADMIN_IDS."""
    settings = make_settings(emulator, redis_url, key_prefix, admin_ids=(ADMIN_ID,))
    clock = ManualClock(datetime.now(UTC))
    runtime, task = await start_runtime(settings, clock)
    yield Harness(emulator, runtime, redis, Keys(key_prefix, "ht"), settings, Translator(), clock)
    await stop_runtime(runtime, task)
    assert not emulator.rejections, f"the emulator rejected calls: {emulator.rejections}"


def admin_of(h: Harness, lang: str = "en") -> ScriptedUser:
    user = h.emulator.add_user(
        user_id=ADMIN_ID, first_name="Quản", last_name="Trị", language_code=lang, username="quantri"
    )
    return ScriptedUser(h.emulator, user)


async def official(h: Harness, official_id: str) -> Official:
    found = await OfficialRepository(h.redis, h.keys).get(official_id)
    assert found is not None
    return found


async def invite_keys(h: Harness) -> list[str]:
    return [k async for k in h.redis.scan_iter(match=h.keys.invite("*"))]


async def issue_link(h: Harness, admin: ScriptedUser) -> str:
    """The admin invites the directory's Nguyễn Văn An (ts-cb, on the second page)."""
    _ = h.tr("en")
    await admin.send("/invite")
    await admin.expect(_("Who is it for?"))
    await admin.tap(_("👤 An official from the directory"))
    await admin.expect(_("Officials who have not joined yet"))
    await admin.tap("▶️")
    await admin.tap("Nguyễn Văn An")
    await admin.expect(_("Create this invitation?"))
    await admin.tap(_("🔗 Create the link"))
    issued = await admin.expect("https://t.me/tiengdan_test_bot?start=inv-")
    assert issued.text is not None
    match = LINK.search(issued.text)
    assert match is not None and len(match.group(1)) <= 64
    assert not issued.reply_markup or not list(issued.iter_buttons())  # the form is closed
    return match.group(1)


async def test_invite_existing_official_single_use(h: Harness) -> None:
    _ = h.tr("en")
    admin = admin_of(h)
    code = await issue_link(h, admin)
    newcomer = h.citizen(first_name="Anh", last_name="Tester", language_code="en")
    await newcomer.send(f"/start {code}")
    welcome = _("✅ Welcome! You are now official <b>{name}</b> of {unit}.").format(
        name="Nguyễn Văn An", unit="UBND phường Thành Sen"
    )
    await newcomer.expect(welcome.replace("<b>", "").replace("</b>", ""))
    await newcomer.expect("/inbox")
    joined = await admin.expect("Anh Tester")  # the inviting admin is told who joined...
    assert "opened your invitation" in (joined.text or "")  # ...in their language (Telegram's: English)
    linked = await OfficialRepository(h.redis, h.keys).by_telegram(newcomer.user.id)
    assert linked is not None and linked.id == "ts-cb" and linked.telegram_id == newcomer.user.id
    # The new official is staff now: /inbox answers with their cases, not the citizen hint.
    await newcomer.send("/inbox")
    await newcomer.expect(_("📥 No open cases. Well done!"))

    # The same link again, by someone else: refused, nothing changes.
    latecomer = h.citizen(first_name="Ba", last_name="Muộn", language_code="en")
    await latecomer.send(f"/start {code}")
    await latecomer.expect(
        _("⚠️ This invitation link has already been used. Ask your administrator for a new one.")
    )
    assert await OfficialRepository(h.redis, h.keys).by_telegram(latecomer.user.id) is None
    assert (await official(h, "ts-cb")).telegram_id == newcomer.user.id

    # An unknown code, in Vietnamese.
    vi = h.tr("vi")
    stranger = h.citizen(language_code="vi")
    await stranger.send("/start inv-nosuchcode")
    await stranger.expect(
        vi(
            "⚠️ This invitation link is not valid or has expired (links work for 7 days). "
            "Ask your administrator for a new one."
        )
    )


async def test_invite_a_new_official(h: Harness) -> None:
    _ = h.tr("en")
    directory = Directory.default()
    admin = admin_of(h)
    await admin.send("/invite")
    await admin.tap(_("➕ A new official"))
    await admin.tap(_("Supervisor"))
    await admin.tap("UBND xã Cẩm Trung")
    await admin.expect(_("Which localities does this official cover? Tap to select or unselect."))
    await admin.tap(_("✅ Done"))
    await admin.expect_alert(_(CHOOSE_LOCALITY))
    first = directory.localities[0]
    await admin.tap(first.name)
    await h.emulator.wait_for(
        lambda: any(b.text == f"☑️ {first.name}" for b in admin.last_bot_message.iter_buttons())
    )
    await admin.tap(_("✅ Done"))
    await admin.expect(_("Which categories does this official handle? Tap to select or unselect."))
    await admin.tap(_("🗂 All categories"))
    await admin.expect(_("Create this invitation?"))
    await admin.tap(_("🔗 Create the link"))
    issued = await admin.expect("https://t.me/tiengdan_test_bot?start=inv-")
    match = LINK.search(issued.text or "")
    assert match is not None
    person = h.citizen(first_name="Mai", last_name="Hoàng", language_code="en")
    await person.send(f"/start {match.group(1)}")
    await person.expect("Mai Hoàng")
    joined = await OfficialRepository(h.redis, h.keys).by_telegram(person.user.id)
    assert joined is not None
    assert (joined.name, joined.title, joined.role, joined.unit) == (
        "Mai Hoàng",
        "—",
        Role.SUPERVISOR,
        "ubnd-cam-trung",
    )
    assert joined.localities == [first.code] and joined.categories == []
    assert joined.is_active


async def test_non_admins_are_refused_and_nothing_changes(h: Harness) -> None:
    _ = h.tr("vi")
    citizen = h.citizen(language_code="vi")
    await citizen.send("/invite")
    refusal = await citizen.expect(_(ADMINS_ONLY))
    await citizen.send("/officials")
    await citizen.expect(_(ADMINS_ONLY))
    for forged in ("of:de:ts-cb:0", "of:v:ts-cb:0", "iv:ok:deadbeef", "iv:ex:deadbeef:0", "of:ld:deadbeef"):
        update = h.emulator.user_presses(citizen.user, refusal, forged, strict=False)
        query_id: str = update["callback_query"]["id"]
        await h.emulator.wait_for(partial(operator.contains, h.emulator.callback_answers, query_id))
        answer = h.emulator.callback_answers[query_id]
        assert answer.get("show_alert") and answer.get("text") == _(ADMINS_ONLY_BUTTON), forged
    assert (await official(h, "ts-cb")).is_active
    assert await invite_keys(h) == []
    # A linked official who is not an admin is refused too.
    admin = admin_of(h)
    code = await issue_link(h, admin)
    officer = h.citizen(language_code="vi")
    await officer.send(f"/start {code}")
    await officer.expect("/inbox")
    await officer.send("/officials")
    await officer.expect(_(ADMINS_ONLY))


async def test_a_button_of_an_older_form_is_refused(h: Harness) -> None:
    _ = h.tr("en")
    admin = admin_of(h)
    await admin.send("/invite")
    old = await admin.expect(_("Who is it for?"))
    await admin.send("/invite")
    await admin.expect(_("Who is it for?"))
    stale = next(b for b in old.iter_buttons() if b.callback_data and b.callback_data.startswith("iv:nw:"))
    update = h.emulator.user_presses(admin.user, old, stale.callback_data or "")
    query_id = update["callback_query"]["id"]
    await h.emulator.wait_for(lambda: query_id in h.emulator.callback_answers)
    assert h.emulator.callback_answers[query_id].get("text") == _(NOT_CURRENT)


async def test_officials_deactivate_reactivate_and_change_coverage(h: Harness) -> None:
    _ = h.tr("en")
    directory = Directory.default()
    admin = admin_of(h)
    await admin.send("/officials")
    await admin.expect(_("Officials"))
    # The fallback desk cannot be deactivated.
    await admin.tap("Lý Văn Sơn")
    await admin.expect(_("Fallback desk: receives every petition no one else covers."))
    await admin.tap(_("⛔ Deactivate"))
    await admin.expect_alert(_("The fallback desk cannot be deactivated"))
    assert (await official(h, "desk-ht")).is_active
    # Deactivate, then reactivate, Nguyễn Văn An (second page).
    await admin.tap(_("◀️ Back to the list"))
    await admin.tap("▶️")
    await admin.tap("Nguyễn Văn An")
    await admin.expect(_("✅ active"))
    await admin.tap(_("⛔ Deactivate"))
    await admin.expect_alert(_("Deactivated."))
    await admin.expect(_("⛔ inactive"))
    assert not (await official(h, "ts-cb")).is_active
    await admin.tap(_("✅ Reactivate"))
    await admin.expect_alert(_("Reactivated."))
    assert (await official(h, "ts-cb")).is_active
    # Categories: pick the first two of the province.
    await admin.tap(_("🗂 Change categories"))
    await admin.expect(_("Which categories does this official handle? Tap to select or unselect."))
    first, second = directory.categories[0], directory.categories[1]
    await admin.tap(first.name("en"))
    await h.emulator.wait_for(
        lambda: any(b.text.startswith("☑️") for b in admin.last_bot_message.iter_buttons())
    )
    await admin.tap(second.name("en"))
    await h.emulator.wait_for(
        lambda: sum(b.text.startswith("☑️") for b in admin.last_bot_message.iter_buttons()) == 2
    )
    await admin.tap(_("✅ Done"))
    await admin.expect_alert(_("Saved."))
    assert (await official(h, "ts-cb")).categories == [first.key, second.key]
    # Localities: province-wide, then nothing selected is refused, then one locality.
    await admin.tap(_("📍 Change localities"))
    await admin.tap(_("🌐 Province-wide (every locality)"))
    await admin.expect_alert(_("Saved."))
    assert (await official(h, "ts-cb")).localities == []
    await admin.expect(_("the whole province"))
    await admin.tap(_("📍 Change localities"))
    await admin.tap(_("✅ Done"))
    await admin.expect_alert(_(CHOOSE_LOCALITY))
    place = directory.localities[1]
    await admin.tap(place.name)
    await h.emulator.wait_for(
        lambda: any(b.text == f"☑️ {place.name}" for b in admin.last_bot_message.iter_buttons())
    )
    await admin.tap(_("✅ Done"))
    await admin.expect_alert(_("Saved."))
    assert (await official(h, "ts-cb")).localities == [place.code]
    # Cancel leaves the coverage unchanged.
    await admin.tap(_("🗂 Change categories"))
    await admin.tap(_("✖️ Cancel"))
    await admin.expect_alert(_("Nothing was changed."))
    assert (await official(h, "ts-cb")).categories == [first.key, second.key]


async def test_onboarding_actions_are_audited(h: Harness) -> None:
    """Invitations, their use and deactivations are appended to the audit trail."""
    from bot.context import DEPS_KEY
    from handlers.admin.onboarding import onboarding
    from storage.audit import AuditLog

    log = AuditLog(h.redis, h.keys)
    before = len(await log.entries())
    assert h.runtime.application is not None
    service = onboarding(h.runtime.application.bot_data[DEPS_KEY])
    invite = await service.create_invite(ADMIN_ID, "Admin", official_id="hht-cb")
    await service.redeem(invite.code, 777001, "Cường")
    await service.set_active("hht-cb", False, actor=f"admin:{ADMIN_ID}")
    actions = [e.action for e in (await log.entries())[before:]]
    assert actions == ["invite", "invite_redeemed", "deactivate"]
