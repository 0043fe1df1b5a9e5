"""A failing property test reports its falsifying example under the project's pytest configuration.

With `filterwarnings = error`, anything hypothesis warns while reporting would turn a failure into an
INTERNALERROR; and schemathesis's pytest plugin, loaded by default, replaces hypothesis's printer of
the failing example with one that prints nothing (``Failing test case: test(x=,)``); tests/conftest.py
restores it. This runs a failing property test in a subprocess with the same configuration and
conftest and reads what a developer would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib

from conftest import ROOT

FAILING = '''
from hypothesis import HealthCheck, given, settings, strategies as st

@st.composite
def cases(draw):
    return {"members": [{"id": f"m{i}"} for i in range(draw(st.integers(0, 9)))]}

@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(0, 1000))
def test_fails_from_three_members(case, income):
    assert len(case["members"]) < 3 or income < 0
'''


def test_a_failing_property_test_shows_its_falsifying_example(tmp_path):
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert options["filterwarnings"] == ["error"]
    ini = "\n".join(["[pytest]", f"addopts = {options['addopts']}", "filterwarnings =",
                     *(f"    {f}" for f in options["filterwarnings"])])
    (tmp_path / "pytest.ini").write_text(ini + "\n", encoding="utf-8")
    (tmp_path / "test_property.py").write_text(FAILING, encoding="utf-8")
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_property.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out  # tests failed; 3 would be an INTERNALERROR
    assert "INTERNALERROR" not in out
    assert "Failing test case: test_fails_from_three_members(" in out
    assert "case={'members': [{'id': 'm0'}, {'id': 'm1'}, {'id': 'm2'}]}," in out, out
    assert "income=0," in out
