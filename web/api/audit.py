"""``GET /audit``: the append-only log of every action, newest first."""

from __future__ import annotations

from typing import Any

from flask import request

from engine.store import audit_log
from engine.users import require

from ..db import get_db
from . import arg_int, bp, current_user


@bp.get("/audit")
def audit_entries() -> dict[str, Any]:
    """Audit entries, newest first: ``?user=``, ``?action=``, ``?object_type=``, ``?object_id=``, ``?limit=``."""
    require(current_user(), "audit.read")
    filters = {k: request.args.get(k) or None for k in ("user", "action", "object_type", "object_id")}
    return {"entries": audit_log(get_db(), **filters, limit=arg_int("limit", 200, 1, 1000) or 200,
                                 offset=arg_int("offset", 0) or 0)}
