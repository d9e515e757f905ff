"""Exports of a report period: an Excel workbook, CSV and Open311 GeoReport v2 JSON (no Telegram here).

Privacy: an anonymous petition is exported without any identity (no name, no phone, never a Telegram
id, in any format); the Open311 export carries no identity at all, and phone numbers and e-mail
addresses written in a description are masked there. Cells a spreadsheet would run as a formula are
prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.directory import Directory
from bot.domain.reports import DialogueRecord, Period, Report, accepted_at, resolved_at
from bot.i18n import N_, Gettext
from storage.models import Official, Petition, PetitionStatus, Unit

STATUS_NAMES = {
    PetitionStatus.SUBMITTED: N_("Waiting to be accepted"),
    PetitionStatus.ACCEPTED: N_("Accepted"),
    PetitionStatus.IN_PROGRESS: N_("Being handled"),
    PetitionStatus.RESOLVED: N_("Resolved"),
    PetitionStatus.REJECTED: N_("Not accepted"),
    PetitionStatus.CLOSED: N_("Closed"),
}
TYPE_NAMES = {
    "report": N_("Report a problem"),
    "proposal": N_("Proposal"),
    "question": N_("Question"),
    "suggestion": N_("Suggestion or idea"),
    "complaint": N_("Complaint (formal)"),
    "denunciation": N_("Denunciation (formal)"),
}
STEP_NAMES = {"accept": N_("Acceptance"), "resolve": N_("Resolution")}
PETITION_HEADERS = (
    N_("Ticket"),
    N_("Received"),
    N_("Locality"),
    N_("Category"),
    N_("Type"),
    N_("Status"),
    N_("Unit responsible"),
    N_("Official"),
    N_("Accept due"),
    N_("Accepted at"),
    N_("Resolve due"),
    N_("Resolved at"),
    N_("Overdue"),
    N_("Anonymous"),
    N_("Contact name"),
    N_("Contact phone"),
    N_("Citizen says resolved"),
    N_("Rating"),
    N_("Reopened"),
    N_("Co-signers"),
    N_("Description"),
)
DIALOGUE_HEADERS = (
    N_("Dialogue"),
    N_("Held on"),
    N_("Title"),
    N_("Locality"),
    N_("Proposals"),
    N_("Resolved"),
)
_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ExportContext:
    """What turns codes into names, in one language."""

    directory: Directory
    officials: dict[str, Official]
    units: dict[str, Unit]
    gettext: Gettext
    co_signers: Mapping[str, int] = field(default_factory=dict)  # citizens who joined each petition

    @property
    def tz(self) -> ZoneInfo:
        """The province's time zone."""
        return ZoneInfo(self.directory.timezone)

    def locality(self, code: str) -> str:
        """The locality's name (its code when unknown)."""
        found = self.directory.locality(code)
        return found.name if found else code

    def category(self, key: str) -> str:
        """The category's name in the export's language."""
        found = self.directory.category(key)
        return found.name(self.gettext.lang) if found else key

    def type(self, key: str) -> str:
        """The petition type's name."""
        return self.gettext(TYPE_NAMES[key]) if key in TYPE_NAMES else key

    def status(self, status: PetitionStatus | str) -> str:
        """The status's name."""
        return self.gettext(STATUS_NAMES[PetitionStatus(status)])

    def unit_of(self, official_id: str | None) -> str:
        """The name of the unit an official belongs to."""
        official = self.officials.get(official_id or "")
        if official is None:
            return ""
        unit = self.units.get(official.unit)
        return unit.name if unit else official.unit

    def official(self, official_id: str | None) -> str:
        """An official's name."""
        official = self.officials.get(official_id or "")
        return official.name if official else (official_id or "")

    def when(self, moment: datetime | None) -> str:
        """Local ``dd/mm/yyyy HH:MM``."""
        return moment.astimezone(self.tz).strftime("%d/%m/%Y %H:%M") if moment else ""

    def yes_no(self, value: bool | None) -> str:
        """Yes / No / empty."""
        if value is None:
            return ""
        return self.gettext(N_("Yes")) if value else self.gettext(N_("No"))


