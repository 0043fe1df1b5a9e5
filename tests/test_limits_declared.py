"""Declared limits (rules/README.md, "Limits on every date"): each kind at, below and above its bound, the
root bound or not, ``of: parent``, tables entry by entry, the issue's breaches and allowed changes through
``doudi validate``, and the warning on a value far from the one before it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import HUNAN

from doudi.cli import cli
from engine import RulePackError
from engine.load import load_files, read_files

PROVINCE = "values/430000-湖南省.yaml"
XINHUA = "values/431322-新化县.yaml"  # 431322 新化县, in 娄底市 431300
CHANGSHA_COUNTY = "values/430121-长沙县.yaml"  # 430121 长沙县, in 长沙市 430100
CLAUSE = "湘民发〔2017〕33号 "


@pytest.fixture(scope="module")
def shipped() -> dict[str, str]:
    return read_files(HUNAN)


def _with(files: dict[str, str], file: str, old: str, new: str) -> dict[str, str]:
    assert files[file].count(old) == 1, f"{old!r} must occur once in {file}"
    return files | {file: files[file].replace(old, new)}


def _county(files: dict[str, str], parameter: str, value: str, file: str = XINHUA, start: str = "2019-01-01"):
    """The pack with one more dated value in a jurisdiction's file (as the editor writes one)."""
    entry = f"    - {{from: {start}, value: {value}, document: 新政发〔2019〕9号}}\n"
    head = f"  {parameter}:\n"
    text = files[file]
    if head in text:  # after the parameter's existing entries
        at = text.index(head) + len(head)
        while text.startswith("    ", at):
            at = text.index("\n", at) + 1
        return files | {file: text[:at] + entry + text[at:]}
    return files | {file: text + head + entry}


def _declare(files: dict[str, str], parameter: str, lines: str) -> dict[str, str]:
    """The pack with more declaration lines after ``parameter``'s ``type:`` line."""
    text = files["parameters.yaml"]
    head = f"  {parameter}:\n"
    at = text.index("    type:", text.index(head))
    end = text.index("\n", at) + 1
    return files | {"parameters.yaml": text[:end] + lines + text[end:]}


def _refused(files: dict[str, str]) -> list:
    with pytest.raises(RulePackError) as info:
        load_files(files)
    return info.value.problems


def _only(problems: list, parameter: str):
    found = [p for p in problems if p.details.get("parameter") == parameter]
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def _says(problem, *words: str) -> None:
    for word in words:
        assert word in problem.message or word in problem.message_zh, (word, problem.message, problem.message_zh)


def test_the_shipped_pack_keeps_every_declared_limit_and_raises_no_warning(shipped):
    pack = load_files(shipped)
    assert pack.warnings == ()
    declared = pack.parameters
    assert declared["premium_local_finance_share"].fixed == 0.5
    assert declared["premium_local_finance_share"].set_by == ("province",)
    assert [b.value for b in declared["major_disease_ratio"].at_least] == [0.70]
    assert [str(b.value) for b in declared["housing_deadline"].at_most] == ["2019-12-31"]


# -- a constant lower bound: major_disease_ratio ≥ 0.70 at every level (二（三）) ------------------------------


@pytest.mark.parametrize("value", ["0.70", "0.8", "1"])
def test_a_county_may_keep_or_raise_the_major_disease_ratio(shipped, value):
    load_files(_county(shipped, "major_disease_ratio", value))


@pytest.mark.parametrize("value", ["0.69", "0.5"])
def test_a_county_below_the_major_disease_ratio_is_refused_in_both_languages(shipped, value):
    problem = _only(_refused(_county(shipped, "major_disease_ratio", value)), "major_disease_ratio")
    assert problem.file == XINHUA and problem.details["limit"] == "at_least"
    assert problem.details["bound"] == "0.70" and problem.details["jurisdiction"] == "431322"
    _says(problem, "431322 新化县", "Medical assistance ratio for the nine major diseases", "is below 0.70",
          "2019-01-01 – onwards", CLAUSE + "二（三）")
    assert "九种大病医疗救助比例" in problem.message_zh and "低于 0.70" in problem.message_zh
    assert "2019-01-01 至 今后" in problem.message_zh


def test_the_province_itself_is_bound_by_a_constant(shipped):
    files = _with(shipped, PROVINCE, "{from: 2017-01-01, value: 0.70, document",
                  "{from: 2017-01-01, value: 0.60, document")
    problem = _only(_refused(files), "major_disease_ratio")
    _says(problem, "430000 湖南省", "0.60", "2017-01-01 – onwards")


