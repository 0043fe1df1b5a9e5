"""The engine on households: the public examples, the pack's policy tests, trace, reasons, bad facts."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from conftest import HUNAN, ROOT
from jsonschema import Draft202012Validator

from engine import HouseholdError, evaluate, load_pack
from engine.evaluate import evaluate_many
from engine.policy_tests import run_test
from engine.schemas import schema
from engine.synth import synth_households

EXAMPLES = json.loads((ROOT / "tests" / "policy" / "public-examples.json").read_text(encoding="utf-8"))
PACK = load_pack(HUNAN)


def _outputs(decision):
    return json.loads(decision.to_json())["outputs"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_public_example(pack, example):
    decision = evaluate(pack, example["household"], example["as_of"])
    outputs = _outputs(decision)
    # docs/semantics.md §8's fields as the example gives them; the pack's further outputs are in the decision schema
    assert {k: v for k, v in outputs.items() if k in example["expected_outputs"]} == example["expected_outputs"]
    declared = schema("decision")["properties"]["outputs"]["properties"]
    assert set(outputs) - set(example["expected_outputs"]) <= set(declared)


@pytest.mark.parametrize("test", PACK.tests, ids=[t.name[:60] for t in PACK.tests])
def test_policy_test_of_the_pack(pack, test):
    result = run_test(pack, test)
    assert result.passed, (result.error, result.mismatches)


def test_decision_json_follows_its_schema_and_spec_fields(pack):
    validator = Draft202012Validator(schema("decision"), format_checker=Draft202012Validator.FORMAT_CHECKER)
    for example in EXAMPLES:
        data = json.loads(evaluate(pack, example["household"], example["as_of"]).to_json())
        assert list(validator.iter_errors(data)) == []
        assert data["rule_version"] == {"number": None, "digest": pack.digest}
        for key, value in data["outputs"].items():
            if isinstance(value, float):
                assert round(value, 2) == value, key


def test_non_whole_amounts_carry_two_decimals(pack):
    e06 = next(e for e in EXAMPLES if e["id"] == "E06")
    text = evaluate(pack, e06["household"], e06["as_of"]).to_json()
    assert '"dibao_standard_monthly": 304.17' in text


def test_trace_reports_parameters_with_their_jurisdiction_and_date(pack):
    e04 = next(e for e in EXAMPLES if e["id"] == "E04")  # 浏阳市 inherits 长沙市's standard
    decision = evaluate(pack, e04["household"], e04["as_of"])
    step = next(s for s in decision.trace if s.rule == "dibao.income_test")
    assert step.reference == "湘民发〔2017〕33号 二（二）"
    assert step.parameters["dibao_standard"] == {
        "value": 4800, "from": "430100", "effective": "2018-01-01", "document": "长政发〔2018〕5号"}
    assert step.inputs == {"countable_income": 4800, "household_size": 3, "per_capita_income": 1600}
    assert step.result == {"income_test_passed": True}
    member_steps = [s for s in decision.trace if s.rule == "member.income_labour_capable"]
    assert [(s.entity, s.result) for s in member_steps] == [("m1", {"counted_income": 4800})]


def test_a_roll_without_trace_gives_the_same_outputs_and_reasons_as_one_household_with_trace(pack):
    households = list(synth_households([c.code for c in pack.counties()], 300, 5, dt.date(2019, 6, 30)))
    many = evaluate_many(pack, households, "2019-06-30")
    for household, decision in zip(households, many, strict=True):
        alone = evaluate(pack, household, "2019-06-30")
        assert (decision.outputs, decision.reasons) == (alone.outputs, alone.reasons), household["household_id"]
    assert sum(len(d.reasons["zh"]) for d in many) > 300


def test_reasons_are_sentences_citing_their_clause(pack):
    e08 = next(e for e in EXAMPLES if e["id"] == "E08")
    reasons = evaluate(pack, e08["household"], e08["as_of"]).reasons
    assert len(reasons["zh"]) == len(reasons["en"]) >= 5
    assert any("合计733元/月" in r and "湘民发〔2017〕33号 二（二）" in r for r in reasons["zh"])
    assert any("2667" in r and "县级" in r for r in reasons["zh"])
    assert any("733 yuan a month" in r for r in reasons["en"])
    e02 = next(e for e in EXAMPLES if e["id"] == "E02")
    reasons_e02 = evaluate(pack, e02["household"], e02["as_of"]).reasons["zh"]
    assert any("不低于当地农村低保标准3600元" in r for r in reasons_e02)


def test_evaluation_does_not_change_the_input_and_is_repeatable(pack):
    e07 = next(e for e in EXAMPLES if e["id"] == "E07")
    household = copy.deepcopy(e07["household"])
    first = evaluate(pack, household, e07["as_of"]).to_json()
    assert household == e07["household"]
    assert evaluate(pack, household, e07["as_of"]).to_json() == first


def test_identical_members_are_both_counted(pack):
    """Two members with identical facts must not collapse into one durable-rules fact."""
    household = {"household_id": "twins", "county": "430626",
                 "members": [{"id": "a", "age": 80}, {"id": "b", "age": 80}]}
    out = _outputs(evaluate(pack, household, "2018-06-01"))
    assert out["household_size"] == 2 and out["dibao_monthly"] == 660


BAD = [
    ({"colour": "red"}, "colour", "unknown field"),
    ({"members": [{"id": "m1", "age": 40, "income": {"wages": -5}}]}, "members[0].income.wages", "below the minimum"),
    ({"members": [{"id": "m1", "age": 40}, {"id": "m1", "age": 41}]}, "members[1].id", "duplicate member id"),
    ({"medical_claims": [{"member": "m7", "disease": "esrd", "in_policy_selfpaid": 1}]},
     "medical_claims[0].member", "unknown member"),
    ({"county": "430100"}, "county", "not a county-level division"),
    ({"county": "999999"}, "county", "unknown"),
    ({"incidents": [{"type": "flood", "severity": "severe", "date": "2019-07-10"}]}, "incidents[0].type", "not one of"),
    ({"last_review": "2019-02-30"}, "last_review", "not a valid date"),
    ({"members": [{"id": "m1", "age": 140}]}, "members[0].age", "above the maximum"),
    ({"members": [{"id": "m1", "age": 40, "income": {"wages": float("nan")}}]}, "members[0].income.wages",
     "not a finite number"),
    ({"medical_aid_paid_ytd": {"m9": 10}}, "medical_aid_paid_ytd.m9", "unknown member"),
]


@pytest.mark.parametrize(("change", "path", "words"), BAD, ids=[b[1] for b in BAD])
def test_bad_household_is_refused_naming_the_field(pack, change, path, words):
    household = {"household_id": "bad", "county": "430626", "members": [{"id": "m1", "age": 40}]}
    household.update(change)
    with pytest.raises(HouseholdError) as info:
        evaluate(pack, household, "2019-06-01")
    problems = {p.path: p.message for p in info.value.problems}
    assert path in problems, problems
    assert words in problems[path]
    assert all(p.message_zh for p in info.value.problems)
