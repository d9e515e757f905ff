"""/stats (admins: the province; supervisors: their team) and /export (admins): choose a period with buttons
or type two dates, then a summary and a chart, or a document (Excel, CSV, Open311 JSON).

Buttons: ``st:p:<period>`` and ``ex:f:<format>`` / ``ex:p:<format>:<period>``. Every press re-checks the
viewer's rights in Redis; a typed range waits in the session as a ``CaseInput`` with action ``stats_range``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update

from bot import callbacks
from bot.charts import render_chart
from bot.context import BotContext, Deps
from bot.domain.cases import Actor
from bot.domain.reports import (
    Period,
    PeriodError,
    PeriodKind,
    Report,
    ReportService,
    Scope,
    parse_range,
    period_of,
    scope_of,
)
from bot.exports import STEP_NAMES, ExportContext, csv_text, open311, workbook_bytes
from bot.i18n import N_, Gettext
from bot.logs import get_logger
from bot.offload import run_heavy
from handlers.common import Turn, begin, close_keyboard, esc, send, visible_len
from storage.models import CaseInput, PetitionStatus
from storage.officials import OfficialRepository
from storage.petitions import PetitionRepository

log = get_logger(__name__)

RANGE_INPUT = "stats_range"
FORMATS = {"xlsx": N_("📗 Excel workbook"), "csv": N_("📄 CSV (petitions)"), "o311": N_("🌐 Open311 JSON")}
PERIODS = {
    PeriodKind.WEEK: N_("This week"),
    PeriodKind.MONTH: N_("This month"),
    PeriodKind.QUARTER: N_("This quarter"),
    PeriodKind.CUSTOM: N_("📅 Custom range…"),
}
STATS_ONLY = N_("Only administrators and supervisors can see statistics.")
EXPORT_ONLY = N_("Only administrators can export data.")
NOT_AVAILABLE = N_("This choice is not available.")
ASK_RANGE = N_(
    "Type the first and the last day of the period as dd/mm/yyyy, for example: 01/01/2026 31/03/2026. "
    "/cancel to stop."
)
BAD_RANGE = N_(
    "I could not read two valid dates in order (dd/mm/yyyy, at most three years apart). "
    "Example: 01/01/2026 31/03/2026. /cancel to stop."
)
TOP = 5
OVERDUE_SHOWN = 10


def _user_id(update: Update) -> int:
    return update.effective_user.id if update.effective_user else 0


def reports(deps: Deps) -> ReportService:
    """The report service over the application's Redis (no dialogue source yet)."""
    return ReportService(
        PetitionRepository(deps.redis, deps.keys),
        OfficialRepository(deps.redis, deps.keys),
        cosign=deps.cosign.repo,
    )


async def export_context(deps: Deps, gettext: Gettext) -> ExportContext:
    """Names of localities, categories, officials and units in the viewer's language."""
    repo = OfficialRepository(deps.redis, deps.keys)
    officials = {o.id: o for o in await repo.all()}
    units = {u.key: u for u in await repo.units()}
    return ExportContext(deps.directory, officials, units, gettext)


async def _scope(deps: Deps, actor: Actor) -> Scope | None:
    return scope_of(actor, await OfficialRepository(deps.redis, deps.keys).all())


def _period_buttons(_: Gettext, namespace: str, *prefix: str) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(_(label), callback_data=callbacks.build(namespace, "p", *prefix, kind.value))]
        for kind, label in PERIODS.items()
    ]
    return InlineKeyboardMarkup(rows)


async def on_stats(update: Update, context: BotContext) -> None:
    """/stats: choose the period."""
    turn = await begin(update, context)
    actor = await turn.deps.cases.actor(_user_id(update))
    if await _scope(turn.deps, actor) is None:
        await send(update, turn._(STATS_ONLY))
        return
    await send(update, turn._("📊 Statistics: choose the period."), _period_buttons(turn._, "st"))


async def on_export(update: Update, context: BotContext) -> None:
    """/export: choose the format."""
    turn = await begin(update, context)
    _ = turn._
    actor = await turn.deps.cases.actor(_user_id(update))
    if not actor.is_admin:
        await send(update, _(EXPORT_ONLY))
        return
    rows = [
        [InlineKeyboardButton(_(label), callback_data=callbacks.build("ex", "f", key))]
        for key, label in FORMATS.items()
    ]
    await send(update, _("📤 Export: choose the format."), InlineKeyboardMarkup(rows))


