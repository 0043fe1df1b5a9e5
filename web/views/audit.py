"""The audit log: every action, newest first, filtered by user, action and object, in readable words; as far
as the reader's scope reaches (``engine.users.audit_scope``: all at province level)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l

from engine.inputs import id_number
from engine.store import audit_log
from engine.users import audit_scope
from engine.versions import pack_of

from ..auth import permission_required
from ..db import get_db

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE = 50
ACTIONS = {
    "sign_in": _l("Signed in"), "sign_in.failed": _l("Failed sign-in"),
    "evaluate": _l("Checked a household"), "evaluate.batch": _l("Checked households in a batch (API)"),
    "batch": _l("Ran a batch review"), "batch.delete": _l("Deleted a batch review"),
    "replay": _l("Replayed a decision"),
    "draft.create": _l("Created a draft"), "draft.save": _l("Saved a draft"), "draft.submit": _l("Submitted a draft"),
    "draft.approve": _l("Approved a draft"), "draft.approve.blocked": _l("Approval blocked by failing tests"),
    "draft.reject": _l("Rejected a draft"), "publish": _l("Published a version"),
    "user.create": _l("Created an account"), "user.role": _l("Changed a role"),
    "user.password": _l("Reset a password"), "user.enable": _l("Enabled an account"),
    "user.disable": _l("Disabled an account"), "token.issue": _l("Issued an API token"),
}
OBJECTS = {"decision": _l("Decision"), "user": _l("Account"), "draft": _l("Draft"), "version": _l("Version"),
           "batch": _l("Batch review")}


def action_label(action: str) -> str:
    """An audit action in words (unknown ones as they are)."""
    return str(ACTIONS.get(action, action))


@bp.app_template_filter("local_time")
def local_time(at: str | None) -> str:
    """A stored UTC time in the installation's time zone (``TIMEZONE``, Beijing time by default)."""
    if not at:
        return ""
    try:
        moment = dt.datetime.fromisoformat(at)
        zone: dt.tzinfo = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    except ValueError:
        return at
    except ZoneInfoNotFoundError:
        zone = dt.timezone(dt.timedelta(hours=8))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


@bp.route("/")
@permission_required("audit.read")
def index() -> Any:
    filters = {key: (request.args.get(key) or "").strip() or None
               for key in ("user", "action", "object_type", "object_id")}
    page = max(request.args.get("page", 1, type=id_number) or 1, 1)
    scope = audit_scope(pack_of(get_db())[1], g.user)
    entries = audit_log(get_db(), **filters, limit=PAGE + 1, offset=(page - 1) * PAGE, within=scope["within"],
                        accounts=scope["accounts"])
    more = len(entries) > PAGE
    known = dict(ACTIONS)
    if filters["action"] and filters["action"] not in known:
        known[filters["action"]] = filters["action"]
    return render_template("audit/index.html", entries=entries[:PAGE], filters=filters, page=page, more=more,
                           actions=known, objects=OBJECTS, action_label=action_label,
                           args={k: v for k, v in filters.items() if v})
