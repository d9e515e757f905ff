"""Starts and stops everything the sandbox needs, all on 127.0.0.1: an embedded Redis, the Bot API
emulator, the real bot polling it, and the web page; ``reset`` starts the bot again on empty data."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import web

from bot.app import BotRuntime
from bot.config import Settings
from bot.context import DEPS_KEY, Deps
from bot.embedded_redis import EmbeddedRedis
from emulator import BotApiEmulator
from storage.connection import StorageUnavailable, connect
from storage.officials import OfficialRepository

from .personas import PERSONAS
from .web import Hub, SandboxWeb, emulator_listener

log = logging.getLogger(__name__)

TOKEN = "777000:SANDBOX-local-token-not-valid-on-Telegram"
BOT_USERNAME = "tiengdan_sandbox_bot"
BOT_NAME = "Tiếng Dân"
KEY_PREFIX = "sandbox"  # the sandbox's keys never mix with a real bot's (prefix "tiengdan")


class Sandbox:
    """The whole product on one machine: ``await start()`` → page URL, ``await reset()``, ``await stop()``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        data_dir: Path | None = None,
        log_level: str = "WARNING",
        seed_staff_chats: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.log_level = log_level
        self.seed_staff_chats = seed_staff_chats
        self.hub = Hub()
        self.generation = 0
        self.busy = True  # until started, and while resetting
        self._given_data_dir = data_dir
        self._temp_dir: Path | None = None
        self._redis_server: EmbeddedRedis | None = None
        self._redis: aioredis.Redis | None = None
        self._redis_url: str | None = None
        self._emulator: BotApiEmulator | None = None
        self._unlisten: list[Callable[[], None]] = []
        self.runtime: BotRuntime | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._web_runner: web.AppRunner | None = None
        self._url: str | None = None
        self._lock = asyncio.Lock()

    # -- properties ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The page, e.g. ``http://127.0.0.1:8080/``."""
        if self._url is None:
            raise RuntimeError("sandbox not started")
        return self._url

    @property
    def emulator(self) -> BotApiEmulator:
        """The current Bot API emulator (replaced by ``reset``)."""
        if self._emulator is None:
            raise RuntimeError("sandbox not started")
        return self._emulator

    @property
    def redis(self) -> aioredis.Redis:
        """A client of the sandbox's Redis (its keys start with ``sandbox:``)."""
        if self._redis is None:
            raise RuntimeError("sandbox not started")
        return self._redis

    @property
    def data_dir(self) -> Path:
        """Where the embedded Redis keeps its files."""
        if self._given_data_dir is not None:
            return self._given_data_dir
        if self._temp_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="tiengdan-sandbox-"))
        return self._temp_dir

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> str:
        """Start Redis, the emulator, the bot and the page; returns the page URL."""
        try:
            # The page first: a port already in use fails before anything else is started.
            self._web_runner = web.AppRunner(SandboxWeb(self).make_app(), access_log=None, shutdown_timeout=1)
            await self._web_runner.setup()
            site = web.TCPSite(self._web_runner, self.host, self.port)
            await site.start()
            port = self._web_runner.addresses[0][1]
            self._url = f"http://{self.host}:{port}/"
            persistent = self._given_data_dir is not None
            self._redis_server = EmbeddedRedis(self.data_dir / "redis", appendonly=persistent)
            self._redis_url = await asyncio.to_thread(self._redis_server.start)
            self._redis = await connect(self._redis_url, max_connections=4)
            await self._start_bot()
        except BaseException:
            await self.stop()
            raise
        self.busy = False
        return self.url

    async def stop(self) -> None:
        """Stop everything that was started, and remove the temporary data folder."""
        self.busy = True
        self.hub.close()
        if self._web_runner is not None:
            await self._web_runner.cleanup()
            self._web_runner = None
        await self._stop_bot()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        if self._redis_server is not None:
            await asyncio.to_thread(self._redis_server.stop)
            self._redis_server = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    async def reset(self) -> None:
        """Stop the bot, delete the sandbox's data, start a fresh emulator and bot, tell the page."""
        async with self._lock:
            self.busy = True
            try:
                await self._stop_bot()
                await self._flush()
                self.generation += 1
                await self._start_bot()
            finally:
                self.busy = False
        self.hub.publish("reset", {"generation": self.generation})

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the bot -------------------------------------------------------------------------------

    def settings(self) -> Settings:
        """The bot's settings: the emulator as Telegram, the sandbox's Redis, the admin persona as admin."""
        admins = tuple(p.telegram_id for p in PERSONAS if p.key == "admin")
        return Settings(
            _env_file=None,
            telegram_bot_token=TOKEN,
            telegram_api_url=self.emulator.url,
            redis_url=self._redis_url,
            redis_key_prefix=KEY_PREFIX,
            admin_ids=admins,
            default_language="vi",
            directory_file=None,  # the shipped Hà Tĩnh directory: the demo people belong to it
            officials_file=None,
            data_dir=self.data_dir,
            log_level=self.log_level,
        )

    async def _start_bot(self) -> None:
        emu = BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME, bot_first_name=BOT_NAME)
        await emu.start("127.0.0.1", 0)
        self._emulator = emu
        for persona in PERSONAS:
            emu.add_user(
                persona.telegram_id,
                persona.first_name,
                persona.last_name,
                language_code=persona.language,
                started=True,
                phone_number=persona.phone,
            )
        self._unlisten.append(emu.add_listener(emulator_listener(emu, self.hub)))
        runtime = BotRuntime(self.settings())
        self.runtime = runtime
        await runtime.open()  # imports the shipped officials directory at first start
        await self._forget_update_ids(runtime)
        await self._link_staff(runtime)
        assert runtime.poller is not None
        self._poll_task = asyncio.create_task(runtime.poller.run(), name="sandbox-poller")
        if self.seed_staff_chats:
            for persona in PERSONAS:
                if persona.official_id is not None:
                    emu.user_sends_text(emu.users[persona.telegram_id], "/inbox")

    async def _forget_update_ids(self, runtime: BotRuntime) -> None:
        """A new emulator numbers updates from 1 again: with data kept from an earlier run (``--data``),
        the poller's offset and its appended and handled update ids would make the bot skip them."""
        assert runtime.application is not None
        deps: Deps = runtime.application.bot_data[DEPS_KEY]
        await deps.redis.delete(
            deps.keys.update_offset(), deps.keys.handled_updates(), deps.keys.seen_updates()
        )

    async def _link_staff(self, runtime: BotRuntime) -> None:
        """Link the official and the admin persona to their officials of the directory, as onboarding
        would, and give them their command menus."""
        from handlers.commands import publish_staff_commands

        assert runtime.application is not None and self._redis is not None
        deps: Deps = runtime.application.bot_data[DEPS_KEY]
        repo = OfficialRepository(deps.redis, deps.keys)
        for persona in PERSONAS:
            if persona.official_id is None:
                continue
            official = await repo.get(persona.official_id)
            if official is None:
                log.warning("sandbox: official %s is not in the directory", persona.official_id)
                continue
            if official.telegram_id != persona.telegram_id:
                await repo.save(official.model_copy(update={"telegram_id": persona.telegram_id}))
            await publish_staff_commands(runtime.application.bot, deps, persona.telegram_id)

    async def _stop_bot(self) -> None:
        runtime, task = self.runtime, self._poll_task
        self.runtime, self._poll_task = None, None
        if runtime is not None and runtime.poller is not None:
            runtime.poller.stop()
        if task is not None:
            try:
                await asyncio.wait_for(task, 10)
            except Exception:
                log.exception("sandbox: the poller ended with an error")
        if runtime is not None:
            await runtime.close()
        for unlisten in self._unlisten:
            unlisten()
        self._unlisten.clear()
        if self._emulator is not None:
            await self._emulator.stop()

    async def _flush(self) -> None:
        """Delete every key of the sandbox (and only those)."""
        assert self._redis is not None
        batch: list[str] = []
        async for key in self._redis.scan_iter(match=f"{KEY_PREFIX}:*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                await self._redis.unlink(*batch)
                batch.clear()
        if batch:
            await self._redis.unlink(*batch)


# -- command line ---------------------------------------------------------------------------------


async def serve(host: str, port: int, data_dir: Path | None, log_level: str) -> None:
    """Run the sandbox until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    sandbox = Sandbox(host=host, port=port, data_dir=data_dir, log_level=log_level)
    print("Starting the sandbox (embedded Redis, Bot API emulator, bot)…", flush=True)
    await sandbox.start()
    try:
        where = f"data in {data_dir}" if data_dir else "data in a temporary folder, deleted on exit"
        print(
            f"\n  Tiếng Dân sandbox: open {sandbox.url}\n"
            f"  (no Telegram, no internet: a local Bot API emulator; {where})\n"
            "  Press Ctrl-C to stop.\n",
            flush=True,
        )
        await stop.wait()
    finally:
        print("Stopping…", flush=True)
        await sandbox.stop()


def run(
    host: str = "127.0.0.1", port: int = 8080, data_dir: Path | None = None, log_level: str = "WARNING"
) -> int:
    """Entry point of ``python -m bot sandbox``; returns the exit code."""
    from bot.logs import configure

    configure(log_level)
    try:
        asyncio.run(serve(host, port, data_dir, log_level))
    except StorageUnavailable as exc:
        print(f"tiengdan: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tiengdan: cannot start the sandbox on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        print("tiengdan: choose another port with --port", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
