"""Run a pack's policy tests (household + date → expected outputs or error)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .decision import dumps
from .errors import DoudiError
from .evaluate import evaluate
from .model import PolicyTest, RulePack
from .valuefiles import with_value


@dataclass(frozen=True)
class TestResult:
    """The outcome of one policy test: each mismatch as (output, expected, actual)."""

    test: PolicyTest
    mismatches: list[tuple[str, Any, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None


def run_tests(pack: RulePack) -> list[TestResult]:
    """Evaluate every policy test of ``pack`` and compare the outputs it names."""
    return [run_test(pack, t) for t in pack.tests]


def run_test(pack: RulePack, test: PolicyTest) -> TestResult:
    """One policy test; an unexpected error is a failure, an expected one must contain the text."""
    if test.edit is not None:
        return _run_limit_test(pack, test)
    try:
        decision = evaluate(pack, test.household, test.as_of, trace=False)
    except DoudiError as exc:
        if test.expect_error and test.expect_error in str(exc):
            return TestResult(test)
        return TestResult(test, error=str(exc))
    if test.expect_error:
        return TestResult(test, error=f"expected an error containing {test.expect_error!r}, got a decision")
    outputs = json.loads(dumps(decision.outputs))
    mismatches = [(key, want, outputs.get(key)) for key, want in (test.expect or {}).items()
                  if not _same(outputs.get(key), want)]
    return TestResult(test, mismatches + _reason_mismatches(test.expect_reasons or {}, decision.reasons))


def _reason_mismatches(expect: dict[str, Any], reasons: dict[str, list[str]]) -> list[tuple[str, Any, Any]]:
    """Each expected text missing from the reasons (as (where, expected, None)), each forbidden one found."""
    out: list[tuple[str, Any, Any]] = []
    for lang in ("zh", "en"):
        sentences = reasons.get(lang, [])
        out += [(f"reasons.{lang}", want, None) for want in expect.get(lang, ())
                if not any(want in s for s in sentences)]
        last = expect.get(f"last_{lang}")
        if last is not None and not (sentences and last in sentences[-1]):
            out.append((f"reasons.{lang}[-1]", last, sentences[-1] if sentences else None))
    out += [("reasons (never)", want, s) for want in expect.get("never", ())
            for s in reasons.get("zh", []) + reasons.get("en", []) if want in s]
    return out


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return round(float(actual), 2) == round(float(expected), 2)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(_same(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_same(a, e) for a, e in zip(actual, expected, strict=True))
    return actual == expected


_PARSED: dict[str, dict[str, Any]] = {}  # a pack's parsed documents by digest, for its limit tests


def _parsed(pack: RulePack) -> dict[str, Any]:
    from .load import parse_documents

    parsed = _PARSED.get(pack.digest)
    if parsed is None:
        parsed = parse_documents(pack.files)
        _PARSED.clear()  # the last pack only
        _PARSED[pack.digest] = parsed
    return parsed


def _run_limit_test(pack: RulePack, test: PolicyTest) -> TestResult:
    """A limit test: the pack with one dated value set (as the editor sets it) must be valid, or be refused
    with a problem containing the expected text (rules/README.md, "Limits on every date")."""
    from .checks import check_pack
    from .load import build_pack, parse_documents

    edit = test.edit or {}
    if edit["jurisdiction"] not in pack.jurisdictions or edit["parameter"] not in pack.parameters:
        return TestResult(test, error=f"the edit names an unknown jurisdiction or parameter: {edit}")
    entry = {"from": edit["from"], "value": edit["value"], "document": test.name}
    own = {n: pack.files[n] for n, d in pack.sources.items()  # only the jurisdiction's file is parsed again
           if d.get("kind") == "values" and d.get("jurisdiction") == edit["jurisdiction"] and n in pack.files}
    try:
        _, changed = with_value(own, pack, edit["jurisdiction"], edit["parameter"], entry)
        problems = check_pack(build_pack(_parsed(pack) | parse_documents(changed)))
    except DoudiError as exc:
        problems = exc.problems or []
    text = "\n".join(f"{p}\n{p.message_zh}" for p in problems)
    if test.expect_error:
        if not problems:
            return TestResult(test, error=f"expected the edit to be refused with {test.expect_error!r}; it is valid")
        return TestResult(test) if test.expect_error in text else TestResult(test, error=text)
    return TestResult(test, error=text) if problems else TestResult(test)
