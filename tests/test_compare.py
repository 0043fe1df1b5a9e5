"""Compare two versions of a pack: the diff (old → new, delta, %) and the impact over households."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal

import pytest
from conftest import HUNAN

from engine import evaluate, load_pack
from engine import impact as impact_module
from engine.compare import affected_counties, diff_packs
from engine.impact import impact
from engine.synth import synth_households

AS_OF = dt.date(2019, 6, 1)
XINHUA = "431322"  # 新化县
PINGJIANG = "430626"  # 平江县, inherits the province's 3960 in 2019


def variant(tmp_path, edits):
    """A copy of rules/hunan with each (file, old text, new text) edit made exactly once, loaded."""
    folder = tmp_path / "variant"
    shutil.copytree(HUNAN, folder)
    for name, old, new in edits:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur once in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")
    return load_pack(folder)


XINHUA_2019 = "{from: 2019-01-01, value: 3960, document: 新政发〔2019〕1号}"
XINHUA_FILE = "values/431322-新化县.yaml"


@pytest.fixture(scope="module")
def raised(tmp_path_factory):
    """The pack with 新化县's 2019 standard raised from 3960 to 4100 by 新政发〔2019〕9号."""
    return variant(tmp_path_factory.mktemp("raised"), [(
        XINHUA_FILE, XINHUA_2019, "{from: 2019-01-01, value: 4100, document: 新政发〔2019〕9号, reason: 年度提标}")])


def person(age, **extra):
    return {"id": "m1", "age": age, **extra}


def household(hid, county, members, **extra):
    return {"household_id": hid, "county": county, "members": members, **extra}


# Worked by hand for 2019-06-01; the standard S is 3960 before the change, 4100 after (Sm 330 → 341.67).
HAND = [
    # alone, 65, no income: base S/12 = 330 → 341.67, rounded 342: +12
    household("XH-1", XINHUA, [person(65)]),
    # alone, 65, 4000 a year: 4000 ≥ 3960 not eligible; 4000 < 4100 eligible at the floor of 20 a month
    household("XH-2", XINHUA, [person(65, income={"transfer": 4000})]),
    # two aged 72 and 75, 1200 a year: (7920 − 1200)/12 + 2 × 10% × 330 = 626 → (8200 − 1200)/12 + 68.33 = 652
    household("XH-3", XINHUA, [person(72, income={"transfer": 1200}), {"id": "m2", "age": 75}]),
    # a private car fails the asset test either way
    household("XH-4", XINHUA, [person(65)], assets={"deposits": 0, "car": "private"}),
    # 平江县 is out of reach: 330 both times
    household("PJ-1", PINGJIANG, [person(65)]),
]


def test_diff_shows_exactly_the_one_value_changed(pack, raised):
    diff = diff_packs(pack, raised)
    assert len(diff.parameters) == 1
    change = diff.parameters[0]
    assert (change.jurisdiction, change.jurisdiction_name, change.parameter) == (XINHUA, "新化县", "dibao_standard")
    assert (change.label.zh, change.label.en) == ("农村低保标准", "Rural dibao standard")
    assert change.effective == dt.date(2019, 1, 1) and change.change == "changed"
    assert (change.old, change.new, change.delta, change.percent) == (3960, 4100, 140, Decimal("3.54"))
    assert (change.document, change.reason) == ("新政发〔2019〕9号", "年度提标")
    assert change.old_document == "新政发〔2019〕1号"
    assert change.fields == ("value", "document", "reason")
    assert not (diff.declarations or diff.rules or diff.variables or diff.outputs or diff.jurisdictions
                or diff.metadata)
    assert affected_counties(pack, raised) == {XINHUA}
    data = json.loads(diff.to_json())
    assert data["parameters"][0] | {"label": None} == {
        "jurisdiction": XINHUA, "jurisdiction_name": "新化县", "parameter": "dibao_standard", "label": None,
        "unit": {"zh": "元/人·年", "en": "yuan per person a year"}, "effective": "2019-01-01", "change": "changed",
        "fields": ["value", "document", "reason"],
        "old": 3960, "new": 4100, "in_force_old": 3960, "in_force_new": 4100, "delta": 140, "percent": 3.54,
        "document": "新政发〔2019〕9号", "reason": "年度提标", "old_document": "新政发〔2019〕1号"}
    assert data["affected_counties"] == [XINHUA]


