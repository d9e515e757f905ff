"""A province on several processes: the webhook intake (secret token, idempotent by update_id),
workers sharing the update partitions with each user's updates in order, and a worker SIGKILLed in
the middle of an update, whose pending entries another worker takes over."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot.app import BotRuntime
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.embedded_redis import free_port
from bot.i18n import Translator
from bot.webhook import SECRET_HEADER
from emulator import BotApiEmulator
from handlers.citizen.views import submitted_text
from storage.keys import Keys
from storage.update_streams import GROUP, partition_of
from tests.e2e.chaos import ROOT, BotProcess, install_directory, plain, tolerated, wait_until_delivered
from tests.e2e.conftest import Harness, make_settings
from tests.e2e.flows import consent, ready_to_send, this_year

SECRET = "s3cret-token-for-the-tests"
PARTITIONS = 16


def webhook_settings(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, port: int, **overrides: object
) -> Settings:
    return make_settings(
        emulator,
        redis_url,
        key_prefix,
        webhook_url=f"http://127.0.0.1:{port}/tg/hook",
        webhook_secret=SECRET,
        webhook_listen=f"127.0.0.1:{port}",
        update_partitions=PARTITIONS,
        partition_lease_seconds=2.0,
        **overrides,
    )


async def start(settings: Settings) -> tuple[BotRuntime, asyncio.Task[None] | None]:
    runtime = BotRuntime(settings, clock=ManualClock(datetime.now(UTC)))
    if settings.role == "webhook":
        await runtime.open_webhook()
        return runtime, None
    await runtime.open()
    assert runtime.poller is not None
    return runtime, asyncio.create_task(runtime.poller.run())


async def stop(runtime: BotRuntime, task: asyncio.Task[None] | None) -> None:
    if runtime.poller is not None:
        runtime.poller.stop()
    if task is not None:
        await asyncio.wait_for(task, 15)
    await runtime.close()


def harness(emulator: BotApiEmulator, runtime: BotRuntime, redis: aioredis.Redis, key_prefix: str) -> Harness:
    return Harness(
        emulator,
        runtime,
        redis,
        Keys(key_prefix, "ht"),
        runtime.settings,
        Translator(),
        ManualClock(datetime.now(UTC)),
    )


@pytest.fixture
async def one_process(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, redis: aioredis.Redis
) -> AsyncIterator[Harness]:
    """Role ``all`` with a webhook: the endpoint and a worker in one process."""
    emulator.allow_http_webhook = True
    runtime, task = await start(webhook_settings(emulator, redis_url, key_prefix, free_port()))
    yield harness(emulator, runtime, redis, key_prefix)
    await stop(runtime, task)
    assert not emulator.rejections, emulator.rejections


async def post(url: str, update: dict[str, object], secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=update, headers=headers) as response,
    ):
        return response.status


async def test_webhook_refuses_requests_without_the_secret_and_handles_a_retry_once(
    one_process: Harness,
) -> None:
    h, _ = one_process, one_process.tr("en")
    assert h.emulator.webhook_url == str(h.settings.webhook_url)
    assert h.emulator.webhook_secret == SECRET
    citizen = h.citizen(language_code="en")
    first = await citizen.send("/start")
    welcome = await citizen.expect("🔒")
    assert h.emulator.webhook_deliveries == [(first["update_id"], 200)]  # with the secret header
    url = str(h.settings.webhook_url)
    forged = {**first, "update_id": first["update_id"] + 1000}
    assert await post(url, forged, None) == 401
    assert await post(url, forged, "wrong-secret-of-some-length") == 401
    assert await post(url, {"not": "an update"}, SECRET) == 400
    webhook = h.runtime.webhook
    assert webhook is not None and webhook.refused == 2 and webhook.accepted == 1
    # Telegram delivers the same update again (it did not see our 200): appended once, handled once.
    assert await post(url, first, SECRET) == 200
    assert webhook.accepted == 1
    await citizen.tap(_("Handle my petitions"))  # the next update of the same user comes after it
    await h.emulator.wait_for(lambda: any(b.text.startswith("☑️") for b in welcome.iter_buttons()))
    forms = [m for m in h.emulator.bot_messages(citizen.chat_id) if m.text and m.text.startswith("🔒")]
    assert len(forms) == 1
    poller = h.runtime.poller
    assert poller is not None
    await h.emulator.wait_for(lambda: poller.handled >= 2)  # recorded just after the form's edit
    assert poller.handled == 2
    assert await h.redis.zscore(h.keys.seen_updates(), str(first["update_id"])) is not None
    assert poller.partitions == set(range(PARTITIONS))


async def test_the_emulator_retries_a_refused_delivery(emulator: BotApiEmulator) -> None:
    """Telegram's side, as the emulator plays it: a delivery that is not answered 200 comes again."""
    from aiohttp import web

    answers = [503, 500, 200]
    received: list[tuple[int, str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        received.append((update["update_id"], request.headers.get(SECRET_HEADER)))
        return web.Response(status=answers[len(received) - 1] if len(received) <= len(answers) else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        emulator.webhook_retry_first = 0.01
        user = emulator.add_user(user_id=4242, first_name="Web")
        async with aiohttp.ClientSession() as session:
            api = f"{emulator.url}/bot{emulator.token}"
            async with session.post(f"{api}/setWebhook", json={"url": "http://x/hook"}) as response:
                assert response.status == 400  # not HTTPS: refused (tests opt in to http://127.0.0.1)
            emulator.allow_http_webhook = True
            hook_url = f"http://127.0.0.1:{port}/hook"
            async with session.post(f"{api}/setWebhook", json={"url": hook_url, "secret_token": SECRET}) as r:
                assert (await r.json())["ok"]
            update = emulator.user_sends_text(user, "hello")
            await emulator.wait_for(lambda: len(received) == 3)
            async with session.post(f"{api}/getUpdates", json={}) as response:
                assert response.status == 409  # a webhook is set
        assert received == [(update["update_id"], SECRET)] * 3
        assert [status for _, status in emulator.webhook_deliveries] == [503, 500, 200]
        assert emulator.pending_update_count == 0
    finally:
        await runner.cleanup()
    emulator.rejections.clear()  # the refused http:// URL and getUpdates


async def test_two_workers_share_the_partitions_and_keep_each_users_order(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, redis: aioredis.Redis
) -> None:
    emulator.allow_http_webhook = True
    port = free_port()
    intake, _none = await start(webhook_settings(emulator, redis_url, key_prefix, port, role="webhook"))
    workers = [
        await start(webhook_settings(emulator, redis_url, key_prefix, port, role="worker")) for _ in range(2)
    ]
    try:
        first, second = (runtime.poller for runtime, _task in workers)
        assert first is not None and second is not None
        await emulator.wait_for(
            lambda: len(first.partitions) == len(second.partitions) == PARTITIONS // 2, timeout=10
        )
        assert not first.partitions & second.partitions
        h = harness(emulator, workers[0][0], redis, key_prefix)
        _ = h.tr("en")
        citizens = [h.citizen(first_name=f"U{n}", language_code="en") for n in range(12)]
        await asyncio.gather(*(consent(h, c, "en") for c in citizens))
        for citizen in citizens:  # each user's burst, all at once: one answer after another, in order
            for text in ("/new", "Thanh Sen", "/cancel", "/new"):
                emulator.user_sends_text(citizen.user, text)
        for citizen in citizens:
            await emulator.wait_for(
                lambda c=citizen: (
                    sum("Step 1 of 6" in (m.text or "") for m in emulator.bot_messages(c.chat_id)) == 2
                ),
                timeout=20,
            )
            texts = [m.text or "" for m in emulator.bot_messages(citizen.chat_id)][-4:]
            assert "Step 1 of 6" in texts[0], texts
            assert "Which one do you mean?" in texts[1], texts
            assert "Cancelled." in texts[2] and "Step 1 of 6" in texts[3], texts
        await wait_until_delivered(redis, h.keys, partitions=PARTITIONS)  # every entry acknowledged
        assert first.handled and second.handled  # both worked
        assert first.handled + second.handled == len(citizens) * 7  # each update once
    finally:
        for runtime, task in workers:
            await stop(runtime, task)
        await stop(intake, None)
    assert not emulator.rejections, emulator.rejections


async def test_a_worker_killed_mid_update_is_taken_over_nothing_lost_nothing_twice(
    emulator: BotApiEmulator, redis_url: str, key_prefix: str, redis: aioredis.Redis, tmp_path: Path
) -> None:
    emulator.allow_http_webhook = True
    port = free_port()
    keys = Keys(key_prefix, "ht")
    env = {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/tg/hook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "PARTITION_LEASE_SECONDS": "2",
    }
    intake = BotProcess(emulator, redis_url, key_prefix, tmp_path / "webhook.log", role="webhook", **env)
    workers = [
        BotProcess(emulator, redis_url, key_prefix, tmp_path / f"worker{n}.log", role="worker", **env)
        for n in range(2)
    ]
    processes = [intake, *workers]
    try:
        await install_directory(redis, keys, emulator)
        for process in processes:
            await process.start()
        await emulator.wait_for(lambda: bool(emulator.webhook_url), timeout=30)
        runtime = BotRuntime(make_settings(emulator, redis_url, key_prefix))  # not opened: for the flows
        h = harness(emulator, runtime, redis, key_prefix)
        _ = h.tr("vi")
        citizen = await ready_to_send(h)
        partition = partition_of(f"u{citizen.user.id}", PARTITIONS)

        async def owner() -> BotProcess | None:
            token = await redis.get(keys.partition_lease(partition))
            pid = int(str(token).split("-")[0]) if token else None
            return next((w for w in workers if w.process and w.process.pid == pid), None)

        victim = await owner()
        assert victim is not None
        survivor = workers[1 - workers.index(victim)]
        # The petition is written, then the handler hangs on its way to Telegram: the worker dies there.
        hang = emulator.inject("editMessageReplyMarkup", chat_id=citizen.chat_id, delay=120)
        pressed = await citizen.tap(_("✅ Send"))
        await emulator.wait_for(lambda: hang.hits == 1, timeout=20)
        assert await redis.get(keys.petition_counter(this_year())) == "1"
        pending = await redis.xpending(keys.update_stream(partition), GROUP)
        assert pending["pending"] == 1  # the update being handled: read, not acknowledged
        assert victim.process is not None
        victim.process.send_signal(signal.SIGKILL)
        await victim.process.wait()
        # The survivor takes the partition over (the dead worker's lease expires) and its pending entry.
        ticket = f"HT-{this_year()}-000001"

        for _attempt in range(300):  # the dead worker's lease expires (2 s), the survivor handles it
            if await redis.zscore(keys.handled_updates(), str(pressed["update_id"])) is not None:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the dead worker's update was not taken over")
        await citizen.expect(ticket, timeout=30)
        assert survivor.process is not None
        assert str(await redis.get(keys.partition_lease(partition))).startswith(f"{survivor.process.pid}-")
        await wait_until_delivered(redis, keys, partitions=PARTITIONS)
        assert (await redis.xpending(keys.update_stream(partition), GROUP))["pending"] == 0
        assert await redis.get(keys.petition_counter(this_year())) == "1"  # applied once
        assert await redis.zcard(keys.petitions_by_citizen(f"tg:{citizen.user.id}")) == 1
        receipt = plain(submitted_text(_, ticket, None)).split("\n")[0]
        texts = [m.text or "" for m in emulator.bot_messages(citizen.chat_id)]
        assert sum(t.startswith(receipt) for t in texts) == 1, texts  # the receipt, once
        # The killed worker comes back and gets its share again; a new update of the user is handled.
        await victim.start()
        await citizen.send("/my")
        await citizen.expect(ticket, timeout=20)
        for role in ("worker", "webhook"):  # each role's health check, as a container runs it
            check = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bot", "health", "--role", role),
                cwd=ROOT,
                env=intake.env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _unused = await check.communicate()
            assert check.returncode == 0, (role, output)
            assert b"healthy" in output, output
    except BaseException:
        for process in processes:
            print(process.log.name, process.tail(3000))
        raise
    finally:
        for process in processes:
            await process.stop()
    unexpected = [r for r in emulator.rejections if not tolerated(r.method, r.description)]
    assert not unexpected, unexpected
    assert json.dumps(intake.exit_codes) == "[0]"
