"""Facts declared by the pack (rules/README.md, Facts): the base model, a pack's facts.yaml, what they
generate (the household schema, the expression symbols, one table of collections) and their checks."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from engine import evaluate, load_pack
from engine.errors import HouseholdError, RulePackError
from engine.factschema import household_schema
from engine.factsdecl import base

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schemas" / "household.schema.json"


def test_the_hunan_household_schema_file_is_the_one_its_facts_generate(pack):
    generated = household_schema(pack.facts)
    if os.environ.get("DOUDI_WRITE_SCHEMA"):  # DOUDI_WRITE_SCHEMA=1 pytest tests/test_factsdecl.py rewrites it
        SCHEMA_FILE.write_text(json.dumps(generated, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert json.loads(SCHEMA_FILE.read_text("utf-8")) == generated, \
        "schemas/household.schema.json is out of date: DOUDI_WRITE_SCHEMA=1 pytest tests/test_factsdecl.py"


def test_hunan_declares_its_collections_in_one_table(pack):
    assert pack.facts.table == (("members", "member", "members"), ("medical_claims", "claim", "claims"),
                                ("incidents", "incident", "incidents"))
    assert pack.facts.file == "facts.yaml"
    assert pack.plan.scope_collection == {"member": "members", "claim": "claims", "incident": "incidents"}


def test_the_base_model_has_the_members_and_the_income_heads():
    facts = base()
    assert facts.table == (("members", "member", "members"),)
    assert [f.path for f in facts.members.leaves()] == [
        "id", "name", "relation", "age", "income.wages", "income.business", "income.property",
        "income.transfer", "income.basic_pension", "income.excluded"]
    assert [f.path for f in facts.leaves()] == [
        "household_id", "county", "household_income.farm_net", "household_income.other", "assets.deposits",
        "assets.car"]
    assert facts.members.fields[2].values["head"].zh == "户主"


def test_an_unknown_household_field_is_refused_with_the_closest_declared_one(pack):
    household = {"household_id": "x", "county": "431322", "members": [{"id": "m1", "age": 70}],
                 "registerd_poor": True}
    with pytest.raises(HouseholdError) as exc:
        evaluate(pack, household, "2019-06-01")
    problem = exc.value.problems[0]
    assert problem.path == "registerd_poor"
    assert "did you mean 'registered_poor'?" in problem.message
    assert "是否应为“registered_poor”" in problem.message_zh


# -- a pack of its own ----------------------------------------------------------------------------------

ELDERS = """\
kind: facts
member:
  lives_alone: {type: bool, default: false, label: {zh: 独居, en: Lives alone}}
collections:
  visits:
    scope: visit
    name: visits
    label: {zh: 探访记录, en: Visits}
    max_items: 12
    fields:
      member: {type: member, required: true, label: {zh: 成员编号, en: Member}}
      day: {type: date, required: true, label: {zh: 探访日期, en: Date}}
      hours: {type: number, minimum: 0, maximum: 24, label: {zh: 时长（小时）, en: Hours}}
"""

RULES = """\
kind: rules
programme: elders
title: {zh: 独居老人, en: Elders}
reference: example
variables:
  elder_alone: {type: bool, scope: member, default: false, label: {zh: 独居老人, en: Elder living alone}}
  allowance: {type: money, default: 0, label: {zh: 独居老人津贴, en: Allowance}}
  visit_hours: {type: number, scope: visit, default: 0, label: {zh: 探访时长, en: Visit hours}}
  visited_hours: {type: number, default: 0, label: {zh: 探访总时长, en: Hours visited}}
rules:
  - id: elders.alone
    title: {zh: 独居老人, en: Elder living alone}
    reference: example
    for_each: member
    when: lives_alone and age >= 70
    set: {elder_alone: true}
  - id: elders.visit
    title: {zh: 探访, en: Visit}
    reference: example
    for_each: visit
    when: hours is not None
    set: {visit_hours: hours}
  - id: elders.allowance
    title: {zh: 津贴, en: Allowance}
    reference: example
    set:
      allowance: 100 * count(m for m in members if m.elder_alone)
      visited_hours: sum(v.visit_hours for v in visits)
