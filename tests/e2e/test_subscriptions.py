"""/subscribe and /unsubscribe (announcements are a separate consent) and the one-time offer after a
citizen's first petition."""

from __future__ import annotations

from bot.context import DEPS_KEY
from storage.citizens import CitizenRepository
from storage.models import Audience, ConsentPurpose
from storage.subscriptions import PROVINCE, SubscriptionRepository
from tests.e2e.conftest import Harness
from tests.e2e.flows import consent, submit

THANH_SEN = "18073"


async def test_subscribe_asks_for_the_announcements_consent_then_unsubscribe(harness: Harness) -> None:
    h = harness
    citizen = h.citizen(language_code="en")
    await consent(h, citizen, "en")  # petitions only
    subs = SubscriptionRepository(h.redis, h.keys)
    await citizen.send("/subscribe")
    await citizen.expect("Do you agree to receive dialogue schedules and announcements?")
    await citizen.tap("✅ I agree")
    await citizen.expect("Type the name of a commune or ward")
    records = await CitizenRepository(h.redis, h.keys).consents(f"tg:{citizen.user.id}")
    assert len(records) == 2 and records[-1].allows(ConsentPurpose.ANNOUNCEMENTS)
    assert records[-1].allows(ConsentPurpose.PETITIONS)  # the other choice unchanged
    await citizen.send("Nowhere-at-all")
    await citizen.expect("I could not find a commune or ward called «Nowhere-at-all»")
    await citizen.send("Thanh Sen")
    await citizen.tap("🔔 Phường Thành Sen")
    await citizen.expect("Phường Thành Sen")
    await citizen.tap("🏛 Province-wide announcements")
    await citizen.tap("✔️ Done")
    await citizen.expect("Your subscriptions:")
    assert await subs.of(citizen.user.id) == [PROVINCE, THANH_SEN]
    assert await h.redis.sismember(h.keys.subscribers_locality(THANH_SEN), str(citizen.user.id))
    # A forged button naming an unknown place is refused.
    h.emulator.user_presses(citizen.user, citizen.last_bot_message, "sb:a:99999", strict=False)
    await h.emulator.wait_for(
        lambda: any(
            a.get("text") == "This choice is not available." for a in h.emulator.callback_answers.values()
        )
    )
    await citizen.send("/unsubscribe")
    await citizen.tap("❌ Phường Thành Sen")
    await citizen.expect("Tap a subscription to remove it")
    assert await subs.of(citizen.user.id) == [PROVINCE]
    assert not await h.redis.sismember(h.keys.subscribers_locality(THANH_SEN), str(citizen.user.id))
    await citizen.tap("🔕 Unsubscribe from all")
    await citizen.expect("You will receive no more announcements")
    assert await subs.of(citizen.user.id) == []
    assert not await h.redis.sismember(h.keys.subscribers_province(), str(citizen.user.id))


async def test_withdrawing_the_consent_ends_every_subscription(harness: Harness) -> None:
    h = harness
    citizen = h.citizen(language_code="en")
    await consent(h, citizen, "en", announcements=True)
    await citizen.send("/subscribe")
    await citizen.tap("🏛 Province-wide announcements")
    await citizen.expect_alert("Subscribed to")
    subs = SubscriptionRepository(h.redis, h.keys)
    assert await subs.of(citizen.user.id) == [PROVINCE]
    await citizen.send("/privacy")
    await citizen.tap("✏️ Change my consent")
    await citizen.tap("Handle my petitions")  # the form starts empty again: tick petitions only
    await h.emulator.wait_for(
        lambda: any(b.text.startswith("☑️") for b in citizen.last_bot_message.iter_buttons())
    )
    await citizen.tap("✅ Continue")
    await citizen.expect("Your choices are saved")
    assert await subs.of(citizen.user.id) == []


async def test_withdrawing_the_announcements_consent_in_privacy_ends_every_subscription(
    harness: Harness,
) -> None:
    h, _ = harness, harness.tr("en")
    citizen = h.citizen(language_code="en")
    await consent(h, citizen, "en", announcements=True)
    await citizen.send("/subscribe")
    await citizen.send("Thanh Sen")
    await citizen.tap("🔔 Phường Thành Sen")
    await citizen.expect("Phường Thành Sen")
    await citizen.tap("🏛 Province-wide announcements")
    await citizen.tap("✔️ Done")
    await citizen.expect("Your subscriptions:")
    subs = SubscriptionRepository(h.redis, h.keys)
    assert await subs.of(citizen.user.id) == [PROVINCE, THANH_SEN]
    await citizen.send("/privacy")
    await citizen.tap(_("↩️ Withdraw consent"))
    await citizen.tap("↩️ " + _("Send me dialogue schedules and announcements"))
    await citizen.expect("you will not receive them any more")
    assert await subs.of(citizen.user.id) == []
    member = str(citizen.user.id)
    assert not await h.redis.sismember(h.keys.subscribers_province(), member)
    assert not await h.redis.sismember(h.keys.subscribers_locality(THANH_SEN), member)
    # The next announcement, to everyone, does not reach them.
    assert h.runtime.application is not None
    deps = h.runtime.application.bot_data[DEPS_KEY]
    broadcast_id = await deps.broadcasts.start(
        actor_ref="test", audience=Audience(everyone=True), texts={"en": "Water cut tomorrow"}
    )
    assert citizen.user.id not in await deps.broadcasts.repo.recipients(broadcast_id)


async def test_the_first_petition_offers_its_locality_once(harness: Harness) -> None:
    h = harness
    citizen, _ticket = await submit(h, lang="en", place=("Thanh Sen", "Phường Thành Sen"), category="Land")
    offer = await citizen.expect("Would you like to receive announcements for Phường Thành Sen")
    await citizen.tap("🔔 Yes, subscribe")
    await citizen.expect("Do you agree to receive dialogue schedules and announcements?")  # consent first
    await citizen.tap("✅ I agree")
    await citizen.expect("🔔 Subscribed to Phường Thành Sen.")
    assert await SubscriptionRepository(h.redis, h.keys).of(citizen.user.id) == [THANH_SEN]
    assert await h.redis.exists(h.keys.subscription_offer(f"tg:{citizen.user.id}"))
    await citizen.send("/privacy")
    data = await citizen.expect("subscriptions:")
    assert "subscriptions: Phường Thành Sen" in (data.text or "") and THANH_SEN not in (data.text or "")
    await submit(h, lang="en", place=("Ha Huy Tap", "Phường Hà Huy Tập"), category="Land", citizen=citizen)
    texts = [
        m.text or "" for m in h.emulator.bot_messages(citizen.chat_id) if m.message_id > offer.message_id
    ]
    assert not any("Would you like to receive announcements" in t for t in texts)
