"""Fixtures for the Bot API emulator tests: a running emulator and a real PTB Bot pointed at it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot

# The editable install may have been generated before emulator/__init__.py existed (it then maps
# ``emulator`` as a namespace package); make sure the real package from the repo root is imported.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
if getattr(sys.modules.get("emulator"), "__file__", "") is None:
    del sys.modules["emulator"]

from emulator import BotApiEmulator  # noqa: E402

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    """A started emulator on a free port."""
    emulator = BotApiEmulator(token=TOKEN, bot_username="tiengdan_test_bot")
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    """An initialised python-telegram-bot ``Bot`` talking to the emulator."""
    client = Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url)
    await client.initialize()
    try:
        yield client
    finally:
        await client.shutdown()
