"""The ``doudi`` command line: decisions on stdout, exit 2 and a message naming the field on bad input.

Most runs use click's CliRunner; a few run the installed console script in a subprocess to prove the
exit codes and the absence of tracebacks end to end.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import HUNAN, ROOT

import doudi.__main__  # noqa: F401 - every command module registered, as the console script has them
from doudi.cli import cli

EXAMPLES = json.loads((ROOT / "tests" / "policy" / "public-examples.json").read_text(encoding="utf-8"))
E01 = EXAMPLES[0]
CLAUSE = "湘民发〔2017〕33号 二（二）"
DOUDI = Path(sys.executable).with_name("doudi")


@pytest.fixture
def run():
    """Invoke the CLI in-process; assert it ended by exit status, never by an uncaught exception."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        result = runner.invoke(cli, [str(a) for a in args], input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert "Traceback" not in result.output
        return result

    return invoke


@pytest.fixture
def household_file(tmp_path):
    """Write a household (default: the E01 example) to a JSON file; returns its path."""

    def write(household=None, name: str = "household.json") -> Path:
        path = tmp_path / name
        data = E01["household"] if household is None else household
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return path

    return write


XINHUA = "values/431322-新化县.yaml"


@pytest.fixture
def xinhua_3500(tmp_path):
    """A copy of the Hunan pack in which 新化县 sets its 2018 standard to 3500, below the provincial 3600."""
    folder = tmp_path / "hunan-3500"
    shutil.copytree(HUNAN, folder)
    values = folder / XINHUA
    text = values.read_text(encoding="utf-8")
    assert text.count("value: 3720") == 1
    values.write_text(text.replace("value: 3720", "value: 3500"), encoding="utf-8")
    return folder


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def _decision(stdout: str) -> dict:
    return json.loads(stdout)


# -- eval ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_eval_public_example(run, household_file, example):
    result = run("eval", household_file(example["household"]), "--as-of", example["as_of"])
    assert result.exit_code == 0, result.stderr
    decision = _decision(result.stdout)
    assert decision["household_id"] == example["id"]
    assert decision["as_of"] == example["as_of"]
    assert decision["outputs"]["dibao_monthly"] == example["expected_outputs"]["dibao_monthly"]
    assert {k: v for k, v in decision["outputs"].items() if k in example["expected_outputs"]} \
        == example["expected_outputs"]  # docs/semantics.md §8's fields; the pack reports more (decision.schema.json)
    assert decision["rule_version"]["number"] is None  # a pack folder, not a stored version
    assert decision["rule_version"]["digest"].startswith("sha256:")


def test_eval_reports_the_digest_of_the_pack(run, household_file, pack):
    result = run("eval", household_file(), "--as-of", "2018-06-01", "--rules", HUNAN)
    assert _decision(result.stdout)["rule_version"] == {"number": None, "digest": pack.digest}


def test_eval_trace_and_reasons_cite_clauses(run, household_file):
    decision = _decision(run("eval", household_file(), "--as-of", "2018-06-01").stdout)
    step = next(s for s in decision["trace"] if s["rule"] == "dibao.income_test")
    assert step["reference"] == CLAUSE
    assert step["parameters"]["dibao_standard"]["value"] == 3600
    assert any(CLAUSE in sentence for sentence in decision["reasons"]["zh"])


def test_eval_no_trace(run, household_file):
    decision = _decision(run("eval", household_file(), "--as-of", "2018-06-01", "--no-trace").stdout)
    assert decision["trace"] == []
    assert decision["outputs"]["dibao_monthly"] == 550


def test_eval_as_of_defaults_to_today(run, household_file):
    before = dt.date.today().isoformat()
    result = run("eval", household_file(), "--no-trace")
    after = dt.date.today().isoformat()
    assert result.exit_code == 0, result.stderr
    assert _decision(result.stdout)["as_of"] in (before, after)


def test_eval_reads_stdin(run):
    result = run("eval", "-", "--as-of", "2018-06-01", input=json.dumps(E01["household"], ensure_ascii=False))
    assert result.exit_code == 0, result.stderr
    assert _decision(result.stdout)["outputs"]["dibao_monthly"] == 550


def _changed(change) -> dict:
    household = copy.deepcopy(E01["household"])
    change(household)
    return household


def _negative_wages(household: dict) -> None:
    household["members"][0]["income"]["wages"] = -5


