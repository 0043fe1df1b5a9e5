"""The parameter editor, generated from the declarations: values in force, floors, history, dated edits."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import drafts, versions
from engine.amounts import Fraction, format_amount
from engine.compare import diff_packs
from engine.errors import Conflict, DoudiError, InvalidInput
from engine.evaluate import parameter_index
from engine.inputs import id_number, whole_number
from engine.model import Jurisdiction, Parameter, RulePack
from engine.source import parse_yaml
from engine.users import in_scope

from ..auth import permission_required
from ..db import get_db
from ..pages import text
from .drafts import display, is_author, load_draft, localized, refusal_page, refuse, stamp

bp = Blueprint("parameters", __name__, url_prefix="/parameters")
bp.register_error_handler(DoudiError, refusal_page)

FIELDS = ("effective", "value", "document", "reason")
_CODES = re.compile(r"[\s,，、;；]+")


# -- values as people read and type them -----------------------------------------------------------


def as_input(param: Parameter, value: Any) -> str:
    """A value as the form field shows it, so that submitting it unchanged gives it back."""
    if value is None:
        return ""
    if param.type == "bool":
        return "true" if value else "false"
    if param.type == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if param.type == "list":
        return ", ".join(value)
    if param.type == "map":
        return "\n".join(f"{k}: {format_amount(v)}" for k, v in value.items())
    if param.type == "bands":
        return "\n".join("- {" + (f"upto: {format_amount(upto)}, " if upto is not None else "")
                         + f"rate: {format_amount(rate)}" + "}" for upto, rate in value)
    return format_amount(value)


def _number(raw: str, whole: bool) -> int | float:
    cleaned = raw.replace(",", "").replace("，", "").replace("元", "").strip()
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(_("Enter a number, e.g. 4100.") if not whole else _("Enter a whole number, e.g. 60.")) \
            from None
    if not number.is_finite():
        raise ValueError(_("Enter a number, e.g. 4100."))
    if number == number.to_integral_value():
        return int(number)
    if whole:
        raise ValueError(_("Enter a whole number, e.g. 60."))
    return float(Fraction(cleaned))


def parse_value(param: Parameter, raw: str) -> Any:
    """What the user typed as the YAML value of ``param``; ValueError says what was expected."""
    raw = (raw or "").strip()
    if not raw:
        raise ValueError(_("Enter a value, or choose to inherit from above."))
    if param.type in ("money", "number", "int"):
        return _number(raw, param.type == "int")
    if param.type == "bool":
        if raw not in ("true", "false"):
            raise ValueError(_("Choose yes or no."))
        return raw == "true"
    if param.type == "date":
        try:
            return dt.date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ValueError(_("Write the date as YYYY-MM-DD.")) from None
    if param.type == "list":
        return [code for code in _CODES.split(raw) if code]
    try:  # the pack's strict reader: no anchors or aliases, as plain dicts and lists
        data = json.loads(json.dumps(parse_yaml(raw, "value")))
    except DoudiError:
        data = None
    if param.type == "map" and not isinstance(data, dict):
        raise ValueError(_("One entry a line, code: number, e.g. severe: 3."))
    if param.type == "bands" and not isinstance(data, list):
        raise ValueError(_("One band a line, e.g. - {upto: 5000, rate: 0.5}; the last band has no upto."))
    return data


# -- scope, drafts and the page ---------------------------------------------------------------------


def _scope(pack: RulePack) -> list[tuple[Jurisdiction, int]]:
    """The jurisdictions the user may edit, province first, each city followed by its counties (and indents)."""
    order = {j.code: tuple(reversed(pack.chain(j.code))) for j in pack.jurisdictions.values()}
    top = len(pack.chain(g.user.jurisdiction)) if g.user.jurisdiction in pack.jurisdictions else 1
    return [(pack.jurisdictions[c], len(order[c]) - top) for c in sorted(order, key=lambda c: order[c])
            if in_scope(pack, g.user, c)]


def _jurisdiction(pack: RulePack, code: str) -> Jurisdiction:
    j = pack.jurisdictions.get(code)
    if j is None:
        abort(404, _("No jurisdiction %(code)s.", code=code))
    if not in_scope(pack, g.user, code):
        abort(403, _("%(name)s (%(code)s) is outside your jurisdiction.", name=j.name, code=code))
    return j


def _my_drafts() -> list[drafts.Draft]:
    """Drafts the user can work in: their own that can still be edited (nobody writes into another's draft)."""
    return [d for d in drafts.list_drafts(get_db()) if d.status in drafts.EDITABLE and d.author == g.user.username]


def _date(raw: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else dt.date.today()
    except ValueError:
        abort(400, _("Write the date as YYYY-MM-DD."))


def _row(pack: RulePack, index: Any, param: Parameter, j: Jurisdiction, on: dt.date) -> dict[str, Any]:
    """Everything the page shows about one parameter of one jurisdiction."""
    resolved = index.resolve(param.name, j.code, on)
    floors = []  # every declared limit binding this level: another parameter's value in force, or a constant
    for kind in ("at_least", "at_most"):
        for bound in getattr(param, kind):
            if bound.levels is not None and j.level not in bound.levels:
                continue
            if bound.parameter is None:
                floors.append({"kind": kind, "parameter": None, "value": bound.value, "where": "",
                               "reference": bound.reference})
                continue
            at = {"root": pack.root, "parent": j.parent, "self": j.code}[bound.of]
            if at is None or (bound.parameter == param.name and at == j.code):  # nothing, or itself
                continue
            limit = index.resolve(bound.parameter, at, on)
            if limit is not None:
                floors.append({"kind": kind, "parameter": pack.parameters[bound.parameter],
                               "value": bound.applied(limit.value), "times": bound.times,
                               "where": pack.jurisdictions[limit.jurisdiction].name, "reference": bound.reference})
    own = {v.start: v for v in pack.values if v.parameter == param.name and v.jurisdiction == j.code}
    history: list[dict[str, Any]] = []
    for day, r in index.timeline(param.name, j.code):
        last = history[-1]["resolved"] if history else None
        if r is None or (last is not None and (last.value, last.jurisdiction, last.effective)
                         == (r.value, r.jurisdiction, r.effective) and day not in own):
            continue
        entry = own.get(day)
        history.append({"day": day, "resolved": r, "own": r.jurisdiction == j.code, "entry": entry,
                        "source": pack.jurisdictions[r.jurisdiction].name})
    current_own = index.own_entry(param.name, j.code, on)
    return {"param": param, "resolved": resolved, "own": resolved is not None and resolved.jurisdiction == j.code,
            "source": pack.jurisdictions[resolved.jurisdiction].name if resolved else "",
            "floors": floors, "history": history,
            "defaults": {"effective": on.isoformat(), "value": as_input(param, resolved.value if resolved else None),
                         "document": "", "reason": "", "inherit": bool(current_own and current_own.inherit)}}


def _page(code: str | None, draft_id: int | None, typed: dict[str, Any] | None = None,
          errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    db = get_db()
    version, latest = versions.pack_of(db)
    draft = load_draft(draft_id) if draft_id else None
    pack = drafts.draft_pack(db, draft.id) if draft else latest
    j = _jurisdiction(pack, code or g.user.jurisdiction or pack.root)
    on = _date(request.args.get("on"))
    index = parameter_index(pack)
    changed: set[str] = set()
    if draft:
        base = versions.pack_of(db, draft.base_version)[1]
        changed = {c.parameter for c in diff_packs(base, pack).parameters if c.jurisdiction == j.code}
    rows = [_row(pack, index, p, j, on) for p in pack.parameters.values() if j.level in p.set_by]
    choices = _my_drafts()
    if draft and draft not in choices:
        choices.insert(0, draft)
    return render_template(
        "parameters/index.html", j=j, pack=pack, rows=rows, on=on, draft=draft, version=version,
        editable=bool(draft and draft.status in drafts.EDITABLE and is_author(draft)), changed=changed, drafts=choices,
        scope=_scope(latest), typed=typed or {}, errors=errors or {}, display=display, stamp=stamp), status


@bp.route("/")
@permission_required("draft.edit_parameter")
def index() -> Any:
    return _page(request.args.get("jurisdiction"), request.args.get("draft", type=id_number))


@bp.post("/drafts")
@permission_required("draft.create")
def create_draft() -> Any:
    """A new draft on the latest version, opened in the editor at the chosen jurisdiction."""
    code = request.form.get("jurisdiction") or g.user.jurisdiction
    try:
        draft = drafts.create_draft(get_db(), g.user, (request.form.get("title") or "").strip())
    except DoudiError as exc:
        refuse(exc)
    flash(_("Draft #%(id)s created from version %(n)s.", id=draft.id, n=draft.base_version), "ok")
    return redirect(url_for("parameters.index", draft=draft.id, jurisdiction=code))


@bp.post("/save")
@permission_required("draft.edit_parameter")
def save() -> Any:
    """Save one dated value into the draft; errors re-render the form with what was typed."""
    form = request.form
    draft_id, code, name = form.get("draft", type=id_number), form.get("jurisdiction", ""), form.get("parameter", "")
    if not draft_id:
        abort(400, _("Choose or create a draft first."))
    draft = load_draft(draft_id)
    if not is_author(draft):
        abort(403, _("Only the author of draft #%(id)s (%(author)s) can edit it.", id=draft.id, author=draft.author))
    pack = versions.pack_of(get_db(), draft.base_version)[1]
    _jurisdiction(pack, code)
    param = pack.parameters.get(name)
    if param is None:
        abort(400, _("Unknown parameter %(name)s.", name=name))
    inherit = form.get("inherit") == "1"
    entered = {f: form.get(f, "") for f in FIELDS}
    typed: dict[str, Any] = {"parameter": name, "inherit": inherit} | entered
    effective = entered["effective"].strip()
    errors: dict[str, list[str]] = {}
    value = None
    if not inherit:
        try:
            value = parse_value(param, entered["value"])
        except ValueError as exc:
            errors["value"] = [str(exc)]
    if not errors:
        try:
            drafts.set_parameter_value(
                get_db(), draft_id, g.user, jurisdiction=code, parameter=name, effective=effective, value=value,
                inherit=inherit, document=entered["document"], reason=entered["reason"],
                revision=form.get("revision", -1, type=id_number))
        except InvalidInput as exc:
            for problem in exc.problems or []:
                field = problem.path if problem.path in FIELDS else "value"
                errors.setdefault(field, []).append(localized(problem))
            errors = errors or {"value": [localized(exc)]}
        except Conflict as exc:
            flash(localized(exc), "error")
            return _page(code, draft_id, typed, {}, 409)
        except DoudiError as exc:
            refuse(exc)
    if errors:
        flash(_("Not saved: correct the marked fields."), "error")
        return _page(code, draft_id, typed, errors, 422)
    shown = _("inherit from above") if inherit else display(value)
    flash(_("Saved to draft #%(id)s: %(label)s from %(date)s: %(value)s.", id=draft_id, label=text(param.label),
            date=effective, value=shown), "ok")
    return redirect(url_for("parameters.index", draft=draft_id, jurisdiction=code) + f"#p-{name}")


# -- live validation -------------------------------------------------------------------------------


def _refused(message: str, status: int) -> Any:
    return jsonify({"ok": False, "problems": [{"field": "value", "message": message}], "message": ""}), status


@bp.post("/check")
@permission_required("draft.edit_parameter")
def check() -> Any:
    """Validate one edit as saving would, without saving: the problems by field, in the page's language."""
    data = request.get_json(silent=True) or {}
    db = get_db()
    draft_ref = str(data.get("draft") or "")
    try:
        if whole_number(draft_ref) is not None:
            drafts.open_draft(db, g.user, int(draft_ref))
            pack = drafts.draft_pack(db, int(draft_ref))
            files = drafts.draft_files(db, int(draft_ref))
        else:
            version, pack = versions.pack_of(db)
            files = versions.version_files(db, version.number)
    except DoudiError as exc:
        return _refused(localized(exc), 404)
    code, name = str(data.get("jurisdiction") or ""), str(data.get("parameter") or "")
    if code not in pack.jurisdictions:
        return _refused(_("No jurisdiction %(code)s.", code=code), 404)
    if name not in pack.parameters:
        return _refused(_("Unknown parameter %(name)s.", name=name), 404)
    if not in_scope(pack, g.user, code):
        j = pack.jurisdictions[code]
        return _refused(_("%(name)s (%(code)s) is outside your jurisdiction.", name=j.name, code=code), 403)
    problems: list[dict[str, str]] = []
    effective = str(data.get("effective") or "").strip()
    try:
        dt.date.fromisoformat(effective)
    except ValueError:
        problems.append({"field": "effective", "message": _("Write the date as YYYY-MM-DD.")})
    entry: dict[str, Any] = {"from": effective}
    if data.get("inherit"):
        entry["inherit"] = True
    else:
        try:
            entry["value"] = parse_value(pack.parameters[name], str(data.get("value") or ""))
        except ValueError as exc:
            problems.append({"field": "value", "message": str(exc)})
    if "document" in data and not str(data["document"] or "").strip():
        problems.append({"field": "document", "message": _("The authorising document is required, "
                                                           "e.g. 长政发〔2018〕5号.")})
    warnings: list[dict[str, str]] = []
    if not any(p["field"] in ("effective", "value") for p in problems):
        entry["document"] = str(data.get("document") or "").strip() or "-"
        refused, warned = drafts.check_entry(files, pack, code, name, entry)
        problems += [{"field": "value", "message": localized(p)} for p in refused]
        warnings = [{"field": "value", "message": localized(w)} for w in warned]
    return jsonify({"ok": not problems, "problems": problems, "warnings": warnings,
                    "message": "" if problems else _("Within every bound: this value can be saved.")})