# -- a constant upper bound: review_interval_days ≤ 365 (二（一）) ---------------------------------------------


@pytest.mark.parametrize("value", ["365", "182", "1"])
def test_a_county_may_review_more_often(shipped, value):
    load_files(_county(shipped, "review_interval_days", value))


@pytest.mark.parametrize("value", ["366", "1000"])
def test_a_review_interval_over_a_year_is_refused(shipped, value):
    problem = _only(_refused(_county(shipped, "review_interval_days", value)), "review_interval_days")
    assert problem.details["limit"] == "at_most" and problem.details["value"] == value
    _says(problem, "431322 新化县", "Annual review interval", f"{value} from 2019-01-01", "is above 365",
          CLAUSE + "二（一）", "年度审核间隔", "高于 365")


# -- a date: housing_deadline no later than 2019-12-31 (二（五）) -----------------------------------------------


@pytest.mark.parametrize("value", ['"2019-12-31"', '"2019-06-30"'])
def test_a_county_may_keep_or_advance_the_housing_deadline(shipped, value):
    load_files(_county(shipped, "housing_deadline", value))


@pytest.mark.parametrize("value", ['"2020-01-01"', '"2022-12-31"'])
def test_a_later_housing_deadline_is_refused_at_any_level(shipped, value):
    problem = _only(_refused(_county(shipped, "housing_deadline", value)), "housing_deadline")
    _says(problem, "431322 新化县", "is later than 2019-12-31", value.strip('"'), CLAUSE + "二（五）",
          "晚于 2019-12-31", "兜底保障家庭危房改造完成期限")
    province = _with(shipped, PROVINCE, 'value: "2019-12-31"', f"value: {value}")
    _says(_only(_refused(province), "housing_deadline"), "430000 湖南省", "is later than 2019-12-31")


# -- a fixed value set by the province only: premium_local_finance_share = 0.5 (二（三）) -----------------------


@pytest.mark.parametrize("value", ["0.2", "0.8"])
def test_a_fixed_value_is_refused_below_and_above(shipped, value):
    files = _with(shipped, PROVINCE, "premium_local_finance_share:\n    - {from: 2017-01-01, value: 0.5,",
                  f"premium_local_finance_share:\n    - {{from: 2017-01-01, value: {value},")
    problem = _only(_refused(files), "premium_local_finance_share")
    assert problem.details["limit"] == "fixed"
    _says(problem, "430000 湖南省", "Local finance share of the premium subsidy", "must be 0.50", f"not {value}0",
          CLAUSE + "二（三）", "应为 0.50", "资助参保地方财政负担比例")


def test_a_county_may_not_set_a_province_only_parameter_even_to_its_fixed_value(shipped):
    problems = _refused(_county(shipped, "premium_local_finance_share", "0.5"))
    [problem] = problems
    _says(problem, "can only be set by province", "431322 新化县 (county)", CLAUSE + "二（三）", "只能由省级设定")
    load_files(_with(shipped, PROVINCE, "premium_local_finance_share:\n    - {from: 2017-01-01, value: 0.5,",
                     "premium_local_finance_share:\n    - {from: 2017-01-01, value: 0.50,"))


# -- another parameter of the root, the root included: 两线合一 (二（二）) ----------------------------------------


@pytest.mark.parametrize(("value", "ok"), [(3747, True), (3746, False), (3700, False), (3800, True)])
def test_the_provincial_standard_is_bound_by_the_national_poverty_line(shipped, value, ok):
    files = _with(shipped, PROVINCE, "{from: 2019-01-01, value: 3960, document: 湘民发",
                  f"{{from: 2019-01-01, value: {value}, document: 湘民发")
    if ok:
        load_files(files)
        return
    problem = _only(_refused(files), "dibao_standard")
    assert problem.file == PROVINCE and problem.details["bound_parameter"] == "national_poverty_line"
    _says(problem, "430000 湖南省", f"dibao_standard {value} from 2019-01-01", "below national_poverty_line 3747",
          CLAUSE + "二（二）", "低于湖南省的国家扶贫标准（national_poverty_line） 3747")


def test_an_inherited_breach_is_reported_once_at_the_jurisdiction_that_set_the_value(shipped):
    # 长沙市, 新化县 … have values of their own from 2018 only: in 2017 they inherit the province's 3300
    files = _with(shipped, PROVINCE, "{from: 2017-01-01, value: 3360,", "{from: 2017-01-01, value: 3300,")
    problem = _only(_refused(files), "dibao_standard")
    assert (problem.details["jurisdiction"], problem.details["start"], problem.details["end"]) == \
        ("430000", "2017-01-01", "2017-12-31")