async def on_report_button(update: Update, context: BotContext) -> None:
    """Every button of /stats and /export."""
    query = update.callback_query
    assert query is not None
    turn = await begin(update, context)
    _ = turn._
    data = callbacks.parse(query.data)
    actor = await turn.deps.cases.actor(_user_id(update))
    exporting = data is not None and data.namespace == "ex"
    scope = await _scope(turn.deps, actor)
    if scope is None or (exporting and not actor.is_admin):
        await query.answer(_(EXPORT_ONLY if exporting else STATS_ONLY), show_alert=True)
        return
    if data is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    fmt = data.arg(0) if exporting else ""
    if exporting and fmt not in FORMATS:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    if exporting and data.action == "f":
        await query.answer()
        await close_keyboard(update, esc(_(FORMATS[fmt])))
        await send(update, _("📤 Export: choose the period."), _period_buttons(_, "ex", fmt))
        return
    try:
        kind = PeriodKind(data.arg(1) if exporting else data.arg(0))
    except ValueError:
        kind = None
    if data.action != "p" or kind is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await close_keyboard(update, esc(_(PERIODS[kind])))
    if kind == PeriodKind.CUSTOM:
        turn.session.case_input = CaseInput(ticket="", action=RANGE_INPUT, version=0, note=fmt or None)
        await turn.save()
        await send(update, _(ASK_RANGE))
        return
    period = period_of(kind, turn.deps.clock.now(), turn.deps.directory.timezone)
    await _deliver(update, turn, actor, scope, period, fmt)


async def on_range_text(update: Update, turn: Turn, text: str | None) -> None:
    """The two dates of a custom period (the session says whether for /stats or /export)."""
    _ = turn._
    pending = turn.session.case_input
    assert pending is not None
    actor = await turn.deps.cases.actor(_user_id(update))
    scope = await _scope(turn.deps, actor)
    fmt = pending.note or ""
    if scope is None or (fmt and not actor.is_admin):
        turn.session.case_input = None
        await turn.save()
        await send(update, _(EXPORT_ONLY if fmt else STATS_ONLY))
        return
    try:
        period = parse_range(text or "", turn.deps.directory.timezone)
    except PeriodError:
        await send(update, _(BAD_RANGE))
        return
    turn.session.case_input = None
    await turn.save()
    await _deliver(update, turn, actor, scope, period, fmt)


async def _deliver(update: Update, turn: Turn, actor: Actor, scope: Scope, period: Period, fmt: str) -> None:
    deps = turn.deps
    now = deps.clock.now()
    report, received = await reports(deps).report(period, scope, now)
    ctx = await export_context(deps, turn._)
    ctx = replace(ctx, co_signers=await deps.cosign.counts([p.id for p in received]))
    chat = update.effective_chat
    assert chat is not None
    if not fmt:
        await send(update, summary_text(turn._, report, ctx, scope))
        png = await render_chart(report, ctx)  # in the chart process: nobody else waits (bot.charts)
        caption = turn._("📊 {period}").format(period=period.label())
        await chat.send_photo(InputFile(png, filename="stats.png"), caption=caption)
        return
    stem = f"report_{period.first:%Y%m%d}_{period.last:%Y%m%d}"
    if fmt == "xlsx":
        # (no dialogues yet) in the process for heavy work, like the chart: nobody else waits (bot.offload)
        content = await run_heavy(workbook_bytes, report, received, [], ctx)
        name = f"{stem}.xlsx"
    elif fmt == "csv":
        content = csv_text(received, ctx).encode("utf-8")
        name = f"{stem}.csv"
    else:
        content = json.dumps(open311(received, ctx, now), ensure_ascii=False, indent=2).encode("utf-8")
        name = f"{stem}_open311.json"
    await deps.audit.append(
        actor.ref,
        "export",
        now,
        None,
        format=fmt,
        first=period.first.isoformat(),
        last=period.last.isoformat(),
    )
    caption = turn._("📤 {period}: {count} petitions.").format(
        period=period.label(), count=turn._.number(len(received))
    )
    await chat.send_document(InputFile(content, filename=name), caption=caption)


