"""The /stats chart: petitions per week by status, and the on-time rate by locality (PNG, matplotlib Agg).

Drawing takes a few hundred milliseconds of CPU and ~60 MB, and in a thread it would still hold the GIL
for that long: every other user of the process would wait (issue 14). So the chart is prepared as plain
data here (``chart_data``: labels already translated, numbers) and drawn in the process for heavy work
(``bot.offload``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from bot.domain.reports import Report
from bot.exports import ExportContext
from bot.i18n import N_
from bot.offload import run_heavy
from storage.models import PetitionStatus

COLOURS = {
    PetitionStatus.SUBMITTED: "#f2c14e",
    PetitionStatus.ACCEPTED: "#4a90d9",
    PetitionStatus.IN_PROGRESS: "#1f5fa8",
    PetitionStatus.RESOLVED: "#3aa655",
    PetitionStatus.REJECTED: "#9e9e9e",
    PetitionStatus.CLOSED: "#424242",
}
MAX_LOCALITIES = 10


@dataclass(frozen=True)
class ChartData:
    """Everything the drawing needs, as plain picklable values (texts in the reader's language)."""

    weeks: list[str]  # x labels of the top chart
    series: list[tuple[str, str, list[int]]]  # (legend label, colour, petitions per week), stacked
    localities: list[str]  # y labels of the bottom chart, lowest bar first
    on_time: list[tuple[int, int]]  # (on time, due) per locality
    title_weekly: str
    petitions: str
    no_petitions: str
    title_on_time: str
    no_deadline: str


def chart_data(report: Report, ctx: ExportContext) -> ChartData:
    """The chart of ``report`` in ``ctx``'s language, ready to draw (cheap: no matplotlib here)."""
    _ = ctx.gettext
    series = []
    for status in PetitionStatus:
        values = [counts.get(status.value, 0) for _start, counts in report.weekly]
        if any(values):
            series.append((ctx.status(status), COLOURS[status], values))
    ranked = sorted(report.on_time_by_locality.items(), key=lambda kv: (-kv[1][1], kv[0]))
    ranked = ranked[:MAX_LOCALITIES][::-1]
    return ChartData(
        weeks=[f"{start:%d/%m}" for start, _counts in report.weekly],
        series=series,
        localities=[ctx.locality(code) for code, _pair in ranked],
        on_time=[pair for _code, pair in ranked],
        title_weekly=_(N_("Petitions received per week, by status")),
        petitions=_(N_("Petitions")),
        no_petitions=_(N_("No petitions in this period")),
        title_on_time=_(N_("Deadlines met on time, by locality")),
        no_deadline=_(N_("No deadline due yet")),
    )


def draw_chart(data: ChartData) -> bytes:
    """A portrait PNG readable on a phone (runs in the chart process)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 10), dpi=100)
    try:
        positions = list(range(len(data.weeks)))
        base = [0] * len(data.weeks)
        for label, colour, values in data.series:
            top.bar(positions, values, bottom=base, color=colour, label=label)
            base = [b + v for b, v in zip(base, values, strict=True)]
        top.set_xticks(positions, data.weeks, rotation=45 if len(data.weeks) > 8 else 0, fontsize=11)
        top.set_title(data.title_weekly, fontsize=15)
        top.set_ylabel(data.petitions, fontsize=12)
        top.yaxis.get_major_locator().set_params(integer=True)
        if any(base):
            top.legend(fontsize=10, loc="upper left")
        else:
            top.text(0.5, 0.5, data.no_petitions, ha="center", transform=top.transAxes)

        rates = [100 * good / due for good, due in data.on_time]
        bars = bottom.barh(range(len(data.localities)), rates, color="#3aa655")
        bottom.set_yticks(range(len(data.localities)), data.localities, fontsize=11)
        bottom.set_xlim(0, 100)
        bottom.set_xlabel("%", fontsize=12)
        bottom.set_title(data.title_on_time, fontsize=15)
        for bar, (good, due) in zip(bars, data.on_time, strict=True):
            bottom.text(
                min(bar.get_width() + 1, 80), bar.get_y() + bar.get_height() / 2, f"{good}/{due}", va="center"
            )
        if not data.localities:
            bottom.text(0.5, 0.5, data.no_deadline, ha="center", transform=bottom.transAxes)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(figure)


async def render_chart(report: Report, ctx: ExportContext) -> bytes:
    """The PNG of ``report``, drawn in the process for heavy work (``bot.offload``)."""
    return await draw(chart_data(report, ctx))


async def draw(data: ChartData) -> bytes:
    """``draw_chart(data)`` off the event loop and off the GIL."""
    return await run_heavy(draw_chart, data)