def test_a_bound_restricted_to_levels_leaves_the_root_free(shipped):
    low = _with(shipped, PROVINCE, "{from: 2019-01-01, value: 3960, document: 湘民发",
                "{from: 2019-01-01, value: 3700, document: 湘民发")
    text = low["parameters.yaml"]
    line = "      - {parameter: national_poverty_line, of: root, reference: 湘民发〔2017〕33号 二（二）}\n"
    assert line in text
    free = low | {"parameters.yaml": text.replace(line, line[:-2] + ", levels: [city, county]}\n")}
    load_files(free)
    assert _only(_refused(low), "dibao_standard").details["jurisdiction"] == "430000"


def test_a_county_below_the_poverty_line_on_one_date_is_refused_for_that_span_only(shipped):
    files = _with(shipped, XINHUA, "value: 3720,", "value: 3530,")  # 2018: standard 3600, poverty line 3535
    problems = [p for p in _refused(files) if p.details.get("bound_parameter") == "national_poverty_line"]
    [problem] = problems
    assert (problem.details["start"], problem.details["end"]) == ("2018-01-01", "2018-12-31")


# -- of: parent, and an upper bound of another parameter --------------------------------------------------------


def test_of_parent_binds_a_county_to_the_value_in_force_at_its_city_and_skips_the_root(shipped):
    floor = _declare(shipped, "medical_annual_cap", "    at_least:\n"
                     "      - {parameter: medical_annual_cap, of: parent, reference: 示例条款}\n")
    load_files(floor)  # the province has no parent; 长沙县 50000 and 浏阳市 40000 ≥ 长沙市's (the province's) 30000
    at = load_files(_with(floor, CHANGSHA_COUNTY, "value: 50000,", "value: 30000,"))
    assert at.warnings == ()
    lower = _with(floor, CHANGSHA_COUNTY, "value: 50000,", "value: 29999,")
    problem = _only(_refused(lower), "medical_annual_cap")
    _says(problem, "430121 长沙县", "29999 from 2017-01-01", "is below medical_annual_cap 30000 of 430000 湖南省",
          "示例条款")


def test_of_parent_resolves_the_city_value_in_force(shipped):
    line = "      - {parameter: national_poverty_line, of: root, reference: 湘民发〔2017〕33号 二（二）}\n"
    files = _with(shipped, "parameters.yaml", line,
                  line + "      - {parameter: dibao_standard, of: parent, reference: 示例条款}\n")
    load_files(files)
    files = _with(files, CHANGSHA_COUNTY, "value: 6000,", "value: 5000,")  # 长沙市 4800, then 5400 from 2019
    problem = _only(_refused(files), "dibao_standard")
    assert (problem.details["start"], problem.details["end"]) == ("2019-01-01", None)
    _says(problem, "430121 长沙县", "is below dibao_standard 5400 of 430100 长沙市", "低于长沙市的农村低保标准")


@pytest.mark.parametrize(("cap", "ok"), [(30000, True), (29999, True), (30001, False)])
def test_at_most_another_parameter_of_the_root(shipped, cap, ok):
    files = _declare(shipped, "medical_annual_cap", "    at_most:\n"
                     "      - {parameter: medical_annual_cap, of: root, reference: 示例条款}\n")
    files = _with(files, CHANGSHA_COUNTY, "value: 50000,", f"value: {cap},")
    files = files | {"values/430181-浏阳市.yaml": files["values/430181-浏阳市.yaml"].replace("40000", "30000")}
    if ok:
        load_files(files)
        return
    problem = _only(_refused(files), "medical_annual_cap")
    assert problem.details["limit"] == "at_most"
    _says(problem, "430121 长沙县", f"{cap} from 2017-01-01", "is above medical_annual_cap 30000 of 430000 湖南省",
          "高于湖南省的医疗救助年度最高限额")


# -- tables entry by entry: temporary multiples and cap at a county ≥ the province's (二（六）) -------------------


@pytest.mark.parametrize("value", ["{minor: 1, moderate: 2, severe: 3}", "{minor: 1.5, moderate: 2, severe: 4}"])
def test_a_county_may_keep_or_raise_the_temporary_multiples(shipped, value):
    load_files(_county(shipped, "temporary_multiples", value))


