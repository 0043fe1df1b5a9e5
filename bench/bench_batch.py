"""Batch throughput against the baselines a user would otherwise pick (issue 5), in one run.

    python bench/bench_batch.py [--n 100000] [--memory-n 1000000] [--skip-memory] [--out bench/RESULTS.md]

On the same synthetic population (``doudi synth``, seed 1, as of 2019-06-30) it measures, and
prints as ratios:

- ``doudi batch`` (engine.batch.run_batch, JSONL in and out) with 1 worker and with all cores;
- the minimal hand-written durable-rules implementation of docs/semantics.md §7 (bench/minimal_durable.py), the floor,
  twice: as a batch tool doing the same reading and writing as ``doudi batch`` (JSONL in, JSONL out),
  and on households already in memory with nothing written (its core alone);
- the plain-Python reference implementation (tests/reference.py);
- the median cost of one in-process evaluation, and of one ``POST /api/v1/evaluate`` round trip
  through the Flask test client (when the web package is there);
- peak memory (RSS) of one process evaluating 100,000 and then 1,000,000 households, streamed.

Every throughput is measured in a fresh process of its own (a contender measured after another one
in the same process inherits its heap and ran up to a third slower), the timing starting once the
process has imported its code. doudi batch on one worker, the floor with JSONL and doudi batch on all
cores are measured ``--repeat`` times in turn; the medians are reported, and the medians of the
ratios within each turn.

The results are written to RESULTS.md beside this script, with the command and the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

from engine import evaluate, load_pack  # noqa: E402
from engine.batch import TASK, evaluate_chunk, run_batch, tune_collector  # noqa: E402
from engine.evaluate import evaluate_many  # noqa: E402
from engine.rolls import jsonl_slices  # noqa: E402
from engine.synth import synth_households  # noqa: E402

AS_OF = dt.date(2019, 6, 30)
RULES = ROOT / "rules" / "hunan"


def _status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(kind: str, roll: str, tmp: str, n: int) -> float:
    """Seconds that ``kind`` takes over the roll, in this (fresh) process, as each contender is run."""
    import minimal_durable
    from reference import evaluate_reference

    households = [json.loads(line) for line in open(roll, encoding="utf-8")] if kind in (
        "engine", "minimal", "reference") else []
    # the population is read-only: keep the collector from re-scanning it, and tune it as `doudi batch`
    # tunes its own process (engine.batch.tune_collector), for every measurement alike
    tune_collector()
    path, out = Path(roll), Path(tmp) / f"{kind}.out.jsonl"
    t0 = time.perf_counter()
    if kind == "batch1":
        run_batch(RULES, path, out, as_of=AS_OF, workers=1, own_process=True)
    elif kind == "batchN":
        run_batch(RULES, path, out, as_of=AS_OF, workers=os.cpu_count() or 1)
    elif kind == "engine":
        pack = load_pack(RULES)
        for i in range(0, n, 50):
            evaluate_many(pack, households[i:i + 50], AS_OF, reasons=False)
    elif kind == "floor_io":
        minimal_durable.run_batch(path, out, AS_OF)
    elif kind == "minimal":
        for i in range(0, n, 500):
            minimal_durable.evaluate_batch(households[i:i + 500], AS_OF)
    elif kind == "reference":
        for h in households:
            evaluate_reference(h, AS_OF)
    return time.perf_counter() - t0


def _child(queue: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    queue.put(fn(*args))


def _fresh(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a fresh (spawned, not daemonic: it may start workers of its own) process."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue, fn, args))
    child.start()
    result = queue.get()
    child.join()
    return result


def _timed(label: str, kind: str, roll: Path, tmp: str, n: int) -> float:
    """Households per second of ``kind``, measured in a fresh process."""
    seconds = _fresh(_measure, kind, str(roll), tmp, n)
    print(f"  {label:<46} {n / seconds:>10,.0f} households/s  ({seconds:.1f} s)", flush=True)
    return n / seconds


def _roll(path: Path, n: int) -> list[str]:
    counties = [c.code for c in load_pack(RULES).counties()]
    lines = [json.dumps(h, ensure_ascii=False) for h in synth_households(counties, n, 1, AS_OF)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def _median_us(fn, cases, n: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(cases[i % len(cases)])
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e6


def _api_round_trip(households: list[dict], n: int) -> float | None:
    try:
        from web import create_app
    except ImportError:
        return None
    from engine import users, versions
    from engine.store import open_db

    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.db"
        db = open_db(database)
        versions.import_folder(db, RULES, "bench")
        _, pack = versions.pack_of(db)
        users.add_user(db, "bench", "reviewer", "bench-password", "reviewer", "430000", pack=pack)
        token = users.issue_token(db, "bench", "reviewer")
        app = create_app({"TESTING": True, "DATABASE": str(database)})
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}

        def call(h: dict) -> None:
            response = client.post("/api/v1/evaluate", json={"household": h, "as_of": AS_OF.isoformat()},
                                   headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)

        for h in households[:20]:
            call(h)
        return _median_us(call, households, n)


def _memory_marks(path: str, total: int) -> list[tuple[int, float, float]]:
    """In a fresh process: (evaluations, RSS MB, peak RSS MB) after each 10% of ``total`` evaluations,
    streaming the roll again and again through a batch worker's code path (engine.batch.evaluate_chunk)."""
    pack = load_pack(RULES)
    tune_collector()
    marks, done = [], 0
    step = max(1, total // 10)
    while done < total:
        for block in jsonl_slices(Path(path), TASK):
            _, part = evaluate_chunk(pack, ((path, *block), AS_OF, None, False))
            before, done = done, done + part.households
            if done // step > before // step:
                marks.append((done, _status_mb("VmRSS"), _status_mb("VmHWM")))
            if done >= total:
                break
    return marks


def _memory(path: Path, total: int) -> list[tuple[int, float, float]]:
    """Memory of a batch worker over ``total`` evaluations, measured in a fresh process."""
    marks = _fresh(_memory_marks, str(path), total)
    print("  memory (RSS, peak): " + ", ".join(f"{n:,}: {rss:.0f}/{peak:.0f} MB" for n, rss, peak in marks),
          flush=True)
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="households in the population")
    parser.add_argument("--memory-n", type=int, default=1_000_000, help="evaluations for the memory run")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="turns of doudi batch (1 and all workers) and the floor")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = parser.parse_args()
    command = "python bench/bench_batch.py " + " ".join(sys.argv[1:])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    print(f"$ {command}\n{machine}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        roll = Path(tmp) / "roll.jsonl"
        lines = _roll(roll, args.n)
        households = [json.loads(line) for line in lines]
        cores = os.cpu_count() or 1
        print(f"{args.n:,} synthetic households, as of {AS_OF}; each measured in a fresh process:", flush=True)
        runs = []
        for _ in range(args.repeat):
            runs.append((_timed("doudi batch, 1 worker", "batch1", roll, tmp, args.n),
                         _timed("minimal durable-rules, JSONL in and out", "floor_io", roll, tmp, args.n),
                         _timed(f"doudi batch, {cores} workers", "batchN", roll, tmp, args.n)))
        kinds = ("batch1", "floor_io", "batchN")
        rates = {key: statistics.median(run[k] for run in runs) for k, key in enumerate(kinds)}
        paired = sorted(b / f for b, f, _ in runs)
        scalings = sorted(n / b for b, _, n in runs)
        rates["engine"] = _timed("engine.evaluate_many in process (no files)", "engine", roll, tmp, args.n)
        rates["minimal"] = _timed("minimal durable-rules, in memory (core)", "minimal", roll, tmp, args.n)
        rates["reference"] = _timed("plain-Python reference", "reference", roll, tmp, args.n)
        pack = load_pack(RULES)
        single = _median_us(lambda h: evaluate(pack, h, AS_OF), households[:2000], 2000)
        single_nt = _median_us(lambda h: evaluate(pack, h, AS_OF, trace=False), households[:2000], 2000)
        api = _api_round_trip(households[:2000], 1000)
        print(f"  one evaluation in process: median {single:.0f} µs (with trace), {single_nt:.0f} µs (no trace)")
        if api is not None:
            print(f"  one POST /api/v1/evaluate round trip: median {api:.0f} µs")
        memory = [] if args.skip_memory else _memory(roll, args.memory_n)

    ratio_floor = rates["batch1"] / rates["minimal"]
    ratio_io = statistics.median(paired)
    scaling = statistics.median(scalings)
    lines_out = [
        "# Benchmark results", "",
        f"Command: `{command}`  ", f"Machine: {machine}  ", f"Date: {dt.date.today().isoformat()}", "",
        f"Population: {args.n:,} synthetic households (`doudi synth --n {args.n} --seed 1`), as of {AS_OF}.", "",
        "| what | households/s | ratio |", "|---|---:|---:|",
        f"| doudi batch, 1 worker | {rates['batch1']:,.0f} | 1.00 |",
        f"| doudi batch, {os.cpu_count()} workers | {rates['batchN']:,.0f} | {scaling:.2f} × 1 worker "
        f"(runs: {', '.join(f'{r:.2f}' for r in scalings)}) |",
        f"| engine.evaluate_many in process | {rates['engine']:,.0f} | {rates['engine'] / rates['batch1']:.2f} |",
        f"| minimal hand-written durable-rules, JSONL in and out (floor) | {rates['floor_io']:,.0f} | "
        f"batch is {ratio_io:.2f} × the floor (runs: {', '.join(f'{r:.2f}' for r in paired)}) |",
        f"| minimal hand-written durable-rules, in memory (its core) | {rates['minimal']:,.0f} | "
        f"batch is {ratio_floor:.2f} × the core |",
        f"| plain-Python reference (tests/reference.py) | {rates['reference']:,.0f} | "
        f"{rates['reference'] / rates['batch1']:.2f} × batch |", "",
        "The floor as a batch tool reads and writes what `doudi batch` does (same records, same outputs; "
        "tests/test_minimal_durable.py checks it) but neither validates the households nor keeps a trace. "
        "Issue 5 asks for at least 0.5 × the floor per worker. Each throughput was measured in a fresh process; "
        f"doudi batch on one worker, the floor and doudi batch on {os.cpu_count()} workers were run "
        f"{args.repeat} times in turn: medians, and the medians of the ratios within each turn.", "",
        f"One evaluation in process: median {single:.0f} µs with trace, {single_nt:.0f} µs without.  ",
    ]
    if api is not None:
        lines_out.append(f"One `POST /api/v1/evaluate` round trip (Flask test client, stored decision): "
                         f"median {api:.0f} µs.  ")
    if memory:
        at = min(100_000, args.memory_n)
        first = next(peak for n, _rss, peak in memory if n >= at)
        last = memory[-1][2]
        lines_out += ["", f"Peak memory (VmHWM) of a fresh process evaluating the roll over and over as a batch "
                      f"worker does: {first:.0f} MB after {at:,} evaluations, {last:.0f} MB after "
                      f"{memory[-1][0]:,} ({(last / first - 1) * 100:+.1f}%)."]
    args.out.write_text("\n".join(lines_out) + "\n", encoding="utf-8")
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
