"""A pack the platform has never seen: an allowance for elders living alone and a one-off heating subsidy in a
made-up province, written to a folder by the tests of genericity (no dibao, only base facts such as age)."""

from __future__ import annotations

from pathlib import Path

PACK = """\
kind: pack
id: elders
title: {zh: 示例省高龄独居老人补贴规则包, en: Sample province elders allowance pack}
root: "990000"
documents:
  - {number: 示例民发〔2026〕1号, title: 关于发放高龄老人津贴和取暖补贴的通知}
outputs:
  elder_count: elder_count
  allowance_monthly: allowance_monthly
  heating_subsidy: heating_subsidy
  allowance_granted: allowance_granted
  tier: tier
  elders: {each: members, where: is_elder, fields: {member: id, age: age, amount: elder_amount}}
"""

PRESENTATION = """\
presentation:
  outputs:
    elder_count: {unit: persons}
    allowance_monthly: {unit: yuan_month}
    tier:
      values: {high: {zh: 高龄档, en: Oldest tier}, base: {zh: 普通档, en: Base tier}, none: {zh: 无, en: None}}
  headline: [allowance_granted, allowance_monthly]
  summary:
    - {name: by_tier, count: households, by: tier, label: {zh: 按档次, en: By tier}}
    - {name: allowance_total, sum: allowance_monthly, label: {zh: 津贴月合计, en: Monthly allowance in all}}
"""

JURISDICTIONS = """\
kind: jurisdictions
jurisdictions:
  - {code: "990000", name: 示例省, level: province}
  - {code: "990100", name: 示例市, level: city, parent: "990000"}
  - {code: "990101", name: 东县, level: county, parent: "990100"}
  - {code: "990102", name: 西县, level: county, parent: "990100"}
"""

PARAMETERS = """\
kind: parameters
parameters:
  elder_age:
    label: {zh: 高龄年龄, en: Elder age}
    unit: {zh: 岁, en: years}
    type: int
    reference: 示例民发〔2026〕1号
  allowance_per_elder:
    label: {zh: 每位老人月津贴, en: Monthly allowance per elder}
    unit: {zh: 元/月, en: yuan a month}
    type: money
    reference: 示例民发〔2026〕1号
  heating_amount:
    label: {zh: 取暖补贴, en: Heating subsidy}
    unit: {zh: 元, en: yuan}
    type: money
    reference: 示例民发〔2026〕1号
"""

VALUES = """\
kind: values
jurisdiction: "990000"
values:
  elder_age: [{from: 2020-01-01, value: 80}]
  allowance_per_elder: [{from: 2020-01-01, value: 150}]
  heating_amount: [{from: 2020-01-01, value: 600}]
"""

RULES = """\
kind: rules
programme: elders
title: {zh: 高龄老人津贴, en: Elders allowance}
variables:
  is_elder: {scope: member, type: bool, default: false, label: {zh: 高龄老人, en: Elder}}
  elder_amount: {scope: member, type: money, default: 0, label: {zh: 个人津贴, en: Allowance of the elder}}
  elder_count: {type: int, default: 0, label: {zh: 高龄老人人数, en: Elders}}
  allowance_monthly: {type: money, default: 0, label: {zh: 高龄津贴（月）, en: Monthly elders allowance}}
  heating_subsidy: {type: money, default: 0, label: {zh: 一次性取暖补贴, en: One-off heating subsidy}}
  allowance_granted: {type: bool, default: false, label: {zh: 享受高龄津贴, en: Allowance granted}}
  tier: {type: str, default: none, label: {zh: 补贴档次, en: Tier}}
rules:
  - id: elders.member
    for_each: member
    title: {zh: 达到高龄年龄的成员, en: A member of the elder age}
    reference: 示例民发〔2026〕1号
    when: age >= elder_age
    set: {is_elder: true, elder_amount: allowance_per_elder}
  - id: elders.count
    title: {zh: 高龄老人人数, en: Number of elders}
    reference: 示例民发〔2026〕1号
    set:
      elder_count: count(m for m in members if m.is_elder)
      allowance_monthly: sum(m.elder_amount for m in members)
  - id: elders.granted
    title: {zh: 有高龄老人的家庭享受津贴和取暖补贴, en: A household with elders gets the allowance and heating}
    reference: 示例民发〔2026〕1号
    when: elder_count >= 1
    set: {allowance_granted: true, heating_subsidy: heating_amount}
    reason:
      zh: 家庭有{elder_count}位高龄老人，每月津贴{allowance_monthly:yuan}
      en: The household has {elder_count} elders; the monthly allowance is {allowance_monthly:yuan}
  - id: elders.base
    title: {zh: 一位高龄老人为普通档, en: One elder - base tier}
    reference: 示例民发〔2026〕1号
    when: elder_count == 1
    set: {tier: "'base'"}
  - id: elders.high
    title: {zh: 两位以上高龄老人为高龄档, en: Two elders or more - oldest tier}
    reference: 示例民发〔2026〕1号
    when: elder_count >= 2
    set: {tier: "'high'"}
"""


def write(folder: Path, presentation: bool = True) -> Path:
    """Write the elders pack into ``folder`` (with or without its presentation section) and return it."""
    (folder / "values").mkdir(parents=True, exist_ok=True)
    (folder / "rules").mkdir(exist_ok=True)
    (folder / "pack.yaml").write_text(PACK + (PRESENTATION if presentation else ""), encoding="utf-8")
    (folder / "jurisdictions.yaml").write_text(JURISDICTIONS, encoding="utf-8")
    (folder / "parameters.yaml").write_text(PARAMETERS, encoding="utf-8")
    (folder / "values" / "990000.yaml").write_text(VALUES, encoding="utf-8")
    (folder / "rules" / "10-elders.yaml").write_text(RULES, encoding="utf-8")
    return folder


def household(number: int, county: str, *ages: int) -> dict:
    """A household of members of these ages (base facts only)."""
    return {"household_id": f"T-{number:04d}", "county": county,
            "members": [{"id": f"m{i + 1}", "relation": "head" if i == 0 else "spouse", "age": age}
                        for i, age in enumerate(ages)]}
