"""What the chaos tests share: the bot as a process that can be SIGKILLed and restarted, scripted
citizens that go through the whole intake once — never repeating an action, so a lost prompt fails
the test — and the checks that every petition's receipt and case card arrived.

A step of a citizen is: act once (a message, a tap), then wait for the answer that lets them go on
(a prompt, a button) among the bot's messages sent or edited *after* the action. Whatever happens to
the bot meanwhile (killed, restarted, Telegram failing, Redis gone), the citizen does not act again.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis

from bot.domain.directory import Directory
from bot.domain.officials_directory import import_directory
from bot.i18n import Gettext, Translator
from emulator import BotApiEmulator, EmulatedUser, SentMessage
from handlers.citizen.views import SHARE_PHONE, STAY_ANONYMOUS, step_header, submitted_text
from storage.keys import Keys
from storage.models import Petition, Step
from storage.officials import OfficialRepository
from storage.outbox import OutboxRepository
from tests.conftest import client_for
from tests.e2e.conftest import TOKEN
from tests.e2e.flows import this_year

ROOT = Path(__file__).resolve().parents[2]
ADMIN = 9900  # ADMIN_IDS of the bot process
JOINED = {"ts-cb": 9001, "ts-ct": 9002, "hht-cb": 9004}  # joined the bot (Thạch Hà's th-cb has not)
PLACES = (  # what a citizen types, the button they pick, who gets the case
    ("Thành Sen", "Phường Thành Sen"),
    ("Hà Huy Tập", "Phường Hà Huy Tập"),
    ("Thạch Hà", "Xã Thạch Hà"),  # its officer never joined: the card goes to the admins
)
STEP_TIMEOUT = float(os.environ.get("CHAOS_STEP_TIMEOUT", "120"))  # a kill, a restart, an outage, the load
TICKET = re.compile(r"HT-\d{4}-\d{6}")


def plain(html_text: str) -> str:
    """What Telegram shows of an HTML text (the emulator stores it so)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


class BotProcess:
    """``python -m bot run`` against the emulator, which a test may SIGKILL and start again."""

    def __init__(
        self, emulator: BotApiEmulator, redis_url: str, key_prefix: str, log: Path, **env: str
    ) -> None:
        self.emulator = emulator
        self.redis_url = redis_url
        self.keys = Keys(key_prefix, "ht")
        self.log = log
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emulator.url,
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": key_prefix,
            "ADMIN_IDS": str(ADMIN),
            "LOG_LEVEL": os.environ.get("CHAOS_LOG_LEVEL", "WARNING"),
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0
        self.exit_codes: list[int] = []

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=self.env, stdout=out, stderr=out
            )

    async def kill(self, *, expire_leases: bool = True) -> None:
        """SIGKILL: no clean-up of any kind. ``expire_leases`` then does what the passing of time
        would (the poller's 10 s, the outbox's 15 s, the timers' lease), so the next start resumes at
        once; the leases themselves are tested where they are waited out."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1
        if expire_leases:
            await self.expire_leases()

    async def expire_leases(self) -> None:
        client = client_for(self.redis_url)
        try:
            await client.delete(self.keys.poller_lease())
            for key in (self.keys.outbox_inflight(), self.keys.timers_inflight()):
                held = await client.zrange(key, 0, -1)
                if held:
                    await client.zadd(key, dict.fromkeys(held, 0))
        finally:
            await client.aclose()

    async def stop(self) -> None:
        """SIGTERM and wait; records the exit code (a clean stop is 0)."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.process is not None and self.process.returncode is not None:
            self.exit_codes.append(self.process.returncode)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


async def install_directory(redis: aioredis.Redis, keys: Keys, emulator: BotApiEmulator) -> None:
    """The shipped officials directory, as the bot imports it at first start, with the officials of
    ``JOINED`` linked to Telegram users, and the admin's chat."""
    directory = Directory.default()
    await import_directory(redis, keys, Directory.default_path().parent / "officials.yaml", directory)
    repo = OfficialRepository(redis, keys)
    for official_id, telegram_id in JOINED.items():
        official = await repo.get(official_id)
        assert official is not None, official_id
        await repo.save(official.model_copy(update={"telegram_id": telegram_id}))
        emulator.add_user(user_id=telegram_id, first_name=official_id, language_code="vi", started=True)
    emulator.add_user(user_id=ADMIN, first_name="Admin", language_code="vi", started=True)


class LostPrompt(AssertionError):
    """A citizen waited in vain for what would let them go on."""


