"""``python -m bot bench``: how fast one bot process serves the full citizen flow.

Not a test: it prints figures. It starts a redis-server of its own on a free port, the Bot API emulator
(with ``--api-delay-ms`` of latency on every call but getUpdates) and the real bot as a child process
(``python -m bot run``), then plays scripted citizens through the whole petition flow (/start, consent,
/new, locality, commune, topic, kind, description, no attachments, anonymous, Send). It reports:

- updates/s, and the latency of each step (the update queued at the emulator → the bot's first
  message or edit in that chat), p50/p99;
- the bot's CPU time and Redis commands per update (``INFO`` deltas; background loops included);
- head of line: other citizens' p99 while one user's every Bot API call takes ``--slow-seconds``;
- with ``--offered-rate``: an open-loop run (citizens arrive at a fixed pace, whatever the latency);
- the same figures for a bare python-telegram-bot echo bot on the same machine in the same run
  (``--no-peer`` to skip it), and the ratios to it: the machine is shared and noisy, ratios less so.

Linux only (CPU and memory come from ``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bot.embedded_redis import EmbeddedRedis
from bot.i18n import Translator
from emulator import BotApiEmulator
from emulator.models import EmulatedUser, EmulatorEvent, SentMessage

TOKEN = "123456:BENCH-TOKEN"
PEER_TOKEN = "654321:BENCH-PEER"
STEP_TIMEOUT = 120.0  # seconds a citizen waits for one answer before the run counts it as failed
ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

ECHO_BOT = """
import sys
from telegram.ext import Application, MessageHandler, filters

async def echo(update, context):
    await update.effective_message.reply_text(update.effective_message.text)

url = sys.argv[1]
app = (Application.builder().token(sys.argv[2]).base_url(url + "/bot").base_file_url(url + "/file/bot")
       .concurrent_updates(256).build())
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling(poll_interval=0, timeout=25, drop_pending_updates=False)
"""


# -- measuring a process -----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100), nearest rank; 0 when there is nothing."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Phase:
    """What one phase of the run measured."""

    name: str
    updates: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds
    cpu: float = 0.0  # the bot's CPU seconds
    driver_cpu: float = 0.0  # this process's (the emulator's and the scripted users'): is it the limit?
    commands: int = 0  # Redis commands
    round_trips: int = 0  # reads the Redis server made from clients' sockets (INFO total_reads_processed)
    failures: int = 0
    offered: float | None = None  # open loop: updates/s offered

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    def summary(self) -> dict[str, float]:
        per = max(self.updates, 1)
        return {
            "updates": self.updates,
            "updates_per_s": self.rate,
            "p50_ms": self.p(50),
            "p99_ms": self.p(99),
            "max_ms": max(self.latencies, default=0.0) * 1000,
            "cpu_ms_per_update": self.cpu * 1000 / per,
            "driver_cpu_ms_per_update": self.driver_cpu * 1000 / per,
            "redis_cmds_per_update": self.commands / per,
            "redis_trips_per_update": self.round_trips / per,
            "failures": self.failures,
        }


# -- the scripted users ------------------------------------------------------------------------------


class Waiter:
    """One chat's pending step: when its first bot output came, and whether the step is done."""

    def __init__(self, ready: Callable[[], bool]) -> None:
        self.ready = ready
        self.sent = time.perf_counter()
        self.first: float | None = None
        self.done = asyncio.get_running_loop().create_future()


