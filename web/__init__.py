"""doudi's web application: the JSON API under ``/api/v1`` (and, later, the editor's pages)."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from engine.amounts import Fraction, json_number

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


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The application: defaults, then ``instance/config.py`` and ``DOUDI_*`` variables (or ``test_config``)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "doudi.db"),
        RULES=str(RULES),
        BATCH_LIMIT=1000,  # households in one POST /evaluate/batch or uploaded to POST /impact
        SYNTHETIC_LIMIT=20_000,  # synthetic households in one POST /impact
        DRAFT_TIMEOUT=60,  # seconds one evaluation of a draft (impact, policy tests) may take in its worker
        DRAFT_MEMORY_MB=1024,  # memory of that worker process
        DRAFT_WORKERS=2,  # draft evaluations running at once (others wait, within their own time)
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("DOUDI")
    else:
        app.config.from_mapping(test_config)
    app.json = JSONProvider(app)

    from . import db, editor
    from .api import bp as api

    db.init_app(app)
    app.register_blueprint(api)  # the JSON API, before the editor exempts it from CSRF
    editor.init_app(app)  # the pages: sign-in, CSRF, Chinese-first i18n, a blueprint per area
    return app
