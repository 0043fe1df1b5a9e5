"""Decision history: stored decisions by household and county (within the user's scope), and their replay."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, render_template, request

from engine import decisions, presentation
from engine.errors import NotFound
from engine.inputs import id_number
from engine.model import RulePack
from engine.users import can, in_scope

from ..auth import permission_required
from ..db import get_db
from ..i18n import select_locale
from .check import pack_and_version, require_county, stored_decision
from .check_result import headline, lang, show_value

bp = Blueprint("history", __name__, url_prefix="/decisions")

PAGE = 50
_SCAN = 500  # decisions read at a time when a city-level user's scope has to be filtered


def _in_scope(pack: RulePack, county: str) -> bool:
    return county in pack.jurisdictions and in_scope(pack, g.user, county)


def _search(pack: RulePack, household_id: str | None, county: str | None, page: int) -> tuple[list[Any], bool]:
    """One page of decisions the user may see, newest first, and whether there are more."""
    wanted, skip, offset = PAGE + 1, (page - 1) * PAGE, 0
    found: list[dict[str, Any]] = []
    while len(found) < wanted:
        rows = decisions.search(get_db(), household_id, county, limit=_SCAN, offset=offset)
        for row in rows:
            if _in_scope(pack, row["county"]):
                if skip:
                    skip -= 1
                else:
                    found.append(row)
        if len(rows) < _SCAN:
            break
        offset += _SCAN
    return found[:PAGE], len(found) > PAGE


@bp.route("/")
@permission_required("decisions.read")
def index() -> Any:
    _version, pack = pack_and_version()
    counties = [c for c in pack.counties() if in_scope(pack, g.user, c.code)]
    household_id = (request.args.get("household_id") or "").strip() or None
    county = (request.args.get("county") or "").strip() or None
    if len(counties) == 1:
        county = counties[0].code  # a caseworker sees their own county only
    elif county:
        require_county(pack, county)
    page = max(request.args.get("page", 1, type=id_number) or 1, 1)
    rows, more = _search(pack, household_id, county, page)
    args = {k: v for k, v in (("household_id", household_id), ("county", county)) if v}
    shown = presentation.of(pack)
    language = lang()
    columns = [r[1] for r in headline(shown, {}, language)]  # the pack's headline outputs, by label
    for row in rows:
        row["headline"] = [text for _path, _label, text in headline(shown, row["outputs"], language)]
    return render_template("history/index.html", rows=rows, more=more, page=page, counties=counties,
                           household_id=household_id or "", county=county or "", args=args, columns=columns,
                           may_replay=can(g.user, "evaluate"))


@bp.route("/<int:decision_id>")
@permission_required("decisions.read")
def show(decision_id: int) -> Any:
    _version, pack, stored = stored_decision(decision_id)
    return render_template("history/show.html", stored=stored, replay=None, show_value=show_value,
                           headline=headline(presentation.of(pack), stored["outputs"], lang()),
                           may_replay=can(g.user, "evaluate"))


@bp.post("/<int:decision_id>/replay")
@permission_required("evaluate")
def replay(decision_id: int) -> Any:
    _version, pack, _stored = stored_decision(decision_id)
    try:
        result = decisions.replay(get_db(), decision_id, g.user.username)
    except NotFound as exc:
        abort(404, exc.message_zh if select_locale() == "zh_CN" else exc.message)
    changed = [(d["path"], d["stored"], d["replayed"]) for d in result["differences"]]
    stored = decisions.get(get_db(), decision_id)
    return render_template("history/show.html", stored=stored, replay=result, changed=changed[:100],
                           more_changes=max(len(changed) - 100, 0), show_value=show_value, may_replay=True,
                           headline=headline(presentation.of(pack), stored["outputs"], lang()))
