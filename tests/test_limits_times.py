"""A parameter bound with a multiplier (rules/README.md, "Limits on every date"): ``at_least: [{parameter: p,
of: self, times: 1.3}]`` is checked at, below and above 1.3 × the other parameter's value on every date, names
the multiplier in both languages, and is refused where it cannot apply (a date, a constant, zero or less)."""

from __future__ import annotations

import pytest
from conftest import HUNAN

from engine import RulePackError
from engine.amounts import Fraction
from engine.load import load_files, read_files

PROVINCE = "values/430000-湖南省.yaml"
TIMES = "民发〔2012〕220号"  # the floor's clause in the Hunan pack; the bound is declared by these tests


@pytest.fixture(scope="module")
def shipped() -> dict[str, str]:
    return read_files(HUNAN)


def _declare(files: dict[str, str], parameter: str, lines: str) -> dict[str, str]:
    """The pack with more declaration lines after ``parameter``'s ``type:`` line."""
    text = files["parameters.yaml"]
    at = text.index("    type:", text.index(f"  {parameter}:\n"))
    end = text.index("\n", at) + 1
    return files | {"parameters.yaml": text[:end] + lines + text[end:]}


def _floor_bound(files: dict[str, str], times: str = "1.2", of: str = "self") -> dict[str, str]:
    """notional_income_floor ≥ times × dibao_standard (the province's floor is 4800, its 2019 standard 3960)."""
    return _declare(files, "notional_income_floor",
                    f"    at_least: [{{parameter: dibao_standard, of: {of}, times: {times}, reference: {TIMES}}}]\n")


def _floor_2019(files: dict[str, str], value: str) -> dict[str, str]:
    text = files[PROVINCE]
    old = "  notional_income_floor:\n    - {from: 2017-01-01, value: 4800, document: 民发〔2012〕220号}\n"
    assert text.count(old) == 1
    new = old + f"    - {{from: 2019-01-01, value: {value}, document: {TIMES}}}\n"
    return files | {PROVINCE: text.replace(old, new)}


def _refused(files: dict[str, str]) -> list:
    with pytest.raises(RulePackError) as info:
        load_files(files)
    return info.value.problems


def test_the_multiplier_is_loaded_exactly(shipped):
    [bound] = load_files(_floor_bound(shipped, "1.2")).parameters["notional_income_floor"].at_least
    assert bound.times == Fraction(6, 5) and bound.applied(3960) == 4752 and bound.applied({"a": 5}) == {"a": 6}


@pytest.mark.parametrize("value", ["4752", "4752.01", "5000"])  # at and above 1.2 × 3960 = 4752
def test_a_value_at_or_above_the_multiple_is_allowed(shipped, value):
    load_files(_floor_2019(_floor_bound(shipped), value))


@pytest.mark.parametrize("value", ["4751.99", "4000"])
def test_a_value_below_the_multiple_is_refused_naming_the_multiplier(shipped, value):
    [problem] = _refused(_floor_2019(_floor_bound(shipped), value))
    assert problem.file == PROVINCE and problem.path == "values.notional_income_floor"
    assert problem.details | {"value": None} == {
        "jurisdiction": "430000", "parameter": "notional_income_floor", "start": "2019-01-01", "end": None,
        "value": None, "bound": "4752", "bound_parameter": "dibao_standard", "reference": TIMES,
        "limit": "at_least", "times": "1.20"}
    assert f"notional_income_floor {value} from 2019-01-01 – onwards is below 1.20 × dibao_standard 3960 of " \
           f"430000 湖南省 = 4752 ({TIMES})" in problem.message
    assert f"为 {value}，低于湖南省的农村低保标准（dibao_standard） 3960 × 1.20 = 4752（{TIMES}）" in problem.message_zh


def test_raising_the_other_parameter_flags_the_value_left_below_its_multiple(shipped):
    files = _floor_bound(shipped)  # 2017: 1.2 × 3360 = 4032 ≤ 4800; a standard of 4100 makes it 4920
    text = files[PROVINCE]
    files = files | {PROVINCE: text.replace("{from: 2017-01-01, value: 3360,", "{from: 2017-01-01, value: 4100,")}
    [problem] = [p for p in _refused(files) if p.details.get("parameter") == "notional_income_floor"]
    assert (problem.details["start"], problem.details["end"], problem.details["bound"]) == \
        ("2017-01-01", "2017-12-31", "4920")


