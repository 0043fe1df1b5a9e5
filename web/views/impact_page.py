"""What the compare page shows of an impact report, in the labels the pack declares for its outputs."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from engine.impact import ImpactReport

from ..charts import bars
from ..pages import text


def label(report: ImpactReport, path: str) -> str:
    """An output path's label in the page's language (the path itself when the pack gives none)."""
    legend = report.legend.get(path)
    return text(legend.label) if legend else path


def unit(report: ImpactReport, path: str) -> str:
    legend = report.legend.get(path)
    return text(legend.unit) if legend and legend.unit else ""


def charts(report: ImpactReport, title: str) -> dict[str, Any]:
    """Households by outcome (the movers amount up/down/unchanged, each flag gained/lost), one chart per
    declared amount that changes in some county, and the counties where any output changes."""
    rows: list[tuple[str, float, str]] = []
    by = report.movers_by
    if by in report.amounts:
        moved = report.amounts[by]
        name = label(report, by)
        rows += [(_("%(label)s up", label=name), moved.up, "up"),
                 (_("%(label)s down", label=name), moved.down, "down"),
                 (_("%(label)s unchanged", label=name), moved.unchanged, "")]
    for path, flag in report.flags.items():
        name = label(report, path)
        rows += [(_("%(label)s: gained", label=name), flag.gained, "up"),
                 (_("%(label)s: lost", label=name), flag.lost, "down")]
    rows.append((_("Any output changed"), report.changed, ""))
    out: dict[str, Any] = {"counts": bars(rows, title, label_width=190), "counties": []}
    for path in report.amounts:
        changes = sorted((c for c in report.counties if c.amounts[path].delta),
                         key=lambda c: (-c.amounts[path].delta, c.code))
        if not changes:
            continue
        shown = unit(report, path)
        heading = _("Change in %(label)s by county (%(unit)s)", label=label(report, path), unit=shown) if shown \
            else _("Change in %(label)s by county", label=label(report, path))
        out["counties"].append((path, heading, bars(
            [(c.name, float(c.amounts[path].delta), "up" if c.amounts[path].delta > 0 else "down") for c in changes],
            heading, " " + shown if shown else "", bar_height=12 if len(changes) > 20 else 16, label_width=170)))

    def rank(c: Any) -> tuple[Any, str]:
        return (-c.amounts[by].delta if by in c.amounts else 0, c.code)

    out["moved"] = sorted((c for c in report.counties if c.changed), key=rank)
    return out
