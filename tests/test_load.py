"""Loading a rule pack: one bad edit of the Hunan pack per error kind, each reported with file, line and key words.

Each case copies ``rules/hunan`` and changes one file by replacing one snippet (``old`` → ``new``), so
every fixture is the shipped pack plus one readable mistake (as openfisca's parameter_validation tests).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from conftest import HUNAN

from engine import RulePackError, load_pack, source

XINHUA = "values/431322-新化县.yaml"
PROVINCE = "values/430000-湖南省.yaml"
REVIEW = "rules/60-review.yaml"
DIBAO = "rules/20-dibao.yaml"
TESTS = "tests/public-examples.yaml"
CLAUSE = "湘民发〔2017〕33号 二（二）"
# the province's medical_bands entry: the line a bad bands table is reported on
BANDS_ENTRY = "- from: 2017-01-01\n      document: 湘民发〔2017〕33号\n      value:\n        - {upto: 5000"


class Case(NamedTuple):
    """One mistake: in ``file`` replace ``old`` by ``new``; the problem is on the line where ``at`` starts."""

    file: str
    old: str
    new: str
    at: str | None  # text of the edited file on the reported line; None when no line is meaningful
    words: tuple[str, ...]  # key words of the English message


def _edit(folder: Path, file: str, old: str, new: str) -> str:
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"fixture text {old!r} must occur exactly once in {file}"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return text


def _line(text: str, at: str) -> int:
    assert at in text, f"{at!r} is not in the edited file"
    return text[: text.index(at)].count("\n") + 1


@pytest.fixture
def copy_pack(tmp_path):
    """A fresh copy of the shipped Hunan pack in a temporary folder, safe to edit."""
    folder = tmp_path / "hunan"
    shutil.copytree(HUNAN, folder)
    return folder


@pytest.fixture
def bad_pack(copy_pack):
    """Apply one Case to the copy; returns (folder, edited text of the changed file)."""

    def apply(case: Case) -> tuple[Path, str]:
        return copy_pack, _edit(copy_pack, case.file, case.old, case.new)

    return apply


def _problems(folder: Path) -> RulePackError:
    with pytest.raises(RulePackError) as info:
        load_pack(folder)
    return info.value


_LINE_OF_KEY = "the line of an unknown key is reported, not the line of the mapping that holds it"
CASES = {
    # -- YAML itself ----------------------------------------------------------------------------------------
    "yaml-syntax": Case(XINHUA, "value: 3720,", "value: 3720: x,", "value: 3720: x", ("invalid YAML",)),
    "yaml-unclosed-flow": Case(XINHUA, "新政发〔2018〕1号}", "新政发〔2018〕1号", "- {from: 2019",
                               ("invalid YAML", "expected ',' or '}'")),
    "yaml-duplicate-key": Case(XINHUA, "values:\n  dibao_standard:\n",
                               "values:\n  dibao_standard: []\n  dibao_standard:\n",
                               "dibao_standard:\n    - {from: 2018", ("duplicate key 'dibao_standard'",)),
    "yaml-tab": Case(XINHUA, "  dibao_standard:\n", "\tdibao_standard:\n", "\tdibao_standard",
                     ("invalid YAML", "'\\t'")),
    "yaml-indentation": Case(XINHUA, "    - {from: 2019-01-01", "   - {from: 2019-01-01", "   - {from: 2019",
                             ("invalid YAML", "expected <block end>")),
    "yaml-number-key": Case(XINHUA, "values:\n", "values:\n  2018: x\n", "2018: x", ("key 2018 must be text",)),
    "yaml-two-documents": Case(XINHUA, "kind: values\n", "kind: values\n---\n", "---", ("invalid YAML",)),
    "kind-unknown": Case(XINHUA, "kind: values", "kind: value", "kind: value",
                         ("'kind' must be one of", "found 'value'")),
    # -- unknown keys, one per document kind ----------------------------------------------------------------
    "unknown-key-pack": Case("pack.yaml", "illustrative: true\n", "illustrative: true\nversion: 2\n",
                             "version: 2", ("unknown field 'version'", "allowed:")),
    "unknown-key-jurisdictions": Case("jurisdictions.yaml", "name: 湖南省, level: province}",
                                      "name: 湖南省, level: province, population: 1}", "population: 1",
                                      ("unknown field 'population'",)),
    "unknown-key-parameters": Case("parameters.yaml", "    type: date\n", "    type: date\n    scale: 1\n",
                                   "scale: 1", ("unknown field 'scale'",)),
    "unknown-key-values": Case(XINHUA, "value: 3720,", "value: 3720, note: x,", "note: x",
                               ("unknown field 'note'",)),
    "unknown-key-rules": Case(REVIEW, "    when: dibao_eligible and enrolled\n",
                              "    when: dibao_eligible and enrolled\n    priority: 1\n", "priority: 1",
                              ("unknown field 'priority'",)),
    "unknown-key-tests": Case(TESTS, "  as_of: '2018-06-01'\n  household:\n    household_id: E02\n",
                              "  as_of: '2018-06-01'\n  skip: true\n  household:\n    household_id: E02\n",
                              "skip: true", ("unknown field 'skip'",)),
    # -- wrong types and bad dates ---------------------------------------------------------------------------
    "money-not-a-number": Case(XINHUA, "value: 3720,", "value: abc,", "value: abc",
                               ("dibao_standard", "expected a number", "'abc'")),
    "minimum-not-a-number": Case("parameters.yaml", "    minimum: 1\n", '    minimum: "x"\n', 'minimum: "x"',
                                 ("'x' is not of type number",)),
    "minimum-nan": Case("parameters.yaml", "    minimum: 1\n", "    minimum: .nan\n", "minimum: .nan",
                        ("minimum must be a finite number, not nan",)),
    "maximum-infinite": Case("parameters.yaml", "    minimum: 1\n", "    minimum: 1\n    maximum: .inf\n",
                             "maximum: .inf", ("maximum must be a finite number, not inf",)),
    "below-declared-minimum": Case(XINHUA, "value: 3720,", "value: -1,", "value: -1",
                                   ("dibao_standard = -1 is below its minimum 0",)),
    "date-february-30": Case(XINHUA, "from: 2018-01-01", "from: 2018-02-30", "2018-02-30",
                             ("'2018-02-30' is not a valid date", "YYYY-MM-DD")),
    "date-slashes": Case(XINHUA, "from: 2018-01-01", "from: 2018/01/01", "2018/01/01",
                         ("'2018/01/01' is not a valid date", "YYYY-MM-DD")),
    "date-of-policy-test": Case(TESTS, "  as_of: '2018-06-01'\n  household:\n    household_id: E02\n",
                                "  as_of: '2018-06-31'\n  household:\n    household_id: E02\n", "2018-06-31",
                                ("'2018-06-31' is not a valid date",)),
    "two-values-same-date": Case(XINHUA, "from: 2019-01-01", "from: 2018-01-01", "{from: 2018-01-01, value: 3960",
                                 ("two values from 2018-01-01",)),
    "jurisdiction-unquoted": Case(PROVINCE, 'jurisdiction: "430000"', "jurisdiction: 430000",
                                  "jurisdiction: 430000", ("430000 is not of type string",)),
    # -- names: parameters, jurisdictions, levels ------------------------------------------------------------
    "unknown-parameter": Case(XINHUA, "  dibao_standard:", "  dibao_standrd:", "{from: 2018-01-01",
                              ("unknown parameter 'dibao_standrd'", "did you mean 'dibao_standard'?")),
    "unknown-jurisdiction": Case(XINHUA, 'jurisdiction: "431322"', 'jurisdiction: "431399"', 'jurisdiction: "431399"',
             ("unknown jurisdiction 431399",)),
    "level-may-not-set": Case(XINHUA, "values:\n", "values:\n  national_poverty_line:\n"
                              "    - {from: 2018-01-01, value: 3600}\n", "{from: 2018-01-01, value: 3600}",
                              ("national_poverty_line can only be set by province", "431322 新化县 (county)")),
    "inherit-at-root": Case(PROVINCE, "  labour_age_max:\n",
                            "  labour_age_max:\n    - {from: 2018-01-01, inherit: true}\n",
                            "{from: 2018-01-01, inherit: true}", ("root jurisdiction has nothing to inherit",)),
    # -- rules and expressions -------------------------------------------------------------------------------
    "condition-unknown-name": Case(REVIEW, "when: dibao_eligible and enrolled\n",
                                   "when: dibao_eligable and enrolled\n", "when: dibao_eligable and enrolled",
                                   ("review.continue", "unknown name 'dibao_eligable'",
                                    "did you mean 'dibao_eligible'?")),
    "condition-syntax": Case(REVIEW, "when: dibao_eligible and enrolled\n", "when: dibao_eligible and (enrolled\n",
                             "when: dibao_eligible and (enrolled", ("review.continue", "syntax error", "never closed")),
    "condition-division": Case(DIBAO, "countable_income < household_size * dibao_standard\n",
                               "countable_income / household_size < dibao_standard\n",
                               "countable_income / household_size < dibao_standard",
                               ("dibao.income_test", "no division in conditions", "multiply the other side")),
    "assignment-unknown-name": Case(DIBAO, "{dibao_standard_monthly: dibao_standard / 12}",
                                    "{dibao_standard_monthly: dibao_standrd / 12}",
                                    "{dibao_standard_monthly: dibao_standrd",
                                    ("set dibao_standard_monthly", "unknown name 'dibao_standrd'",
                                     "did you mean 'dibao_standard'?")),
    "assignment-wrong-type": Case(REVIEW, "set: {review_action: \"'exit'\"}", "set: {review_action: 3}",
                                  "set: {review_action: 3}", ("set review_action", "a str cannot be set to a int")),
    "set-undeclared-variable": Case(REVIEW, "set: {review_action: \"'exit'\"}", "set: {review_actoin: \"'exit'\"}",
                                    "set: {review_actoin",
                                    ("'review_actoin' is not a declared household variable",)),
    "reason-unknown-placeholder": Case(REVIEW, "en: No longer eligible; the household exits",
                                       "en: No longer eligible since {exit_date}",
                                       "en: No longer eligible since {exit_date}",
                                       ("reason: placeholder {exit_date}", "exit_date")),
    "function-not-allowed": Case(REVIEW, "when: dibao_eligible and enrolled\n", "when: __import__('os')\n",
                                 "when: __import__('os')", ("'__import__' is not a function here",)),
    "rule-cycle": Case(DIBAO, "when: income_test_passed and asset_test_passed\n",
                       "when: income_test_passed and asset_test_passed and not safety_net\n",
                       "- id: dibao.eligible", ("cycle", "dibao.eligible → dibao.safety_net → dibao.eligible")),
    "rule-id-twice": Case(REVIEW, "  - id: review.exit\n", "  - id: review.continue\n",
                          "- id: review.continue\n    title: {zh: 不再符合",
                          ("rule id 'review.continue' is used twice",)),
    # -- outputs and policy tests ----------------------------------------------------------------------------
    "output-unknown-value": Case("pack.yaml", "  review_action: review_action\n", "  review_action: review_actions\n",
             "review_action: review_actions", ("unknown value 'review_actions'", "did you mean 'review_action'?")),
    "test-expects-unknown-output": Case(TESTS, "    dibao_monthly: 550\n",
                                        "    dibao_monthly: 550\n    dibao_monthy: 550\n", "- name: 'E01",
                                        ("'dibao_monthy' is not an output of the pack", "E01")),
    # -- constraints across time (docs/semantics.md §4.3) ------------------------------------------------------------
    "county-below-provincial-floor": Case(XINHUA, "value: 3720", "value: 3500", "value: 3500",
                                          ("431322 新化县", "dibao_standard 3500", "2018-01-01 – 2018-12-31",
                                           "below dibao_standard 3600 of 430000 湖南省", CLAUSE)),
    "county-below-poverty-line": Case(XINHUA, "value: 3720", "value: 3500", "value: 3500",
                                      ("431322 新化县", "below national_poverty_line 3535", CLAUSE)),
    # -- the medical_bands table -----------------------------------------------------------------------------
    "bands-upto-decreasing": Case(PROVINCE, "{upto: 20000, rate: 0.60}", "{upto: 4000, rate: 0.60}", BANDS_ENTRY,
                                  ("medical_bands", "band 2", "'upto' must increase")),
    "bands-upto-missing": Case(PROVINCE, "{upto: 20000, rate: 0.60}", "{rate: 0.60}", BANDS_ENTRY,
                               ("medical_bands", "band 2", "every band but the last needs 'upto'")),
    "bands-last-has-upto": Case(PROVINCE, "        - {rate: 0.70}\n", "        - {upto: 50000, rate: 0.70}\n",
                                BANDS_ENTRY, ("medical_bands", "band 3", "the last has none")),
    "bands-unknown-key": Case(PROVINCE, "{upto: 20000, rate: 0.60}", "{upto: 20000, rate: 0.60, cap: 1}",
                              BANDS_ENTRY, ("medical_bands", "band 2", "expected {upto: amount, rate: ratio}")),
    "bands-not-a-list": Case(PROVINCE, "        - {upto: 5000, rate: 0.50}\n        - {upto: 20000, rate: 0.60}\n"
                             "        - {rate: 0.70}\n", "        {upto: 5000, rate: 0.50}\n",
                             "- from: 2017-01-01\n      document: 湘民发〔2017〕33号\n      value:\n        {upto",
                             ("medical_bands", "expected a list of bands")),
    "bands-rate-not-a-number": Case(PROVINCE, "{upto: 20000, rate: 0.60}", "{upto: 20000, rate: x}", BANDS_ENTRY,
             ("medical_bands", "band 2", "rate")),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_pack_is_reported_with_file_line_and_message(bad_pack, case):
    folder, text = bad_pack(case)
    error = _problems(folder)
    matching = [p for p in error.problems if all(w in p.message for w in case.words)]
    assert matching, f"no problem with {case.words} in:\n{error}"
    problem = matching[0]
    assert problem.file == case.file
    if case.at is not None:
        assert problem.line == _line(text, case.at), str(problem)
        assert f"{case.file}:{problem.line}" in str(error)




def _zh_params():
    for name, case in CASES.items():
        case = case.values[0] if hasattr(case, "values") else case
        yield pytest.param(case, id=name)


@pytest.mark.parametrize("case", list(_zh_params()))
def test_every_problem_is_also_in_chinese(bad_pack, case):
    """Policy staff read Chinese: the error and each of its problems carry a Chinese message."""
    folder, _ = bad_pack(case)
    error = _problems(folder)
    assert error.message_zh
    assert all(p.message_zh for p in error.problems), [p.message for p in error.problems if not p.message_zh]


def test_shipped_pack_loads(pack):
    assert pack.id == "hunan"
    assert pack.illustrative is True
    assert len(pack.counties()) == 122
    assert pack.chain("431322") == ["431322", "431300", "430000"]
    assert len(pack.tests) >= 12
    assert pack.digest.startswith("sha256:") and len(pack.digest) == len("sha256:") + 64


def test_missing_folder_is_a_rule_pack_error(tmp_path):
    error = _problems(tmp_path / "nowhere")
    assert "not a folder of rule files" in error.message
    assert error.problems[0].message_zh == "找不到规则包目录"


def test_folder_without_yaml_is_a_rule_pack_error(tmp_path):
    (tmp_path / "README.md").write_text("no rules here", encoding="utf-8")
    assert "no .yaml files" in str(_problems(tmp_path))


def test_duplicate_key_names_both_lines(bad_pack):
    folder, text = bad_pack(CASES["yaml-duplicate-key"])
    first, second = _line(text, "dibao_standard: []"), _line(text, "dibao_standard:\n    - {from: 2018")
    [problem] = _problems(folder).problems
    assert problem.line == second
    assert f"first on line {first}" in problem.message


def test_county_below_floor_names_county_value_bound_clause_file_and_line(bad_pack):
    """The issue's case: 新化县 lowers its 2018 standard to 3500, below the provincial 3600."""
    folder, text = bad_pack(CASES["county-below-provincial-floor"])
    error = _problems(folder)
    [problem] = [p for p in error.problems if p.details.get("bound_parameter") == "dibao_standard"]
    assert problem.file == XINHUA
    assert problem.line == _line(text, "value: 3500")
    assert problem.details == {
        "jurisdiction": "431322", "parameter": "dibao_standard", "start": "2018-01-01", "end": "2018-12-31",
        "value": "3500", "bound": "3600", "bound_parameter": "dibao_standard", "reference": CLAUSE,
        "limit": "at_least"}
    assert "新化县" in problem.message_zh and "3600" in problem.message_zh and CLAUSE in problem.message_zh
    headline = error.message
    assert "431322" in headline and "3600" in headline and CLAUSE in headline


