"""The hand-written durable-rules floor (bench/minimal_durable.py) computes exactly what the reference does.

The floor is only a valid yardstick for the engine's throughput if it evaluates the same rules:
outputs must equal tests/reference.py field by field, including the number forms (int for whole
yuan, Decimal with two places otherwise).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from households import household_cases, synth_households
from hypothesis import HealthCheck, given, settings
from reference import evaluate_reference as _full_reference

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from minimal_durable import evaluate_batch  # noqa: E402
from minimal_durable import run_batch as floor_batch  # noqa: E402

from engine.batch import run_batch  # noqa: E402

EXAMPLES = json.loads((Path(__file__).parent / "policy" / "public-examples.json").read_text(encoding="utf-8"))
SYNTH = list(synth_households(2000, seed=7))


def _reference(household: dict, on: dt.date) -> dict:
    """The reference's docs/semantics.md §8 outputs (the floor computes those, not the outcomes rules 70–90 add)."""
    outputs = _full_reference(household, on)
    return {key: outputs[key] for key in EXAMPLES[0]["expected_outputs"]}


def _typed(value: Any) -> Any:
    """The value with the type of every leaf made explicit, so 1 != Decimal('1.00') != True."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    return (type(value).__name__, value)


def _numbers_as_decimal(value: Any) -> Any:
    """JSON floats and ints as Decimal (304.17 == Decimal('304.17')); bools, strings, None unchanged."""
    if isinstance(value, dict):
        return {key: _numbers_as_decimal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers_as_decimal(item) for item in value]
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


@pytest.mark.parametrize("as_of", ["2017-06-01", "2018-06-01", "2019-08-15", "2020-02-01"])
def test_synthetic_roll_matches_reference(as_of: str) -> None:
    on = dt.date.fromisoformat(as_of)
    before = copy.deepcopy(SYNTH[:50])
    outputs = evaluate_batch(SYNTH, on)
    assert len(outputs) == len(SYNTH)
    for household, got in zip(SYNTH, outputs, strict=True):
        assert _typed(got) == _typed(_reference(household, on)), household["household_id"]
    assert SYNTH[:50] == before, "evaluation must not mutate its input"


def test_public_examples() -> None:
    for example in EXAMPLES:
        on = dt.date.fromisoformat(example["as_of"])
        (got,) = evaluate_batch([example["household"]], on)
        assert _typed(got) == _typed(_reference(example["household"], on)), example["id"]
        for field, value in example["expected_outputs"].items():
            assert _numbers_as_decimal(got[field]) == _numbers_as_decimal(value), (example["id"], field)


def test_public_examples_in_one_batch_mixed_dates_per_call() -> None:
    """All examples in one call per date: households must not leak into each other inside a chunk."""
    by_date: dict[str, list[dict]] = {}
    for example in EXAMPLES:
        by_date.setdefault(example["as_of"], []).append(example)
    for as_of, group in by_date.items():
        outputs = evaluate_batch([e["household"] for e in group], dt.date.fromisoformat(as_of))
        for example, got in zip(group, outputs, strict=True):
            assert _typed(got) == _typed(_reference(example["household"], dt.date.fromisoformat(as_of)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(household_cases())
def test_edge_cases_match_reference(case: tuple[dict, dt.date]) -> None:
    """Boundary amounts, decimals, empty households, window and review edges (hypothesis)."""
    household, on = case
    (got,) = evaluate_batch([household], on)
    assert _typed(got) == _typed(_reference(household, on))


def test_empty_batch() -> None:
    assert evaluate_batch([], dt.date(2019, 6, 30)) == []


def test_the_floor_as_a_batch_tool_writes_what_doudi_batch_writes(tmp_path):
    """bench/bench_batch.py compares doudi batch with the floor doing the same reading and writing."""
    roll = tmp_path / "roll.jsonl"
    lines = [json.dumps(h, ensure_ascii=False) for h in SYNTH[:300]]
    roll.write_text("\n".join(lines[:150] + ["{not json"] + lines[150:]) + "\n", encoding="utf-8")
    on = dt.date(2019, 6, 30)
    assert floor_batch(roll, tmp_path / "floor.jsonl", on) == 301
    run_batch(Path(__file__).resolve().parent.parent / "rules" / "hunan", roll, tmp_path / "doudi.jsonl",
              as_of=on, workers=1)
    floor = [json.loads(line) for line in (tmp_path / "floor.jsonl").read_text(encoding="utf-8").splitlines()]
    doudi = [json.loads(line) for line in (tmp_path / "doudi.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in floor] == [r["line"] for r in doudi] == list(range(1, 302))
    assert "error" in floor[150] and "error" in doudi[150]
    spec = list(EXAMPLES[0]["expected_outputs"])  # docs/semantics.md §8's fields: what the floor computes
    assert [r.get("outputs") for r in floor] == [{k: r["outputs"][k] for k in spec} if "outputs" in r else None
                                                 for r in doudi]
    assert sum(r["outputs"]["dibao_monthly"] for r in floor if "outputs" in r) > 0
