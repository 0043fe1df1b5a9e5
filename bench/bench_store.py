"""Bytes the database keeps per stored decision (issue 12: "~16.7 KB stored per evaluation").

    python bench/bench_store.py [--n 1000] [--no-trace]

Evaluates ``--n`` synthetic households (``doudi synth``, seed 1, as of 2019-06-30) with version 1,
stores each as ``POST /evaluate`` does (``engine.decisions.record``: the decision row and its audit
entry) in a fresh database, and prints the growth of the database file per decision (pages
included, after a checkpoint and VACUUM), and the mean size of the decision row's columns.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import decisions, versions  # noqa: E402
from engine.evaluate import evaluate  # noqa: E402
from engine.store import open_db  # noqa: E402
from engine.synth import synth_households  # noqa: E402


def _size(db, path: Path) -> int:
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--no-trace", action="store_true", help="store the decisions without their trace")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        db = open_db(path)
        versions.import_folder(db, ROOT / "rules" / "hunan", "bench")
        _, pack = versions.pack_of(db, 1)
        before = _size(db, path)
        on = dt.date(2019, 6, 30)
        for household in synth_households([c.code for c in pack.counties()], args.n, seed=1):
            decisions.record(db, evaluate(pack, household, on, version=1), household, "bench",
                             **({"trace": False} if args.no_trace else {}))
        after = _size(db, path)
        columns = [r[1] for r in db.execute("PRAGMA table_info(decisions)").fetchall()]
        means = {c: db.execute(f"select avg(length([{c}])) from decisions").fetchone()[0] for c in columns}
        db.conn.close()
    print(f"{args.n} decisions: {(after - before) / args.n:,.0f} bytes of database file per decision "
          f"(audit entry and index included)")
    print("mean bytes per column: " + ", ".join(f"{c} {v:,.0f}" for c, v in means.items() if v))


if __name__ == "__main__":
    main()
