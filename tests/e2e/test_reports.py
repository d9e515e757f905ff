"""/stats, /export, ``python -m bot report`` and ``python -m bot audit`` over a seeded data set.

Petitions are written straight through storage with known times, statuses and verdicts; every expected
number is worked out here from that data set, not taken from the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from PIL import Image

from emulator import ScriptedUser
from emulator.models import SentMessage
from handlers.admin.reports import ASK_RANGE, BAD_RANGE
from storage.audit import AuditLog
from storage.models import Deadline, HistoryEntry, Petition, PetitionStatus, Session, Verdict
from storage.petitions import PetitionRepository
from tests.e2e.conftest import Harness, Staff

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 5, 20, 10, 0, tzinfo=TZ)  # Wednesday; "this month" is May 2026
ROOT = Path(__file__).resolve().parents[2]
TS, HHT = "18073", "18652"  # Phường Thành Sen, Phường Hà Huy Tập
SECRET_NAME, SECRET_PHONE = "Hoàng Bí Mật", "+84987654321"


def at(day: int, hour: int, month: int = 5) -> datetime:
    """A local time in 2026."""
    return datetime(2026, month, day, hour, 0, tzinfo=TZ)


@dataclass
class Seed:
    """One seeded petition and what it should count as."""

    key: str
    locality: str
    category: str
    type: str
    status: PetitionStatus
    created: datetime
    assignee: str
    accept: tuple[datetime, datetime | None]  # due, met
    resolve: tuple[datetime, datetime | None] | None = None
    resolved_on: datetime | None = None
    verdict: tuple[bool, int | None] | None = None
    reopened: int = 0
    anonymous: bool = False


SEEDS = [
    Seed("p1", TS, "land", "report", PetitionStatus.CLOSED, at(4, 9), "ts-cb",
         (at(5, 17), at(4, 15)), (at(18, 17), at(10, 9)), at(10, 9), (True, 5)),
    Seed("p2", TS, "land", "proposal", PetitionStatus.ACCEPTED, at(6, 8), "ts-cb",
         (at(7, 17), at(8, 10)), (at(22, 17), None), anonymous=True),
    Seed("p3", HHT, "environment", "question", PetitionStatus.SUBMITTED, at(11, 10), "hht-cb",
         (at(12, 17), None)),
    Seed("p4", TS, "environment", "report", PetitionStatus.IN_PROGRESS, at(12, 8), "ts-cb",
         (at(13, 17), at(12, 11)), (at(26, 17), None), at(14, 9), (False, None), reopened=1),
    Seed("p5", HHT, "land", "report", PetitionStatus.RESOLVED, at(13, 8), "hht-cb",
         (at(14, 17), at(13, 9)), (at(27, 17), at(15, 16)), at(15, 16)),
    # April: outside the period, but open and overdue now
    Seed("p6", TS, "construction", "report", PetitionStatus.SUBMITTED, at(20, 8, 4), "ts-cb",
         (at(21, 17, 4), None)),
]  # fmt: skip


def build(seed: Seed, n: int) -> Petition:
    """The stored petition of a seed."""
    history = [HistoryEntry(at=seed.created, actor="citizen", action="submitted")]
    if seed.accept[1] is not None:
        history.append(HistoryEntry(at=seed.accept[1], actor=f"official:{seed.assignee}", action="accepted"))
    if seed.resolved_on is not None:
        history.append(
            HistoryEntry(at=seed.resolved_on, actor=f"official:{seed.assignee}", action="resolved")
        )
    deadlines = {"accept": Deadline(kind="accept", due_at=seed.accept[0], met_at=seed.accept[1])}
    if seed.resolve is not None:
        deadlines["resolve"] = Deadline(kind="resolve", due_at=seed.resolve[0], met_at=seed.resolve[1])
    verdict = None
    if seed.verdict is not None:
        asked = (seed.resolved_on or seed.created) + timedelta(hours=1)
        verdict = Verdict(asked_at=asked, answered_at=asked, resolved=seed.verdict[0], rating=seed.verdict[1])
    return Petition(
        id="",
        citizen_id=f"tg:seed{n}",
        channel="tg",
        draft_id=f"seed-draft-{seed.key}-{n}",
        locality_code=seed.locality,
        category=seed.category,
        type=seed.type,
        description=f"Phản ánh {seed.key}: gọi 0912345678 hoặc <b>mail</b> an@example.vn",
        is_anonymous=seed.anonymous,
        # stored even for the anonymous one: the exports must still never show it
        contact_name=SECRET_NAME if seed.anonymous else f"Người dân {seed.key}",
        contact_phone=SECRET_PHONE if seed.anonymous else f"+8491000000{n}",
        language="vi",
        status=seed.status,
        created_at=seed.created,
        updated_at=seed.resolved_on or seed.created,
        history=history,
        assignee_id=seed.assignee,
        deadlines=deadlines,
        resolved_at=seed.resolved_on,
        reopen_count=seed.reopened,
        verdict=verdict,
    )


async def seed(h: Harness) -> dict[str, str]:
    """Store the data set; returns seed key → ticket."""
    h.clock.set(NOW.astimezone(UTC))
    repo = PetitionRepository(h.redis, h.keys)
    tickets = {}
    for n, s in enumerate(SEEDS):
        petition = build(s, n)
        session = Session(citizen_id=petition.citizen_id, updated_at=petition.created_at)
        ticket, created = await repo.create(petition, ticket_prefix="HT", year=2026, session=session)
        assert created
        tickets[s.key] = ticket
    return tickets


@dataclass
class Expected:
    """The numbers of a scope, worked out from SEEDS."""

    received: int
    accept: tuple[int, int]
    resolve: tuple[int, int]
    accept_median: float
    accept_p90: float
    overdue: list[str]


def expected(keys: set[str]) -> Expected:
    """Independent arithmetic over the seeds in scope (May 2026, now = NOW)."""
    may = [s for s in SEEDS if s.key in keys and s.created.month == 5]

    def step(pairs: list[tuple[datetime, datetime | None]]) -> tuple[int, int]:
        counted = [(due, met) for due, met in pairs if met is not None or due <= NOW]
        return sum(1 for due, met in counted if met is not None and met <= due), len(counted)

    accept_hours = sorted((s.accept[1] - s.created).total_seconds() / 3600 for s in may if s.accept[1])
    p90 = accept_hours[math.ceil(0.9 * len(accept_hours)) - 1]
    overdue = [
        s.key
        for s in SEEDS
        if s.key in keys
        and s.status in (PetitionStatus.SUBMITTED, PetitionStatus.ACCEPTED, PetitionStatus.IN_PROGRESS)
        and any(met is None and due <= NOW for due, met in [s.accept, *([s.resolve] if s.resolve else [])])
    ]
    return Expected(
        received=len(may),
        accept=step([s.accept for s in may]),
        resolve=step([s.resolve for s in may if s.resolve]),
        accept_median=statistics.median(accept_hours),
        accept_p90=p90,
        overdue=overdue,
    )


def plain(template: str, **values: object) -> str:
    """A translated HTML template as the user reads it (tags removed)."""
    return re.sub(r"<[^>]+>", "", template).format(**values)


def file_bytes(h: Harness, file_id: str | None) -> bytes:
    """What the bot uploaded (the emulator keeps it)."""
    assert file_id is not None
    return h.emulator.files[file_id].data


def is_png(data: bytes) -> tuple[int, int]:
    """The PNG's size, after checking its signature and decoding it."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.size


