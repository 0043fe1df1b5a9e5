"""Versions, drafts and four-eyes approval, users and tokens, audit, stored decisions — the engine side."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import HUNAN

from engine import decisions, drafts, users, versions
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.evaluate import evaluate
from engine.store import audit_log, open_db

HOUSEHOLD = {"household_id": "XH-1", "county": "431322", "members": [{"id": "m1", "age": 75}]}


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
    with pytest.raises(PermissionDenied, match="may not draft.decide"):  # the role first (four eyes: below)
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


# -- ownership, read scope and the guarded transitions (issue 12: A1, A2, E1) ----------------------


def test_only_the_author_writes_into_a_draft(db, people):
    draft = _set(db, drafts.create_draft(db, people["xinhua"], "新化县"), people["xinhua"], 4100)
    for other in ("loudi", "province"):  # both have 新化县 in their scope, neither wrote the draft
        with pytest.raises(PermissionDenied, match=r"only the author \(xinhua\)"):
            _set(db, draft, people[other], 4200)
    with pytest.raises(PermissionDenied, match="only the author"):
        drafts.set_rule_file(db, draft.id, people["province"], path="rules/x.yaml", text="kind: rules",
                             revision=draft.revision)
    with pytest.raises(NotFound, match=f"no draft {draft.id}"):  # 长沙县 does not even see it
        _set(db, draft, people["changsha"], 4200)
    with pytest.raises(PermissionDenied, match="only the author"):
        drafts.submit(db, draft.id, people["loudi"])
    assert [c["user"] for c in drafts.draft_changes(db, draft.id)] == ["xinhua"]
    assert drafts.get_draft(db, draft.id).revision == 1


def test_who_reads_a_draft(db, people):
    """The author, the province, and those whose scope holds the author's jurisdiction or a changed one."""
    county = _set(db, drafts.create_draft(db, people["xinhua"], "新化县"), people["xinhua"], 4100)
    empty = drafts.create_draft(db, people["xinhua"], "还没有修改")  # no change yet: the author's jurisdiction
    by_city = _set(db, drafts.create_draft(db, people["loudi"], "娄底市"), people["loudi"], 4100)
    provincial = drafts.create_draft(db, people["province"], "全省")
    readers = {name: {d.id for d in drafts.readable_drafts(db, user)} for name, user in people.items()}
    assert readers == {
        "province": {county.id, empty.id, by_city.id, provincial.id}, "reviewer": {county.id, empty.id, by_city.id,
                                                                                   provincial.id},
        "xinhua": {county.id, empty.id, by_city.id},  # 娄底市's draft changes 新化县
        "loudi": {county.id, empty.id, by_city.id}, "loudi_reviewer": {county.id, empty.id, by_city.id},
        "changsha": set(), "changsha_reviewer": set(), "caseworker": set(), "admin": set()}
    with pytest.raises(NotFound, match=f"no draft {county.id}"):
        drafts.open_draft(db, people["changsha_reviewer"], county.id)
    with pytest.raises(NotFound, match=f"no draft {provincial.id}"):
        drafts.open_draft(db, people["loudi"], provincial.id)
    with pytest.raises(PermissionDenied):
        drafts.open_draft(db, people["caseworker"], county.id)
    # the author's jurisdiction is the one at creation: moving the account does not move the draft
    users.set_role(db, "admin", "xinhua", "local_officer", "430121", versions.pack_of(db)[1])
    assert empty.id in {d.id for d in drafts.readable_drafts(db, people["loudi_reviewer"])}
    assert empty.id not in {d.id for d in drafts.readable_drafts(db, people["changsha_reviewer"])}


def test_four_eyes_survives_a_role_change(db, people):
    """Whoever wrote any change in a draft cannot decide it, whatever role they hold now."""
    pack = versions.pack_of(db)[1]
    draft = _set(db, drafts.create_draft(db, people["xinhua"], "x"), people["xinhua"], 4100)
    # a change by loudi, as written before edits were the author's alone
    db.table("draft_changes").insert({"draft_id": draft.id, "at": "2019-01-01T00:00:00+00:00", "user": "loudi",
                                      "kind": "parameter", "jurisdiction": "431322", "parameter": "medical_annual_cap"})
    drafts.submit(db, draft.id, people["xinhua"])
    loudi = users.set_role(db, "admin", "loudi", "reviewer", "431300", pack)
    xinhua = users.set_role(db, "admin", "xinhua", "reviewer", "431300", pack)
    for who in (loudi, xinhua):
        assert not drafts.may_decide(db, pack, who, drafts.get_draft(db, draft.id))
        with pytest.raises(PermissionDenied, match="four-eyes"):
            drafts.approve(db, draft.id, who, "同意")
        with pytest.raises(PermissionDenied, match="four-eyes"):
            drafts.reject(db, draft.id, who, "退回")
    assert drafts.may_decide(db, pack, people["loudi_reviewer"], drafts.get_draft(db, draft.id))
    assert drafts.approve(db, draft.id, people["loudi_reviewer"]).number == 2


