"""Median in-process cost of one evaluation of a typical household (issue 2).

    python bench/bench_eval.py [--n 5000]

Prints the median and the 90th percentile for the public example households, with and without
the trace, and, as the baseline measured in the same process, the cost of the plain-Python
reference implementation (tests/reference.py) on the same households.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from reference import evaluate_reference  # noqa: E402

from engine import evaluate, load_pack  # noqa: E402


def _time(fn, cases, n):
    samples = []
    for i in range(n):
        household, as_of = cases[i % len(cases)]
        t0 = time.perf_counter()
        fn(household, as_of)
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return statistics.median(samples) * 1e6, samples[int(len(samples) * 0.9)] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="evaluations per measurement")
    args = parser.parse_args()
    pack = load_pack(ROOT / "rules" / "hunan")
    examples = json.loads((ROOT / "tests" / "policy" / "public-examples.json").read_text(encoding="utf-8"))
    cases = [(e["household"], dt.date.fromisoformat(e["as_of"])) for e in examples]
    for household, as_of in cases:  # warm the caches (compiled ruleset, parameter resolution)
        evaluate(pack, household, as_of)
    rows = [
        ("engine, with trace", lambda h, d: evaluate(pack, h, d)),
        ("engine, no trace", lambda h, d: evaluate(pack, h, d, trace=False)),
        ("reference (plain Python, baseline)", evaluate_reference),
    ]
    print(f"{len(pack.rules)} rules in {len(pack.plan.steps)} levels, {len(pack.plan.stages)} durable-rules stages; "
          f"{len(cases)} households; n={args.n}")
    results = {}
    for name, fn in rows:
        med, p90 = _time(fn, cases, args.n)
        results[name] = med
        print(f"{name:38s} median {med:8.1f} µs   p90 {p90:8.1f} µs")
    base = results["reference (plain Python, baseline)"]
    print(f"engine / reference: {results['engine, with trace'] / base:.1f}× with trace, "
          f"{results['engine, no trace'] / base:.1f}× without")


if __name__ == "__main__":
    main()
