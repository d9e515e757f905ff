"""Command line: ``python -m bot run`` (or ``tiengdan run``)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from pydantic import ValidationError

from bot.config import Settings, describe_error
from bot.domain.directory import DirectoryError
from bot.logs import configure
from storage.connection import StorageUnavailable

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 2  # "likewise": an unreachable Redis is reported like a bad setting


def _fail(message: str, code: int) -> int:
    print(f"tiengdan: {message}", file=sys.stderr)
    return code


def _settings() -> Settings:
    return Settings()


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot in polling mode until Ctrl-C."""
    from telegram.error import InvalidToken

    from bot.app import BotRuntime

    settings = _settings()
    if not settings.telegram_bot_token:
        return _fail("TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)", EXIT_CONFIG)
    configure(settings.log_level)
    try:
        asyncio.run(BotRuntime(settings).run())
    except InvalidToken:
        return _fail("TELEGRAM_BOT_TOKEN was rejected by the Bot API (invalid token)", EXIT_CONFIG)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """Exit 0 when the bot's polling loop reported within the last 90 seconds (for container health checks)."""
    from bot.app import load_directory
    from storage.connection import connect
    from storage.keys import Keys
    from storage.updates import UpdateLog

    settings = _settings()
    if settings.redis_url is None:
        return _fail("REDIS_URL is not set (the health check needs the bot's Redis)", EXIT_CONFIG)

    async def check() -> str | None:
        redis = await connect(str(settings.redis_url), max_connections=2)
        try:
            keys = Keys(settings.redis_key_prefix, load_directory(settings).ticket_prefix.lower())
            return await UpdateLog(redis, keys).last_beat()
        finally:
            await redis.aclose()

    beat = asyncio.run(check())
    if beat is None:
        return _fail("unhealthy: the polling loop has not reported in the last 90 seconds", 1)
    print(f"healthy: last poll {beat}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="tiengdan", description="Tiếng Dân — citizens' petitions bot")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot (polling)")
    run.set_defaults(func=cmd_run)
    health = sub.add_parser("health", help="exit 0 if the running bot polled recently")
    health.set_defaults(func=cmd_health)
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
    except StorageUnavailable as exc:
        return _fail(str(exc), EXIT_UNAVAILABLE)
    return code
