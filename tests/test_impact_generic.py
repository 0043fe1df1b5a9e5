"""The impact report speaks of the pack's own outputs: a pack the platform has never seen, with other programmes.

A made-up province pays an allowance to every member aged ``elder_age`` or more and a heating subsidy to
households with an elder. Version 2 lowers the age from 80 to 75 and raises 乙县's allowance from 100 to 150.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from doudi import admin  # noqa: F401 - registers the database commands
from doudi.cli import cli
from engine import load_pack
from engine.impact import Spec, impact

PACK = """kind: pack
id: elders
title: {zh: 某省高龄津贴与取暖补贴（测试用）, en: Elders allowance and heating subsidy (test pack)}
root: "990000"
illustrative: true
notice: {zh: 测试用示例取值。, en: Sample values for tests.}
documents:
  - {number: 某政发〔2020〕1号, title: 高龄津贴办法, issuer: 某省人民政府}
outputs:
  elders: elders
  elders_allowance: elders_allowance
  heating_subsidy: heating_subsidy
"""
JURISDICTIONS = """kind: jurisdictions
jurisdictions:
  - {code: "990000", name: 某省, level: province}
  - {code: "990100", name: 甲市, level: city, parent: "990000"}
  - {code: "990101", name: 甲县, level: county, parent: "990100"}
  - {code: "990102", name: 乙县, level: county, parent: "990100"}
"""
PARAMETERS = """kind: parameters
parameters:
  elder_age:
    label: {zh: 高龄年龄, en: Elder age}
    unit: {zh: 岁, en: years}
    type: int
    reference: 某政发〔2020〕1号
    minimum: 0
    maximum: 130
  allowance_monthly:
    label: {zh: 高龄津贴月标准, en: Monthly elders allowance}
    unit: {zh: 元/人·月, en: yuan per person a month}
    type: money
    reference: 某政发〔2020〕1号
    minimum: 0
"""
RULES = """kind: rules
programme: elders
title: {zh: 高龄津贴, en: Elders allowance}
reference: 某政发〔2020〕1号
variables:
  elder: {scope: member, type: bool, default: false, label: {zh: 高龄老人, en: Elder}}
  elders: {type: int, default: 0, label: {zh: 高龄老人数, en: Elders}}
  elders_allowance: {type: money, default: 0, label: {zh: 高龄津贴, en: Elders allowance}}
  heating_subsidy: {type: bool, default: false, label: {zh: 取暖补贴, en: Heating subsidy}}
rules:
  - id: elders.member
    for_each: member
    title: {zh: 达到高龄年龄, en: At the elder age}
    reference: 某政发〔2020〕1号
    when: age >= elder_age
    set: {elder: true}
  - id: elders.count
    title: {zh: 高龄老人数与津贴, en: Elders and allowance}
    reference: 某政发〔2020〕1号
    set:
      elders: count(m for m in members if m.elder)
      elders_allowance: elders * allowance_monthly
  - id: heating.subsidy
    title: {zh: 有高龄老人的家庭享受取暖补贴, en: A household with an elder gets the heating subsidy}
    reference: 某政发〔2020〕1号
    when: elders > 0
    set: {heating_subsidy: true}
"""


def values(age: int, extra: str = "") -> str:
    return f"""kind: values
jurisdiction: "990000"
values:
  elder_age:
    - {{from: 2020-01-01, value: {age}, document: 某政发〔2020〕1号}}
  allowance_monthly:
    - {{from: 2020-01-01, value: 100, document: 某政发〔2020〕1号}}
{extra}"""


COUNTY = """kind: values
jurisdiction: "990102"
values:
  allowance_monthly:
    - {from: 2020-01-01, value: 150, document: 乙政发〔2020〕2号}
