"""Versions, drafts and four-eyes approval, users and tokens, audit, stored decisions — the engine side."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import HUNAN

from engine import decisions, drafts, users, versions
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.evaluate import evaluate
from engine.store import audit_log, open_db

HOUSEHOLD = {"household_id": "XH-1", "county": "431322", "members": [{"id": "m1", "age": 75}]}


@pytest.fixture()
def db():
    """An in-memory database with the Hunan pack imported as version 1."""
    database = open_db(":memory:")
    versions.import_folder(database, HUNAN, "test")
    return database


@pytest.fixture()
def people(db):
    """One account per role, in and out of 新化县 (431322, in 娄底市 431300)."""
    _, pack = versions.pack_of(db)
    spec = {"province": ("province_officer", "430000"), "xinhua": ("local_officer", "431322"),
            "loudi": ("local_officer", "431300"), "changsha": ("local_officer", "430121"),
            "reviewer": ("reviewer", "430000"), "loudi_reviewer": ("reviewer", "431300"),
            "changsha_reviewer": ("reviewer", "430100"), "caseworker": ("caseworker", "431322"),
            "admin": ("admin", None)}
    return {name: users.add_user(db, "test", name, "password-1", role, code, pack=pack)
            for name, (role, code) in spec.items()}


def _set(db, draft, user, value, code="431322", parameter="dibao_standard", **extra):
    return drafts.set_parameter_value(db, draft.id, user, jurisdiction=code, parameter=parameter,
                                      effective="2019-01-01", value=value,
                                      document=extra.pop("document", "新政发〔2019〕9号"),
                                      reason="年度调整", revision=extra.pop("revision", draft.revision))


def test_import_is_idempotent_and_versions_are_immutable(db):
    again, created = versions.import_folder(db, HUNAN)
    assert (again.number, created) == (1, False)
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        db.execute("update versions set title = 'x'")
    with pytest.raises(Conflict, match="already published as version 1"):
        versions.publish(db, versions.version_files(db, 1), "test", "again")


def test_export_gives_back_the_same_pack(db, tmp_path):
    versions.export_version(db, 1, tmp_path / "v1")
    from engine import load_pack
    assert load_pack(tmp_path / "v1").digest == versions.get_version(db, 1).digest
    with pytest.raises(Conflict, match="not empty"):
        versions.export_version(db, 1, tmp_path / "v1")


def test_a_county_below_the_floor_is_refused_with_the_clause(db, people):
    draft = drafts.create_draft(db, people["xinhua"], "新化县 2019")
    with pytest.raises(InvalidInput) as info:
        _set(db, draft, people["xinhua"], 3900)
    problem = info.value.problems[0]
    assert problem.path == "value"
    assert "3960" in problem.message and "湘民发〔2017〕33号 二（二）" in problem.message
    assert "低于" in problem.message_zh
    assert drafts.get_draft(db, draft.id).revision == 0  # nothing half-written


@pytest.mark.parametrize(("change", "path", "words"), [
    ({"document": " "}, "document", "authorising document is required"),
    ({"parameter": "dibao_standrd"}, "parameter", "unknown parameter"),
    ({"code": "431399"}, "jurisdiction", "unknown jurisdiction"),
])
def test_a_save_names_the_field_in_error(db, people, change, path, words):
    draft = drafts.create_draft(db, people["xinhua"], "x")
    with pytest.raises(InvalidInput) as info:
        _set(db, draft, people["xinhua"], 4100, **change)
    assert {p.path for p in info.value.problems} == {path}
    assert words in str(info.value.problems[0])


def test_a_county_cannot_set_a_provincial_parameter(db, people):
    draft = drafts.create_draft(db, people["xinhua"], "x")
    with pytest.raises(InvalidInput, match="can only be set by province"):
        _set(db, draft, people["xinhua"], 3000, parameter="national_poverty_line")


def test_officers_edit_only_their_own_jurisdiction_and_below(db, people):
    draft = drafts.create_draft(db, people["loudi"], "娄底市")
    draft = _set(db, draft, people["loudi"], 4100)  # 新化县 lies in 娄底市
    with pytest.raises(PermissionDenied, match="430121 is outside loudi's jurisdiction 431300"):
        _set(db, draft, people["loudi"], 7000, code="430121")
    with pytest.raises(PermissionDenied):
        drafts.set_rule_file(db, draft.id, people["loudi"], path="rules/x.yaml", text="kind: rules", revision=1)


def test_a_stale_save_is_a_conflict_and_loses_nothing(db, people):
    draft = drafts.create_draft(db, people["xinhua"], "x")
    first = _set(db, draft, people["xinhua"], 4100)
    with pytest.raises(Conflict, match="changed by someone else"):
        _set(db, draft, people["xinhua"], 4200, revision=draft.revision)
    assert first.revision == 1
    files = drafts.draft_files(db, draft.id)
    assert "value: 4100" in files["values/431322-新化县.yaml"] and "4200" not in files["values/431322-新化县.yaml"]


def test_four_eyes_scope_and_publishing(db, people):
    draft = drafts.create_draft(db, people["xinhua"], "新化县 2019")
    draft = _set(db, draft, people["xinhua"], 4100)
    assert draft.jurisdictions == ["431322"]
    with pytest.raises(Conflict, match="not submitted"):
        drafts.approve(db, draft.id, people["reviewer"])
    drafts.submit(db, draft.id, people["xinhua"])
    with pytest.raises(PermissionDenied, match="four-eyes"):
        drafts.approve(db, draft.id, people["xinhua"])
    with pytest.raises(NotFound, match="no draft"):  # outside 长沙市: as if it did not exist
        drafts.approve(db, draft.id, people["changsha_reviewer"])
    with pytest.raises(PermissionDenied):
        drafts.approve(db, draft.id, people["province"])  # officers do not approve
    version = drafts.approve(db, draft.id, people["loudi_reviewer"], "同意")
    assert version.number == 2
    _, pack = versions.pack_of(db, 2)
    assert evaluate(pack, HOUSEHOLD, "2019-06-01").outputs["dibao_standard"] == 4100
    with pytest.raises(Conflict):
        _set(db, draft, people["xinhua"], 4200, revision=drafts.get_draft(db, draft.id).revision)


def test_reject_needs_a_comment_and_sends_the_draft_back(db, people):
    draft = drafts.create_draft(db, people["xinhua"], "x")
    draft = _set(db, draft, people["xinhua"], 4100)
    drafts.submit(db, draft.id, people["xinhua"])
    with pytest.raises(InvalidInput, match="comment is required"):
        drafts.reject(db, draft.id, people["reviewer"], " ")
    rejected = drafts.reject(db, draft.id, people["reviewer"], "请附文件")
    assert (rejected.status, rejected.comment) == ("rejected", "请附文件")
    again = _set(db, rejected, people["xinhua"], 4150, document="新政发〔2019〕10号")
    assert again.status == "editing"


def test_failing_policy_tests_block_publishing(db, people):
    draft = drafts.create_draft(db, people["province"], "规则修改")
    files = drafts.draft_files(db, draft.id)
    path = "tests/public-examples.yaml"
    draft = drafts.set_rule_file(db, draft.id, people["province"], path=path,
                                 text=files[path].replace("dibao_monthly: 550", "dibao_monthly: 551", 1),
                                 reason="test", revision=draft.revision)
    assert draft.jurisdictions == ["430000"]
    drafts.submit(db, draft.id, people["province"])
    with pytest.raises(Conflict, match="1 policy test"):
        drafts.approve(db, draft.id, people["reviewer"])
    assert versions.get_version(db).number == 1
    assert drafts.get_draft(db, draft.id).status == "submitted"
    with pytest.raises(NotFound):  # a city reviewer does not even see a provincial change
        drafts.approve(db, draft.id, people["loudi_reviewer"])


def test_a_rule_file_with_an_error_is_refused_at_its_line(db, people):
    draft = drafts.create_draft(db, people["province"], "x")
    path = "rules/60-review.yaml"
    text = drafts.draft_files(db, draft.id)[path].replace("dibao_eligible and enrolled", "dibao_eligable and enrolled")
    with pytest.raises(InvalidInput) as info:
        drafts.set_rule_file(db, draft.id, people["province"], path=path, text=text, revision=0)
    problem = info.value.problems[0]
    assert (problem.path, problem.file) == ("text", path)
    assert problem.line and "did you mean 'dibao_eligible'" in problem.message


def test_passwords_and_tokens_are_stored_hashed(db, people):
    row = next(db.table("users").rows_where("username = ?", ["xinhua"]))
    assert "password-1" not in row["password_hash"] and row["password_hash"].startswith("scrypt$")
    assert users.authenticate(db, "xinhua", "password-1") == people["xinhua"]
    assert users.authenticate(db, "xinhua", "wrong") is None
    token = users.issue_token(db, "admin", "xinhua")
    assert users.user_for_token(db, token) == people["xinhua"]
    assert token not in str(list(db.table("tokens").rows))
    users.set_active(db, "admin", "xinhua", False)
    assert users.user_for_token(db, token) is None


def test_replay_reproduces_a_decision_after_a_new_version(db, people):
    _, v1 = versions.pack_of(db, 1)
    decision_id = decisions.record(db, evaluate(v1, HOUSEHOLD, "2019-06-01", version=1), HOUSEHOLD, "caseworker")
    draft = _set(db, drafts.create_draft(db, people["xinhua"], "x"), people["xinhua"], 4100)
    drafts.submit(db, draft.id, people["xinhua"])
    drafts.approve(db, draft.id, people["reviewer"])
    result = decisions.replay(db, decision_id, "caseworker")
    assert result["identical"] is True
    assert result["replayed"]["outputs"]["dibao_standard"] == 3960
    assert [d["id"] for d in decisions.search(db, household_id="XH")] == [decision_id]


def test_the_audit_log_records_every_step_and_cannot_be_changed(db, people):
    draft = _set(db, drafts.create_draft(db, people["xinhua"], "x"), people["xinhua"], 4100)
    drafts.submit(db, draft.id, people["xinhua"])
    drafts.approve(db, draft.id, people["reviewer"], "同意")
    actions = [(e["user"], e["action"]) for e in reversed(audit_log(db))]
    assert ("xinhua", "draft.create") in actions and ("xinhua", "draft.save") in actions
    assert actions[-3:] == [("xinhua", "draft.submit"), ("reviewer", "publish"), ("reviewer", "draft.approve")]
    save = next(e for e in audit_log(db) if e["action"] == "draft.save")
    assert (save["document"], save["reason"]) == ("新政发〔2019〕9号", "年度调整")
    for sql in ("update audit set user = 'x'", "delete from audit"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
