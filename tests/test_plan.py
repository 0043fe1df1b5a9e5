"""How rules are scheduled: derived true/false variables inlined into conditions, few durable-rules stages."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import HUNAN

from engine import durable_backend, evaluate, load_pack
from engine.compiled import Memo
from engine.conditions import negate_condition
from engine.errors import EvaluationError, RulePackError
from engine.evaluate import evaluate_many, outputs_many, quiet_plan
from engine.load import load_files, read_files
from engine.synth import synth_households

EXTRA = """\
kind: rules
programme: planning
title: {zh: 规划测试, en: Planning test}
reference: test
variables:
  graded: {scope: member, type: bool, default: false, label: {zh: 有等级, en: Graded}}
  not_graded: {scope: member, type: bool, default: false, label: {zh: 无等级, en: Not graded}}
  elderly_head: {type: bool, default: false, label: {zh: 老年户主, en: Elderly head}}
  poor_elder: {scope: member, type: bool, default: false, label: {zh: 贫困户老人, en: Elder of a poor household}}
  poor_or_elder: {scope: member, type: bool, default: false, label: {zh: 贫困户或老人, en: Poor or elder}}
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
  - id: planning.poor_elder
    for_each: member
    title: {zh: 测试, en: Test}
    reference: test
    when: registered_poor and age >= 60
    set: {poor_elder: true}
  - id: planning.poor_or_elder
    for_each: member
    title: {zh: 测试, en: Test}
    reference: test
    when: registered_poor or age >= 60
    set: {poor_or_elder: true}
