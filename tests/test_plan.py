"""How rules are scheduled: derived true/false variables inlined into conditions, few durable-rules stages."""

from __future__ import annotations

from conftest import HUNAN

from engine import evaluate
from engine.expressions import negate_condition
from engine.load import load_files, read_files

EXTRA = """\
kind: rules
programme: planning
title: {zh: 规划测试, en: Planning test}
reference: test
variables:
  graded: {scope: member, type: bool, default: false, label: {zh: 有等级, en: Graded}}
  not_graded: {scope: member, type: bool, default: false, label: {zh: 无等级, en: Not graded}}
  elderly_head: {type: bool, default: false, label: {zh: 老年户主, en: Elderly head}}
rules:
  - id: planning.graded
    for_each: member
    title: {zh: 三级及以上, en: Grade 3 or above}
    reference: test
    when: disability.grade >= 3
    set: {graded: true}
  - id: planning.not_graded
    for_each: member
    title: {zh: 非三级及以上, en: Not grade 3 or above}
    reference: test
    when: not graded
    set: {not_graded: true}
  - id: planning.review_not_due_and_poor
    title: {zh: 测试, en: Test}
    reference: test
    when: not annual_review_due and registered_poor
    set: {elderly_head: true}
"""


def _pack_with_extra_rules():
    files = read_files(HUNAN)
    files["rules/99-planning.yaml"] = EXTRA
    return load_files(files)


def _fired(decision, rule_id):
    return [step.entity or "household" for step in decision.trace if step.rule == rule_id]


def test_derived_booleans_are_matched_on_their_own_inputs_in_few_stages(pack):
    safety = pack.plan.by_name["dibao.safety_net"]
    assert ("household", "dibao_eligible") in safety.reads  # as written, for the trace
    assert ("household", "dibao_eligible") not in safety.cond_reads  # as matched: the tests themselves
    assert {("household", "countable_income"), ("household", "assets.deposits")} <= safety.cond_reads
    assert safety.stage == pack.plan.by_name["dibao.eligible"].stage
    # the member tests; then everything that needs the countable income (the income and asset tests,
    # eligibility, the programmes); then the approval level (needs the temporary assistance)
    assert [sorted(stage.fields) for stage in pack.plan.stages] == [
        ["member"], ["claim", "household", "incident", "member"], ["household"]]
    assert len(pack.plan.steps) == 7
    assert pack.plan.by_name["review.due"].stage == safety.stage  # nothing reads it: it waits for the others


def test_a_negated_derived_boolean_is_true_where_its_rule_did_not_fire_on_a_missing_value():
    pack = _pack_with_extra_rules()
    assert ("member", "graded") not in pack.plan.by_name["planning.not_graded"].cond_reads
    household = {"household_id": "n", "county": "430626", "registered_poor": True, "last_review": "2019-01-01",
                 "members": [{"id": "none", "age": 40},  # no disability: grade missing
                             {"id": "two", "age": 40, "disability": {"kind": "physical", "grade": 2}},
                             {"id": "four", "age": 40, "disability": {"kind": "physical", "grade": 4}}]}
    decision = evaluate(pack, household, "2019-06-30")
    assert _fired(decision, "planning.graded") == ["four"]
    assert _fired(decision, "planning.not_graded") == ["none", "two"]
    assert _fired(decision, "planning.review_not_due_and_poor") == ["household"]
    household["last_review"] = None
    decision = evaluate(pack, household, "2019-06-30")
    assert _fired(decision, "planning.review_not_due_and_poor") == []


def test_negating_a_condition():
    cond = {"$and": [{"e_x__null": False}, {"$gte": {"e_x": 3}}, {"e_k": "a"}, {"$neq": {"e_y": 1}}]}
    assert negate_condition(cond) == {"$or": [{"e_x__null": True}, {"$lt": {"e_x": 3}}, {"$neq": {"e_k": "a"}},
                                              {"e_y": 1}]}
