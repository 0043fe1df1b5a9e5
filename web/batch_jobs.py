"""The web's batch reviews as jobs kept in the database (``batch_jobs``): progress, resumption, expiry.

A job's roll and results are files in the batch folder (``BATCH_FOLDER``; by default ``batch/`` beside
the database): ``<id>.input.jsonl`` (or ``.csv``) and ``<id>.jsonl``. A job runs in a thread of the
server process, which writes its progress to the job's row after each chunk of households; that write
is also its heartbeat, and finds out whether the job was deleted meanwhile (then it stops).

A job left 'running' by a server that stopped is resumed by the next sweep: from the last complete
record of its results file, as ``doudi batch --resume`` does, so the results are those of an
uninterrupted run. The sweep runs at the first request after a start and then at most every
``SWEEP_EVERY`` seconds; it also deletes, with their files, the jobs that started more than
``BATCH_RETENTION_DAYS`` ago.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlite_utils import Database

from engine import versions
from engine.batch import CHUNK, Summary, evaluate_records, resume_point
from engine.decision import dumps
from engine.errors import DoudiError
from engine.evaluate import evaluate
from engine.facts import check
from engine.model import RulePack
from engine.rolls import Record, count_records, in_chunks, read_records
from engine.store import audit, now, open_db
from engine.users import User, get_user, in_scope

SWEEP_EVERY = 300  # seconds between two sweeps of a running server
STALE = 120  # seconds without a heartbeat after which another server's job counts as stopped
# who runs a job: this host, this process and this start of it (a restarted server may get the same pid)
RUNNER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class Job:
    """One uploaded roll being (or having been) evaluated, as its row says."""

    id: str
    owner: str
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
    expires: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any], folder: Path) -> Job:
        return cls(row["id"], row["owner"], row["filename"], dt.date.fromisoformat(row["as_of"]), row["version"],
                   folder / row["source"], folder / row["target"], row["created_at"], row["finished_at"] or "",
                   row["total"], row["done"] or 0, row["status"], row["message"] or "",
                   Summary.from_dict(json.loads(row["summary"])) if row["summary"] else Summary(), row["expires_at"])

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


def folder(create: bool = True) -> Path:
    """The batch folder of the current app (created on first use; rolls hold personal data: its owner's only)."""
    config = current_app.config
    path = Path(config.get("BATCH_FOLDER") or Path(config["DATABASE"]).resolve().parent / "batch")
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def create(db: Database, job: Job, retention_days: int) -> None:
    """Store a new job (running, not yet claimed by a thread)."""
    at = now()
    expires = dt.datetime.fromisoformat(at) + dt.timedelta(days=retention_days)
    db.table("batch_jobs").insert({
        "id": job.id, "owner": job.owner, "filename": job.filename, "as_of": job.as_of.isoformat(),
        "version": job.version, "status": "running", "total": None, "done": 0, "errors": 0, "summary": None,
        "message": "", "source": job.source.name, "target": job.target.name, "runner": RUNNER, "created_at": at,
        "updated_at": at, "finished_at": None, "expires_at": expires.isoformat()})


def get(db: Database, job_id: str, where: Path) -> Job | None:
    rows = list(db.table("batch_jobs").rows_where("id = ?", [job_id]))
    return Job.from_row(rows[0], where) if rows else None


def of_owner(db: Database, owner: str, where: Path) -> list[Job]:
    """The jobs of a user, newest first."""
    return [Job.from_row(r, where) for r in db.table("batch_jobs").rows_where("owner = ?", [owner],
                                                                              order_by="created_at desc")]


def delete(db: Database, job: Job, user: str | None, why: str) -> None:
    """Remove a job's row (a thread running it stops at its next chunk) and its files."""
    with db.conn:
        db.execute("DELETE FROM batch_jobs WHERE id = ?", [job.id])
    _remove_files(job)
    audit(db, user, "batch.delete", "batch", job.id, f"{job.filename} on {job.as_of.isoformat()}: {why}")


def _remove_files(job: Job) -> None:
    for path in (job.source, job.target):
        path.unlink(missing_ok=True)


def start(database: str, where: Path, job_id: str, resume: bool = False) -> None:
    """Run a job claimed by this process in a background thread."""
    threading.Thread(target=_run, args=(database, where, job_id, resume), name=f"batch-{job_id}",
                     daemon=True).start()


# -- running ---------------------------------------------------------------------------------------


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


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _progress(db: Database, job_id: str, **values: Any) -> bool:
    """Write a job's progress if this process still runs it; False once it was deleted (or taken over)."""
    values = {k: json.dumps(v.as_dict()) if isinstance(v, Summary) else v for k, v in values.items()}
    sets = ", ".join([f"[{k}] = :{k}" for k in values] + ["updated_at = :at"])
    with db.conn:
        cursor = db.execute(f"UPDATE batch_jobs SET {sets} WHERE id = :id AND runner = :runner",
                            {**values, "at": now(), "id": job_id, "runner": RUNNER})
    return cursor.rowcount == 1


def _run(database: str, where: Path, job_id: str, resume: bool) -> None:
    """Evaluate the roll chunk by chunk into the job's results file, from where it stopped when ``resume``."""
    db = open_db(database)
    try:
        job = get(db, job_id, where)
        if job is not None:
            _evaluate(db, job, resume)
    finally:
        db.conn.close()


def _evaluate(db: Database, job: Job, resume: bool) -> None:
    state, message, summary, done, going = "done", "", Summary(), 0, True
    try:
        user = get_user(db, job.owner)
        if not user.active:
            raise DoudiError(f"the account {job.owner} is disabled")
        _, pack = versions.pack_of(db, job.version)
        total = count_records(job.source)
        if resume and job.target.exists():
            done, summary = resume_point(job.target)
        records = read_records(job.source, pack.facts)
        for _skipped in range(done):
            next(records, None)
        with open(job.target, "r+" if done else "w", encoding="utf-8", opener=_private) as sink:
            sink.seek(0, os.SEEK_END)
            going = _progress(db, job.id, total=total, done=done, errors=summary.errors, summary=summary)
            chunks = in_chunks(records, CHUNK)
            while going and (chunk := next(chunks, None)) is not None:
                results = evaluate_chunk(pack, user, chunk, job.as_of, job.version)
                sink.write("".join(dumps(r) + "\n" for r in results))
                sink.flush()
                for r in results:
                    summary.add(r)
                done += len(results)
                going = _progress(db, job.id, done=done, errors=summary.errors, summary=summary)
    except Exception as exc:  # noqa: BLE001 - whatever stops a job must show on its page, not vanish with the thread
        state, message = "failed", getattr(exc, "message", None) or str(exc)
        try:
            going = _progress(db, job.id)  # unless it failed because it was deleted
        except Exception:  # noqa: BLE001 - the database itself failed: still try to say so below
            going = True
    if not going:  # deleted while it ran: the files it was still writing go too
        _remove_files(job)
        return
    audit(db, job.owner, "batch", "batch", job.id,
          f"{job.filename} on {job.as_of.isoformat()} v{job.version}: {state}, {done} households, "
          f"{summary.errors} error(s), dibao {summary.dibao_monthly_total}/month")
    # the page shows the results once the audit entry is written
    _progress(db, job.id, status=state, message=message, done=done, errors=summary.errors, summary=summary,
              finished_at=now())


# -- the sweep -------------------------------------------------------------------------------------


def _stopped(runner: str | None, heartbeat: str) -> bool:
    """Whether the server that ran a job is gone: this host's process no longer there, or no heartbeat."""
    host, _sep, rest = (runner or "").partition(":")
    pid = rest.partition(":")[0]
    if runner and host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return runner != RUNNER  # an earlier start of a process with our pid
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:  # there, but not ours to signal
            pass
    beat = dt.datetime.fromisoformat(heartbeat)
    return (dt.datetime.now(dt.UTC) - beat).total_seconds() > STALE


def sweep(db: Database, database: str, where: Path, retention_days: int) -> None:
    """Resume the jobs a stopped server left running; delete the expired ones with their files."""
    for row in list(db.table("batch_jobs").rows_where("status = 'running'")):
        if row["runner"] != RUNNER and _stopped(row["runner"], row["updated_at"]):
            with db.conn:  # claimed by one process only
                claimed = db.execute("UPDATE batch_jobs SET runner = ?, updated_at = ? WHERE id = ? AND runner IS ?",
                                     [RUNNER, now(), row["id"], row["runner"]]).rowcount
            if claimed:
                start(database, where, row["id"], resume=True)
    for row in list(db.table("batch_jobs").rows_where("expires_at < ? and status != 'running'", [now()])):
        delete(db, Job.from_row(row, where), None, "expired")
    # files of no job (left by a crash between the upload and its row) go once they are as old
    known = {name for row in db.table("batch_jobs").rows for name in (row["source"], row["target"])}
    cutoff = time.time() - 86400 * retention_days
    for path in _files(where):
        if path.name not in known and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def _files(where: Path) -> Iterator[Path]:
    return (p for p in where.iterdir() if p.is_file()) if where.is_dir() else iter(())


def sweep_now_and_then() -> None:
    """Sweep (before a request) at the first request of an app, then at most every ``SWEEP_EVERY`` seconds."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions.setdefault("doudi.batch_sweep", {"lock": threading.Lock(), "last": None})
    if state["last"] is not None and time.monotonic() - state["last"] < SWEEP_EVERY:
        return
    if not state["lock"].acquire(blocking=False):
        return
    try:
        state["last"] = time.monotonic()
        db = open_db(app.config["DATABASE"])
        try:
            sweep(db, app.config["DATABASE"], folder(create=False), app.config["BATCH_RETENTION_DAYS"])
        finally:
            db.conn.close()
    except Exception:  # noqa: BLE001 - a failed sweep must not fail the request that ran it
        app.logger.exception("batch sweep failed")
    finally:
        state["lock"].release()