def test_raising_the_provincial_standard_flags_every_county_left_below(copy_pack):
    _edit(copy_pack, PROVINCE, "{from: 2019-01-01, value: 3960,", "{from: 2019-01-01, value: 4000,")
    error = _problems(copy_pack)
    flagged = {p.details["jurisdiction"]: p for p in error.problems}
    assert set(flagged) == {"431322", "430822"}  # 花垣县 433124 has 4000, 长沙县 and 长沙市 are higher
    for code, file in (("431322", XINHUA), ("430822", "values/430822-桑植县.yaml")):
        problem = flagged[code]
        assert problem.file == file
        assert problem.details["value"] == "3960" and problem.details["bound"] == "4000"
        assert problem.details["start"] == "2019-01-01" and problem.details["end"] is None
        assert "from 2019-01-01 – onwards is below dibao_standard 4000 of 430000 湖南省" in problem.message


def test_problems_of_two_files_are_collected_together(copy_pack):
    _edit(copy_pack, "pack.yaml", "illustrative: true\n", "illustrative: true\nversion: 2\n")
    _edit(copy_pack, XINHUA, "from: 2018-01-01", "from: 2018-02-30")
    error = _problems(copy_pack)
    assert sorted(p.file for p in error.problems) == ["pack.yaml", XINHUA]
    assert "2018-02-30" in str(error) and "version" in str(error)


