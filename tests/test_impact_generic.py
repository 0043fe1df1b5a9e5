"""The impact report speaks of the pack's own outputs: a pack the platform has never seen, with other programmes.

The elders pack of tests/elders.py (an allowance for every member of the elder age, a heating subsidy for
a household with elders) in two versions.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from elders import household, write

from doudi import admin  # noqa: F401 - registers the database commands
from doudi.cli import cli
from engine import load_pack
from engine.impact import impact
from engine.presentation import ImpactSpec

COUNTY = """\
kind: values
jurisdiction: "990102"
values:
  allowance_per_elder: [{from: 2020-01-01, value: 200, document: 西政发〔2020〕2号}]
"""
ROLL = [
    household(1, "990101", 85, 50),  # one elder either way: no change
    household(2, "990101", 77),  # 0 → 150 a month, heating 0 → 600, allowance granted
    household(3, "990102", 90, 82),  # 300 → 400 a month
    household(4, "990102", 78, 76),  # 0 → 400 a month, heating 0 → 600, allowance granted
    household(5, "990102", 40),  # no change
]
HUNAN_WORDS = ("dibao", "低保", "hunan", "湖南", "medical", "医疗", "temporary", "临时", "review_action",
               "safety_net", "\"43")


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Version 2 lowers the elder age from 80 to 75 and raises 西县's allowance from 150 to 200 a month."""
    root = tmp_path_factory.mktemp("elders")
    old, new = write(root / "v1"), write(root / "v2")
    values = new / "values" / "990000.yaml"
    values.write_text(values.read_text(encoding="utf-8").replace("value: 80}", "value: 75}"), encoding="utf-8")
    (new / "values" / "990102.yaml").write_text(COUNTY, encoding="utf-8")
    return old, new


def test_the_report_adds_up_the_packs_own_outputs(versions):
    old, new = (load_pack(v) for v in versions)
    report = impact(old, new, ROLL, "2020-06-01")
    assert (report.households, report.evaluated, report.errors, report.changed) == (5, 5, 0, 3)
    # no impact declared: every amount, every flag, movers by the first amount of the headline
    assert (tuple(report.amounts), tuple(report.flags), report.movers_by) == (
        ("allowance_monthly", "heating_subsidy"), ("allowance_granted",), "allowance_monthly")
    allowance, heating = report.amounts["allowance_monthly"], report.amounts["heating_subsidy"]
    assert (allowance.old, allowance.new, allowance.delta, allowance.up, allowance.down, allowance.unchanged) == (
        450, 1100, 650, 3, 0, 2)
    assert (heating.old, heating.new, heating.delta, heating.up) == (1200, 2400, 1200, 2)
    granted = report.flags["allowance_granted"]
    assert (granted.old, granted.new, granted.gained, granted.lost) == (2, 4, 2, 0)
    # outputs that are neither amounts nor flags (a count, a category, a list) still count
    assert report.outputs == {"elder_count": 2, "allowance_monthly": 3, "heating_subsidy": 2,
                              "allowance_granted": 2, "tier": 2, "elders": 3}
    assert (report.legend["tier"].label.zh, report.legend["allowance_monthly"].unit.zh) == ("补贴档次", "元/月")
    assert [(m.household_id, m.old, m.new, m.delta, m.flags["allowance_granted"].new) for m in report.top] == [
        ("T-0004", 0, 400, 400, True), ("T-0002", 0, 150, 150, True), ("T-0003", 300, 400, 100, True)]
    west = next(c for c in report.counties if c.code == "990102")
    assert (west.name, west.households, west.changed, west.amounts["allowance_monthly"].delta,
            west.flags["allowance_granted"].gained) == ("西县", 3, 2, 500, 1)
    # a spec given as an argument: no amount, so no movers; every change is still counted
    flags_only = impact(old, new, ROLL, "2020-06-01", spec=ImpactSpec((), ("allowance_granted",), None))
    assert (flags_only.amounts, flags_only.top, flags_only.outputs) == ({}, (), report.outputs)


def test_doudi_impact_names_the_changed_outputs_and_no_word_of_hunan(versions, tmp_path):
    roll = tmp_path / "roll.jsonl"
    roll.write_text("".join(json.dumps(h) + "\n" for h in ROLL), encoding="utf-8")
    result = CliRunner().invoke(cli, ["impact", str(versions[0]), str(versions[1]), str(roll), "--as-of",
                                      "2020-06-01", "--db", str(tmp_path / "d.db")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["amounts"]["allowance_monthly"] == {"old": 450, "new": 1100, "delta": 650, "up": 3, "down": 0,
                                                      "unchanged": 2}
    assert report["amounts"]["heating_subsidy"]["delta"] == 1200
    assert report["flags"] == {"allowance_granted": {"old": 2, "new": 4, "gained": 2, "lost": 0}}
    assert report["outputs"]["elders"] == 3 and report["outputs"]["tier"] == 2
    assert report["legend"]["heating_subsidy"]["label"] == {"zh": "一次性取暖补贴", "en": "One-off heating subsidy"}
    assert report["top"][0] == {"household_id": "T-0004", "county": "990102", "old": 0, "new": 400, "delta": 400,
                                "flags": {"allowance_granted": {"old": False, "new": True}}}
    words = [w for w in HUNAN_WORDS if w in result.output.lower()]
    assert words == []


def test_doudi_impact_without_a_roll_draws_the_packs_own_households(versions, tmp_path):
    args = ["impact", str(versions[0]), str(versions[1]), "--n", "300", "--seed", "4", "--as-of", "2020-06-01",
            "--db", str(tmp_path / "d.db")]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["households"] == 300 and report["errors"] == 0 and report["changed"] > 0
    assert report["amounts"]["allowance_monthly"]["delta"] > 0  # elder age 80 → 75 and 西县 150 → 200
    assert all(m["household_id"].startswith("elders-9901") for m in report["top"])
    words = [w for w in (*HUNAN_WORDS, "hn-", "disease", "病种") if w in result.output.lower()]
    assert words == []
    assert CliRunner().invoke(cli, args, catch_exceptions=False).output == result.output  # the same seed