def safe_cell(value: object) -> object:
    """A value a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def mask_personal(text: str) -> str:
    """The text with phone numbers and e-mail addresses masked."""
    return _EMAIL.sub("[…]", _PHONE.sub("[…]", text))


def petition_row(petition: Petition, ctx: ExportContext) -> list[object]:
    """One petitions-sheet row; an anonymous petition's identity columns stay empty."""
    accept = petition.deadlines.get("accept")
    resolve = petition.deadlines.get("resolve")
    verdict = petition.verdict
    anonymous = petition.is_anonymous
    return [
        petition.id,
        ctx.when(petition.created_at),
        ctx.locality(petition.locality_code),
        ctx.category(petition.category),
        ctx.type(petition.type),
        ctx.status(petition.status),
        ctx.unit_of(petition.assignee_id),
        ctx.official(petition.assignee_id),
        ctx.when(accept.due_at if accept else None),
        ctx.when(accepted_at(petition)),
        ctx.when(resolve.due_at if resolve else None),
        ctx.when(resolved_at(petition)),
        ctx.yes_no(petition.overdue),
        ctx.yes_no(anonymous),
        "" if anonymous else (petition.contact_name or ""),
        "" if anonymous else (petition.contact_phone or ""),
        ctx.yes_no(verdict.resolved if verdict else None),
        verdict.rating if verdict and verdict.rating else "",
        petition.reopen_count,
        ctx.co_signers.get(petition.id, 0),
        petition.description,
    ]


def petition_table(petitions: Sequence[Petition], ctx: ExportContext) -> tuple[list[str], list[list[object]]]:
    """Headers and rows of the petitions sheet."""
    headers = [ctx.gettext(h) for h in PETITION_HEADERS]
    return headers, [[safe_cell(v) for v in petition_row(p, ctx)] for p in petitions]


def dialogue_table(
    dialogues: Sequence[DialogueRecord], petitions: dict[str, Petition], ctx: ExportContext
) -> tuple[list[str], list[list[object]]]:
    """Headers and rows of the dialogues sheet."""
    headers = [ctx.gettext(h) for h in DIALOGUE_HEADERS]
    rows: list[list[object]] = []
    for dialogue in dialogues:
        resolved = sum(
            1
            for t in dialogue.proposal_tickets
            if t in petitions and petitions[t].status in (PetitionStatus.RESOLVED, PetitionStatus.CLOSED)
        )
        rows.append(
            [
                safe_cell(dialogue.id),
                ctx.when(dialogue.held_at),
                safe_cell(dialogue.title),
                ctx.locality(dialogue.locality_code) if dialogue.locality_code else "",
                len(dialogue.proposal_tickets),
                resolved,
            ]
        )
    return headers, rows


