"""The aiohttp server exposing the emulated Bot API, plus the async parts of the control API."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from .errors import NOT_FOUND, UNAUTHORIZED, ApiError, too_many_requests
from .methods import BotMethods, PollConflict
from .models import ApiCall, EmulatedUser, Fault, RateLimits, SentMessage
from .spec import ApiSpec, MethodSpec, load_spec
from .validation import FileRef, UploadedFile, coerce_params

if TYPE_CHECKING:
    from .scripted import ScriptedUser

log = logging.getLogger(__name__)
MAX_REQUEST_SIZE = 60 * 1024 * 1024
_NOT_LIMITED = frozenset({"sendchataction", "sendinvoice", "sendgame"})


def _is_flood_limited(method: str) -> bool:
    return (method.startswith(("send", "copymessage", "forwardmessage"))) and method not in _NOT_LIMITED


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    """Params with file payloads replaced by short descriptions (so records stay small)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, UploadedFile):
            out[key] = f"<upload {value.filename!r} {len(value.data)} bytes>"
        elif isinstance(value, FileRef):
            out[key] = value.ref if value.upload is None else f"<upload {value.upload.filename!r}>"
        else:
            out[key] = value
    return out


class _SlidingWindow:
    """Counts events in the last ``window`` seconds."""

    __slots__ = ("events", "limit", "window")

    def __init__(self, limit: float, window: float) -> None:
        self.limit = limit
        self.window = window
        self.events: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds until one more event fits (0 if it fits now)."""
        while self.events and self.events[0] <= now - self.window:
            self.events.popleft()
        if len(self.events) < self.limit:
            return 0.0
        return self.events[0] + self.window - now


class BotApiEmulator(BotMethods):
    """A local Telegram Bot API server that validates requests like the real one.

    Point a python-telegram-bot application at ``f"{emu.url}/bot"`` (``base_file_url``
    ``f"{emu.url}/file/bot"``), inject user activity with ``user_*`` methods and observe with
    ``messages``, ``rejections``, ``callback_answers``...
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "tiengdan_test_bot",
        rate_limits: RateLimits | None = None,
        bot_first_name: str = "Tiếng Dân (test)",
        max_recorded_calls: int = 10_000,
        spec: ApiSpec | None = None,
        call_delay: float = 0.0,
    ) -> None:
        super().__init__(token, bot_username, bot_first_name, rate_limits, max_recorded_calls)
        self.spec = spec or load_spec()
        # Seconds every call but getUpdates takes (Telegram's latency, for benchmarks); may be changed.
        self.call_delay = call_delay
        self.faults: list[Fault] = []
        self.fault_hits: list[tuple[Fault, ApiCall]] = []  # each call a fault affected, in order
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._windows: dict[str, _SlidingWindow] = {}
        self._closing = False

    # -- lifecycle -----------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """Build the aiohttp application (usable on its own, e.g. mounted in a larger app)."""
        app = web.Application(client_max_size=MAX_REQUEST_SIZE)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving on ``host:port`` (0 = a free port); returns :attr:`url`."""
        self._closing = False
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self._url = f"http://{host}:{bound[1]}"
        return self._url

    async def stop(self) -> None:
        """Stop serving; pending long polls return immediately."""
        self._closing = True
        self._notify()
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:PORT``."""
        if self._url is None:
            raise RuntimeError("emulator not started")
        return self._url

    @property
    def base_url(self) -> str:
        """What to pass as PTB ``base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as PTB ``base_file_url``."""
        return f"{self.url}/file/bot"

    # -- HTTP ----------------------------------------------------------------------------------

    @staticmethod
    def _response(body: dict[str, Any], status: int = 200) -> web.Response:
        return web.Response(
            status=status, text=json.dumps(body, ensure_ascii=False), content_type="application/json"
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/file/bot"):
            return await self._download(path[len("/file/bot") :])
        if not path.startswith("/bot"):
            return self._response(NOT_FOUND.to_dict(), 404)
        token, _, method = path[len("/bot") :].partition("/")
        if token != self.token:
            return self._response(UNAUTHORIZED.to_dict(), 401)
        try:
            raw, uploads = await self._read_params(request)
        except ApiError as err:
            self.record_rejection(method, {}, err.error_code, err.description)
            return self._response(err.to_dict(), err.error_code)
        spec = self.spec.method(method) if method else None
        if spec is None:
            self.record_rejection(method, _loggable(raw), 404, "Not Found")
            return self._response(NOT_FOUND.to_dict(), 404)
        name = spec.name.lower()
        call = ApiCall(spec.name, _loggable({**raw, **uploads}), time.time())
        self.calls.append(call)
        fault = self._take_fault(name, raw.get("chat_id"), call)
        delay = self.call_delay if name != "getupdates" else 0.0
        if fault is not None and not fault.after:
            delay += fault.delay
        if delay > 0:
            await asyncio.sleep(delay)
            if request.transport is None:
                return web.Response()  # the client hung up before the call reached "Telegram": not done
        if fault is not None and not fault.after and (fault.status is not None or fault.drop):
            return self._fail(request, fault)
        response = await self._perform(spec, name, raw, uploads, call)
        if fault is not None and fault.after:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None or fault.drop:
                return self._fail(request, fault)  # done, but the bot is told otherwise or nothing
        return response

    async def _perform(
        self,
        spec: MethodSpec,
        name: str,
        raw: dict[str, Any],
        uploads: dict[str, UploadedFile],
        call: ApiCall,
    ) -> web.Response:
        try:
            params = coerce_params(self.spec, spec, raw, uploads)
            if self.rate_limits is not None and _is_flood_limited(name):
                self._check_flood(params.get("chat_id"))
            handler = getattr(self, f"api_{name}", None)
            if handler is None:
                self.unimplemented_calls.append(call)
                result: Any = True
            else:
                result = handler(params)
                if inspect.isawaitable(result):
                    result = await result
        except ApiError as err:
            if not isinstance(err, PollConflict):
                self.record_rejection(spec.name, call.params, err.error_code, err.description)
            self._notify()
            return self._response(err.to_dict(), err.error_code)
        if name != "getupdates":
            self._notify()
        return self._response({"ok": True, "result": result})

    # -- fault injection -----------------------------------------------------------------------

    def inject(
        self,
        method: str | None = None,
        *,
        chat_id: int | str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        drop: bool = False,
        after: bool = False,
        delay: float = 0.0,
        count: int | None = 1,
        skip: int = 0,
        description: str | None = None,
    ) -> Fault:
        """Make the next ``count`` calls of ``method`` (None: any but getUpdates) to ``chat_id`` (None:
        any chat) fail: ``status`` 500/502/... (``retry_after`` seconds for a 429), ``drop`` the
        connection without an answer, and/or wait ``delay`` seconds first. ``after=True``: the call is
        performed, then its answer is delayed, replaced by the error or dropped. ``count=None`` lasts
        until :meth:`clear_faults`; ``skip`` matching calls pass before the fault starts. Injected failures are not :attr:`rejections` (the bot did nothing
        wrong); the calls they hit are in :attr:`fault_hits`. The oldest matching fault applies."""
        if status is None and not drop and delay <= 0:
            raise ValueError("a fault needs a status, drop=True or a delay")
        if status is not None and drop:
            raise ValueError("a dropped connection has no status")
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(
            method=method,
            chat_id=chat_id,
            status=status,
            description=description,
            retry_after=retry_after,
            drop=drop,
            after=after,
            delay=delay,
            count=count,
            skip=skip,
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected fault (those already affecting a call still finish)."""
        self.faults.clear()

    def _take_fault(self, name: str, chat_id: Any, call: ApiCall) -> Fault | None:
        for fault in self.faults:
            if fault.matches(name, chat_id):
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.hits += 1
                self.fault_hits.append((fault, call))
                if fault.exhausted:
                    self.faults.remove(fault)
                return fault
        return None

    def _fail(self, request: web.Request, fault: Fault) -> web.Response:
        self._notify()
        if fault.drop:
            if request.transport is not None:
                request.transport.close()  # the client sees the server disconnect, no answer
            return web.Response()
        return self._response(fault.error_body(), fault.status or 500)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, UploadedFile] = {}
        if request.method not in ("POST", "PUT") or not request.can_read_body:
            return raw, uploads
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON body") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON body must be an object")
            raw.update(body)
        elif ctype == "application/x-www-form-urlencoded":
            raw.update((await request.post()).items())
        elif ctype.startswith("multipart/"):
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader) or not part.name:
                    continue
                data = await part.read()
                if part.filename is not None:
                    ptype = part.headers.get("Content-Type", "application/octet-stream")
                    uploads[part.name] = UploadedFile(part.filename, ptype, bytes(data))
                else:
                    raw[part.name] = bytes(data).decode("utf-8", errors="replace")
        return raw, uploads

    async def _download(self, rest: str) -> web.StreamResponse:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return self._response(UNAUTHORIZED.to_dict(), 401)
        stored = self.files_by_path.get(file_path)
        if stored is None:
            return self._response(NOT_FOUND.to_dict(), 404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    def _check_flood(self, chat_id: Any) -> None:
        limits = self.rate_limits
        assert limits is not None
        now = time.monotonic()
        windows: list[_SlidingWindow] = []
        if limits.global_per_second:
            windows.append(self._window("*", limits.global_per_second, 1.0))
        if chat_id is not None:
            is_group = (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str)
            if limits.per_chat_per_second:
                windows.append(self._window(f"c{chat_id}", limits.per_chat_per_second, 1.0))
            if is_group and limits.per_group_per_minute:
                windows.append(self._window(f"g{chat_id}", limits.per_group_per_minute, 60.0))
        wait = max((w.wait_time(now) for w in windows), default=0.0)
        if wait > 0:
            raise too_many_requests(limits.retry_after or max(1, math.ceil(wait)))
        for w in windows:
            w.events.append(now)

    def _window(self, key: str, limit: float, window: float) -> _SlidingWindow:
        found = self._windows.get(key)
        if found is None:
            found = self._windows[key] = _SlidingWindow(limit, window)
        return found

    # -- async control API ---------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``predicate()`` is true, re-checking on every change; TimeoutError otherwise."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            event = self._event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.25))

    async def wait_for_bot_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        after_message_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """Wait for a bot message in ``chat_id`` (newer than ``after_message_id``) matching ``predicate``."""
        found: list[SentMessage] = []

        def check() -> bool:
            for msg in self.bot_messages(chat_id):
                if after_message_id is not None and msg.message_id <= after_message_id:
                    continue
                if predicate is None or predicate(msg):
                    found.append(msg)
                    return True
            return False

        try:
            await self.wait_for(check, timeout)
        except TimeoutError:
            recent = "\n".join(f"  {m}" for m in self.bot_messages(chat_id)[-5:]) or "  (none)"
            raise AssertionError(
                f"no matching bot message in chat {chat_id} within {timeout}s; last:\n{recent}"
            ) from None
        return found[0]

    def scripted(self, user: EmulatedUser) -> ScriptedUser:
        """A :class:`ScriptedUser` driving ``user``."""
        from .scripted import ScriptedUser

        return ScriptedUser(self, user)