"""


def _pack(tmp_path: Path, facts: str | None, rules: str = RULES, outputs: str | None = None) -> Path:
    folder = tmp_path / "elders"
    (folder / "rules").mkdir(parents=True)
    (folder / "pack.yaml").write_text(
        "kind: pack\nid: elders\ntitle: {zh: 独居老人, en: Elders}\nroot: '430000'\ndocuments: []\n"
        + (outputs or "outputs:\n  allowance: allowance\n  visited_hours: visited_hours\n"
                      "  visits: {each: visits, fields: {member: member, hours: visit_hours}}\n"), "utf-8")
    shutil.copy(ROOT / "rules" / "hunan" / "jurisdictions.yaml", folder / "jurisdictions.yaml")
    (folder / "rules" / "elders.yaml").write_text(rules, "utf-8")
    if facts is not None:
        (folder / "facts.yaml").write_text(facts, "utf-8")
    return folder


HOUSEHOLD = {"household_id": "e1", "county": "431322",
             "members": [{"id": "m1", "age": 78, "lives_alone": True}, {"id": "m2", "age": 75}],
             "visits": [{"member": "m1", "day": "2026-03-01", "hours": 2}, {"member": "m2", "day": "2026-03-05"},
                        {"member": "m1", "day": "2026-04-01", "hours": 1.5}]}


def test_a_pack_declares_a_member_field_and_a_collection_its_rules_use(tmp_path):
    pack = load_pack(_pack(tmp_path, ELDERS))
    assert pack.facts.table[-1] == ("visits", "visit", "visits")
    decision = evaluate(pack, HOUSEHOLD, "2026-06-01")
    assert decision.outputs["allowance"] == 100
    assert decision.outputs["visited_hours"] == 3.5
    assert decision.outputs["visits"] == [{"member": "m1", "hours": 2}, {"member": "m2", "hours": 0},
                                          {"member": "m1", "hours": 1.5}]


@pytest.mark.parametrize(("change", "path", "text"), [
    ({"visits": [{"member": "m7", "day": "2026-03-01"}]}, "visits[0].member", "unknown member 'm7'"),
    ({"visits": [{"member": "m1", "day": "2026-02-30"}]}, "visits[0].day", "not a valid date"),
    ({"visits": [{"member": "m1", "day": "2026-03-01", "hours": 25}]}, "visits[0].hours", "above the maximum"),
    ({"visit": []}, "visit", "did you mean 'visits'?"),
])
def test_the_pack_s_own_facts_are_checked(tmp_path, change, path, text):
    pack = load_pack(_pack(tmp_path, ELDERS))
    with pytest.raises(HouseholdError) as exc:
        evaluate(pack, HOUSEHOLD | change, "2026-06-01")
    assert any(p.path == path and text in p.message for p in exc.value.problems), exc.value.problems


def test_a_pack_without_facts_gets_the_base_model(tmp_path):
    rules = ("kind: rules\nprogramme: p\ntitle: {zh: 老人, en: Elders}\nreference: x\nvariables:\n"
             "  elders: {type: int, default: 0, label: {zh: 老人, en: Elders}}\n"
             "rules:\n  - id: p.elders\n    title: {zh: 老人, en: Elders}\n    reference: x\n"
             "    set: {elders: 'count(m for m in members if m.age >= 60)'}\n")
    pack = load_pack(_pack(tmp_path, None, rules, "outputs:\n  elders: elders\n"))
    assert pack.facts is base()
    household = {"household_id": "b", "county": "431322", "members": [{"id": "a", "age": 61}, {"id": "b", "age": 9}]}
    assert evaluate(pack, household, "2026-06-01").outputs == {"elders": 1}
    with pytest.raises(HouseholdError) as exc:  # Hunan's fields are Hunan's
        evaluate(pack, household | {"registered_poor": True}, "2026-06-01")
    assert exc.value.problems[0].path == "registered_poor"


@pytest.mark.parametrize(("facts", "where", "text"), [
    (ELDERS.replace("scope: visit", "scope: member"), "collections.visits.scope", "already used"),
    (ELDERS.replace("type: bool, default: false", "type: boolean, default: false"), "member.lives_alone.type",
     "is not one of"),
    (ELDERS.replace("{type: bool, default: false", "{type: bool, default: 3"), "member.lives_alone",
     "default 3 is not a valid bool"),
    (ELDERS.replace("lives_alone:", "age:"), "member.age", "a field of the base model"),
    (ELDERS.replace("type: number, minimum: 0, maximum: 24", "type: code, codes: illness"), "visits.hours",
     "'codes: illness' is not a code list"),
])
def test_a_wrong_declaration_is_refused_with_its_file_line_and_field(tmp_path, facts, where, text):
    with pytest.raises(RulePackError) as exc:
        load_pack(_pack(tmp_path, facts))
    hits = [p for p in exc.value.problems if p.path == where and text in p.message]
    assert hits and hits[0].file == "facts.yaml" and (hits[0].line or where.startswith("visits")), \
        exc.value.problems


def test_a_rule_for_each_of_an_undeclared_collection_is_refused(tmp_path):
    with pytest.raises(RulePackError) as exc:
        load_pack(_pack(tmp_path, ELDERS, RULES.replace("for_each: visit\n", "for_each: vist\n")))
    assert any("'vist' is not a scope" in p.message and "did you mean 'visit'?" in p.message
               for p in exc.value.problems)


def test_synth_draws_a_pack_s_households_from_its_declarations(tmp_path):
    from engine.factsynth import synthesize

    folder = _pack(tmp_path, ELDERS.replace("kind: facts\n", "kind: facts\nsynth:\n  members.lives_alone: {p: 0.5}\n"
                                                              "  visits: {items: [1, 3]}\n"))
    pack = load_pack(folder)
    roll = list(synthesize(pack, ["431322", "430121"], 200, 3, dt.date(2026, 6, 1)))
    assert roll == list(synthesize(pack, ["431322", "430121"], 200, 3, dt.date(2026, 6, 1)))
    assert all(h["household_id"].startswith("elders-43") for h in roll)
    assert all(1 <= len(h["visits"]) <= 3 for h in roll)
    decisions = [evaluate(pack, h, "2026-06-01", trace=False) for h in roll]  # every one valid
    alone = sum(m.get("lives_alone", False) for h in roll for m in h["members"])
    assert 0.35 < alone / sum(len(h["members"]) for h in roll) < 0.65
    assert sum(d.outputs["allowance"] > 0 for d in decisions) > 0


def test_synth_keeps_hunan_s_realistic_households(pack):
    from engine.factsynth import synthesize
    from engine.synth import synth_households

    counties = [c.code for c in pack.counties()]
    assert list(synthesize(pack, counties, 50, 1)) == list(synth_households(counties, 50, 1))


def test_the_api_serves_the_published_pack_s_household_schema(tmp_path):
    from engine import versions
    from engine.store import open_db
    from web import create_app

    folder = _pack(tmp_path, ELDERS)
    path = tmp_path / "doudi.db"
    versions.import_folder(open_db(str(path)), folder, "test")
    client = create_app({"TESTING": True, "DATABASE": str(path)}).test_client()
    served = client.get("/api/v1/schemas/household").get_json()
    assert served == load_pack(folder).facts.schema
    assert "visits" in served["properties"] and "registered_poor" not in served["properties"]
    household = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Household"]
    assert household["properties"]["members"]["items"]["properties"]["lives_alone"]["type"] == "boolean"