def test_without_a_multiplier_the_bound_is_the_value_itself(shipped):
    files = _declare(shipped, "notional_income_floor",
                     f"    at_least: [{{parameter: dibao_standard, of: self, reference: {TIMES}}}]\n")
    load_files(_floor_2019(files, "3960"))
    [problem] = _refused(_floor_2019(files, "3959"))
    assert "times" not in problem.details and "×" not in problem.message


def test_a_table_is_multiplied_entry_by_entry(shipped):
    # temporary_multiples of 新化县 ≥ 1.5 × the province's {minor: 1, moderate: 2, severe: 3}
    text = shipped["parameters.yaml"]
    old = "{parameter: temporary_multiples, of: root, reference:"
    assert text.count(old) == 1
    files = {k: v for k, v in shipped.items() if "433124" not in k}  # 花垣县 sets its own table
    files |= {"parameters.yaml": text.replace(old, "{parameter: temporary_multiples, of: root, times: 1.5, "
                                                   "levels: [county], reference:")}
    xinhua = "values/431322-新化县.yaml"
    entry = "  temporary_multiples:\n    - {from: 2019-01-01, value: {minor: 1.5, moderate: 2.9, severe: 4.5}, " \
            "document: 新政发〔2019〕9号}\n"
    [problem] = [p for p in _refused(files | {xinhua: files[xinhua] + entry})
                 if p.details.get("parameter") == "temporary_multiples"]
    assert (problem.details["key"], problem.details["value"], problem.details["bound"]) == ("moderate", "2.90", "3")
    load_files(files | {xinhua: files[xinhua] + entry.replace("2.9", "3")})


@pytest.mark.parametrize(("bound", "words"), [
    ("{parameter: dibao_standard, of: self, times: 0, reference: x}", "times"),
    ("{parameter: dibao_standard, of: self, times: -1.3, reference: x}", "times"),
    ("{parameter: dibao_standard, of: self, times: '1.3', reference: x}", "times"),
    ("{parameter: dibao_standard, of: self, times: 1001, reference: x}", "times"),
    ("{value: 4000, times: 1.3, reference: x}", "at_least"),
])
def test_a_multiplier_that_cannot_apply_is_refused_with_file_and_line(shipped, bound, words):
    problems = _refused(_declare(shipped, "notional_income_floor", f"    at_least: [{bound}]\n"))
    assert any(p.file == "parameters.yaml" and p.line and words in (p.path or "") for p in problems), \
        [str(p) for p in problems]


def test_a_date_cannot_be_multiplied(shipped):
    files = _declare(shipped, "housing_deadline",
                     "    at_least: [{parameter: housing_deadline, of: root, times: 2, reference: x}]\n")
    [problem] = _refused(files)
    assert problem.path == "parameters.housing_deadline.at_least" and "times" in problem.message


def test_a_multiplier_that_is_not_a_number_is_refused_not_crashed(shipped):
    files = _declare(shipped, "notional_income_floor",
                     "    at_least: [{parameter: dibao_standard, of: self, times: .nan, reference: x}]\n")
    [problem] = _refused(files)
    assert problem.path == "parameters.notional_income_floor.at_least" and "times" in problem.message


def test_the_parameter_page_and_the_jurisdictions_api_show_the_multiplied_floor(shipped):
    import datetime as dt

    from engine.evaluate import parameter_index
    from web.api.jurisdictions import _floor
    from web.views.parameters import _row

    pack = load_files(_floor_bound(shipped))
    param, on = pack.parameters["notional_income_floor"], dt.date(2019, 6, 1)
    floor = _floor(pack, parameter_index(pack), param, "430000", on)
    assert (floor["value"], floor["times"], floor["parameter"], floor["jurisdiction"]) == \
        (4752, 1.2, "dibao_standard", "430000")
    [shown] = _row(pack, parameter_index(pack), param, pack.jurisdictions["430000"], on)["floors"]
    assert (shown["value"], shown["times"], shown["where"]) == (4752, Fraction(6, 5), "湖南省")
