"""engine/checks.py on the shipped pack changed in memory (no reload): each kind of declared limit at, below
and above its bound, ``of: root`` / ``parent`` / ``self``, levels, tables, the jurisdiction tree, value ranges,
who may set a parameter, and the warnings. Fast on purpose: the mutation run (docs/mutation.md) runs it for
every mutant, without conftest."""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
from pathlib import Path

import pytest

from engine import checks
from engine.load import convert_value, load_files, read_files
from engine.model import Bound, DatedValue, Jurisdiction

HUNAN = Path(__file__).resolve().parent.parent / "rules" / "hunan"
XINHUA, CHANGSHA_COUNTY, CHANGSHA, ROOT = "431322", "430121", "430100", "430000"
RATIO = "湘民发〔2017〕33号 二（三）"


@pytest.fixture(scope="module")
def hunan():
    """The shipped pack, loaded once for the module; tests change copies of it with ``dataclasses.replace``."""
    return load_files(read_files(HUNAN))


def valued(pack, *entries):
    """``pack`` with more dated values: (parameter, jurisdiction, from, value) each, ``inherit`` for inherit."""
    extra = tuple(DatedValue(p, code, dt.date.fromisoformat(start), None if value == "inherit" else
                             convert_value(pack.parameters[p].type, value) if p in pack.parameters else value,
                             value == "inherit", "测试", None, "values/test.yaml", 100 + i)
                  for i, (p, code, start, value) in enumerate(entries))
    return dc.replace(pack, values=pack.values + extra)


def declared(pack, name, **changes):
    """``pack`` with parameter ``name`` declared otherwise."""
    return dc.replace(pack, parameters=pack.parameters | {name: dc.replace(pack.parameters[name], **changes)})


def breaches(pack, parameter=None):
    return [(p.details["jurisdiction"], p.details["parameter"], p.details.get("key"), p.details["value"],
             p.details["bound"], p.details["limit"], p.details["start"], p.details["end"])
            for p in checks.check_constraints(pack) if parameter in (None, p.details["parameter"])]


def messages(problems):
    return [p.message for p in problems]


def test_the_shipped_pack_breaks_nothing_and_warns_of_nothing(hunan):
    assert checks.check_pack(hunan) == [] and checks.check_warnings(hunan) == []


# -- constants: at_least, at_most, fixed, dates ----------------------------------------------------

@pytest.mark.parametrize("value, refused", [(0.69, True), (0.70, False), (0.71, False)])
def test_at_least_a_constant_at_below_and_above(hunan, value, refused):
    found = breaches(valued(hunan, ("major_disease_ratio", XINHUA, "2019-01-01", value)))
    assert found == ([(XINHUA, "major_disease_ratio", None, f"{value:.2f}", "0.70", "at_least", "2019-01-01", None)]
                     if refused else [])


def test_a_constant_binds_the_root_and_names_the_span_up_to_the_next_own_value(hunan):
    pack = valued(hunan, ("major_disease_ratio", ROOT, "2019-01-01", 0.6),
                  ("major_disease_ratio", ROOT, "2020-01-01", 0.7))
    [problem] = checks.check_constraints(pack)
    assert problem.message == ("430000 湖南省, Medical assistance ratio for the nine major diseases: "
                               "major_disease_ratio 0.60 from 2019-01-01 – 2019-12-31 is below 0.70 (" + RATIO + ")")
    assert problem.message_zh == ("430000 湖南省：2019-01-01 至 2019-12-31 的九种大病医疗救助比例"
                                  "（major_disease_ratio）为 0.60，低于 0.70（" + RATIO + "）")
    assert (problem.file, problem.line, problem.path) == ("values/test.yaml", 100, "values.major_disease_ratio")
    assert problem.details["reference"] == RATIO and problem.details["bound_parameter"] is None


@pytest.mark.parametrize("value, refused", [(364, False), (365, False), (366, True)])
def test_at_most_a_constant_at_below_and_above(hunan, value, refused):
    found = breaches(valued(hunan, ("review_interval_days", XINHUA, "2019-01-01", value)))
    assert found == ([(XINHUA, "review_interval_days", None, "366", "365", "at_most", "2019-01-01", None)]
                     if refused else [])
    if refused:
        assert "is above 365" in checks.check_constraints(valued(
            hunan, ("review_interval_days", XINHUA, "2019-01-01", value)))[0].message


