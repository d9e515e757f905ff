"""``python -m bot report`` (Excel, CSV, Open311 JSON) and ``python -m bot audit`` (the audit stream).

Both use REDIS_URL, or the embedded Redis in DATA_DIR like ``directory`` does when it is not set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.domain.clock import FileClock, SystemClock
from bot.domain.directory import Directory
from bot.domain.reports import (
    PeriodError,
    PeriodKind,
    ReportService,
    Scope,
    compute,
    custom_period,
    parse_day,
    period_of,
    received_in,
)
from bot.embedded_redis import open_redis
from bot.exports import ExportContext, csv_text, open311, workbook_bytes
from bot.i18n import Translator
from storage.audit import AuditEntry, AuditLog
from storage.cosign import CoSignRepository
from storage.keys import Keys
from storage.officials import OfficialRepository
from storage.petitions import PetitionRepository

CLI_ACTOR = "cli"
MAX_AUDIT_LINES = 1_000_000


def progress_bar(stream: TextIO, label: str) -> Callable[[int, int], None]:
    """A simple ``[#####.....] 50% 500/1000`` bar redrawn on one line of ``stream``."""

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        percent = 100 * done // total if total else 100
        stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {done}/{total}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def _now(settings: Settings) -> datetime:
    return (FileClock(settings.clock_file) if settings.clock_file else SystemClock()).now()


def cmd_report(args: argparse.Namespace, settings: Settings, directory: Directory) -> int:
    """Write the report of a period as xlsx, csv or Open311 JSON."""
    now = _now(settings)
    try:
        if args.date_from is None and args.date_to is None:
            period = period_of(PeriodKind.MONTH, now, directory.timezone)
        else:
            today = now.astimezone(ZoneInfo(directory.timezone)).date()
            first = parse_day(args.date_from) if args.date_from else today.replace(day=1)
            last = parse_day(args.date_to) if args.date_to else today
            period = custom_period(first, last, directory.timezone)
    except PeriodError as exc:
        print(f"tiengdan: --from/--to: {exc} (use YYYY-MM-DD or dd/mm/yyyy, from ≤ to)", file=sys.stderr)
        return 2
    extension = {"xlsx": "xlsx", "csv": "csv", "open311": "json"}[args.format]
    out = args.out or f"report_{period.first:%Y%m%d}_{period.last:%Y%m%d}.{extension}"
    if out == "-" and args.format == "xlsx":
        print("tiengdan: an Excel workbook cannot go to standard output: use --out FILE", file=sys.stderr)
        return 2
    show = args.progress or sys.stderr.isatty()
    gettext = Translator(settings.default_language)(args.lang)

    async def work() -> tuple[bytes, int]:
        async with open_redis(settings) as redis:
            keys = Keys(settings.redis_key_prefix, directory.ticket_prefix.lower())
            officials_repo = OfficialRepository(redis, keys)
            service = ReportService(
                PetitionRepository(redis, keys), officials_repo, cosign=CoSignRepository(redis, keys)
            )
            loading = progress_bar(sys.stderr, "loading ") if show else None
            petitions, dialogues = await service.load(period, Scope(), loading)
            co_signers = await service.co_signers(petitions)
            report = compute(petitions, period, now, dialogues, co_signers)
            received = received_in(petitions, period)
            ctx = ExportContext(
                directory,
                {o.id: o for o in await officials_repo.all()},
                {u.key: u for u in await officials_repo.units()},
                gettext,
                co_signers,
            )
            writing = progress_bar(sys.stderr, "writing ") if show else None
            if args.format == "xlsx":
                content = workbook_bytes(report, received, dialogues, ctx, writing)
            elif args.format == "csv":
                content = csv_text(received, ctx, writing).encode("utf-8")
            else:
                content = json.dumps(open311(received, ctx, now), ensure_ascii=False, indent=2).encode()
            await AuditLog(redis, keys).append(
                CLI_ACTOR,
                "export",
                now,
                None,
                format=args.format,
                first=period.first.isoformat(),
                last=period.last.isoformat(),
                out=out,
            )
            return content, len(received)

    content, count = asyncio.run(work())
    if out == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        Path(out).write_bytes(content)
        print(f"wrote {out}: {count} petitions received {period.label()}")
    return 0


def format_entry(entry: AuditEntry, tz: ZoneInfo) -> str:
    """One line: local time, actor, action, case, details."""
    details = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(entry.details.items()))
    parts = [
        entry.at.astimezone(tz).isoformat(timespec="seconds"),
        entry.actor,
        entry.action,
        entry.ticket or "-",
    ]
    return "  ".join(parts) + (f"  {details}" if details else "")


def cmd_audit(args: argparse.Namespace, settings: Settings, directory: Directory) -> int:
    """Print the audit stream, oldest first, one entry per line."""
    tz = ZoneInfo(directory.timezone)
    since: datetime | None = None
    if args.since:
        try:
            since = datetime.combine(parse_day(args.since), datetime.min.time(), tz).astimezone(UTC)
        except PeriodError as exc:
            print(f"tiengdan: --since: {exc} (use YYYY-MM-DD or dd/mm/yyyy)", file=sys.stderr)
            return 2

    def actor_matches(actor: str) -> bool:
        wanted = args.actor
        return wanted is None or actor == wanted or actor.split(":", 1)[-1] == wanted

    async def work() -> list[AuditEntry]:
        async with open_redis(settings) as redis:
            keys = Keys(settings.redis_key_prefix, directory.ticket_prefix.lower())
            return await AuditLog(redis, keys).entries(ticket=args.case, count=MAX_AUDIT_LINES)

    entries = [e for e in asyncio.run(work()) if actor_matches(e.actor) and (since is None or e.at >= since)]
    for entry in entries:
        print(format_entry(entry, tz))
    return 0