def test_impact_of_the_raise_on_hand_worked_households(pack, raised):
    report = impact(pack, raised, HAND, AS_OF)
    assert (report.households, report.evaluated, report.skipped, report.errors) == (5, 4, 1, 0)
    assert report.affected_counties == (XINHUA,)
    # what Hunan declares its impact report adds up (pack.yaml, presentation.impact)
    assert (tuple(report.amounts), tuple(report.flags), report.movers_by) == (
        ("dibao_monthly", "medical_assistance", "temporary_assistance"), ("dibao_eligible",), "dibao_monthly")
    monthly, eligible = report.amounts["dibao_monthly"], report.flags["dibao_eligible"]
    assert (eligible.gained, eligible.lost, monthly.up, monthly.down, monthly.unchanged) == (1, 0, 3, 0, 2)
    assert (eligible.old, eligible.new) == (3, 4)
    assert (monthly.old, monthly.new, monthly.delta) == (330 + 626 + 330, 342 + 20 + 652 + 330, 12 + 20 + 26)
    assert report.amounts["medical_assistance"].delta == 0 and report.amounts["temporary_assistance"].delta == 0
    assert report.changed == 4  # XH-4's payment stays 0, but its standard rises
    # every output path that differs is counted, declared or not (the payment and what follows from it)
    assert (report.outputs["dibao_monthly"], report.outputs["dibao_eligible"], report.outputs["dibao_standard"],
            report.outputs["review_action"]) == (3, 1, 4, 1)
    assert "medical_assistance" not in report.outputs
    assert report.legend["dibao_monthly"].label.zh == "月低保金"
    xinhua, pingjiang = (next(c for c in report.counties if c.code == code) for code in (XINHUA, PINGJIANG))
    assert (xinhua.name, xinhua.households, xinhua.evaluated, xinhua.flags["dibao_eligible"].gained,
            xinhua.amounts["dibao_monthly"].up, xinhua.changed) == ("新化县", 4, 4, 1, 3, 4)
    x = xinhua.amounts["dibao_monthly"]
    assert (x.old, x.new, x.delta) == (956, 1014, 58)
    p = pingjiang.amounts["dibao_monthly"]
    assert (pingjiang.households, pingjiang.evaluated, p.delta, pingjiang.changed) == (1, 0, 0, 0)
    assert p.old == p.new == 330
    assert [(m.household_id, m.old, m.new, m.delta, m.flags["dibao_eligible"].old, m.flags["dibao_eligible"].new)
            for m in report.top] == [("XH-3", 626, 652, 26, True, True), ("XH-2", 0, 20, 20, False, True),
                                     ("XH-1", 330, 342, 12, True, True)]
    assert [m.household_id for m in impact(pack, raised, HAND, AS_OF, top=2).top] == ["XH-3", "XH-2"]
    data = json.loads(report.to_json())
    assert data["as_of"] == "2019-06-01"
    assert data["amounts"]["dibao_monthly"] == {"old": 1286, "new": 1344, "delta": 58, "up": 3, "down": 0,
                                                "unchanged": 2}
    assert data["flags"] == {"dibao_eligible": {"old": 3, "new": 4, "gained": 1, "lost": 0}}
    assert data["top"][1] == {"household_id": "XH-2", "county": XINHUA, "old": 0, "new": 20, "delta": 20,
                              "flags": {"dibao_eligible": {"old": False, "new": True}}}
    assert data["legend"]["dibao_eligible"]["label"] == {"zh": "符合低保条件", "en": "Eligible for dibao"}


def test_only_the_reached_county_is_evaluated_under_the_new_version(pack, raised, monkeypatch):
    calls = []

    def spy(p, households, *args, **kwargs):
        calls.append((p.digest, [h["county"] for h in households]))
        return evaluate_many(p, households, *args, **kwargs)

    evaluate_many = impact_module.evaluate_many
    monkeypatch.setattr(impact_module, "evaluate_many", spy)
    population = list(synth_households([PINGJIANG, XINHUA, "430121", "433124"], 60, seed=3, as_of=AS_OF))
    report = impact(pack, raised, population, AS_OF, chunk=25)
    old_counties = [c for digest, counties in calls if digest == pack.digest for c in counties]
    new_counties = [c for digest, counties in calls if digest == raised.digest for c in counties]
    assert len(old_counties) == 60 and set(new_counties) == {XINHUA}
    assert len(new_counties) == report.evaluated == sum(h["county"] == XINHUA for h in population)
    assert report.skipped == 60 - report.evaluated
    assert len([c for c in calls if c[0] == pack.digest]) == 3  # chunks of 25, 25 and 10


