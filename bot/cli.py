"""Command line: ``python -m bot run`` (or ``tiengdan run``)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from pydantic import ValidationError

from bot.config import Settings, describe_error
from bot.domain.directory import DirectoryError
from bot.domain.topics import TopicVocabularyError
from bot.logs import configure
from storage.connection import StorageUnavailable

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 2  # "likewise": an unreachable Redis is reported like a bad setting


def _fail(message: str, code: int) -> int:
    print(f"tiengdan: {message}", file=sys.stderr)
    return code


def _settings(role: str | None = None) -> Settings:
    return Settings(role=role) if role else Settings()


def _role_problem(settings: Settings) -> str | None:
    """What a role lacks to run (README "Scaling out"), if anything."""
    role = settings.role
    if role in ("worker", "webhook") and not settings.has_redis:
        return f"REDIS_URL is not set (every process of a scaled-out bot shares one Redis; --role {role})"
    webhook = role == "webhook" or settings.webhook_url is not None
    if webhook and role != "worker" and (settings.webhook_url is None or not settings.webhook_secret):
        return "the webhook needs WEBHOOK_URL (the public HTTPS address) and WEBHOOK_SECRET (16+ of A-Z a-z 0-9 _ -)"
    return None


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot until Ctrl-C: every role in one process (default), or one of them."""
    from redis.exceptions import RedisError
    from telegram.error import InvalidToken, TelegramError

    from bot.app import BotRuntime

    settings = _settings(args.role)
    if not settings.telegram_bot_token:
        return _fail("TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)", EXIT_CONFIG)
    problem = _role_problem(settings)
    if problem:
        return _fail(problem, EXIT_CONFIG)
    configure(settings.log_level, settings.log_format)
    try:
        asyncio.run(BotRuntime(settings).run())
    except InvalidToken:
        return _fail("TELEGRAM_BOT_TOKEN was rejected by the Bot API (invalid token)", EXIT_CONFIG)
    except TelegramError as exc:
        return _fail(
            f"TELEGRAM_API_URL {settings.api_base} did not answer as a Bot API server: {exc}", EXIT_CONFIG
        )
    except RedisError as exc:
        return _fail(f"Redis failed: {exc}", EXIT_UNAVAILABLE)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """Container health check. ``--role webhook``: this host's webhook endpoint answers ``/healthz``
    (it checks Redis). Otherwise, with ``PROCESS_NAME`` (or ``--process``): exit 0 when that process's
    heartbeat is there and none of its loops is silent for over ``HEALTH_STALL_SECONDS`` (or
    ``--threshold``). Without: the polling loop (of whichever process polls; with a webhook or for
    ``--role worker``, a worker's partition round) reported in the last 90 seconds, and every process
    of this host (``<hostname>:<pid>``) with a heartbeat is healthy. ``--all``: list every process and
    its loops; exit 1 when one is unhealthy."""
    from bot import health
    from bot.app import load_directory
    from storage.connection import connect
    from storage.keys import Keys
    from storage.processes import ProcessHeartbeats
    from storage.update_streams import UpdateStreams
    from storage.updates import UpdateLog

    settings = _settings(args.role)
    if settings.role == "webhook":
        return _webhook_health(settings)
    if not settings.has_redis:
        return _fail(
            "REDIS_URL (or REDIS_SENTINEL, REDIS_CLUSTER) is not set (the health check needs the bot's Redis)",
            EXIT_CONFIG,
        )
    polling = settings.role == "all" and settings.webhook_url is None
    stall = args.threshold if args.threshold is not None else settings.health_stall_seconds
    name = args.process or settings.process_name

    async def check() -> tuple[list[health.Verdict], str | None, bool]:
        redis = await connect(settings.redis_target(), max_connections=2)
        try:
            keys = Keys(settings.redis_key_prefix, load_directory(settings).ticket_prefix.lower())
            repo = ProcessHeartbeats(redis, keys)
            if args.all:
                return await health.check_all(repo, stall), None, True
            if name:
                return [await health.check(repo, name, stall)], None, True
            verdicts = [await health.check(repo, n, stall) for n in await health.local_names(repo)]
            if polling:
                return verdicts, await UpdateLog(redis, keys).last_beat(), False
            streams = UpdateStreams(redis, keys, settings.update_partitions)
            return verdicts, await streams.last_beat(), False
        finally:
            await redis.aclose()

    verdicts, beat, per_process = asyncio.run(check())
    for verdict in verdicts:
        print(verdict.describe())
    if args.all:
        if not verdicts:
            return _fail("no process has written a heartbeat in the last day", 1)
        return 0 if all(v.healthy for v in verdicts if v.found) else 1
    if not per_process and beat is None:
        what = "the polling loop" if polling else "no worker"
        return _fail(f"unhealthy: {what} has not reported in the last 90 seconds", 1)
    if any(not v.healthy for v in verdicts):
        return _fail(f"unhealthy: a loop is stalled for over {stall:g} s, or the heartbeat is gone", 1)
    if not per_process:
        print(f"healthy: last {'poll' if polling else 'worker round'} {beat}")
    return 0


