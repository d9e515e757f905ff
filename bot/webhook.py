"""The webhook intake: Telegram POSTs each update here; the handler checks the secret token, appends
the update to its user's stream partition (idempotent by update_id) and answers 200. Nothing else
happens in the request: workers handle the update. Anything but 200 makes Telegram deliver it again,
so a Redis failure answers 503 and nothing is lost; a retried delivery is appended once.

``GET /healthz`` answers 200 when Redis answers (for the container's health check).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web

from bot.logs import get_logger
from bot.polling import STORAGE_ERRORS, raw_serial_key
from storage.update_streams import UpdateStreams, partition_of

log = get_logger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20  # an update is a few kilobytes


def partition_of_raw(raw: dict[str, Any], partitions: int) -> int:
    """The partition of a raw update: by its user, else its chat (as the consumer orders them)."""
    return partition_of(raw_serial_key(raw), partitions)


class WebhookServer:
    """An aiohttp server with the one endpoint Telegram calls."""

    def __init__(self, streams: UpdateStreams, secret: str, path: str, host: str, port: int) -> None:
        self._streams = streams
        self._secret = secret.encode()
        self._path = path
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.accepted = 0  # updates appended (not counting retried duplicates)
        self.refused = 0  # requests without the right secret

    def make_app(self) -> web.Application:
        """The aiohttp application (the update endpoint and /healthz)."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self._path, self._receive)
        app.router.add_get("/healthz", self._health)
        return app

    async def start(self) -> None:
        """Listen on the configured address (port 0: a free one, see ``port``)."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        log.info("webhook.listening", host=self._host, port=self.port, path=self._path)

    async def stop(self) -> None:
        """Stop listening (requests in progress finish)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self.refused += 1
            log.warning("webhook.refused", remote=request.remote)
            return web.Response(status=401, text="wrong secret token")
        try:
            raw = await request.json(loads=json.loads)
            update_id = raw["update_id"]
            if not isinstance(raw, dict) or not isinstance(update_id, int) or isinstance(update_id, bool):
                raise ValueError("update_id")
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="not a Telegram update")
        try:
            added = await self._streams.append([(partition_of_raw(raw, self._streams.partitions), raw)])
        except STORAGE_ERRORS as exc:
            log.error("webhook.storage_unavailable", update_id=update_id, error=type(exc).__name__)
            return web.Response(status=503, text="storage unavailable, retry")
        if added:
            self.accepted += 1
        else:
            log.info("webhook.duplicate", update_id=update_id)
        return web.Response(status=200)

    async def _health(self, request: web.Request) -> web.Response:
        try:
            await self._streams.live_workers()
        except STORAGE_ERRORS as exc:
            return web.Response(status=503, text=f"redis: {type(exc).__name__}")
        return web.Response(status=200, text="ok")
