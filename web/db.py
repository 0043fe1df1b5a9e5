"""The database of a request: opened on first use, closed at teardown (flaskr's ``db.py``)."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlite_utils import Database

from engine import versions
from engine.store import open_db


def get_db() -> Database:
    """This request's connection to ``DATABASE`` (migrated; nothing is imported on its own)."""
    if "db" not in g:
        g.db = open_db(current_app.config["DATABASE"])
    db: Database = g.db
    return db


def close_db(exc: BaseException | None = None) -> None:
    """Close the request's connection, if it opened one."""
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()


def init_db(app: Flask, user: str = "doudi init") -> tuple[Any, bool]:
    """Create the database and import the ``RULES`` folder as the first version (idempotent, like ``doudi init``)."""
    with app.app_context():
        return versions.import_folder(get_db(), app.config["RULES"], user)


def init_app(app: Flask) -> None:
    """Close each request's database at teardown."""
    app.teardown_appcontext(close_db)
