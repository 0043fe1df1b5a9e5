"""Stored decisions kept honest: immutable in the database, stored compactly, and replayed field by field."""

from __future__ import annotations

import json
import sqlite3
import zlib

import pytest
from conftest import ROOT

from engine import decisions, versions
from engine.decision import dumps
from engine.evaluate import evaluate

HOUSEHOLD = json.loads((ROOT / "examples" / "household.json").read_text(encoding="utf-8"))
AS_OF = "2019-08-15"


@pytest.fixture()
def evaluated(db):
    """The example household's decision with version 1, as the API returns it (JSON data)."""
    _, pack = versions.pack_of(db, 1)
    decision = evaluate(pack, HOUSEHOLD, AS_OF, version=1)
    return decision, json.loads(decision.to_json(indent=None))


def _unprotect(db):
    """What someone writing to the database file behind doudi's back can do."""
    db.execute("drop trigger decisions_no_update")
    db.execute("drop trigger decisions_no_delete")


def test_the_database_refuses_to_change_or_remove_a_stored_decision(db, evaluated):
    decision_id = decisions.record(db, evaluated[0], HOUSEHOLD, "caseworker")
    for sql in ("update decisions set outputs = '{}'", "update decisions set trace = null",
                f"delete from decisions where id = {decision_id}"):
        with pytest.raises(sqlite3.DatabaseError, match="stored decisions are immutable"):
            db.execute(sql)
    assert decisions.get(db, decision_id)["outputs"] == evaluated[1]["outputs"]


def test_a_decision_is_stored_compactly_and_read_back_whole(db, evaluated):
    decision, data = evaluated
    assert data["trace"] and data["reasons"]["zh"]
    kept = decisions.record(db, decision, HOUSEHOLD, "caseworker")
    bare = decisions.record(db, decision, HOUSEHOLD, "caseworker", trace=False)
    size = {row["id"]: sum(len(v) for k, v in row.items() if isinstance(v, str | bytes) and k != "facts")
            for row in db.table("decisions").rows}
    whole = len(dumps(data).encode("utf-8"))  # what the decision column held before: the whole decision
    assert size[kept] < whole / 2 and size[bare] < whole / 3, (size, whole)
    stored = decisions.get(db, kept)
    assert stored["trace_stored"] is True and stored["decision"] == data and stored["facts"] == HOUSEHOLD
    # without its trace: read back empty, filled in by evaluating the facts again, and said so
    stored = decisions.get(db, bare)
    assert stored["trace_stored"] is False and stored["decision"]["trace"] == []
    assert decisions.with_trace(db, stored)["decision"] == data
    result = decisions.replay(db, bare, "caseworker")
    assert (result["identical"], result["trace_stored"], result["differences"]) == (True, False, [])
    assert result["replayed"]["trace"] == data["trace"]


def test_replay_names_every_field_changed_behind_the_databases_back(db, evaluated):
    decision_id = decisions.record(db, evaluated[0], HOUSEHOLD, "caseworker")
    assert decisions.replay(db, decision_id, "caseworker")["differences"] == []
    _unprotect(db)
    data = evaluated[1]
    outputs = data["outputs"] | {"dibao_monthly": data["outputs"]["dibao_monthly"] + 100}
    trace = json.loads(json.dumps(data["trace"]))
    step = next(i for i, s in enumerate(trace) if s["result"])
    name = next(iter(trace[step]["result"]))
    trace[step]["result"][name] = "tampered"
    reasons = {"zh": ["改过的理由"] + data["reasons"]["zh"][1:], "en": data["reasons"]["en"]}
    db.execute("update decisions set outputs = ?, household_id = 'HN-OTHER', county = '430121', "
               "version_number = 7, trace = ?, decision = ? where id = ?",
               [dumps(outputs), zlib.compress(json.dumps(trace, ensure_ascii=False).encode()),
                dumps({"as_of": AS_OF, "reasons": reasons}), decision_id])
    result = decisions.replay(db, decision_id, "caseworker")
    assert result["identical"] is False
    found = {d["path"]: (d["stored"], d["replayed"]) for d in result["differences"]}
    assert found == {
        "household_id": ("HN-OTHER", HOUSEHOLD["household_id"]), "county": ("430121", HOUSEHOLD["county"]),
        "rule_version.number": (7, 1),
        "outputs.dibao_monthly": (outputs["dibao_monthly"], data["outputs"]["dibao_monthly"]),
        "reasons.zh[0]": ("改过的理由", data["reasons"]["zh"][0]),
        f"trace[{step}].result.{name}": ("tampered", data["trace"][step]["result"][name]),
    }
    # the date: replay evaluates on the date of its column; the copy kept with the reasons shows the change
    db.execute("update decisions set as_of = '2019-01-15', outputs = ?, household_id = ?, county = ?, "
               "version_number = 1 where id = ?",
               [dumps(data["outputs"]), HOUSEHOLD["household_id"], HOUSEHOLD["county"], decision_id])
    paths = [d["path"] for d in decisions.replay(db, decision_id, "caseworker")["differences"]]
    assert "decision.as_of" in paths
    # a trace whose bytes are damaged is reported as not reproduced, not as a crash
    db.execute("update decisions set as_of = ?, trace = x'00ff' where id = ?", [AS_OF, decision_id])
    result = decisions.replay(db, decision_id, "caseworker")
    assert [(d["path"], d["stored"]) for d in result["differences"]][-1:] == [("trace", decisions.UNREADABLE)]


def test_a_decision_stored_before_the_trace_had_its_column_is_read_and_replayed(db, evaluated):
    _, data = evaluated
    row = db.table("decisions").insert({
        "household_id": data["household_id"], "county": data["county"], "as_of": AS_OF, "version_number": 1,
        "digest": data["rule_version"]["digest"], "facts": dumps(HOUSEHOLD), "outputs": dumps(data["outputs"]),
        "decision": dumps(data), "user": "caseworker", "created_at": "2020-01-01T00:00:00+00:00"}).last_pk
    stored = decisions.get(db, row)
    assert stored["trace_stored"] is True and stored["decision"] == data
    assert decisions.replay(db, row, "caseworker")["identical"] is True
    _unprotect(db)
    copy = data | {"outputs": data["outputs"] | {"dibao_monthly": 1}}
    db.execute("update decisions set decision = ? where id = ?", [dumps(copy), row])
    paths = [d["path"] for d in decisions.replay(db, row, "caseworker")["differences"]]
    assert paths == ["decision.outputs.dibao_monthly"]