@pytest.mark.parametrize("value, refused", [("2019-12-30", False), ("2019-12-31", False), ("2020-01-01", True)])
def test_at_most_a_date_at_before_and_after(hunan, value, refused):
    problems = checks.check_constraints(valued(hunan, ("housing_deadline", XINHUA, "2019-01-01", value)))
    assert [p.details["value"] for p in problems] == ([value] if refused else [])
    if refused:
        assert "is later than 2019-12-31" in problems[0].message and "晚于 2019-12-31" in problems[0].message_zh


def test_at_least_a_date_says_earlier(hunan):
    bound = Bound(None, "self", "测试", "2019-06-30")
    pack = declared(hunan, "housing_deadline", at_least=(bound,))
    [problem] = checks.check_constraints(valued(pack, ("housing_deadline", XINHUA, "2019-01-01", "2019-06-29")))
    assert "is earlier than 2019-06-30" in problem.message and "早于" in problem.message_zh
    assert checks.check_constraints(valued(pack, ("housing_deadline", XINHUA, "2019-01-01", "2019-06-30"))) == []


@pytest.mark.parametrize("value, refused", [(0.49, True), (0.5, False), (0.51, True)])
def test_a_fixed_value_below_at_and_above(hunan, value, refused):
    problems = checks.check_constraints(valued(hunan, ("premium_local_finance_share", ROOT, "2019-01-01", value)))
    assert [(p.details["limit"], p.details["value"], p.details["bound"]) for p in problems] == \
        ([("fixed", f"{value:.2f}", "0.50")] if refused else [])
    if refused:
        assert f"must be 0.50, not {value:.2f}, from 2019-01-01 – onwards" in problems[0].message
        assert f"为 {value:.2f}，应为 0.50" in problems[0].message_zh


def test_a_fixed_value_of_the_wrong_type_is_a_declaration_error_not_a_limit(hunan):
    pack = declared(hunan, "premium_local_finance_share", fixed="half")
    assert checks.check_constraints(pack) == []
    [problem] = checks.check_pack(pack)
    assert problem.path == "parameters.premium_local_finance_share.fixed" and "fixed" in problem.message


# -- bounds of another parameter: of root, parent, self; levels; tables ---------------------------

def test_at_least_the_root_value_at_below_and_above(hunan):
    assert breaches(valued(hunan, ("dibao_standard", XINHUA, "2019-07-01", 3960)), "dibao_standard") == []
    assert breaches(valued(hunan, ("dibao_standard", XINHUA, "2019-07-01", 3961)), "dibao_standard") == []
    found = breaches(valued(hunan, ("dibao_standard", XINHUA, "2019-07-01", 3959)), "dibao_standard")
    assert (XINHUA, "dibao_standard", None, "3959", "3960", "at_least", "2019-07-01", None) in found


def test_a_root_change_cuts_the_span_of_a_county_value(hunan):
    pack = valued(hunan, ("dibao_standard", XINHUA, "2019-07-01", 4000), ("dibao_standard", ROOT, "2020-01-01", 4100),
                  ("dibao_standard", ROOT, "2021-01-01", 3900))
    found = [p for p in checks.check_constraints(pack) if p.details["bound_parameter"] == "dibao_standard"]
    assert sorted(p.details["jurisdiction"] for p in found) == ["430822", XINHUA, "433124"]  # 3960, 4000, 4000
    [problem] = [p for p in found if p.details["jurisdiction"] == XINHUA]
    assert (problem.details["start"], problem.details["end"], problem.details["bound"]) == \
        ("2020-01-01", "2020-12-31", "4100")
    assert "dibao_standard 4100 of 430000 湖南省" in problem.message
    assert "湖南省的农村低保标准（dibao_standard） 4100" in problem.message_zh


