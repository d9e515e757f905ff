"""Callback data: short, code-based payloads ``<namespace>:<action>[:<arg>...]``, checked at 64 bytes.

Callback data comes back from the client and can be forged: handlers parse it with ``parse`` and
re-check everything it names against the state in Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CALLBACK_BYTES = 64  # Telegram's limit, in UTF-8 bytes


class CallbackTooLong(ValueError):
    """A payload over Telegram's 64-byte limit: a programming error, caught by tests."""


@dataclass(frozen=True, slots=True)
class Callback:
    """A parsed payload."""

    namespace: str
    action: str
    args: tuple[str, ...]

    def arg(self, index: int) -> str:
        """The argument at ``index``, or an empty string."""
        return self.args[index] if index < len(self.args) else ""


def build(namespace: str, action: str, *args: str | int) -> str:
    """Encode a payload; raises CallbackTooLong past 64 bytes."""
    parts = [namespace, action, *(str(a) for a in args)]
    if any(":" in p for p in parts[:2]):
        raise ValueError("':' is the separator")
    data = ":".join(parts)
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise CallbackTooLong(data)
    return data


def parse(data: str | None) -> Callback | None:
    """Decode a payload; None for anything malformed."""
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        return None
    parts = data.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    return Callback(parts[0], parts[1], tuple(parts[2:]))
