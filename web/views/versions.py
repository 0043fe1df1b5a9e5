"""Versions: the published list, and the comparison of any two (or a version and a draft) with its impact."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from engine import drafts, versions
from engine.compare import diff_packs
from engine.errors import DoudiError
from engine.factsynth import synthesize
from engine.inputs import id_number, whole_number
from engine.model import RulePack
from engine.rolls import read_records
from engine.users import can

from .. import accepts_upload, isolation
from ..auth import permission_required
from ..db import get_db
from . import impact_page
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
    items = list(reversed(versions.list_versions(get_db(), g.get("pack_id"))))  # the working pack's line
    latest = items[0].number if items else 1
    before = items[1].number if len(items) > 1 else latest
    return render_template("versions/index.html", items=items, stamp=stamp, may_compare=can(g.user, "compare"),
                           drafts=_comparable_drafts(), default_from=before, default_to=latest,
                           today=dt.date.today(), households=DEFAULT_HOUSEHOLDS)


@accepts_upload
@bp.route("/compare", methods=["GET", "POST"])
@permission_required("compare")
def compare() -> Any:
    """The diff of two versions (or a version and a draft), and its impact on synthetic households (GET)
    or on an uploaded roll (POST, JSONL or CSV as ``doudi batch`` reads them)."""
    args = request.values
    refs = {k: (args.get(k) or "").strip() for k in ("from", "to")}
    line = [v.number for v in versions.list_versions(get_db(), g.get("pack_id"))]
    if not line:
        line = [versions.get_version(get_db()).number]  # NotFound: the refusal page
    refs["from"] = refs["from"] or str(line[-2] if len(line) > 1 else line[-1])
    refs["to"] = refs["to"] or str(line[-1])
    old_label, old, _old = _pack(refs["from"], "from")
    new_label, new, _new = _pack(refs["to"], "to")
    versions.same_pack(old, new)  # another pack's version: the refusal page (409), named in zh and en
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
        households = synthesize(old, [c.code for c in old.counties()], n, seed, on)
    if households is not None:
        on_drafts = [int(refs[k][6:]) for k in ("from", "to") if refs[k].startswith("draft:")]
        report = isolation.impact_report(old, new, households, on, None, on_drafts)
        title = ngettext("Households by outcome (%(num)s household of %(file)s)",
                         "Households by outcome (%(num)s households of %(file)s)", report.households,
                         file=roll["name"]) if roll else \
            ngettext("Households by outcome (%(num)s synthetic household)",
                     "Households by outcome (%(num)s synthetic households)", n)
        charts = impact_page.charts(report, title)
    return render_template(
        "versions/compare.html", refs=refs, old_label=old_label, new_label=new_label, diff=diff, report=report,
        charts=charts, label=impact_page.label, unit=impact_page.unit, on=on, n=n, seed=seed, display=display,
        signed=signed, old=old, new=new, roll=roll, roll_error=roll_error, limit=limit,
        versions=list(reversed(versions.list_versions(get_db(), new.id))), drafts=_comparable_drafts(),
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