def test_of_parent_binds_a_county_to_its_city_and_a_city_to_the_province_but_not_the_root(hunan):
    parent = Bound("dibao_standard", "parent", "测试")
    pack = declared(hunan, "dibao_standard", at_least=hunan.parameters["dibao_standard"].at_least + (parent,))
    assert breaches(pack) == []
    county = valued(pack, ("dibao_standard", CHANGSHA_COUNTY, "2019-07-01", 5399))
    found = [p for p in checks.check_constraints(county) if p.details["bound"] == "5400"]
    assert [(p.details["jurisdiction"], p.details["value"]) for p in found] == [(CHANGSHA_COUNTY, "5399")]
    assert "of 430100 长沙市" in found[0].message
    assert [p for p in checks.check_constraints(valued(pack, ("dibao_standard", CHANGSHA_COUNTY, "2019-07-01",
                                                              5400)))] == []


def test_at_most_another_parameter_at_and_above(hunan):
    cap = Bound("dibao_standard", "self", "测试")
    pack = declared(hunan, "national_poverty_line", at_most=(cap,))
    assert breaches(pack) == []
    assert breaches(valued(pack, ("national_poverty_line", ROOT, "2019-07-01", 3960))) == []
    found = breaches(valued(pack, ("national_poverty_line", ROOT, "2019-07-01", 3961)), "national_poverty_line")
    assert found == [(ROOT, "national_poverty_line", None, "3961", "3960", "at_most", "2019-07-01", None)]


def test_a_bound_for_some_levels_leaves_the_others_free(hunan):
    only = Bound(None, "self", "测试", 0.8, ("county",))
    pack = declared(hunan, "major_disease_ratio", at_least=(only,))
    assert [b[0] for b in breaches(pack)] == []  # no county sets it
    found = breaches(valued(pack, ("major_disease_ratio", XINHUA, "2019-01-01", 0.75)))
    assert [b[0] for b in found] == [XINHUA]
    assert breaches(valued(pack, ("major_disease_ratio", ROOT, "2019-01-01", 0.75))) == []


def test_tables_entry_by_entry_and_a_missing_entry(hunan):
    lower = valued(hunan, ("temporary_multiples", XINHUA, "2019-01-01", {"minor": 1, "moderate": 1.5, "severe": 3}))
    assert [(b[2], b[3], b[4]) for b in breaches(lower)] == [("moderate", "1.50", "2")]
    missing = valued(hunan, ("temporary_multiples", XINHUA, "2019-01-01", {"minor": 1, "severe": 3}))
    [problem] = checks.check_constraints(missing)
    assert (problem.details["key"], problem.details["value"]) == ("moderate", "—")
    assert "temporary_multiples[moderate]" in problem.message
    raised = valued(hunan, ("temporary_multiples", XINHUA, "2019-01-01", {"minor": 1, "moderate": 2, "severe": 4}))
    assert breaches(raised) == []


def test_a_table_against_a_constant(hunan):
    pack = declared(hunan, "temporary_multiples", at_least=(Bound(None, "self", "测试", 2),))
    assert sorted((b[0], b[2]) for b in breaches(pack)) == [(ROOT, "minor"), ("433124", "minor")]


def test_only_the_jurisdictions_asked_are_checked(hunan):
    pack = valued(hunan, ("major_disease_ratio", XINHUA, "2019-01-01", 0.5))
    assert checks.check_constraints(pack, [CHANGSHA]) == []
    assert len(checks.check_constraints(pack, [XINHUA])) == 1


def test_an_inherited_value_is_not_reported_again_at_the_heir(hunan):
    pack = valued(hunan, ("major_disease_ratio", ROOT, "2019-01-01", 0.5), ("major_disease_ratio", XINHUA,
                                                                          "2019-06-01", "inherit"))
    assert [b[0] for b in breaches(pack)] == [ROOT]


# -- the jurisdiction tree ------------------------------------------------------------------------

def _tree(pack, *changed, root=None):
    js = dict(pack.jurisdictions) | {j.code: j for j in changed}
    return dc.replace(pack, jurisdictions=js, root=root or pack.root)


def test_a_root_that_is_not_a_province_or_not_in_the_tree_is_refused(hunan):
    for root in (CHANGSHA, "990000"):
        problems = checks.check_pack(_tree(hunan, root=root))
        assert [p.path for p in problems][:1] == ["root"]
        assert f"the pack's root {root} is not a province" in problems[0].message
        assert f"根行政区划 {root} 不在行政区划表中或不是省级" == problems[0].message_zh


