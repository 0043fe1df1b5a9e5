"""Mark the mutants inside type annotations of a cosmic-ray session as done (equivalent, not run).

Every engine module starts with ``from __future__ import annotations``: annotations are never evaluated,
so ``str | None`` → ``str & None`` changes nothing. Run between ``cosmic-ray init`` and ``exec``:
``python bench/mutation/annotations.py MODULE SESSION``; they are reported as survivors with
worker outcome ``skipped`` and counted as equivalent in docs/mutation.md."""

from __future__ import annotations

import ast
import sqlite3
import sys

REASON = "equivalent: inside an annotation (from __future__ import annotations, never evaluated)"


def spans(source: str) -> list[tuple[int, int, int, int]]:
    """(first line, column, last line, end column) of every annotation in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        annotations = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            annotations += [x.annotation for x in a.posonlyargs + a.args + a.kwonlyargs if x.annotation]
            annotations += [x.annotation for x in (a.vararg, a.kwarg) if x and x.annotation]
            annotations += [node.returns] if node.returns else []
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        found += [(n.lineno, n.col_offset, n.end_lineno or n.lineno, n.end_col_offset or 0) for n in annotations]
    return found


def main(module: str, session: str) -> None:
    inside = spans(open(module, encoding="utf-8").read())
    db = sqlite3.connect(session)
    jobs = [job for job, row, col in db.execute("select job_id, start_pos_row, start_pos_col from mutation_specs")
            if any((a, b) <= (row, col) < (c, d) for a, b, c, d in inside)]
    db.executemany("insert or ignore into work_results (worker_outcome, output, test_outcome, diff, job_id) "
                   "values ('SKIPPED', ?, 'SURVIVED', '', ?)", [(REASON, job) for job in jobs])
    db.commit()
    print(f"{len(jobs)} mutants inside annotations marked equivalent")


if __name__ == "__main__":
    main(*sys.argv[1:3])
