"""Impact report over a synthetic population: skipping the counties a change cannot reach (issue 3).

    python bench/bench_impact.py [--n 100000] [--seed 1] [--as-of 2019-06-30]

Generates ``--n`` synthetic households over all 122 counties (engine.synth), builds a version of
rules/hunan with one county's standard changed (新化县 431322, 2019: 3960 → 4100) in a temporary
folder, and times ``impact`` twice in this process: households outside the reached county evaluated
once (the default), then every household evaluated under both versions. The two reports must agree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import load_pack  # noqa: E402
from engine.impact import impact  # noqa: E402
from engine.synth import synth_households  # noqa: E402

CHANGE = ("values/431322-新化县.yaml", "{from: 2019-01-01, value: 3960, document: 新政发〔2019〕1号}",
          "{from: 2019-01-01, value: 4100, document: 新政发〔2019〕9号, reason: 年度提标}")
_DIFFERS = {"evaluated", "skipped", "affected_counties", "counties"}  # counties differ only in `evaluated`


def _changed_pack(folder: Path):
    shutil.copytree(ROOT / "rules" / "hunan", folder)
    name, old, new = CHANGE
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{name} no longer holds {old}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_pack(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="synthetic households (default 100000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2019-06-30", help="evaluation date (default 2019-06-30)")
    args = parser.parse_args()
    on = dt.date.fromisoformat(args.as_of)
    print("$ " + shlex.join(["python", *sys.argv]))
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")

    old = load_pack(ROOT / "rules" / "hunan")
    with tempfile.TemporaryDirectory() as tmp:
        new = _changed_pack(Path(tmp) / "hunan")
    counties = [c.code for c in old.counties()]

    def population():
        return synth_households(counties, args.n, args.seed, on)

    t0 = time.perf_counter()
    for _ in population():
        pass
    synth = time.perf_counter() - t0
    print(f"{args.n} households over {len(counties)} counties (seed {args.seed}), as of {on}; "
          f"generating them alone takes {synth:.1f} s (included in the times below: they are streamed)")

    impact(old, new, synth_households(counties, 200, args.seed + 1, on), on)  # warm: rulesets, caches
    results = {}
    for label, skip in (("skip unreached counties", True), ("evaluate all under both", False)):
        t0 = time.perf_counter()
        report = impact(old, new, population(), on, skip_unaffected=skip)
        seconds = time.perf_counter() - t0
        results[label] = (seconds, report)
        print(f"{label:26s} {seconds:7.1f} s  {args.n / seconds:8.0f} households/s  "
              f"(evaluated under the new version: {report.evaluated}, skipped: {report.skipped})")
    (fast, a), (slow, b) = results.values()
    assert {k: v for k, v in a.to_dict().items() if k not in _DIFFERS} == {
        k: v for k, v in b.to_dict().items() if k not in _DIFFERS}, "the two reports disagree"
    print(f"speed-up from skipping: {slow / fast:.2f}×; the reports agree")
    print(f"result: {a.changed} households with an output changed, errors {a.errors}")
    for path, total in a.amounts.items():
        print(f"  {path}: {total.up} up, {total.down} down, total {total.old} → {total.new} ({total.delta:+})")
    for path, flag in a.flags.items():
        print(f"  {path}: {flag.old} → {flag.new} (gained {flag.gained}, lost {flag.lost})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak memory of the process: {peak:.0f} MiB (households are streamed, never held)")


if __name__ == "__main__":
    main()