def test_a_province_with_a_parent_is_refused_and_limits_are_not_walked(hunan):
    pack = valued(_tree(hunan, Jurisdiction(ROOT, "湖南省", "province", "990000")),
                  ("major_disease_ratio", XINHUA, "2019-01-01", 0.5))
    assert messages(checks.check_pack(pack)) == ["province 430000 cannot have a parent"]


@pytest.mark.parametrize("level, parent, expected", [("county", ROOT, "city"), ("city", XINHUA, "province"),
                                                     ("county", None, "city"), ("county", "999999", "city")])
def test_a_division_needs_a_parent_one_level_up(hunan, level, parent, expected):
    pack = _tree(hunan, Jurisdiction("431399", "测试县", level, parent))
    assert messages(checks.check_pack(pack)) == [f"431399 测试县: a {level} needs a {expected} as parent "
                                                 f"(found {parent!r})"]


def test_a_well_formed_new_county_is_accepted(hunan):
    assert checks.check_pack(_tree(hunan, Jurisdiction("431399", "测试县", "county", "431300"))) == []


# -- values: unknown names, who sets them, inherit, minimum and maximum ---------------------------

def test_an_unknown_parameter_is_refused_with_the_closest_name(hunan):
    [problem] = checks.check_pack(valued(hunan, ("dibao_standrd", XINHUA, "2019-01-01", 4000)))
    assert problem.message == "unknown parameter 'dibao_standrd'; did you mean 'dibao_standard'?"
    assert (problem.file, problem.line, problem.path) == ("values/test.yaml", 100, "values.dibao_standrd")


def test_a_value_of_an_unknown_jurisdiction_is_left_to_the_loader(hunan):
    assert checks.check_pack(valued(hunan, ("review_interval_days", "999999", "2019-01-01", 300))) == []
    after = valued(hunan, ("review_interval_days", "999999", "2019-01-01", 300),
                   ("review_interval_days", ROOT, "2019-01-01", "inherit"))
    assert [p.path for p in checks.check_pack(after)] == ["values.review_interval_days"]  # the next is checked


def test_a_county_may_not_set_a_province_only_parameter(hunan):
    problems = checks.check_pack(valued(hunan, ("premium_local_finance_share", XINHUA, "2019-01-01", 0.5)))
    assert [p.message.split(":")[0] for p in problems] == [
        "premium_local_finance_share can only be set by province, not by 431322 新化县 (county)"]
    assert problems[0].message_zh.startswith("premium_local_finance_share 只能由省级设定，431322 新化县不能设定")


def test_the_root_cannot_inherit_and_a_county_can(hunan):
    problems = checks.check_pack(valued(hunan, ("review_interval_days", ROOT, "2019-01-01", "inherit")))
    assert messages(problems) == ["review_interval_days: the root jurisdiction has nothing to inherit from"]
    assert checks.check_pack(valued(hunan, ("review_interval_days", XINHUA, "2019-01-01", "inherit"))) == []


@pytest.mark.parametrize("value, word", [(-0.01, "below its minimum 0"), (0, None), (1, None),
                                         (1.01, "above its maximum 1")])
def test_minimum_and_maximum_at_and_beyond(hunan, value, word):
    pack = declared(hunan, "major_disease_ratio", at_least=())
    problems = checks.check_pack(valued(pack, ("major_disease_ratio", XINHUA, "2019-01-01", value)))
    assert [word in p.message and "431322 新化县" in p.message for p in problems] == ([True] if word else [])
    if word:
        assert ("低于下限 0" if value < 0 else "高于上限 1") in problems[0].message_zh


# -- declarations that cannot be checked ------------------------------------------------------------

