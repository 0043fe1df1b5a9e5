"""Clause coverage (engine/coverage.py): every clause a pack declares is implemented or says why not.

The shipped pack's coverage is read as `doudi validate` prints it; each mistake is one edit of a copy
of rules/hunan, reported with file, line and the clause in English and Chinese.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import HUNAN

from doudi.cli import cli
from engine import RulePackError, load_pack
from engine.coverage import cited, coverage

DOC = "湘民发〔2017〕33号"
ORGANISATIONAL = '''          zh: 基层经办人员配备、"一门受理、协同办理"机制和业务培训属组织建设，不由决策引擎计算。
          en: Staffing, the one-window procedure and training of front-line workers are organisational and not
            computed by a decision engine.
'''


@pytest.fixture
def copy_pack(tmp_path):
    folder = tmp_path / "hunan"
    shutil.copytree(HUNAN, folder)
    return folder


def _edit(folder: Path, file: str, old: str, new: str) -> str:
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text.replace(old, new)


def _line(text: str, at: str) -> int:
    return text[: text.index(at)].count("\n") + 1


def _problems(folder: Path) -> list:
    with pytest.raises(RulePackError) as info:
        load_pack(folder)
    return info.value.problems


def test_every_clause_of_the_plan_is_declared_and_covered(pack):
    clauses, problems = coverage(pack)
    assert problems == []
    by_id = {c.id: c for c in clauses}
    assert list(by_id) == ["一", "二（一）", "二（二）", "二（三）", "二（四）", "二（五）", "二（六）",
                           "三（一）", "三（二）", "三（三）", "三（四）", "三（五）"]
    health = by_id["二（三）"]
    assert {"claim.major_disease", "medical.premium_subsidy"} <= set(health.rules)
    assert {"major_disease_ratio", "premium_local_finance_share"} <= set(health.parameters)
    assert health.tests and health.outside is None
    # a parameter cites its clause through an at_least bound too; the review interval implements 二（一）
    assert "national_poverty_line" in by_id["二（二）"].parameters
    assert "review_interval_days" in by_id["二（一）"].parameters
    # tests listed under a clause join those found through the outputs its rules set
    assert "age 17 is not labour capable" in by_id["一"].tests
    for cid in ("三（一）", "三（二）", "三（三）", "三（四）", "三（五）"):
        assert not by_id[cid].implemented and by_id[cid].outside is not None
    assert "organisational" in by_id["三（三）"].outside.en and "组织建设" in by_id["三（三）"].outside.zh


def test_validate_prints_the_coverage_of_each_clause(pack):
    result = CliRunner().invoke(cli, ["validate", str(HUNAN)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "clause coverage 条款覆盖 (12 clauses)" in out
    block = out[out.index(f"{DOC} 二（三）"):out.index(f"{DOC} 二（四）")]
    assert "claim.major_disease" in block and "major_disease_ratio" in block
    assert re.search(r"tests \([1-9][0-9]*\): ", block)
    outside = out[out.index(f"{DOC} 三（三）"):out.index(f"{DOC} 三（四）")]
    assert "outside 不由决策引擎处理: 基层经办人员配备" in outside and "rules (" not in outside


def test_a_clause_with_neither_implementation_nor_reason_is_an_error(copy_pack):
    text = _edit(copy_pack, "pack.yaml", "        outside:\n" + ORGANISATIONAL, "")
    problems = _problems(copy_pack)
    assert len(problems) == 1
    p = problems[0]
    assert (p.file, p.line) == ("pack.yaml", _line(text, "      三（三）:"))
    assert f"clause {DOC} 三（三） (Building capacity) is implemented by no rule" in p.message
    assert "条款 湘民发〔2017〕33号 三（三）（加强能力建设）既无规则或参数实现" in p.message_zh
    result = CliRunner().invoke(cli, ["validate", str(copy_pack)])
    assert result.exit_code == 1 and f"pack.yaml:{p.line}" in result.stderr and "三（三）" in result.stderr


def test_a_listed_name_that_does_not_exist_is_an_error(copy_pack):
    text = _edit(copy_pack, "pack.yaml", "        tests:\n          - age 18",
                 "        rules: [member.labour_capable_guessed]\n        parameters: [labour_age_minimum]\n"
                 "        tests:\n          - age 18")
    problems = _problems(copy_pack)
    assert [(p.file, p.line, p.path) for p in problems] == [
        ("pack.yaml", _line(text, "        rules: [member"), "documents.clauses.一.rules"),
        ("pack.yaml", _line(text, "        parameters: [labour"), "documents.clauses.一.parameters")]
    assert "clause 一 lists rule 'member.labour_capable_guessed', which the pack does not have" in problems[0].message
    assert "条款 一 列出的参数 'labour_age_minimum' 不存在" == problems[1].message_zh


def test_a_listed_test_that_does_not_exist_is_an_error(copy_pack):
    _edit(copy_pack, "pack.yaml", "          - age 17 is not", "          - age 16 is not")
    problems = _problems(copy_pack)
    assert len(problems) == 1
    assert "policy test 'age 16 is not labour capable'" in problems[0].message
    assert "政策测试" in problems[0].message_zh


def test_a_reference_to_an_undeclared_clause_is_an_error(copy_pack):
    path = copy_pack / "rules/40-temporary.yaml"
    old, new = f"    reference: {DOC} 二（六）\n", f"    reference: {DOC} 二（七）\n"
    text = path.read_text(encoding="utf-8").replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    problems = _problems(copy_pack)
    assert len(problems) == 1
    p = problems[0]
    assert (p.file, p.line, p.path) == ("rules/40-temporary.yaml", _line(text, "  - id:"), "reference")
    assert f"cites {DOC} 二（七）, a clause pack.yaml does not declare" in p.message
    assert "未在 pack.yaml 中列出" in p.message_zh


def test_references_cite_declared_clauses_among_other_words():
    declared = {(DOC, "二（二）"): None, (DOC, "二（三）"): None}
    assert cited(f"{DOC} 二（二）", declared) == ([(DOC, "二（二）")], None)
    assert cited(f"{DOC} 二（二）、二（三） 两线合一", declared) == ([(DOC, "二（二）"), (DOC, "二（三）")], None)
    assert cited(f"{DOC} 二（九）", declared) == ([], "二（九）")
    assert cited(f"{DOC} 第九条", declared) == ([], "第九条")
    assert cited(f"{DOC} 两线合一", declared) == ([], None)  # words that are no clause id are commentary
    assert cited(f"{DOC} 二", declared) == ([], None)  # the section of declared clauses
    assert cited(f"{DOC} 三", declared) == ([], "三")
    assert cited("国务院令第649号 第九条", declared) == ([], None)  # a document that lists no clauses


def test_a_pack_that_declares_no_clauses_is_not_checked(copy_pack):
    path = copy_pack / "pack.yaml"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("    # Every clause of the plan"), text.index("  - number: 国务院令第649号")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    values = copy_pack / "values/430000-湖南省.yaml"  # and a value without its document is then allowed
    text = values.read_text(encoding="utf-8")
    values.write_text(text.replace("value: 18, document: 民发〔2012〕220号}", "value: 18}"), encoding="utf-8")
    bare = load_pack(copy_pack)
    assert coverage(bare) == ([], [])


def test_a_dated_value_names_the_document_that_set_it(copy_pack):
    text = _edit(copy_pack, "values/430000-湖南省.yaml", "{from: 2017-01-01, value: 18, document: 民发〔2012〕220号}",
                 "{from: 2017-01-01, value: 18}")
    problems = _problems(copy_pack)
    assert [(p.file, p.line) for p in problems] == [
        ("values/430000-湖南省.yaml", _line(text, "{from: 2017-01-01, value: 18}"))]
    assert "labour_age_min: the value from 2017-01-01 names no 'document'" in problems[0].message
    assert "未注明设定它的文件" in problems[0].message_zh


def test_an_illustrative_pack_says_its_values_are_samples(copy_pack):
    result = CliRunner().invoke(cli, ["validate", str(HUNAN)])
    assert "illustrative sample values 示例取值（非官方）: 本规则包中的标准、比例和限额均为示例取值" in result.stdout
    text = (copy_pack / "pack.yaml").read_text(encoding="utf-8")
    start, end = text.index("notice:\n"), text.index("documents:\n")
    (copy_pack / "pack.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    problems = _problems(copy_pack)
    assert len(problems) == 1 and problems[0].file == "pack.yaml" and "notice" in problems[0].message
