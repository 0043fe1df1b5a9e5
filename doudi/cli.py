"""The ``doudi`` command line: a thin adapter over the engine (and, later, the store and web app).

Exit status: 0 ok, 1 validation or test failures, 2 bad input (file, JSON, household, rule pack).
Errors are printed as messages naming the file and field, never as a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from engine import DoudiError, HouseholdError, RulePackError, evaluate, load_pack
from engine.evaluate import parse_date
from engine.policy_tests import run_tests

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "rules" / "hunan"
EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class BadInput(click.ClickException):
    """Bad input: exit status 2 with a message (click's own usage errors also exit 2)."""

    exit_code = EXIT_BAD_INPUT


def _report(exc: DoudiError) -> str:
    lines = [exc.message]
    if exc.message_zh and exc.message_zh != exc.message:
        lines.append(exc.message_zh)
    for p in exc.problems[:50]:
        text = f"  - {p}"
        if p.message_zh and p.message_zh != p.message:
            text += f"\n    {p.message_zh}"
        lines.append(text)
    if len(exc.problems) > 50:
        lines.append(f"  … and {len(exc.problems) - 50} more")
    return "\n".join(lines)


def _load(rules: Path) -> Any:
    try:
        return load_pack(rules)
    except RulePackError as exc:
        raise BadInput(f"rule pack {rules} is invalid:\n{_report(exc)}") from None


rules_option = click.option(
    "--rules", "rules", type=click.Path(path_type=Path), default=DEFAULT_RULES, show_default="rules/hunan",
    help="Evaluate a rule-pack folder directly (no database).")


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="doudi")
def cli() -> None:
    """doudi (兜底): social-assistance rules as versioned YAML, evaluated with durable-rules."""


@cli.command("eval")
@click.argument("household", type=click.Path(path_type=Path, allow_dash=True))
@rules_option
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Evaluation date (default: today).")
@click.option("--no-trace", is_flag=True, help="Leave the rule trace out of the decision.")
def eval_command(household: Path, rules: Path, as_of: str | None, no_trace: bool) -> None:
    """Evaluate one household (JSON, SPEC §6) and print the decision JSON.

    \b
    Example:
      doudi eval household.json --rules rules/hunan --as-of 2018-06-01
      cat household.json | doudi eval - --as-of 2019-03-01
    """
    data = _read_json(household)
    pack = _load(rules)
    try:
        on = parse_date(as_of, "--as-of") if as_of else None
        decision = evaluate(pack, data, on, trace=not no_trace)
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
    try:
        pack = load_pack(rules)
    except RulePackError as exc:
        click.echo(f"✗ {rules}: invalid rule pack\n{_report(exc)}", err=True)
        sys.exit(EXIT_FAILED)
    counties = len(pack.counties())
    click.echo(f"✓ {rules}: rule pack '{pack.id}' is valid — {len(pack.parameters)} parameters, "
               f"{len(pack.values)} dated values, {len(pack.rules)} rules, {counties} counties, "
               f"{len(pack.tests)} policy tests\n  digest {pack.digest}")


@cli.command("test")
@click.argument("rules", type=click.Path(path_type=Path), default=DEFAULT_RULES, required=False)
def test_command(rules: Path) -> None:
    """Run the policy tests of a rule pack; exit 1 if any fails.

    \b
    Example:
      doudi test rules/hunan
    """
    try:
        pack = load_pack(rules)
    except RulePackError as exc:
        click.echo(f"✗ {rules}: invalid rule pack\n{_report(exc)}", err=True)
        sys.exit(EXIT_FAILED)
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


def _read_json(path: Path) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read the file ({exc})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise BadInput(f"{path}: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def main() -> None:
    """Entry point of the ``doudi`` console script."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