class Driver:
    """Plays many users against one emulator; reacts to the emulator's events per chat (no polling)."""

    def __init__(self, emu: BotApiEmulator) -> None:
        self.emu = emu
        self.waiters: dict[int, Waiter] = {}
        self.step_timeout = STEP_TIMEOUT
        self._ids = itertools.count(5_000_001)
        emu.add_listener(self._on_event)

    def _on_event(self, event: EmulatorEvent) -> None:
        if event.chat_id is None or event.kind not in ("message", "edited"):
            return
        if event.message is None or not event.message.from_bot:
            return
        waiter = self.waiters.get(event.chat_id)
        if waiter is None or waiter.done.done():
            return
        if waiter.first is None:
            waiter.first = time.perf_counter()
        if waiter.ready():
            waiter.done.set_result(None)

    def new_user(self, lang: str = "vi") -> EmulatedUser:
        uid = next(self._ids)
        return self.emu.add_user(user_id=uid, first_name=f"Dân {uid}", last_name=None, language_code=lang)

    async def step(self, chat_id: int, act: Callable[[], object], ready: Callable[[], bool]) -> float:
        """Do ``act`` (queue an update), wait until ``ready()``; returns the latency to the first answer."""
        waiter = Waiter(ready)
        self.waiters[chat_id] = waiter
        act()
        try:
            await asyncio.wait_for(waiter.done, self.step_timeout)
        except TimeoutError:
            raise TimeoutError(
                f"chat {chat_id}: no answer within {self.step_timeout:g} s; last bot message: "
                f"{self.last_text(chat_id)[:160]!r}"
            ) from None
        finally:
            self.waiters.pop(chat_id, None)
        assert waiter.first is not None
        return waiter.first - waiter.sent

    # what a chat shows

    def button(self, chat_id: int, label: str) -> tuple[SentMessage, str] | None:
        """The newest inline button labelled ``label`` (exactly, else containing it), as tests find them."""
        messages = self.emu.bot_messages(chat_id)
        for exact in (True, False):
            for msg in reversed(messages):
                for button in msg.iter_buttons():
                    if button.callback_data is not None and (
                        button.text == label if exact else label in button.text
                    ):
                        return msg, button.callback_data
        return None

    def last_text(self, chat_id: int) -> str:
        msg = self.emu.last_bot_message(chat_id)
        return (msg.text or "") if msg is not None else ""

    def reply_button(self, chat_id: int, label: str) -> bool:
        rows = self.emu.reply_keyboard(chat_id) or []
        return any(b.get("text") == label for row in rows for b in row)


class Citizen:
    """One citizen going through the whole petition flow, step by step."""

    def __init__(self, driver: Driver, lang: str = "vi") -> None:
        self.d = driver
        self.user = driver.new_user(lang)
        self.chat = self.user.id
        self._ = Translator()(lang)
        self.offered_similar = False

    async def send(self, text: str, ready: Callable[[], bool]) -> float:
        return await self.d.step(self.chat, lambda: self.d.emu.user_sends_text(self.user, text), ready)

    async def tap(self, label: str, ready: Callable[[], bool]) -> float:
        found = self.d.button(self.chat, label)
        if found is None:
            raise LookupError(f"no button {label!r} in chat {self.chat}: {self.d.last_text(self.chat)[:200]}")
        msg, data = found

        def press() -> None:
            self.d.emu.user_presses(self.user, msg, data)

        return await self.d.step(self.chat, press, ready)

    def has(self, label: str) -> Callable[[], bool]:
        return lambda: self.d.button(self.chat, label) is not None

    def shows(self, text: str) -> Callable[[], bool]:
        return lambda: text in self.d.last_text(self.chat)

    def answered(self) -> Callable[[], bool]:
        return lambda: True

    def ticked(self) -> bool:
        msg = self.d.emu.last_bot_message(self.chat)
        return msg is not None and any(b.text.startswith("☑️") for b in msg.iter_buttons())

    async def flow(self, record: Callable[[float], None]) -> None:
        """The full flow; ``record`` gets each step's latency (seconds)."""
        _ = self._
        steps: list[Callable[[], Awaitable[float]]] = [
            lambda: self.send("/start", self.has(_("Handle my petitions"))),
            lambda: self.tap(_("Handle my petitions"), self.ticked),
            lambda: self.tap(_("✅ Continue"), self.shows(_("✅ Thank you. Your choices are saved."))),
            lambda: self.send("/new", self.answered()),
            lambda: self.send("Thạch Hà", self.has("Xã Thạch Hà")),
            lambda: self.tap("Xã Thạch Hà", self.has("Giáo dục")),
            lambda: self.tap("Giáo dục", self.has(_("Question"))),
            lambda: self.tap(_("Question"), self.answered()),
            self.describe,
            lambda: self.tap(
                _("⏭ Skip — no attachments"), lambda: self.d.reply_button(self.chat, _("🙈 Stay anonymous"))
            ),
            lambda: self.send(_("🙈 Stay anonymous"), self.has(_("✅ Send"))),
            lambda: self.tap(_("✅ Send"), self.shows("HT-")),
        ]
        for step in steps:
            record(await step())
            if self.offered_similar:  # "has this already been raised?": one more tap
                self.offered_similar = False
                record(
                    await self.tap(
                        _("➡️ No, mine is different: continue"), self.has(_("⏭ Skip — no attachments"))
                    )
                )

    async def describe(self) -> float:
        """The description; similar open petitions (the same words, here) may be offered first ("me too")."""
        _ = self._
        skip, own = self.has(_("⏭ Skip — no attachments")), self.has(_("➡️ No, mine is different: continue"))
        latency = await self.send("Khi nào trường tiểu học xây xong phòng học mới?", lambda: skip() or own())
        self.offered_similar = not skip()
        return latency