def test_a_county_lowering_one_temporary_multiple_is_refused_for_that_entry(shipped):
    problems = _refused(_county(shipped, "temporary_multiples", "{minor: 0.5, moderate: 2, severe: 2}"))
    keys = sorted(p.details["key"] for p in problems)
    assert keys == ["minor", "severe"]
    severe = next(p for p in problems if p.details["key"] == "severe")
    _says(severe, "431322 新化县", "temporary_multiples[severe] 2 from 2019-01-01",
          "is below temporary_multiples[severe] 3 of 430000 湖南省", CLAUSE + "二（六）", "临时救助倍数（按困难程度）")


def test_a_county_missing_a_temporary_multiple_is_refused(shipped):
    problem = _only(_refused(_county(shipped, "temporary_multiples", "{minor: 1, moderate: 2}")),
                    "temporary_multiples")
    assert problem.details["key"] == "severe" and problem.details["value"] == "—"


@pytest.mark.parametrize(("value", "ok"), [("12", True), ("11.9", False), ("13", True)])
def test_the_temporary_cap_at_a_county(shipped, value, ok):
    files = _county(shipped, "temporary_cap_multiple", value)
    if ok:
        load_files(files)
    else:
        _says(_only(_refused(files), "temporary_cap_multiple"), "431322 新化县", "below temporary_cap_multiple 12")


# -- declarations that cannot be checked are refused ------------------------------------------------------------


@pytest.mark.parametrize(("parameter", "lines", "words"), [
    ("dibao_standard", "    at_most:\n      - {parameter: dibao_standrd, reference: x}\n",
     ("unknown parameter 'dibao_standrd'", "did you mean 'dibao_standard'")),
    ("dibao_standard", "    at_most:\n      - {value: 2019-12-31, reference: x}\n", ("expected a number",)),
    ("housing_deadline", "    at_least:\n      - {parameter: dibao_standard, reference: x}\n",
     ("compares date with 'dibao_standard' (money)",)),
    ("count_basic_pension", "    at_least:\n      - {value: 1, reference: x}\n", ("does not apply to bool",)),
    ("count_basic_pension", "    fixed: 3\n", ("fixed expected true or false",)),
    ("dibao_standard", "    at_most:\n      - {value: 1, parameter: dibao_standard, reference: x}\n",
     ("parameters.dibao_standard.at_most",)),
])
def test_a_declaration_that_cannot_be_checked_is_refused(shipped, parameter, lines, words):
    problems = _refused(_declare(shipped, parameter, lines))
    text = "\n".join(str(p) for p in problems)
    for word in words:
        assert word in text
    assert all(p.file == "parameters.yaml" for p in problems)


# -- doudi validate: the issue's breaches, all at once, and the changes that stay allowed ----------------------


