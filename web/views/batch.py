"""Batch review: upload a roll (JSONL or CSV), evaluate it in the background, then summary, results and CSV.

Jobs are kept in the database with their progress and their files in the batch folder
(``web/batch_jobs.py``): they outlive a restart of the server, which resumes a job it left running.
Each job belongs to the user who started it, who alone sees it and may delete it; it is deleted with
its files ``BATCH_RETENTION_DAYS`` after it started.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import DoudiError
from engine.inputs import id_number
from engine.rolls import check_roll, output_csv_header, output_csv_row

from .. import accepts_upload, batch_jobs
from ..auth import permission_required
from ..batch_jobs import Job
from ..charts import bars
from ..db import get_db
from ..i18n import select_locale
from .check import ACTIONS, pack_and_version, show_value

bp = Blueprint("batch", __name__, url_prefix="/batch")

bp.before_app_request(batch_jobs.sweep_now_and_then)

PAGE = 100
FILTERS = ("all", "enroll", "continue", "exit", "none", "changed", "errors")


def display_name(filename: str) -> str:
    """An uploaded file's name to show (Chinese kept, folders dropped); it is never used as a path."""
    return re.split(r"[\\/]", filename)[-1].strip()[:120] or "roll"


def _job(job_id: str) -> Job:
    job = batch_jobs.get(get_db(), job_id, batch_jobs.folder())
    if job is None or job.owner != g.user.username:
        abort(404, _("No batch %(id)s of yours.", id=job_id))
    return job


def _records(job: Job, which: str) -> Iterator[dict[str, Any]]:
    with open(job.target, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            action = (record.get("outputs") or {}).get("review_action")
            if which == "all" or (which == "errors" and "error" in record) or action == which or \
                    (which == "changed" and action in ("enroll", "exit")):
                yield record


def unreadable_roll(source: Path) -> str:
    """Why an uploaded roll cannot be read at all (not UTF-8 text, broken CSV), or ''."""
    try:
        check_roll(source)
    except DoudiError as exc:
        problem = exc.problems[0]
        return _("Line %(line)s cannot be read: save the roll as UTF-8 JSONL or CSV.", line=problem.line or 1)
    return ""


@accepts_upload
@bp.route("/", methods=["GET", "POST"])
@permission_required("evaluate")
def index() -> Any:
    errors: dict[str, str] = {}
    as_of = request.form.get("as_of") or dt.date.today().isoformat()
    if request.method == "POST":
        upload = request.files.get("roll")
        try:
            on = dt.date.fromisoformat(as_of)
        except ValueError:
            errors["as_of"] = _("Write the date as YYYY-MM-DD, e.g. 2019-06-01.")
        if upload is None or not upload.filename:
            errors["roll"] = _("Choose a roll file (JSONL or CSV).")
        if not errors:
            assert upload is not None and upload.filename
            version, _pack = pack_and_version()
            job_id = secrets.token_urlsafe(9)
            folder = batch_jobs.folder()
            suffix = ".csv" if upload.filename.lower().endswith(".csv") else ".jsonl"
            source = folder / f"{job_id}.input{suffix}"
            upload.save(source)
            source.chmod(0o600)
            unreadable = unreadable_roll(source)
            if source.stat().st_size == 0 or unreadable:
                source.unlink()
                errors["roll"] = unreadable or _("The file is empty.")
            else:
                job = Job(job_id, g.user.username, display_name(upload.filename), on,
                          version.number, source, folder / f"{job_id}.jsonl")
                batch_jobs.create(get_db(), job, current_app.config["BATCH_RETENTION_DAYS"])
                batch_jobs.start(current_app.config["DATABASE"], folder, job_id)
                return redirect(url_for("batch.show", job_id=job_id))
    mine = batch_jobs.of_owner(get_db(), g.user.username, batch_jobs.folder())
    return render_template("batch/index.html", errors=errors, as_of=as_of, jobs=mine), 422 if errors else 200


@bp.route("/<job_id>")
@permission_required("evaluate")
def show(job_id: str) -> Any:
    job = _job(job_id)
    which = request.args.get("filter", "all")
    which = which if which in FILTERS else "all"
    page = max(request.args.get("page", 1, type=id_number) or 1, 1)
    rows, matched, chart = [], 0, None
    if job.state == "done":
        for record in _records(job, which):
            matched += 1
            if (page - 1) * PAGE < matched <= page * PAGE:
                rows.append(record)
        s = job.summary
        chart = bars([(str(ACTIONS[a]), float(s.by_action.get(a, 0)), css)
                      for a, css in (("enroll", "up"), ("continue", "inherited"), ("exit", "down"), ("none", ""))]
                     + [(_("Errors"), float(s.errors), "own")], _("Households by review action"), unit="",
                     width=640, bar_height=18, label_width=160)
    pages = max((matched + PAGE - 1) // PAGE, 1)
    return render_template("batch/job.html", job=job, status=job.status(), rows=rows, which=which, page=page,
                           pages=pages, matched=matched, chart=chart, filters=FILTERS, actions=ACTIONS,
                           show_value=show_value, zh=select_locale() == "zh_CN")


@bp.route("/<job_id>/status.json")
@permission_required("evaluate")
def status(job_id: str) -> Any:
    return _job(job_id).status()


@bp.post("/<job_id>/delete")
@permission_required("evaluate")
def delete(job_id: str) -> Any:
    job = _job(job_id)
    batch_jobs.delete(get_db(), job, g.user.username, "deleted by its owner")
    flash(_("The batch review of %(file)s and its files are deleted.", file=job.filename), "ok")
    return redirect(url_for("batch.index"))


@bp.route("/<job_id>/results.csv")
@permission_required("evaluate")
def download(job_id: str) -> Any:
    job = _job(job_id)
    if job.state != "done":
        abort(409, _("The batch has not finished yet."))

    def rows() -> Iterator[str]:
        yield "\ufeff" + output_csv_header()  # the mark lets spreadsheet programs read the Chinese text
        for record in _records(job, "all"):
            yield output_csv_row(record)

    name = f"batch-{job.as_of.isoformat()}-{job.id}.csv"
    return Response(rows(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

