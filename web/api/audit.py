"""``GET /audit``: the append-only log of every action, newest first, as far as the caller's scope reaches."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine.store import audit_log
from engine.users import audit_scope, require
from engine.versions import pack_of

from ..db import get_db
from .common import arg_int, current_user

bp = Blueprint("audit", __name__)


@bp.get("/audit")
def audit_entries() -> dict[str, Any]:
    """Audit entries, newest first: ``?user=``, ``?action=``, ``?object_type=``, ``?object_id=``, ``?limit=``;
    those concerning the caller's jurisdiction and below (all at province level; see ``audit_scope``)."""
    user = current_user()
    require(user, "audit.read")
    filters = {k: request.args.get(k) or None for k in ("user", "action", "object_type", "object_id")}
    scope = audit_scope(pack_of(get_db())[1], user)
    return {"entries": audit_log(get_db(), **filters, limit=arg_int("limit", 200, 1, 1000) or 200,
                                 offset=arg_int("offset", 0) or 0, within=scope["within"],
                                 accounts=scope["accounts"])}