"""


def _pack_with_extra_rules():
    files = read_files(HUNAN)
    files["rules/99-planning.yaml"] = EXTRA
    return load_files(files)


def _fired(decision, rule_id):
    return [step.entity or "household" for step in decision.trace if step.rule == rule_id]


def test_derived_booleans_are_matched_on_their_own_inputs_in_few_stages(pack):
    plan = quiet_plan(pack)  # what a roll runs: the rules that set values (no reason-only rules)
    safety = plan.by_name["dibao.safety_net"]
    assert ("household", "dibao_eligible") in safety.reads  # as written, for the trace
    assert ("household", "dibao_eligible") not in safety.cond_reads  # as matched: the tests themselves
    assert {("household", "countable_income"), ("household", "assets.deposits")} <= safety.cond_reads
    assert safety.stage == plan.by_name["dibao.eligible"].stage
    # the member tests; then everything that needs the countable income (the income and asset tests,
    # eligibility, the programmes); then the approval level (needs the temporary assistance)
    assert [sorted(stage.fields) for stage in plan.stages] == [
        ["member"], ["claim", "household", "incident", "member"], ["household"]]
    assert len(plan.steps) == 7
    assert plan.by_name["review.due"].stage == safety.stage  # nothing reads it: it waits for the others


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


def test_the_household_part_of_entity_conditions_is_matched_once_on_the_household_fact(pack):
    plan = quiet_plan(pack)  # what a roll runs: the rules that set values (no reason-only rules)
    student = plan.by_name["education.student"]
    assert student.gate is not None
    assert not any(key.startswith("h_") for key in student.keys)  # member facts carry no household values
    stage = next(s for s in plan.stages if s.index == student.stage)
    assert sorted(key for key, *_ in stage.fields["member"]) == ["e_compulsory_age", "e_in_prison", "e_student"]
    # the five programme rules of entities share the safety-net test: one gate
    entity_rules = ["education.student", "claim.amount", "claim.major_disease", "claim.other_disease",
                    "incident.amount"]
    assert {plan.by_name[r].gate for r in entity_rules} == {student.gate}


def test_a_gated_entity_rule_fires_only_where_both_parts_hold():
    pack = _pack_with_extra_rules()
    assert pack.plan.by_name["planning.poor_elder"].gate is not None
    assert pack.plan.by_name["planning.poor_or_elder"].gate is None  # an 'or' is not split
    household = {"household_id": "g", "county": "430626", "registered_poor": True, "last_review": "2019-01-01",
                 "members": [{"id": "old", "age": 70}, {"id": "young", "age": 30}]}
    decision = evaluate(pack, household, "2019-06-30")
    assert _fired(decision, "planning.poor_elder") == ["old"]
    assert _fired(decision, "planning.poor_or_elder") == ["old", "young"]
    household["registered_poor"] = False
    decision = evaluate(pack, household, "2019-06-30")
    assert _fired(decision, "planning.poor_elder") == []
    assert _fired(decision, "planning.poor_or_elder") == ["old"]


def test_facts_matched_before_are_not_asserted_again_and_decide_the_same(monkeypatch):
    pack = load_pack(HUNAN)  # a fresh plan: empty memos
    counties = [c.code for c in pack.counties()]
    households = list(synth_households(counties, 300, 7, dt.date(2019, 6, 30)))
    asserted: list[int] = []
    match = durable_backend.Session.match
    monkeypatch.setattr(durable_backend.Session, "match",
                        lambda self, facts: asserted.append(len(facts)) or match(self, facts))
    first = [d.to_dict() for d in evaluate_many(pack, households, "2019-06-30")]
    first_facts, asserted[:] = sum(asserted), []
    again = [d.to_dict() for d in evaluate_many(pack, households, "2019-06-30")]
    assert again == first
    assert sum(asserted) == 0  # every fact of these households is known now
    for stage in pack.plan.stages:
        for memo in stage.memos.values():
            memo.table = None
    asserted[:] = []
    unmemoised = [d.to_dict() for d in evaluate_many(pack, households, "2019-06-30")]
    assert unmemoised == first
    assert sum(asserted) > first_facts


def test_a_memo_that_does_not_pay_switches_itself_off_and_a_full_one_starts_again():
    memo = Memo()
    memo.count(Memo.TRIAL, Memo.TRIAL // 2 - 1)
    assert memo.table is None
    memo = Memo()
    memo.count(Memo.TRIAL, Memo.TRIAL)
    assert memo.table is not None
    memo.table.update({(i,): () for i in range(Memo.LIMIT + 1)})
    memo.count(1, 1)
    assert memo.table == {}


def test_a_household_whose_facts_cannot_be_encoded_gets_an_error_and_the_others_their_decisions(monkeypatch):
    pack = load_pack(HUNAN)
    counties = [c.code for c in pack.counties()]
    households = list(synth_households(counties, 3, 11, dt.date(2019, 6, 30)))
    stage = pack.plan.stages[-1]
    build = stage.builders["household"]

    def refuse_second(values, ent):
        if values["household_id"] == households[1]["household_id"]:
            raise ValueError("1e-05 is too small for durable-rules to compare (below 0.0001)")
        return build(values, ent)

    monkeypatch.setitem(stage.builders, "household", refuse_second)
    first, second, third = evaluate_many(pack, households, dt.date(2019, 6, 30))
    assert isinstance(second, EvaluationError)
    assert "too small" in second.message
    assert first.household_id == households[0]["household_id"]
    assert third.household_id == households[2]["household_id"]


def test_a_value_too_small_for_durable_rules_is_named_by_its_field(pack):
    tiny = {"household_id": "tiny", "county": "430626", "members": [{"id": "m1", "age": 70}],
            "assets": {"deposits": 0.0000001}}
    error, decided = evaluate_many(pack, [tiny, {**tiny, "household_id": "fine", "assets": {"deposits": 100}}],
                                   dt.date(2019, 6, 30))
    assert isinstance(error, EvaluationError)
    assert error.message == "assets.deposits: 1e-05 is too small for durable-rules to compare (below 0.0001)"
    assert [p.path for p in error.problems] == ["assets.deposits"]
    assert decided.household_id == "fine" and decided.outputs["asset_test_passed"] is True


def test_rules_with_the_same_condition_share_one_durable_rule(pack):
    plan = quiet_plan(pack)  # what a roll runs: the rules that set values (no reason-only rules)
    safety = plan.by_name["dibao.safety_net"]
    shared = plan.by_durable[safety.name]
    names = {getattr(member, "rule", None) and member.rule.id for member in shared}
    assert {"dibao.safety_net", "medical.premium_subsidy", "education.priority"} <= names
    assert safety.gate is None and plan.by_name["education.student"].gate in shared  # the gate too
    conditions = [cr for cr in plan.rules if cr.condition is not None]
    assert len(plan.definition) < len(conditions)
    assert sum(len(members) for members in plan.by_durable.values()) == len(conditions) + 1  # + the gate


TWICE = """\
kind: rules
programme: twice
title: {zh: 重复赋值测试, en: Set twice}
reference: test
variables:
  flagged: {scope: member, type: bool, default: false, label: {zh: 标记, en: Flagged}}