def _counts(_: Gettext, items: list[tuple[str, int]]) -> str:
    return " · ".join(f"{esc(name)} {_.number(count)}" for name, count in items) or "–"


def _top(counts: dict[str, int], name: Callable[[str], str]) -> list[tuple[str, int]]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return [(name(key), n) for key, n in ranked]


def summary_text(_: Gettext, report: Report, ctx: ExportContext, scope: Scope) -> str:
    """The short summary sent before the chart (HTML, under Telegram's 4096 characters)."""
    where = _("the whole province") if scope.is_province else _("your team's localities and cases")
    lines = [
        _("📊 <b>Statistics</b> — {where}").format(where=esc(where)),
        _("Period: {period}").format(period=report.period.label()),
        "",
        _("<b>Received:</b> {count}").format(count=_.number(report.received)),
    ]
    statuses = [
        (ctx.status(s), report.by_status[s.value]) for s in PetitionStatus if report.by_status.get(s.value)
    ]
    lines.append(_("<b>By status:</b> {list}").format(list=_counts(_, statuses)))
    lines.append(
        _("<b>By locality:</b> {list}").format(list=_counts(_, _top(report.by_locality, ctx.locality)))
    )
    lines.append(
        _("<b>By category:</b> {list}").format(list=_counts(_, _top(report.by_category, ctx.category)))
    )
    lines.append(_("<b>By type:</b> {list}").format(list=_counts(_, _top(report.by_type, ctx.type))))
    lines.append("")
    for kind, stats in report.steps.items():
        lines.append(
            _(
                "<b>{step}:</b> on time {good} of {due} ({rate}); half were done within {median}, "
                "nine in ten within {p90}"
            ).format(
                step=esc(_(STEP_NAMES[kind])),
                good=_.number(stats.met_on_time),
                due=_.number(stats.due),
                rate=_.percent(stats.on_time_rate),
                median=_.hours(stats.median_hours),
                p90=_.hours(stats.p90_hours),
            )
        )
    lines.append(
        _("<b>Me too:</b> {count} citizens joined {petitions} of these petitions").format(
            count=_.number(report.co_signatures), petitions=_.number(report.co_signed_petitions)
        )
    )
    if report.most_co_signed:
        joined = " · ".join(f"{esc(ticket)} ({count})" for ticket, count in report.most_co_signed)
        lines.append(_("<b>Most joined open cases:</b> {list}").format(list=joined))
    lines.append(_("<b>Overdue now:</b> {count}").format(count=_.number(len(report.overdue))))
    for case in report.overdue[:OVERDUE_SHOWN]:
        lines.append(
            f"  • {esc(case.ticket)} — {esc(ctx.official(case.assignee_id))} ({ctx.when(case.due_at)})"
        )
    lines.append("")
    if not report.verdicts_answered:
        lines.append(_("<b>Citizens' verdicts:</b> none yet"))
    else:
        lines.append(
            _(
                "<b>Citizens' verdicts:</b> resolved {resolved} of {answered} answers; average rating {rating}; reopened {reopen}"
            ).format(
                resolved=_.percent(report.resolved_rate),
                answered=_.number(report.verdicts_answered),
                rating=_.decimal(report.average_rating),
                reopen=_.percent(report.reopen_rate),
            )
        )
    if not report.proposals:  # no "proposals resolved 0/0 (–)"
        lines.append(_("<b>Dialogues held:</b> {held}").format(held=_.number(report.dialogues_held)))
    else:
        lines.append(
            _("<b>Dialogues held:</b> {held}; proposals resolved {resolved}/{total} ({rate})").format(
                held=_.number(report.dialogues_held),
                resolved=_.number(report.proposals_resolved),
                total=_.number(report.proposals),
                rate=_.percent(report.proposals_resolution_rate),
            )
        )
    text = "\n".join(lines)
    while visible_len(text) > 4000 and len(lines) > 4:  # never: every list above is bounded
        lines.pop()
        text = "\n".join(lines)
    return text