def test_impact_matches_evaluating_every_household_under_both(pack, raised):
    population = list(synth_households([PINGJIANG, XINHUA, "430121", "433124"], 160, seed=5, as_of=AS_OF)) + HAND
    report = impact(pack, raised, population, AS_OF, top=5)
    pairs = [(h, evaluate(pack, h, AS_OF, trace=False).outputs, evaluate(raised, h, AS_OF, trace=False).outputs)
             for h in population]
    deltas = [(n["dibao_monthly"] - o["dibao_monthly"], h) for h, o, n in pairs]
    monthly, eligible = report.amounts["dibao_monthly"], report.flags["dibao_eligible"]
    assert eligible.gained == sum(not o["dibao_eligible"] and n["dibao_eligible"] for _, o, n in pairs) >= 1
    assert eligible.lost == 0
    assert monthly.up == sum(d > 0 for d, _ in deltas) and monthly.down == 0
    assert monthly.unchanged == sum(d == 0 for d, _ in deltas)
    assert monthly.delta == sum(d for d, _ in deltas) > 58
    assert monthly.old == sum(o["dibao_monthly"] for _, o, _ in pairs)
    assert report.changed == sum(o != n for _, o, n in pairs)
    for path in ("medical_assistance", "temporary_assistance"):
        assert report.amounts[path].delta == sum(n[path] - o[path] for _, o, n in pairs)
    by_county = {c.code: c for c in report.counties}
    assert set(by_county) == {PINGJIANG, XINHUA, "430121", "433124"}
    assert by_county[XINHUA].amounts["dibao_monthly"].delta == monthly.delta
    for code in (PINGJIANG, "430121", "433124"):
        county = by_county[code]
        counted = county.amounts["dibao_monthly"]
        assert county.evaluated == 0 and counted.delta == 0 and counted.up == 0 and county.changed == 0
        assert counted.old == sum(o["dibao_monthly"] for h, o, _ in pairs if h["county"] == code)
    expected_top = sorted((d, h["household_id"]) for d, h in deltas if d)
    expected_top.sort(key=lambda t: (-abs(t[0]), t[1]))
    assert [(m.delta, m.household_id) for m in report.top] == expected_top[:5]
    everything = impact(pack, raised, population, AS_OF, top=5, skip_unaffected=False)
    assert (everything.evaluated, everything.skipped, everything.affected_counties) == (len(population), 0, None)
    skip_fields = {"evaluated", "skipped", "affected_counties", "counties"}
    assert {k: v for k, v in everything.to_dict().items() if k not in skip_fields} == {
        k: v for k, v in report.to_dict().items() if k not in skip_fields}


def test_households_that_fail_are_counted_apart(pack, raised):
    bad = [household("BAD-1", XINHUA, [person(-1)]), household("BAD-2", PINGJIANG, [person(200)])]
    report = impact(pack, raised, HAND + bad, AS_OF)
    assert (report.households, report.errors, report.errors_old, report.errors_new) == (7, 2, 2, 2)
    assert [(s["household_id"], s["version"]) for s in report.error_samples] == [("BAD-1", "both"), ("BAD-2", "both")]
    assert "members[0].age" in report.error_samples[0]["message"]
    assert report.amounts["dibao_monthly"].delta == 58 and report.amounts["dibao_monthly"].unchanged == 2


