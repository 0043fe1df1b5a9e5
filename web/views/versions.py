"""Versions: the published list, and the comparison of any two (or a version and a draft) with its impact."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_babel import gettext as _

from engine import drafts, versions
from engine.compare import diff_packs
from engine.errors import DoudiError
from engine.inputs import id_number, whole_number
from engine.model import RulePack
from engine.rolls import read_records
from engine.synth import synth_households
from engine.users import can

from .. import accepts_upload, isolation
from ..auth import permission_required
from ..charts import bars
from ..db import get_db
from .batch import display_name, unreadable_roll
from .drafts import display, refusal_page, refuse, signed, stamp

bp = Blueprint("versions", __name__, url_prefix="/versions")
bp.register_error_handler(DoudiError, refusal_page)

DEFAULT_HOUSEHOLDS = 5000


def _comparable_drafts() -> list[drafts.Draft]:
    """Drafts not yet published that the user may compare: those they may read."""
    return [d for d in drafts.readable_drafts(get_db(), g.user) if d.status != "approved"]


def _pack(ref: str, field: str) -> tuple[str, RulePack, Any]:
    """A version number (``3``) or a draft (``draft:5``): its label, its pack and the record."""
    db = get_db()
    try:
        if whole_number(ref) is not None:
            version, pack = versions.pack_of(db, int(ref))
            return _("version %(n)s", n=version.number), pack, version
        if ref.startswith("draft:") and whole_number(ref[6:]) is not None:
            if not can(g.user, "draft.read"):
                abort(403, _("Your role may not open this page."))
            draft = drafts.open_draft(db, g.user, int(ref[6:]))
            return _("draft #%(id)s", id=draft.id), drafts.draft_pack(db, draft.id), draft
    except DoudiError as exc:
        refuse(exc)
    abort(400, _("%(field)s: %(ref)s is neither a version number (e.g. 1) nor a draft (e.g. draft:5).",
                 field=field, ref=ref or "—"))


@bp.route("/")
@permission_required("versions.read")
def index() -> Any:
    items = list(reversed(versions.list_versions(get_db())))
    latest = items[0].number if items else 1
    return render_template("versions/index.html", items=items, stamp=stamp, may_compare=can(g.user, "compare"),
                           drafts=_comparable_drafts(), default_from=max(latest - 1, 1), default_to=latest,
                           today=dt.date.today(), households=DEFAULT_HOUSEHOLDS)


@accepts_upload
@bp.route("/compare", methods=["GET", "POST"])
@permission_required("compare")
def compare() -> Any:
    """The diff of two versions (or a version and a draft), and its impact on synthetic households (GET)
    or on an uploaded roll (POST, JSONL or CSV as ``doudi batch`` reads them)."""
    args = request.values
    refs = {k: (args.get(k) or "").strip() for k in ("from", "to")}
    latest = versions.get_version(get_db()).number
    refs["from"] = refs["from"] or str(max(latest - 1, 1))
    refs["to"] = refs["to"] or str(latest)
    old_label, old, _old = _pack(refs["from"], "from")
    new_label, new, _new = _pack(refs["to"], "to")
    try:
        on = dt.date.fromisoformat(args.get("as_of") or dt.date.today().isoformat())
    except ValueError:
        abort(400, _("Write the date as YYYY-MM-DD."))
    limit = current_app.config.get("SYNTHETIC_LIMIT", 20_000)
    n = args.get("n", DEFAULT_HOUSEHOLDS, type=id_number)
    if n is None or not 0 <= n <= limit:
        abort(400, _("The number of households must be between 0 and %(limit)s.", limit=limit))
    seed = args.get("seed", 1, type=id_number) or 0
    diff = diff_packs(old, new)
    report = None
    charts: dict[str, Any] = {}
    roll: dict[str, Any] | None = None
    roll_error = ""
    households: Any = None
    if request.method == "POST":
        households, roll, roll_error = _uploaded_roll(limit, old.facts)
    elif n:
        households = synth_households([c.code for c in old.counties()], n, seed, on)
    if households is not None:
        on_drafts = [int(refs[k][6:]) for k in ("from", "to") if refs[k].startswith("draft:")]
        report = isolation.impact_report(old, new, households, on, 20, on_drafts)
        title = _("Households by outcome (%(n)s households of %(file)s)", n=report.households, file=roll["name"]) \
            if roll else _("Households by outcome (%(n)s synthetic households)", n=n)
        charts["counts"] = bars([
            (_("Payment up"), report.payment_up, "up"), (_("Payment down"), report.payment_down, "down"),
            (_("Payment unchanged"), report.payment_unchanged, ""),
            (_("Newly eligible"), report.newly_eligible, "up"), (_("Exits"), report.exits, "down"),
        ], title, label_width=170)
        moved = sorted((c for c in report.counties if c.dibao_monthly.delta), key=lambda c: -c.dibao_monthly.delta)
        charts["counties"] = bars(
            [(c.name, float(c.dibao_monthly.delta), "up" if c.dibao_monthly.delta > 0 else "down") for c in moved],
            _("Change in monthly dibao payments by county (yuan)"), " " + _("yuan"),
            bar_height=12 if len(moved) > 20 else 16, label_width=170)
        charts["moved"] = moved
    return render_template(
        "versions/compare.html", refs=refs, old_label=old_label, new_label=new_label, diff=diff, report=report,
        charts=charts, on=on, n=n, seed=seed, display=display, signed=signed, old=old, new=new, roll=roll,
        roll_error=roll_error, limit=limit,
        versions=list(reversed(versions.list_versions(get_db()))), drafts=_comparable_drafts(),
        names={**{j.code: j.name for j in old.jurisdictions.values()},
               **{j.code: j.name for j in new.jurisdictions.values()}}), 422 if roll_error else 200


def _uploaded_roll(limit: int, facts: Any) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None, str]:
    """The households of the uploaded roll (at most ``limit``), what the page says of it, or an error."""
    upload = request.files.get("roll")
    if upload is None or not upload.filename:
        return None, None, _("Choose a roll file (JSONL or CSV).")
    name = display_name(upload.filename)
    suffix = ".csv" if upload.filename.lower().endswith(".csv") else ".jsonl"
    households: list[dict[str, Any]] = []
    unreadable: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"roll{suffix}"
        upload.save(source)
        refused = unreadable_roll(source) if source.stat().st_size else ""
        if refused:
            return None, None, refused
        for record in read_records(source, facts):
            parsed = record.parsed()
            if parsed.household is None:
                unreadable.append(parsed.line)
                continue
            if len(households) == limit:
                return None, None, _("The roll has more than %(limit)s households: run the impact report with "
                                     "doudi impact or POST /api/v1/impact instead.", limit=limit)
            households.append(parsed.household)
    if not households:
        return None, None, (_("No household in the file could be read.") if unreadable else _("The file is empty."))
    return households, {"name": name, "unreadable": unreadable}, ""
