"""What every page shares: template helpers (labels by language) and the HTML error pages."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from engine.errors import NotFound
from engine.inputs import size_text
from engine.users import ROLES
from engine.versions import pack_of

from .db import get_db
from .i18n import select_locale
from .views import navigation

STATUS = {"editing": _l("editing"), "submitted": _l("submitted for review"), "approved": _l("approved"),
          "rejected": _l("rejected")}


def role_label(role: str) -> str:
    """A role in the page's language."""
    labels = ROLES.get(role, {})
    return str(labels.get("zh" if select_locale() == "zh_CN" else "en", role))


def status_label(status: str) -> str:
    return str(STATUS.get(status, status))


def text(value: Any) -> str:
    """A zh/en label (a model Text or a {zh, en} dict) in the page's language."""
    zh = select_locale() == "zh_CN"
    if isinstance(value, dict):
        return str(value.get("zh" if zh else "en", ""))
    if hasattr(value, "zh"):
        return str(value.zh if zh else value.en)
    return "" if value is None else str(value)


def current_pack() -> Any:
    """The latest published pack (cached per request)."""
    if "pack" not in g:
        g.version, g.pack = pack_of(get_db())
    return g.pack


def jurisdiction_name(code: str | None) -> str:
    if not code:
        return ""
    try:
        j = current_pack().jurisdictions.get(code)
    except NotFound:
        return code
    return j.name if j else code


def init_app(app: Flask) -> None:
    """Template helpers and error pages (the API keeps its own JSON errors)."""
    app.jinja_env.globals.update(navigation=navigation, role_label=role_label, status_label=status_label,
                                 text=text, jurisdiction_name=jurisdiction_name)

    @app.errorhandler(HTTPException)
    def html_error(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            from .api.errors import _http_error  # the API answers with its one JSON error shape

            return _http_error(exc)
        titles = {403: _("Not allowed"), 404: _("Not found"), 400: _("Bad request"), 405: _("Not allowed"),
                  413: _("Too large"), 503: _("Evaluation stopped")}
        message = exc.description
        if exc.code == 413:
            message = _("The file or form is larger than the server accepts (at most %(size)s).",
                        size=size_text(request.max_content_length or 0))
        return render_template("error.html", code=exc.code, title=titles.get(exc.code or 500, _("Error")),
                               message=message), exc.code or 500
