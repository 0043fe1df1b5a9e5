"""``doudi serve``: the editor on localhost, set up on first start (database, rule pack, demo accounts)."""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from engine import versions
from engine.errors import DoudiError
from engine.model import RulePack
from engine.store import open_db
from engine.users import add_user, list_users

from .common import DEFAULT_RULES, BadInput, cli, db_option, pack_rules_option, report


def demo_accounts(pack: RulePack) -> list[tuple[str, str, str | None, str]]:
    """One account per role (docs/semantics.md §1): username, role, jurisdiction, display name. The
    province-level ones at the pack's root, the local ones at its first county with values of its own (else its
    first county)."""
    root = pack.jurisdictions[pack.root]
    own = {v.jurisdiction for v in pack.values}
    counties = pack.counties()
    county = next((c for c in counties if c.code in own), counties[0] if counties else root)
    return [
        ("province", "province_officer", root.code, f"{root.name} 政策处"),
        ("local", "local_officer", county.code, f"{county.name}民政局"),
        ("reviewer", "reviewer", root.code, f"{root.name} 审核人"),
        ("caseworker", "caseworker", county.code, f"{county.name} 经办人"),
        ("admin", "admin", None, "系统管理员"),
    ]


def prepare(db_path: Path, rules: Path = DEFAULT_RULES) -> tuple[str, list[tuple[str, str, str]]]:
    """Create the database and import the pack into its own empty line (a pack already there keeps its versions);
    the pack's id, and the demo accounts added with their new passwords: one per role in a database without
    users, or, when no account works in this pack yet, one per role but admin, named ``<pack id>-<role>``."""
    db = open_db(db_path)
    version, _ = versions.import_folder(db, rules, "doudi serve")
    _, pack = versions.pack_of(db, version.number)
    accounts = demo_accounts(pack)
    existing = list_users(db)
    if existing:
        if any(u.jurisdiction in pack.jurisdictions for u in existing):
            return pack.id, []
        accounts = [(f"{pack.id}-{username}", role, code, name) for username, role, code, name in accounts
                    if role != "admin"]
    created = []
    for username, role, code, name in accounts:
        password = secrets.token_urlsafe(9)
        add_user(db, "doudi serve", username, password, role, code, name, pack)
        created.append((username, role, password))
    return pack.id, created


@cli.command("serve")
@db_option
@pack_rules_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=5000, show_default=True)
def serve_command(db_path: Path, rules: Path, host: str, port: int) -> None:
    """Run the web editor and the API (first start: database, rule pack and one demo account per role).

    The pack of RULES is imported if the database does not hold it yet, and is the one the pages open with;
    a database may hold several packs (each its own line of versions), chosen in the page header.

    \b
    Example:
      doudi serve
      doudi serve --port 8080 --db /srv/doudi/doudi.db
      doudi serve --rules rules/other-province      (or DOUDI_RULES=rules/other-province doudi serve)
    """
    from web import create_app

    try:
        pack_id, created = prepare(db_path, rules)
    except DoudiError as exc:
        raise BadInput(f"{rules}: {report(exc)}") from None
    if created:
        click.echo("Demo accounts (shown once; change them with 'doudi users password NAME'):")
        for username, role, password in created:
            click.echo(f"  {username:<11} {role:<17} {password}")
    import waitress

    app = create_app(database=str(Path(db_path).resolve()))  # unless configured, the secret key lies beside it
    app.config["RULES"], app.config["PACK"] = str(rules), pack_id
    click.echo(f"doudi: http://{host}:{port}/  (database {db_path}, pack {pack_id})")
    waitress.serve(app, host=host, port=port, threads=8)
