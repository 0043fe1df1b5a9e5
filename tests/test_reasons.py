"""Reasons a caseworker can read aloud: formats of placeholders, and the Hunan reasons of a refusal,
a partial grant and a full grant in zh and en (names, Chinese dates, 元 amounts, clauses, the conclusion)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from engine.amounts import Fraction
from engine.errors import RulePackError
from engine.evaluate import evaluate, evaluate_many
from engine.load import load_files, read_files
from engine.reasons import format_value, member_name, split
from tests.conftest import HUNAN

RELATIONS = {"head": {"zh": "户主", "en": "head of household"}}
FRACTION = re.compile(r"\d+/\d+")  # an exact fraction such as 1825/6 must never reach a sentence

REFUSED = {  # income above the standard: 2 persons, 9000 a year against 3960 (平江县 2019)
    "household_id": "R1", "county": "430626", "registered_poor": True,
    "members": [{"id": "m1", "name": "张三", "relation": "head", "age": 66, "income": {"wages": 9000}},
                {"id": "m2", "relation": "spouse", "age": 64}],
}
PARTIAL = {  # a safety-net household whose claim is capped by the annual limit
    "household_id": "P1", "county": "430626", "registered_poor": True, "enrolled": True,
    "last_review": "2019-01-15",
    "members": [{"id": "m1", "name": "李四", "relation": "head", "age": 71},
                {"id": "m2", "name": "王五", "relation": "spouse", "age": 69, "serious_illness": True}],
    "medical_claims": [{"member": "m1", "disease": "gastric_cancer", "in_policy_selfpaid": 10000}],
    "medical_aid_paid_ytd": {"m1": 25000},
    "incidents": [{"type": "fire", "severity": "moderate", "date": "2019-01-02"}],
}
FULL = {  # a first application, paid in full: dibao, a nine-disease claim, a flood within the window
    "household_id": "F1", "county": "433124", "registered_poor": True,
    "members": [{"id": "m1", "relation": "head", "age": 80},
                {"id": "m2", "name": "赵六", "relation": "spouse", "age": 77}],
    "medical_claims": [{"member": "m2", "disease": "esrd", "in_policy_selfpaid": 1000}],
    "incidents": [{"type": "disaster", "severity": "severe", "date": "2019-07-10"}],
}


def _reasons(pack, household, as_of):
    decision = evaluate(pack, household, as_of)
    return decision, decision.reasons["zh"], decision.reasons["en"]


def _no_fraction(sentences):
    assert not [s for s in sentences if FRACTION.search(s)], sentences


# -- formats ---------------------------------------------------------------------------------------

def test_amounts_show_yuan_with_at_most_two_decimals_half_up():
    assert format_value(Fraction(1825, 6), "yuan_month", "zh") == "304.17元/月"
    assert format_value(Fraction(1825, 6), "yuan", "en") == "304.17 yuan"
    assert format_value(Fraction(1, 200), "yuan", "zh") == "0.01元"  # half up
    assert format_value(Fraction(1, 201), "yuan", "zh") == "0元"
    assert format_value(3600, "yuan_month", "en") == "3600 yuan a month"
    assert format_value(Fraction(1825, 6), None, "zh") == "304.17"


def test_rates_dates_and_labels():
    assert format_value(Fraction(7, 10), "%", "zh") == "70%"
    assert format_value(Fraction(1, 8), "percent", "en") == "12.5%"
    assert format_value(dt.date(2019, 12, 31), "date", "zh") == "2019年12月31日"
    assert format_value(dt.date(2019, 12, 31), "date", "en") == "31 December 2019"
    assert format_value(dt.date(2020, 2, 1), None, "zh") == "2020年2月1日"
    table = {"esrd": {"zh": "终末期肾病", "en": "end-stage renal disease"}}
    assert format_value("esrd", "label", "zh", table=table) == "终末期肾病"
    assert format_value("esrd", "label", "en", table=table) == "end-stage renal disease"
    assert format_value("gastric_cancr", "label", "zh", table=table) == "gastric_cancr"


def test_members_by_name_else_relation_and_id():
    members = [{"id": "m1", "name": "张三", "relation": "head"}, {"id": "m2", "relation": "head"}, {"id": "m3"}]
    assert member_name("m1", members, "zh", RELATIONS) == "张三"
    assert member_name("m2", members, "zh", RELATIONS) == "户主（m2）"
    assert member_name("m2", members, "en", RELATIONS) == "head of household (m2)"
    assert member_name("m3", members, "zh", RELATIONS) == "成员m3"
    assert member_name("m9", members, "en", RELATIONS) == "member m9"


def test_placeholders_are_expressions_with_an_optional_format():
    assert split("人均{per_capita_income:yuan}，{a * b}。") == [
        "人均", ("per_capita_income", "yuan"), "，", ("a * b", None), "。"]


@pytest.mark.parametrize(("reason", "message"), [
    ("{dibao_monthly:euro}", "unknown format ':euro'"),
    ("{dibao_monthy:yuan}", "placeholder {dibao_monthy}"),
    ("{review_action:label}", "needs labels for 'review_action'"),
])
def test_a_bad_placeholder_is_refused_with_the_file_and_line(reason, message):
    files = read_files(HUNAN)
    path = next(p for p in files if p.endswith("60-review.yaml"))
    files[path] = files[path].replace("zh: 仍符合条件，继续享受保障", f"zh: '{reason}'")
    with pytest.raises(RulePackError) as err:
        load_files(files)
    problem = err.value.problems[0]
    assert message in problem.message and problem.file.endswith("60-review.yaml") and problem.line > 0


# -- the Hunan reasons -----------------------------------------------------------------------------

def test_a_refusal_gives_the_figures_compared_and_says_not_admitted(pack):
    decision, zh, en = _reasons(pack, REFUSED, "2019-06-01")
    assert decision.outputs["dibao_eligible"] is False
    assert any("家庭人均年收入4500元不低于当地农村低保标准3960元/年" in s and "9000元" in s
               and "3960元 × 2人 = 7920元" in s and "湘民发〔2017〕33号 二（二）" in s for s in zh), zh
    assert zh[-1].startswith("结论：不符合农村最低生活保障条件，不予纳入") and "国务院令第649号 第九条" in zh[-1]
    assert any("Per-capita income of 4500 yuan a year is not below the local dibao standard of 3960 yuan" in s
               for s in en), en
    assert en[-1].startswith("Conclusion: not eligible for rural dibao")
    # a first application: no word of an overdue review
    assert not any("已满" in s or "从未审核" in s for s in zh)
    assert any(s.startswith("首次申请") for s in zh)
    _no_fraction(zh + en)


def test_a_partial_grant_says_which_claim_is_capped_and_why(pack):
    decision, zh, en = _reasons(pack, PARTIAL, "2019-06-01")
    assert decision.outputs["medical_assistance"] == 5000 and decision.outputs["temporary_assistance"] == 0
    assert any(s.startswith("李四患胃癌，属九种大病，政策范围内自付10000元 × 70% = 7000元，给予医疗救助5000元")
               for s in zh), zh
    assert any("李四本年度医疗救助以30000元为限（本次之前已支付25000元），本次只能救助5000元，不足计算额7000元" in s
               for s in zh), zh
    assert any("李四 may receive at most 30000 yuan" in s for s in en), en
    # the incident outside the 90-day window, with its Chinese date
    assert any("2019年1月2日发生的火灾不在审核日2019年6月1日前90天的受理期限内，不予临时救助" in s
               and "二（六）" in s for s in zh), zh
    # supplements per member with their rate
    assert any(s.startswith("王五（69岁）为重度残疾人或重病患者，按月低保标准330元/月的20%分类增发66元/月") for s in zh)
    assert any(s.startswith("李四（71岁）年满70岁，按月低保标准330元/月的10%分类增发33元/月") for s in zh)
    assert any("上次审核日期为2019年1月15日" in s for s in zh) is False  # reviewed less than 365 days ago
    assert zh[-1].startswith("结论：符合农村最低生活保障条件并认定为社会保障兜底对象，给予低保金759元/月")
    assert "医疗救助5000元" in zh[-1]
    _no_fraction(zh + en)


def test_a_full_grant_explains_every_amount(pack):
    decision, zh, en = _reasons(pack, FULL, "2019-08-01")
    out = decision.outputs
    assert (out["dibao_monthly"], out["medical_assistance"], out["temporary_assistance"]) == (733, 700, 2667)
    # a member without a name is named by relation and id; one with a name by name
    assert any(s.startswith("户主（m1）（80岁）年满70岁") for s in zh), zh
    assert any(s.startswith("Head of household (m1) (aged 80) is 70 or older") for s in en), en
    assert any(s.startswith("赵六患终末期肾病，属九种大病，政策范围内自付1000元 × 70% = 700元") for s in zh), zh
    assert any("基本低保金 =（低保标准4000元 × 2人 − 家庭年收入0元）÷ 12 = 666.67元/月" in s and "合计733元/月" in s
               for s in zh), zh
    assert any("2019年7月10日发生自然灾害（严重困难），在90天受理期限内，"
               "按4倍 × 月低保标准333.33元/月 × 2人计算为2666.67元" in s for s in zh), zh
    assert any("上限为12倍 × 月低保标准333.33元/月 × 2人 = 8000元，核定临时救助2667元" in s for s in zh)
    assert any("由县级民政部门审批（湘民发〔2017〕33号 二（六））" in s for s in zh)
    assert any("The natural disaster of 10 July 2019 (severe hardship) is within the 90-day window" in s for s in en)
    assert zh[-1] == ("结论：符合农村最低生活保障条件并认定为社会保障兜底对象，给予低保金733元/月，资助参保2人，"
                      "医疗救助700元，临时救助2667元（湘民发〔2017〕33号 二（一））")
    assert en[-1].startswith("Conclusion: eligible for rural dibao and a safety-net household; "
                             "dibao of 733 yuan a month")
    _no_fraction(zh + en)


def test_reason_items_carry_rule_clause_figures_and_text(pack):
    decision = evaluate(pack, FULL, "2019-08-01")
    items = decision.reason_items
    assert len(items) == len(decision.reasons["zh"]) == len(decision.reasons["en"])
    payment = next(i for i in items if i["rule"] == "dibao.payment")
    assert payment["clause"] == "湘民发〔2017〕33号 二（二）"
    assert payment["figures"]["dibao_monthly"] == 733 and payment["figures"]["household_size"] == 2
    assert str(payment["figures"]["(dibao_standard * household_size - countable_income) / 12"]) == "666.67"
    assert payment["text"]["zh"] in decision.reasons["zh"][items.index(payment)]
    assert not payment["text"]["zh"].endswith("（湘民发〔2017〕33号 二（二））")
    claim = next(i for i in items if i["rule"] == "claim.major_disease_explained")
    assert claim["entity"] == "claims[0]" and claim["figures"]["disease"] == "esrd"
    assert decision.to_dict()["reason_items"] == items


def test_labour_capable_members_give_their_income_and_farm_income_only_when_there_is_some(pack):
    household = {"household_id": "L1", "county": "430626", "registered_poor": True,
                 "members": [{"id": "m1", "name": "孙七", "relation": "head", "age": 40, "income": {"wages": 1000}},
                             {"id": "m2", "relation": "parent", "age": 75}]}
    _, zh, _ = _reasons(pack, household, "2019-06-01")
    capable = [s for s in zh if s.startswith("孙七（40岁）有劳动能力")]
    assert capable and "本人年收入1000元" in capable[0] and "计入4800元" in capable[0] and "农业" not in capable[0]
    assert any(s.startswith("孙七（40岁）有劳动能力，家庭不属于") for s in zh)  # why not 兜底
    household["household_income"] = {"farm_net": 3000}
    _, zh, _ = _reasons(pack, household, "2019-06-01")
    assert any("均摊的农业经营净收入3000元" in s for s in zh), zh


def test_batches_without_reasons_compute_none(pack):
    results = evaluate_many(pack, [REFUSED, FULL], "2019-08-01", reasons=False)
    assert [r.reasons["zh"] for r in results] == [[], []] and [r.reason_items for r in results] == [[], []]


def test_policy_tests_check_expected_reasons(pack):
    from dataclasses import replace

    from engine.policy_tests import run_test

    full = next(t for t in pack.tests if t.household.get("household_id") == "RS3")
    assert run_test(pack, full).passed
    wrong = replace(full, expect_reasons={"zh": ["给予医疗救助701元"], "last_en": "Conclusion: not eligible",
                                          "never": ["赵六"]})
    result = run_test(pack, wrong)
    assert [m[0] for m in result.mismatches] == ["reasons.zh", "reasons.en[-1]"] + ["reasons (never)"] * 4
    assert result.mismatches[0][1] == "给予医疗救助701元"


def test_a_roll_without_reasons_gives_the_same_outputs(pack):
    from engine.evaluate import outputs_many

    households = [t.household for t in pack.tests if t.expect_error is None and t.edit is None]
    on = dt.date(2019, 8, 1)
    quiet = outputs_many(pack, households, on)
    full = evaluate_many(pack, households, on)
    assert len(quiet) == len(full) > 40
    assert [q[2] for q in quiet] == [f.outputs for f in full]
