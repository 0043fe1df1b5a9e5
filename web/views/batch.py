"""Batch review: upload a roll (JSONL or CSV), evaluate it in the background, then summary, results and CSV.

A job runs in a thread of this process (``JOBS``); its results go to ``<instance>/batch/<id>.jsonl``
and its description (user, file, date, state, summary) to ``<id>.job.json`` beside them
(``BATCH_FOLDER`` overrides the folder), so that the list of jobs and their results outlive a restart
of the server. A job that was running when the server stopped shows as interrupted. Each job belongs
to the user who started it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.batch import CHUNK, Summary, evaluate_records
from engine.decision import dumps
from engine.errors import DoudiError
from engine.evaluate import evaluate
from engine.facts import check
from engine.inputs import id_number
from engine.model import RulePack
from engine.rolls import Record, check_roll, count_records, in_chunks, output_csv_header, output_csv_row, read_records
from engine.store import audit, now, open_db
from engine.users import User, in_scope

from .. import accepts_upload
from ..auth import permission_required
from ..charts import bars
from ..i18n import select_locale
from .check import ACTIONS, pack_and_version, show_value

bp = Blueprint("batch", __name__, url_prefix="/batch")

PAGE = 100
FILTERS = ("all", "enroll", "continue", "exit", "none", "changed", "errors")


@dataclass
class Job:
    """One uploaded roll being (or having been) evaluated."""

    id: str
    user: str
    filename: str
    as_of: dt.date
    version: int
    source: Path
    target: Path
    started: str = field(default_factory=now)
    finished: str = ""
    total: int | None = None
    done: int = 0
    state: str = "running"  # running | done | failed
    message: str = ""
    summary: Summary = field(default_factory=Summary)

    def save(self, folder: Path) -> None:
        """Write the job's description beside its results (replaced whole: never half-written)."""
        data = {"id": self.id, "user": self.user, "filename": self.filename, "as_of": self.as_of.isoformat(),
                "version": self.version, "source": self.source.name, "target": self.target.name,
                "started": self.started, "finished": self.finished, "total": self.total, "done": self.done,
                "state": self.state, "message": self.message, "summary": self.summary.as_dict()}
        path = folder / f"{self.id}.job.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def load(cls, folder: Path, job_id: str) -> Job | None:
        """A job described in ``folder`` (after a restart); one left running is marked interrupted."""
        try:
            data = json.loads((folder / f"{job_id}.job.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        job = cls(data["id"], data["user"], data["filename"], dt.date.fromisoformat(data["as_of"]), data["version"],
                  folder / data["source"], folder / data["target"], data["started"], data["finished"],
                  data["total"], data["done"], data["state"], data["message"], Summary.from_dict(data["summary"]))
        if job.state == "running":
            job.state = "failed"
            job.message = _("the server stopped before the batch finished; upload the roll again")
        return job

    def status(self) -> dict[str, Any]:
        percent = round(100 * self.done / self.total) if self.total else (100 if self.state == "done" else 0)
        if self.state == "failed":
            text = _("The batch failed: %(message)s", message=self.message)
        elif self.state == "done":
            text = _("Done: %(n)s households checked, %(errors)s with errors.", n=self.done,
                     errors=self.summary.errors)
        else:
            text = _("%(done)s of %(total)s households checked", done=self.done, total=self.total or "…")
        return {"state": self.state, "done": self.done, "total": self.total, "errors": self.summary.errors,
                "percent": percent, "text": text}


JOBS: dict[str, Job] = {}


def _folder() -> Path:
    folder = Path(current_app.config.get("BATCH_FOLDER") or Path(current_app.instance_path) / "batch")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def display_name(filename: str) -> str:
    """An uploaded file's name to show (Chinese kept, folders dropped); it is never used as a path."""
    return re.split(r"[\\/]", filename)[-1].strip()[:120] or "roll"


_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


def _job(job_id: str) -> Job:
    job = JOBS.get(job_id)
    if job is None and _JOB_ID.fullmatch(job_id):
        job = Job.load(_folder(), job_id)
    if job is None or job.user != g.user.username:
        abort(404, _("No batch %(id)s of yours.", id=job_id))
    return job


def _jobs_of(username: str) -> list[Job]:
    """The user's jobs: those of this process and those described in the folder (from before a restart)."""
    found = {j.id: j for j in JOBS.values() if j.user == username}
    for path in _folder().glob("*.job.json"):
        job_id = path.name[:-len(".job.json")]
        if job_id not in found and job_id not in JOBS:
            job = Job.load(path.parent, job_id)
            if job is not None and job.user == username:
                found[job_id] = job
    return list(found.values())


def _in_chinese(pack: RulePack, record: Record, out: dict[str, Any], as_of: dt.date) -> None:
    """Add the Chinese message of an error record (the engine's output records carry the English one)."""
    exc: DoudiError | None = record.error
    if exc is None and record.household is not None:
        try:
            check(pack, record.household)
            evaluate(pack, record.household, as_of, trace=False)
        except DoudiError as found:
            exc = found
    if exc is None:
        return
    problems = [f"{p.path}：{p.message_zh or p.message}" if p.path else (p.message_zh or p.message)
                for p in exc.problems[:3]]
    out["error"]["message_zh"] = "；".join(problems) or exc.message_zh or exc.message


def evaluate_chunk(pack: RulePack, user: User, chunk: list[Record], as_of: dt.date,
                   version: int) -> list[dict[str, Any]]:
    """Output records of a chunk, in order; households outside the user's jurisdiction are refused."""
    records = [r.parsed() for r in chunk]
    out: list[dict[str, Any] | None] = [None] * len(records)
    allowed = []
    for i, r in enumerate(records):
        county = r.household.get("county") if isinstance(r.household, dict) else None
        if isinstance(county, str) and county in pack.jurisdictions and not in_scope(pack, user, county):
            message = f"{county} is outside {user.username}'s jurisdiction {user.jurisdiction}"
            out[i] = {"line": r.line, "household_id": r.household_id or "", "error": {
                "code": "forbidden", "message": message, "details": [{"path": "county", "message": message}],
                "message_zh": f"county：{county} 不在您的管辖范围（{user.jurisdiction}）内"}}
        else:
            allowed.append(i)
    for i, result in zip(allowed, evaluate_records(pack, [records[i] for i in allowed], as_of, version),
                         strict=True):
        out[i] = result
        if "error" in result:
            _in_chinese(pack, records[i], result, as_of)
    return [r for r in out if r is not None]


def _run(job: Job, pack: RulePack, user: User, database: str) -> None:
    """Evaluate the roll chunk by chunk into the job's results file (a background thread)."""
    state = "done"
    try:
        job.total = count_records(job.source)
        with open(job.target, "w", encoding="utf-8") as sink:
            for chunk in in_chunks(read_records(job.source), CHUNK):
                results = evaluate_chunk(pack, user, chunk, job.as_of, job.version)
                sink.write("".join(dumps(r) + "\n" for r in results))
                for r in results:
                    job.summary.add(r)
                job.done += len(results)
    except Exception as exc:  # noqa: BLE001 - whatever stops a job must show on its page, not vanish with the thread
        job.message, state = str(exc), "failed"
    try:
        db = open_db(database)
        try:
            audit(db, job.user, "batch", "batch", job.id,
                  f"{job.filename} on {job.as_of.isoformat()} v{job.version}: {state}, {job.done} households, "
                  f"{job.summary.errors} error(s), dibao {job.summary.dibao_monthly_total}/month")
        finally:
            db.conn.close()
    finally:
        job.finished, job.state = now(), state  # the page shows the results once the audit entry is written
        try:
            job.save(job.target.parent)
        except OSError:  # the job is still shown from memory; only a restart would forget it
            pass


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
            version, pack = pack_and_version()
            job_id = secrets.token_urlsafe(9)
            folder = _folder()
            suffix = ".csv" if upload.filename.lower().endswith(".csv") else ".jsonl"
            source = folder / f"{job_id}.input{suffix}"
            upload.save(source)
            unreadable = unreadable_roll(source)
            if source.stat().st_size == 0 or unreadable:
                source.unlink()
                errors["roll"] = unreadable or _("The file is empty.")
            else:
                job = Job(job_id, g.user.username, display_name(upload.filename), on,
                          version.number, source, folder / f"{job_id}.jsonl")
                JOBS[job_id] = job
                job.save(folder)
                threading.Thread(target=_run, args=(job, pack, g.user, current_app.config["DATABASE"]),
                                 name=f"batch-{job_id}", daemon=True).start()
                return redirect(url_for("batch.show", job_id=job_id))
    mine = sorted(_jobs_of(g.user.username), key=lambda j: j.started, reverse=True)
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

