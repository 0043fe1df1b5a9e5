"""Dated values and inheritance province → city → county, with provenance."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from conftest import HUNAN

from engine import EvaluationError, evaluate, load_pack
from engine.jurisdictions import ParameterIndex


@pytest.fixture(scope="module")
def layered_pack(tmp_path_factory):
    """The Hunan pack plus a city `inherit` (2020) and a county value and `inherit` for 浏阳市."""
    root = tmp_path_factory.mktemp("pack") / "hunan"
    shutil.copytree(HUNAN, root)
    city = root / "values" / "430100-长沙市.yaml"
    city.write_text(city.read_text(encoding="utf-8")
                    + "    - {from: 2020-01-01, inherit: true, document: 长政发〔2020〕1号}\n", encoding="utf-8")
    (root / "values" / "430181-浏阳市.yaml").write_text(
        'kind: values\njurisdiction: "430181"\nvalues:\n'
        "  medical_annual_cap:\n    - {from: 2017-01-01, value: 40000, document: 浏政发〔2017〕9号}\n"
        "  dibao_standard:\n"
        "    - {from: 2020-06-01, value: 4500, document: 浏政发〔2020〕7号}\n"
        "    - {from: 2021-01-01, inherit: true, document: 浏政发〔2021〕2号}\n", encoding="utf-8")
    return load_pack(root)


@pytest.mark.parametrize(("on", "value", "source", "effective"), [
    ("2017-06-01", 3360, "430000", "2017-01-01"),   # the city has nothing yet: the province's
    ("2018-01-01", 4800, "430100", "2018-01-01"),   # the city's, from its first day
    ("2019-12-31", 5400, "430100", "2019-01-01"),
    ("2020-01-01", 3960, "430000", "2019-01-01"),   # the city's `inherit` hands back to the province
    ("2020-05-31", 3960, "430000", "2019-01-01"),
    ("2020-06-01", 4500, "430181", "2020-06-01"),   # the county's own value
    ("2021-01-01", 3960, "430000", "2019-01-01"),   # county inherits from the city, which inherits too
])
def test_three_levels_of_inheritance(layered_pack, on, value, source, effective):
    r = ParameterIndex(layered_pack).resolve("dibao_standard", "430181", dt.date.fromisoformat(on))
    assert (r.value, r.jurisdiction, r.effective.isoformat()) == (value, source, effective)


def test_a_decision_shows_where_the_standard_came_from(layered_pack):
    household = {"household_id": "x", "county": "430181", "members": [{"id": "m1", "age": 70}]}
    decision = evaluate(layered_pack, household, "2020-07-01")
    assert decision.outputs["dibao_standard"] == 4500
    step = next(s for s in decision.trace if s.rule == "dibao.monthly_standard")
    assert step.parameters["dibao_standard"] == {"value": 4500, "from": "430181", "effective": "2020-06-01",
                                                 "document": "浏政发〔2020〕7号"}


def test_every_county_of_hunan_is_evaluable(pack):
    counties = pack.counties()
    assert len(counties) == 122
    for county in counties:
        household = {"household_id": county.code, "county": county.code, "members": [{"id": "m1", "age": 75}]}
        decision = evaluate(pack, household, "2019-06-01", trace=False)
        assert decision.outputs["dibao_standard"] >= 3960


def test_no_value_in_force_is_an_error_not_a_zero(pack):
    household = {"household_id": "x", "county": "430626", "members": [{"id": "m1", "age": 75}]}
    with pytest.raises(EvaluationError) as info:
        evaluate(pack, household, "2016-12-31")
    assert "no parameter value in force on 2016-12-31 for 430626 平江县" in str(info.value)
    assert "the earliest value starts 2017-01-01" in str(info.value)


def test_timeline_lists_each_change(pack):
    timeline = ParameterIndex(pack).timeline("dibao_standard", "430121")
    assert [(d.isoformat(), r.value, r.jurisdiction) for d, r in timeline] == [
        ("2017-01-01", 4200, "430121"), ("2018-01-01", 6000, "430121"), ("2019-01-01", 6000, "430121")]