def _validate(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        path = tmp_path / "pack" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(cli, ["validate", str(tmp_path / "pack")])


BREACHES = {  # (parameter, value, where the value goes, the clause)
    "ratio 0.5": ("major_disease_ratio", "0.5", XINHUA, "二（三）"),
    "premium share 0.2": ("premium_local_finance_share", "0.2", PROVINCE, "二（三）"),
    "review 1000 days": ("review_interval_days", "1000", XINHUA, "二（一）"),
    "housing 2022": ("housing_deadline", '"2022-12-31"', XINHUA, "二（五）"),
    "lower multiples": ("temporary_multiples", "{minor: 1, moderate: 1, severe: 2}", XINHUA, "二（六）"),
}


@pytest.mark.parametrize("case", sorted(BREACHES))
def test_validate_refuses_each_breach_of_the_issue_naming_jurisdiction_and_clause(shipped, tmp_path, case):
    parameter, value, file, clause = BREACHES[case]
    result = _validate(tmp_path, _county(shipped, parameter, value, file))
    assert result.exit_code == 1
    where = "430000 湖南省" if file == PROVINCE else "431322 新化县"
    for word in (where, parameter, CLAUSE + clause, str(tmp_path / "pack")):
        assert word in result.output


def test_validate_reports_every_breach_at_once(shipped, tmp_path):
    files = shipped
    for parameter, value, file, _ in BREACHES.values():
        files = _county(files, parameter, value, file, start="2019-07-01")
    files = _with(files, PROVINCE, "{from: 2019-01-01, value: 3960, document: 湘民发",
                  "{from: 2019-01-01, value: 3700, document: 湘民发")
    result = _validate(tmp_path, files)
    assert result.exit_code == 1
    assert "规则包有 7 处错误" in result.output  # the 3700, and each breach above (two of the multiples)
    for parameter, *_ in BREACHES.values():
        assert f"values.{parameter}" in result.output
    assert "430000 湖南省, Rural dibao standard: dibao_standard 3700 from 2019-01-01" in result.output
    assert "低于湖南省的国家扶贫标准" in result.output


@pytest.mark.parametrize(("parameter", "value"), [("major_disease_ratio", "0.8"), ("review_interval_days", "182"),
                                                  ("dibao_standard", "4100")])
def test_validate_accepts_the_changes_a_county_may_make(shipped, tmp_path, parameter, value):
    result = _validate(tmp_path, _county(shipped, parameter, value, start="2019-07-01"))
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output and "✗" not in result.output
    # twice a year (182 days) is less than half of 365: allowed, with a warning to look twice at it
    assert ("⚠ warning" in result.output) is (parameter == "review_interval_days")


# -- warnings: a value more than twice or less than half the one before it ------------------------------------


def test_a_pasted_value_is_a_warning_not_a_refusal(shipped, tmp_path):
    files = _with(shipped, XINHUA, "value: 3960,", "value: 39603900,")
    [warning] = load_files(files).warnings
    assert warning.file == XINHUA and warning.details["previous"] == "3720"
    result = _validate(tmp_path, files)
    assert result.exit_code == 0
    for word in ("⚠ warning", "431322 新化县", "dibao_standard 39603900 from 2019-01-01",
                 "more than twice the value in force before it, 3720", "超过此前取值 3720 的两倍"):
        assert word in result.output


@pytest.mark.parametrize(("value", "warned"), [(60000, False), (60001, True), (15000, False), (14999, True)])
def test_the_warning_starts_beyond_twice_and_below_half(shipped, value, warned):
    files = _county(shipped, "medical_annual_cap", str(value))  # the province's 30000 before it
    warnings = load_files(files).warnings
    assert bool(warnings) is warned
    if warned:
        word = "more than twice" if value > 30000 else "less than half"
        assert word in warnings[0].message and "431322 新化县" in warnings[0].message


def test_a_table_is_warned_entry_by_entry(shipped):
    [warning] = load_files(_county(shipped, "temporary_multiples", "{minor: 1, moderate: 2, severe: 30}")).warnings
    assert warning.details["key"] == "severe" and "temporary_multiples[severe] 30" in warning.message


# -- limit tests in the pack (rules/hunan/tests/limits.yaml) ---------------------------------------------------


def test_the_pack_has_a_refused_and_an_allowed_limit_test_for_every_declared_limit(shipped):
    from engine.policy_tests import run_tests

    pack = load_files(shipped)
    results = [r for r in run_tests(pack) if r.test.edit]
    assert all(r.passed for r in results), [r.error for r in results if not r.passed]
    limited = {n for n, p in pack.parameters.items() if p.at_least or p.at_most or p.fixed is not None}
    refused = {r.test.edit["parameter"] for r in results if r.test.expect_error}
    allowed = {r.test.edit["parameter"] for r in results if not r.test.expect_error}
    assert limited == refused == allowed


@pytest.mark.parametrize(("value", "expect", "error"), [
    ("0.8", "expect_error: 二（三）", "expected the edit to be refused with '二（三）'; it is valid"),
    ("0.6", "expect_valid: true", "is below 0.70"),
    ("0.6", "expect_error: 二（五）", "is below 0.70"),
])
def test_a_limit_test_that_does_not_hold_fails_with_the_problems(shipped, value, expect, error):
    from engine.policy_tests import run_tests

    files = shipped | {"tests/x.yaml": "kind: tests\ntests:\n  - name: x\n    edit: {jurisdiction: \"431322\", "
                                       f"parameter: major_disease_ratio, from: 2019-01-01, value: {value}}}\n"
                                       f"    {expect}\n"}
    [result] = [r for r in run_tests(load_files(files)) if r.test.name == "x"]
    assert not result.passed and error in (result.error or "")


def test_a_limit_test_with_a_household_is_refused(shipped):
    files = shipped | {"tests/x.yaml": "kind: tests\ntests:\n  - name: x\n    as_of: 2019-01-01\n    household: {}\n"
                                       "    edit: {jurisdiction: \"431322\", parameter: major_disease_ratio, "
                                       "from: 2019-01-01, value: 1}\n    expect_valid: true\n"}
    [problem] = _refused(files)
    assert problem.file == "tests/x.yaml"
