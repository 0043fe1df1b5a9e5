"""A draft is evaluated in a worker process with a time and memory limit (engine/isolation.py); the server
keeps answering while a pathological draft is evaluated."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
import urllib.error
import urllib.request

import pytest
from conftest import HUNAN
from werkzeug.serving import make_server

from engine import isolation, limits, users, versions
from engine.errors import LimitExceeded, RulePackError
from engine.load import read_files
from web import create_app
from web.db import get_db, init_db


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


def test_a_job_runs_in_a_child_and_its_result_or_error_comes_back():
    results = isolation.run(isolation.policy_tests_of_files, read_files(HUNAN), budget=isolation.Budget(),
                            what="draft 1", what_zh="草稿 1")
    assert results and all(r.passed for r in results)
    with pytest.raises(RulePackError) as info:  # an engine error keeps its problems across the pipe
        isolation.run(isolation.policy_tests_of_files, {"a.yaml": "kind: nope\n"}, budget=isolation.Budget(),
                      what="draft 1", what_zh="草稿 1")
    assert info.value.problems[0].file == "a.yaml"
    assert not multiprocessing.active_children()


@pytest.mark.parametrize(("job", "args", "budget", "limit", "words"), [
    (_sleep, (30,), isolation.Budget(seconds=1), "time", ("longer than 1 s", "超过 1 秒")),
    (bytearray, (3_000_000_000,), isolation.Budget(memory_mb=600), "memory", ("more than 600 MB", "超过 600 MB")),
])
def test_a_job_over_its_limit_is_stopped_and_named(job, args, budget, limit, words):
    start = time.monotonic()
    with pytest.raises(LimitExceeded) as info:
        isolation.run(job, *args, budget=budget, what="draft 7", what_zh="草稿 7")
    assert time.monotonic() - start < 15
    assert info.value.message.startswith("draft 7: ") and words[0] in info.value.message
    assert info.value.message_zh.startswith("草稿 7：") and words[1] in info.value.message_zh
    assert info.value.problems[0].details["limit"] == limit
    assert not multiprocessing.active_children()  # killed and reaped: no zombie


# A draft durable-rules cannot compile: its ruleset has a node with more than 511 successors, and the core
# loops for ever on it, holding the GIL. The declared limits refuse it, so the test raises them.
FROZEN = ("kind: rules\nprogramme: x\ntitle: {zh: 试验, en: Probe}\nreference: 试验\nvariables:\n"
          "  xflag: {type: bool, default: false, label: {zh: 试验, en: Probe}}\nrules:\n"
          "  - id: x.frozen\n    title: {zh: 试验, en: Probe}\n    reference: 试验\n"
          f"    when: household_size in [{', '.join(map(str, range(2000)))}]\n    set: {{xflag: true}}\n")
LAX = limits.Limits(expression_chars=100_000, expression_nodes=100_000, rule_nodes=100_000, alternatives=10_000,
                    branching=100_000)


@pytest.fixture()
def server(tmp_path, monkeypatch):
    """The app on a free localhost port (a real threaded server), a stored draft that freezes durable-rules,
    a provincial officer's token, and a short DRAFT_TIMEOUT."""
    monkeypatch.setattr(limits, "LIMITS", LAX)
    app = create_app({"DATABASE": str(tmp_path / "doudi.db"), "SECRET_KEY": "isolation-test", "TESTING": False,
                      "DRAFT_TIMEOUT": 4})
    init_db(app)
    with app.app_context():
        db = get_db()
        _, pack = versions.pack_of(db)
        users.add_user(db, "test", "province", "password-1", "province_officer", "430000", pack=pack)
        token = users.issue_token(db, "test", "province", "tests")
        files = versions.version_files(db, 1) | {"rules/99-frozen.yaml": FROZEN}
        draft_id = db.table("drafts").insert({
            "base_version": 1, "title": "frozen", "status": "editing", "author": "province", "revision": 1,
            "created_at": "2019-01-01", "updated_at": "2019-01-01", "jurisdictions": '["430000"]',
            "files": json.dumps(files, ensure_ascii=False)}).last_pk
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}", token, draft_id
    http.shutdown()


def test_the_server_answers_while_a_pathological_draft_is_evaluated(server):
    url, token, draft_id = server
    body = json.dumps({"from": "1", "to": f"draft:{draft_id}", "as_of": "2019-06-01",
                       "synthetic": {"n": 20, "seed": 1}}).encode()
    request = urllib.request.Request(f"{url}/api/v1/impact", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    answer: dict[str, object] = {}

    def impact() -> None:
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer["status"], answer["body"] = response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            answer["status"], answer["body"] = exc.code, json.load(exc)

    worker = threading.Thread(target=impact)
    worker.start()
    time.sleep(1.5)  # the draft is in durable-rules by now (loading it takes well under a second)
    assert worker.is_alive()
    for _ in range(4):
        start = time.monotonic()
        with urllib.request.urlopen(f"{url}/login", timeout=5) as response:
            assert response.status == 200 and "登录" in response.read().decode()
        assert time.monotonic() - start < 1
        time.sleep(0.3)
    worker.join(30)
    assert not worker.is_alive()
    error = answer["body"]["error"]  # type: ignore[index]
    assert (answer["status"], error["code"], error["status"]) == (503, "limit_exceeded", 503)
    assert f"draft {draft_id}: the evaluation took longer than 4 s" in error["message"]
    assert f"草稿 {draft_id}：计算超过 4 秒" in error["message_zh"]
    assert error["details"][0]["limit"] == "time"
    assert not multiprocessing.active_children()


def test_the_compare_page_and_approval_stop_a_frozen_draft_with_a_readable_error(tmp_path, monkeypatch):
    """The editor's compare page (an error page, 503) and the policy tests run on approval (the API's 503)."""
    monkeypatch.setattr(limits, "LIMITS", LAX)
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "doudi.db"), "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": False, "DRAFT_TIMEOUT": 2})
    init_db(app)
    with app.app_context():
        db = get_db()
        _, pack = versions.pack_of(db)
        users.add_user(db, "test", "province", "password-1", "province_officer", "430000", pack=pack)
        users.add_user(db, "test", "reviewer", "password-1", "reviewer", "430000", pack=pack)
        token = users.issue_token(db, "test", "reviewer", "tests")
        files = versions.version_files(db, 1) | {"rules/99-frozen.yaml": FROZEN}
        draft_id = db.table("drafts").insert({
            "base_version": 1, "title": "frozen", "status": "submitted", "author": "province", "revision": 1,
            "created_at": "2019-01-01", "updated_at": "2019-01-01", "jurisdictions": '["430000"]',
            "files": json.dumps(files, ensure_ascii=False)}).last_pk
    page = app.test_client()
    assert page.post("/login", data={"username": "reviewer", "password": "password-1"}).status_code == 302
    shown = page.get(f"/versions/compare?from=1&to=draft:{draft_id}&n=20&as_of=2019-06-01")
    assert shown.status_code == 503
    assert "计算已停止" in shown.text and f"草稿 {draft_id}：计算超过 2 秒" in shown.text
    approved = app.test_client().post(f"/api/v1/drafts/{draft_id}/approve", json={"comment": "ok"},
                                      headers={"Authorization": f"Bearer {token}"})
    assert approved.status_code == 503
    assert approved.get_json()["error"]["message"].startswith(f"draft {draft_id}: the evaluation took longer than 2 s")
    with app.app_context():  # not published, still submitted
        assert versions.get_version(get_db()).number == 1
        assert get_db().execute("select status from drafts where id = ?", [draft_id]).fetchone()[0] == "submitted"
    assert not multiprocessing.active_children()