@pytest.mark.parametrize("name, bound, words", [
    ("dibao_standard", Bound("dibao_standrd", "root", "x"), "names unknown parameter 'dibao_standrd'; did you "
                                                              "mean 'dibao_standard'?"),
    ("dibao_standard", Bound("housing_deadline", "root", "x"), "compares money with 'housing_deadline' (date)"),
    ("major_diseases", Bound(None, "self", "x", 1), "does not apply to list values"),
    ("housing_deadline", Bound(None, "self", "x", "soon"), "value: "),
    ("review_interval_days", Bound(None, "self", "x", "many"), "value: "),
])
def test_a_bound_that_cannot_be_checked_is_refused_and_not_applied(hunan, name, bound, words):
    pack = declared(hunan, name, at_most=(bound,))
    [problem] = checks.check_pack(pack)
    assert problem.message.startswith(f"parameter '{name}': at_most {words}")
    assert problem.path == f"parameters.{name}.at_most" and problem.message_zh.startswith(f"参数 '{name}' 的上限")
    assert checks.check_constraints(pack) == []
    lower = declared(hunan, name, at_least=(bound,))
    assert checks.check_pack(lower)[0].message_zh.startswith(f"参数 '{name}' 的下限")


def test_a_table_may_be_bound_by_a_number_parameter(hunan):
    pack = declared(hunan, "temporary_multiples", at_least=(Bound("temporary_cap_multiple", "self", "x"),))
    found = checks.check_pack(pack)
    assert sorted((p.details["jurisdiction"], p.details["key"], p.details["bound"]) for p in found) == \
        [(j, k, "12") for j in (ROOT, "433124") for k in ("minor", "moderate", "severe")]
    assert "temporary_multiples[moderate] 2 from 2017-01-01 – onwards is below temporary_cap_multiple 12" \
        in found[1].message


# -- warnings ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, word", [(7920, None), (7921, "more than twice"), (1980, None),
                                         (1979, "less than half")])
def test_a_value_beyond_twice_or_half_the_one_before_is_warned(hunan, value, word):
    pack = declared(valued(hunan, ("dibao_standard", XINHUA, "2019-07-01", value)), "dibao_standard", at_least=())
    warnings = checks.check_warnings(pack)
    assert [(w.details["value"], w.details["previous"], w.details["start"]) for w in warnings] == \
        ([(str(value), "3960", "2019-07-01")] if word else [])
    if word:
        assert warnings[0].message == (f"431322 新化县, Rural dibao standard: dibao_standard {value} from 2019-07-01 "
                                       f"is {word} the value in force before it, 3960; check it is not a typo "
                                       f"(湘民发〔2017〕33号 二（二）)")
        assert ("超过" if value > 3960 else "不到") in warnings[0].message_zh
        assert ("的两倍" if value > 3960 else "的一半") in warnings[0].message_zh
        assert (warnings[0].file, warnings[0].line) == ("values/test.yaml", 100)


def test_a_table_is_warned_entry_by_entry_and_what_has_nothing_before_is_not(hunan):
    table = ("temporary_multiples", XINHUA, "2019-01-01", {"minor": 1, "moderate": 5, "severe": 3})
    [warning] = checks.check_warnings(valued(hunan, table))
    assert (warning.details["key"], warning.details["value"]) == ("moderate", "5")
    assert "temporary_multiples[moderate] 5" in warning.message
    assert checks.check_warnings(valued(hunan, ("review_interval_days", ROOT, "2016-01-01", 300))) == []
    assert checks.check_warnings(valued(hunan, ("housing_deadline", XINHUA, "2019-01-01", "2017-01-01"))) == []
    assert checks.check_warnings(valued(hunan, ("review_interval_days", XINHUA, "2019-01-01", "inherit"))) == []


def test_nothing_before_or_a_zero_before_is_not_a_jump(hunan):
    zero = valued(hunan, ("township_approval_limit", XINHUA, "2019-01-01", 0),
                  ("township_approval_limit", XINHUA, "2019-06-01", 5000))
    assert [w.details["start"] for w in checks.check_warnings(zero)] == ["2019-01-01"]  # 1000 → 0, then 0 → 5000
    assert checks.check_warnings(valued(hunan, ("review_interval_days", "999999", "2019-01-01", 10))) == []


def test_values_are_shown_as_an_officer_wrote_them():
    assert [checks._shown(v) for v in (None, dt.date(2019, 12, 31), {"a": 1, "b": None}, True, False, "x",
                                       [1, "y"], (2,), 0.5)] == \
        ["—", "2019-12-31", "a: 1, b: —", "true", "false", "x", "1, y", "2", "0.50"]


# -- survivors of the mutation run (docs/mutation.md) -------------------------------------------------

