"""The sandbox's web page and its JSON/SSE API (aiohttp).

Routes (``who`` is ``citizen``, ``official`` or ``admin``):

- ``GET /`` the page; ``GET /static/...`` its script and style sheet;
- ``GET /api/state`` every chat (messages, reply keyboard, commands, language) and the rejected calls;
- ``GET /api/events`` server-sent events: ``hello`` on connect, ``message``, ``edited``, ``deleted``,
  ``toast`` (a callback answer), ``rejection``, ``language`` and ``reset``;
- ``POST /api/send`` ``{who, text, reply_to?}``, ``/api/press`` ``{who, message_id, data}``,
  ``/api/photo`` ``{who, caption?}``, ``/api/document`` ``{who}``, ``/api/location`` ``{who}``,
  ``/api/contact`` ``{who}``, ``/api/language`` ``{who, lang}``, ``/api/reset``;
- ``GET /api/file/<path>`` a file's bytes (what the Bot API's file route serves).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator import BotApiEmulator, EmulatorEvent, Rejection, SentMessage

from .media import DEMO_LOCATION, demo_pdf, demo_photo
from .personas import BY_KEY, BY_TELEGRAM_ID, PERSONAS, Persona

if TYPE_CHECKING:
    from .runner import Sandbox

STATIC = Path(__file__).with_name("static")
MAX_TEXT = 4096
LANGUAGES = ("vi", "en")
_MEDIA_KINDS = ("document", "voice", "audio", "video", "animation", "video_note", "sticker")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiProblem(Exception):
    """A request the page should not have made: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- serialisation --------------------------------------------------------------------------------


def _file_url(emu: BotApiEmulator, file_id: str | None) -> str | None:
    stored = emu.files.get(file_id or "")
    return f"/api/file/{stored.file_path}" if stored is not None else None


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def message_json(emu: BotApiEmulator, msg: SentMessage) -> dict[str, Any]:
    """What the page needs to draw one message: parsed text and entities (never raw HTML), media, buttons."""
    raw = msg.raw
    data: dict[str, Any] = {
        "id": msg.message_id,
        "seq": msg.seq,
        "from_bot": msg.from_bot,
        "date": msg.date,
        "kind": msg.kind,
        "text": msg.text or "",
        "entities": msg.entities,
        "edited": msg.edited,
        "inline_keyboard": [
            [
                {k: button[k] for k in ("text", "callback_data", "url") if k in button}
                | ({"other": True} if not ({"callback_data", "url"} & button.keys()) else {})
                for button in row
            ]
            for row in msg.inline_keyboard
        ],
    }
    reply = raw.get("reply_to_message")
    if isinstance(reply, dict):
        quoted = reply.get("text") or reply.get("caption") or ""
        if not quoted:
            kind = next((k for k in ("photo", "location", "contact", *_MEDIA_KINDS) if k in reply), "message")
            quoted = kind.replace("_", " ").capitalize()
        data["reply_to"] = {
            "id": reply.get("message_id"),
            "text": quoted[:160],
            "from_bot": bool(reply.get("from", {}).get("is_bot")),
        }
    origin = raw.get("forward_origin")
    if isinstance(origin, dict):
        sender = origin.get("sender_user") or {}
        data["forwarded_from"] = origin.get("sender_user_name") or " ".join(
            filter(None, (sender.get("first_name"), sender.get("last_name")))
        )
    if raw.get("photo"):
        biggest = raw["photo"][-1]
        data["photo"] = {
            "url": _file_url(emu, biggest.get("file_id")),
            "width": biggest.get("width"),
            "height": biggest.get("height"),
        }
    for kind in _MEDIA_KINDS:
        media = raw.get(kind)
        if isinstance(media, dict):
            data["file"] = {
                "kind": kind,
                "url": _file_url(emu, media.get("file_id")),
                "name": media.get("file_name"),
                "size": media.get("file_size"),
                "mime_type": media.get("mime_type"),
                "duration": media.get("duration"),
                "emoji": media.get("emoji"),
            }
    if isinstance(raw.get("location"), dict):
        data["location"] = {k: raw["location"].get(k) for k in ("latitude", "longitude")}
    if isinstance(raw.get("contact"), dict):
        data["contact"] = {
            k: raw["contact"].get(k)
            for k in ("phone_number", "first_name", "last_name")
            if k in raw["contact"]
        }
    return data


