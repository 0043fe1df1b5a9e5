"""``doudi`` commands over the database: init, versions, export, users, diff, impact."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from sqlite_utils import Database

from engine import signin, versions
from engine.errors import DoudiError
from engine.inputs import MAX_ID
from engine.store import open_db
from engine.users import (
    ROLES,
    add_user,
    get_user,
    issue_token,
    list_users,
    revoke_tokens,
    set_active,
    set_password,
    set_role,
)

from .common import BadInput, cli, db_option, pack_rules_option
from .common import report as _report


def _db(path: Path) -> Database:
    return open_db(path)


def _fail(exc: DoudiError) -> click.ClickException:
    return BadInput(_report(exc))


@cli.command("init")
@db_option
@pack_rules_option
def init_command(db_path: Path, rules: Path) -> None:
    """Create the database and import the rule pack as the first version of its line (a pack already in the
    database keeps its versions and nothing is imported; a pack of another id starts a line of its own).

    \b
    Example:
      doudi init
      doudi init --db /srv/doudi/doudi.db --rules rules/hunan
    """
    db = _db(db_path)
    try:
        version, created = versions.import_folder(db, rules, "doudi init")
    except DoudiError as exc:
        raise _fail(exc) from None
    state = "imported as" if created else f"pack '{version.pack_id}' is already in the database: latest is"
    click.echo(f"{rules}: {state} version {version.number} ({version.digest}) in {db_path}")


@cli.command("versions")
@db_option
def versions_command(db_path: Path) -> None:
    """List the published versions.

    \b
    Example:
      doudi versions
    """
    rows = versions.list_versions(_db(db_path))
    if not rows:
        raise BadInput("no published version yet; run 'doudi init'")
    for v in rows:
        click.echo(f"{v.number:>4}  {v.pack_id:<10} {v.created_at}  {v.digest[:23]}…  {v.created_by:<12} {v.source}  "
                   f"{v.title}")


@cli.command("export")
@click.argument("number", type=click.IntRange(1, MAX_ID))
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@db_option
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
def export_command(number: int, folder: Path, db_path: Path, force: bool) -> None:
    """Write a published version back to a YAML folder.

    \b
    Example:
      doudi export 2 exported/hunan-v2 && doudi validate exported/hunan-v2
    """
    try:
        written = versions.export_version(_db(db_path), number, folder, force)
    except DoudiError as exc:
        raise _fail(exc) from None
    click.echo(f"version {number}: {len(written)} files → {folder}")


@cli.group("users")
def users_group() -> None:
    """Manage accounts: add, list, role, password, token, revoke, disable, unlock.

    \b
    Example:
      doudi users list
      doudi users add xinhua --role local_officer --jurisdiction 431322 --name 新化县民政局
    """


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(sorted(ROLES)), required=True)
@click.option("--jurisdiction", help="Code of the user's jurisdiction, e.g. 431322 (not for admin).")
@click.option("--name", default="", help="Display name, e.g. 王科长.")
@click.password_option(help="Password (asked for when not given).")
@db_option
def users_add(username: str, role: str, jurisdiction: str | None, name: str, password: str, db_path: Path) -> None:
    """Add an account.

    \b
    Example:
      doudi users add xinhua --role local_officer --jurisdiction 431322 --name 新化县民政局
    """
    db = _db(db_path)
    try:
        pack = versions.pack_holding(db, jurisdiction)
        user = add_user(db, "cli", username, password, role, jurisdiction, name, pack)
    except DoudiError as exc:
        raise _fail(exc) from None
    click.echo(f"added {user.username}: {role} {jurisdiction or ''}")


@users_group.command("list")
@db_option
def users_list(db_path: Path) -> None:
    """List the accounts.

    \b
    Example:
      doudi users list
    """
    for u in list_users(_db(db_path)):
        click.echo(f"{u.username:<16} {u.role:<17} {u.jurisdiction or '-':<7} {'active' if u.active else 'disabled'}"
                   f"  {u.name}")


@users_group.command("role")
@click.argument("username")
@click.option("--role", type=click.Choice(sorted(ROLES)), required=True)
@click.option("--jurisdiction")
@db_option
def users_role(username: str, role: str, jurisdiction: str | None, db_path: Path) -> None:
    """Change a user's role and jurisdiction.

    \b
    Example:
      doudi users role xinhua --role reviewer --jurisdiction 431300
    """
    db = _db(db_path)
    try:
        pack = versions.pack_holding(db, jurisdiction)
        set_role(db, "cli", username, role, jurisdiction, pack)
    except DoudiError as exc:
        raise _fail(exc) from None
    click.echo(f"{username}: {role} {jurisdiction or ''}")


@users_group.command("password")
@click.argument("username")
@click.password_option()
@db_option
def users_password(username: str, password: str, db_path: Path) -> None:
    """Set a user's password.

    \b
    Example:
      doudi users password xinhua
    """
    try:
        set_password(_db(db_path), "cli", username, password)
    except DoudiError as exc:
        raise _fail(exc) from None
    click.echo(f"{username}: password changed")


@users_group.command("token")
@click.argument("username")
@click.option("--label", default="", help="What the token is for.")
@db_option
def users_token(username: str, label: str, db_path: Path) -> None:
    """Issue an API token (shown once; only its hash is stored).

    \b
    Example:
      doudi users token xinhua --label "county roll import"
    """
    try:
        click.echo(issue_token(_db(db_path), "cli", username, label))
    except DoudiError as exc:
        raise _fail(exc) from None


@users_group.command("revoke")
@click.argument("username")
@db_option
def users_revoke(username: str, db_path: Path) -> None:
    """Revoke every API token of a user.

    \b
    Example:
      doudi users revoke xinhua
    """
    try:
        count = revoke_tokens(_db(db_path), "cli", username)
    except DoudiError as exc:
        raise _fail(exc) from None
    click.echo(f"{username}: {count} token(s) revoked")


@users_group.command("disable")
@click.argument("username")
@db_option
def users_disable(username: str, db_path: Path) -> None:
    """Disable an account (its tokens stop working).

    \b
    Example:
      doudi users disable xinhua
    """
    try:
        set_active(_db(db_path), "cli", username, False)
    except DoudiError as exc:
        raise _fail(exc) from None
    click.echo(f"{username}: disabled")


@users_group.command("unlock")
@click.argument("username")
@db_option
def users_unlock(username: str, db_path: Path) -> None:
    """Let a user sign in again before their lock (after too many failed sign-ins) ends.

    \b
    Example:
      doudi users unlock xinhua
    """
    db = _db(db_path)
    try:
        get_user(db, username)
    except DoudiError as exc:
        raise _fail(exc) from None
    was_locked = signin.unlock(db, "cli", username)
    click.echo(f"{username}: {'unlocked' if was_locked else 'was not locked'}")


def _pack(db: Database, ref: str) -> tuple[str, Any]:
    """A version number from the database, or a pack folder."""
    from engine import load_pack
    from engine.inputs import whole_number

    try:
        if whole_number(ref) is not None:
            version, pack = versions.pack_of(db, int(ref))
            return f"version {version.number}", pack
        return ref, load_pack(ref)
    except DoudiError as exc:
        raise _fail(exc) from None


def _pair(db: Database, old: str, new: str) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """Two versions or folders of one pack (two packs are refused: each is its own line of versions)."""
    pair = _pack(db, old), _pack(db, new)
    try:
        versions.same_pack(pair[0][1], pair[1][1])
    except DoudiError as exc:
        raise _fail(exc) from None
    return pair


@cli.command("diff")
@click.argument("old")
@click.argument("new")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
def diff_command(old: str, new: str, db_path: Path, as_json: bool) -> None:
    """Compare two versions (numbers) or pack folders: every parameter and rule change.

    \b
    Example:
      doudi diff 1 2
      doudi diff rules/hunan exported/hunan-v2 --json
    """
    from engine.compare import diff_packs

    db = _db(db_path)
    (a_name, a), (b_name, b) = _pair(db, old, new)
    diff = diff_packs(a, b)
    if as_json:
        click.echo(diff.to_json(indent=2))
        return
    data = diff.to_dict()
    click.echo(f"{a_name} → {b_name}")
    if diff.empty:
        click.echo("  no changes")
        return
    for change in data["parameters"]:
        delta = f"  Δ {change['delta']} ({change['percent']}%)" if change.get("delta") is not None else ""
        click.echo(f"  {change['jurisdiction']} {change.get('jurisdiction_name', '')} {change['parameter']} "
                   f"from {change['effective']}: {change.get('old')} → {change.get('new')}{delta}"
                   f"  {change.get('document') or ''}")
    for kind in ("declarations", "rules", "variables", "outputs", "jurisdictions"):
        for item in data.get(kind, []):
            fields = f" ({', '.join(item['fields'])})" if item.get("fields") else ""
            click.echo(f"  {kind[:-1] if kind != 'declarations' else 'parameter declaration'} {item['change']}: "
                       f"{item['key']}{fields}")


@cli.command("impact")
@click.argument("old")
@click.argument("new")
@click.argument("population", required=False, type=click.Path(path_type=Path, dir_okay=False))
@db_option
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Evaluation date (default: today).")
@click.option("--n", "count", type=click.IntRange(1, 100_000_000), default=10_000, show_default=True,
              help="Synthetic households when no POPULATION file is given.")
@click.option("--seed", type=int, default=1, show_default=True)
def impact_command(old: str, new: str, population: Path | None, db_path: Path, as_of: str | None, count: int,
                   seed: int) -> None:
    """Who gains and who loses between two versions, over a roll (JSONL/CSV) or synthetic households.

    \b
    Example:
      doudi impact 1 2 --n 100000
      doudi impact 1 2 roll.jsonl --as-of 2019-06-30
    """
    from engine.evaluate import parse_date
    from engine.factsynth import synthesize
    from engine.impact import impact
    from engine.rolls import check_roll, read_records

    db = _db(db_path)
    (_, a), (_, b) = _pair(db, old, new)
    try:
        on = parse_date(as_of, "--as-of") if as_of else dt.date.today()
    except DoudiError as exc:
        raise _fail(exc) from None
    if population is None:
        households: Any = synthesize(a, [c.code for c in a.counties()], count, seed, on)
    elif not population.exists():
        raise BadInput(f"{population}: file not found")
    else:
        try:
            check_roll(population)
        except DoudiError as exc:
            raise _fail(exc) from None
        households = (r.parsed().household for r in read_records(population, a.facts) if r.parsed().household)
    click.echo(impact(a, b, households, on).to_json(indent=2))


