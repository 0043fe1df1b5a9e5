"""Household check: the caseworker's form (generated from the pack's facts, ``check_form``) and the printable
decision it gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import decisions, facts, versions
from engine.errors import EvaluationError, HouseholdError, NotFound
from engine.evaluate import evaluate
from engine.inputs import whole_number
from engine.model import RulePack
from engine.users import in_scope

from ..auth import permission_required
from ..db import get_db
from ..i18n import select_locale
from . import check_form, check_result
from .check_form import Form

bp = Blueprint("check", __name__, url_prefix="/check")


def pack_and_version() -> tuple[Any, RulePack]:
    """The latest published version and its pack; 404 when nothing is published yet."""
    try:
        return versions.pack_of(get_db())
    except NotFound as exc:
        abort(404, exc.message_zh if select_locale() == "zh_CN" else exc.message)


def require_county(pack: RulePack, county: str) -> None:
    """403 unless ``county`` lies in the signed-in user's jurisdiction."""
    if county in pack.jurisdictions and not in_scope(pack, g.user, county):
        name = pack.jurisdictions[county].name + f"（{county}）"
        abort(403, _("%(county)s is outside your jurisdiction.", county=name))


def _render(form: Form, pack: RulePack, version: Any, as_of: str, status: int = 200) -> Any:
    counties = [c for c in pack.counties() if in_scope(pack, g.user, c.code)]
    spec = check_form.spec_of(pack)
    rows = check_form.shown_rows(form, spec)
    ordered = sorted(form.errors.items(), key=lambda e: check_form.order(e[0], rows, spec))
    summary = [(path, check_form.field_label(path, rows, spec), message) for path, message in ordered]
    return render_template("check/form.html", v=form.values, errors=form.errors, summary=summary, rows=rows,
                           as_of=as_of, counties=counties, pack=pack, version=version, spec=spec,
                           labels=spec.labels), status


@bp.route("/", methods=["GET", "POST"])
@permission_required("evaluate")
def index() -> Any:
    version, pack = pack_and_version()
    if request.method == "GET":
        values: dict[str, str] = {}
        source = request.args.get("from", "")
        if whole_number(source) is not None:
            try:
                stored = decisions.get(get_db(), int(source))
            except NotFound as exc:
                abort(404, exc.message_zh if select_locale() == "zh_CN" else exc.message)
            require_county(pack, stored["county"])
            values = check_form.form_of(stored["facts"], pack)
        return _render(Form(values), pack, version, dt.date.today().isoformat())
    form = Form({k: v for k, v in request.form.items() if k != "csrf_token"})
    as_of = form.text("as_of") or dt.date.today().isoformat()
    household, used = check_form.household_of(form, pack)
    require_county(pack, household["county"])
    try:
        on = dt.date.fromisoformat(as_of)
    except ValueError:
        form.fail("as_of", _("Write the date as YYYY-MM-DD, e.g. 2019-06-01."))
    if form.errors:
        try:
            facts.check(pack, household)
        except HouseholdError as exc:
            check_form.add_problems(form, exc, used, pack)
        return _render(form, pack, version, as_of, 422)
    try:
        decision = evaluate(pack, household, on, version=version.number)
    except (HouseholdError, EvaluationError) as exc:
        check_form.add_problems(form, exc, used, pack)
        return _render(form, pack, version, as_of, 422)
    decision_id = decisions.record(get_db(), decision, household, g.user.username,
                                   trace=current_app.config["STORE_TRACE"])
    return redirect(url_for("check.result", decision_id=decision_id))


@bp.route("/<int:decision_id>")
@permission_required("decisions.read")
def result(decision_id: int) -> Any:
    version, pack, stored = stored_decision(decision_id)
    members = stored["facts"].get(pack.facts.members.key) or []
    return check_result.render(version, pack, stored, members=check_form.members_as_recorded(pack, members))


def stored_decision(decision_id: int) -> tuple[Any, RulePack, dict[str, Any]]:
    """A stored decision the user may see (404 if there is none, 403 outside their county)."""
    version, pack = pack_and_version()
    try:
        stored = decisions.get(get_db(), decision_id)
    except NotFound as exc:
        abort(404, exc.message_zh if select_locale() == "zh_CN" else exc.message)
    require_county(pack, stored["county"])
    return version, pack, stored
