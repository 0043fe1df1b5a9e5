"""The database commands of the CLI: init, versions, export, users, diff, impact; batch and synth."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import HUNAN, ROOT

from doudi import admin  # noqa: F401 - registers the database commands
from doudi.cli import cli


@pytest.fixture()
def run(tmp_path):
    """Run a doudi command against a database in tmp_path; never a traceback."""
    database = tmp_path / "doudi.db"

    def invoke(*args, db=True, input=None):
        argv = [str(a) for a in args] + (["--db", str(database)] if db else [])
        result = CliRunner().invoke(cli, argv, input=input, catch_exceptions=False)
        assert "Traceback" not in result.output + (result.stderr or "")
        return result

    return invoke


def test_init_is_idempotent_and_export_round_trips(run, tmp_path):
    first = run("init")
    assert first.exit_code == 0 and "imported as version 1" in first.output
    again = run("init")
    assert "pack 'hunan' is already in the database: latest is version 1" in again.output
    assert run("versions").output.count("\n") == 1
    assert run("export", 1, tmp_path / "v1").exit_code == 0
    result = run("validate", tmp_path / "v1", db=False)
    assert result.exit_code == 0 and "sha256:" in result.output
    assert run("export", 1, tmp_path / "v1").exit_code == 2  # not empty


def test_users_and_tokens(run):
    run("init")
    ok = run("users", "add", "xinhua", "--role", "local_officer", "--jurisdiction", "431322",
             "--password", "pass-word-1")
    assert ok.exit_code == 0
    bad = run("users", "add", "cw", "--role", "caseworker", "--jurisdiction", "430000", "--password", "pass-word-1")
    assert bad.exit_code == 2 and "a caseworker needs a county jurisdiction" in bad.output
    short = run("users", "add", "x2", "--role", "admin", "--password", "short")
    assert short.exit_code == 2 and "at least 8 characters" in short.output
    token = run("users", "token", "xinhua").output.strip()
    assert token.startswith("dd_") and len(token) > 30
    assert "xinhua" in run("users", "list").output


def test_eval_with_a_published_version(run):
    run("init")
    result = run("eval", ROOT / "examples" / "household.json", "--version", 1, "--as-of", "2019-08-15", "--no-trace")
    data = json.loads(result.output)
    assert data["rule_version"]["number"] == 1 and data["outputs"]["dibao_monthly"] == 733
    missing = run("eval", ROOT / "examples" / "household.json", "--version", 7)
    assert missing.exit_code == 2 and "version 7" in missing.output


def test_diff_and_impact_of_a_one_county_change(run, tmp_path):
    changed = tmp_path / "hunan"
    shutil.copytree(HUNAN, changed)
    path = changed / "values" / "431322-新化县.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "value: 3960, document: 新政发〔2019〕1号", "value: 4100, document: 新政发〔2019〕9号"), encoding="utf-8")
    diff = run("diff", HUNAN, changed)
    assert "431322 新化县 dibao_standard from 2019-01-01: 3960 → 4100  Δ 140 (3.54%)  新政发〔2019〕9号" in diff.output
    assert "no changes" in run("diff", HUNAN, HUNAN).output
    report = json.loads(run("impact", HUNAN, changed, "--n", 2000).output)
    assert report["affected_counties"] == ["431322"]
    assert report["households"] == 2000 and report["skipped"] == 2000 - report["evaluated"]
    assert report["amounts"]["dibao_monthly"]["delta"] > 0 and report["amounts"]["dibao_monthly"]["down"] == 0
    assert report["outputs"]["dibao_standard"] == report["evaluated"] > 0  # every household of 新化县


def test_synth_is_deterministic_and_batch_reports_bad_lines(run, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run("synth", "--n", 300, "--seed", 4, "-o", a, db=False)
    run("synth", "--n", 300, "--seed", 4, "-o", b, db=False)
    assert a.read_bytes() == b.read_bytes() and len(a.read_text(encoding="utf-8").splitlines()) == 300
    with a.open("a", encoding="utf-8") as f:
        f.write('{"household_id": "bad", "county": "430626", "members": []}\n')
    out = tmp_path / "out.jsonl"
    result = run("batch", a, "-o", out, "--as-of", "2019-06-30", "--workers", 1, db=False)
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["households"] == 301 and summary["errors"] == 1
    last = json.loads(out.read_text(encoding="utf-8").splitlines()[-1])
    assert last["line"] == 301 and last["error"]["details"][0]["path"] == "members"
    same = run("batch", a, "-o", a, db=False)
    assert same.exit_code == 2 and "overwrite the input" in same.output


def test_serve_prepares_the_database_and_one_demo_account_per_role(tmp_path):
    from doudi.serve import prepare
    from engine import users, versions
    from engine.store import open_db

    database = tmp_path / "instance" / "doudi.db"
    pack_id, created = prepare(database)
    assert pack_id == "hunan"
    assert sorted(role for _, role, _ in created) == sorted(users.ROLES)
    db = open_db(database)
    assert versions.get_version(db).number == 1
    username, _, password = created[0]
    assert users.authenticate(db, username, password) is not None
    assert prepare(database) == ("hunan", [])  # the second start changes nothing and prints no password
