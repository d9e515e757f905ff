"""Validation, guidance, cancel, stale and forged buttons, hostile text, old names, groups, commands."""

from __future__ import annotations

from emulator import ScriptedUser
from storage.models import Petition, Session, Step
from tests.e2e.conftest import Harness
from tests.e2e.flows import consent, new_petition, this_year


async def to_description(h: Harness, citizen: ScriptedUser, lang: str = "vi") -> None:
    _ = h.tr(lang)
    await consent(h, citizen, lang)
    await citizen.send("/new")
    await citizen.send("Thành Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.tap(_("What is it about?") and "Đất đai" if lang == "vi" else "Land")
    await citizen.tap(_("Proposal"))
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=4, total=6, title=_("Description")))


async def session_of(h: Harness, citizen: ScriptedUser) -> Session:
    raw = await h.redis.get(h.keys.session(f"tg:{citizen.user.id}"))
    assert raw is not None
    return Session.model_validate_json(raw)


async def test_every_description_error_keeps_the_draft(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await to_description(h, citizen)
    await citizen.send("ngắn quá")
    await citizen.expect(
        _(
            "That is too short ({length} characters). Please write at least {minimum} characters "
            "so the official understands the problem."
        ).format(length=8, minimum=10)
    )
    await citizen.send("đ" * 3501)
    too_long = await citizen.expect("3.501")  # Vietnamese digit grouping, not 3,501
    assert "3.500" in (too_long.text or "") and "3,50" not in (too_long.text or "")
    await citizen.send_sticker()
    await citizen.expect(_("Sorry, I cannot use this kind of message here."))
    session = await session_of(h, citizen)
    assert session.step == Step.DESCRIPTION and session.draft is not None
    assert session.draft.locality_code == "18073" and session.draft.category == "land"
    await citizen.send("x" * 3500)
    await citizen.expect(_("📝 Description saved ✓"))


async def test_text_where_a_button_is_expected_gets_guidance(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = await new_petition(h, "vi")
    await citizen.send("Thành Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.expect(_("What is it about?"))
    await citizen.send("đất đai")
    await citizen.expect(_("Please choose the topic with one of the buttons."))
    await citizen.expect(_("What is it about?"))


async def test_cancel_discards_the_draft_at_any_step(harness: Harness) -> None:
    h, _ = harness, harness.tr("en")
    citizen = h.citizen(language_code="en")
    await to_description(h, citizen, "en")
    await citizen.send("/cancel")
    await citizen.expect("Cancelled. Your draft was discarded and nothing was sent.")
    session = await session_of(h, citizen)
    assert session.step == Step.IDLE and session.draft is None
    await citizen.send("/cancel")
    await citizen.expect("There is nothing to cancel.")
    await citizen.send("/new")
    await citizen.expect("Step 1 of 6")  # a fresh draft, no resume offer


async def test_unfinished_draft_is_offered_on_new(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await to_description(h, citizen)
    await citizen.send("/my")
    await citizen.expect(_("You have not sent any petitions yet. Send /new to write one."))
    await citizen.send("/new")
    await citizen.tap(_("▶️ Continue"))
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=4, total=6, title=_("Description")))


async def test_stale_and_forged_buttons_change_nothing(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = await new_petition(h, "vi")
    await citizen.send("Thành Sen")
    results = await citizen.expect(_("Which one do you mean? Tap it, or type another name."))
    old = next(b for b in results.iter_buttons() if b.callback_data and ":lc:" in b.callback_data)
    await citizen.tap("Phường Thành Sen")
    await citizen.expect(_("What is it about?"))
    # A client that has not refreshed still shows the locality buttons: press one again.
    h.emulator.user_presses(citizen.user, results, old.callback_data, strict=False)
    citizen._last_query_id = None
    await h.emulator.wait_for(lambda: len(h.emulator.callback_answers) >= 3)
    # Forged data: another draft's tag, an unknown category, garbage.
    for forged in ("i:ct:0000000000000000:land", f"i:ct:{old.callback_data.split(':')[2]}:weather", "zz:top"):
        update = h.emulator.user_presses(citizen.user, results, forged, strict=False)
        query_id = update["callback_query"]["id"]
        await h.emulator.wait_for(lambda q=query_id: q in h.emulator.callback_answers)
        answer = h.emulator.callback_answers[query_id]
        assert answer.get("show_alert") and answer.get("text"), forged
    session = await session_of(h, citizen)
    assert session.step == Step.CATEGORY and session.draft is not None and session.draft.category is None


async def test_hostile_text_is_stored_and_shown_exactly(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    hostile = "<b>Ngập</b> & <script>alert(1)</script> «Đường» 🙂\u200b 1 < 2 &amp; </blockquote>"
    citizen = h.citizen()
    await to_description(h, citizen)
    await citizen.send(hostile)
    await citizen.tap(_("⏭ Skip — no attachments"))
    await citizen.tap_reply(_("🙈 Stay anonymous"))
    summary = await citizen.expect(_("Please check your petition"))
    assert hostile in summary.text
    await citizen.tap(_("✅ Send"))
    ticket = f"HT-{this_year()}-000001"
    await citizen.expect(ticket)
    raw = await h.redis.get(h.keys.petition(ticket))
    assert raw is not None and Petition.model_validate_json(raw).description == hostile
    await citizen.send("/my")
    await citizen.tap(f"🔎 {ticket}")
    detail = await citizen.expect(_("History"))
    assert hostile in detail.text


async def test_old_and_split_commune_names(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = await new_petition(h, "vi")
    await citizen.send("xã Cẩm Lộc, huyện Cẩm Xuyên")
    found = await citizen.expect(_("Which one do you mean? Tap it, or type another name."))
    assert any("Xã Cẩm Trung" in b.text and "Cẩm Lộc" in b.text for b in found.iter_buttons())
    await citizen.send("ky loi")
    split = await citizen.expect("Kỳ Lợi")
    labels = [b.text for b in split.iter_buttons()]
    for part in ("Sông Trí", "Vũng Áng", "Hoành Sơn"):
        assert any(part in label for label in labels), labels
    await citizen.send("zzzz qqqq")
    await citizen.expect("zzzz qqqq")
    await citizen.tap(_("📋 Browse all communes and wards"))
    await citizen.tap("▶️")
    page = await citizen.expect(_("Tap your commune or ward, or type its name."))
    assert any(b.text == "2/9" for b in page.iter_buttons())


async def test_every_match_is_shown_a_page_at_a_time_with_why_it_is_listed(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = await new_petition(h, "vi")
    await citizen.send("ky anh")  # 11 matches: the commune, and the communes of two former districts
    first = await citizen.expect(
        _("{count} matches, page {page} of {pages}.").format(count=11, page=1, pages=2)
    )
    note = _(
        "Districts were abolished on 1 July 2025; the territory of the former {district} is now in: {names}."
    )
    assert note.split("{district}")[0] in (first.text or "") and "huyện Kỳ Anh" in (first.text or "")
    shown = [b.text for b in first.iter_buttons() if b.callback_data and ":lc:" in b.callback_data]
    assert len(shown) == 8
    for button in first.iter_buttons():
        assert len((button.callback_data or "").encode()) <= 64
    await citizen.tap("▶️")
    await h.emulator.wait_for(lambda: any(b.text == "2/2" for b in citizen.last_bot_message.iter_buttons()))
    second = [b.text for b in citizen.last_bot_message.iter_buttons() if ":lc:" in (b.callback_data or "")]
    assert len(second) == 3 and not set(second) & set(shown)
    assert {"Phường Hoành Sơn", "Phường Vũng Áng"} <= set(second)  # of the former Thị xã Kỳ Anh
    await citizen.tap("Phường Vũng Áng")
    await citizen.expect(_("What is it about?"))

    await citizen.send("/cancel")
    await citizen.send("/new")
    await citizen.send("Cẩm Lộc")
    merged = await citizen.expect(_("Which one do you mean? Tap it, or type another name."))
    assert _("The former {old} is now part of {new}.").format(old="Xã Cẩm Lộc", new="Xã Cẩm Trung") in (
        merged.text or ""
    )


async def test_urgent_category_shows_emergency_numbers_first(harness: Harness) -> None:
    h, _ = harness, harness.tr("en")
    citizen = await new_petition(h, "en")
    await citizen.send("Ky Anh")
    prompt = await citizen.expect("Which one do you mean?")
    await citizen.tap(next(b.text for b in prompt.iter_buttons() if "Kỳ Anh" in b.text))
    category_prompt = await citizen.expect("What is it about?")
    labels = [b.text for b in category_prompt.iter_buttons()]
    assert "Natural disasters" in labels[0] and "Security" in labels[1]
    assert "113" in category_prompt.text
    await citizen.tap("Natural disasters")
    notice = await citizen.expect("If anyone is in danger right now")
    assert "114" in notice.text and "115" in notice.text


async def test_complaint_explains_the_procedure_and_needs_identity(harness: Harness) -> None:
    h, _ = harness, harness.tr("en")
    citizen = await new_petition(h, "en")
    await citizen.send("Thanh Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.tap("Land")
    await citizen.tap("Complaint (formal)")
    await citizen.expect("within 90 days")
    await citizen.tap("✅ Continue with this procedure")
    await citizen.send("The land recovery decision for my family's plot ignored the survey.")
    await citizen.tap("Skip — no attachments")
    contact = await citizen.expect("needs your identity")
    rows = h.emulator.reply_keyboard(citizen.chat_id) or []
    assert not any("anonymous" in str(b.get("text")) for row in rows for b in row)
    assert contact is not None
    await citizen.send("🙈 Stay anonymous")
    await citizen.expect("cannot be anonymous")


async def test_declining_consent_stores_only_the_refusal(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await citizen.send("/start")
    await citizen.tap(_("🚫 I do not agree"))
    declined = await citizen.expect(_("Understood. Nothing about you is kept except this refusal."))
    assert "dichvucong.gov.vn" in declined.text
    raw = await h.redis.get(h.keys.citizen(f"tg:{citizen.user.id}"))
    assert raw is not None and '"name":null' in raw and '"phone":null' in raw and '"username":null' in raw
    consents = await h.redis.lrange(h.keys.citizen_consents(f"tg:{citizen.user.id}"), 0, -1)
    assert len(consents) == 1 and '"petitions":false' in consents[0] and '"text_version"' in consents[0]
    await citizen.send("/new")
    await citizen.expect(_("Before you send a petition, please read and answer the consent request."))


async def test_commands_are_registered_in_both_languages(harness: Harness) -> None:
    h = harness
    vi = h.emulator.commands("all_private_chats", "vi")
    en = h.emulator.commands("all_private_chats", "en")
    assert [c["command"] for c in vi] == [c["command"] for c in en]
    assert {"new", "my", "cancel", "help", "language", "start"} <= {c["command"] for c in en}
    assert next(c for c in en if c["command"] == "new")["description"] == "Send a new petition"
    assert next(c for c in vi if c["command"] == "new")["description"] != "Send a new petition"


async def test_group_chats_only_answer_start(harness: Harness) -> None:
    h = harness
    user = h.emulator.add_user(user_id=5555, first_name="Hà", language_code="vi")
    h.emulator.add_group(chat_id=-100777, title="Thôn Trung", members=[user])
    member = ScriptedUser(h.emulator, user, chat_id=-100777)
    await member.send("xin chào mọi người")
    await member.send("/start")
    answer = await member.expect(
        "💬"
        if False
        else h.tr("vi")(
            "Petitions are sent in a private chat with me, so that what you write stays between you and the officials. Tap the button to open it."
        )
    )
    assert any(b.url and "t.me/tiengdan_test_bot?start=" in b.url for b in answer.iter_buttons())
    assert h.emulator.bot_messages(-100777) == [answer]


async def test_unexpected_input_when_idle_gets_guidance(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await consent(h, citizen, "vi")
    await citizen.send_sticker()
    await citizen.expect(_("Sorry, I cannot read this kind of message. Please use text or the menu buttons."))
    await citizen.send("alo")
    await citizen.expect(_("To send a petition, tap «📝 New petition» or send /new."))
    await citizen.send("/khongco")
    await citizen.expect(_("I don't know that command."))
    await citizen.send_photo()
    await citizen.expect("/new")


async def test_text_typed_at_the_main_menu_starts_a_petition_with_it(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await consent(h, citizen, "vi")
    typed = "Tôi muốn hỏi về sổ đỏ của gia đình <thửa 12> & thủ tục cấp lại"
    await citizen.send(typed)
    await citizen.expect(
        _(
            "📝 I kept your message as the description of a new petition. First, a few short questions: "
            "where, what about, and what kind of petition."
        )
    )
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=1, total=6, title=_("Place")))
    await citizen.send("Thành Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.tap("Đất đai")
    await citizen.tap(_("Question"))
    prompt = await citizen.expect(_("Earlier you wrote:"))
    assert typed in (prompt.text or "")  # shown as typed (escaped on the way)
    await citizen.tap(_("✅ Keep this text"))
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=5, total=6, title=_("Photos and files")))
    await citizen.tap(_("⏭ Skip — no attachments"))
    await citizen.tap_reply(_("🙈 Stay anonymous"))
    summary = await citizen.expect(_("Please check your petition"))
    assert typed in (summary.text or "")
    await citizen.tap(_("✅ Send"))
    receipt = await citizen.expect(f"HT-{this_year()}-")
    ticket = next(w.strip(".,") for w in (receipt.text or "").split() if w.startswith("HT-"))
    raw = await h.redis.get(h.keys.petition(ticket))
    assert raw is not None and Petition.model_validate_json(raw).description == typed


async def agree_and_report_a_transport_problem(h: Harness, citizen: ScriptedUser) -> None:
    """From the consent form: agree to petitions, then the petition's place, topic and kind (the kept
    text is offered as the description next)."""
    _ = h.tr("vi")
    await citizen.tap(_("Handle my petitions"))
    await h.emulator.wait_for(
        lambda: any(b.text.startswith("☑️") for b in citizen.last_bot_message.iter_buttons())
    )
    await citizen.tap(_("✅ Continue"))
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=1, total=6, title=_("Place")))
    await citizen.send("Thành Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.tap("Giao thông")
    await citizen.tap(_("Report a problem"))


async def test_text_before_consent_is_kept_and_can_be_retyped(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await citizen.send("Đường vào thôn 3 bị sạt lở sau mưa lớn")
    await citizen.expect("🔒")  # the consent form first
    session = await session_of(h, citizen)
    assert session.step == Step.CONSENT and session.draft is not None
    assert session.draft.kept_text == "Đường vào thôn 3 bị sạt lở sau mưa lớn"
    await agree_and_report_a_transport_problem(h, citizen)
    await citizen.expect("Đường vào thôn 3 bị sạt lở sau mưa lớn")
    await citizen.send("Đường vào thôn 3 phường Thành Sen bị sạt lở một đoạn dài 20 m.")  # retyped instead
    await citizen.expect(_("📝 Description saved ✓"))
    session = await session_of(h, citizen)
    assert session.draft is not None and session.draft.kept_text is None
    assert session.draft.description == "Đường vào thôn 3 phường Thành Sen bị sạt lở một đoạn dài 20 m."


async def test_text_at_the_menu_with_an_unfinished_draft_offers_both(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await to_description(h, citizen)  # an unfinished draft at Thành Sen...
    session = await session_of(h, citizen)
    session.step = Step.IDLE  # ...left at the main menu (as after changing one's consent mid-petition)
    await h.redis.set(h.keys.session(session.citizen_id), session.model_dump_json())
    await citizen.send("Nước sinh hoạt có mùi lạ từ hôm qua")
    kept_offer = _(
        "You have an unfinished petition started on {when}. Continue it, or start a new petition with "
        "the message you just sent?"
    )
    await citizen.expect(kept_offer.split("{when}")[1].strip(". "))
    await h.emulator.wait_for(
        lambda: _("🆕 Start again") in [b.text for b in citizen.last_bot_message.iter_buttons()]
    )
    await citizen.tap(_("🆕 Start again"))
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=1, total=6, title=_("Place")))
    session = await session_of(h, citizen)
    assert session.draft is not None and session.draft.locality_code is None
    assert session.draft.kept_text == "Nước sinh hoạt có mùi lạ từ hôm qua"


async def test_text_typed_while_the_consent_form_waits_is_kept_for_the_petition(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await citizen.send("/start")
    await citizen.expect("🔒")  # the consent form
    await citizen.send("ok")  # too short to be a problem: the form is pointed at again
    await citizen.expect(_("Please tick what you agree to above, then tap Continue."))
    typed = "Đèn đường ở tổ dân phố 5 bị hỏng cả tháng nay"
    await citizen.send(typed)
    await citizen.expect(
        _(
            "📝 I kept your message to start a petition with it. Before you send a petition, please read "
            "and answer the consent request."
        )
    )
    session = await session_of(h, citizen)
    assert session.step == Step.CONSENT and session.after_consent == "new"
    assert session.draft is not None and session.draft.kept_text == typed
    await agree_and_report_a_transport_problem(h, citizen)  # (street lights: transport, suggested first)
    prompt = await citizen.expect(_("Earlier you wrote:"))
    assert typed in (prompt.text or "")
