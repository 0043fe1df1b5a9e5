"""The pack a request works in: one database may hold several packs, each its own line of versions.

Pages work in the pack chosen in the header (kept in the session), else the served pack (``PACK``), else the
first pack holding the user's jurisdiction, else the first pack imported; a user may choose only a pack that
holds their jurisdiction (roles keep their jurisdictions). The API works in ``?pack=`` where an operation takes
it, else ``PACK``, else the first pack. ``engine.versions`` reads the choice as "the latest version".
"""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from sqlite_utils import Database

from engine import versions
from engine.users import User

from ..auth import login_required
from ..db import get_db
from ..security import safe_target

bp = Blueprint("packs", __name__, url_prefix="/packs")


def holds(db: Database, pack_id: str, user: User | None) -> bool:
    """Whether the pack's jurisdictions include the user's (one without a jurisdiction, an admin, is anywhere)."""
    if user is None or not user.jurisdiction:
        return True
    return user.jurisdiction in versions.pack_of(db, pack=pack_id)[1].jurisdictions


def _choose(db: Database, user: User | None) -> str | None:
    lines = [line.id for line in versions.packs(db)]
    for pack_id in (session.get("pack"), current_app.config.get("PACK"), *lines):
        if pack_id in lines and holds(db, pack_id, user):
            return pack_id
    return lines[0] if lines else None


@bp.before_app_request
def _working_pack() -> None:
    """Set the request's pack (after auth has loaded the user)."""
    if request.endpoint == "static":
        return
    if request.path.startswith("/api/"):
        pack_id = request.args.get("pack") or current_app.config.get("PACK")
    else:
        pack_id = _choose(get_db(), g.get("user"))
    g.pack_id = pack_id
    g.pack_token = versions.set_working_pack(pack_id)


@bp.teardown_app_request
def _forget(exc: BaseException | None = None) -> None:
    token = g.pop("pack_token", None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context (a streamed response): it ends with it
            versions.reset_working_pack(token)


@bp.app_context_processor
def _pack_helpers() -> dict[str, Any]:
    def pack_lines() -> list[versions.PackLine]:
        return versions.packs(get_db()) if g.get("user") is not None else []

    return {"pack_lines": pack_lines, "working_pack": lambda: g.get("pack_id")}


@bp.post("/choose")
@login_required
def choose() -> Any:
    """Work in another pack: it must be in the database and hold the user's jurisdiction."""
    db, pack_id = get_db(), request.form.get("pack", "")
    if pack_id not in {line.id for line in versions.packs(db)}:
        abort(404, _("There is no rule pack %(pack)s in this database.", pack=pack_id[:64]))
    if not holds(db, pack_id, g.user):
        abort(403, _("Your jurisdiction %(code)s is not in the rule pack %(pack)s: an account there is needed to "
                     "work in it.", code=g.user.jurisdiction, pack=pack_id))
    session["pack"] = pack_id
    return redirect(safe_target(request.form.get("next"), url_for("home.index")))
