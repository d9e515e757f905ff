"""Prometheus metrics: counters bumped where things happen, gauges read from Redis at scrape time.

Counters and the latency histogram live in :data:`REGISTRY` (this module's own, not the global one)
and cost a dictionary lookup and an addition: no Redis call, no I/O. The small functions below are
what the rest of the code calls (``telegram_429("outbox")``, ``redis_error("timers")``,
``with handling(update, lane): ...``).

The state of the whole bot (outbox backlog, timers due, broadcasts, petitions by status) is in
Redis, shared by every process: :class:`StateCollector` reads it in the event loop when scraped,
at most once per ``cache_seconds`` (concurrent scrapes share one read), and serves the cached
values; several processes report the same figures (query them with ``max``). The HTTP endpoint
(:class:`MetricsServer`, ``METRICS_LISTEN``) runs inside the bot's event loop (aiohttp) and also
answers ``/healthz`` with this process's loops.

Every metric is listed, with its meaning, in the README ("Operations: metrics, health, logs").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from telegram import Update

from bot.domain.clock import Clock
from bot.logs import bound, get_logger, ticket_in
from storage.connection import StorageUnavailable
from storage.keys import Keys
from storage.models import PetitionStatus

log = get_logger(__name__)
disable_created_metrics()  # type: ignore[no-untyped-call] # no ``*_created`` series: they double the output and nobody graphs them

REGISTRY = CollectorRegistry(auto_describe=True)
UPDATES_HANDLED = Counter(
    "tiengdan_updates_handled",
    "Telegram updates handled, by kind (message, callback_query...) and outcome "
    "(ok, duplicate, storage_error, error).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
UPDATE_SECONDS = Histogram(
    "tiengdan_update_handling_seconds",
    "Time to handle one update (handlers and their Redis writes, sends included), by kind.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
TELEGRAM_429 = Counter(
    "tiengdan_telegram_429",
    "Telegram 429 (Too Many Requests) answers, by who got them: handlers, outbox, broadcast, poller.",
    ["source"],
    registry=REGISTRY,
)
REDIS_ERRORS = Counter(
    "tiengdan_redis_errors",
    "Redis failures (connection lost, timeout...), by where: handler, poller, outbox, timers, "
    "broadcast, heartbeat, metrics.",
    ["site"],
    registry=REGISTRY,
)
OUTBOX_FINISHED = Counter(
    "tiengdan_outbox_finished",
    "Outbox entries finished by this process, by kind and outcome (delivered, fallback, failed...).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
OUTBOX_RETRIES = Counter(
    "tiengdan_outbox_retries",
    "Outbox entries that had to wait (429, network error, 5xx), by reason.",
    ["reason"],
    registry=REGISTRY,
)
TIMERS_FIRED = Counter(
    "tiengdan_timers_fired", "Timers fired by this process, by kind.", ["kind"], registry=REGISTRY
)

UPDATE_KINDS = (
    "message",
    "callback_query",
    "edited_message",
    "my_chat_member",
    "chat_member",
    "channel_post",
    "inline_query",
    "message_reaction",
)
_STORAGE_ERRORS = (RedisError, StorageUnavailable, OSError)  # as bot.polling.STORAGE_ERRORS
TIMER_OVERDUE_SECONDS = 60.0  # a due timer not fired after this long is "overdue"


# -- counters: what the rest of the code calls ---------------------------------------------------


def update_kind(update: Update) -> str:
    """The kind of an update (its payload field), ``other`` for the rare ones."""
    for kind in UPDATE_KINDS:
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


@dataclass
class _Handling:
    outcome: str = "ok"


_handling: ContextVar[_Handling | None] = ContextVar("metrics_handling", default=None)


@contextlib.contextmanager
def handling(update: Update, lane: str) -> Iterator[_Handling]:
    """Around the handling of one update: its log lines carry ``update_id``, ``lane`` (and the ticket
    a button names); its duration and outcome are counted. An exception sets the outcome
    (``storage_error`` for Redis, ``error`` otherwise) and propagates."""
    kind = update_kind(update)
    query = update.callback_query
    seen = _Handling()
    token = _handling.set(seen)
    started = time.perf_counter()
    try:
        with bound(update_id=update.update_id, lane=lane, ticket=ticket_in(query.data if query else None)):
            yield seen
    except _STORAGE_ERRORS:
        seen.outcome = "storage_error"
        raise
    except BaseException:
        seen.outcome = "error"
        raise
    finally:
        _handling.reset(token)
        _child(_counted, UPDATES_HANDLED, kind, seen.outcome).inc()
        _child(_timed, UPDATE_SECONDS, kind).observe(time.perf_counter() - started)


_counted: dict[tuple[str, ...], Counter] = {}
_timed: dict[tuple[str, ...], Histogram] = {}


def _child(cache: dict[tuple[str, ...], Any], parent: Any, *labels: str) -> Any:
    """``parent.labels(*labels)``, remembered (labels() takes a lock and builds a key every call)."""
    child = cache.get(labels)
    if child is None:
        child = cache[labels] = parent.labels(*labels)
    return child


def update_outcome(outcome: str) -> None:
    """Name the outcome of the update being handled (e.g. ``duplicate``)."""
    seen = _handling.get()
    if seen is not None:
        seen.outcome = outcome


def telegram_429(source: str) -> None:
    """Telegram answered 429 to ``source`` (handlers, outbox, broadcast, poller)."""
    TELEGRAM_429.labels(source).inc()


def redis_error(site: str) -> None:
    """A Redis call failed at ``site``."""
    REDIS_ERRORS.labels(site).inc()


# -- gauges: the shared state, read from Redis when scraped ----------------------------------------


@dataclass
class _BroadcastFigures:
    id: str
    state: str
    total: int
    sent: int
    failed: int
    blocked: int
    erased: int
    inflight: int


@dataclass
class _State:
    outbox_entries: int = 0
    outbox_lanes: int = 0
    outbox_oldest_age: float = 0.0
    timers_scheduled: int = 0
    timers_due: int = 0
    timers_overdue: int = 0
    timers_inflight: int = 0
    broadcasts: list[_BroadcastFigures] = field(default_factory=list)
    petitions: dict[str, int] = field(default_factory=dict)
    ok: bool = False
    read_at: float = 0.0  # monotonic
    read_seconds: float = 0.0


Loops = Callable[[], dict[str, float]]  # loop name → when it last made progress (epoch seconds)


class StateCollector(Collector):
    """Gauges of the shared state, read from Redis by :meth:`refresh` (in the loop), served from cache."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        clock: Clock,
        *,
        loops: Loops | None = None,
        in_flight: Callable[[], int] | None = None,
        process: tuple[str, str] = ("", "all"),
        cache_seconds: float = 5.0,
        chunk: int = 500,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._loops = loops
        self._in_flight = in_flight
        self._process = process
        self._cache = cache_seconds
        self._chunk = chunk
        self._state = _State()
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Read the state from Redis unless the cached copy is fresh; a failure keeps the old figures
        (``tiengdan_state_read_ok`` 0)."""
        if self._state.read_at and time.monotonic() - self._state.read_at < self._cache:
            return
        async with self._lock:  # a scrape arriving meanwhile waits for this read and uses it
            if self._state.read_at and time.monotonic() - self._state.read_at < self._cache:
                return
            started = time.monotonic()
            try:
                state = await self._read()
            except (RedisError, OSError) as exc:
                redis_error("metrics")
                log.warning("metrics.state_unavailable", error=type(exc).__name__)
                self._state.ok = False
                self._state.read_at = time.monotonic()
                return
            state.read_seconds = time.monotonic() - started
            state.read_at = time.monotonic()
            self._state = state

    async def _read(self) -> _State:
        k, r = self._keys, self._redis
        state = _State(ok=True)
        now = self._clock.now().timestamp()
        async with r.pipeline(transaction=False) as pipe:
            pipe.zrange(k.outbox_lanes(), 0, -1)
            pipe.zrange(k.outbox_inflight(), 0, -1)
            pipe.zcard(k.timers_due())
            pipe.zcount(k.timers_due(), "-inf", now)
            pipe.zcount(k.timers_due(), "-inf", now - TIMER_OVERDUE_SECONDS)
            pipe.zcard(k.timers_inflight())
            pipe.smembers(k.broadcasts_active())
            for status in PetitionStatus:
                pipe.zcard(k.petitions_by_status(status.value))
            waiting, sending, scheduled, due, overdue, inflight, active, *by_status = await pipe.execute()
        state.timers_scheduled, state.timers_due = int(scheduled), int(due)
        state.timers_overdue, state.timers_inflight = int(overdue), int(inflight)
        state.petitions = {s.value: int(n) for s, n in zip(PetitionStatus, by_status, strict=True)}
        lanes = sorted({str(lane) for lane in [*waiting, *sending]})
        state.outbox_lanes = len(lanes)
        oldest: float | None = None
        for start in range(0, len(lanes), self._chunk):
            async with r.pipeline(transaction=False) as pipe:
                for lane in lanes[start : start + self._chunk]:
                    pipe.llen(k.outbox_lane(lane))
                    pipe.lindex(k.outbox_lane(lane), 0)
                found = await pipe.execute()
            for length, first in zip(found[::2], found[1::2], strict=True):
                state.outbox_entries += int(length)
                created = _created_at(first)
                if created is not None and (oldest is None or created < oldest):
                    oldest = created
        state.outbox_oldest_age = max(0.0, time.time() - oldest) if oldest is not None else 0.0
        ids = sorted(str(b) for b in active)
        if ids:
            fields = ("state", "total", "sent", "failed", "blocked", "erased")
            async with r.pipeline(transaction=False) as pipe:
                for bid in ids:
                    pipe.hmget(k.broadcast(bid), fields)
                    pipe.zcard(k.broadcast_inflight(bid))
                found = await pipe.execute()
            for bid, values, claimed in zip(ids, found[::2], found[1::2], strict=True):
                total, sent, failed, blocked, erased = (int(v or 0) for v in values[1:])
                state.broadcasts.append(
                    _BroadcastFigures(
                        bid, str(values[0] or ""), total, sent, failed, blocked, erased, int(claimed)
                    )
                )
        return state

    def collect(self) -> Iterable[Metric]:
        """The cached state, and this process's figures (computed now, without Redis)."""
        s = self._state
        yield _gauge(
            "tiengdan_state_read_ok", "1 when the last read of the shared state from Redis worked.", s.ok
        )
        yield _gauge(
            "tiengdan_state_read_seconds", "How long the last read of the shared state took.", s.read_seconds
        )
        yield _gauge(
            "tiengdan_outbox_backlog", "Outbox entries not yet delivered (all lanes).", s.outbox_entries
        )
        yield _gauge(
            "tiengdan_outbox_lanes", "Recipients (outbox lanes) with something to send.", s.outbox_lanes
        )
        yield _gauge(
            "tiengdan_outbox_oldest_age_seconds",
            "Age of the oldest undelivered outbox entry (0 when none).",
            s.outbox_oldest_age,
        )
        yield _gauge(
            "tiengdan_timers_scheduled", "Timers waiting (deadlines, reminders...).", s.timers_scheduled
        )
        yield _gauge("tiengdan_timers_due", "Timers whose time has come, not yet claimed.", s.timers_due)
        yield _gauge(
            "tiengdan_timers_overdue",
            f"Timers due for over {TIMER_OVERDUE_SECONDS:.0f} s and not yet claimed (no worker fires them).",
            s.timers_overdue,
        )
        yield _gauge(
            "tiengdan_timers_inflight", "Timers being fired (claimed under a lease).", s.timers_inflight
        )
        petitions = GaugeMetricFamily("tiengdan_petitions", "Petitions by current status.", labels=["status"])
        for status, count in s.petitions.items():
            petitions.add_metric([status], count)
        yield petitions
        active = GaugeMetricFamily(
            "tiengdan_broadcasts_active", "Broadcasts running or paused.", labels=["state"]
        )
        for state in ("running", "paused"):
            active.add_metric([state], sum(1 for b in s.broadcasts if b.state == state))
        yield active
        recipients = GaugeMetricFamily(
            "tiengdan_broadcast_recipients",
            "Recipients of each active broadcast by outcome (sent, failed, blocked, erased, pending).",
            labels=["broadcast", "outcome"],
        )
        progress = GaugeMetricFamily(
            "tiengdan_broadcast_progress_ratio",
            "Share of an active broadcast's recipients already done (0..1).",
            labels=["broadcast"],
        )
        for b in s.broadcasts:
            done = b.sent + b.failed + b.blocked + b.erased
            for outcome, count in (
                ("sent", b.sent),
                ("failed", b.failed),
                ("blocked", b.blocked),
                ("erased", b.erased),
                ("pending", max(0, b.total - done)),
            ):
                recipients.add_metric([b.id, outcome], count)
            progress.add_metric([b.id], done / b.total if b.total else 1.0)
        yield recipients
        yield progress
        name, role = self._process
        info = GaugeMetricFamily(
            "tiengdan_process", "This process: its name and role.", labels=["name", "role"]
        )
        info.add_metric([name, role], 1)
        yield info
        if self._in_flight is not None:
            yield _gauge(
                "tiengdan_updates_in_flight", "Updates fetched and not yet handled here.", self._in_flight()
            )
        if self._loops is not None:
            ages = GaugeMetricFamily(
                "tiengdan_loop_seconds_since_progress",
                "Seconds since each loop of this process last made progress (see `health`).",
                labels=["loop"],
            )
            now = time.time()
            for loop, at in sorted(self._loops().items()):
                ages.add_metric([loop], max(0.0, now - at))
            yield ages


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def _created_at(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        value = json.loads(raw).get("created_at")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None


class _Both(Collector):
    def __init__(self, *collectors: Collector) -> None:
        self._collectors = collectors

    def collect(self) -> Iterable[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


def exposition(state: StateCollector) -> bytes:
    """The text format of every metric: this module's counters and the state's gauges."""
    return generate_latest(_Both(REGISTRY, state))


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` or ``[ipv6]:port`` (host may be empty: every interface) → (host, port)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


class MetricsServer:
    """``GET /metrics`` (Prometheus) and ``GET /healthz`` (this process's loops) in the bot's loop."""

    def __init__(self, state: StateCollector, listen: str, loops: Loops, stall_seconds: float) -> None:
        self.state = state
        self._listen = listen
        self._loops = loops
        self._stall = stall_seconds
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        """Listen on ``METRICS_LISTEN``."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        host, port = parse_listen(self._listen)
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("metrics.listening", host=host, port=self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        await self.state.refresh()
        return web.Response(body=exposition(self.state), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        now = time.time()
        ages = {loop: round(max(0.0, now - at), 3) for loop, at in self._loops().items()}
        stalled = sorted(loop for loop, age in ages.items() if age > self._stall)
        body = {"healthy": not stalled, "stalled": stalled, "seconds_since_progress": ages}
        return web.json_response(body, status=503 if stalled else 200)
