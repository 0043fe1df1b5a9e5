"""Property test: the durable-rules engine agrees with the plain-Python reference on random households."""

from __future__ import annotations

import json

from conftest import HUNAN
from households import household_cases
from hypothesis import HealthCheck, given, settings
from reference import evaluate_reference

from engine import evaluate, load_pack
from engine.evaluate import outputs_many, parse_date

_PACK = load_pack(HUNAN)  # not a fixture: hypothesis would print the whole pack on failure


def _json(value):
    return json.loads(json.dumps(value, default=float))


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(household_cases())
def test_engine_matches_reference(case):
    household, as_of = case
    expected = _json(evaluate_reference(household, as_of))
    got = json.loads(evaluate(_PACK, household, as_of, trace=False).to_json())["outputs"]
    assert got == expected
    # as a roll evaluates it: no trace, no reasons (each rule through its generated runner)
    (_, _, outputs), = outputs_many(_PACK, [household], parse_date(as_of))
    assert _json(outputs) == expected