STEPS_PER_FLOW = 12  # 13 when similar petitions are offered after the description


class EchoUser:
    """A user of the echo peer: sends a text, waits for the echo."""

    def __init__(self, driver: Driver) -> None:
        self.d = driver
        self.user = driver.new_user()

    async def flow(self, record: Callable[[float], None]) -> None:
        for i in range(STEPS_PER_FLOW):
            text = f"tin nhắn {i} của {self.user.id}"
            record(
                await self.d.step(
                    self.user.id,
                    lambda text=text: self.d.emu.user_sends_text(self.user, text),  # type: ignore[misc]
                    lambda text=text: self.d.last_text(self.user.id) == text,  # type: ignore[misc]
                )
            )


# -- the processes -----------------------------------------------------------------------------------


class BotProcess:
    """A child process talking to the emulator, and how much CPU it used; optionally under py-spy
    (which may only trace its own children here), its samples written to ``profile``."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        profile: Path | None = None,
        log_name: str | None = None,
    ) -> None:
        self.profile = profile
        if profile is not None:
            spy = str(Path(sys.executable).with_name("py-spy"))
            argv = [
                spy,
                "record",
                "--format",
                "raw",
                "--nonblocking",
                "-r",
                "200",
                "-o",
                str(profile),
                "--",
                *argv,
            ]
        self.process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=open(cwd / f"{log_name or Path(argv[-1]).name[:20]}.log", "wb"),  # noqa: SIM115
        )
        self._pid: int | None = None if profile is not None else self.process.pid

    @property
    def pid(self) -> int:
        """The Python process's (py-spy's child when profiled)."""
        while self._pid is None:
            for task in Path(f"/proc/{self.process.pid}/task").iterdir():
                children = (task / "children").read_text().split()
                if children:
                    self._pid = int(children[0])
                    break
            else:
                time.sleep(0.05)
        return self._pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> float:
        return rss_mb(self.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Killed, not stopped gracefully: its Redis and emulator are thrown away with it."""
        if self.profile is not None and self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, 9)
            self.process.wait(30)  # py-spy writes its samples when its child is gone
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class BotProcesses:
    """The bot as several processes: one of the default role (the elected poller, which also handles its
    share of the update partitions) and ``workers - 1`` of ``--role worker``; CPU and RSS are their sums."""

    def __init__(self, processes: list[BotProcess]) -> None:
        self.members = processes

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.members[0].process

    @property
    def pid(self) -> int:
        return self.members[0].pid

    def cpu(self) -> float:
        return sum(member.cpu() for member in self.members)

    def rss(self) -> float:
        return sum(member.rss() for member in self.members)

    def alive(self) -> bool:
        return all(member.alive() for member in self.members)

    def stop(self) -> None:
        for member in self.members:
            member.stop()