def test_a_change_after_as_of_reaches_no_household_then(pack, tmp_path):
    later = variant(tmp_path, [(XINHUA_FILE, XINHUA_2019,
                                XINHUA_2019 + "\n    - {from: 2020-01-01, value: 4300, document: 新政发〔2020〕2号}")])
    (change,) = diff_packs(pack, later).parameters
    assert (change.change, change.effective, change.old, change.new) == ("added", dt.date(2020, 1, 1), None, 4300)
    # measured against the value it replaces: 新化县's own 2019 standard, still in force on 2020-01-01
    assert (change.in_force_old, change.in_force_new, change.delta, change.percent) == (
        3960, 4300, 340, Decimal("8.59"))
    assert affected_counties(pack, later) == {XINHUA}
    report = impact(pack, later, HAND, AS_OF)
    assert (report.evaluated, report.skipped, report.affected_counties, report.changed) == (0, 5, (), 0)
    assert report.amounts["dibao_monthly"].delta == 0 and report.outputs == {}
    assert impact(pack, later, HAND, "2020-02-01").evaluated == 4


def test_an_inherit_entry_shows_as_inherit(pack, tmp_path):
    inherit = variant(tmp_path, [(XINHUA_FILE, XINHUA_2019,
                                  "{from: 2019-01-01, inherit: true, document: 新政发〔2019〕9号}")])
    (change,) = diff_packs(pack, inherit).parameters
    assert (change.old, change.new, change.fields) == (3960, "inherit", ("value", "document"))
    assert (change.in_force_old, change.in_force_new, change.delta, change.percent) == (3960, 3960, 0, 0)
    # 新化县 now inherits the province's 2019 standard, 3960 too: the values in force on as_of are
    # equal, so nobody needs evaluating again
    assert affected_counties(pack, inherit) == {XINHUA}
    report = impact(pack, inherit, HAND, AS_OF)
    assert (report.evaluated, report.affected_counties, report.amounts["dibao_monthly"].delta) == (0, (), 0)


def test_a_document_alone_changes_no_outcome(pack, tmp_path):
    renamed = variant(tmp_path, [(XINHUA_FILE, "新政发〔2019〕1号", "新政发〔2019〕7号")])
    (change,) = diff_packs(pack, renamed).parameters
    assert change.fields == ("document",) and change.old == change.new == 3960 and change.delta == 0
    assert affected_counties(pack, renamed) == set()


@pytest.mark.parametrize(("name", "old", "new", "field", "before", "after"), [
    ("rules/60-review.yaml", "None or as_of - last_review >= review_interval_days",
     "None or as_of - last_review > review_interval_days", "when",
     "last_review is None or as_of - last_review >= review_interval_days",
     "last_review is None or as_of - last_review > review_interval_days"),
    ("rules/20-dibao.yaml", "set: {dibao_standard_monthly: dibao_standard / 12}",
     "set: {dibao_standard_monthly: 'round(dibao_standard / 12, 2)'}", "set",
     {"dibao_standard_monthly": "dibao_standard / 12"}, {"dibao_standard_monthly": "round(dibao_standard / 12, 2)"}),
])
def test_a_rule_change_reaches_every_county(pack, tmp_path, name, old, new, field, before, after):
    edited = variant(tmp_path, [(name, old, new)])
    diff = diff_packs(pack, edited)
    (change,) = diff.rules
    assert change.change == "changed" and change.fields == (field,)
    assert change.old == {field: before} and change.new == {field: after}
    assert diff.parameters == () and diff.affected_counties is None
    assert affected_counties(pack, edited) is None
    report = impact(pack, edited, HAND, AS_OF)
    assert (report.evaluated, report.skipped, report.affected_counties) == (5, 0, None)


def test_a_rule_title_alone_changes_no_outcome(pack, tmp_path):
    edited = variant(tmp_path, [("rules/60-review.yaml", "en: No longer eligible - exit}",
                                 "en: No longer eligible - the household exits}")])
    (change,) = diff_packs(pack, edited).rules
    assert (change.key, change.fields) == ("review.exit", ("title",))
    assert change.new == {"title": {"zh": "不再符合条件的及时清退", "en": "No longer eligible - the household exits"}}
    assert affected_counties(pack, edited) == set()


def test_a_provincial_change_reaches_every_county_under_it(pack, tmp_path):
    edited = variant(tmp_path, [("values/430000-湖南省.yaml", "{from: 2019-01-01, value: 250,",
                                 "{from: 2019-01-01, value: 260,")])
    (change,) = diff_packs(pack, edited).parameters
    assert (change.jurisdiction, change.parameter, change.old, change.new, change.percent) == (
        "430000", "premium_individual", 250, 260, Decimal("4.00"))
    counties = {c.code for c in pack.counties()}
    assert len(counties) == 122 and affected_counties(pack, edited) == counties


