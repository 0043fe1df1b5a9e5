"""What every ``doudi`` command module shares: the ``cli`` group, its options, exit statuses and error text.

The command modules (cli, admin, serve) import this one and register their commands on ``cli``;
``doudi/__main__.py`` imports them all, so no command module imports another.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from engine import DoudiError
from engine.inputs import MAX_ID

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "rules" / "hunan"
DEFAULT_DB = Path("instance") / "doudi.db"
EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def default_rules() -> Path:
    """The pack that ``doudi serve`` and ``doudi init`` import: ``$DOUDI_RULES``, else rules/hunan."""
    return Path(os.environ.get("DOUDI_RULES") or DEFAULT_RULES)


class BadInput(click.ClickException):
    """Bad input: exit status 2 with a message (click's own usage errors also exit 2)."""

    exit_code = EXIT_BAD_INPUT


def report(exc: DoudiError) -> str:
    """An engine error as text: its message in English and Chinese and its first 50 problems."""
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


rules_option = click.option(
    "--rules", "rules", type=click.Path(path_type=Path), default=DEFAULT_RULES, show_default="rules/hunan",
    help="Evaluate a rule-pack folder directly (no database).")
pack_rules_option = click.option(
    "--rules", "rules", type=click.Path(path_type=Path, file_okay=False), default=default_rules,
    show_default="rules/hunan, or $DOUDI_RULES", help="The rule pack (folder) to import and serve.")
db_option = click.option("--db", "db_path", type=click.Path(path_type=Path, dir_okay=False),
                         default=lambda: os.environ.get("DOUDI_DATABASE", str(DEFAULT_DB)),
                         show_default="instance/doudi.db, or $DOUDI_DATABASE", help="The SQLite database.")
version_option = click.option("--version", "version", type=click.IntRange(1, MAX_ID), default=None,
                              help="Use published version N from the database instead of a rules folder.")


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="doudi")
def cli() -> None:
    """doudi (兜底): social-assistance rules as versioned YAML, evaluated with durable-rules."""
