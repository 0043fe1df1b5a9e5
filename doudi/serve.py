"""``doudi serve``: the editor on localhost, set up on first start (database, rule pack, demo accounts)."""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from engine import versions
from engine.store import open_db
from engine.users import add_user, list_users

from .cli import DEFAULT_RULES, cli, db_option

DEMO_ACCOUNTS = (  # one per role of docs/semantics.md §1
    ("province", "province_officer", "430000", "省民政厅 政策处"),
    ("xinhua", "local_officer", "431322", "新化县民政局"),
    ("reviewer", "reviewer", "430000", "省民政厅 审核人"),
    ("caseworker", "caseworker", "431322", "新化县 经办人"),
    ("admin", "admin", None, "系统管理员"),
)


def prepare(db_path: Path, rules: Path = DEFAULT_RULES) -> list[tuple[str, str, str]]:
    """Create the database, import the pack, add the demo accounts if there are no users; the new passwords."""
    db = open_db(db_path)
    versions.import_folder(db, rules, "doudi serve")
    if list_users(db):
        return []
    _, pack = versions.pack_of(db)
    created = []
    for username, role, code, name in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        add_user(db, "doudi serve", username, password, role, code, name, pack)
        created.append((username, role, password))
    return created


@cli.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=5000, show_default=True)
def serve_command(db_path: Path, host: str, port: int) -> None:
    """Run the web editor and the API (first start: database, rule pack and one demo account per role).

    \b
    Example:
      doudi serve
      doudi serve --port 8080 --db /srv/doudi/doudi.db
    """
    from web import create_app

    created = prepare(db_path)
    if created:
        click.echo("Demo accounts (shown once; change them with 'doudi users password NAME'):")
        for username, role, password in created:
            click.echo(f"  {username:<11} {role:<17} {password}")
    import waitress

    app = create_app(database=str(Path(db_path).resolve()))  # unless configured, the secret key lies beside it
    click.echo(f"doudi: http://{host}:{port}/  (database {db_path})")
    waitress.serve(app, host=host, port=port, threads=8)
