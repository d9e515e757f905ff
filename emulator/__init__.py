"""A local Telegram Bot API emulator for end-to-end tests of the Tiếng Dân bot.

It speaks the real Bot API over HTTP (so the unmodified python-telegram-bot application can talk
to it), validates every request against the official specification (``api.json``) and rejects
what real Telegram rejects, while letting tests play simulated users and observe the bot.
"""

from .errors import ApiError
from .media import sample_png
from .models import (
    ApiCall,
    Button,
    EmulatedUser,
    EmulatorEvent,
    Fault,
    RateLimits,
    Rejection,
    SentMessage,
    StoredFile,
)
from .scripted import ScriptedUser
from .server import BotApiEmulator

__all__ = [
    "ApiCall",
    "ApiError",
    "BotApiEmulator",
    "Button",
    "EmulatedUser",
    "EmulatorEvent",
    "Fault",
    "RateLimits",
    "Rejection",
    "ScriptedUser",
    "SentMessage",
    "StoredFile",
    "sample_png",
]
