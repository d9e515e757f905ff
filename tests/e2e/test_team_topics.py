"""Team chats with forum topics: one topic per petition, relay of what members write, internal notes."""

from __future__ import annotations

import json
import re

from emulator import ScriptedUser
from storage.models import PetitionStatus
from storage.officials import OfficialRepository
from tests.e2e.conftest import STAFF, Harness, Staff
from tests.e2e.flows import stored_petition, submit

TEAM_CHAT = -1001234567890


async def link_team_chat(h: Harness, staff: Staff, *, forum: bool = True) -> ScriptedUser:
    """The admin links the Thành Sen officer to a forum group; returns the officer as a group member."""
    officer, admin = staff["ts-cb"], staff["tcd-tb"]
    h.emulator.add_group(
        chat_id=TEAM_CHAT,
        title="Tổ tiếp dân phường Thành Sen",
        is_forum=forum,
        members=[officer.user, admin.user],
        admins=[admin.user],
    )
    admin_in_group = ScriptedUser(h.emulator, admin.user, chat_id=TEAM_CHAT)
    await admin_in_group.send("/teamchat ts-cb")
    _ = h.tr("vi")
    await admin_in_group.expect(
        "✅" if forum else _("This group has no topics. Turn on Topics in the group settings first.")
    )
    return ScriptedUser(h.emulator, officer.user, chat_id=TEAM_CHAT)


async def test_each_petition_gets_a_topic_and_members_answer_there(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    member = await link_team_chat(h, staff)
    citizen, ticket = await submit(
        h, anonymous=True, first_name="Quỳnhxy", last_name="Zzyzx", username="an_danh_zz"
    )
    card = await h.emulator.wait_for_bot_message(TEAM_CHAT, lambda m: ticket in (m.text or ""))
    assert card.message_thread_id is not None
    petition = await stored_petition(h, ticket)
    assert petition.topic_chat_id == TEAM_CHAT and petition.topic_thread_id == card.message_thread_id
    topic = card.message_thread_id

    # Buttons work in the topic, and the card's follow-ups stay in it.
    h.emulator.user_presses(
        member.user, card, next(b.callback_data for b in card.iter_buttons() if b.text == _("✅ Accept"))
    )
    await citizen.expect(ticket)
    # A plain message in the topic reaches the citizen; a #note stays internal.
    h.emulator.user_sends_text(
        member.user, "Tổ sẽ xuống kiểm tra vào sáng thứ Hai.", chat_id=TEAM_CHAT, message_thread_id=topic
    )
    answer = await citizen.expect("Tổ sẽ xuống kiểm tra vào sáng thứ Hai.")
    assert ticket in answer.text
    h.emulator.user_sends_text(
        member.user, "#ghi chú: hộ này đã bị nhắc nhở năm ngoái", chat_id=TEAM_CHAT, message_thread_id=topic
    )
    # The citizen's reply comes back into the topic, by copy, without identity.
    await citizen.send("Cảm ơn, tôi sẽ có mặt.", reply_to_message_id=answer.message_id)
    relayed = await h.emulator.wait_for_bot_message(
        TEAM_CHAT, lambda m: "Cảm ơn, tôi sẽ có mặt." in (m.text or "")
    )
    assert relayed.message_thread_id == topic
    stored = await stored_petition(h, ticket)
    actions = [e.action for e in stored.history]
    assert "internal_note" in actions and actions.count("replied") == 1 and "citizen_info" in actions
    assert stored.status == PetitionStatus.IN_PROGRESS
    texts = [m.text or "" for m in h.emulator.bot_messages(citizen.chat_id)]
    assert not any("hộ này đã bị nhắc nhở" in t for t in texts)  # the internal note never left the team
    for message in h.emulator.bot_messages(TEAM_CHAT):
        dumped = json.dumps(message.raw, ensure_ascii=False)
        assert not re.search(rf"(?<![\d-]){citizen.user.id}(?!\d)", dumped), dumped
        assert "an_danh_zz" not in dumped and "Zzyzx" not in dumped and "Quỳnhxy" not in dumped


async def test_teamchat_setup_is_checked(harness: Harness, staff: Staff) -> None:
    h = harness
    await link_team_chat(h, staff, forum=False)  # no topics: refused with an explanation
    officer = staff["ts-cb"]
    group_member = ScriptedUser(h.emulator, officer.user, chat_id=TEAM_CHAT)
    await group_member.send("/teamchat ts-cb")  # not an admin
    await group_member.expect(h.tr("vi")("Only an administrator can link a team chat."))
    admin = ScriptedUser(h.emulator, staff["tcd-tb"].user, chat_id=TEAM_CHAT)
    await admin.send("/teamchat")
    await admin.expect(
        "/teamchat"
    )  # the usage, with its <placeholders> escaped (the emulator checks the HTML)
    repo_official = await OfficialRepository(h.redis, h.keys).get("ts-cb")
    assert repo_official is not None and repo_official.team_chat_id is None
    assert STAFF["ts-cb"] == officer.user.id
