"""The poller and the webhook partition updates from Telegram's JSON without building PTB objects
(``raw_serial_key``); the key must be the one the consumer computes from the parsed update, or one
user's updates could land in two partitions and lose their order."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from bot.polling import raw_serial_key, serial_key

USER = {"id": 42, "is_bot": False, "first_name": "An"}
PRIVATE = {"id": 42, "type": "private", "first_name": "An"}
GROUP = {"id": -100123, "type": "supergroup", "title": "Tổ"}
CHANNEL = {"id": -100777, "type": "channel", "title": "Kênh"}
MESSAGE = {"message_id": 1, "date": 0, "chat": PRIVATE, "from": USER, "text": "xin chào"}

UPDATES: list[dict[str, Any]] = [
    {"update_id": 1, "message": MESSAGE},
    {"update_id": 2, "edited_message": {**MESSAGE, "edit_date": 1}},
    {"update_id": 3, "message": {**MESSAGE, "chat": GROUP}},
    {
        "update_id": 4,
        "callback_query": {"id": "q", "from": USER, "chat_instance": "c", "data": "x", "message": MESSAGE},
    },
    {"update_id": 5, "channel_post": {"message_id": 2, "date": 0, "chat": CHANNEL, "text": "thông báo"}},
    {"update_id": 6, "inline_query": {"id": "i", "from": USER, "query": "", "offset": ""}},
    {
        "update_id": 7,
        "poll_answer": {"poll_id": "p", "user": USER, "option_ids": [0], "option_persistent_ids": ["a"]},
    },
    {
        "update_id": 8,
        "poll_answer": {
            "poll_id": "p",
            "voter_chat": GROUP,
            "option_ids": [0],
            "option_persistent_ids": ["a"],
        },
    },
    {
        "update_id": 9,
        "my_chat_member": {
            "chat": GROUP,
            "from": USER,
            "date": 0,
            "old_chat_member": {"status": "left", "user": USER},
            "new_chat_member": {"status": "member", "user": USER},
        },
    },
    {
        "update_id": 10,
        "message_reaction": {
            "chat": GROUP,
            "message_id": 1,
            "date": 0,
            "actor_chat": CHANNEL,
            "old_reaction": [],
            "new_reaction": [],
        },
    },
    {
        "update_id": 11,
        "poll": {
            "id": "p",
            "question": "?",
            "options": [],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        },
    },
    {"update_id": 12, "chat_join_request": {"chat": GROUP, "from": USER, "user_chat_id": 42, "date": 0}},
]


@pytest.mark.parametrize("raw", UPDATES, ids=lambda raw: next(k for k in raw if k != "update_id"))
def test_the_raw_key_is_the_parsed_updates_key(raw: dict[str, Any]) -> None:
    update = Update.de_json(raw, None)
    assert update is not None
    assert raw_serial_key(raw) == serial_key(update)


def test_users_chats_and_neither() -> None:
    assert raw_serial_key(UPDATES[0]) == "u42"
    assert raw_serial_key(UPDATES[4]) == "c-100777"  # a channel post has no sender: its chat
    assert raw_serial_key(UPDATES[10]) == "x11"  # a poll has neither
