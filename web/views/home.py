"""The home page: what this user can do, by role, and what waits for them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template

from engine import drafts, versions
from engine.errors import NotFound
from engine.users import ROLES, can

from ..auth import login_required
from ..db import get_db

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index() -> Any:
    db = get_db()
    try:
        latest = versions.get_version(db)
    except NotFound:
        latest = None
    waiting = []
    if can(g.user, "draft.decide") and latest is not None:
        waiting = [d for d in drafts.readable_drafts(db, g.user, "submitted")
                   if drafts.may_decide(db, versions.pack_of(db, d.base_version)[1], g.user, d)]
    mine = [d for d in drafts.list_drafts(db) if d.author == g.user.username] if can(g.user, "draft.create") else []
    return render_template("home.html", latest=latest, waiting=waiting, mine=mine, role=ROLES[g.user.role])
