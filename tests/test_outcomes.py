"""The outcomes the plan orders (rules 70–90) and the pack's code lists: an undeclared disease code is
refused naming the closest declared ones, a children's disease of an adult falls to the bands, a
safety-net household below the poverty line is flagged. The policy tests in rules/hunan/tests/outcomes.yaml
check the outputs both ways; these check the errors, the reasons and what the pack cannot reach."""

from __future__ import annotations

import pytest
from conftest import HUNAN

from engine import evaluate
from engine.errors import HouseholdError, RulePackError
from engine.load import load_files, read_files

# 平江县 has the province's values: 2019 standard 3960 a year (330 a month), national poverty line 3747
PINGJIANG = "430626"


def _claim(disease, age=55, selfpaid=10000):
    return {"household_id": "C1", "county": PINGJIANG, "registered_poor": True,
            "members": [{"id": "m1", "age": age, "serious_illness": True}],
            "medical_claims": [{"member": "m1", "disease": disease, "in_policy_selfpaid": selfpaid}]}


def test_a_misspelt_disease_code_is_refused_naming_the_field_and_the_closest_codes(pack):
    with pytest.raises(HouseholdError) as caught:
        evaluate(pack, _claim("gastric_cancr"), "2019-06-01")
    problem, = caught.value.problems
    assert problem.path == "medical_claims[0].disease"
    assert "unknown disease code 'gastric_cancr'; did you mean 'gastric_cancer' (Gastric cancer)" in problem.message
    assert "未知的病种代码 'gastric_cancr'" in problem.message_zh and "“gastric_cancer”（胃癌）" in problem.message_zh


def test_a_code_far_from_every_declared_one_is_refused_listing_declared_codes(pack):
    with pytest.raises(HouseholdError) as caught:
        evaluate(pack, _claim("zzz"), "2019-06-01")
    assert "declared codes: child_all, child_apl" in caught.value.problems[0].message


@pytest.mark.parametrize("code", ["stroke", "other", "esrd", "lung_cancer"])
def test_declared_codes_are_accepted(pack, code):
    assert evaluate(pack, _claim(code), "2019-06-01").outputs["medical_claims"][0]["disease"] == code


@pytest.mark.parametrize(("age", "amount", "major"), [(17, 7000, True), (18, 5500, False), (55, 5500, False)])
def test_a_childrens_disease_is_one_of_the_nine_only_under_the_age_limit(pack, age, amount, major):
    household = _claim("child_vsd", age=age)
    if age < 18:
        household["members"] = [{"id": "m0", "age": 70}, {"id": "m1", "age": age}]
    decision = evaluate(pack, household, "2019-06-01")
    assert decision.outputs["medical_claims"] == [{"member": "m1", "disease": "child_vsd", "amount": amount}]
    fired = {step.rule for step in decision.trace}
    assert ("claim.major_disease" in fired, "claim.other_disease" in fired) == (major, not major)
    said = [r for r in decision.reasons["zh"] if "限18岁以下儿童" in r]
    assert said == ([] if major else [f"成员m1已{age}岁，儿童先天性室间隔缺损限18岁以下儿童，不按九种大病救助，"
                                      "按其他疾病分段救助（湘民发〔2017〕33号 二（三））"])


def _pack_with(replace: dict[str, tuple[str, str]]):
    files = read_files(HUNAN)
    for name, (old, new) in replace.items():
        assert old in files[name], (name, old)
        files[name] = files[name].replace(old, new)
    return load_files(files)


def test_a_parameter_naming_an_undeclared_code_fails_the_pack():
    with pytest.raises(RulePackError) as caught:
        _pack_with({"values/430000-湖南省.yaml": ("value: [child_all, child_apl, child_asd, child_vsd]",
                                                "value: [child_all, child_apl, child_asd, child_vds]")})
    problem = next(p for p in caught.value.problems if "child_vds" in p.message)
    assert problem.file == "values/430000-湖南省.yaml" and problem.path == "values.child_diseases"
    assert "did you mean 'child_vsd'" in problem.message


def test_a_household_field_declared_as_coded_is_checked_wherever_it_is():
    """Generic: the pack names the fields; here a second list declares the incident type as coded."""
    pack = _pack_with({"pack.yaml": ("codes:\n", "codes:\n  incident:\n    label: {zh: 事件类型, en: Incident type}\n"
                                     "    fields: [incidents.type]\n    values:\n      fire: {zh: 火灾, en: Fire}\n")})
    household = {"household_id": "I1", "county": PINGJIANG, "members": [{"id": "m1", "age": 70}],
                 "incidents": [{"type": "fire", "severity": "minor", "date": "2019-05-01"},
                               {"type": "accident", "severity": "minor", "date": "2019-05-01"}]}
    with pytest.raises(HouseholdError) as caught:
        evaluate(pack, household, "2019-06-01")
    assert [p.path for p in caught.value.problems] == ["incidents[1].type"]


def test_a_safety_net_household_below_the_poverty_line_is_flagged_with_its_figures():
    """Unreachable with the pack's values (a standard below the line is refused): here the rule is asked
    about twice the line, 7494, above the 4092 a year this household has after assistance."""
    pack = _pack_with({"rules/90-poverty-line.yaml": (
        "when: safety_net and per_capita_income_after_assistance < national_poverty_line",
        "when: safety_net and per_capita_income_after_assistance < national_poverty_line * 2")})
    household = {"household_id": "P1", "county": PINGJIANG, "registered_poor": True,
                 "members": [{"id": "m1", "age": 70}, {"id": "m2", "age": 12}, {"id": "m3", "age": 10,
                                                                                "student": "compulsory"}]}
    decision = evaluate(pack, household, "2019-06-01")
    assert decision.outputs["per_capita_income_after_assistance"] == 4092
    assert decision.outputs["below_poverty_line"] is True
    assert any("兜底保障后家庭人均收入4092元，低于国家扶贫标准3747元/年" in r for r in decision.reasons["zh"])


def test_an_exit_from_the_safety_net_says_what_changed(pack):
    household = {"household_id": "S1", "county": PINGJIANG, "registered_poor": False, "enrolled": True,
                 "on_safety_net_list": True, "members": [{"id": "m1", "age": 70}, {"id": "m2", "age": 18}]}
    decision = evaluate(pack, household, "2019-06-01")
    assert (decision.outputs["safety_net_action"], decision.outputs["review_action"]) == ("exit", "continue")
    zh = decision.reasons["zh"]
    assert "成员m2（18岁）有劳动能力，家庭不再属于无劳动能力的兜底对象（湘民发〔2017〕33号 二（一））" in zh
    assert "家庭已不是建档立卡贫困户，不再属于兜底对象（湘民发〔2017〕33号 二（一））" in zh
    assert not any("不符合农村低保条件" in r for r in zh)  # still eligible for dibao: not a reason
    assert any("不再符合条件的要及时清退" in r for r in zh)


def test_the_out_of_school_child_is_named_in_the_outputs_and_the_reasons(pack):
    household = {"household_id": "E1", "county": PINGJIANG, "registered_poor": True,
                 "members": [{"id": "m1", "age": 70}, {"id": "m2", "age": 12}]}
    decision = evaluate(pack, household, "2019-06-01")
    assert decision.outputs["out_of_school_members"] == [{"member": "m2", "age": 12}]
    assert any(r.startswith("成员m2（12岁）处于义务教育阶段但未在校") and "二（四）" in r
               for r in decision.reasons["zh"])
    assert any("Member m2 (aged 12) is of compulsory-education age but not in school" in r
               for r in decision.reasons["en"])