def test_a_breach_points_at_the_line_of_the_entry_that_set_it_not_a_later_one(hunan):
    pack = valued(hunan, ("major_disease_ratio", XINHUA, "2020-01-01", 0.8),
                  ("major_disease_ratio", XINHUA, "2019-01-01", 0.5))
    [problem] = checks.check_constraints(pack)
    assert (problem.details["start"], problem.details["end"], problem.line) == ("2019-01-01", "2019-12-31", 101)


def test_the_jump_compares_with_the_value_in_force_the_day_before(hunan):
    pack = valued(hunan, ("dibao_standard", XINHUA, "2019-06-01", 4000), ("dibao_standard", XINHUA, "2019-06-02", 8001))
    [warning] = checks.check_warnings(pack)
    assert (warning.details["start"], warning.details["previous"]) == ("2019-06-02", "4000")


def test_half_of_an_odd_value_is_not_rounded_down(hunan):
    pack = valued(hunan, ("dibao_standard", XINHUA, "2019-06-01", 3961), ("dibao_standard", XINHUA, "2019-07-01", 1980))
    assert [(w.details["value"], w.details["previous"]) for w in checks.check_warnings(pack)] == [("1980", "3961")]


def test_whole_numbers_money_and_rates_compare_with_each_other(hunan):
    pack = declared(hunan, "review_interval_days", at_most=(Bound("major_disease_ratio", "self", "测试"),))
    assert {p.path for p in checks.check_pack(pack)} == {"values.review_interval_days"}  # breaches, not errors


def test_the_messages_of_each_kind_of_limit_word_for_word(hunan):
    [above] = checks.check_constraints(valued(hunan, ("review_interval_days", XINHUA, "2019-01-01", 366)))
    assert above.message == ("431322 新化县, Annual review interval: review_interval_days 366 from 2019-01-01 – "
                             "onwards is above 365 (湘民发〔2017〕33号 二（一）)")
    lower = valued(hunan, ("temporary_multiples", XINHUA, "2019-01-01", {"minor": 1, "moderate": 1.5, "severe": 3}))
    [table] = checks.check_constraints(lower)
    assert "temporary_multiples[moderate] 1.50 from 2019-01-01 – onwards is below temporary_multiples[moderate] 2 " \
           "of 430000 湖南省" in table.message
    assert "低于湖南省的临时救助倍数（按困难程度）（temporary_multiples[moderate]） 2" in table.message_zh


def test_a_fixed_date(hunan):
    pack = declared(hunan, "housing_deadline", fixed="2019-12-31", at_most=())
    assert checks.check_constraints(pack) == []
    [problem] = checks.check_constraints(valued(pack, ("housing_deadline", XINHUA, "2019-01-01", "2019-06-30")))
    assert "housing_deadline must be 2019-12-31, not 2019-06-30, from 2019-01-01 – onwards" in problem.message
    assert "为 2019-06-30，应为 2019-12-31" in problem.message_zh


def test_a_value_set_at_the_wrong_level_is_named_with_its_label_in_chinese(hunan):
    [problem] = checks.check_pack(valued(hunan, ("premium_local_finance_share", XINHUA, "2019-01-01", 0.5)))
    assert problem.message_zh == ("premium_local_finance_share 只能由省级设定，431322 新化县不能设定"
                                  "2019-01-01 起的资助参保地方财政负担比例（premium_local_finance_share）"
                                  "（湘民发〔2017〕33号 二（三））")


def test_types_compare_by_value_and_a_date_is_never_bound_by_a_number(hunan):
    rebuilt = declared(hunan, "national_poverty_line", type="".join(["mon", "ey"]))
    assert checks.check_pack(rebuilt) == []
    pack = declared(hunan, "housing_deadline", at_most=(Bound("review_interval_days", "self", "测试"),))
    [problem] = checks.check_pack(pack)
    assert problem.message == "parameter 'housing_deadline': at_most compares date with 'review_interval_days' (int)"


def test_every_unknown_parameter_is_reported(hunan):
    pack = valued(hunan, ("dibao_standrd", XINHUA, "2019-01-01", 4000), ("review_intervl", XINHUA, "2019-01-01", 1))
    assert [p.path for p in checks.check_pack(pack)] == ["values.dibao_standrd", "values.review_intervl"]