def test_problems_of_values_and_rules_are_collected_together(copy_pack):
    _edit(copy_pack, XINHUA, "  dibao_standard:", "  dibao_standrd:")
    _edit(copy_pack, REVIEW, "when: dibao_eligible and enrolled\n", "when: dibao_eligable and enrolled\n")
    files = {p.file for p in _problems(copy_pack).problems}
    assert files == {XINHUA, REVIEW}


@pytest.mark.parametrize("name", ["medical_bands", "major_diseases", "housing_deadline", "temporary_multiples"],
                         ids=["bands", "list", "date", "map"])
def test_minimum_on_a_non_numeric_parameter_is_a_rule_pack_error(copy_pack, name):
    _edit(copy_pack, "parameters.yaml", f"\n  {name}:\n", f"\n  {name}:\n    minimum: 0\n")
    assert "minimum" in str(_problems(copy_pack))


@pytest.mark.parametrize(("old", "new"), [
    ("dibao_monthly: {type: money, default: 0", "dibao_monthly: {type: money, default: abc"),
    ("dibao_eligible: {type: bool, default: false", "dibao_eligible: {type: bool, default: 3"),
], ids=["money-default-abc", "bool-default-3"])
def test_variable_default_of_the_wrong_type_is_a_rule_pack_error(copy_pack, old, new):
    _edit(copy_pack, DIBAO, old, new)
    with pytest.raises(RulePackError) as info:
        load_pack(copy_pack)
    assert "default" in str(info.value)