def test_a_city_change_reaches_its_counties_only(pack, tmp_path):
    edited = variant(tmp_path, [("values/430100-长沙市.yaml", "value: 5400", "value: 5500")])
    changsha = {c.code for c in pack.counties() if c.parent == "430100"}
    assert "430121" in changsha and len(changsha) == 9
    assert affected_counties(pack, edited) == changsha
    report = impact(pack, edited, [household("CS-1", "430181", [person(65)]), *HAND], AS_OF)
    # 浏阳市 inherits the city's standard: 5400/12 = 450 → 5500/12 = 458.33, paid 458
    assert (report.evaluated, report.amounts["dibao_monthly"].delta, report.top[0].household_id) == (1, 8, "CS-1")


def test_identical_packs_have_an_empty_diff_and_no_impact(pack, tmp_path):
    same = variant(tmp_path, [])
    diff = diff_packs(pack, same)
    assert diff.empty and diff.affected_counties == () and affected_counties(pack, same) == set()
    population = list(synth_households([PINGJIANG, XINHUA], 40, seed=9, as_of=AS_OF))
    report = impact(pack, same, population, AS_OF)
    assert (report.evaluated, report.skipped, report.changed, report.outputs, report.top) == (0, 40, 0, {}, ())
    assert all((a.delta, a.up, a.down, a.unchanged) == (0, 0, 0, 40) for a in report.amounts.values())
    assert all((f.gained, f.lost) == (0, 0) and f.old == f.new for f in report.flags.values())
    assert report.amounts["dibao_monthly"].old == report.amounts["dibao_monthly"].new > 0


def test_declaration_variable_and_output_changes_are_listed(pack, tmp_path):
    edited = variant(tmp_path, [
        ("parameters.yaml", "label: {zh: 国家扶贫标准, en: National poverty line}",
         "label: {zh: 国家扶贫标准（两线合一）, en: National poverty line}"),
        ("rules/60-review.yaml", "review_action: {type: str, default: none,",
         "review_action: {type: str, default: pending,"),
        ("pack.yaml", "  annual_review_due: annual_review_due\n",
         "  annual_review_due: annual_review_due\n  review_due: annual_review_due\n"),
    ])
    diff = diff_packs(pack, edited)
    (declaration,) = diff.declarations
    assert (declaration.key, declaration.fields, declaration.new["label"]["zh"]) == (
        "national_poverty_line", ("label",), "国家扶贫标准（两线合一）")
    (variable,) = diff.variables
    assert (variable.key, variable.fields, variable.old, variable.new) == (
        "review_action", ("default",), {"default": "none"}, {"default": "pending"})
    (output,) = diff.outputs
    assert (output.key, output.change, output.old, output.new) == (
        "review_due", "added", None, {"source": "annual_review_due"})
    assert diff.affected_counties is None


def test_bad_arguments_are_refused(pack):
    with pytest.raises(ValueError, match="chunk"):
        impact(pack, pack, [], AS_OF, chunk=0)


def test_tables_and_bands_show_whole_with_no_delta(pack, tmp_path):
    edited = variant(tmp_path, [
        ("values/433124-花垣县.yaml", "severe: 4}", "severe: 5}"),
        ("values/430000-湖南省.yaml", "{upto: 20000, rate: 0.60}", "{upto: 20000, rate: 0.65}"),
    ])
    bands, table = diff_packs(pack, edited).parameters
    assert (bands.parameter, bands.delta, bands.percent) == ("medical_bands", None, None)
    assert bands.new == [{"upto": 5000, "rate": Decimal("0.5")}, {"upto": 20000, "rate": Decimal("0.65")},
                         {"rate": Decimal("0.7")}]
    assert (table.jurisdiction, table.parameter, table.delta) == ("433124", "temporary_multiples", None)
    assert table.old == {"minor": 1, "moderate": 2, "severe": 4}
    assert table.new == {"minor": 1, "moderate": 2, "severe": 5}
    assert json.loads(diff_packs(pack, edited).to_json())["parameters"][0]["new"][1] == {"upto": 20000, "rate": 0.65}
