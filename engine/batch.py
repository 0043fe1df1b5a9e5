"""Evaluate a roll of households: streamed, in worker processes, in input order, resumable.

Input is JSONL (one household per line) or CSV (one row per member, see ``rolls.py``). Every input
record gives exactly one output record, in input order: a decision's outputs, or an error record
naming the line and the field. Memory stays flat: records travel in chunks through a bounded
pipeline, and workers are recycled now and then (durable-rules never gives memory back).
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import json
import multiprocessing
import os
import shutil
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .decision import dumps
from .errors import DoudiError
from .evaluate import outputs_many
from .load import load_files, load_pack
from .model import RulePack
from .rolls import Record, in_chunks, jsonl_slices, output_csv_header, output_csv_row, read_records, slice_records

CHUNK = 50  # households per durable-rules pass (measured best between 20 and 200)
TASK = 2000  # records per task handed to a worker (multiprocessing costs ~2 ms of the parent's CPU per task)
RECYCLE_AFTER = 500  # tasks (a million records) a worker evaluates before it is replaced


Brief = tuple[str, int] | None  # what the summary needs of an output record: None for an error


def brief_of(record: dict[str, Any]) -> Brief:
    """The review action and the monthly dibao of an output record, or None for an error record."""
    if "error" in record:
        return None
    return _brief(record["outputs"])


def _brief(outputs: dict[str, Any]) -> Brief:
    return str(outputs.get("review_action")), int(outputs.get("dibao_monthly") or 0)


@dataclass
class Summary:
    """What a batch run did: counts by review action, the monthly total, the errors."""

    households: int = 0
    errors: int = 0
    skipped: int = 0
    by_action: Counter[str] = field(default_factory=Counter)
    dibao_monthly_total: int = 0

    def add(self, record: dict[str, Any]) -> None:
        """Count an output record."""
        self.add_brief(brief_of(record))

    def add_brief(self, brief: Brief) -> None:
        """Count a record by what a worker reports of it (``brief_of``)."""
        self.households += 1
        if brief is None:
            self.errors += 1
            return
        self.by_action[brief[0]] += 1
        self.dibao_monthly_total += brief[1]

    def merge(self, other: Summary) -> None:
        """Add the counts of another part of the roll."""
        self.households += other.households
        self.errors += other.errors
        self.skipped += other.skipped
        self.by_action.update(other.by_action)
        self.dibao_monthly_total += other.dibao_monthly_total

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        """The summary ``as_dict`` wrote."""
        return cls(data["households"], data["errors"], data.get("skipped_resumed", 0),
                   Counter(data.get("review_action", {})), data.get("dibao_monthly_total", 0))

    def as_dict(self) -> dict[str, Any]:
        return {"households": self.households, "errors": self.errors, "skipped_resumed": self.skipped,
                "review_action": dict(sorted(self.by_action.items())),
                "dibao_monthly_total": self.dibao_monthly_total}


def error_record(record: Record, exc: DoudiError | ValueError) -> dict[str, Any]:
    """The output record of an input record that could not be evaluated."""
    problems = getattr(exc, "problems", [])
    details = [{"path": p.path or "", "message": p.message, "message_zh": p.message_zh or p.message}
               for p in problems]
    code = type(exc).__name__.replace("Error", "").lower() or "invalid"
    out: dict[str, Any] = {"line": record.line}
    if record.household_id:
        out["household_id"] = record.household_id
    out["error"] = {"code": code if code != "value" else "invalid_input", "message": getattr(exc, "message", str(exc)),
                    "message_zh": getattr(exc, "message_zh", "") or getattr(exc, "message", str(exc)),
                    "details": details or [{"path": "", "message": str(exc)}]}
    return out


def evaluate_records(pack: RulePack, records: list[Record], as_of: dt.date | None,
                     version: int | None = None) -> list[dict[str, Any]]:
    """Output records (decision outputs or errors) for a chunk of input records, in order."""
    on = as_of or dt.date.today()
    day = on.isoformat()
    rule_version = {"number": version, "digest": pack.digest}
    return [error_record(r, result) if isinstance(result, Exception) else
            {"line": r.line, "household_id": result[0], "county": result[1], "as_of": day,
             "rule_version": rule_version, "outputs": result[2]} for r, result in _outcomes(pack, records, on)]


Outcome = tuple[str, str, dict[str, Any]] | DoudiError  # household id, county, outputs; or the error


def _outcomes(pack: RulePack, records: list[Record], on: dt.date) -> Iterator[tuple[Record, Outcome]]:
    """Each input record (parsed) with what its evaluation gave, in order."""
    records = [r.parsed() for r in records]
    results = iter(outputs_many(pack, [r.household for r in records if r.error is None], on))
    for r in records:
        yield r, r.error if r.error is not None else next(results)


# -- worker processes ----------------------------------------------------------------------------

_WORKER_PACK: RulePack | None = None


def _pack(rules: str | Path | dict[str, str]) -> RulePack:
    return load_files(rules) if isinstance(rules, dict) else load_pack(rules)


def tune_collector() -> None:
    """Garbage collection for a process that only evaluates a roll (call it once the pack is loaded).

    The compiled pack is long-lived: it is moved out of the collector's sight (``gc.freeze``) so
    that collections do not scan it again and again, and the young generation is collected less
    often (each household allocates thousands of short-lived objects, none of them in cycles).
    Worth about 10% of throughput; not for a long-running server process.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _init_worker(rules: str | dict[str, str]) -> None:
    global _WORKER_PACK
    if _WORKER_PACK is None:  # spawned; a forked worker has the pack its parent loaded
        _WORKER_PACK = _pack(rules)
    tune_collector()