def test_bound_on_an_unknown_parameter_is_a_rule_pack_error(copy_pack):
    _edit(copy_pack, "parameters.yaml", "{parameter: national_poverty_line, of: root",
          "{parameter: national_poverty_lin, of: root")
    error = _problems(copy_pack)
    assert "national_poverty_lin" in str(error) and "did you mean 'national_poverty_line'" in str(error)


# -- the digest identifies content, not layout ----------------------------------------------------------------


def _digest(folder: Path) -> str:
    return load_pack(folder).digest


def test_digest_ignores_key_order_comments_and_flow_style(copy_pack, pack):
    block = ("    # reordered, block style\n"
             "    - document: 新政发〔2018〕1号\n      value: 3720\n      from: 2018-01-01\n")
    _edit(copy_pack, XINHUA, "    - {from: 2018-01-01, value: 3720, document: 新政发〔2018〕1号}\n", block)
    _edit(copy_pack, XINHUA, 'kind: values\njurisdiction: "431322"\n', "jurisdiction: '431322'\nkind: values\n")
    assert _digest(copy_pack) == pack.digest


def test_digest_changes_when_a_value_changes(copy_pack, pack):
    _edit(copy_pack, XINHUA, "value: 3720", "value: 3730")
    assert _digest(copy_pack) != pack.digest


def test_digest_changes_when_a_document_reference_changes(copy_pack, pack):
    _edit(copy_pack, XINHUA, "新政发〔2018〕1号", "新政发〔2018〕2号")
    assert _digest(copy_pack) != pack.digest


def _lines(node):
    """Every mapping's line and its keys' lines, depth first."""
    if isinstance(node, source.Node):
        return [(node.line, sorted(node.key_lines.items()))] + [x for v in node.values() for x in _lines(v)]
    if isinstance(node, list):
        return [x for v in node for x in _lines(v)]
    return []


def test_libyaml_and_pyyaml_read_every_document_of_the_pack_alike():
    files = sorted(HUNAN.rglob("*.yaml"))
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        quick = yaml.load(text, Loader=source._QuickLoader)  # noqa: S506 - SafeLoader subclasses
        strict = yaml.load(text, Loader=source._StrictLoader)  # noqa: S506
        assert quick == strict, path
        assert _lines(quick) == _lines(strict), path
