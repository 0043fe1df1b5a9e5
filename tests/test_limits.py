"""The declared limits of the expression language (engine/limits.py) and durable-rules' own, checked at load.

One crafted rule file per limit: the pack is refused with the rule, the file, the line of the field
and the limit with the count found, in English and Chinese; the Hunan pack stays within every limit.
"""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from conftest import HUNAN

from doudi.cli import cli
from engine import durable_backend, limits
from engine.errors import RulePackError
from engine.load import load_files, read_files
from engine.policy_tests import run_tests

FILE = "rules/99-limits.yaml"


def crafted(when: str | None = None, sets: dict[str, str] | None = None, extra: str = "") -> dict[str, str]:
    """The Hunan pack with one more rule file: rule ``x.big`` (line 8) with ``when`` on line 11."""
    files = read_files(HUNAN)
    rule = "  - id: x.big\n    title: {zh: 试验, en: Probe}\n    reference: 试验\n"
    if when is not None:
        rule += f"    when: >-\n      {when}\n"
    rule += "    set:\n" + "".join(f"      {var}: >-\n        {source}\n"
                                   for var, source in (sets or {"xnum": "1"}).items())
    files[FILE] = ("kind: rules\nprogramme: x\ntitle: {zh: 试验, en: Probe}\nreference: 试验\nvariables:\n"
                   "  xnum: {type: money, default: 0, label: {zh: 试验, en: Probe}}\nrules:\n" + rule + extra)
    return files


def refused(files: dict[str, str]):
    start = time.monotonic()
    with pytest.raises(RulePackError) as info:
        load_files(files)
    assert time.monotonic() - start < 10  # refused at load, long before anything expensive
    return info.value.problems[0]


WHEN, SET = 11, 14  # the lines of ``when`` and of ``set: xnum`` in the crafted file (12 without ``when``)
IN_LIST = "household_size in [{}]"
MAX_200 = f"max({', '.join(['1'] * 200)})"

CASES = {
    "in list": (dict(when=IN_LIST.format(", ".join(map(str, range(201))))), WHEN,
                ["a list of 201 items (limit 200)"], ["列表有 201 项（上限 200）"]),
    "or chain": (dict(when=" or ".join(f"household_size == {i}" for i in range(201))), WHEN,
                 ["an 'or' chain of 201 terms (limit 200)"], ["'or' 连接了 201 项（上限 200）"]),
    "C1: in of 2,000": (dict(when=IN_LIST.format(", ".join(map(str, range(2000))))), WHEN,
                        ["10,908 characters long (limit 5,000)"], ["表达式长 10908 个字符（上限 5000）"]),
    "C1: 1,000 or terms": (dict(when=" or ".join(f"household_size == {i}" for i in range(1000))), WHEN,
                           ["characters long (limit 5,000)"], ["个字符（上限 5000）"]),
    "nodes": (dict(when=" or ".join([IN_LIST.format(", ".join(["1"] * 200))] * 6)), WHEN,
              ["when:", "1,238 syntax nodes (limit 1,000)"], ["when：", "1238 个语法单元（上限 1000）"]),
    "nesting": (dict(when="not " * 40 + "registered_poor"), WHEN,
                ["nested more than 32 levels deep"], ["嵌套超过 32 层"]),
    "parser gives up": (dict(sets={"xnum": "-" * 3000 + "countable_income"}), SET,
                        ["too long or nested too deeply to be read"], ["表达式过长或嵌套过深"]),
    "nested brackets": (dict(sets={"xnum": "(" * 250 + "1" + ")" * 250}), SET,
                        ["too long or nested too deeply to be read"], ["表达式过长或嵌套过深"]),
    "20,000 chained +": (dict(sets={"xnum": "+".join(["countable_income"] * 20_000)}), SET,
                         ["339,999 characters long (limit 5,000)"], ["表达式长 339999 个字符"]),
    "20,000 chained not": (dict(when="not " * 20_000 + "registered_poor"), WHEN,
                           ["80,015 characters long"], ["表达式长 80015 个字符"]),
    "digits": (dict(when="countable_income < " + "9" * 31), WHEN,
               ["has 31 digits (limit 30)"], ["有 31 位（上限 30）"]),
    "5,000-digit literal": (dict(when="countable_income < " + "9" * 4_400), WHEN,
                            ["more than 4,300 digits (limit 30)"], ["数值超过 4300 位"]),
    "tiny number": (dict(when="countable_income < 1e-300"), WHEN, ["1e-300 has 301 digits"], ["1e-300 有 301 位"]),
    "1e999": (dict(when="countable_income < 1e999"), WHEN, ["1e999 is not a finite number"], ["1e999 不是有限的数值"]),
    "text": (dict(when="'" + "长" * 201 + "' == disability.kind"), WHEN,
             ["a text of 201 characters (limit 200)"], ["文本长 201 个字符（上限 200）"]),
    "C2: round digits": (dict(sets={"xnum": "round(countable_income, 999999999)"}), SET,
                         ["digits must be a whole number from 0 to 10", "not 999999999"],
                         ["位数须为 0 到 10 的整数", "不能是 999999999"]),
    "round 11": (dict(sets={"xnum": "round(countable_income, 11)"}), SET, ["from 0 to 10", "not 11"], ["不能是 11"]),
    "round digits not written": (dict(sets={"xnum": "round(countable_income, household_size)"}), SET,
                                 ["not household_size"], ["不能是 household_size"]),
    "rule nodes": (dict(sets=dict.fromkeys(("xnum", "xnum2", "xnum3"), "+".join([MAX_200] * 4))), 10,
                   ["2,454 syntax nodes in all (limit 2,000)"], ["共有 2454 个语法单元（上限 2000）"]),
    "and/or operators": (dict(when=" and ".join(f"(household_size == {i} or registered_poor)" for i in range(15))),
                         WHEN, ["16 and/or operators as durable-rules matches it (limit 15)"],
                         ["条件含 16 个 and/or 运算（上限 15）"]),
}