rules:
  - id: twice.sixty
    for_each: member
    title: {zh: 测试, en: Test}
    reference: test
    when: age >= 60
    set: {flagged: true}
  - id: twice.sixty_five
    for_each: member
    title: {zh: 测试, en: Test}
    reference: test
    when: age >= 65
    set: {flagged: true}
"""


def test_two_rules_setting_one_value_for_one_member_is_an_error_with_or_without_trace():
    files = read_files(HUNAN)
    files["rules/98-twice.yaml"] = TWICE
    pack = load_files(files)
    household = {"household_id": "t", "county": "430626", "members": [{"id": "old", "age": 70},
                                                                        {"id": "mid", "age": 62}]}
    for trace, reasons in ((True, True), (False, True), (False, False)):
        result, = evaluate_many(pack, [household], dt.date(2019, 6, 30), trace=trace, reasons=reasons)
        assert isinstance(result, EvaluationError)
        assert "rules twice.sixty and twice.sixty_five both set flagged for old" in result.message
    result, = outputs_many(pack, [household], dt.date(2019, 6, 30))  # as a roll: generated runners only
    assert isinstance(result, EvaluationError)
    assert "rules twice.sixty and twice.sixty_five both set flagged for old" in result.message
    household["members"] = [{"id": "mid", "age": 62}]
    decision, = evaluate_many(pack, [household], dt.date(2019, 6, 30))
    assert not isinstance(decision, EvaluationError)


def test_only_the_facts_something_reads_are_flattened(pack):
    plan = quiet_plan(pack)  # what a roll runs: the rules that set values (no reason-only rules)
    member_fields = [name for name, *_ in plan.fact_fields["member"]]
    assert "name" not in member_fields and "relation" not in member_fields  # no rule or output reads them
    assert {"id", "age", "income.wages", "disability.grade"} <= set(member_fields)


SHARE = """
kind: rules
programme: share
title: {zh: 份额测试, en: Share}
reference: test
variables:
  share: {scope: member, type: number, default: 0, label: {zh: 份额, en: Share}}
rules:
  - id: share.of_age
    for_each: member
    title: {zh: 测试, en: Test}
    reference: test
    set: {share: 100 / (age - 40)}
"""


def test_a_rule_that_cannot_compute_in_a_roll_is_named_and_the_other_households_are_decided():
    files = read_files(HUNAN)
    files["rules/97-share.yaml"] = SHARE
    pack = load_files(files)
    households = [{"household_id": h, "county": "430626", "members": [{"id": "m1", "age": age}]}
                  for h, age in (("a", 50), ("b", 40), ("c", 60))]
    for results in (outputs_many(pack, households, dt.date(2019, 6, 30)),
                    evaluate_many(pack, households, dt.date(2019, 6, 30), trace=True)):
        failed = results[1]
        assert isinstance(failed, EvaluationError)
        assert "rule share.of_age" in failed.message and "could not compute share: division by zero" in failed.message
        assert not isinstance(results[0], EvaluationError) and not isinstance(results[2], EvaluationError)
    a, _, c = outputs_many(pack, households, dt.date(2019, 6, 30))
    assert a[2] == evaluate(pack, households[0], "2019-06-30").outputs
    assert c[2] == evaluate(pack, households[2], "2019-06-30").outputs


def test_a_parameter_with_the_name_of_a_household_fact_is_refused():
    files = read_files(HUNAN)
    files["parameters.yaml"] = files["parameters.yaml"].replace("parameters:\n", """parameters:
  registered_poor:
    label: {zh: 建档立卡, en: Registered poor}
    unit: {zh: 是/否, en: yes/no}
    type: bool
    reference: test
""", 1)
    with pytest.raises(RulePackError) as caught:
        assert load_files(files).plan  # the plan is built on first use
    problem, = caught.value.problems
    assert problem.message == "parameter 'registered_poor' clashes with a household fact of the same name"
    assert (problem.file, problem.line, problem.path) == ("parameters.yaml", 5, "parameters.registered_poor")
