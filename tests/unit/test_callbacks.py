"""Callback payloads stay within Telegram's 64 bytes and reject malformed data."""

import pytest

from bot import callbacks


def test_round_trip() -> None:
    data = callbacks.build("i", "lc", "0123456789abcdef", "18742")
    parsed = callbacks.parse(data)
    assert parsed is not None
    assert (parsed.namespace, parsed.action, parsed.args) == ("i", "lc", ("0123456789abcdef", "18742"))
    assert parsed.arg(5) == ""


def test_over_64_bytes_is_refused_when_built() -> None:
    with pytest.raises(callbacks.CallbackTooLong):
        callbacks.build("i", "x", "đ" * 31)  # 62 bytes of arg + 4 of prefix
    assert callbacks.build("i", "x", "a" * 60)  # exactly 64 bytes


@pytest.mark.parametrize("forged", [None, "", "nocolon", ":x", "i:", "x" * 65, "đ" * 33])
def test_malformed_data_parses_to_none(forged: str | None) -> None:
    assert callbacks.parse(forged) is None
