"""The editor's pages, one blueprint per area; NAV lists them for the role-aware navigation."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_babel import lazy_gettext as _l

from engine.users import can

# (endpoint, label, permission needed to see it; None: every signed-in user)
NAV: list[tuple[str, Any, str | None]] = [
    ("home.index", _l("Home"), None),
    ("jurisdictions.index", _l("Standards by county"), "versions.read"),
    ("parameters.index", _l("Parameters"), "draft.edit_parameter"),
    ("rules.index", _l("Rules"), "versions.read"),
    ("drafts.index", _l("Drafts and review"), "draft.read"),
    ("versions.index", _l("Versions"), "versions.read"),
    ("check.index", _l("Household check"), "evaluate"),
    ("batch.index", _l("Batch review"), "evaluate"),
    ("history.index", _l("Decisions"), "decisions.read"),
    ("audit.index", _l("Audit log"), "audit.read"),
    ("admin.index", _l("Users"), "users.manage"),
]


def navigation() -> list[tuple[str, Any]]:
    """The pages the signed-in user may open, among those the app has."""
    if g.get("user") is None:
        return []
    endpoints = current_app.view_functions
    return [(endpoint, label) for endpoint, label, action in NAV
            if endpoint in endpoints and (action is None or can(g.user, action))]
