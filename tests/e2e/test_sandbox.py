"""The sandbox without a browser: its HTTP API and live events drive the real bot through a whole petition;
reset starts over; ``python -m bot sandbox`` stops cleanly on Ctrl-C. Also the emulator's listener hook."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.cli import build_parser
from bot.i18n import Translator
from emulator import BotApiEmulator, EmulatorEvent
from sandbox import Sandbox
from sandbox.personas import ADMIN, CITIZEN, OFFICIAL
from storage.keys import Keys

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TICKET = re.compile(r"HT-\d{4}-\d{6}")


# -- the emulator's listener hook -----------------------------------------------------------------


async def test_emulator_tells_listeners_about_messages_edits_deletions_and_rejections() -> None:
    emu = BotApiEmulator()
    seen: list[EmulatorEvent] = []
    texts: list[str | None] = []  # messages change in place: what they said at the time of the event

    def listener(event: EmulatorEvent) -> None:
        seen.append(event)
        texts.append(event.message.text if event.message is not None else None)

    remove = emu.add_listener(listener)

    def broken(event: EmulatorEvent) -> None:
        raise RuntimeError("a failing listener never breaks the emulator")

    emu.add_listener(broken)
    user = emu.add_user(42, "Lan", started=True)
    emu.user_sends_text(user, "/start")
    sent = emu.api_sendmessage({"chat_id": 42, "text": "<b>Hi</b>", "parse_mode": "HTML"})
    emu.api_editmessagetext({"chat_id": 42, "message_id": sent["message_id"], "text": "Hello"})
    emu.api_deletemessage({"chat_id": 42, "message_id": sent["message_id"]})
    emu.record_rejection("sendMessage", {"chat_id": 42}, 400, "Bad Request: chat not found")
    assert [(e.kind, e.chat_id) for e in seen] == [
        ("message", 42),
        ("message", 42),
        ("edited", 42),
        ("deleted", 42),
        ("rejection", 42),
    ]
    assert texts == ["/start", "Hi", "Hello", "Hello", None]
    assert seen[3].message is not None and seen[3].message.deleted
    assert seen[4].rejection is not None and seen[4].rejection.time > 0
    remove()
    emu.user_sends_text(user, "/help")
    assert len(seen) == 5


# -- the sandbox over HTTP ------------------------------------------------------------------------


class Page:
    """What the page's script does, in Python: JSON calls and the event stream."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def state(self) -> dict[str, Any]:
        async with self.session.get(self.url + "api/state") as response:
            assert response.status == 200, await response.text()
            data: dict[str, Any] = await response.json()
            return data

    async def post(self, path: str, expect: int = 200, **body: Any) -> dict[str, Any]:
        async with self.session.post(self.url + "api/" + path, json=body) as response:
            data: dict[str, Any] = await response.json()
            assert response.status == expect, data
            return data

    async def chat(self, who: str) -> dict[str, Any]:
        chat: dict[str, Any] = next(c for c in (await self.state())["chats"] if c["who"] == who)
        return chat

    async def wait(self, who: str, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """Poll the state until a message of ``who``'s chat passes ``check``; returns that message."""
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            chat = await self.chat(who)
            for message in reversed(chat["messages"]):
                if check(message):
                    found: dict[str, Any] = message
                    return found
            await asyncio.sleep(0.05)
        texts = [m["text"][:80] for m in (await self.chat(who))["messages"][-4:]]
        raise AssertionError(f"{who}: no message {what} within 8 s; last: {texts}")

    async def sees(self, who: str, text: str) -> dict[str, Any]:
        return await self.wait(who, lambda m: m["from_bot"] and text in m["text"], f"containing {text!r}")

    async def tap(self, who: str, label: str) -> None:
        """Press the newest inline button whose label contains ``label``."""
        message = await self.wait(
            who,
            lambda m: any(label in b["text"] for row in m["inline_keyboard"] for b in row),
            f"with a button {label!r}",
        )
        button = next(b for row in message["inline_keyboard"] for b in row if label in b["text"])
        await self.post("press", who=who, message_id=message["id"], data=button["callback_data"])

    async def say(self, who: str, text: str) -> None:
        await self.post("send", who=who, text=text)


async def next_event(
    stream: aiohttp.StreamReader,
    wanted: str,
    check: Callable[[dict[str, Any]], bool] = lambda data: True,
) -> dict[str, Any]:
    """Read server-sent events until one named ``wanted`` (whose data passes ``check``); returns its data."""
    event = None
    async with asyncio.timeout(8):
        while True:
            line = (await stream.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == wanted:
                data: dict[str, Any] = json.loads(line[len("data: ") :])
                if check(data):
                    return data


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(port=0, data_dir=tmp_path / "data") as running:
        yield running


async def test_a_petition_through_the_api_live_events_and_reset(sandbox: Sandbox) -> None:
    _ = Translator()("vi")
    async with aiohttp.ClientSession() as session:
        page = Page(session, sandbox.url)
        async with session.get(sandbox.url) as response:
            assert response.status == 200 and "Tiếng Dân" in await response.text()
        async with session.get(sandbox.url + "static/app.js") as response:
            assert response.status == 200 and "EventSource" in await response.text()

        state = await page.state()
        assert [c["who"] for c in state["chats"]] == ["citizen", "official", "admin"]
        assert [c["id"] for c in state["chats"]] == [
            CITIZEN.telegram_id,
            OFFICIAL.telegram_id,
            ADMIN.telegram_id,
        ]
        assert state["chats"][0]["messages"] == [] and "/start" in state["chats"][0]["hint"]
        assert [c["title"] for c in state["chats"]][::2] == ["Người dân", "Quản trị viên"]  # Vietnamese first
        assert "Gửi /start" in state["chats"][0]["hint"]
        await page.sees("official", _("📥 No open cases. Well done!"))  # seeded: the official is linked
        official_commands = [c["command"] for c in (await page.chat("official"))["commands"]]
        admin_commands = [c["command"] for c in (await page.chat("admin"))["commands"]]
        assert (
            "inbox" in official_commands and "invite" not in official_commands and "invite" in admin_commands
        )

        events = await session.get(sandbox.url + "api/events")
        assert events.headers["Content-Type"].startswith("text/event-stream")
        assert (await next_event(events.content, "hello"))["generation"] == 0

        # The citizen: consent and a petition with a photo and their phone number.
        await page.say("citizen", "/start")
        live = await next_event(events.content, "message")
        assert live["who"] == "citizen" and live["message"]["text"] == "/start"
        assert live["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
        await page.tap("citizen", _("Handle my petitions"))
        await page.wait(
            "citizen", lambda m: any("☑️" in b["text"] for r in m["inline_keyboard"] for b in r), "ticked"
        )
        edited = await next_event(events.content, "edited")
        assert edited["who"] == "citizen" and edited["message"]["edited"] is True
        await page.tap("citizen", _("✅ Continue"))
        await page.sees("citizen", _("✅ Thank you. Your choices are saved."))
        keyboard = (await page.chat("citizen"))["keyboard"]
        assert keyboard is not None and _("📝 New petition") in [b["text"] for b in keyboard["rows"][0]]
        await page.say("citizen", _("📝 New petition"))
        # The example the bot gives in step 1 leads to the official on this page.
        prompt = await page.sees(
            "citizen", _("Step {n} of {total} · {title}").format(n=1, total=6, title=_("Place"))
        )
        example = re.search(r"“([^”]+)”", prompt["text"])
        assert example is not None
        await page.say("citizen", example.group(1))
        await page.tap("citizen", "Phường Thành Sen")
        await page.tap("citizen", "Đất đai")
        await page.tap("citizen", _("Report a problem"))
        await page.say("citizen", "Hàng rào lấn chiếm lối đi chung của tổ dân phố 3 từ tháng trước.")
        await page.sees("citizen", _("Photos and files"))
        await page.post("photo", who="citizen", caption="Lối đi bị chắn")
        photo = await page.wait("citizen", lambda m: "photo" in m, "with a photo")
        assert photo["text"] == "Lối đi bị chắn" and photo["photo"]["width"] == 480
        async with session.get(sandbox.url + photo["photo"]["url"].lstrip("/")) as response:
            assert response.status == 200 and (await response.read()).startswith(b"\x89PNG")
        await page.tap("citizen", _("✅ Done ({count} attached)").format(count=1))
        await page.sees("citizen", _("Contact"))
        keyboard = (await page.chat("citizen"))["keyboard"]
        assert keyboard is not None and any(b["request_contact"] for row in keyboard["rows"] for b in row)
        await page.post("contact", who="citizen")
        await page.sees("citizen", _("Please check your petition"))
        await page.tap("citizen", _("✅ Send"))
        toast = await next_event(events.content, "toast", lambda data: data["who"] == "citizen")
        assert toast["text"] and toast["alert"] is False  # answerCallbackQuery, shown as Telegram's toast
        receipt = await page.wait(
            "citizen", lambda m: m["from_bot"] and bool(TICKET.search(m["text"])), "a ticket"
        )
        ticket = TICKET.search(receipt["text"]).group(0)  # type: ignore[union-attr]
        assert any(e["type"] == "bold" for e in receipt["entities"])

        # The official: the card (and the photo), accept, resolve with a saved answer.
        card = await page.sees("official", ticket)
        assert "Hoa Lê" in card["text"] and CITIZEN.phone in card["text"]
        await page.wait("official", lambda m: "photo" in m, "with the photo re-sent")
        await page.tap("official", _("✅ Accept"))
        await page.sees("citizen", ticket)
        await page.tap("official", _("✔️ Resolve"))
        await page.sees("official", _("Or pick a saved answer:"))
        await page.tap("official", "2")
        answer = await page.sees("citizen", "Nội dung phản ánh đã được xử lý xong")
        assert ticket in answer["text"] and any(e["type"] == "blockquote" for e in answer["entities"])

        # A language switch: /language, then the English button; the bot answers in English.
        await page.post("language", who="citizen", lang="en")
        await page.sees("citizen", Translator()("en")("What would you like to do?"))
        assert (await page.chat("citizen"))["language"] == "en"
        english = await page.chat("citizen")
        assert english["title"] == "Citizen" and english["hint"].startswith("Send /start")
        assert (await page.chat("official"))["title"] == "Cán bộ — Phường Thành Sen"  # each chat its own
        assert (await next_event(events.content, "language")) == {"who": "citizen", "language": "en"}

        # What no Telegram client can do is refused; the bot itself made no rejected call.
        await page.post("send", expect=400, who="nobody", text="hi")
        await page.post("send", expect=400, who="citizen", text="   ")
        await page.post("press", expect=409, who="citizen", message_id=receipt["id"], data="forged")
        assert state["rejections"] == [] and (await page.state())["rejections"] == []
        assert not sandbox.emulator.rejections

        # No update failed: nobody was told "not saved" or "something went wrong" (on Redis 6.2 too).
        failures = [
            text
            for tr in (Translator()("vi"), Translator()("en"))
            for text in (
                tr(
                    "⚠️ The service is having trouble saving data right now, so your last message was not "
                    "saved. Please send it again in a few minutes. Everything you sent before is safe."
                ),
                tr(
                    "⚠️ Sorry, something went wrong on our side. Your answers so far are saved; please try "
                    "again, or send /cancel to start over."
                ),
            )
        ]
        assert failures[0] != failures[2] and "⚠️" in failures[0]
        for chat in (await page.state())["chats"]:
            said = [m["text"] for m in chat["messages"] if m["from_bot"]]
            assert not [text for text in said if text in failures], chat["who"]

        # Reset: empty chats, no petition left in Redis, the staff linked again, the page told.
        await page.post("reset")
        assert (await next_event(events.content, "reset"))["generation"] == 1
        state = await page.state()
        assert state["generation"] == 1
        assert state["chats"][0]["messages"] == [] and state["chats"][0]["language"] == "vi"
        assert [key async for key in sandbox.redis.scan_iter(match="sandbox:*petition*")] == []
        await page.sees("official", _("📥 No open cases. Well done!"))  # linked again: the staff's /inbox
        events.close()


async def test_stop_removes_the_temporary_data() -> None:
    sandbox = Sandbox(port=0)
    await sandbox.start()
    data_dir = sandbox.data_dir
    assert (data_dir / "redis").is_dir()
    await sandbox.stop()
    assert not data_dir.exists()


async def test_data_kept_with_data_dir_serves_the_next_run(tmp_path: Path) -> None:
    keys = Keys("sandbox", "ht")
    for run in (1, 2):  # each run has a new emulator whose update ids start at 1 again
        async with Sandbox(port=0, data_dir=tmp_path / "data") as sandbox:
            emu = sandbox.emulator
            emu.user_sends_text(emu.users[CITIZEN.telegram_id], "/start")
            await emu.wait_for_bot_message(CITIZEN.telegram_id, timeout=8)
            stored = await sandbox.redis.get(keys.official("ts-cb"))
            assert stored is not None and json.loads(stored)["telegram_id"] == OFFICIAL.telegram_id
            if run == 1:
                await sandbox.redis.set(f"{keys.root}:kept", "from run 1")
            else:
                assert await sandbox.redis.get(f"{keys.root}:kept") == "from run 1"
    assert any((tmp_path / "data" / "redis").glob("appendonly*"))  # --data: Redis persists


def test_the_cli_has_a_sandbox_command() -> None:
    args = build_parser().parse_args(["sandbox", "--port", "9000", "--host", "127.0.0.1", "--data", "d"])
    assert (args.command, args.port, args.host, args.data) == ("sandbox", 9000, "127.0.0.1", "d")
    assert build_parser().parse_args(["sandbox"]).port == 8080


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_python_m_bot_sandbox_serves_the_page_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    # REDIS_SERVER_BINARY passes: ./dev test runs this once on Redis 6.2
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "REDIS_")) or k == "REDIS_SERVER_BINARY"
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--port",
        str(port),
        "--data",
        str(tmp_path / "data"),
        cwd=tmp_path,  # no .env of the project is read
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = ""
    try:
        async with asyncio.timeout(20):
            while f"http://127.0.0.1:{port}/" not in output:
                line = await process.stdout.readline()
                assert line, f"the sandbox exited early:\n{output}"
                output += line.decode()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/api/state") as response,
        ):
            assert response.status == 200
            assert len((await response.json())["chats"]) == 3
        pid_file = tmp_path / "data" / "redis" / "redis.pid"
        redis_pid = int(pid_file.read_text())
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            rest, _ = await process.communicate()
        assert process.returncode == 0, output + rest.decode()
        assert "Traceback" not in output + rest.decode()
        assert not pid_file.exists()
        with pytest.raises(ProcessLookupError):
            os.kill(redis_pid, 0)  # the embedded redis-server was stopped
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
