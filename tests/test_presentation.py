"""The presentation of a pack's outputs: declared (Hunan), defaulted (a pack without one), refused when wrong."""

from __future__ import annotations

import elders
import pytest

from engine import presentation
from engine.errors import RulePackError
from engine.load import load_pack


@pytest.fixture()
def elders_pack(tmp_path):
    return load_pack(elders.write(tmp_path / "elders"))


def _refused(tmp_path, old: str, new: str) -> RulePackError:
    folder = elders.write(tmp_path / "bad")
    text = (folder / "pack.yaml").read_text(encoding="utf-8")
    assert old in text
    (folder / "pack.yaml").write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(RulePackError) as caught:
        load_pack(folder)
    return caught.value


def _line(tmp_path, text: str) -> int:
    lines = (tmp_path / "bad" / "pack.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_hunan_outputs_are_every_output_path_in_declared_order(pack):
    shown = presentation.of(pack)
    paths = list(shown.outputs)
    assert paths[:3] == ["household_size", "labour_capable_count", "countable_income"]
    assert "premium_subsidy.per_person" in paths and "premium_subsidy" not in paths
    assert len(paths) == 30
    assert shown.outputs["dibao_monthly"].kind == "amount"
    assert presentation.unit_text(shown.outputs["dibao_monthly"]) == "元/月"
    review = shown.outputs[shown.headline[0]]
    assert review.kind == "category" and review.values["enroll"].zh == "新纳入低保"
    claims = next(info for info in shown.outputs.values() if info.kind == "list")
    assert [f.label.zh for f in claims.fields.values()] == ["成员", "病种", "救助金额"]
    assert claims.fields["disease"].values["esrd"].zh == "终末期肾病"  # from the pack's code list


def test_hunan_every_output_is_in_a_section(pack):
    shown = presentation.of(pack)
    placed = [p for s in shown.sections for p in s.outputs]
    assert sorted(placed) == sorted(shown.outputs)
    assert shown.sections[0].label.zh == "家庭人口与收入"
    assert shown.sections[-1].label.zh != "其他结果"  # Hunan places every output itself


def test_values_are_shown_with_units_and_names(pack):
    shown = presentation.of(pack).outputs
    assert presentation.value_text(shown["dibao_monthly"], 363, "zh") == "363 元/月"
    assert presentation.value_text(shown["dibao_monthly"], 363.5, "en") == "363.50 yuan/month"
    assert presentation.value_text(shown["medical_assistance"], 1200, "zh") == "1200 元"
    assert presentation.value_text(shown["household_size"], 3, "zh") == "3 人"
    assert presentation.value_text(shown["household_size"], 1, "en") == "1 person"
    assert presentation.value_text(shown["household_size"], 3, "en") == "3 persons"
    assert presentation.value_text(shown["dibao_eligible"], True, "zh") == "是"
    assert presentation.value_text(shown["dibao_eligible"], False, "en") == "No"
    assert presentation.value_text(shown["temporary_assistance_approval"], None, "zh") == "—"
    assert presentation.value_text(shown["temporary_assistance_approval"], "township", "zh") == "乡镇审批"
    assert presentation.value_text(shown["review_action"], "unknown_code", "zh") == "unknown_code"
    claims = shown["medical_claims"]
    rows = [{"member": "m1", "disease": "esrd", "amount": 500}]
    assert presentation.value_text(claims, rows, "zh") == "成员 m1，病种 终末期肾病，救助金额 500 元"
    assert presentation.value_at({"premium_subsidy": {"persons": 2}}, "premium_subsidy.persons") == 2
    assert presentation.value_at({}, "premium_subsidy.persons") is None


def test_hunan_summary_and_impact(pack):
    shown = presentation.of(pack)
    names = [a.name for a in shown.summary]
    assert names[:2] == ["review_action", "safety_net_action"]
    total = next(a for a in shown.summary if a.name == "dibao_monthly_total")
    assert total.sum == "dibao_monthly" and total.label.zh == "月低保金合计"
    assert shown.impact.amounts == ("dibao_monthly", "medical_assistance", "temporary_assistance")
    assert shown.impact.flags == ("dibao_eligible",) and shown.impact.movers_by == "dibao_monthly"


def test_a_pack_without_presentation_gets_defaults_from_its_variables(tmp_path):
    shown = presentation.of(load_pack(elders.write(tmp_path / "plain", presentation=False)))
    info = shown.outputs
    assert list(info) == ["elder_count", "allowance_monthly", "heating_subsidy", "allowance_granted", "tier", "elders"]
    assert info["allowance_monthly"].label.zh == "高龄津贴（月）" and info["allowance_monthly"].kind == "amount"
    assert info["allowance_monthly"].unit.zh == "元"
    assert info["elder_count"].kind == "count" and info["allowance_granted"].kind == "flag"
    assert info["tier"].kind == "category" and info["elders"].kind == "list"
    assert [f.kind for f in info["elders"].fields.values()] == ["text", "text", "amount"]
    assert shown.headline == ()
    assert [(s.label.zh, len(s.outputs)) for s in shown.sections] == [("结果", 6)]
    assert [(a.name, a.sum, a.by, a.where) for a in shown.summary] == [
        ("allowance_granted", None, None, (("allowance_granted", True),)),
        ("allowance_monthly", "allowance_monthly", None, ()), ("heating_subsidy", "heating_subsidy", None, ()),
        ("tier", None, "tier", ())]
    assert shown.impact == presentation.ImpactSpec(("allowance_monthly", "heating_subsidy"), ("allowance_granted",),
                                                   "allowance_monthly", 20)


def test_declared_presentation_of_the_elders_pack(elders_pack):
    shown = presentation.of(elders_pack)
    assert shown.headline == ("allowance_granted", "allowance_monthly")
    assert presentation.value_text(shown.outputs["tier"], "high", "zh") == "高龄档"
    assert presentation.value_text(shown.outputs["allowance_monthly"], 300, "zh") == "300 元/月"
    assert [a.name for a in shown.summary] == ["by_tier", "allowance_total"]
    assert presentation.of(elders_pack) is shown  # cached per digest


@pytest.mark.parametrize(("old", "new", "path", "message"), [
    ("    elder_count: {unit: persons}", "    elder_counts: {unit: persons}", "presentation.outputs.elder_counts",
     "the pack has no output 'elder_counts'; did you mean 'elder_count'?"),
    ("headline: [allowance_granted, allowance_monthly]", "headline: [allowance_granted, dibao]",
     "presentation.headline.1", "the pack has no output 'dibao'"),
    ("sum: allowance_monthly,", "sum: tier,", "presentation.summary.1.sum",
     "'tier' is a category; a sum must be amount or count or number"),
    ("count: households, by: tier,", "count: households, by: allowance_monthly,", "presentation.summary.0.by",
     "'allowance_monthly' is a amount; 'by' must be category or flag"),
    ("count: households, by: tier,", "count: households, where: {tier: highest},",
     "presentation.summary.0.where.tier", "'tier' has no value 'highest'; its values: high, base, none"),
    ("count: households, by: tier,", "count: households, where: {allowance_granted: 1},",
     "presentation.summary.0.where.allowance_granted", "'allowance_granted' is true or false, not 1"),
    ("    elder_count: {unit: persons}", "    elder_count: {kind: list}", "presentation.outputs.elder_count.kind",
     "'elder_count' is a single value, not a list"),
    ("    elder_count: {unit: persons}", "    elders: {fields: {agee: {kind: count}}}",
     "presentation.outputs.elders.fields.agee", "the list 'elders' has no field 'agee'; did you mean 'age'?"),
])
def test_wrong_presentation_is_refused_with_file_line_and_field(tmp_path, old, new, path, message):
    error = _refused(tmp_path, old, new)
    problem = next(p for p in error.problems if p.path == path)
    assert problem.message == message
    assert problem.file == "pack.yaml" and problem.line == _line(tmp_path, new.strip())
    assert problem.message_zh


def test_impact_of_the_wrong_kind_is_refused(tmp_path):
    error = _refused(tmp_path, "  summary:", "  impact: {amounts: [tier], flags: [allowance_monthly]}\n  summary:")
    assert [(p.path, p.message) for p in error.problems] == [
        ("presentation.impact.amounts.0", "'tier' is a category; an impact amount must be amount"),
        ("presentation.impact.flags.0", "'allowance_monthly' is a amount; an impact flag must be flag")]
    assert all(p.line == _line(tmp_path, "impact:") for p in error.problems)


def test_unknown_presentation_key_is_refused_by_the_schema(tmp_path):
    error = _refused(tmp_path, "  headline:", "  headlines:")
    assert any(p.path == "presentation.headlines" and p.line == _line(tmp_path, "headlines:") for p in error.problems)