async def media(h: Harness, user: ScriptedUser, kind: str, count: int = 1) -> SentMessage:
    """Wait for the ``count``-th bot message of that kind in the user's chat."""

    def found() -> list[SentMessage]:
        return [m for m in h.emulator.bot_messages(user.chat_id) if m.kind == kind]

    await h.emulator.wait_for(lambda: len(found()) >= count, 10)
    return found()[count - 1]


async def test_stats_for_the_admin_and_the_supervisor(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    tickets = await seed(h)
    admin = staff["tcd-tb"]
    await admin.send("/stats")
    await admin.expect(_("📊 Statistics: choose the period."))
    await admin.tap(_("This month"))
    summary = await admin.expect(plain(_("Period: {period}"), period="01/05/2026 – 31/05/2026"))
    every = expected({s.key for s in SEEDS})
    text = summary.text or ""
    assert plain(_("<b>Received:</b> {count}"), count=every.received) in text
    accept_name, resolve_name = _("Acceptance"), _("Resolution")
    accept_line = next(line for line in text.splitlines() if line.startswith(accept_name))
    assert f"{every.accept[0]}/{every.accept[1]}" in accept_line
    assert _.hours(every.accept_median) in accept_line and _.hours(every.accept_p90) in accept_line
    assert "trung vị" not in text and "phân vị" not in text  # plain words, not statistics jargon
    assert "một nửa số hồ sơ xong trong vòng" in accept_line and "9/10 hồ sơ" in accept_line
    resolve_line = next(line for line in text.splitlines() if line.startswith(resolve_name))
    assert f"{every.resolve[0]}/{every.resolve[1]}" in resolve_line
    assert plain(_("<b>Overdue now:</b> {count}"), count=len(every.overdue)) in text
    for key in every.overdue:
        assert tickets[key] in text
    # verdicts: p1 says resolved (5 stars), p4 says not yet; p1, p4, p5 were resolved once, p4 reopened
    assert "50%" in text and "5,00" in text and "33,3%" in text  # Vietnamese decimal commas
    dialogues = next(line for line in text.splitlines() if line.startswith(_("Dialogues held")))
    assert dialogues == plain(_("<b>Dialogues held:</b> {held}"), held=0)  # not "proposals resolved 0/0 (–)"
    chart = await media(h, admin, "photo")
    assert "01/05/2026 – 31/05/2026" in (chart.text or "")
    width, height = is_png(file_bytes(h, chart.file_id))
    assert width >= 600 and height >= 600

    chair = staff["ts-ct"]  # supervisor of ts-cb: Thành Sen only
    await chair.send("/stats")
    await chair.tap(_("This month"))
    scoped = await chair.expect(plain(_("Period: {period}"), period="01/05/2026 – 31/05/2026"))
    mine = expected({s.key for s in SEEDS if s.locality == TS or s.assignee == "ts-cb"})
    assert plain(_("<b>Received:</b> {count}"), count=mine.received) in (scoped.text or "")
    assert tickets["p3"] not in (scoped.text or "") and tickets["p6"] in (scoped.text or "")
    assert "01/05/2026" in ((await media(h, chair, "photo")).text or "")


async def test_custom_range_and_refusals(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    await seed(h)
    admin = staff["tcd-tb"]
    await admin.send("/stats")
    await admin.tap(_("📅 Custom range…"))
    await admin.expect(_(ASK_RANGE))
    await admin.send("31/05/2026 01/05/2026")  # reversed: explained, still waiting
    await admin.expect(_(BAD_RANGE))
    await admin.send("11/05/2026 - 13/05/2026")
    summary = await admin.expect(plain(_("Period: {period}"), period="11/05/2026 – 13/05/2026"))
    inside = [s for s in SEEDS if at(11, 0) <= s.created < at(14, 0)]
    assert plain(_("<b>Received:</b> {count}"), count=len(inside)) in (summary.text or "")
    assert "11/05/2026 – 13/05/2026" in ((await media(h, admin, "photo")).text or "")  # the chart's caption
    # A period without answered verdicts says so in words, not "– of 0 answers".
    assert _("<b>Citizens' verdicts:</b> none yet").split("</b>")[1] not in (summary.text or "")
    await admin.send("/stats")
    await admin.tap(_("📅 Custom range…"))
    await admin.send("01/04/2026 - 02/04/2026")
    empty = await admin.expect(plain(_("Period: {period}"), period="01/04/2026 – 02/04/2026"))
    assert plain(_("<b>Citizens' verdicts:</b> none yet")) in (empty.text or "")

    citizen = h.citizen()
    await citizen.send("/stats")
    await citizen.expect(_("Only administrators and supervisors can see statistics."))
    await citizen.send("/export")
    await citizen.expect(_("Only administrators can export data."))
    officer = staff["ts-cb"]  # a plain official
    await officer.send("/stats")
    await officer.expect(_("Only administrators and supervisors can see statistics."))
    chair = staff["ts-ct"]  # a supervisor may see statistics but not export
    await chair.send("/export")
    await chair.expect(_("Only administrators can export data."))
    # forged buttons are refused as well: a citizen's export, a supervisor's export
    for user, data in ((citizen, "ex:p:xlsx:month"), (chair, "ex:p:o311:week"), (citizen, "st:p:month")):
        update = h.emulator.user_presses(user.user, user.last_bot_message, data, strict=False)
        answered = update["callback_query"]["id"]
        await h.emulator.wait_for(lambda q=answered: q in h.emulator.callback_answers)
        assert h.emulator.callback_answers[answered].get("show_alert")
    assert not [m for m in h.emulator.bot_messages(citizen.chat_id) if m.kind == "document"]


async def test_exports_in_telegram(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    tickets = await seed(h)
    admin = staff["tcd-tb"]
    may = [s for s in SEEDS if s.created.month == 5]

    await admin.send("/export")
    await admin.tap(_("📗 Excel workbook"))
    await admin.tap(_("This month"))
    document = await admin.expect(
        _("📤 {period}: {count} petitions.").format(period="01/05/2026 – 31/05/2026", count=len(may))
    )
    book = openpyxl.load_workbook(io.BytesIO(file_bytes(h, document.file_id)))
    assert len(book.sheetnames) == 3
    summary, sheet, dialogues = (book[name] for name in book.sheetnames)
    labels = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row and len(row) > 1}
    assert labels[_("Petitions received")] == len(may)
    rows = list(sheet.iter_rows(values_only=True))
    headers = rows[0]
    assert headers[0] == _("Ticket") and _("Contact name") in headers
    by_ticket = {row[0]: dict(zip(headers, row, strict=True)) for row in rows[1:]}
    assert set(by_ticket) == {tickets[s.key] for s in may}
    anonymous = by_ticket[tickets["p2"]]
    assert not anonymous[_("Contact name")] and not anonymous[_("Contact phone")]
    assert by_ticket[tickets["p1"]][_("Contact name")] == "Người dân p1"
    everything = json.dumps([[str(c) for c in r] for ws in book for r in ws.iter_rows(values_only=True)])
    assert SECRET_NAME not in everything and SECRET_PHONE not in everything and "tg:seed" not in everything
    assert [c for c in next(dialogues.iter_rows(values_only=True))] and dialogues.max_row == 1  # headers only

    await admin.send("/export")
    await admin.tap(_("🌐 Open311 JSON"))
    await admin.tap(_("This month"))
    document = await admin.expect(
        _("📤 {period}: {count} petitions.").format(period="01/05/2026 – 31/05/2026", count=len(may))
    )
    data = json.loads(file_bytes(h, document.file_id))
    assert {s["service_code"] for s in data["services"]} >= {"land", "environment"}
    required = {"service_request_id", "status", "service_code", "service_name", "requested_datetime",
                "updated_datetime", "expected_datetime", "agency_responsible", "address", "description"}  # fmt: skip
    for request in data["requests"]:
        assert required <= set(request)
        seeded = next(s for s in SEEDS if tickets[s.key] == request["service_request_id"])
        closed = seeded.status in (PetitionStatus.RESOLVED, PetitionStatus.CLOSED, PetitionStatus.REJECTED)
        assert request["status"] == ("closed" if closed else "open")
        assert datetime.fromisoformat(request["requested_datetime"]) == seeded.created
        if seeded.resolve:
            assert datetime.fromisoformat(request["expected_datetime"]) == seeded.resolve[0]
    raw = json.dumps(data, ensure_ascii=False)
    for personal in (
        SECRET_NAME,
        SECRET_PHONE,
        "Người dân",
        "0912345678",
        "an@example.vn",
        "tg:seed",
        "+849100",
    ):
        assert personal not in raw

    entries = await h.redis.xrange(h.keys.audit())
    exports = [fields for _id, fields in entries if fields["action"] == "export"]
    assert [e["d:format"] for e in exports] == ["xlsx", "o311"] and exports[0]["actor"] == "official:tcd-tb"


def run_cli(h: Harness, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot ...`` against the test Redis and key prefix, with the test's clock."""
    clock = tmp_path / "clock"
    clock.write_text(NOW.isoformat())
    env = {
        **os.environ,
        "REDIS_URL": str(h.settings.redis_url),
        "REDIS_KEY_PREFIX": h.settings.redis_key_prefix,
        "CLOCK_FILE": str(clock),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_report_and_audit_commands(harness: Harness, staff: Staff, tmp_path: Path) -> None:
    h = harness
    tickets = await seed(h)
    may = [s for s in SEEDS if s.created.month == 5]
    out = tmp_path / "may.xlsx"
    done = run_cli(
        h, tmp_path, "report", "--from", "01/05/2026", "--to", "2026-05-31", "--out", str(out), "--progress"
    )
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr  # the progress bar
    book = openpyxl.load_workbook(out)
    petitions = book[book.sheetnames[1]]
    assert petitions.max_row == 1 + len(may)

    done = run_cli(h, tmp_path, "report", "--from", "2026-05-01", "--to", "2026-05-31", "--format", "csv",
                   "--lang", "en", "--out", "-")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout.lstrip("\ufeff"))))
    en = h.tr("en")
    assert rows[0][0] == en("Ticket") and len(rows) == 1 + len(may)
    assert SECRET_NAME not in done.stdout and SECRET_PHONE not in done.stdout
    assert tickets["p6"] not in done.stdout  # April

    done = run_cli(h, tmp_path, "report", "--format", "open311", "--out", "o311.json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads((tmp_path / "o311.json").read_text())["requests"]) == len(may)  # this month

    bad = run_cli(h, tmp_path, "report", "--from", "31/02/2026")
    assert bad.returncode == 2 and "--from" in bad.stderr

    await AuditLog(h.redis, h.keys).append("official:ts-cb", "accepted", NOW, tickets["p1"], note="ok")
    done = run_cli(h, tmp_path, "audit")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sum(1 for line in lines if "  cli  export  " in line) == 3
    done = run_cli(h, tmp_path, "audit", "--case", tickets["p1"], "--actor", "ts-cb", "--since", "01/05/2026")
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1
    assert tickets["p1"] in done.stdout and "accepted" in done.stdout
    assert run_cli(h, tmp_path, "audit", "--since", "2099-01-01").stdout == ""