BAD_HOUSEHOLDS = {
    "unknown-field": (lambda h: h.update(colour="red"), ["colour", "unknown field 'colour'"]),
    "unknown-member-field": (lambda h: h["members"][1].update(agee=5),
                             ["members[1]", "unknown field 'agee'"]),
    "negative-amount": (_negative_wages, ["members[0].income.wages", "-5 is below the minimum 0"]),
    "duplicate-member-id": (lambda h: h["members"].append({"id": "m1", "age": 3}),
                            ["members[3].id", "duplicate member id 'm1'"]),
    "claim-unknown-member": (lambda h: h.update(medical_claims=[{"member": "m9", "disease": "esrd",
                                                                 "in_policy_selfpaid": 100}]),
                             ["medical_claims[0].member", "unknown member 'm9'"]),
    "county-is-the-province": (lambda h: h.update(county="430000"),
                               ["county", "'430000' is not a county-level division"]),
    "county-unknown": (lambda h: h.update(county="999999"), ["county", "'999999' is unknown"]),
    "incident-type": (lambda h: h.update(incidents=[{"type": "flood", "severity": "severe",
                                                    "date": "2018-05-01"}]),
                      ["incidents[0].type", "'flood' is not one of"]),
    "bad-date-field": (lambda h: h.update(last_review="2017-02-30"), ["last_review", "2017-02-30"]),
    "missing-members": (lambda h: h.pop("members"), ["missing required field 'members'"]),
    "disease-typo": (lambda h: h.update(medical_claims=[{"member": "m1", "disease": "gastric_cancr",
                                                         "in_policy_selfpaid": 100}]),
                     ["medical_claims[0].disease", "unknown disease code 'gastric_cancr'",
                      "did you mean 'gastric_cancer'"]),
}


@pytest.mark.parametrize(("change", "words"), BAD_HOUSEHOLDS.values(), ids=BAD_HOUSEHOLDS.keys())
def test_eval_bad_household_exits_2_naming_the_field(run, household_file, change, words):
    result = run("eval", household_file(_changed(change)), "--as-of", "2018-06-01")
    assert result.exit_code == 2
    assert result.stdout == ""
    for word in words:
        assert word in result.stderr
    assert "家庭信息有误" in result.stderr


BAD_FILES = {
    "invalid-json": ('{"household_id": "X",\n  "county": }', ["invalid JSON at line 2, column 13"]),
    "nan": (json.dumps(E01["household"]).replace("1200", "NaN"), ["members[0].income.transfer", "not a finite number"]),
    "not-an-object": ("[1, 2]", ["a household must be a JSON object"]),
    "empty-file": ("", ["invalid JSON at line 1, column 1"]),
}