def keyboard_json(emu: BotApiEmulator, chat_id: int) -> dict[str, Any] | None:
    """The reply keyboard currently shown under a chat's input field."""
    chat = emu.chats.get(chat_id)
    markup = chat.reply_keyboard if chat is not None else None
    if not markup:
        return None
    rows = emu.reply_keyboard(chat_id) or []
    return {
        "rows": [
            [
                {
                    "text": str(b.get("text", "")),
                    "request_contact": bool(b.get("request_contact")),
                    "request_location": bool(b.get("request_location")),
                }
                for b in row
            ]
            for row in rows
        ],
        "one_time": bool(markup.get("one_time_keyboard")),
        "placeholder": markup.get("input_field_placeholder"),
    }


def commands_json(emu: BotApiEmulator, persona: Persona, language: str | None) -> list[dict[str, str]]:
    """The ``/`` menu Telegram would show this person: the most specific scope and language set."""
    lang = language or ""
    for scope, chat_id in (("chat", persona.telegram_id), ("all_private_chats", None), ("default", None)):
        for code in dict.fromkeys((lang, "")):
            found = emu.commands(scope, code, chat_id=chat_id)
            if found:
                return found
    return []


def rejection_json(rejection: Rejection) -> dict[str, Any]:
    """A rejected Bot API call for the page's panel."""
    return {
        "method": rejection.method,
        "error_code": rejection.error_code,
        "description": rejection.description,
        "params": _json_safe(rejection.params),
        "time": rejection.time,
    }


def persona_json(emu: BotApiEmulator, persona: Persona) -> dict[str, Any]:
    """One chat of the page."""
    user = emu.users.get(persona.telegram_id)
    language = user.language_code if user is not None else persona.language
    return {
        "who": persona.key,
        "id": persona.telegram_id,
        "title": persona.title(language),
        "name": persona.full_name,
        "phone": persona.phone,
        "official_id": persona.official_id,
        "hint": persona.hint(language),
        "language": language,
        "messages": [message_json(emu, m) for m in emu.messages(persona.telegram_id)],
        "keyboard": keyboard_json(emu, persona.telegram_id),
        "commands": commands_json(emu, persona, language),
    }


def state_json(sandbox: Sandbox) -> dict[str, Any]:
    """Everything the page shows."""
    emu = sandbox.emulator
    return {
        "generation": sandbox.generation,
        "seq": emu.current_seq,
        "bot": {"username": emu.bot_user.username, "name": emu.bot_user.first_name},
        "chats": [persona_json(emu, p) for p in PERSONAS],
        "rejections": [rejection_json(r) for r in emu.rejections],
    }


# -- live updates ---------------------------------------------------------------------------------


def sse_frame(event: str, data: Any) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class Hub:
    """Fans events out to every open ``/api/events`` stream."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str | None]] = set()

    def subscribe(self) -> asyncio.Queue[str | None]:
        """A new stream's queue (``None`` means: the server is stopping)."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        """Forget a closed stream."""
        self._queues.discard(queue)

    @property
    def listeners(self) -> int:
        """How many streams are open."""
        return len(self._queues)

    def publish(self, event: str, data: Any) -> None:
        """Send ``event`` to every stream."""
        frame = sse_frame(event, data)
        for queue in self._queues:
            queue.put_nowait(frame)

    def close(self) -> None:
        """End every stream."""
        for queue in self._queues:
            queue.put_nowait(None)


