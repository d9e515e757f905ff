"""The send pacer counts what Telegram throttles (new messages), with bursts, on a virtual schedule."""

from __future__ import annotations

import pytest

from bot.telegram_calls import Bucket, is_send


@pytest.mark.parametrize(
    ("method", "paced"),
    [
        ("sendMessage", True),
        ("sendPhoto", True),
        ("sendMediaGroup", True),
        ("copyMessage", True),
        ("forwardMessage", True),
        ("sendChatAction", False),
        ("editMessageText", False),
        ("editMessageReplyMarkup", False),
        ("answerCallbackQuery", False),
        ("deleteMessage", False),
        ("getUpdates", False),
    ],
)
def test_only_sends_are_paced(method: str, paced: bool) -> None:
    assert is_send(method) is paced


def test_a_burst_goes_at_once_then_the_pace() -> None:
    bucket = Bucket(rate=1.0, burst=3)
    assert [bucket.reserve(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve(100.0) == pytest.approx(1.0)  # the 4th waits for one slot
    assert bucket.reserve(100.0) == pytest.approx(2.0)  # callers queue in order
    assert bucket.reserve(110.0) == 0.0  # idle long enough: a burst again
    assert bucket.spare(110.0) < 1.0 and bucket.spare(200.0) == 1.0


def test_without_burst_every_send_waits_its_turn() -> None:
    bucket = Bucket(rate=20 / 60, burst=1)
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == pytest.approx(3.0)