def summary_sections(report: Report, ctx: ExportContext) -> list[tuple[str, list[tuple[str, object]]]]:
    """The periodic report: numbered sections of (label, value) rows."""
    _ = ctx.gettext
    general: list[tuple[str, object]] = [(_("Petitions received"), report.received)]
    general += [
        (ctx.status(s), report.by_status.get(s.value, 0))
        for s in PetitionStatus
        if report.by_status.get(s.value)
    ]
    general += [
        (_("Citizens who joined a petition (me too)"), report.co_signatures),
        (_("Petitions joined by other citizens"), report.co_signed_petitions),
    ]
    localities: list[tuple[str, object]] = [
        (ctx.locality(code), n)
        for code, n in sorted(report.by_locality.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    categories: list[tuple[str, object]] = [
        (ctx.category(key), n)
        for key, n in sorted(report.by_category.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    types: list[tuple[str, object]] = [
        (ctx.type(key), n) for key, n in sorted(report.by_type.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    deadlines: list[tuple[str, object]] = []
    for kind, stats in report.steps.items():
        step = _(STEP_NAMES[kind])
        deadlines += [
            (
                step + " — " + _("on time"),
                f"{stats.met_on_time}/{stats.due} ({_.percent(stats.on_time_rate)})",
            ),
            (step + " — " + _("half were done within"), _.hours(stats.median_hours)),
            (step + " — " + _("nine in ten were done within"), _.hours(stats.p90_hours)),
        ]
    overdue: list[tuple[str, object]] = [
        (
            case.ticket,
            f"{ctx.locality(case.locality_code)} · {ctx.official(case.assignee_id)} · "
            f"{_(STEP_NAMES.get(case.step, case.step))} · {ctx.when(case.due_at)}",
        )
        for case in report.overdue
    ]
    if not overdue:
        overdue = [(_("None"), 0)]
    verdicts: list[tuple[str, object]] = [
        (_("Verdicts answered"), report.verdicts_answered),
        (_("Resolved, in the citizens' view"), _.percent(report.resolved_rate)),
        (_("Average rating (1–5)"), _.decimal(report.average_rating)),
        (_("Reopen rate"), f"{report.reopened}/{report.resolved_once} ({_.percent(report.reopen_rate)})"),
    ]
    dialogues: list[tuple[str, object]] = [
        (_("Dialogues held"), report.dialogues_held),
        (_("Proposals raised"), report.proposals),
        (
            _("Proposals resolved"),
            f"{report.proposals_resolved} ({_.percent(report.proposals_resolution_rate)})",
        ),
    ]
    return [
        (_("I. General"), general),
        (_("II. By locality"), localities),
        (_("III. By category"), categories),
        (_("IV. By type"), types),
        (_("V. Deadlines"), deadlines),
        (_("VI. Overdue cases"), overdue),
        (_("VII. Citizens' verdicts"), verdicts),
        (_("VIII. Dialogues"), dialogues),
    ]


def report_title(ctx: ExportContext) -> str:
    """The summary sheet's title."""
    return ctx.gettext(N_("REPORT ON RECEIVING AND HANDLING CITIZENS' PETITIONS"))


def period_line(period: Period, ctx: ExportContext) -> str:
    """``From dd/mm/yyyy to dd/mm/yyyy``."""
    return ctx.gettext(N_("From {first} to {last}")).format(
        first=f"{period.first:%d/%m/%Y}", last=f"{period.last:%d/%m/%Y}"
    )


Progress = Callable[[int, int], None]


def workbook_bytes(
    report: Report,
    petitions: Sequence[Petition],
    dialogues: Sequence[DialogueRecord],
    ctx: ExportContext,
    progress: Progress | None = None,
) -> bytes:
    """The Excel workbook: summary, petitions, dialogues."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    _ = ctx.gettext
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _("Summary")[:31]
    bold = Font(bold=True)
    summary.append([report_title(ctx)])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([ctx.directory.province_name])
    summary.append([period_line(report.period, ctx)])
    summary.append([_("Generated at"), ctx.when(report.generated_at)])
    for section, rows in summary_sections(report, ctx):
        summary.append([])
        summary.append([section])
        summary.cell(row=summary.max_row, column=1).font = bold
        for label, value in rows:
            summary.append([safe_cell(label), safe_cell(value)])
    summary.column_dimensions["A"].width = 48
    summary.column_dimensions["B"].width = 60

    sheet = book.create_sheet(_("Petitions")[:31])
    headers, table = petition_table(petitions, ctx)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = bold
    for index, row in enumerate(table, 1):
        sheet.append(row)
        if progress is not None and (index % 200 == 0 or index == len(table)):
            progress(index, len(table))
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHIJKLMNOPQRST", (16, 17, 26, 22, 18, 20, 30, 22), strict=False):
        sheet.column_dimensions[column].width = width
    sheet.column_dimensions["T"].width = 80
    for row_cells in sheet.iter_rows(min_row=2, min_col=20, max_col=20):
        for cell in row_cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    dialogue_sheet = book.create_sheet(_("Dialogues")[:31])
    by_ticket = {p.id: p for p in petitions}
    headers, dialogue_rows = dialogue_table(dialogues, by_ticket, ctx)
    dialogue_sheet.append(headers)
    for cell in dialogue_sheet[1]:
        cell.font = bold
    for row in dialogue_rows:
        dialogue_sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(petitions: Sequence[Petition], ctx: ExportContext, progress: Progress | None = None) -> str:
    """The petitions sheet as CSV (UTF-8 with a BOM so that Excel reads the diacritics)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    headers, rows = petition_table(petitions, ctx)
    writer.writerow(headers)
    for index, row in enumerate(rows, 1):
        writer.writerow(row)
        if progress is not None and (index % 200 == 0 or index == len(rows)):
            progress(index, len(rows))
    return out.getvalue()


def _iso(moment: datetime | None, ctx: ExportContext) -> str | None:
    return moment.astimezone(ctx.tz).isoformat(timespec="seconds") if moment else None


def open311(petitions: Sequence[Petition], ctx: ExportContext, now: datetime) -> dict[str, Any]:
    """Open311 GeoReport v2 services (the categories) and service requests (the petitions), no identity."""
    lang = ctx.gettext.lang
    services = [
        {
            "service_code": category.key,
            "service_name": category.name(lang),
            "description": category.name(lang),
            "metadata": False,
            "type": "realtime",
            "keywords": category.key,
            "group": ctx.gettext(N_("Urgent")) if category.is_urgent else ctx.gettext(N_("General")),
        }
        for category in ctx.directory.categories
    ]
    requests = []
    for petition in petitions:
        resolve = petition.deadlines.get("resolve")
        requests.append(
            {
                "service_request_id": petition.id,
                "status": petition.status.open311,
                "status_notes": ctx.status(petition.status),
                "service_name": ctx.category(petition.category),
                "service_code": petition.category,
                "description": mask_personal(petition.description),
                "agency_responsible": ctx.unit_of(petition.assignee_id),
                "service_notice": "",
                "requested_datetime": _iso(petition.created_at, ctx),
                "updated_datetime": _iso(petition.updated_at, ctx),
                "expected_datetime": _iso(resolve.due_at if resolve else None, ctx),
                "address": ctx.locality(petition.locality_code),
                "address_id": petition.locality_code,
                "zipcode": None,
                "media_url": None,
            }
        )
    return {
        "jurisdiction_id": ctx.directory.province_name,
        "generated_at": _iso(now, ctx),
        "services": services,
        "requests": requests,
    }
