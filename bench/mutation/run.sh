#!/bin/sh
# Mutation run over one module against its unit tests (docs/mutation.md); not in CI: ~10 min on 2 cores.
#   pip install -e '.[test,mutation]'
#   sh bench/mutation/run.sh                      # engine/amounts.py, tests/test_amounts.py
#   sh bench/mutation/run.sh bench/mutation/checks.toml   # engine/checks.py, tests/test_checks.py
#   sh bench/mutation/run.sh bench/mutation/limits.toml   # engine/limits.py, tests/test_limits_parse.py
# cosmic-ray mutates the module in place and restores it; the module is restored here too if the run is
# interrupted. Do not edit or test that module in the same tree while it runs.
set -eu
config=${1:-bench/mutation/amounts.toml}
module=$(sed -n 's/^module-path = "\(.*\)"/\1/p' "$config")
session=bench/out/mutation-$(basename "$config" .toml).sqlite
mkdir -p bench/out
backup=$(mktemp)
cp "$module" "$backup"
restore() { if [ -f "$backup" ]; then cp "$backup" "$module"; rm -f "$backup"; fi; }
trap restore EXIT
trap 'exit 130' INT TERM
rm -f "$session"
cosmic-ray init "$config" "$session"
python bench/mutation/annotations.py "$module" "$session"
cosmic-ray exec "$config" "$session"
cr-report "$session" --surviving-only --show-diff
cr-report "$session" | tail -3
