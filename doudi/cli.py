"""The ``doudi`` command line: a thin adapter over the engine (and, later, the store and web app).

Exit status: 0 ok, 1 validation or test failures, 2 bad input (file, JSON, household, rule pack).
Errors are printed as messages naming the file and field, never as a traceback.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import click

from engine import DoudiError, HouseholdError, RulePackError, evaluate, load_pack, presentation
from engine.aggregate import describe
from engine.batch import run_batch
from engine.decision import dumps
from engine.evaluate import parse_date
from engine.factsynth import synthesize
from engine.inputs import limit, read_json, size_text
from engine.policy_tests import run_tests
from engine.rolls import check_roll, count_records

from .common import DEFAULT_RULES, EXIT_FAILED, BadInput, cli, db_option, rules_option, version_option
from .common import report as _report


def _load(rules: Path) -> Any:
    try:
        return load_pack(rules)
    except RulePackError as exc:
        raise BadInput(f"rule pack {rules} is invalid:\n{_report(exc)}") from None


def _load_or_fail(rules: Path) -> Any:
    """The pack, or its problems on stderr and exit status 1 (for validate and test)."""
    try:
        return load_pack(rules)
    except RulePackError as exc:
        click.echo(f"✗ {rules}: invalid rule pack\n{_report(exc)}", err=True)
        sys.exit(EXIT_FAILED)


def _source(rules: Path, version: int | None, db_path: Path) -> tuple[Any, int | None]:
    """The pack to evaluate with: a published version from the database, or a rules folder."""
    if version is None:
        return _load(rules), None
    from engine.store import open_db
    from engine.versions import pack_of

    if not Path(db_path).exists():
        raise BadInput(f"{db_path}: no database; run 'doudi init' first or use --rules")
    try:
        found, pack = pack_of(open_db(db_path), version)
    except DoudiError as exc:
        raise BadInput(_report(exc)) from None
    return pack, found.number


@cli.command("eval")
@click.argument("household", type=click.Path(path_type=Path, allow_dash=True))
@rules_option
@version_option
@db_option
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Evaluation date (default: today).")
@click.option("--no-trace", is_flag=True, help="Leave the rule trace out of the decision.")
def eval_command(household: Path, rules: Path, version: int | None, db_path: Path, as_of: str | None,
                 no_trace: bool) -> None:
    """Evaluate one household (JSON, docs/semantics.md §6) and print the decision JSON.

    \b
    Example:
      doudi eval household.json --rules rules/hunan --as-of 2018-06-01
      doudi eval household.json --version 2 --as-of 2019-06-01
      cat household.json | doudi eval - --as-of 2019-03-01
    """
    try:
        on = parse_date(as_of, "--as-of") if as_of else None
    except HouseholdError as exc:
        raise BadInput(_report(exc)) from None
    data = _read_json(household)
    pack, number = _source(rules, version, db_path)
    try:
        decision = evaluate(pack, data, on, trace=not no_trace, version=number)
    except HouseholdError as exc:
        raise BadInput(f"{household}: {_report(exc)}") from None
    except DoudiError as exc:
        raise BadInput(f"{household}: {_report(exc)}") from None
    click.echo(decision.to_json())


@cli.command("validate")
@click.argument("rules", type=click.Path(path_type=Path), default=DEFAULT_RULES, required=False)
def validate_command(rules: Path) -> None:
    """Check a rule pack: YAML, schemas, names, expressions and constraints on every date.

    \b
    Example:
      doudi validate rules/hunan
    """
    pack = _load_or_fail(rules)
    counties = len(pack.counties())
    click.echo(f"✓ {rules}: rule pack '{pack.id}' is valid — {len(pack.parameters)} parameters, "
               f"{len(pack.values)} dated values, {len(pack.rules)} rules, {counties} counties, "
               f"{len(pack.tests)} policy tests\n  digest {pack.digest}")
    if pack.illustrative and pack.notice:  # the schema requires the notice of an illustrative pack
        click.echo(f"  illustrative sample values 示例取值（非官方）: {pack.notice.zh}")
    _echo_coverage(pack)
    for w in pack.warnings:  # allowed, so the exit status stays 0: a value far from the one before it
        click.echo(f"⚠ warning: {w}\n    {w.message_zh}")


def _echo_coverage(pack: Any) -> None:
    """Each declared clause with the rules, parameters and tests implementing it, or why it is outside."""
    from engine.coverage import coverage

    clauses = coverage(pack)[0]
    if not clauses:
        return
    click.echo(f"  clause coverage 条款覆盖 ({len(clauses)} clauses):")
    for c in clauses:
        click.echo(f"  {c.document} {c.id} {c.title.zh} / {c.title.en}")
        if c.rules or c.parameters:
            for label, names in (("rules", c.rules), ("parameters", c.parameters)):
                click.echo(f"      {label} ({len(names)}): {', '.join(names) or '—'}")
            more = " …" if len(c.tests) > 3 else ""
            click.echo(f"      tests ({len(c.tests)}): {'; '.join(c.tests[:3]) or '—'}{more}")
        else:
            click.echo(f"      outside 不由决策引擎处理: {c.outside.zh if c.outside else ''} / "
                       f"{c.outside.en if c.outside else ''}")


@cli.command("test")
@click.argument("rules", type=click.Path(path_type=Path), default=DEFAULT_RULES, required=False)
def test_command(rules: Path) -> None:
    """Run the policy tests of a rule pack; exit 1 if any fails.

    \b
    Example:
      doudi test rules/hunan
    """
    pack = _load_or_fail(rules)
    results = run_tests(pack)
    failed = [r for r in results if not r.passed]
    for r in failed:
        click.echo(f"✗ {r.test.name} ({r.test.file}:{r.test.line})", err=True)
        if r.error:
            click.echo(f"    {r.error}", err=True)
        for key, want, got in r.mismatches:
            click.echo(f"    {key}: expected {json.dumps(want, ensure_ascii=False)}, "
                       f"got {json.dumps(got, ensure_ascii=False)}", err=True)
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        sys.exit(EXIT_FAILED)


@cli.command("batch")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", "target", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Results file: .jsonl, or .csv for a spreadsheet.")
@rules_option
@version_option
@db_option
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Evaluation date (default: today).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: all cores).")
@click.option("--resume", is_flag=True, help="Keep the records already in OUTPUT and carry on after them.")
@click.option("--labels", type=click.Choice(["zh", "en"]), default=None,
              help="CSV output: name the columns by the outputs' Chinese or English labels.")
def batch_command(source: Path, target: Path, rules: Path, version: int | None, db_path: Path, as_of: str | None,
                  workers: int | None, resume: bool, labels: str | None) -> None:
    """Evaluate a roll of households (JSONL, or CSV with one row per member).

    Every input record gives one output record, in input order; a bad record becomes an error
    record naming its line and field, and the run carries on. Exit status 1 if any record failed.
    The CSV layout is described in engine/rolls.py and the README.

    \b
    Example:
      doudi synth --n 10000 --seed 1 -o roll.jsonl
      doudi batch roll.jsonl -o results.jsonl --as-of 2019-06-30 --workers 2
      doudi batch roll.csv -o results.csv --as-of 2019-06-30
    """
    if not source.exists():
        raise BadInput(f"{source}: file not found")
    if source.resolve() == target.resolve():
        raise BadInput(f"{target}: the output would overwrite the input")
    on = None
    try:
        on = parse_date(as_of, "--as-of") if as_of else None
    except HouseholdError as exc:
        raise BadInput(_report(exc)) from None
    pack, number = _source(rules, version, db_path)  # a bad pack is reported once, here, not by every worker
    try:
        check_roll(source)  # a file that is not UTF-8 text at all (GBK, a spreadsheet): exit 2, not a record a line
        total = count_records(source)
    except DoudiError as exc:
        raise BadInput(_report(exc)) from None
    show = sys.stderr.isatty()
    with click.progressbar(length=total, label="evaluating", file=sys.stderr if show else _Quiet()) as bar:
        summary = run_batch(pack.files if number else rules, source, target, as_of=on, workers=workers,
                            resume=resume, version=number, progress=bar.update, own_process=True, labels=labels,
                            pack=pack)
    data = summary.as_dict()
    click.echo(f"{data['households']} households → {target}" +
               (f" ({data['skipped_resumed']} already done, skipped)" if data["skipped_resumed"] else ""), err=True)
    for _name, label, rows in describe(summary, presentation.of(pack), labels or "zh"):
        text = ", ".join(f"{group} {value}" if key else value for key, group, value in rows)
        click.echo(f"  {label}: {text or '-'}", err=True)
    click.echo(f"  errors: {data['errors']}", err=True)
    click.echo(dumps(data))
    if data["errors"]:
        sys.exit(EXIT_FAILED)


@cli.command("synth")
@click.option("--n", "count", type=click.IntRange(1, 100_000_000), required=True, help="Number of households.")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed gives the same households.")
@click.option("-o", "--output", "target", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="JSONL file to write.")
@rules_option
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", default="2019-06-30", show_default=True,
              help="Dates in the households fall before this day.")
def synth_command(count: int, seed: int, target: Path, rules: Path, as_of: str) -> None:
    """Write deterministic synthetic households across every county of the pack (JSONL).

    \b
    Example:
      doudi synth --n 100000 --seed 1 -o roll.jsonl
    """
    pack = _load(rules)
    try:
        on = parse_date(as_of, "--as-of")
    except HouseholdError as exc:
        raise BadInput(_report(exc)) from None
    counties = [c.code for c in pack.counties()]
    with open(target, "w", encoding="utf-8") as f:
        for household in synthesize(pack, counties, count, seed, on):
            f.write(dumps(household) + "\n")
    click.echo(f"{count} households (seed {seed}) → {target}", err=True)


class _Quiet(io.StringIO):
    """Where the progress bar goes when stderr is not a terminal."""


def _read_json(path: Path) -> Any:
    """A household file (``-``: stdin) of at most DOUDI_MAX_JSON_BYTES, as JSON data; BadInput otherwise."""
    bound = limit("json_bytes")
    try:
        if str(path) == "-":
            raw = sys.stdin.buffer.read(bound + 1)
        else:
            with open(path, "rb") as f:
                raw = f.read(bound + 1)
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the file ({exc})") from None
    if len(raw) > bound:
        raise BadInput(f"{path}: larger than {size_text(bound)} (DOUDI_MAX_JSON_BYTES); a household is a few "
                       "kilobytes: use 'doudi batch' for a roll")
    try:
        return read_json(raw, str(path))
    except DoudiError as exc:
        raise BadInput(_report(exc)) from None