def test_the_audit_log_is_read_within_the_readers_scope(db, people):
    pack = versions.pack_of(db)[1]
    mine = _set(db, drafts.create_draft(db, people["xinhua"], "新化县"), people["xinhua"], 4100)
    drafts.submit(db, mine.id, people["xinhua"])
    drafts.approve(db, mine.id, people["loudi_reviewer"], "同意")
    theirs = drafts.create_draft(db, people["changsha"], "长沙县")
    provincial = drafts.create_draft(db, people["province"], "全省")
    decision = decisions.record(db, evaluate(pack, HOUSEHOLD, "2019-06-01", version=1), HOUSEHOLD, "reviewer")
    # an entry written before m003 names no jurisdiction
    db.table("audit").insert({"at": "2019-01-01T00:00:00+00:00", "user": "old", "action": "draft.create",
                              "object_type": "draft", "object_id": "99", "details": "{}"})

    def seen(name: str) -> set[tuple[str, str, str]]:
        return {(e["object_type"], e["object_id"], e["action"])
                for e in audit_log(db, limit=1000, **users.audit_scope(pack, people[name]))}

    everything = seen("reviewer")
    assert {("draft", "99", "draft.create"), ("draft", str(provincial.id), "draft.create"),
            ("draft", str(theirs.id), "draft.create"), ("version", "2", "publish")} <= everything
    assert everything == {(e["object_type"], e["object_id"], e["action"]) for e in audit_log(db, limit=1000)}
    city = seen("loudi_reviewer")
    assert {("draft", str(mine.id), "draft.save"), ("draft", str(mine.id), "draft.approve"),
            ("version", "2", "publish"), ("decision", str(decision), "evaluate"),  # a 新化县 household
            ("user", "xinhua", "user.create"), ("user", "loudi_reviewer", "user.create")} <= city
    hidden = {("draft", str(theirs.id)), ("draft", str(provincial.id)), ("draft", "99"), ("user", "changsha"),
              ("user", "province")}
    assert not {e for e in city if e[:2] in hidden}
    assert ("draft", str(theirs.id), "draft.create") in seen("changsha_reviewer")
    assert ("draft", str(mine.id), "draft.create") not in seen("changsha_reviewer")
    admin = seen("admin")  # an administrator of no jurisdiction reads the whole log, accounts included
    assert admin == everything
    assert "jurisdictions" not in audit_log(db, limit=1)[0]  # the stored column is not part of an entry


def _race(path, people, first, second, times):
    """Decide ``times`` submitted drafts, each by ``first`` and ``second`` at once on two connections of the
    database file: the outcome of each side per draft ('ok' or the exception)."""
    import threading

    setup = open_db(path)
    _, pack = versions.pack_of(setup)
    base = versions.version_files(setup, 1)
    ids = []
    for i in range(times):  # submitted drafts written directly (each publishes different content)
        _, files = drafts.with_value(base, pack, "431322", "dibao_standard",
                                     {"from": "2019-01-01", "value": 4001 + i + 100 * len(ids), "document": "d"})
        ids.append(setup.table("drafts").insert({
            "base_version": 1, "title": f"race {i}", "status": "submitted", "author": "xinhua",
            "author_jurisdiction": "431322", "revision": 1, "files": json.dumps(files, ensure_ascii=False),
            "jurisdictions": '["431322"]', "created_at": "t", "updated_at": "t", "submitted_at": "t"}).last_pk)
    setup.conn.close()
    outcomes = []
    for draft_id in ids:
        start, results = threading.Barrier(2), {}

        def decide(side, how, who, draft_id=draft_id, start=start, results=results):
            db = open_db(path)
            try:
                start.wait()
                if how == "approve":
                    drafts.approve(db, draft_id, people[who], "同意")
                else:
                    drafts.reject(db, draft_id, people[who], "退回")
                results[side] = "ok"
            except Exception as exc:  # noqa: BLE001 - the test looks at what was raised
                results[side] = exc
            finally:
                db.conn.close()

        threads = [threading.Thread(target=decide, args=(side, *how)) for side, how in (("a", first), ("b", second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes.append((draft_id, results["a"], results["b"]))
    return outcomes


@pytest.mark.parametrize(("first", "second"), [
    (("approve", "reviewer"), ("approve", "loudi_reviewer")),
    (("approve", "reviewer"), ("reject", "loudi_reviewer")),
    (("reject", "reviewer"), ("approve", "loudi_reviewer")),
])
def test_of_two_decisions_at_once_exactly_one_wins(tmp_path, first, second):
    path = tmp_path / "race.db"
    setup = open_db(path)
    versions.import_folder(setup, HUNAN, "test")
    _, pack = versions.pack_of(setup)
    people = {name: users.add_user(setup, "test", name, "password-1", "reviewer", code, pack=pack)
              for name, code in (("reviewer", "430000"), ("loudi_reviewer", "431300"))}
    users.add_user(setup, "test", "xinhua", "password-1", "local_officer", "431322", pack=pack)
    setup.conn.close()
    outcomes = _race(path, people, first, second, times=6)
    db = open_db(path)
    for draft_id, a, b in outcomes:
        assert sorted([a == "ok", b == "ok"]) == [False, True], (a, b)  # exactly one winner
        loser = a if b == "ok" else b
        assert isinstance(loser, Conflict), repr(loser)  # never a database error (a 500 in the API)
        final = drafts.get_draft(db, draft_id)
        assert final.status in ("approved", "rejected")
        assert loser.problems[0].details == {"status": final.status, "revision": final.revision,
                                             "decided_by": final.decided_by,
                                             "published_version": final.published_version}
        assert f"draft {draft_id} is {final.status} (decided by {final.decided_by}" in loser.message
        published = [v for v in versions.list_versions(db) if v.draft_id == draft_id]
        assert [v.number for v in published] == ([final.published_version] if final.status == "approved" else [])
        decided = [e["action"] for e in audit_log(db, object_type="draft", object_id=str(draft_id))]
        assert decided == [{"approved": "draft.approve", "rejected": "draft.reject"}[final.status]]