def test_a_whole_number_may_be_bound_by_a_fraction(hunan):
    pack = declared(hunan, "review_interval_days", at_most=(Bound(None, "self", "测试", 365.5),))
    assert breaches(pack) == []
    found = breaches(valued(pack, ("review_interval_days", XINHUA, "2019-01-01", 366)))
    assert found == [(XINHUA, "review_interval_days", None, "366", "365.50", "at_most", "2019-01-01", None)]


def test_the_last_of_hundreds_of_dated_values_runs_onwards(hunan):
    days = [(dt.date(2019, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(300)]
    pack = valued(hunan, *[("review_interval_days", XINHUA, day, 300 + i % 2) for i, day in enumerate(days[:-1])],
                  ("review_interval_days", XINHUA, days[-1], 366))
    assert breaches(pack) == [(XINHUA, "review_interval_days", None, "366", "365", "at_most", days[-1], None)]


def test_a_bound_that_cannot_be_checked_is_explained_in_chinese(hunan):
    pack = declared(hunan, "dibao_standard", at_most=(Bound("dibao_standrd", "root", "x"),))
    assert checks.check_pack(pack)[0].message_zh == "参数 'dibao_standard' 的上限引用了未定义的参数 'dibao_standrd'"


def test_a_value_from_before_its_bound_exists_is_checked_once_the_bound_is_set(hunan):
    pack = valued(hunan, ("dibao_standard", XINHUA, "2016-06-01", 3000))
    found = breaches(pack, "dibao_standard")
    assert (XINHUA, "dibao_standard", None, "3000", "3360", "at_least", "2017-01-01", "2017-12-31") in found
    assert not [b for b in found if b[6] < "2017-01-01"]  # nothing to compare with before 2017


def test_a_breach_points_at_its_own_jurisdictions_entry_among_others_of_the_same_day(hunan):
    pack = valued(hunan, ("major_disease_ratio", "433124", "2019-01-01", 0.8),
                  ("major_disease_ratio", ROOT, "2019-01-01", 0.8), ("major_disease_ratio", XINHUA, "2019-01-01", 0.5))
    assert [(p.details["jurisdiction"], p.line) for p in checks.check_constraints(pack)] == [(XINHUA, 102)]


def test_a_table_bound_by_a_whole_number_names_the_number_without_a_key(hunan):
    pack = declared(hunan, "temporary_multiples", at_least=(Bound("temporary_window_days", "root", "x"),))
    problem = checks.check_constraints(pack)[0]
    assert "temporary_multiples[minor] 1 from 2017-01-01 – onwards is below temporary_window_days 90 of 430000" \
        in problem.message


def test_types_of_two_parameters_compare_by_value(hunan):
    housing = hunan.parameters["housing_deadline"]
    twin = dc.replace(housing, name="housing_deadline_b", type="".join(["da", "te"]))
    pack = declared(dc.replace(hunan, parameters=hunan.parameters | {twin.name: twin}), "housing_deadline",
                    at_most=(Bound("housing_deadline_b", "root", "x"),))
    assert checks.check_pack(pack) == []


def test_an_inherited_breach_is_reported_at_its_source_whatever_the_codes(hunan):
    odd = _tree(hunan, Jurisdiction("430199", "测试县", "county", "431300"))  # a parent with a larger code
    pack = valued(odd, ("major_disease_ratio", "430199", "2018-01-01", 0.8),
                  ("major_disease_ratio", "430199", "2019-01-01", "inherit"),
                  ("major_disease_ratio", "431300", "2019-01-01", 0.5))
    assert [b[0] for b in breaches(pack)] == ["431300"]


def test_jumps_of_rates_below_one_are_warned_and_negative_values_are_not_compared(hunan):
    [rate] = checks.check_warnings(valued(hunan, ("major_disease_ratio", XINHUA, "2019-01-01", 0.3)))
    assert (rate.details["value"], rate.details["previous"]) == ("0.30", "0.70")
    free = declared(hunan, "township_approval_limit", minimum=None)
    negative = valued(free, ("township_approval_limit", XINHUA, "2019-01-01", -10),
                      ("township_approval_limit", XINHUA, "2019-06-01", 5))
    assert [w.details["start"] for w in checks.check_warnings(negative)] == ["2019-01-01"]  # 1000 → −10 only