def top_functions(profile: Path, count: int = 15) -> list[str]:
    """py-spy's raw samples → the functions where the bot spent its time (self, and with callees)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in profile.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        frames = [f.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "") for f in frames]
        frames = [re.sub(r"lib/python3\.\d+/(site-packages/)?", "", f) for f in frames]
        samples += int(n)
        own[frames[-1]] += int(n)
        for frame in set(frames):
            total[frame] += int(n)
    if not samples:
        return ["(no samples)"]
    out = [f"{samples} samples; self time:"]
    out += [f"  {100 * n / samples:5.1f}%  {f}" for f, n in own.most_common(count)]
    out.append("with callees (excluding the event loop's own frames):")
    skip = ("run_forever", "_run_once", "_run (", "<module>", "run (", "_run_module", "run_until_complete")
    ranked = [(f, n) for f, n in total.most_common() if not any(k in f for k in skip)]
    out += [f"  {100 * n / samples:5.1f}%  {f}" for f, n in ranked[:count]]
    return out


BotUnderTest = BotProcess | BotProcesses


async def wait_polling(emu: BotApiEmulator, process: BotUnderTest, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Until the bot sent its first getUpdates."""
    deadline = time.monotonic() + timeout
    while not any(call.method == "getUpdates" for call in emu.calls):
        if not process.alive():
            raise RuntimeError(f"the bot exited with {process.process.returncode} before polling")
        if time.monotonic() > deadline:
            raise RuntimeError("the bot did not poll within a minute")
        await asyncio.sleep(0.05)


async def redis_counters(redis: aioredis.Redis | None) -> tuple[int, int]:
    """Commands the server processed, and the reads it made from clients' sockets: a pipeline or a
    MULTI/EXEC block is one read, so reads count round trips (roughly: a big pipeline may take two)."""
    if redis is None:
        return 0, 0
    info = await redis.info("stats")
    return int(info["total_commands_processed"]), int(info.get("total_reads_processed", 0))


@dataclass
class Options:
    citizens: int = 200
    api_delay_ms: float = 0.0
    hol_citizens: int = 50
    slow_seconds: float = 2.0
    offered_rate: list[float] = field(default_factory=list)
    duration: float = 10.0
    peer: bool = True
    hol: bool = True
    warmup: int = 10
    seed: int = 1
    step_timeout: float = STEP_TIMEOUT
    profile: bool = False
    workers: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)


