"""The reference oracle (tests/reference.py) reproduces every public worked example of docs/semantics.md §9."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from reference import evaluate_reference, resolve, round_half_up, to_number

EXAMPLES = json.loads((Path(__file__).parent / "policy" / "public-examples.json").read_text(encoding="utf-8"))


def _normalise(value: Any) -> Any:
    """Numbers (int, float, Decimal) as Decimal so 304.17 == Decimal('304.17'); bools stay bools."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    raise TypeError(f"unexpected output type {type(value).__name__}: {value!r}")


def _numbers(value: Any) -> list[Any]:
    """Every number in an output tree, excluding bools."""
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return [value]
    return []


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_public_example(example: dict) -> None:
    household = copy.deepcopy(example["household"])
    outputs = evaluate_reference(household, dt.date.fromisoformat(example["as_of"]))
    expected = example["expected_outputs"]
    assert set(expected) <= set(outputs)  # docs/semantics.md §8's fields, and the outcomes rules 70–90 add
    for field, value in expected.items():
        assert _normalise(outputs[field]) == _normalise(value), field
    assert household == example["household"], "evaluation must not mutate its input"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_output_number_forms(example: dict) -> None:
    outputs = evaluate_reference(example["household"], dt.date.fromisoformat(example["as_of"]))
    for number in _numbers(outputs):
        assert type(number) is int or (type(number) is Decimal and number.as_tuple().exponent == -2)


def test_e06_monthly_standard_is_rounded_half_up_to_cents() -> None:
    e06 = next(e for e in EXAMPLES if e["id"] == "E06")
    outputs = evaluate_reference(e06["household"], dt.date(2018, 6, 1))
    assert outputs["dibao_standard_monthly"] == Decimal("304.17")
    assert outputs["dibao_monthly"] == 525 and type(outputs["dibao_monthly"]) is int


@pytest.mark.parametrize(
    ("county", "as_of", "standard"),
    [
        ("430181", dt.date(2017, 6, 1), 3360),  # 长沙市 has no 2017 value: the province's applies
        ("430181", dt.date(2018, 1, 1), 4800),  # 长沙市 from its first effective day
        ("430181", dt.date(2019, 6, 1), 5400),
        ("430121", dt.date(2017, 1, 1), 4200),  # 长沙县's own 2017 value
        ("430121", dt.date(2019, 6, 1), 6000),  # its 2018 value stays in force, above the city's 5400
        ("433124", dt.date(2017, 12, 31), 3360),
        ("433124", dt.date(2019, 1, 1), 4000),
        ("430626", dt.date(2021, 12, 31), 3960),
    ],
)
def test_dibao_standard_inheritance(county: str, as_of: dt.date, standard: int) -> None:
    assert resolve("dibao_standard", county, as_of) == standard


@pytest.mark.parametrize(
    ("county", "as_of"), [("430626", dt.date(2016, 12, 31)), ("439999", dt.date(2018, 6, 1))]
)
def test_no_value_in_force_is_an_error(county: str, as_of: dt.date) -> None:
    household = {"household_id": "X", "county": county, "members": [{"id": "m1", "age": 70}]}
    with pytest.raises(ValueError):
        evaluate_reference(household, as_of)


def test_claims_of_uncounted_members_get_nothing_and_caps_accumulate() -> None:
    household = {
        "household_id": "X", "county": "430181", "registered_poor": True,
        "members": [{"id": "m1", "age": 75}, {"id": "m2", "age": 40, "in_prison": True}],
        "medical_aid_paid_ytd": {"m1": 10000.5},
        "medical_claims": [
            {"member": "m1", "disease": "esrd", "in_policy_selfpaid": 30000},   # 21000
            {"member": "m2", "disease": "esrd", "in_policy_selfpaid": 30000},   # in prison: 0
            {"member": "m9", "disease": "stroke", "in_policy_selfpaid": 1000},  # unknown member: 0
            {"member": "m1", "disease": "stroke", "in_policy_selfpaid": 20000},  # 11500, room 8999.5
        ],
    }
    outputs = evaluate_reference(household, dt.date(2018, 6, 1))
    assert [c["amount"] for c in outputs["medical_claims"]] == [21000, 0, 0, Decimal("8999.50")]
    assert outputs["medical_assistance"] == Decimal("29999.50")


def test_rounding_is_half_up() -> None:
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction("0.125"), 2) == Fraction("0.13")
    assert round_half_up(Fraction(-5, 2)) == -3
    assert to_number(Fraction(1000, 3)) == Decimal("333.33")
    assert to_number(Fraction("99.999")) == 100 and type(to_number(Fraction("99.999"))) is int
