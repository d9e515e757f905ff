"""Topic suggestion and "me too" through the emulator: a citizen describes the problem first and gets
the topic suggested; another joins an open petition instead of filing it again, gets its news and the
verdict question; officials see how many joined, never who; corrections of the topic are recorded."""

from __future__ import annotations

from pathlib import Path

from bot.domain.similarity import features
from emulator import ScriptedUser
from storage.cosign import CoSignRepository
from storage.models import PetitionStatus, Session, Step
from storage.similarity import SimilarityIndex
from tests.e2e.conftest import Harness, Staff
from tests.e2e.flows import consent, new_petition, stored_petition, submit
from tests.e2e.test_reports import run_cli

ROAD = "Đường Trần Phú đoạn trước chợ bị ngập sâu mỗi khi mưa, xe máy chết máy hàng loạt, nhà số 12 của tôi."
ROAD_AGAIN = "duong tran phu truoc cho ngap nang qua moi khi mua, di lai rat kho"
TOPIC = "🛣️ Giao thông, hạ tầng kỹ thuật"


async def session_of(h: Harness, citizen: ScriptedUser) -> Session:
    raw = await h.redis.get(h.keys.session(f"tg:{citizen.user.id}"))
    assert raw is not None
    return Session.model_validate_json(raw)


async def test_describing_first_suggests_the_topic(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    citizen = await new_petition(h, "vi")
    await citizen.send("Thành Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.tap(_("✍️ Not sure? Describe it in your own words"))
    await citizen.expect("✍️")
    text = "den duong nguyen du hong ca tuan nay, buoi toi toi om rat nguy hiem"  # typed without diacritics
    await citizen.send(text)
    await citizen.expect(
        _("📝 Saved as the description of your petition ✓ (you can change it before sending)")
    )
    prompt = await citizen.expect(
        _("From your description, it is probably about one of these topics. Tap the right one:")
    )
    labels = [b.text for b in prompt.iter_buttons()]
    assert labels[0] == TOPIC
    assert 2 <= labels.index(_("🗂 Another topic: show all")) <= 3  # two or three suggestions, then the rest
    await citizen.tap(TOPIC)  # one tap confirms
    await citizen.tap(_("Report a problem"))
    await citizen.expect(_("Photos and files"))  # the description is not asked again
    await citizen.tap(_("⏭ Skip — no attachments"))
    await citizen.tap_reply(_("🙈 Stay anonymous"))
    summary = await citizen.expect(_("Please check your petition"))
    assert text in summary.text
    await citizen.tap(_("✅ Send"))
    receipt = await citizen.expect("HT-")
    ticket = next(w for w in receipt.text.split() if w.startswith("HT-")).strip(".,")
    petition = await stored_petition(h, ticket)
    assert petition.category == "infrastructure" and petition.description == text
    assert petition.suggested_topics[0] == "infrastructure"


async def test_free_text_at_the_main_menu_gets_the_topic_suggested(harness: Harness) -> None:
    """Typed at the main menu (main's petition started with the text): the topic step proposes the
    likely topics from it, one tap confirms, and the text is kept as the description."""
    h, _ = harness, harness.tr("vi")
    citizen = h.citizen()
    await consent(h, citizen, "vi")
    typed = "den duong nguyen du hong ca tuan nay, buoi toi toi om rat nguy hiem"  # without diacritics
    await citizen.send(typed)
    await citizen.expect(_("Step {n} of {total} · {title}").format(n=1, total=6, title=_("Place")))
    await citizen.send("Thành Sen")
    await citizen.tap("Phường Thành Sen")
    prompt = await citizen.expect(
        _("From your description, it is probably about one of these topics. Tap the right one:")
    )
    labels = [b.text for b in prompt.iter_buttons()]
    assert labels[0] == TOPIC
    assert _("✍️ Not sure? Describe it in your own words") not in labels  # it is described already
    await citizen.tap(TOPIC)
    await citizen.tap(_("Report a problem"))
    await citizen.expect(_("Earlier you wrote:"))
    await citizen.tap(_("✅ Keep this text"))
    await citizen.tap(_("⏭ Skip — no attachments"))
    await citizen.tap_reply(_("🙈 Stay anonymous"))
    await citizen.expect(_("Please check your petition"))
    await citizen.tap(_("✅ Send"))
    receipt = await citizen.expect("HT-")
    ticket = next(w for w in receipt.text.split() if w.startswith("HT-")).strip(".,")
    petition = await stored_petition(h, ticket)
    assert petition.category == "infrastructure" and petition.description == typed
    assert petition.suggested_topics[0] == "infrastructure"


async def test_text_at_the_topic_step_is_the_description_and_another_topic_stays_possible(
    harness: Harness,
) -> None:
    h, _ = harness, harness.tr("en")
    citizen = await new_petition(h, "en")
    await citizen.send("Thành Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.send("Trạm y tế phường không có bác sĩ trực buổi chiều")
    prompt = await citizen.expect("From your description, it is probably about one of these topics.")
    assert next(b.text for b in prompt.iter_buttons()) == "🏥 Health"
    await citizen.tap("🗂 Another topic: show all")
    everything = await citizen.expect("What is it about?")
    labels = [b.text for b in everything.iter_buttons()]
    assert "🎓 Education" in labels and "✍️ Not sure? Describe it in your own words" not in labels
    await citizen.tap("🤝 Social welfare and policy")
    await citizen.expect("What kind of petition is it?")
    session = await session_of(h, citizen)
    assert session.draft is not None and session.draft.category == "welfare"
    assert session.draft.description == "Trạm y tế phường không có bác sĩ trực buổi chiều"


async def test_me_too_joins_an_open_petition_and_follows_it(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    petitioner, ticket = await submit(h, category=TOPIC, description=ROAD, first_name="Hoa", last_name="Lê")
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    await officer.tap(_("✅ Accept"))
    await petitioner.expect(ticket)  # accepted: the fresh card follows
    await officer.expect(_("Assigned to:"))
    await officer.tap(_("💬 Reply"))
    await officer.send("Đã báo công ty thoát nước, sẽ nạo vét cống trong tuần này.")
    await petitioner.expect("nạo vét cống")

    neighbour = await new_petition(h, "vi", first_name="Minh", last_name="Phạm")
    await neighbour.send("Thành Sen")
    await neighbour.tap("Phường Thành Sen")
    await neighbour.tap(TOPIC)
    await neighbour.tap(_("Report a problem"))
    await neighbour.send(ROAD_AGAIN)
    offer = await neighbour.expect(_("Has this problem already been raised?"))
    assert ticket in offer.text and "nạo vét cống" in offer.text  # the official's published answer
    for private in ("Hoa", "Lê", "+84912345678", "xe máy chết máy", "nhà số 12"):
        assert private not in offer.text  # never the other citizen's identity or text
    me_too = next(b for b in offer.iter_buttons() if b.text == _("👥 Me too: {ticket}").format(ticket=ticket))
    await neighbour.tap(me_too.text)
    joined = await neighbour.expect(ticket)
    assert joined.text.startswith("👥")
    # A double tap: the second press arrives after the first closed the buttons.
    second = h.emulator.user_presses(neighbour.user, offer, me_too.callback_data, strict=False)
    query = second["callback_query"]["id"]
    await h.emulator.wait_for(lambda: query in h.emulator.callback_answers)
    alert = h.emulator.callback_answers[query].get("text") or ""
    assert alert == _("You have already joined {ticket}.").format(ticket=ticket)
    neighbour_id = f"tg:{neighbour.user.id}"
    assert await CoSignRepository(h.redis, h.keys).members(ticket) == [neighbour_id]
    session = await session_of(h, neighbour)
    assert session.step == Step.IDLE and session.draft is None
    assert await h.redis.zcard(h.keys.petitions_by_citizen(neighbour_id)) == 0  # nothing filed

    await officer.send("/inbox")
    inbox = await officer.expect(ticket)
    assert _("{count} joined").format(count=1) in inbox.text
    await officer.tap(f"📋 {ticket}")
    card = await officer.expect(_("Assigned to:"))
    assert "👥" in card.text and "Minh" not in card.text and "Phạm" not in card.text

    await officer.tap(_("✔️ Resolve"))
    await officer.send("Đã nạo vét xong cống thoát nước đường Trần Phú.")
    news = await neighbour.expect(_("👥 News of petition {ticket}, which you joined:").format(ticket=ticket))
    assert "Đã nạo vét xong" in news.text
    question = await neighbour.expect("❓")
    assert ticket in question.text
    await neighbour.tap(_("✅ Yes, it is resolved"))
    await neighbour.tap("⭐⭐⭐⭐")
    await neighbour.expect(
        _("Thank you. Anything to add about how it was handled? Type it, or tap «No comment».")
    )
    verdict = await CoSignRepository(h.redis, h.keys).verdict(ticket, neighbour_id)
    assert verdict is not None and verdict["resolved"] is True and verdict["rating"] == 4
    # Only the petitioner's answer closes the case.
    assert (await stored_petition(h, ticket)).status == PetitionStatus.RESOLVED
    await petitioner.expect("❓")


async def test_filing_separately_and_own_petitions_are_not_offered(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    first, ticket = await submit(h, category=TOPIC, description=ROAD)
    # The same citizen again: their own petition is not offered.
    await submit(h, category=TOPIC, description=ROAD_AGAIN, citizen=first)
    assert await h.redis.zcard(h.keys.petitions_by_citizen(f"tg:{first.user.id}")) == 2
    # Someone else: offered, and files their own anyway.
    other = await new_petition(h, "vi", first_name="Tú")
    await other.send("Thành Sen")
    await other.tap("Phường Thành Sen")
    await other.tap(TOPIC)
    await other.tap(_("Report a problem"))
    await other.send(ROAD_AGAIN)
    offer = await other.expect(_("Has this problem already been raised?"))
    assert ticket in offer.text
    await other.tap(_("➡️ No, mine is different: continue"))
    await other.tap(_("⏭ Skip — no attachments"))
    await other.tap_reply(_("🙈 Stay anonymous"))
    await other.tap(_("✅ Send"))
    await other.expect("HT-")
    assert await CoSignRepository(h.redis, h.keys).members(ticket) == []


async def test_a_complaint_is_never_offered_to_join(harness: Harness) -> None:
    h, _ = harness, harness.tr("vi")
    await submit(h, category=TOPIC, description=ROAD)
    citizen = await new_petition(h, "vi", first_name="Quang")
    await citizen.send("Thành Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.tap(TOPIC)
    await citizen.tap(_("Complaint (formal)"))
    await citizen.tap(_("✅ Continue with this procedure"))
    await citizen.send(ROAD_AGAIN)
    await citizen.expect(_("Photos and files"))
    assert _("Has this problem already been raised?") not in citizen.last_bot_message.text


async def test_an_official_corrects_the_topic_and_the_correction_is_recorded(
    harness: Harness, staff: Staff, tmp_path: Path
) -> None:
    h, _ = harness, harness.tr("vi")
    _citizen, ticket = await submit(h, category="Đất đai", description=ROAD)
    officer, outsider = staff["ts-cb"], staff["hht-cb"]
    card = await officer.expect(ticket)
    await officer.tap(_("🗂 Change the topic"))
    await officer.expect(f"🗂 {ticket}")
    # Someone who may not act on the case cannot use the buttons (they are re-checked on the server).
    stage = (await stored_petition(h, ticket)).stage
    await outsider.send("/inbox")
    await outsider.expect("📥")
    forged = h.emulator.user_presses(
        outsider.user, outsider.last_bot_message, f"o:tpc:{ticket}:{stage}:environment", strict=False
    )
    query = forged["callback_query"]["id"]
    await h.emulator.wait_for(lambda: query in h.emulator.callback_answers)
    assert h.emulator.callback_answers[query].get("show_alert")
    assert (await stored_petition(h, ticket)).category == "land"
    await officer.tap(TOPIC)
    await officer.expect(_("Assigned to:"))
    petition = await stored_petition(h, ticket)
    assert petition.category == "infrastructure" and petition.history[-1].action == "topic_changed"
    assert await h.redis.zrange(h.keys.petitions_by_category("land"), 0, -1) == []
    assert await h.redis.zrange(h.keys.petitions_by_category("infrastructure"), 0, -1) == [ticket]
    entries = await h.redis.xrange(h.keys.topic_corrections())
    assert len(entries) == 1
    fields = entries[0][1]
    assert (
        fields["from"] == "land" and fields["to"] == "infrastructure" and "ngap" in fields["features"].split()
    )
    assert ROAD not in str(fields)
    assert ticket in card.text
    # The index followed the correction: the petition is now found under its new topic.
    found = await SimilarityIndex(h.redis, h.keys, "HT").search(
        "18073", "infrastructure", features(ROAD), 30, 2000
    )
    assert [t for t, _score in found] == [ticket]
    # What the province reads to improve its vocabulary.
    done = run_cli(h, tmp_path, "topics", "corrections")
    assert done.returncode == 0, done.stderr
    assert "infrastructure ← land: 1" in done.stdout and "chet (1)" in done.stdout
    assert "ngap (" not in done.stdout  # already a word of the topic
    done = run_cli(h, tmp_path, "similar", "rebuild")
    assert done.returncode == 0 and "indexed 1 open petitions" in done.stdout


async def test_a_dialogue_agenda_lists_the_most_joined_questions_first(
    harness: Harness, staff: Staff
) -> None:
    from tests.e2e.test_dialogues import NOW, _ask, published

    h, _ = harness, harness.tr("vi")
    h.clock.set(NOW)
    dialogue = await published(h)
    _asker1, first = await _ask(h, dialogue, "Khi nào phường cấp sổ đỏ cho các hộ ở tổ dân phố 5?")
    _asker2, second = await _ask(h, dialogue, "Đề nghị làm lại đường bê tông ngõ 12 bị xuống cấp nặng.")
    joiner = await new_petition(h, "vi", first_name="Vân")
    await joiner.send("/cancel")
    repo = CoSignRepository(h.redis, h.keys)
    for citizen_id in (f"tg:{joiner.user.id}", "tg:777"):
        await repo.join(second, citizen_id, h.clock.now(), None)
    admin = staff["tcd-tb"]
    await admin.send(f"/dialogue {dialogue.id}")
    agenda = (await admin.expect(first)).text or ""
    assert agenda.index(second) < agenda.index(first)  # two joined the second question: it comes first
    assert _("{count} joined").format(count=2) in agenda.split(first)[0]


async def test_co_signers_are_counted_in_stats_and_exports(harness: Harness, staff: Staff) -> None:
    import csv
    import io

    from tests.e2e.test_reports import NOW, SEEDS, file_bytes, plain, seed

    h, _ = harness, harness.tr("vi")
    tickets = await seed(h)
    repo = CoSignRepository(h.redis, h.keys)
    for n in range(3):
        await repo.join(tickets["p2"], f"tg:{800 + n}", NOW, None)
    await repo.join(tickets["p4"], "tg:900", NOW, None)
    admin = staff["tcd-tb"]
    await admin.send("/stats")
    await admin.tap(_("This month"))
    summary = (await admin.expect(_("Period: {period}").format(period="01/05/2026 – 31/05/2026"))).text or ""
    count_line = plain(
        _("<b>Me too:</b> {count} citizens joined {petitions} of these petitions"), count=4, petitions=2
    )
    assert count_line in summary
    me_too = next(line for line in summary.splitlines() if tickets["p2"] in line and "(3)" in line)
    assert me_too.index(tickets["p2"]) < me_too.index(tickets["p4"])  # the most joined first
    await admin.send("/export")
    await admin.tap(_("📄 CSV (petitions)"))
    await admin.tap(_("This month"))
    may = [s for s in SEEDS if s.created.month == 5]
    document = await admin.expect(
        _("📤 {period}: {count} petitions.").format(period="01/05/2026 – 31/05/2026", count=len(may))
    )
    rows = list(csv.reader(io.StringIO(file_bytes(h, document.file_id).decode("utf-8-sig"))))
    column = rows[0].index(_("Co-signers"))
    joined = {row[0]: row[column] for row in rows[1:]}
    assert joined[tickets["p2"]] == "3" and joined[tickets["p4"]] == "1" and joined[tickets["p1"]] == "0"


async def test_co_signers_hear_answers_from_the_team_chat_not_questions_nor_internal_notes(
    harness: Harness, staff: Staff
) -> None:
    """Every message a change owes the co-signers is an outbox entry recorded with the change: the
    acceptance, an answer written in the case's team topic (as text, under «which you joined»); never a
    #note that stays internal, nor the official's question, which is for the petitioner."""
    from tests.e2e.test_team_topics import TEAM_CHAT, link_team_chat

    h, _ = harness, harness.tr("vi")
    member = await link_team_chat(h, staff)
    petitioner, ticket = await submit(h, category=TOPIC, description=ROAD)
    neighbour = h.citizen(first_name="Xuânzz", last_name="Quyzz")
    await consent(h, neighbour, "vi")
    joined = await CoSignRepository(h.redis, h.keys).join(
        ticket, f"tg:{neighbour.user.id}", h.clock.now(), None
    )
    assert joined == (1, 1)
    card = await h.emulator.wait_for_bot_message(TEAM_CHAT, lambda m: ticket in (m.text or ""))
    assert card.message_thread_id is not None
    accept = next(b.callback_data for b in card.iter_buttons() if b.text == _("✅ Accept"))
    h.emulator.user_presses(member.user, card, accept)
    header = _("👥 News of petition {ticket}, which you joined:").format(ticket=ticket)
    accepted = await neighbour.expect(header)
    assert ticket in accepted.text
    h.emulator.user_sends_text(
        member.user,
        "#ghi chú: kiểm tra lại hồ sơ cống",
        chat_id=TEAM_CHAT,
        message_thread_id=card.message_thread_id,
    )
    h.emulator.user_sends_text(
        member.user,
        "Tổ sẽ nạo vét cống vào sáng thứ Hai.",
        chat_id=TEAM_CHAT,
        message_thread_id=card.message_thread_id,
    )
    answer = await neighbour.expect("Tổ sẽ nạo vét cống vào sáng thứ Hai.")
    assert answer.text.startswith(header)
    await petitioner.expect("Tổ sẽ nạo vét cống vào sáng thứ Hai.")
    texts = [m.text or "" for m in h.emulator.bot_messages(neighbour.chat_id)]
    assert not any("kiểm tra lại hồ sơ cống" in t for t in texts)
    # The official's card now counts the co-signer, never names them.
    officer = staff["ts-cb"]
    await officer.send("/inbox")
    inbox = await officer.expect(ticket)
    assert _("{count} joined").format(count=1) in inbox.text
    await officer.tap(f"📋 {ticket}")
    counted = await officer.expect(_("Assigned to:"))
    assert "👥" in counted.text and "Xuânzz" not in counted.text and "Quyzz" not in counted.text