# A chunk of records (CSV), or a block of a JSONL file (path, first line number, byte offset, byte
# length) that the worker reads itself: the parent process only finds the blocks, so that it does
# not become the bottleneck of the workers.
Chunk = list[Record] | tuple[str, int, int, int]
Task = tuple[Chunk, "dt.date | None", "int | None", bool]
Done = tuple[bytes, Summary]
# what a worker process hands back: its output in a file of its own (the parent appends it to the
# results in the kernel, instead of receiving megabytes through a pipe), and the summary
Spilled = tuple[str, Summary]


def evaluate_chunk(pack: RulePack, task: Task) -> Done:
    """A chunk evaluated and written out: the output as UTF-8, and the summary of its records."""
    chunk, as_of, version, csv_out = task
    records = chunk if isinstance(chunk, list) else slice_records(Path(chunk[0]), *chunk[1:])
    summary = Summary()
    lines = []
    if csv_out:
        for part in in_chunks(records, CHUNK):
            for record in evaluate_records(pack, part, as_of, version):
                summary.add(record)
                lines.append(output_csv_row(record))
        return "".join(lines).encode("utf-8"), summary
    # JSONL: what dumps writes of evaluate_records' records, the rule version's JSON made once
    on = as_of or dt.date.today()
    middle = f'"as_of": "{on.isoformat()}", "rule_version": {dumps({"number": version, "digest": pack.digest})}'
    for part in in_chunks(records, CHUNK):
        for r, result in _outcomes(pack, part, on):
            if isinstance(result, Exception):
                error = error_record(r, result)
                summary.add(error)
                lines.append(dumps(error) + "\n")
                continue
            household_id, county, outputs = result
            summary.add_brief(_brief(outputs))
            lines.append(f'{{"line": {r.line}, "household_id": {dumps(household_id)}, "county": {dumps(county)}, '
                         f'{middle}, "outputs": {dumps(outputs)}}}\n')
    return "".join(lines).encode("utf-8"), summary


def _work(task: Task, spill: str) -> Spilled:
    assert _WORKER_PACK is not None
    text, summary = evaluate_chunk(_WORKER_PACK, task)
    descriptor, path = tempfile.mkstemp(suffix=".part", dir=spill)
    with os.fdopen(descriptor, "wb") as part:
        part.write(text)
    return path, summary


def _append(sink: IO[bytes], path: str) -> None:
    """Append a worker's output file to the results (by ``sendfile`` where it can), then delete it."""
    sink.flush()
    with open(path, "rb") as part:
        size, sent = os.fstat(part.fileno()).st_size, 0
        try:
            while sent < size and (n := os.sendfile(sink.fileno(), part.fileno(), sent, size - sent)):
                sent += n
        except (AttributeError, OSError):  # no sendfile from file to file here: copy the rest
            part.seek(sent)
            shutil.copyfileobj(part, sink)
            sink.flush()
    os.unlink(path)


