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

from engine import presentation, versions
from engine.aggregate import NULL, describe, group_of
from engine.errors import DoudiError
from engine.inputs import id_number
from engine.model import RulePack
from engine.roll_output import output_csv_header, output_csv_row
from engine.rolls import check_roll

from .. import accepts_upload, batch_jobs
from ..auth import permission_required
from ..batch_jobs import Job
from ..charts import bars
from ..db import get_db
from ..i18n import select_locale
from .check import pack_and_version

bp = Blueprint("batch", __name__, url_prefix="/batch")

bp.before_app_request(batch_jobs.sweep_now_and_then)

PAGE = 100
COLUMNS = 5  # outputs shown per household where the pack names no headline
CSS = ("up", "inherited", "down", "", "own")


def display_name(filename: str) -> str:
    """An uploaded file's name to show (Chinese kept, folders dropped); it is never used as a path."""
    return re.split(r"[\\/]", filename)[-1].strip()[:120] or "roll"


def _job(job_id: str) -> Job:
    job = batch_jobs.get(get_db(), job_id, batch_jobs.folder())
    if job is None or job.owner != g.user.username:
        abort(404, _("No batch %(id)s of yours.", id=job_id))
    return job


def _records(job: Job, which: str) -> Iterator[dict[str, Any]]:
    """The job's output records that the filter keeps: all, errors, or ``output:value``."""
    path, by_output, wanted = which.partition(":")
    with open(job.target, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            outputs = record.get("outputs")
            if which == "all" or (which == "errors" and "error" in record) or (
                    by_output and outputs is not None and group_of(presentation.value_at(outputs, path)) == wanted):
                yield record


def filters(job: Job, pack: RulePack, lang: str) -> dict[str, str]:
    """The filters of a job's results by name: all, each group of the summary's categories and flags, errors."""
    shown = presentation.of(pack)
    out = {"all": _("All")}
    for agg in shown.summary:
        for path, value in ((agg.by, None), *agg.where) if agg.by else agg.where:
            info = shown.outputs[path]
            if info.kind not in ("category", "flag"):
                continue
            groups = [group_of(value)] if value is not None else list(
                job.summary.value(agg.name) if agg.by == path else info.values)
            for group in groups:
                name = info.values.get(group)
                text = getattr(name, lang) if name is not None else (group or presentation.NONE)
                out.setdefault(f"{path}:{group}", f"{getattr(info.label, lang)}：{text}")
    out["errors"] = _("Errors")
    return out


def _chart(job: Job, pack: RulePack, lang: str) -> Any:
    """Bars of the first summary line counted by a category, with the errors."""
    shown = presentation.of(pack)
    summary = job.summary
    for name, label, rows in describe(summary, shown, lang):
        agg = next(a for a in shown.summary if a.name == name)
        if agg.by and agg.sum is None:
            counts = summary.value(name)
            bars_ = [(group_name or NULL, float(counts.get(group, 0)), CSS[i % 4])
                     for i, (group, group_name, _value) in enumerate(rows)]
            return bars(bars_ + [(_("Errors"), float(summary.errors), "own")],
                        _("Households by %(what)s", what=label), unit="", width=640, bar_height=18, label_width=160)
    return None


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
    pack = _pack(job)
    lang = "zh" if select_locale() == "zh_CN" else "en"
    shown = presentation.of(pack)
    job.summary.aggregations = shown.summary  # a stored summary keeps the values, not the declarations
    names = filters(job, pack, lang) if job.state == "done" else {}
    which = request.args.get("filter", "all")
    which = which if which in names else "all"
    page = max(request.args.get("page", 1, type=id_number) or 1, 1)
    rows, matched, chart, lines = [], 0, None, []
    if job.state == "done":
        for record in _records(job, which):
            matched += 1
            if (page - 1) * PAGE < matched <= page * PAGE:
                rows.append(record)
        chart = _chart(job, pack, lang)
        lines = describe(job.summary, shown, lang)
    columns = [shown.outputs[p] for p in (shown.headline or [p for p, i in shown.outputs.items()
                                                             if i.kind != "list"][:COLUMNS])]
    pages = max((matched + PAGE - 1) // PAGE, 1)
    return render_template("batch/job.html", job=job, status=job.status(), rows=rows, which=which, page=page,
                           pages=pages, matched=matched, chart=chart, filters=names, lines=lines, columns=columns,
                           value_at=presentation.value_at, value_text=presentation.value_text,
                           group_of=group_of, lang=lang, zh=lang == "zh")


def _pack(job: Job) -> RulePack:
    """The pack of the version a job was run with."""
    return versions.pack_of(get_db(), job.version)[1]


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

    pack = _pack(job)
    labels = request.args.get("labels")

    def rows() -> Iterator[str]:  # the mark lets spreadsheet programs read the Chinese text
        yield "\ufeff" + output_csv_header(pack, labels if labels in ("zh", "en") else None)
        for record in _records(job, "all"):
            yield output_csv_row(pack, record)

    name = f"batch-{job.as_of.isoformat()}-{job.id}.csv"
    return Response(rows(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

