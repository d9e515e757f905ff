"""The consent form: Continue with nothing ticked is not a refusal, and what is saved is what the pressed
form showed, however fast the citizen taps."""

from __future__ import annotations

from storage.models import Citizen, ConsentPurpose
from tests.e2e.conftest import Harness


async def stored_citizen(h: Harness, user_id: int) -> Citizen | None:
    raw = await h.redis.get(h.keys.citizen(f"tg:{user_id}"))
    return Citizen.model_validate_json(raw) if raw else None


async def test_continue_with_nothing_ticked_asks_to_tick(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await citizen.send("/start")
    form = await citizen.expect("🔒")
    await citizen.tap(_("✅ Continue"))
    await citizen.expect_alert(
        _("Please tick what you agree to, then tap Continue. If you do not agree, tap «I do not agree».")
    )
    stored = await stored_citizen(h, citizen.user.id)
    assert stored is None or stored.consent is None
    assert await h.redis.llen(h.keys.citizen_consents(f"tg:{citizen.user.id}")) == 0
    assert "❌" not in (h.emulator.last_bot_message(citizen.chat_id) or form).text
    # The form is still there to answer.
    await citizen.tap(_("Handle my petitions"))
    await h.emulator.wait_for(lambda: any(b.text.startswith("☑️") for b in form.iter_buttons()))
    await citizen.tap(_("✅ Continue"))
    await citizen.expect(_("✅ Thank you. Your choices are saved."))
    stored = await stored_citizen(h, citizen.user.id)
    assert stored is not None and stored.consent is not None
    assert stored.consent.allows(ConsentPurpose.PETITIONS)


async def test_the_saved_choice_is_what_the_pressed_form_showed(harness: Harness) -> None:
    """Petitions ticked on screen; a stray tap on the tick and Continue follow each other before the
    edited form reaches the phone: Continue, pressed on a form showing the tick, saves the tick."""
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await citizen.send("/start")
    form = await citizen.expect("🔒")
    await citizen.tap(_("Handle my petitions"))
    await h.emulator.wait_for(lambda: any(b.text.startswith("☑️") for b in form.iter_buttons()))
    on_screen = {b.text: b.callback_data or "" for b in form.iter_buttons()}
    tick = next(data for label, data in on_screen.items() if label.startswith("☑️"))
    continue_ = on_screen[_("✅ Continue")]
    h.emulator.user_presses(citizen.user, form, tick, strict=False)
    h.emulator.user_presses(citizen.user, form, continue_, strict=False)
    await citizen.expect(_("✅ Thank you. Your choices are saved."))
    stored = await stored_citizen(h, citizen.user.id)
    assert stored is not None and stored.consent is not None
    assert stored.consent.allows(ConsentPurpose.PETITIONS)
    assert not stored.consent.allows(ConsentPurpose.ANNOUNCEMENTS)
    await citizen.send("/new")
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=1, total=6, title=_("Place")))
