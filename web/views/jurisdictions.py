"""Jurisdiction browser: every county's standard in force on a date (own or inherited, and from where)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from engine import versions
from engine.amounts import format_amount
from engine.errors import NotFound
from engine.evaluate import parameter_index
from engine.inputs import whole_number

from ..auth import permission_required
from ..charts import bars
from ..db import get_db

bp = Blueprint("jurisdictions", __name__, url_prefix="/jurisdictions")


def _date(raw: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else dt.date.today()
    except ValueError:
        abort(400, _("Write the date as YYYY-MM-DD."))


def _version(raw: str | None) -> tuple[Any, Any]:
    try:
        return versions.pack_of(get_db(), whole_number(raw))
    except NotFound as exc:
        abort(404, exc.message_zh or exc.message)


@bp.route("/")
@permission_required("versions.read")
def index() -> Any:
    on = _date(request.args.get("date"))
    version, pack = _version(request.args.get("version"))
    index = parameter_index(pack)
    numeric = [p for p in pack.parameters.values() if p.type in ("money", "number", "int")]
    if not numeric:
        abort(404, _("This rule pack has no numeric parameter to show by county."))
    parameter = request.args.get("parameter", "")
    if parameter not in {p.name for p in numeric}:
        parameter = numeric[0].name  # the pack's first numeric parameter, in declared order
    cities = []
    chart_rows = []
    for city in sorted((j for j in pack.jurisdictions.values() if j.level == "city"), key=lambda j: j.code):
        counties = []
        for county in sorted((j for j in pack.jurisdictions.values() if j.parent == city.code), key=lambda j: j.code):
            r = index.resolve(parameter, county.code, on)
            own = r is not None and r.jurisdiction == county.code
            counties.append({"code": county.code, "name": county.name, "resolved": r, "own": own,
                             "source": pack.jurisdictions[r.jurisdiction].name if r else None})
            if r is not None:
                chart_rows.append((county.name, float(r.value), "own" if own else "inherited"))
        city_value = index.resolve(parameter, city.code, on)
        cities.append({"code": city.code, "name": city.name, "resolved": city_value, "counties": counties})
    province = index.resolve(parameter, pack.root, on)
    chart = bars(chart_rows, _("%(parameter)s on %(date)s, by county", parameter=parameter, date=on.isoformat()),
                 width=760, bar_height=11, label_width=170)
    return render_template("jurisdictions/index.html", on=on, version=version, pack=pack, parameter=parameter,
                           declaration=pack.parameters[parameter], parameters=numeric, cities=cities,
                           province=province, chart=chart, fmt=format_amount,
                           versions=versions.list_versions(get_db(), pack.id))


@bp.route("/<code>")
@permission_required("versions.read")
def show(code: str) -> Any:
    version, pack = _version(request.args.get("version"))
    j = pack.jurisdictions.get(code)
    if j is None:
        abort(404, _("No jurisdiction %(code)s.", code=code))
    index = parameter_index(pack)
    chain = [pack.jurisdictions[c] for c in pack.chain(code)]
    timelines = []
    for p in pack.parameters.values():
        steps: list[tuple[Any, Any]] = []
        for day, r in index.timeline(p.name, code):
            last = steps[-1][1] if steps else None
            if r is not None and (last is None or (last.value, last.jurisdiction) != (r.value, r.jurisdiction)):
                steps.append((day, r))
        own = [v for v in pack.values if v.parameter == p.name and v.jurisdiction == code]
        timelines.append({"parameter": p, "steps": steps, "own": own})
    return render_template("jurisdictions/show.html", j=j, chain=chain, timelines=timelines, version=version,
                           pack=pack, fmt=format_amount)