@dataclass
class ChaosCitizen:
    """One citizen going through consent and the whole intake exactly once."""

    emulator: BotApiEmulator
    user: EmulatedUser
    number: int
    _: Gettext
    place: tuple[str, str]
    anonymous: bool
    steps: int = 0
    ticket: str | None = None
    history: list[str] = field(default_factory=list)
    acted_at: list[float] = field(default_factory=list)  # time.monotonic() of each action

    STEPS = 12  # actions of a full flow (progress counts them)

    @property
    def chat(self) -> int:
        return self.user.id

    @property
    def description(self) -> str:
        return f"Đèn đường số {self.number} ở tổ dân phố {self.number % 9 + 1} bị hỏng đã hai tuần nay."

    def _new_messages(self, since: int) -> list[SentMessage]:
        return [m for m in self.emulator.changes_since(self.chat, since) if m.from_bot and not m.deleted]

    async def _step(
        self, name: str, act: Callable[[], object], found: Callable[[list[SentMessage]], object]
    ) -> object:
        """Act once, then wait until ``found(new bot messages)`` returns something."""
        since = self.emulator.current_seq
        act()
        self.history.append(name)
        self.acted_at.append(time.monotonic())
        result: list[object] = []

        def check() -> bool:
            value = found(self._new_messages(since))
            if value is None or value is False:
                return False
            result.append(value)
            return True

        try:
            await self.emulator.wait_for(check, STEP_TIMEOUT)
        except TimeoutError:
            shown = "\n".join(f"  {m}" for m in self.emulator.bot_messages(self.chat)[-6:])
            raise LostPrompt(
                f"citizen {self.number} ({self.user.id}) got no answer to {name!r} within {STEP_TIMEOUT}s "
                f"(steps: {self.history}); last bot messages:\n{shown}"
            ) from None
        self.steps += 1
        return result[0]

    @staticmethod
    def _button(label: str, *, prefix: bool = False) -> Callable[[list[SentMessage]], object]:
        def find(messages: list[SentMessage]) -> object:
            for msg in reversed(messages):
                for button in msg.iter_buttons():
                    hit = button.text.startswith(label) if prefix else label in button.text
                    if hit and button.callback_data:
                        return msg, button.callback_data
            return None

        return find

    @staticmethod
    def _ticked_form(label: str) -> Callable[[list[SentMessage]], object]:
        """The consent form showing a tick: its ``label`` button (Continue)."""

        def find(messages: list[SentMessage]) -> object:
            for msg in reversed(messages):
                buttons = list(msg.iter_buttons())
                if any(b.text.startswith("☑️") for b in buttons):
                    data = next((b.callback_data for b in buttons if b.text == label), None)
                    if data:
                        return msg, data
            return None

        return find

    @staticmethod
    def _text(substring: str) -> Callable[[list[SentMessage]], object]:
        return lambda messages: next((m for m in messages if m.text and substring in m.text), None)

    def _keyboard(self, label: str) -> Callable[[list[SentMessage]], object]:
        def find(messages: list[SentMessage]) -> object:
            for msg in reversed(messages):
                rows = msg.reply_keyboard or []
                if any(label in str(b.get("text", "")) for row in rows for b in row):
                    return msg
            return None

        return find

    def _press(self, target: object) -> Callable[[], object]:
        msg, data = target  # type: ignore[misc]
        return lambda: self.emulator.user_presses(self.user, msg, data)

    def _say(self, text: str) -> Callable[[], object]:
        return lambda: self.emulator.user_sends_text(self.user, text)

    async def run(self) -> None:
        """The whole flow; raises LostPrompt at the first answer that never came."""
        _ = self._
        step = self._step
        target = await step("/start", self._say("/start"), self._button(_("Handle my petitions")))
        form = await step("tick petitions", self._press(target), self._ticked_form(_("✅ Continue")))
        await step("continue", self._press(form), self._text(_("✅ Thank you. Your choices are saved.")))
        await step("/new", self._say("/new"), self._text(step_header(_, Step.LOCALITY)))
        target = await step("type the place", self._say(self.place[0]), self._button(self.place[1]))
        target = await step(
            "pick the place", self._press(target), self._button("Đất đai" if _.lang == "vi" else "Land")
        )
        target = await step("pick the topic", self._press(target), self._button(_("Report a problem")))
        await step("pick the kind", self._press(target), self._text(step_header(_, Step.DESCRIPTION)))
        skip, different = _("⏭ Skip — no attachments"), _("➡️ No, mine is different: continue")

        def attachments_or_offer(messages: list[SentMessage]) -> object:
            # Similar open petitions ("me too") may be offered first: these citizens file their own.
            return self._button(skip)(messages) or self._button(different)(messages)

        target = await step("describe", self._say(self.description), attachments_or_offer)
        offer, data = target  # type: ignore[misc]
        if any(b.callback_data == data and b.text == different for b in offer.iter_buttons()):
            target = await step("mine is different", self._press(target), self._button(skip))
        label = _(STAY_ANONYMOUS) if self.anonymous else _(SHARE_PHONE)
        await step("no attachments", self._press(target), self._keyboard(label))
        if self.anonymous:
            contact = self._say(label)
        else:
            contact = lambda: self.emulator.user_sends_contact(self.user, f"+8491{self.user.id:07d}")  # noqa: E731
        target = await step("contact", contact, self._button(_("✅ Send")))
        receipt_start = plain(submitted_text(_, "HT-0000-000000", None)).split("\n")[0]

        def receipt(messages: list[SentMessage]) -> object:
            for msg in messages:
                if msg.text and msg.text.startswith(receipt_start) and TICKET.search(msg.text):
                    return msg
            return None

        found = await step("send", self._press(target), receipt)
        assert isinstance(found, SentMessage) and found.text
        match = TICKET.search(found.text)
        assert match is not None
        self.ticket = match.group(0)

    def receipts(self) -> list[SentMessage]:
        """The receipts in the chat (at least once: more than one is the documented duplicate)."""
        assert self.ticket is not None
        receipt_start = plain(submitted_text(self._, self.ticket, None)).split("\n")[0]
        return [
            m
            for m in self.emulator.bot_messages(self.chat)
            if m.text and m.text.startswith(receipt_start) and self.ticket in m.text
        ]


