"""The composition root: settings + Redis → services → the PTB Application with its handlers."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

import redis.asyncio as aioredis
from telegram import Bot, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, ExtBot

from bot import offload
from bot.aiohttp_request import AiohttpRequest
from bot.broadcaster import Broadcaster
from bot.config import Settings
from bot.context import DEPS_KEY, BotApplication, BotContext, Deps
from bot.domain.broadcast import BroadcastService
from bot.domain.cases import CaseService
from bot.domain.citizens import CitizenService
from bot.domain.clock import Clock, FileClock, SystemClock
from bot.domain.cosign import CoSignService
from bot.domain.deadlines import DeadlinePolicy
from bot.domain.dialogues import REMIND_KIND as DIALOGUE_REMINDER
from bot.domain.dialogues import DialogueService
from bot.domain.directory import Directory
from bot.domain.escalation import DeadlineTracker
from bot.domain.intake import IntakeService
from bot.domain.petitions import PetitionService
from bot.domain.privacy import PrivacyService
from bot.domain.similarity import OpenPetitions, SimilarityService
from bot.domain.subscriptions import SubscriptionService
from bot.domain.topics import TopicClassifier, TopicVocabulary
from bot.embedded_redis import EmbeddedRedis
from bot.health import HeartbeatWriter, process_name
from bot.i18n import Translator
from bot.logs import get_logger
from bot.metrics import MetricsServer, StateCollector
from bot.outbox import Outbox, OutboxSender, Progress
from bot.polling import DurablePoller
from bot.retention import RetentionWorker
from bot.scheduler import TimerWorker
from bot.telegram_calls import ResilientLimiter, SendPacer
from bot.webhook import WebhookServer
from storage.audit import AuditLog
from storage.broadcasts import BroadcastRepository
from storage.citizens import CitizenRepository
from storage.connection import connect
from storage.cosign import CoSignRepository
from storage.dialogues import DialogueRepository
from storage.keys import Keys
from storage.officials import OfficialRepository
from storage.outbox import OutboxEntry, OutboxRepository
from storage.petitions import PetitionRepository
from storage.privacy import PrivacyRepository
from storage.processes import ProcessHeartbeats
from storage.sessions import SessionRepository
from storage.similarity import SimilarityIndex
from storage.subscriptions import SubscriptionRepository
from storage.timers import TimerRepository
from storage.topics import TopicCorrectionRepository
from storage.update_streams import UpdateStreams
from storage.updates import UpdateLog

log = get_logger(__name__)
BROADCAST_CONCURRENCY = 16
OUTBOX_CONCURRENCY = 16


def load_directory(settings: Settings) -> Directory:
    """The province directory named by DIRECTORY_FILE, or the shipped Hà Tĩnh one."""
    return Directory.load(settings.directory_file) if settings.directory_file else Directory.default()


def default_officials_file(settings: Settings) -> Path | None:
    """OFFICIALS_FILE, else the ``officials.yaml`` beside the province file, if there is one."""
    if settings.officials_file is not None:
        return settings.officials_file
    province_file = settings.directory_file or Directory.default_path()
    candidate = Path(province_file).parent / "officials.yaml"
    return candidate if candidate.is_file() else None


async def ensure_officials_directory(deps: Deps) -> None:
    """At first start (no officials directory in Redis yet), import the default one, so that every
    petition has someone to go to. Later changes go through ``python -m bot directory import``."""
    from bot.domain.officials_directory import import_directory

    if await OfficialRepository(deps.redis, deps.keys).settings() is not None:
        return
    path = default_officials_file(deps.settings)
    if path is None:
        raise ValueError(
            "no officials directory: set OFFICIALS_FILE or run 'python -m bot directory import FILE'"
        )
    loaded = await import_directory(deps.redis, deps.keys, path, deps.directory)
    log.info("directory.imported", file=str(path), officials=len(loaded.officials))


def load_deadline_policy(settings: Settings) -> DeadlinePolicy:
    """DEADLINES_FILE, else the ``deadlines.yaml`` beside the province file, else the shipped one."""
    if settings.deadlines_file is not None:
        return DeadlinePolicy.load(settings.deadlines_file)
    beside = Path(settings.directory_file or Directory.default_path()).parent / "deadlines.yaml"
    return DeadlinePolicy.load(beside) if beside.is_file() else DeadlinePolicy.default()


def load_topic_classifier(settings: Settings, directory: Directory) -> TopicClassifier | None:
    """TOPICS_FILE, else the ``topics.yaml`` beside the province file; None (no suggestions) without one."""
    path = settings.topics_file or TopicVocabulary.beside(settings.directory_file or Directory.default_path())
    return TopicClassifier(TopicVocabulary.load(path, directory)) if Path(path).is_file() else None


def build_deps(
    settings: Settings,
    redis: aioredis.Redis,
    *,
    clock: Clock | None = None,
    directory: Directory | None = None,
) -> Deps:
    """Build every service once."""
    directory = directory or load_directory(settings)
    clock = clock or (FileClock(settings.clock_file) if settings.clock_file else SystemClock())
    keys = Keys(settings.redis_key_prefix, directory.ticket_prefix.lower())
    petitions = PetitionRepository(redis, keys)
    timers = TimerRepository(redis, keys)
    tracker = DeadlineTracker(load_deadline_policy(settings), directory)
    audit = AuditLog(redis, keys)
    outbox = Outbox(OutboxRepository(redis, keys))
    cases = CaseService(
        petitions, OfficialRepository(redis, keys), clock, settings.admin_ids, tracker, timers, audit
    )
    dialogues = DialogueService(
        DialogueRepository(redis, keys), petitions, cases, tracker, directory, clock, audit, outbox
    )
    cases.timer_kinds[DIALOGUE_REMINDER] = dialogues.fire_timer
    subscriptions = SubscriptionService(
        SubscriptionRepository(redis, keys), CitizenRepository(redis, keys), directory, clock
    )
    # "Me too": the similarity index follows every change of a petition; co-signers join open ones.
    similarity = SimilarityService(
        SimilarityIndex(redis, keys, directory.ticket_prefix), OpenPetitions(petitions)
    )
    cases.observers.append(similarity.on_change)
    cases.corrections = TopicCorrectionRepository(redis, keys)
    cosign = CoSignService(CoSignRepository(redis, keys), petitions, clock)
    privacy = PrivacyService(
        CitizenRepository(redis, keys),
        petitions,
        PrivacyRepository(redis, keys),
        audit,
        keys,
        clock,
        retention_days=settings.retention_days,
        max_petitions_per_day=settings.max_petitions_per_day,
        flood_max_updates=settings.flood_max_updates,
        flood_window_seconds=settings.flood_window_seconds,
    )
    privacy.cosign = cosign.repo
    return Deps(
        settings=settings,
        redis=redis,
        keys=keys,
        clock=clock,
        directory=directory,
        translator=Translator(settings.default_language),
        citizens=CitizenService(CitizenRepository(redis, keys), clock),
        intake=IntakeService(
            directory,
            SessionRepository(redis, keys),
            petitions,
            clock,
            router=cases.route,
            tracker=tracker,
            topics=load_topic_classifier(settings, directory),
            similarity=similarity,
            cosign=cosign.repo,
        ),
        petitions=PetitionService(petitions),
        cases=cases,
        timers=timers,
        audit=audit,
        updates=UpdateLog(redis, keys),
        privacy=privacy,
        dialogues=dialogues,
        broadcasts=BroadcastService(
            BroadcastRepository(redis, keys),
            subscriptions.repo,
            directory,
            clock,
            audit,
            settings.default_language,
        ),
        subscriptions=subscriptions,
        outbox=outbox,
        cosign=cosign,
        similarity=similarity,
    )


def html_defaults() -> Defaults:
    """Every text is HTML: whatever a user typed is escaped where it is rendered (handlers.common.esc)."""
    return Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))


def build_application(deps: Deps) -> BotApplication:
    """The PTB Application talking to ``TELEGRAM_API_URL``, with every handler registered."""
    from handlers import register  # the composition root is the one place that knows the adapters

    settings = deps.settings
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required")
    api = settings.api_base
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .updater(None)
        # Every text is HTML: whatever a user typed is escaped where it is rendered (handlers.common.esc).
        .defaults(html_defaults())
        .context_types(ContextTypes(context=BotContext))
        # Paces sends only (not edits, answers, chat actions) and retries what Telegram failed.
        .rate_limiter(ResilientLimiter(SendPacer(settings.telegram_send_rate, settings.telegram_send_burst)))
        # aiohttp: a fraction of httpx's CPU per call (README "Benchmarks").
        .request(AiohttpRequest(connections=settings.max_concurrent_updates * 2 + 8, timeout=5.0))
        .get_updates_request(AiohttpRequest(connections=2, timeout=5.0))
    )
    application = cast(BotApplication, builder.build())
    application.bot_data[DEPS_KEY] = deps
    register(application)
    return application


class BotRuntime:
    """Runs the bot until stopped: Redis (given or embedded), the Application, the durable poller."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.embedded: EmbeddedRedis | None = None
        self.poller: DurablePoller | None = None
        self.application: BotApplication | None = None
        self.redis: aioredis.Redis | None = None
        self.timer_worker: TimerWorker | None = None
        self._timer_task: asyncio.Task[None] | None = None
        self.retention_worker: RetentionWorker | None = None
        self._retention_task: asyncio.Task[None] | None = None
        self.broadcaster: Broadcaster | None = None
        self.broadcast_task: asyncio.Task[None] | None = None
        self._broadcast_bot: Bot | None = None
        self.outbox_sender: OutboxSender | None = None
        self._outbox_task: asyncio.Task[None] | None = None
        self._outbox_bot: Bot | None = None
        self.streams: UpdateStreams | None = None
        self.webhook: WebhookServer | None = None
        self._webhook_bot: Bot | None = None
        self.role: str = settings.role  # the scale-out roles name themselves here (heartbeat, metrics)
        self.heartbeat: HeartbeatWriter | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self.metrics_server: MetricsServer | None = None

    @property
    def polls(self) -> bool:
        """Whether this process competes for the poller lease (role all, no webhook)."""
        s = self.settings
        return s.role == "all" and s.run_poller and s.webhook_url is None

    async def _connect(self) -> aioredis.Redis:
        url: str | None = None
        if not self.settings.has_redis:
            if self.settings.role != "all":
                raise ValueError(f"REDIS_URL is required with --role {self.settings.role} (a shared Redis)")
            self.embedded = EmbeddedRedis(Path(self.settings.data_dir))
            url = await asyncio.to_thread(self.embedded.start)
            log.info("redis.embedded", data_dir=str(self.embedded.data_dir), port=self.embedded.port)
        self.redis = await connect(
            self.settings.redis_target(url), max_connections=self.settings.max_concurrent_updates * 2 + 8
        )
        return self.redis

    async def _start_webhook(self, keys: Keys) -> None:
        """Register the webhook with Telegram (with its secret token) and serve it."""
        settings = self.settings
        if settings.webhook_url is None or not settings.webhook_secret:
            raise ValueError("WEBHOOK_URL and WEBHOOK_SECRET are required for the webhook")
        assert self.redis is not None
        self.streams = self.streams or UpdateStreams(self.redis, keys, settings.update_partitions)
        await self.streams.ensure_groups()
        host, port = settings.listen_address
        self.webhook = WebhookServer(self.streams, settings.webhook_secret, settings.webhook_path, host, port)
        await self.webhook.start()
        self._webhook_bot = self._own_bot(2)
        await self._webhook_bot.initialize()
        await self._webhook_bot.set_webhook(
            str(settings.webhook_url),
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
            max_connections=settings.webhook_max_connections,
        )
        log.info("webhook.set", url=str(settings.webhook_url))

    async def open_webhook(self) -> None:
        """Role ``webhook``: only the HTTP endpoint appending updates to the streams."""
        redis = await self._connect()
        keys = Keys(self.settings.redis_key_prefix, load_directory(self.settings).ticket_prefix.lower())
        self.streams = UpdateStreams(redis, keys, self.settings.update_partitions)
        await self._start_webhook(keys)

    async def open(self) -> BotApplication:
        """Connect to Redis and initialise the Application (no polling yet)."""
        redis = await self._connect()
        deps = build_deps(self.settings, redis, clock=self.clock)
        await ensure_officials_directory(deps)
        self.application = build_application(deps)
        await self.application.initialize()
        if self.polls:
            await self.application.bot.delete_webhook(drop_pending_updates=False)
        from handlers.commands import publish_commands

        await publish_commands(self.application)
        await self.application.start()
        self.streams = UpdateStreams(redis, deps.keys, self.settings.update_partitions)
        self.poller = DurablePoller(
            self.application,
            deps.updates,
            self.streams,
            poll=self.polls,
            max_concurrent=self.settings.max_concurrent_updates,
            partition_lease=self.settings.partition_lease_seconds,
        )
        if self.settings.role == "all" and self.settings.webhook_url is not None:
            await self._start_webhook(deps.keys)
        await self._start_outbox(deps)
        self.timer_worker = TimerWorker(deps.cases, deps.timers, deps.clock, deps.outbox.flush)
        self._timer_task = asyncio.create_task(self.timer_worker.run())
        self.retention_worker = RetentionWorker(deps.privacy, interval=self.settings.retention_sweep_seconds)
        self._retention_task = asyncio.create_task(self.retention_worker.run())
        await self._start_broadcaster(deps)
        await self._start_observability(deps)
        log.info("bot.started", username=self.application.bot.username)
        return self.application

    def _own_bot(self, connections: int) -> Bot:
        """A Bot of its own for a background sender (HTML like every text, no link previews): no
        client-side rate limiter, so a 429 reaches the sender, which makes only that chat (or, for a
        flood wait, everyone) wait."""
        settings = self.settings
        api = settings.api_base
        return ExtBot(
            str(settings.telegram_bot_token),
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            request=AiohttpRequest(connections=connections),
            defaults=html_defaults(),
        )

    async def _start_outbox(self, deps: Deps) -> None:
        """The outbox sender of this process: delivers what state changes owe to people."""
        from handlers.notify import deliver_entry, give_up

        self._outbox_bot = self._own_bot(OUTBOX_CONCURRENCY)
        await self._outbox_bot.initialize()
        bot = self._outbox_bot

        async def deliver(entry: OutboxEntry, progress: Progress) -> str:
            return await deliver_entry(bot, deps, entry, progress)

        async def gave_up(entry: OutboxEntry, reason: str) -> None:
            await give_up(bot, deps, entry, reason)

        self.outbox_sender = OutboxSender(deps.outbox.repo, deliver, gave_up, concurrency=OUTBOX_CONCURRENCY)
        deps.outbox.sender = self.outbox_sender
        self._outbox_task = asyncio.create_task(self.outbox_sender.run())

    async def _start_broadcaster(self, deps: Deps) -> None:
        """The broadcast worker, with a Bot of its own: it paces itself and honours 429s itself."""
        from handlers.admin.broadcast import update_progress

        assert self.application is not None
        settings = self.settings
        self._broadcast_bot = self._own_bot(BROADCAST_CONCURRENCY)
        await self._broadcast_bot.initialize()
        bot = self.application.bot

        async def progress(broadcast_id: str, final: bool) -> None:
            await update_progress(bot, deps, broadcast_id, final)

        paid = settings.allow_paid_broadcast
        self.broadcaster = Broadcaster(
            deps.broadcasts,
            self._broadcast_bot,
            progress,
            rate=settings.broadcast_paid_rate if paid else settings.broadcast_rate,
            paid=paid,
            lease=settings.broadcast_lease_seconds,
            concurrency=BROADCAST_CONCURRENCY,
            yield_to=self._pacer_bulk(),
        )
        self.broadcast_task = asyncio.create_task(self.broadcaster.run())

    def _pacer_bulk(self) -> Callable[[], Awaitable[None]] | None:
        """The conversations' send pacer's yield, for the broadcaster (conversations first)."""
        limiter = self.application.bot.rate_limiter if self.application is not None else None
        return limiter.pacer.bulk if isinstance(limiter, ResilientLimiter) else None

    def loops(self) -> dict[str, float]:
        """When each loop this process runs last made progress (epoch seconds): the heartbeat's content."""
        components: dict[str, object | None] = {
            "poller": self.poller,  # polling, or (not polling) consuming the update streams
            "outbox": self.outbox_sender,
            "timers": self.timer_worker,
            "broadcaster": self.broadcaster,
        }
        return {
            name: float(getattr(component, "progressed_at"))  # noqa: B009 - a duck-typed seam
            for name, component in components.items()
            if component is not None and hasattr(component, "progressed_at")
        }

    async def _start_observability(self, deps: Deps) -> None:
        """This process's heartbeat (``health``) and, with ``METRICS_LISTEN``, the metrics endpoint."""
        settings = self.settings
        name = process_name(settings)
        self.heartbeat = HeartbeatWriter(
            ProcessHeartbeats(deps.redis, deps.keys),
            name,
            self.loops,
            role=self.role,
            stall_seconds=settings.health_stall_seconds,
        )
        self._heartbeat_task = asyncio.create_task(self.heartbeat.run())
        if settings.metrics_listen:
            poller = self.poller
            state = StateCollector(
                deps.redis,
                deps.keys,
                deps.clock,
                loops=self.loops,
                in_flight=(lambda: poller.in_flight) if poller is not None else None,
                process=(name, self.role),
                cache_seconds=settings.metrics_cache_seconds,
            )
            self.metrics_server = MetricsServer(
                state, settings.metrics_listen, self.loops, settings.health_stall_seconds
            )
            await self.metrics_server.start()

    async def close(self) -> None:
        """Stop everything that was started, in reverse order."""
        if self.webhook is not None:
            await self.webhook.stop()
        if self._webhook_bot is not None:
            with contextlib.suppress(Exception):
                await self._webhook_bot.shutdown()
        if self.metrics_server is not None:
            with contextlib.suppress(Exception):
                await self.metrics_server.stop()
        if self.heartbeat is not None and self._heartbeat_task is not None:
            self.heartbeat.stop()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._heartbeat_task, 5)
        if self.broadcaster is not None and self.broadcast_task is not None:
            self.broadcaster.stop()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.broadcast_task, 10)
        if self._broadcast_bot is not None:
            with contextlib.suppress(Exception):
                await self._broadcast_bot.shutdown()
        if self.retention_worker is not None and self._retention_task is not None:
            self.retention_worker.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._retention_task, 10)
        if self.timer_worker is not None and self._timer_task is not None:
            self.timer_worker.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._timer_task, 10)
        if self.outbox_sender is not None and self._outbox_task is not None:
            self.outbox_sender.stop()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._outbox_task, 10)
        if self._outbox_bot is not None:
            with contextlib.suppress(Exception):
                await self._outbox_bot.shutdown()
        if self.application is not None:
            with contextlib.suppress(Exception):
                if self.application.running:
                    await self.application.stop()
                await self.application.shutdown()
        if self.redis is not None:
            await self.redis.aclose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
        if self.application is not None:
            log.info("bot.stopped")

    async def run(self) -> None:
        """Open, run this process's role until SIGINT/SIGTERM, close."""
        loop = asyncio.get_running_loop()
        stopped = asyncio.Event()

        def stop() -> None:
            stopped.set()
            if self.poller is not None:
                self.poller.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop)
        try:
            if self.settings.role == "webhook":
                await self.open_webhook()
                log.info("bot.role", role="webhook")
                await stopped.wait()
                return
            await self.open()
            assert self.poller is not None
            log.info("bot.role", role=self.settings.role, polls=self.polls, webhook=self.webhook is not None)
            if stopped.is_set():
                self.poller.stop()
            await self.poller.run()
        finally:
            await self.close()
            offload.shutdown()