def _webhook_health(settings: Settings) -> int:
    """GET /healthz on this host's WEBHOOK_LISTEN port."""
    import urllib.error
    import urllib.request

    _host, port = settings.listen_address
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        return _fail(f"unhealthy: the webhook endpoint {url} did not answer 200: {exc}", 1)
    print(f"healthy: webhook endpoint {url}: {body}")
    return 0


def cmd_directory(args: argparse.Namespace) -> int:
    """``directory import FILE [--dry-run]`` / ``directory export [--out FILE]``: the officials directory.

    Uses REDIS_URL, or the embedded Redis in DATA_DIR like ``run`` when it is not set.
    """
    from pathlib import Path

    from bot.app import load_directory
    from bot.domain.officials_directory import (
        OfficialsDirectoryError,
        export_directory,
        import_directory,
        load_officials_directory,
        parse_officials_directory,
    )
    from bot.embedded_redis import open_redis
    from storage.keys import Keys

    settings = _settings()
    directory = load_directory(settings)
    if args.action == "import":  # validate before touching (or starting) Redis
        try:
            loaded = load_officials_directory(Path(args.file), directory)
        except OfficialsDirectoryError as exc:
            return _fail(str(exc), EXIT_CONFIG)
        if args.dry_run:
            print(f"{loaded.summary('valid:')} (dry run: nothing written)")
            return 0

    async def work() -> str | None:
        async with open_redis(settings) as redis:
            keys = Keys(settings.redis_key_prefix, directory.ticket_prefix.lower())
            if args.action == "import":
                loaded = await import_directory(redis, keys, Path(args.file), directory)
                return loaded.summary()
            return await export_directory(redis, keys)

    try:
        result = asyncio.run(work())
    except OfficialsDirectoryError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    if args.action == "import":
        print(result)
        return 0
    if result is None:
        return _fail("no officials directory in Redis yet (load one with: directory import FILE)", 1)
    try:
        parse_officials_directory(result, directory, name="export")
    except OfficialsDirectoryError as exc:  # e.g. a deactivated official whose unit was removed
        print(f"tiengdan: warning: the export will not import as is: {exc}", file=sys.stderr)
    if args.out:
        Path(args.out).write_text(result, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(result)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``report [--from DATE] [--to DATE] --format xlsx|csv|open311 [--out FILE] [--lang vi|en]``."""
    from bot import report_cli
    from bot.app import load_directory

    settings = _settings()
    return report_cli.cmd_report(args, settings, load_directory(settings))


def cmd_audit(args: argparse.Namespace) -> int:
    """``audit [--case ID] [--actor ID] [--since DATE]``: print the audit trail, one line per entry."""
    from bot import report_cli
    from bot.app import load_directory

    settings = _settings()
    return report_cli.cmd_audit(args, settings, load_directory(settings))


def cmd_topics(args: argparse.Namespace) -> int:
    """``topics check|evaluate FILE...|corrections``: the topics vocabulary and officials' corrections."""
    from bot import topics_cli

    return topics_cli.cmd_topics(args, _settings())


def cmd_similar(args: argparse.Namespace) -> int:
    """``similar rebuild``: index every open petition again for "me too"."""
    from bot import topics_cli

    return topics_cli.cmd_similar(args, _settings())


def cmd_bench_similarity(args: argparse.Namespace) -> int:
    """``bench-similarity``: latency of the "me too" search with many stored petitions (not a test)."""
    from bot import bench_similarity

    return bench_similarity.cmd_bench(args, _settings())


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Try the whole bot in a browser: embedded Redis, a local Bot API emulator, the bot and a web page
    with three chats (citizen, official, admin). No Telegram token, no Redis installation."""
    from pathlib import Path

    from sandbox import run

    return run(args.host, args.port, Path(args.data) if args.data else None, args.log_level)


def cmd_bench(args: argparse.Namespace) -> int:
    """``bench``: updates/s, latency, CPU and Redis commands per update of the full citizen flow."""
    from bot import bench

    return bench.cmd_bench(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="tiengdan", description="Tiếng Dân — citizens' petitions bot")
    sub = parser.add_subparsers(dest="command", required=True)
    roles = ("all", "worker", "webhook")
    run = sub.add_parser("run", help="run the bot (polling, or a webhook; one process or several)")
    run.set_defaults(func=cmd_run)
    run.add_argument(
        "--role",
        choices=roles,
        help="all (default: intake + handling + timers), worker (handles the update streams, timers, "
        "outbox, broadcasts) or webhook (only the HTTP endpoint); overrides ROLE",
    )
    health = sub.add_parser(
        "health",
        help="exit 0 if this process's loops (or the poller, a worker, the webhook) made progress lately",
    )
    health.set_defaults(func=cmd_health)
    health.add_argument("--role", choices=roles, help="the role to check (default: ROLE, else all)")
    health.add_argument("--process", metavar="NAME", help="check this process (default: PROCESS_NAME)")
    health.add_argument("--all", action="store_true", help="list every process and its loops")
    health.add_argument(
        "--threshold", type=float, metavar="SECONDS", help="stalled after this long (HEALTH_STALL_SECONDS)"
    )
    officials = sub.add_parser("directory", help="import or export the officials directory (YAML)")
    officials.set_defaults(func=cmd_directory)
    actions = officials.add_subparsers(dest="action", required=True)
    importing = actions.add_parser("import", help="validate FILE and install it in Redis (all or nothing)")
    importing.add_argument(
        "file", metavar="FILE", help="officials directory YAML (bot/provinces/OFFICIALS.md)"
    )
    importing.add_argument("--dry-run", action="store_true", help="only validate FILE; touch nothing")
    exporting = actions.add_parser("export", help="print the officials directory stored in Redis as YAML")
    exporting.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    report = sub.add_parser("report", help="export a period's petitions: Excel, CSV or Open311 JSON")
    report.set_defaults(func=cmd_report)
    report.add_argument(
        "--from", dest="date_from", metavar="DATE", help="first day (YYYY-MM-DD or dd/mm/yyyy)"
    )
    report.add_argument("--to", dest="date_to", metavar="DATE", help="last day, included (default: today)")
    report.add_argument("--format", choices=("xlsx", "csv", "open311"), default="xlsx", help="default xlsx")
    report.add_argument("--out", metavar="FILE", help="output file ('-': standard output, not for xlsx)")
    report.add_argument("--lang", choices=("vi", "en"), default="vi", help="headers' language (default vi)")
    report.add_argument(
        "--progress", action="store_true", help="show the progress bar even when not a terminal"
    )
    audit = sub.add_parser("audit", help="print the audit trail (actions of officials and admins)")
    audit.set_defaults(func=cmd_audit)
    audit.add_argument("--case", metavar="ID", help="only this ticket")
    audit.add_argument("--actor", metavar="ID", help="only this actor (e.g. ts-cb, official:ts-cb, cli)")
    audit.add_argument("--since", metavar="DATE", help="from this day on (YYYY-MM-DD or dd/mm/yyyy)")
    topics = sub.add_parser(
        "topics", help="the topics vocabulary: check it, measure it, officials' corrections"
    )
    topics.set_defaults(func=cmd_topics)
    topic_actions = topics.add_subparsers(dest="action", required=True)
    check = topic_actions.add_parser("check", help="validate the vocabulary (TOPICS_FILE or topics.yaml)")
    check.add_argument("--vocabulary", metavar="FILE", help="another vocabulary file")
    evaluate = topic_actions.add_parser("evaluate", help="top-1/top-3 accuracy on labelled petitions")
    evaluate.add_argument("files", nargs="+", metavar="FILE", help="YAML: petitions: [{topic, text}]")
    evaluate.add_argument("--vocabulary", metavar="FILE", help="another vocabulary file")
    corrections = topic_actions.add_parser(
        "corrections", help="officials' topic corrections and words to add to the vocabulary"
    )
    corrections.add_argument("--since", metavar="DATE", help="from this day on (YYYY-MM-DD or dd/mm/yyyy)")
    corrections.add_argument("--format", choices=("text", "csv"), default="text", help="default text")
    similar = sub.add_parser("similar", help='the "me too" index of open petitions')
    similar.set_defaults(func=cmd_similar)
    similar_actions = similar.add_subparsers(dest="action", required=True)
    similar_actions.add_parser("rebuild", help="index every open petition again")
    bench = sub.add_parser(
        "bench-similarity", help='"me too" search latency with many stored petitions (own Redis; not a test)'
    )
    bench.set_defaults(func=cmd_bench_similarity)
    bench.add_argument(
        "--petitions", type=int, default=100_000, help="open petitions stored (default 100000)"
    )
    bench.add_argument("--searches", type=int, default=1000, help="searches timed (default 1000)")
    bench.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    sandbox = sub.add_parser(
        "sandbox", help="try the bot in a browser: no Telegram token, no Redis needed (http://127.0.0.1:8080)"
    )
    sandbox.set_defaults(func=cmd_sandbox)
    sandbox.add_argument("--host", default="127.0.0.1", help="address of the web page (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8080, help="port of the web page (default 8080)")
    sandbox.add_argument(
        "--data", metavar="DIR", help="keep the sandbox's Redis data in DIR (default: a temporary folder)"
    )
    sandbox.add_argument(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="bot's log level",
    )
    bench = sub.add_parser(
        "bench", help="benchmark: the full citizen flow against a local emulator (prints figures)"
    )
    bench.set_defaults(func=cmd_bench)
    from bot.bench import add_arguments

    add_arguments(bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; exits 2 on a configuration error or an unreachable Redis."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ValidationError as exc:
        return _fail(describe_error(exc), EXIT_CONFIG)
    except DirectoryError as exc:
        return _fail(f"DIRECTORY_FILE: {exc}", EXIT_CONFIG)
    except TopicVocabularyError as exc:
        return _fail(f"TOPICS_FILE: {exc}", EXIT_CONFIG)
    except StorageUnavailable as exc:
        return _fail(str(exc), EXIT_UNAVAILABLE)
    return code
