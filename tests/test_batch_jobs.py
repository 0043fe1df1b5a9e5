"""The web's batch jobs kept in the database: resumed after a restart, deleted with their files, expired."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import socket
import threading
import time

import pytest

from engine import users
from engine.synth import synth_households
from web import batch_jobs, create_app
from web.db import get_db, init_db

PASSWORD = "secret-pass-1"


@pytest.fixture
def config(tmp_path):
    """The configuration of a server on a fresh database (version 1, caseworkers of 新化县 and 长沙县)."""
    config = {"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False}
    app = create_app(config)
    init_db(app)
    with app.app_context():
        users.add_user(get_db(), None, "xinhua", PASSWORD, "caseworker", "431322")
        users.add_user(get_db(), None, "changsha", PASSWORD, "caseworker", "430121")
    return config


def _client(app, username="xinhua"):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def _roll(n: int) -> bytes:
    lines = [json.dumps(h, ensure_ascii=False) for h in synth_households(["431322"], n, seed=3)]
    lines.insert(40, '{"household_id": "BAD-1", "county": "431322", "members": [{"id": "m1", "age": -3}]}')
    return ("\n".join(lines) + "\n").encode()


def _upload(client, roll: bytes) -> str:
    response = client.post("/batch/", data={"as_of": "2019-06-30", "roll": (io.BytesIO(roll), "roll.jsonl")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    return response.location.rsplit("/", 1)[1]


def _wait(client, job: str) -> dict:
    for _ in range(600):
        status = client.get(f"/batch/{job}/status.json").get_json()
        if status["state"] != "running":
            return status
        time.sleep(0.05)
    raise AssertionError("the batch did not finish")


def _row(app, job: str) -> dict | None:
    with app.app_context():
        rows = list(get_db().table("batch_jobs").rows_where("id = ?", [job]))
    return rows[0] if rows else None


def _interrupted(app, done: dict, job_id: str, runner: str, heartbeat: dt.datetime, kept: int) -> None:
    """A copy of a finished job as a server killed after ``kept`` records (and half of the next) leaves it."""
    base = os.path.dirname(app.config["DATABASE"])
    source = os.path.join(base, "batch", done["source"])
    target = os.path.join(base, "batch", done["target"])
    with open(source, "rb") as f, open(os.path.join(base, "batch", f"{job_id}.input.jsonl"), "wb") as copy:
        copy.write(f.read())
    with open(target, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'"line": 1,', b'"line": 1, "kept": true,')  # shows it is not evaluated again
    with open(os.path.join(base, "batch", f"{job_id}.jsonl"), "wb") as partial:
        partial.write(b"".join(lines[:kept]) + lines[kept][: len(lines[kept]) // 2])
    with app.app_context():
        get_db().table("batch_jobs").insert(done | {
            "id": job_id, "status": "running", "done": kept, "summary": None, "finished_at": None,
            "source": f"{job_id}.input.jsonl", "target": f"{job_id}.jsonl", "runner": runner,
            "updated_at": heartbeat.replace(microsecond=0).isoformat()})


def test_a_job_interrupted_mid_way_is_resumed_after_a_restart_and_gives_the_same_results(config):
    app = create_app(config)
    client = _client(app)
    job = _upload(client, _roll(150))
    _wait(client, job)
    done = _row(app, job)
    assert done["status"] == "done" and done["done"] == done["total"] == 151 and done["errors"] == 1
    expected = (os.path.dirname(config["DATABASE"]) + "/batch/" + done["target"])
    with open(expected, "rb") as f:
        results = f.read()
    host, recent = socket.gethostname(), dt.datetime.now(dt.UTC)
    # killed with the server (this process's pid, an earlier start of it); a server on another host that
    # stopped (no heartbeat for long); a server on another host still running it (a fresh heartbeat)
    _interrupted(app, done, "killed", f"{host}:{os.getpid()}:earlier", recent, 90)
    _interrupted(app, done, "other-host", "elsewhere:12:ab", recent - dt.timedelta(hours=1), 30)
    _interrupted(app, done, "still-running", "elsewhere:12:ab", recent, 30)
    restarted = create_app(config)
    client = _client(restarted)  # its first request sweeps
    for resumed in ("killed", "other-host"):
        assert _wait(client, resumed)["state"] == "done", resumed
        row = _row(restarted, resumed)
        assert (row["done"], row["total"], row["errors"], row["summary"]) == \
            (151, 151, 1, done["summary"]), resumed
        with open(os.path.dirname(config["DATABASE"]) + f"/batch/{resumed}.jsonl", "rb") as f:
            assert f.read() == results.replace(b'"line": 1,', b'"line": 1, "kept": true,', 1), resumed
    assert _row(restarted, "still-running")["status"] == "running"
    assert "共 151 户" in client.get("/batch/killed").get_data(as_text=True)


def test_deleting_a_job_removes_its_files_and_only_its_owner_may(config):
    app = create_app(config)
    client = _client(app)
    job = _upload(client, _roll(20))
    _wait(client, job)
    files = [os.path.join(os.path.dirname(config["DATABASE"]), "batch", _row(app, job)[k])
             for k in ("source", "target")]
    assert [os.stat(f).st_mode & 0o777 for f in files] == [0o600, 0o600]  # rolls hold personal data
    assert _client(app, "changsha").post(f"/batch/{job}/delete").status_code == 404
    assert all(os.path.exists(f) for f in files)
    page = client.get(f"/batch/{job}").get_data(as_text=True)
    assert f'action="/batch/{job}/delete"' in page and "保留至" in page
    deleted = client.post(f"/batch/{job}/delete", follow_redirects=True)
    assert deleted.status_code == 200 and "roll.jsonl 的批量审核及其文件已删除" in deleted.get_data(as_text=True)
    assert not any(os.path.exists(f) for f in files) and _row(app, job) is None
    assert client.get(f"/batch/{job}").status_code == 404
    with app.app_context():
        entry = next(e for e in get_db().table("audit").rows_where("action = 'batch.delete'"))
    assert (entry["user"], entry["object_id"]) == ("xinhua", job)


def test_a_job_deleted_while_it_runs_stops_and_leaves_no_file(config):
    app = create_app(config)
    client = _client(app)
    job = _upload(client, _roll(300))
    client.post(f"/batch/{job}/delete")
    for thread in threading.enumerate():
        if thread.name == f"batch-{job}":
            thread.join(60)
    assert not [p for p in os.listdir(os.path.join(os.path.dirname(config["DATABASE"]), "batch"))
                if p.startswith(job)]


def test_expired_jobs_and_files_of_no_job_are_swept(config):
    app = create_app(config)
    client = _client(app)
    old, recent = _upload(client, _roll(10)), _upload(client, _roll(10))
    _wait(client, old), _wait(client, recent)
    folder = os.path.join(os.path.dirname(config["DATABASE"]), "batch")
    stray, fresh = os.path.join(folder, "stray.jsonl"), os.path.join(folder, "fresh.jsonl")
    for path in (stray, fresh):
        with open(path, "w") as f:
            f.write("{}\n")
    os.utime(stray, (time.time() - 8 * 86400,) * 2)
    with app.app_context():
        db = get_db()
        db.execute("update batch_jobs set expires_at = '2000-01-01T00:00:00+00:00' where id = ?", [old])
        db.conn.commit()
        batch_jobs.sweep(db, config["DATABASE"], batch_jobs.folder(), 7)
    assert _row(app, old) is None and _row(app, recent) is not None
    left = sorted(os.listdir(folder))
    assert not [p for p in left if p.startswith(old)] and [p for p in left if p.startswith(recent)]
    assert "stray.jsonl" not in left and "fresh.jsonl" in left
