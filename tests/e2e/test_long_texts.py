"""Long texts never cut, never lost: over-long notes are refused with their length (the limit is said in
the prompt), long histories and captions go as several messages that Telegram accepts."""

from __future__ import annotations

from datetime import timedelta

from emulator import ScriptedUser
from emulator.formatting import utf16_len
from storage.models import HistoryEntry, PetitionStatus
from tests.e2e.conftest import Harness, Staff
from tests.e2e.flows import stored_petition, submit

SENTENCE = "Tổ công tác đã kiểm tra hiện trường & lập biên bản <số 12/BB>, yêu cầu hộ ông A tháo dỡ. "


async def accept(h: Harness, officer: ScriptedUser, ticket: str) -> None:
    """Accept the case and wait for the fresh card that follows the confirmation."""
    _ = h.tr("vi")
    await officer.tap(_("✅ Accept"))
    done = await officer.expect(_("✅ {ticket} accepted. The citizen has been told.").format(ticket=ticket))
    await h.emulator.wait_for(
        lambda: (
            officer.last_bot_message.message_id > done.message_id
            and any(b.text == _("💬 Reply") for b in officer.last_bot_message.iter_buttons())
        )
    )


def long_text(length: int, tail: str = "") -> str:
    """Vietnamese prose of exactly ``length`` characters ending with ``tail``."""
    body = (SENTENCE * (length // len(SENTENCE) + 1))[: length - len(tail)]
    return body + tail


async def test_an_over_long_reply_is_refused_with_its_length_then_a_shorter_one_is_sent(
    harness: Harness, staff: Staff
) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    officer = staff["ts-cb"]
    await accept(h, officer, ticket)
    await officer.tap(_("💬 Reply"))
    prompt = await officer.expect(_("(At most {limit} characters.)").format(limit="3.500"))  # 3.500, not 3500
    assert ticket in prompt.text
    await officer.send(long_text(3600, "HẾT-DÀI"))
    refusal = await officer.expect("3.600")
    assert "3.500" in refusal.text
    assert not any("HẾT-DÀI" in (m.text or "") for m in h.emulator.bot_messages(citizen.chat_id))
    assert [e.action for e in (await stored_petition(h, ticket)).history][-1] == "accepted"

    await officer.send(long_text(3500, "HẾT-VỪA"))  # the reply still waits: exactly the limit is fine
    answer = await citizen.expect("HẾT-VỪA")
    assert SENTENCE.strip() in answer.text and utf16_len(answer.text) <= 4096
    await officer.expect(_("💬 Your reply on {ticket} was sent to the citizen.").format(ticket=ticket))
    assert (await stored_petition(h, ticket)).history[-1].note == long_text(3500, "HẾT-VỪA")


async def test_an_over_long_follow_up_is_refused_before_anything_is_relayed(
    harness: Harness, staff: Staff
) -> None:
    h, _ = harness, harness.tr("en")
    citizen, ticket = await submit(h, lang="en", place=("Thanh Sen", "Phường Thành Sen"), category="Land")
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    await citizen.send("/my")
    await citizen.tap(f"🔎 {ticket}")
    await citizen.tap(_("➕ Add information"))
    await citizen.expect(_("(At most {limit} characters.)").format(limit="3,500"))
    before = len(h.emulator.bot_messages(officer.chat_id))
    await citizen.send(long_text(4030, "END-LONG"))
    refusal = await citizen.expect("4,030")
    assert "3,500" in refusal.text and "Added to" not in refusal.text
    assert len(h.emulator.bot_messages(officer.chat_id)) == before  # nothing reached the official
    assert "citizen_info" not in [e.action for e in (await stored_petition(h, ticket)).history]

    await citizen.send("Số nhà 15, ngõ 7.")  # the request still waits for the shorter text
    await citizen.expect("Added to")
    await officer.expect("Số nhà 15, ngõ 7.")


async def test_a_long_history_is_split_into_messages_never_cut(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    officer = staff["ts-cb"]
    await officer.expect(ticket)
    petition = await stored_petition(h, ticket)
    for n in range(16):  # 16 long replies: far more than one message can show
        petition.history.append(
            HistoryEntry(
                at=petition.created_at + timedelta(minutes=n + 1),
                actor="official:ts-cb",
                action="replied",
                status=PetitionStatus.IN_PROGRESS,
                note=long_text(3400, f"<ĐÁP-{n}>"),
            )
        )
    petition.status = PetitionStatus.IN_PROGRESS
    await h.redis.set(h.keys.petition(ticket), petition.model_dump_json())

    await officer.send("/inbox")
    await officer.tap(f"📋 {ticket}")
    await officer.tap(_("📜 History"))
    first = await officer.expect(f"📜 {ticket}")

    def shown() -> list[str]:
        messages = h.emulator.bot_messages(officer.chat_id)
        return [m.text or "" for m in messages if m.message_id >= first.message_id]

    await h.emulator.wait_for(lambda: "\n".join(shown()).count(_("Replied to the citizen")) == 16)
    assert len([t for t in shown() if "•" in t]) >= 2  # every step, over several messages
    assert all(utf16_len(t) <= 4096 for t in shown())

    await citizen.send("/my")
    await citizen.tap(f"🔎 {ticket}")
    detail = await citizen.expect(_("History"))
    excerpts = [line for line in detail.text.splitlines() if line.startswith("•") and "…" in line]
    assert len(excerpts) == 15 and all(line[:-1].split()[-1] in SENTENCE.split() for line in excerpts)
    assert detail.text.count("•") == 15 and utf16_len(detail.text) <= 4096  # the latest steps, whole words


async def test_a_caption_over_1024_goes_with_the_photo_and_the_rest_as_a_message(
    harness: Harness, staff: Staff
) -> None:
    h, _ = harness, harness.tr("vi")
    citizen, ticket = await submit(h)
    officer = staff["ts-cb"]
    await accept(h, officer, ticket)
    await officer.tap(_("💬 Reply"))
    await officer.expect(_("Or pick a saved answer:"))
    caption = long_text(1000, "CUỐI-CHÚ-THÍCH")  # with the header, over Telegram's 1024
    await officer.send_photo(caption=caption)
    await citizen.expect("CUỐI-CHÚ-THÍCH")
    received = h.emulator.bot_messages(citizen.chat_id)
    photo = next(m for m in received if m.kind == "photo")
    assert ticket in (photo.text or "") and utf16_len(photo.text or "") <= 1024
    assert (photo.text or "").replace("\n", " ").split()[-1] in caption  # cut between words
    assert any(m.kind != "photo" and "CUỐI-CHÚ-THÍCH" in (m.text or "") for m in received)