"""


def write(folder, age, county=False):
    for name, body in {"pack.yaml": PACK, "jurisdictions.yaml": JURISDICTIONS, "parameters.yaml": PARAMETERS,
                       "rules/10-elders.yaml": RULES, "values/990000.yaml": values(age)}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(body, encoding="utf-8")
    if county:
        (folder / "values" / "990102.yaml").write_text(COUNTY, encoding="utf-8")
    return folder


def member(i, age):
    return {"id": f"m{i}", "age": age}


ROLL = [
    {"household_id": "A-1", "county": "990101", "members": [member(1, 85), member(2, 50)]},  # no change
    {"household_id": "A-2", "county": "990101", "members": [member(1, 77)]},  # 0 → 100, gains heating
    {"household_id": "B-1", "county": "990102", "members": [member(1, 90), member(2, 82)]},  # 200 → 300
    {"household_id": "B-2", "county": "990102", "members": [member(1, 78), member(2, 76)]},  # 0 → 300, heating
    {"household_id": "B-3", "county": "990102", "members": [member(1, 40)]},  # no change
]
HUNAN_WORDS = ("dibao", "低保", "hunan", "湖南", "medical", "医疗", "temporary", "临时", "review_action",
               "safety_net", "\"43")


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    root = tmp_path_factory.mktemp("elders")
    return write(root / "v1", 80), write(root / "v2", 75, county=True)


def test_the_report_adds_up_the_packs_own_outputs(versions):
    old, new = (load_pack(v) for v in versions)
    report = impact(old, new, ROLL, "2020-06-01")
    assert (report.households, report.evaluated, report.errors, report.changed) == (5, 5, 0, 3)
    # no presentation declared: every amount, every flag, movers by the first amount
    assert (tuple(report.amounts), tuple(report.flags), report.movers_by) == (
        ("elders_allowance",), ("heating_subsidy",), "elders_allowance")
    allowance, heating = report.amounts["elders_allowance"], report.flags["heating_subsidy"]
    assert (allowance.old, allowance.new, allowance.delta, allowance.up, allowance.down, allowance.unchanged) == (
        300, 800, 500, 3, 0, 2)
    assert (heating.old, heating.new, heating.gained, heating.lost) == (2, 4, 2, 0)
    # an output that is neither amount nor flag still counts
    assert report.outputs == {"elders": 2, "elders_allowance": 3, "heating_subsidy": 2}
    assert report.legend["elders"].label.zh == "高龄老人数"
    assert [(m.household_id, m.old, m.new, m.delta, m.flags["heating_subsidy"].new) for m in report.top] == [
        ("B-2", 0, 300, 300, True), ("A-2", 0, 100, 100, True), ("B-1", 200, 300, 100, True)]
    yi = next(c for c in report.counties if c.code == "990102")
    assert (yi.name, yi.households, yi.changed, yi.amounts["elders_allowance"].delta,
            yi.flags["heating_subsidy"].gained) == ("乙县", 3, 2, 400, 1)
    # a spec given as an argument: no amount, so no movers; the changes are still all counted
    flags_only = impact(old, new, ROLL, "2020-06-01", spec=Spec((), ("heating_subsidy",), None))
    assert (flags_only.amounts, flags_only.top, flags_only.outputs) == ({}, (), report.outputs)


def test_doudi_impact_names_the_changed_outputs_and_no_word_of_hunan(versions, tmp_path):
    roll = tmp_path / "roll.jsonl"
    roll.write_text("".join(json.dumps(h) + "\n" for h in ROLL), encoding="utf-8")
    result = CliRunner().invoke(cli, ["impact", str(versions[0]), str(versions[1]), str(roll), "--as-of",
                                      "2020-06-01", "--db", str(tmp_path / "d.db")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["amounts"] == {"elders_allowance": {"old": 300, "new": 800, "delta": 500, "up": 3, "down": 0,
                                                      "unchanged": 2}}
    assert report["flags"] == {"heating_subsidy": {"old": 2, "new": 4, "gained": 2, "lost": 0}}
    assert report["outputs"] == {"elders": 2, "elders_allowance": 3, "heating_subsidy": 2}
    assert report["legend"]["heating_subsidy"]["label"] == {"zh": "取暖补贴", "en": "Heating subsidy"}
    assert report["top"][0] == {"household_id": "B-2", "county": "990102", "old": 0, "new": 300, "delta": 300,
                                "flags": {"heating_subsidy": {"old": False, "new": True}}}
    words = [w for w in HUNAN_WORDS if w in result.output.lower()]
    assert words == []
