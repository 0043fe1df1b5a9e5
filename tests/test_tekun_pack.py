"""The second rule pack, rules/tekun (Hunan 特困人员救助供养, sample values): it validates and its policy tests
pass through the same commands as the Hunan pack's, every rule of it is reached by some policy test, and every
declared limit has a refused and an allowed limit test."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from doudi.cli import cli
from engine.evaluate import evaluate
from engine.load import load_pack
from engine.policy_tests import run_tests

TEKUN = Path(__file__).resolve().parent.parent / "rules" / "tekun"


@pytest.fixture(scope="module")
def tekun():
    return load_pack(TEKUN)


def test_doudi_validate_accepts_the_pack_and_prints_its_sample_notice():
    done = CliRunner().invoke(cli, ["validate", str(TEKUN)])
    assert done.exit_code == 0, done.output
    assert "rule pack 'tekun' is valid" in done.output
    assert "示例取值" in done.output and "illustrative sample values" in done.output


def test_doudi_test_runs_every_policy_test_of_the_pack_and_all_pass(tekun):
    done = CliRunner().invoke(cli, ["test", str(TEKUN)])
    assert done.exit_code == 0, done.output
    assert done.output.strip().endswith(f"{len(tekun.tests)} passed, 0 failed")
    assert len(tekun.tests) >= 45


def test_every_rule_of_the_pack_is_reached_by_a_policy_test(tekun):
    """Each condition that makes or denies 特困 status, each self-care level and each care setting is the
    `when` of a rule; a rule that sets values shows in the trace, one that only explains in the reasons."""
    reached: set[str] = set()
    for test in tekun.tests:
        if test.edit is not None or test.expect_error:
            continue
        decision = evaluate(tekun, test.household, test.as_of)
        reached |= {step.rule for step in decision.trace} | {item["rule"] for item in decision.reason_items}
    assert {r.id for r in tekun.rules} - reached == set()


def test_every_declared_limit_has_a_refused_and_an_allowed_limit_test(tekun):
    results = [r for r in run_tests(tekun) if r.test.edit]
    assert all(r.passed for r in results), [r.error for r in results if not r.passed]
    limited = {n for n, p in tekun.parameters.items() if p.at_least or p.at_most or p.fixed is not None}
    refused = {r.test.edit["parameter"] for r in results if r.test.expect_error} - {"dibao_standard"}
    allowed = {r.test.edit["parameter"] for r in results if not r.test.expect_error}
    assert limited == refused == allowed == {"basic_living_standard", "care_standard_partial", "care_standard_none"}
    [floor] = tekun.parameters["basic_living_standard"].at_least
    assert (floor.parameter, floor.of, str(floor.times)) == ("dibao_standard", "self", "13/10")


def test_every_dated_value_says_it_is_a_sample(tekun):
    assert tekun.illustrative and tekun.notice is not None and "示例取值" in tekun.notice.zh
    assert all("示例" in (v.document or "") for v in tekun.values)


def test_a_grant_and_a_refusal_end_with_their_conclusion(tekun):
    granted = evaluate(tekun, {"household_id": "X1", "county": "430121", "care_setting": "centralized",
                               "members": [{"id": "m1", "age": 9, "statutory_supporter": "none",
                                            "self_care": "partial"}]}, "2019-06-01")
    assert granted.outputs["tekun_monthly_total"] == 900  # 长沙县: (7800 + 3000 of 长沙市) / 12
    assert granted.reasons["zh"][-1].startswith("结论：1人符合特困人员救助供养条件")
    assert "在供养服务机构集中供养" in granted.reasons["zh"][-1]
    refused = evaluate(tekun, {"household_id": "X2", "county": "430121",
                               "members": [{"id": "m1", "age": 9, "statutory_supporter": "able"}]}, "2019-06-01")
    assert refused.outputs["tekun_monthly_total"] == 0 and refused.outputs["care_form"] == "none"
    assert refused.reasons["zh"][-1].startswith("结论：家庭成员均不符合特困人员救助供养条件，不予纳入")


def test_the_household_has_the_packs_own_facts_and_refuses_hunans(tekun, tmp_path):
    household = tmp_path / "h.json"
    household.write_text('{"household_id": "X3", "county": "431322", "registered_poor": true, "members": '
                         '[{"id": "m1", "age": 70, "statutory_suporter": "none", "self_care": "some"}]}',
                         encoding="utf-8")
    done = CliRunner().invoke(cli, ["eval", str(household), "--rules", str(TEKUN), "--as-of", "2019-06-01"])
    assert done.exit_code == 2
    assert "unknown field 'registered_poor'" in done.output
    assert "did you mean 'statutory_supporter'" in done.output
    assert "members[0].self_care: 'some' is not one of 'full', 'partial', 'none'" in done.output
