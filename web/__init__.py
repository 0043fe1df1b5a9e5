"""doudi's web application: the JSON API under ``/api/v1`` (and, later, the editor's pages)."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from engine.amounts import Fraction, json_number
from engine.inputs import MAX_ID, limit

RULES = Path(__file__).resolve().parent.parent / "rules" / "hunan"


class JSONProvider(DefaultJSONProvider):
    """Engine data as JSON: exact amounts as numbers (at most 2 decimals), Chinese unescaped."""

    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, Fraction | Decimal):
            value = json_number(o)
            return value if isinstance(value, int) else float(value)
        if isinstance(o, dt.date):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


class BoundedInt(IntegerConverter):
    """``<int:…>`` in every route: 1 to 9 ASCII digits, at most MAX_ID (Werkzeug's own converter takes any
    size, and SQLite fails on an integer of 2**63 or more); a larger number matches no route (404)."""

    regex = r"[0-9]{1,9}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def accepts_upload(view: Any) -> Any:
    """Mark a page that takes an uploaded roll: its requests may be MAX_UPLOAD_BYTES, not MAX_CONTENT_LENGTH."""
    view.accepts_upload = True
    return view


def create_app(test_config: dict[str, Any] | None = None, database: str | None = None) -> Flask:
    """The application: defaults, then ``instance/config.py`` and ``DOUDI_*`` variables (or ``test_config``);
    ``database`` (``doudi serve --db``) comes last."""
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = BoundedInt
    app.config.from_mapping(
        SECRET_KEY=None,  # None: a random key kept in secret_key beside the database (web/security.py)
        DATABASE=os.path.join(app.instance_path, "doudi.db"),
        RULES=str(RULES),  # the pack imported by init_db (DOUDI_RULES)
        PACK=None,  # the pack id pages and the API work in by default (doudi serve: its --rules); None: the first
        BATCH_LIMIT=1000,  # households in one POST /evaluate/batch or uploaded to POST /impact
        SYNTHETIC_LIMIT=20_000,  # synthetic households in one POST /impact
        STORE_TRACE=True,  # keep a stored decision's trace (compressed); False: re-evaluated when it is read
        BATCH_RETENTION_DAYS=7,  # a web batch review and its files are deleted this many days after it started
        # sizes (README: limits); a larger request is refused with 413 before it is read
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,  # bytes of one request body (JSON or form)
        MAX_FORM_MEMORY_SIZE=limit("yaml_file_bytes") * 3,  # bytes of a form's fields (a rule file, URL-encoded)
        MAX_UPLOAD_BYTES=64 * 1024 * 1024,  # bytes of an uploaded roll (batch review, impact on a roll)
        DRAFT_TIMEOUT=60,  # seconds one evaluation of a draft (impact, policy tests) may take in its worker
        DRAFT_MEMORY_MB=1024,  # memory of that worker process
        DRAFT_WORKERS=2,  # draft evaluations running at once (others wait, within their own time)
        # the session cookie: not readable by scripts, not sent by other sites' forms; Secure behind TLS
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        PERMANENT_SESSION_LIFETIME=8 * 3600,  # seconds a sign-in lasts at most
        SESSION_IDLE_TIMEOUT=30 * 60,  # seconds without a request that end a sign-in
        # failed sign-ins (engine/signin.py): lockout after this many per account / per address in the window
        SIGN_IN_ACCOUNT_LIMIT=5,
        SIGN_IN_ADDRESS_LIMIT=20,
        SIGN_IN_WINDOW=15 * 60,
        SIGN_IN_LOCKOUT=15 * 60,
        SIGN_IN_BACKOFF=1.0,  # seconds between the last three attempts before a lock, doubling each time
        TRUSTED_PROXIES=0,  # reverse proxies in front of the server whose X-Forwarded-For/-Proto are believed
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("DOUDI")
    else:
        app.config.from_mapping(test_config)
    if database is not None:
        app.config["DATABASE"] = database
    app.json = JSONProvider(app)

    from . import api, db, editor, security

    @app.before_request
    def _upload_limit() -> None:  # before CSRF reads the form: the larger limit of the pages taking a roll
        if getattr(app.view_functions.get(request.endpoint or ""), "accepts_upload", False):
            request.max_content_length = app.config["MAX_UPLOAD_BYTES"]

    security.init_app(app)  # headers on every response, the secret key, trusted proxies
    db.init_app(app)
    api_bp = api.blueprint()  # the JSON API (token authentication, one error shape) ...
    for routes in api.ROUTES:  # ... with a blueprint per resource inside it, as endpoints api.<module>.<view>
        api_bp.register_blueprint(routes.bp)
    app.register_blueprint(api_bp)  # before the editor exempts the API from CSRF
    editor.init_app(app)  # the pages: sign-in, CSRF, Chinese-first i18n, a blueprint per area
    return app