class Bench:
    """One run: Redis, emulator, bot (and peer), phases, figures."""

    def __init__(self, opts: Options, workdir: Path) -> None:
        self.opts = opts
        self.workdir = workdir
        self.results: dict[str, Phase] = {}
        self.peer_results: dict[str, Phase] = {}
        self.rss: dict[str, float] = {}
        self.calls: Counter[str] = Counter()
        self.getupdates = 0
        self.profile_lines: list[str] = []
        self.redis_by_command: dict[str, int] = {}

    # -- phases

    async def closed(
        self,
        name: str,
        driver: Driver,
        make: Callable[[], Any],
        users: int,
        process: BotUnderTest,
        redis: aioredis.Redis | None,
    ) -> Phase:
        """``users`` users at once, each going through its flow as fast as the bot answers."""
        phase = Phase(name)
        people = [make() for _ in range(users)]
        cpu0, (cmd0, trips0) = process.cpu(), await redis_counters(redis)
        own0 = time.process_time()
        start = time.perf_counter()

        async def one(person: Any) -> None:
            try:
                await person.flow(phase.latencies.append)
            except (TimeoutError, LookupError) as exc:
                phase.failures += 1
                print(f"  ! {name}: {type(exc).__name__}: {exc}", file=sys.stderr)

        await asyncio.gather(*(one(p) for p in people))
        phase.seconds = time.perf_counter() - start
        phase.cpu = process.cpu() - cpu0
        phase.driver_cpu = time.process_time() - own0
        cmd1, trips1 = await redis_counters(redis)
        phase.commands, phase.round_trips = cmd1 - cmd0, trips1 - trips0
        phase.updates = len(phase.latencies)
        return phase

    async def open_loop(
        self,
        name: str,
        driver: Driver,
        make: Callable[[], Any],
        rate: float,
        process: BotUnderTest,
        redis: aioredis.Redis | None,
    ) -> Phase:
        """Citizens arrive at ``rate / steps`` per second (``rate`` updates/s offered) for ``duration``
        seconds, whatever the latency; the phase ends when the last of them is done."""
        phase = Phase(name, offered=rate)
        arrivals = max(1, round(rate * self.opts.duration / STEPS_PER_FLOW))
        gap = STEPS_PER_FLOW / rate
        rng = random.Random(self.opts.seed)
        cpu0, (cmd0, trips0) = process.cpu(), await redis_counters(redis)
        own0 = time.process_time()
        start = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []

        async def one(person: Any) -> None:
            try:
                await person.flow(phase.latencies.append)
            except (TimeoutError, LookupError) as exc:
                phase.failures += 1
                print(f"  ! {name}: {type(exc).__name__}: {exc}", file=sys.stderr)

        due = start
        for _ in range(arrivals):
            due += rng.expovariate(1 / gap)
            pause = due - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.create_task(one(make())))
        await asyncio.gather(*tasks)
        phase.seconds = time.perf_counter() - start
        phase.cpu = process.cpu() - cpu0
        phase.driver_cpu = time.process_time() - own0
        cmd1, trips1 = await redis_counters(redis)
        phase.commands, phase.round_trips = cmd1 - cmd0, trips1 - trips0
        phase.updates = len(phase.latencies)
        return phase

    async def head_of_line(
        self, driver: Driver, emu: BotApiEmulator, process: BotUnderTest, redis: aioredis.Redis
    ) -> None:
        """Others' latency without, then with, one user whose every Bot API call takes slow_seconds."""
        opts = self.opts
        self.results["hol_without"] = await self.closed(
            "hol_without", driver, lambda: Citizen(driver), opts.hol_citizens, process, redis
        )
        slow = driver.new_user()
        emu.inject(chat_id=slow.id, delay=opts.slow_seconds, count=None)
        stop = asyncio.Event()

        async def keep_writing() -> None:  # the slow user writes every half second, answered or not
            while not stop.is_set():
                emu.user_sends_text(slow, "/start")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)

        writer = asyncio.create_task(keep_writing())
        try:
            self.results["hol_with_slow_user"] = await self.closed(
                "hol_with_slow_user", driver, lambda: Citizen(driver), opts.hol_citizens, process, redis
            )
        finally:
            stop.set()
            await writer
            emu.clear_faults()

    # -- runs

    def env(self, emu: BotApiEmulator, redis_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "REDIS_", "ADMIN_IDS"))}
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=emu.url,
            REDIS_URL=redis_url,
            REDIS_KEY_PREFIX="bench",
            LOG_LEVEL="WARNING",
            FLOOD_MAX_UPDATES="100000",
            MAX_PETITIONS_PER_DAY="100000",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        env.update(self.opts.extra_env)
        return env

    async def run_bot(self, redis_url: str) -> None:
        opts = self.opts
        emu = BotApiEmulator(token=TOKEN, call_delay=opts.api_delay_ms / 1000, max_recorded_calls=2_000_000)
        await emu.start()
        redis = aioredis.from_url(redis_url)
        profile = self.workdir / "bot.pyspy" if opts.profile else None
        env = self.env(emu, redis_url)
        process = BotProcesses(
            [BotProcess([sys.executable, "-m", "bot", "run"], env, self.workdir, profile, log_name="bot")]
            + [
                BotProcess(
                    [sys.executable, "-m", "bot", "run", "--role", "worker"],
                    {**env, "PROCESS_NAME": f"bench-worker-{n}"},
                    self.workdir,
                    log_name=f"worker-{n}",
                )
                for n in range(2, opts.workers + 1)
            ]
        )
        try:
            await wait_polling(emu, process)
            driver = Driver(emu)
            driver.step_timeout = opts.step_timeout
            print(
                f"bot: {opts.workers} process(es), first pid {process.pid}, RSS {process.rss():.0f} MB after start",
                file=sys.stderr,
            )
            if opts.warmup:
                await self.closed("warmup", driver, lambda: Citizen(driver), opts.warmup, process, redis)
            if opts.citizens:
                self.results["flow"] = await self.closed(
                    "flow", driver, lambda: Citizen(driver), opts.citizens, process, redis
                )
                print(_line("flow", self.results["flow"]), file=sys.stderr)
            for rate in opts.offered_rate:
                name = f"offered_{rate:g}"
                self.results[name] = await self.open_loop(
                    name, driver, lambda: Citizen(driver), rate, process, redis
                )
                print(_line(name, self.results[name]), file=sys.stderr)
            if opts.hol:
                await self.head_of_line(driver, emu, process, redis)
            self.rss["bot"] = process.rss()
            self.redis_by_command = {
                name.removeprefix("cmdstat_"): int(stat["calls"])
                for name, stat in (await redis.info("commandstats")).items()
                if isinstance(stat, dict)
            }
            self.calls = Counter(call.method for call in emu.calls if call.method != "getUpdates")
            self.getupdates = sum(1 for call in emu.calls if call.method == "getUpdates")
            rejected = emu.rejections
            if rejected:
                print(f"  ! the emulator rejected {len(rejected)} calls, e.g. {rejected[0]}", file=sys.stderr)
        finally:
            process.stop()
            await redis.aclose()
            await emu.stop()
        if profile is not None and profile.exists():
            self.profile_lines = top_functions(profile)

    async def run_peer(self) -> None:
        opts = self.opts
        emu = BotApiEmulator(token=PEER_TOKEN, call_delay=opts.api_delay_ms / 1000, max_recorded_calls=1000)
        await emu.start()
        script = self.workdir / "echo_bot.py"
        script.write_text(ECHO_BOT)
        process = BotProcess(
            [sys.executable, str(script), emu.url, PEER_TOKEN], dict(os.environ), self.workdir
        )
        try:
            await wait_polling(emu, process)
            driver = Driver(emu)
            driver.step_timeout = opts.step_timeout
            if opts.warmup:
                await self.closed("peer_warmup", driver, lambda: EchoUser(driver), opts.warmup, process, None)
            if opts.citizens:
                self.peer_results["flow"] = await self.closed(
                    "peer_flow", driver, lambda: EchoUser(driver), opts.citizens, process, None
                )
                print(_line("peer flow", self.peer_results["flow"]), file=sys.stderr)
            for rate in opts.offered_rate:
                name = f"offered_{rate:g}"
                self.peer_results[name] = await self.open_loop(
                    f"peer_{name}", driver, lambda: EchoUser(driver), rate, process, None
                )
            self.rss["peer"] = process.rss()
        finally:
            process.stop()
            await emu.stop()

    async def run(self) -> None:
        server = EmbeddedRedis(self.workdir / "redis", appendonly=False)
        url = await asyncio.to_thread(server.start)
        try:
            await self.run_bot(url)
        finally:
            await asyncio.to_thread(server.stop)
        if self.opts.peer:
            await self.run_peer()

    # -- the report

    def report(self) -> str:
        o = self.opts
        out = [
            f"bench: {o.citizens} citizens, {STEPS_PER_FLOW} updates each, API delay {o.api_delay_ms:g} ms, "
            f"{o.workers} bot process(es), "
            f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}",
            "",
            f"{'phase':<22}{'updates':>8}{'upd/s':>9}{'p50 ms':>9}{'p99 ms':>10}{'CPU ms/upd':>11}"
            f"{'redis/upd':>10}{'trips/upd':>10}{'emu CPU':>8}{'failed':>7}",
        ]
        for name, phase in self.results.items():
            s = phase.summary()
            out.append(
                f"{name:<22}{s['updates']:>8.0f}{s['updates_per_s']:>9.1f}{s['p50_ms']:>9.1f}{s['p99_ms']:>10.1f}"
                f"{s['cpu_ms_per_update']:>11.2f}{s['redis_cmds_per_update']:>10.1f}"
                f"{s['redis_trips_per_update']:>10.1f}{s['driver_cpu_ms_per_update']:>8.2f}{s['failures']:>7.0f}"
            )
        for name, phase in self.peer_results.items():
            s = phase.summary()
            out.append(
                f"{'echo peer ' + name:<22}{s['updates']:>8.0f}{s['updates_per_s']:>9.1f}{s['p50_ms']:>9.1f}"
                f"{s['p99_ms']:>10.1f}{s['cpu_ms_per_update']:>11.2f}{'-':>10}{'-':>10}"
                f"{s['driver_cpu_ms_per_update']:>8.2f}{s['failures']:>7.0f}"
            )
        out.append("")
        flow = self.results.get("flow")
        if flow is not None:
            s = flow.summary()
            out += [
                f"updates_per_s: {s['updates_per_s']:.1f}",
                f"p50_ms: {s['p50_ms']:.1f}",
                f"p99_ms: {s['p99_ms']:.1f}",
                f"cpu_ms_per_update: {s['cpu_ms_per_update']:.2f}",
                f"redis_commands_per_update: {s['redis_cmds_per_update']:.1f}",
                f"redis_round_trips_per_update: {s['redis_trips_per_update']:.1f} (background loops included)",
            ]
        for name, phase in self.results.items():
            if phase.offered is not None:
                out.append(
                    f"{name}: {phase.rate:.1f} updates/s done, p50 {phase.p(50):.1f} ms, "
                    f"p99 {phase.p(99):.1f} ms"
                )
        if "hol_without" in self.results and "hol_with_slow_user" in self.results:
            out += [
                f"others_p99_ms_without_slow_user: {self.results['hol_without'].p(99):.1f}",
                f"others_p99_ms_with_slow_user: {self.results['hol_with_slow_user'].p(99):.1f} "
                f"(one user's every call takes {o.slow_seconds:g} s)",
            ]
        total = sum(len(p.latencies) for p in self.results.values()) + self.opts.warmup * STEPS_PER_FLOW
        if self.calls and total:
            calls = ", ".join(f"{m} {n / total:.2f}" for m, n in self.calls.most_common())
            out.append(f"bot_api_calls_per_update: {sum(self.calls.values()) / total:.2f} ({calls})")
            out.append(f"getupdates_per_update: {self.getupdates / total:.3f}")
        if self.redis_by_command and total:
            ranked = sorted(self.redis_by_command.items(), key=lambda item: -item[1])
            commands = ", ".join(f"{c} {n / total:.2f}" for c, n in ranked[:12] if c != "info")
            out.append(f"redis_commands_by_kind_per_update: {commands}")
        for who, mb in self.rss.items():
            out.append(f"rss_mb_{who}: {mb:.0f}")
        peer = self.peer_results.get("flow")
        if flow is not None and peer is not None and peer.rate and flow.rate:
            fs, ps = flow.summary(), peer.summary()
            out += [
                f"peer_updates_per_s: {ps['updates_per_s']:.1f}",
                f"ratio_updates_per_s: {fs['updates_per_s'] / ps['updates_per_s']:.2f} (bot / echo peer)",
                f"ratio_p50: {fs['p50_ms'] / max(ps['p50_ms'], 1e-9):.2f}",
                f"ratio_p99: {fs['p99_ms'] / max(ps['p99_ms'], 1e-9):.2f}",
                f"ratio_cpu_per_update: {fs['cpu_ms_per_update'] / max(ps['cpu_ms_per_update'], 1e-9):.2f}",
            ]
        if self.profile_lines:
            out += ["", "where the bot's time went (py-spy, whole run):", *self.profile_lines]
        failures = sum(p.failures for p in [*self.results.values(), *self.peer_results.values()])
        out.append(f"failures: {failures}")
        return "\n".join(out)


