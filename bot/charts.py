"""The /stats chart: petitions per week by status, and the on-time rate by locality (PNG, matplotlib Agg)."""

from __future__ import annotations

import io

from bot.domain.reports import Report
from bot.exports import ExportContext
from bot.i18n import N_
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


def render_chart(report: Report, ctx: ExportContext) -> bytes:
    """A portrait PNG readable on a phone, labelled in ``ctx``'s language."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    _ = ctx.gettext
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 10), dpi=100)
    try:
        labels = [f"{start:%d/%m}" for start, _counts in report.weekly]
        positions = list(range(len(labels)))
        base = [0] * len(labels)
        for status in PetitionStatus:
            values = [counts.get(status.value, 0) for _start, counts in report.weekly]
            if any(values):
                top.bar(positions, values, bottom=base, color=COLOURS[status], label=ctx.status(status))
                base = [b + v for b, v in zip(base, values, strict=True)]
        top.set_xticks(positions, labels, rotation=45 if len(labels) > 8 else 0, fontsize=11)
        top.set_title(_(N_("Petitions received per week, by status")), fontsize=15)
        top.set_ylabel(_(N_("Petitions")), fontsize=12)
        top.yaxis.get_major_locator().set_params(integer=True)
        if any(base):
            top.legend(fontsize=10, loc="upper left")
        else:
            top.text(0.5, 0.5, _(N_("No petitions in this period")), ha="center", transform=top.transAxes)

        ranked = sorted(report.on_time_by_locality.items(), key=lambda kv: (-kv[1][1], kv[0]))
        ranked = ranked[:MAX_LOCALITIES][::-1]
        names = [ctx.locality(code) for code, _pair in ranked]
        rates = [100 * good / due for _code, (good, due) in ranked]
        bars = bottom.barh(range(len(names)), rates, color="#3aa655")
        bottom.set_yticks(range(len(names)), names, fontsize=11)
        bottom.set_xlim(0, 100)
        bottom.set_xlabel("%", fontsize=12)
        bottom.set_title(_(N_("Deadlines met on time, by locality")), fontsize=15)
        for bar, (_code, (good, due)) in zip(bars, ranked, strict=True):
            bottom.text(
                min(bar.get_width() + 1, 80), bar.get_y() + bar.get_height() / 2, f"{good}/{due}", va="center"
            )
        if not names:
            bottom.text(0.5, 0.5, _(N_("No deadline due yet")), ha="center", transform=bottom.transAxes)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(figure)