@pytest.mark.parametrize(("text", "words"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_eval_bad_json_exits_2(run, tmp_path, text, words):
    path = tmp_path / "household.json"
    path.write_text(text, encoding="utf-8")
    result = run("eval", path, "--as-of", "2018-06-01")
    assert result.exit_code == 2
    for word in words:
        assert word in result.stderr


def test_eval_nan_names_the_field(run, tmp_path):
    path = tmp_path / "household.json"
    path.write_text(json.dumps(E01["household"]).replace("1200", "NaN"), encoding="utf-8")
    result = run("eval", path, "--as-of", "2018-06-01")
    assert result.exit_code == 2
    assert "members[0].income.transfer" in result.stderr


def test_eval_missing_file_exits_2(run, tmp_path):
    result = run("eval", tmp_path / "nope.json")
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.json'}: file not found" in result.stderr


@pytest.mark.parametrize("as_of", ["2018-13-01", "2018/06/01", "yesterday"])
def test_eval_bad_as_of_exits_2(run, household_file, as_of):
    result = run("eval", household_file(), "--as-of", as_of)
    assert result.exit_code == 2
    assert f"--as-of: {as_of!r} is not a date" in result.stderr
    assert "YYYY-MM-DD" in result.stderr


def test_eval_date_without_parameters_in_force_exits_2(run, household_file):
    result = run("eval", household_file(), "--as-of", "2016-06-01")
    assert result.exit_code == 2
    for word in ("no parameter value in force on 2016-06-01", "430626 平江县", "dibao_standard",
                 "the earliest value starts 2017-01-01"):
        assert word in result.stderr


def test_eval_with_a_missing_rules_folder_exits_2(run, household_file, tmp_path):
    result = run("eval", household_file(), "--rules", tmp_path / "no-such-pack")
    assert result.exit_code == 2
    assert "not a folder of rule files" in result.stderr


def test_eval_with_an_invalid_pack_exits_2(run, household_file, xinhua_3500):
    result = run("eval", household_file(), "--as-of", "2018-06-01", "--rules", xinhua_3500)
    assert result.exit_code == 2
    assert "is invalid" in result.stderr and "431322" in result.stderr


# -- validate and test --------------------------------------------------------------------------------------


def test_validate_the_shipped_pack(run, pack):
    result = run("validate", HUNAN)
    assert result.exit_code == 0, result.stderr
    assert "rule pack 'hunan' is valid" in result.stdout
    assert "122 counties" in result.stdout and f"{len(pack.tests)} policy tests" in result.stdout
    assert pack.digest in result.stdout


def test_validate_defaults_to_the_shipped_pack(run):
    result = run("validate")
    assert result.exit_code == 0
    assert "rule pack 'hunan' is valid" in result.stdout


def test_validate_flags_a_county_below_the_provincial_floor(run, xinhua_3500):
    result = run("validate", xinhua_3500)
    assert result.exit_code == 1
    assert "invalid rule pack" in result.stderr
    line = _line_of(xinhua_3500 / XINHUA, "value: 3500")
    for word in (f"{XINHUA}:{line}", "431322 新化县", "dibao_standard 3500", "3600", CLAUSE,
                 "低于湖南省的农村低保标准"):
        assert word in result.stderr


def test_test_runs_every_policy_test(run, pack):
    result = run("test", HUNAN)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{len(pack.tests)} passed, 0 failed"


def test_test_reports_a_wrong_expectation(run, pack, tmp_path):
    folder = tmp_path / "hunan"
    shutil.copytree(HUNAN, folder)
    tests = folder / "tests" / "public-examples.yaml"
    text = tests.read_text(encoding="utf-8")
    assert text.count("    dibao_monthly: 550\n") == 1
    tests.write_text(text.replace("    dibao_monthly: 550\n", "    dibao_monthly: 551\n"), encoding="utf-8")
    result = run("test", folder)
    assert result.exit_code == 1
    assert "✗ E01 平江县 2018" in result.stderr
    assert "tests/public-examples.yaml:" in result.stderr
    assert "dibao_monthly: expected 551, got 550" in result.stderr
    assert result.stdout.strip() == f"{len(pack.tests) - 1} passed, 1 failed"


def test_test_on_an_invalid_pack_exits_1(run, xinhua_3500):
    result = run("test", xinhua_3500)
    assert result.exit_code == 1
    assert "431322" in result.stderr


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help_with_an_example(run, command):
    for flag in ("--help", "-h"):
        result = run(command, flag)
        assert result.exit_code == 0
        assert "Example:" in result.stdout
        assert f"doudi {command}" in result.stdout


def test_unknown_option_is_a_usage_error(run):
    result = run("eval", "x.json", "--as_of", "2018-06-01")
    assert result.exit_code == 2
    assert "No such option" in result.stderr


# -- the installed console script, end to end ---------------------------------------------------------------


def _doudi(*args: object, input: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(DOUDI), *map(str, args)], input=input, capture_output=True, text=True,
                          encoding="utf-8", timeout=60, check=False)
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    return done


def test_console_script_eval(household_file):
    done = _doudi("eval", household_file(), "--as-of", "2018-06-01", "--no-trace")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"]["dibao_monthly"] == 550


def test_console_script_eval_stdin():
    example = EXAMPLES[7]  # E08 花垣县: temporary assistance with the county's own multiple
    done = _doudi("eval", "-", "--as-of", example["as_of"], input=json.dumps(example["household"]))
    assert done.returncode == 0, done.stderr
    outputs = json.loads(done.stdout)["outputs"]
    assert outputs["temporary_assistance"] == 2667 and outputs["temporary_assistance_approval"] == "county"


@pytest.mark.parametrize(("change", "as_of", "words"), [
    (_negative_wages, "2018-06-01", ["members[0].income.wages", "-5 is below the minimum 0"]),
    (None, "2016-06-01", ["no parameter value in force on 2016-06-01"]),
], ids=["negative-amount", "no-parameters"])
def test_console_script_bad_input_exits_2(household_file, change, as_of, words):
    done = _doudi("eval", household_file(_changed(change) if change else None), "--as-of", as_of)
    assert done.returncode == 2
    assert done.stdout == ""
    for word in words:
        assert word in done.stderr


def test_console_script_validate_and_test(xinhua_3500):
    assert _doudi("validate", HUNAN).returncode == 0
    bad = _doudi("validate", xinhua_3500)
    assert bad.returncode == 1
    assert "431322" in bad.stderr and "3600" in bad.stderr and CLAUSE in bad.stderr
    tested = _doudi("test", HUNAN)
    assert tested.returncode == 0, tested.stderr
    assert tested.stdout.strip().endswith("passed, 0 failed")


def test_python_dash_m_doudi():
    done = subprocess.run([sys.executable, "-m", "doudi", "--help"], capture_output=True, text=True,
                          encoding="utf-8", timeout=60, check=False)
    assert done.returncode == 0
    assert "eval" in done.stdout and "validate" in done.stdout and "test" in done.stdout