def emulator_listener(emu: BotApiEmulator, hub: Hub) -> Callable[[EmulatorEvent], None]:
    """Turn the emulator's events about the three chats into page events."""

    def on_event(event: EmulatorEvent) -> None:
        persona = BY_TELEGRAM_ID.get(event.chat_id or 0)
        if event.kind == "rejection" and event.rejection is not None:
            hub.publish("rejection", rejection_json(event.rejection))
            return
        if persona is None:
            return
        if event.kind in ("message", "edited") and event.message is not None:
            hub.publish(
                event.kind,
                {
                    "who": persona.key,
                    "message": message_json(emu, event.message),
                    "keyboard": keyboard_json(emu, persona.telegram_id),
                },
            )
        elif event.kind == "deleted" and event.message is not None:
            hub.publish("deleted", {"who": persona.key, "message_id": event.message.message_id})
        elif event.kind == "callback_answer" and event.data.get("text"):
            hub.publish(
                "toast",
                {"who": persona.key, "text": event.data["text"], "alert": bool(event.data.get("show_alert"))},
            )

    return on_event


# -- handlers -------------------------------------------------------------------------------------


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiProblem(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise ApiProblem(400, "the body must be a JSON object")
    return body


def _persona(body: dict[str, Any]) -> Persona:
    persona = BY_KEY.get(str(body.get("who")))
    if persona is None:
        raise ApiProblem(400, f"who must be one of {', '.join(BY_KEY)}")
    return persona


def _int(body: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiProblem(400, f"{name} must be an integer")
    return value


def _ok(**extra: Any) -> web.Response:
    return web.json_response({"ok": True, **extra}, dumps=lambda v: json.dumps(v, ensure_ascii=False))


class SandboxWeb:
    """The aiohttp application of one :class:`~sandbox.runner.Sandbox`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def make_app(self) -> web.Application:
        """Routes and the error middleware."""
        app = web.Application(middlewares=[self._errors])
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", STATIC, append_version=False)
        app.router.add_get("/api/state", self.state)
        app.router.add_get("/api/events", self.events)
        app.router.add_get("/api/file/{path:.+}", self.file)
        app.router.add_post("/api/send", self.send)
        app.router.add_post("/api/press", self.press)
        app.router.add_post("/api/photo", self.photo)
        app.router.add_post("/api/document", self.document)
        app.router.add_post("/api/location", self.location)
        app.router.add_post("/api/contact", self.contact)
        app.router.add_post("/api/language", self.language)
        app.router.add_post("/api/reset", self.reset)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.path.startswith("/api/") and request.method == "POST" and self.sandbox.busy:
                raise ApiProblem(503, "the sandbox is restarting, try again in a moment")
            return await handler(request)
        except ApiProblem as problem:
            return web.json_response({"ok": False, "error": problem.message}, status=problem.status)
        except (KeyError, ValueError) as exc:  # the emulator refuses what no Telegram client can do
            message = exc.args[0] if exc.args else str(exc)
            return web.json_response({"ok": False, "error": str(message)}, status=409)

    @property
    def emu(self) -> BotApiEmulator:
        """The current emulator (a new one after every reset)."""
        return self.sandbox.emulator

    def _user(self, persona: Persona) -> Any:
        user = self.emu.users.get(persona.telegram_id)
        if user is None:
            raise ApiProblem(503, "the sandbox is not ready")
        return user

    async def index(self, request: web.Request) -> web.StreamResponse:
        """The page."""
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def state(self, request: web.Request) -> web.Response:
        """Every chat."""
        if self.sandbox.busy:
            raise ApiProblem(503, "the sandbox is restarting")
        return web.json_response(state_json(self.sandbox), dumps=lambda v: json.dumps(v, ensure_ascii=False))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events until the page goes away or the server stops."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        hub = self.sandbox.hub
        queue = hub.subscribe()
        try:
            await response.write(b"retry: 1000\n\n")
            await response.write(sse_frame("hello", {"generation": self.sandbox.generation}).encode())
            while True:
                try:
                    frame = await asyncio.wait_for(queue.get(), 15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if frame is None:
                    break
                await response.write(frame.encode())
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            hub.unsubscribe(queue)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write_eof()
        return response

    async def file(self, request: web.Request) -> web.StreamResponse:
        """A stored file's bytes, as ``/file/bot<token>/<path>`` serves them to the bot."""
        stored = self.emu.files_by_path.get(request.match_info["path"])
        if stored is None:
            raise web.HTTPNotFound()
        mime = stored.mime_type or mimetypes.guess_type(stored.file_path)[0] or "application/octet-stream"
        headers = {"Cache-Control": "private, max-age=3600"}
        if stored.file_name:
            headers["Content-Disposition"] = f"inline; filename*=UTF-8''{_quote(stored.file_name)}"
        return web.Response(body=stored.data, content_type=mime, headers=headers)

    async def send(self, request: web.Request) -> web.Response:
        """The person sends a text message (optionally as a reply)."""
        body = await _body(request)
        persona = _persona(body)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiProblem(400, "text must be a non-empty string")
        if len(text) > MAX_TEXT:
            raise ApiProblem(400, f"text is longer than {MAX_TEXT} characters")
        reply_to = _int(body, "reply_to", required=False)
        update = self.emu.user_sends_text(self._user(persona), text, reply_to_message_id=reply_to)
        return _ok(message_id=update["message"]["message_id"])

    async def press(self, request: web.Request) -> web.Response:
        """The person presses an inline button."""
        body = await _body(request)
        persona = _persona(body)
        message_id = _int(body, "message_id")
        data = body.get("data")
        if not isinstance(data, str) or not data:
            raise ApiProblem(400, "data must be the button's callback_data")
        assert message_id is not None
        self.emu.user_presses(self._user(persona), message_id, data)
        return _ok()

    async def photo(self, request: web.Request) -> web.Response:
        """The person sends the sample photo (with the typed text as its caption)."""
        body = await _body(request)
        persona = _persona(body)
        caption = body.get("caption") or None
        if caption is not None and not isinstance(caption, str):
            raise ApiProblem(400, "caption must be a string")
        self.emu.user_sends_photo(self._user(persona), caption=caption, content=demo_photo())
        return _ok()

    async def document(self, request: web.Request) -> web.Response:
        """The person sends a sample PDF."""
        persona = _persona(await _body(request))
        self.emu.user_sends_document(self._user(persona), "bien-ban-hien-truong.pdf", demo_pdf())
        return _ok()

    async def location(self, request: web.Request) -> web.Response:
        """The person shares a location in Phường Thành Sen."""
        persona = _persona(await _body(request))
        latitude, longitude = DEMO_LOCATION
        self.emu.user_sends_location(self._user(persona), latitude, longitude)
        return _ok()

    async def contact(self, request: web.Request) -> web.Response:
        """The person shares their own phone number (a request_contact button)."""
        persona = _persona(await _body(request))
        self.emu.user_sends_contact(self._user(persona), persona.phone)
        return _ok()

    async def language(self, request: web.Request) -> web.Response:
        """Switch the person's language the way they would: /language, then tap the language."""
        body = await _body(request)
        persona = _persona(body)
        lang = body.get("lang")
        if lang not in LANGUAGES:
            raise ApiProblem(400, f"lang must be one of {', '.join(LANGUAGES)}")
        emu = self.emu
        user = self._user(persona)
        user.language_code = lang  # Telegram's language_code, for what the bot says before a choice
        after = emu.current_seq
        emu.user_sends_text(user, "/language")
        callback = f"l:{lang}"
        found: list[SentMessage] = []

        def offered() -> bool:
            for msg in emu.changes_since(persona.telegram_id, after):
                if msg.from_bot and any(b.callback_data == callback for b in msg.iter_buttons()):
                    found.append(msg)
                    return True
            return False

        try:
            await emu.wait_for(offered, timeout=8)
        except TimeoutError:
            raise ApiProblem(504, "the bot did not offer the languages in time") from None
        emu.user_presses(user, found[0], callback)
        self.sandbox.hub.publish("language", {"who": persona.key, "language": lang})
        return _ok(language=lang)

    async def reset(self, request: web.Request) -> web.Response:
        """Stop the bot, clear its data, start again with fresh chats."""
        await self.sandbox.reset()
        return _ok(generation=self.sandbox.generation)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