def make_citizens(emulator: BotApiEmulator, count: int, first_id: int) -> list[ChaosCitizen]:
    """``count`` citizens, Vietnamese and English, spread over the places, some anonymous."""
    translator = Translator()
    citizens = []
    for n in range(count):
        lang = "vi" if n % 4 else "en"
        user = emulator.add_user(user_id=first_id + n, first_name=f"Dân{n}", language_code=lang)
        citizens.append(
            ChaosCitizen(
                emulator,
                user,
                n,
                translator(lang),
                PLACES[n % len(PLACES)],
                anonymous=n % 3 == 0,
            )
        )
    return citizens


async def run_all(citizens: list[ChaosCitizen], chaos: Awaitable[object]) -> None:
    """Every citizen's flow and the chaos together; the first lost prompt fails at once."""
    flows = [asyncio.ensure_future(c.run()) for c in citizens]
    chaos_task = asyncio.ensure_future(chaos)
    try:
        await asyncio.gather(*flows)
        await chaos_task
    finally:
        for task in [*flows, chaos_task]:
            task.cancel()
        await asyncio.gather(*flows, chaos_task, return_exceptions=True)


async def wait_until_delivered(redis: aioredis.Redis, keys: Keys, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Until the outbox is empty and no fetched update waits (the bot process works meanwhile)."""
    outbox = OutboxRepository(redis, keys)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pending = await outbox.pending()
        updates = await redis.hlen(keys.pending_updates())
        if not pending and not updates:
            return
        if loop.time() > deadline:
            raise AssertionError(
                f"not delivered within {timeout}s: {len(pending)} outbox entries "
                f"({[(e.kind, e.lane, e.attempts) for e in pending[:10]]}), {updates} updates pending"
            )
        await asyncio.sleep(0.2)


@dataclass
class DeliveryReport:
    """What the checks found, for the test's own assertions and its output."""

    petitions: int = 0
    cards_to_officials: int = 0
    cards_to_admins: int = 0
    duplicate_receipts: int = 0
    duplicate_cards: int = 0


async def check_every_petition_delivered(
    emulator: BotApiEmulator, redis: aioredis.Redis, keys: Keys, citizens: list[ChaosCitizen]
) -> DeliveryReport:
    """One petition per citizen, with its receipt in the citizen's chat and its case card in its
    official's chat, or in the admin's when the official cannot receive it."""
    report = DeliveryReport()
    tickets = await redis.zrange(keys.petitions_by_time(), 0, -1)
    assert len(tickets) == len(citizens), (len(tickets), len(citizens))
    assert await redis.get(keys.petition_counter(this_year())) == str(len(citizens))
    by_ticket = {c.ticket: c for c in citizens}
    assert set(by_ticket) == set(tickets), set(tickets) ^ set(by_ticket)
    report.petitions = len(tickets)
    for citizen in citizens:
        assert await redis.zcard(keys.petitions_by_citizen(f"tg:{citizen.user.id}")) == 1, citizen.number
        receipts = citizen.receipts()
        assert receipts, f"citizen {citizen.number} has no receipt for {citizen.ticket}"
        report.duplicate_receipts += len(receipts) - 1
    repo = OfficialRepository(redis, keys)
    for ticket in tickets:
        raw = await redis.get(keys.petition(ticket))
        assert raw is not None, ticket
        petition = Petition.model_validate_json(raw)
        citizen = by_ticket[ticket]
        assert petition.description == citizen.description
        official = await repo.get(petition.assignee_id or "")

        def cards(chat: int, ticket: str = ticket, description: str = petition.description) -> int:
            return sum(
                1
                for m in emulator.bot_messages(chat)
                if m.text and ticket in m.text and description in m.text
            )

        if official is not None and official.telegram_id is not None:
            found = cards(official.telegram_id)
            assert found, f"the case card of {ticket} did not reach {official.id}"
            report.cards_to_officials += 1
        else:
            found = cards(ADMIN)
            assert found, f"the case card of {ticket} (for {petition.assignee_id}) did not reach the admins"
            report.cards_to_admins += 1
        report.duplicate_cards += found - 1
    return report


def tolerated(rejection_method: str, description: str) -> bool:
    """Rejections a replayed update may cause, and that change nothing: answering a button's query
    again, closing a keyboard already closed."""
    if rejection_method == "answerCallbackQuery":
        return "query is too old" in description
    return rejection_method.startswith("editMessage") and "message is not modified" in description
