"""Both household generators produce schema-valid facts; the synthetic roll is deterministic and realistic."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from households import COUNTY_CODES, household_cases, households, synth_households
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from reference import evaluate_reference

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "schemas" / "household.schema.json").read_text(encoding="utf-8")
)
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _assert_valid(household: dict) -> None:
    errors = sorted(VALIDATOR.iter_errors(household), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def test_validator_checks_date_formats() -> None:
    household = {"household_id": "X", "county": "430626", "members": [{"id": "m1", "age": 1}],
                 "last_review": "2019-02-30"}
    assert not VALIDATOR.is_valid(household)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households())
def test_hypothesis_households_are_valid(household: dict) -> None:
    _assert_valid(household)
    assert household["county"] in COUNTY_CODES
    ids = [m["id"] for m in household["members"]]
    assert len(ids) == len(set(ids))
    assert all(claim["member"] in ids for claim in household.get("medical_claims", []))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(household_cases())
def test_hypothesis_cases_evaluate(case: tuple[dict, dt.date]) -> None:
    household, as_of = case
    _assert_valid(household)
    assert dt.date(2017, 1, 1) <= as_of <= dt.date(2021, 12, 31)
    evaluate_reference(household, as_of)  # every generated case is inside the pack's dates


def test_synth_households_are_valid() -> None:
    for household in synth_households(200, 7):
        _assert_valid(household)


def test_synth_households_are_deterministic_and_span_counties() -> None:
    first = list(synth_households(1000, 1))
    assert first == list(synth_households(1000, 1))
    assert first != list(synth_households(1000, 2))
    assert len({h["county"] for h in first}) >= 100
    assert len({h["household_id"] for h in first}) == 1000


def test_synth_households_is_lazy() -> None:
    assert len(list(itertools.islice(synth_households(10**9, 3), 5))) == 5


@pytest.mark.parametrize("as_of", [dt.date(2017, 6, 1), dt.date(2018, 6, 1), dt.date(2019, 6, 30)])
def test_synth_households_are_realistic(as_of: dt.date) -> None:
    roll = list(synth_households(1000, 1))
    outputs = [evaluate_reference(h, as_of) for h in roll]
    income_pass = sum(o["income_test_passed"] for o in outputs) / len(roll)
    assert 0.25 <= income_pass <= 0.50
    assert 0.25 <= sum(h["registered_poor"] for h in roll) / len(roll) <= 0.35
    assert 0.15 <= sum(h["enrolled"] for h in roll) / len(roll) <= 0.25
    assert sum(o["safety_net"] for o in outputs) > 0
    assert {len(h["members"]) for h in roll} == {1, 2, 3, 4, 5, 6}