def line_of(case: str) -> int:
    """The line a case's problem is reported at (``set: xnum`` is on line 12 when the rule has no ``when``)."""
    kwargs, line = CASES[case][:2]
    return 12 if line == SET and "when" not in kwargs else line


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_limit_is_refused_with_the_rule_the_file_and_the_line(case):
    kwargs, _, english, chinese = CASES[case]
    files = crafted(**kwargs)
    line = line_of(case)
    if "xnum2" in kwargs.get("sets", {}):
        files[FILE] = files[FILE].replace("variables:\n", "variables:\n"
                                          "  xnum2: {type: money, default: 0, label: {zh: 试验, en: Probe}}\n"
                                          "  xnum3: {type: money, default: 0, label: {zh: 试验, en: Probe}}\n")
    problem = refused(files)
    assert (problem.file, problem.line, problem.path) == (FILE, line, "rules.x.big")
    assert problem.message.startswith("rule x.big: ") and problem.message_zh.startswith("规则 x.big：")
    for words in english:
        assert words in problem.message
    for words in chinese:
        assert words in problem.message_zh
    assert len(problem.message) < 400 and len(problem.message_zh) < 400  # no echo of a long input


def test_alternatives_over_the_whole_pack_are_refused_before_durable_rules_would_hang():
    rules = "".join(f"  - id: x.more{j}\n    title: {{zh: 试验, en: Probe}}\n    reference: 试验\n"
                    f"    when: household_size in [{', '.join(str(i + 1000 * j) for i in range(150))}]\n"
                    "    set: {xnum: 1}\n" for j in range(3))
    problem = refused(crafted(extra=rules))
    assert problem.file == FILE and "x.more2" in problem.message and "(limit 400" in problem.message
    assert "个分支（上限 400）" in problem.message_zh and problem.line == 27


def test_what_the_limits_admit_compiles_and_evaluates_quickly(pack):
    """The largest condition within the limits: 200 alternatives, and round() to 10 digits."""
    from engine.evaluate import evaluate

    files = crafted(when=IN_LIST.format(", ".join(map(str, range(200)))),
                    sets={"xnum": "round(countable_income * 1.0000000001, 10)"})
    start = time.monotonic()
    big = load_files(files)
    decision = evaluate(big, pack.tests[0].household, pack.tests[0].as_of)
    assert time.monotonic() - start < 5
    assert decision.outputs == evaluate(pack, pack.tests[0].household, pack.tests[0].as_of).outputs


def test_the_hunan_pack_is_well_within_every_limit(pack):
    assert durable_backend.widest(pack.plan.definition)[0] <= limits.LIMITS.branching // 10
    assert max(durable_backend.operators(r["all"][0]["m"]) for r in pack.plan.definition.values()) \
        <= limits.LIMITS.condition_operators - 4
    assert all(result.passed for result in run_tests(pack))


def test_limits_can_be_raised_for_one_load():
    files = crafted(when=IN_LIST.format(", ".join(map(str, range(300)))))
    refused(files)
    pack = load_files(files, limits=limits.Limits(alternatives=300))
    assert any(r.id == "x.big" for r in pack.rules)
    refused(files)  # only for that load


def test_a_derived_condition_too_intricate_to_inline_is_matched_as_written():
    """Forty levels of flags, each set by two rules reading the one before: inlining every level would make
    a condition of 2^40 parts; the loader matches such flags as values instead, and decides the same."""
    rules, flags = "", ""
    for k in range(40):
        flags += f"  v{k + 1}: {{type: bool, default: false, label: {{zh: 试验, en: Probe}}}}\n"
        for part, test in (("a", f"household_size > {k % 5}"), ("b", f"countable_income < {k * 100}")):
            rules += (f"  - id: x.v{k}{part}\n    title: {{zh: 试验, en: Probe}}\n    reference: 试验\n"
                      f"    when: {'registered_poor' if k == 0 else f'v{k}'} and {test}\n    set: {{v{k + 1}: true}}\n")
    files = crafted(extra=rules)
    files[FILE] = files[FILE].replace("variables:\n", "variables:\n" + flags)
    start = time.monotonic()
    pack = load_files(files)
    assert time.monotonic() - start < 10
    assert max(durable_backend.operators(r["all"][0]["m"]) for r in pack.plan.definition.values()) <= 15


@pytest.mark.parametrize("case", ["C1: in of 2,000", "C2: round digits", "20,000 chained not", "1e999"])
def test_doudi_validate_refuses_a_crafted_pack_within_seconds(tmp_path, case):
    for name, text in crafted(**CASES[case][0]).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    start = time.monotonic()
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert time.monotonic() - start < 10
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{FILE}:{line_of(case)}" in result.output and "x.big" in result.output
