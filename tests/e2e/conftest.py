"""End-to-end fixtures: the Bot API emulator, and the real bot (BotRuntime) polling it over HTTP."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from bot.app import BotRuntime
from bot.config import Settings
from bot.domain.clock import Clock, ManualClock
from bot.i18n import Gettext, Translator
from emulator import BotApiEmulator, ScriptedUser
from storage.keys import Keys
from storage.officials import OfficialRepository

TOKEN = "123456:TEST-TOKEN"
_user_ids = itertools.count(1001)


@dataclass
class Harness:
    """What an end-to-end test drives and inspects."""

    emulator: BotApiEmulator
    runtime: BotRuntime
    redis: aioredis.Redis
    keys: Keys
    settings: Settings
    translator: Translator
    clock: ManualClock

    def tr(self, lang: str) -> Gettext:
        """The bot's translations, to find labels the way a user reads them."""
        return self.translator(lang)

    def citizen(
        self,
        first_name: str = "Lan",
        last_name: str | None = "Nguyễn",
        language_code: str = "vi",
        username: str | None = None,
    ) -> ScriptedUser:
        """A new simulated citizen with a private chat."""
        user = self.emulator.add_user(
            user_id=next(_user_ids),
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        return ScriptedUser(self.emulator, user)


def make_settings(emulator: BotApiEmulator, redis_url: str, key_prefix: str, **overrides: object) -> Settings:
    """Settings for a bot talking to the emulator and the test Redis."""
    values: dict[str, object] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_url": emulator.url,
        "redis_url": redis_url,
        "redis_key_prefix": key_prefix,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """A fresh emulator on a free port; every test ends with no rejected call."""
    emu = BotApiEmulator(token=TOKEN, bot_username="tiengdan_test_bot")
    await emu.start()
    yield emu
    await emu.stop()


async def start_runtime(
    settings: Settings, clock: Clock | None = None
) -> tuple[BotRuntime, asyncio.Task[None]]:
    """Open the bot and run its durable poller in the background."""
    runtime = BotRuntime(settings, clock=clock)
    await runtime.open()
    assert runtime.poller is not None
    return runtime, asyncio.create_task(runtime.poller.run())


async def stop_runtime(runtime: BotRuntime, task: asyncio.Task[None]) -> None:
    """Stop polling and close the bot."""
    assert runtime.poller is not None
    runtime.poller.stop()
    await asyncio.wait_for(task, 10)
    await runtime.close()


@pytest.fixture
async def harness(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, redis: aioredis.Redis
) -> AsyncIterator[Harness]:
    """The real bot polling the emulator, with a clean key space."""
    settings = make_settings(emulator, redis_url, key_prefix)
    clock = ManualClock(datetime.now(UTC))
    runtime, task = await start_runtime(settings, clock)
    keys = Keys(key_prefix, "ht")
    yield Harness(emulator, runtime, redis, keys, settings, Translator(), clock)
    await stop_runtime(runtime, task)
    assert not emulator.rejections, f"the emulator rejected calls: {emulator.rejections}"


@pytest.fixture
def scan_keys(redis: aioredis.Redis, key_prefix: str) -> Callable[[], asyncio.Future[list[str]]]:
    """Every key under the test's prefix (SCAN, never KEYS)."""

    async def scan() -> list[str]:
        return sorted([key async for key in redis.scan_iter(match=f"{key_prefix}:*")])

    return scan  # type: ignore[return-value]


STAFF = {  # official id in the shipped Hà Tĩnh example → Telegram id
    "ts-cb": 9001,  # Phường Thành Sen's officer (every category there)
    "ts-ct": 9002,  # its chairman, supervisor of ts-cb
    "tcd-tb": 9003,  # head of the citizen-reception board: admin
    "hht-cb": 9004,  # Phường Hà Huy Tập's officer: unrelated to Thành Sen's cases
    "desk-ht": 9005,  # the fallback desk
}


@dataclass
class Staff:
    """Scripted officials, linked as onboarding would link them."""

    users: dict[str, ScriptedUser]

    def __getitem__(self, official_id: str) -> ScriptedUser:
        return self.users[official_id]


@pytest.fixture
async def staff(harness: Harness) -> AsyncIterator[Staff]:
    repo = OfficialRepository(harness.redis, harness.keys)
    users = {}
    for official_id, telegram_id in STAFF.items():
        official = await repo.get(official_id)
        assert official is not None, official_id
        await repo.save(official.model_copy(update={"telegram_id": telegram_id}))
        user = harness.emulator.add_user(
            user_id=telegram_id, first_name=official.name.split()[-1], language_code="vi", started=True
        )
        users[official_id] = ScriptedUser(harness.emulator, user)
    yield Staff(users)
