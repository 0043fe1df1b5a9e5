"""``/decisions``: stored evaluations (facts, version, trace) and their replay."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine import decisions, versions
from engine.users import in_scope, require

from ..db import get_db
from .bodies import body
from .common import arg_int, current_user

bp = Blueprint("decisions", __name__)


def _check_scope(action: str, county: str) -> None:
    user = current_user()
    _, pack = versions.pack_of(get_db())
    require(user, action, pack, [county] if county in pack.jurisdictions else None)


@bp.get("/decisions")
def search_decisions() -> dict[str, Any]:
    """Stored decisions, newest first: ``?household_id=`` (a prefix), ``?county=``, ``?limit=``, ``?offset=``."""
    user, db = current_user(), get_db()
    require(user, "decisions.read")
    _, pack = versions.pack_of(db)
    county = request.args.get("county") or None
    own = pack.jurisdictions.get(user.jurisdiction or "")
    if county:
        _check_scope("decisions.read", county)
    elif own is not None and own.level == "county":
        county = own.code
    rows = decisions.search(db, request.args.get("household_id") or None, county,
                            limit=arg_int("limit", 100, 1, 1000) or 100, offset=arg_int("offset", 0) or 0)
    # a city-level user sees the counties below their city only
    rows = [r for r in rows if r["county"] in pack.jurisdictions and in_scope(pack, user, r["county"])]
    return {"decisions": rows}


@bp.get("/decisions/<int:decision_id>")
def get_decision(decision_id: int) -> dict[str, Any]:
    """A stored decision with the facts it was made from and the full decision (its trace re-evaluated if not kept)."""
    require(current_user(), "decisions.read")
    stored = decisions.get(get_db(), decision_id)
    _check_scope("decisions.read", stored["county"])
    return decisions.with_trace(get_db(), stored)


@bp.post("/decisions/<int:decision_id>/replay")
def replay_decision(decision_id: int) -> dict[str, Any]:
    """Re-evaluate a stored decision with the version it recorded; ``identical`` says whether it is reproduced."""
    body("Empty")
    user = current_user()
    require(user, "evaluate")
    db = get_db()
    _check_scope("evaluate", decisions.get(db, decision_id)["county"])
    return decisions.replay(db, decision_id, user.username)