def _line(name: str, phase: Phase) -> str:
    s = phase.summary()
    return (
        f"  {name}: {s['updates_per_s']:.1f} upd/s, p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, "
        f"{s['cpu_ms_per_update']:.2f} ms CPU/upd, {s['redis_cmds_per_update']:.1f} Redis cmds/upd, "
        f"{s['redis_trips_per_update']:.1f} round trips/upd"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``bench`` subcommand's options."""
    parser.add_argument(
        "--citizens", type=int, default=200, help="citizens at once, closed loop (default 200)"
    )
    parser.add_argument(
        "--api-delay-ms",
        type=float,
        default=0.0,
        help="latency of every Bot API call but getUpdates (default 0)",
    )
    parser.add_argument(
        "--offered-rate",
        type=float,
        action="append",
        default=[],
        metavar="UPD_PER_S",
        help="also an open-loop phase offering this many updates/s (repeatable)",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds of arrivals per open-loop phase (default 10)"
    )
    parser.add_argument(
        "--hol-citizens", type=int, default=50, help="citizens in each head-of-line phase (default 50)"
    )
    parser.add_argument(
        "--slow-seconds", type=float, default=2.0, help="the slow user's delay per call (default 2)"
    )
    parser.add_argument("--warmup", type=int, default=10, help="citizens before measuring (default 10)")
    parser.add_argument(
        "--step-timeout", type=float, default=STEP_TIMEOUT, help="seconds one step may take (default 120)"
    )
    parser.add_argument("--py-spy", action="store_true", help="run the bot under py-spy; print top functions")
    parser.add_argument("--no-peer", action="store_true", help="skip the bare echo bot")
    parser.add_argument("--no-hol", action="store_true", help="skip the head-of-line phases")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="bot processes: 1 of the default role (it polls) plus N-1 of --role worker (default 1)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the bot process (repeatable), e.g. --env MAX_CONCURRENT_UPDATES=64",
    )


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark and print its figures."""
    extra = dict(item.split("=", 1) for item in args.env)
    opts = Options(
        citizens=args.citizens,
        api_delay_ms=args.api_delay_ms,
        hol_citizens=args.hol_citizens,
        slow_seconds=args.slow_seconds,
        offered_rate=args.offered_rate,
        duration=args.duration,
        peer=not args.no_peer,
        hol=not args.no_hol,
        warmup=args.warmup,
        step_timeout=args.step_timeout,
        profile=args.py_spy,
        workers=max(1, args.workers),
        extra_env=extra,
    )
    with tempfile.TemporaryDirectory(prefix="tiengdan-bench-") as tmp:
        bench = Bench(opts, Path(tmp))
        try:
            asyncio.run(bench.run())
        except RuntimeError as exc:
            print(f"tiengdan bench: {exc}", file=sys.stderr)
            for log in Path(tmp).glob("*.log"):
                sys.stderr.write(log.read_text(errors="replace")[-3000:])
            return 1
        print(bench.report())
    return 0