def run_batch(rules: str | Path | dict[str, str], source: Path, target: Path, *, as_of: dt.date | None = None,
              workers: int | None = None, resume: bool = False, version: int | None = None,
              progress: Callable[[int], None] | None = None, own_process: bool = False) -> Summary:
    """Evaluate every household of ``source`` into ``target`` with a pack (folder or files); return the summary.

    With ``resume``, the records already complete in ``target`` are kept and skipped, so an
    interrupted run carries on where it stopped and loses nothing it had written. ``own_process``
    says the calling process does nothing else (the CLI): with one worker, the garbage collector is
    tuned for the run as worker processes tune it (``tune_collector``).
    """
    workers = workers or os.cpu_count() or 1
    out_csv = target.suffix.lower() == ".csv"
    done = _complete_records(target, out_csv) if resume and target.exists() else 0
    summary = Summary(skipped=done)
    if done:  # the summary (and the exit status) covers the whole roll, the records kept included
        for record in _kept(target, out_csv):
            summary.add_brief(record)
    # not opened for appending (O_APPEND): sendfile refuses such a file (see _append)
    with open(target, "r+b" if done else "wb") as sink:
        sink.seek(0, os.SEEK_END)
        if out_csv and not done:
            sink.write(output_csv_header().encode("utf-8"))
        chunks: Iterator[Chunk]
        if source.suffix.lower() == ".csv":
            records = read_records(source, _pack(rules).facts)
            for _ in range(done):
                next(records, None)
            chunks = in_chunks(records, TASK)
        else:
            chunks = ((str(source), *block) for block in jsonl_slices(source, TASK, skip=done))
        tasks = ((chunk, as_of, version, out_csv) for chunk in chunks)
        for output, part in _results(rules, tasks, workers, own_process):
            if isinstance(output, bytes):
                sink.write(output)
                sink.flush()
            else:
                _append(sink, output)
            summary.merge(part)
            if progress:
                progress(part.households)
    return summary


def _results(rules: str | Path | dict[str, str], tasks: Iterator[Task], workers: int,
             own_process: bool) -> Iterator[Done | Spilled]:
    if workers == 1:
        pack = _pack(rules)
        if own_process:
            tune_collector()
        for task in tasks:
            yield evaluate_chunk(pack, task)
        return
    global _WORKER_PACK
    fork = os.name == "posix"
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    init = rules if isinstance(rules, dict) else str(rules)
    if fork:  # loaded once, here: forked workers start with it (and start at once)
        _WORKER_PACK = _pack(rules)
    try:
        with tempfile.TemporaryDirectory(prefix="doudi-batch-") as spill, \
                ctx.Pool(workers, _init_worker, (init,), maxtasksperchild=RECYCLE_AFTER) as pool:
            # Pool.imap would read the whole roll ahead into memory; keep a few chunks in flight instead,
            # and hand results back in input order.
            pending: deque[Any] = deque()
            for task in tasks:
                pending.append(pool.apply_async(_work, (task, spill)))
                if len(pending) >= 3 * workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
    finally:
        _WORKER_PACK = None


def _complete_records(target: Path, csv_output: bool) -> int:
    """How many whole records ``target`` holds; a torn last line is cut off."""
    with open(target, "rb+") as f:
        data = f.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            f.truncate(end)
    lines = data[:end].count(b"\n")
    return max(0, lines - 1) if csv_output else lines


def _kept(target: Path, csv_output: bool) -> Iterator[Brief]:
    """What the summary needs of each record already in a results file (before a resumed run)."""
    with open(target, encoding="utf-8", newline="") as f:
        if csv_output:
            for row in csv.DictReader(f):
                yield None if row.get("status") == "error" else \
                    (row.get("review_action") or "None", int(float(row.get("dibao_monthly") or 0)))
        else:
            for line in f:
                yield brief_of(json.loads(line))


def resume_point(target: Path) -> tuple[int, Summary]:
    """How many whole records a JSONL results file holds (a torn last line is cut off), and their summary."""
    done = _complete_records(target, csv_output=False)
    summary = Summary()
    for brief in _kept(target, csv_output=False):
        summary.add_brief(brief)
    return done, summary


def summarise_file(target: Path) -> dict[str, Any]:
    """Re-read a JSONL output file into a summary."""
    summary = Summary()
    for brief in _kept(target, csv_output=False):
        summary.add_brief(brief)
    return summary.as_dict()
