"""The editor's pages: sign-in, CSRF on every form, Chinese-first i18n, and a blueprint per area."""

from __future__ import annotations

import importlib

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from . import auth, i18n, pages

csrf = CSRFProtect()

# one module per area under web/views/, each with a blueprint ``bp``; missing ones are simply not offered
AREAS = ("packs", "home", "jurisdictions", "parameters", "rules", "drafts", "versions", "check", "batch", "history",
         "audit", "admin")


def init_app(app: Flask) -> None:
    """Register everything the HTML side needs (the JSON API, with its tokens, is exempt from CSRF)."""
    csrf.init_app(app)
    for name, blueprint in list(app.blueprints.items()):  # the api blueprint and those nested in it
        if name == "api" or name.startswith("api."):
            csrf.exempt(blueprint)
    i18n.init_app(app)
    pages.init_app(app)
    app.register_blueprint(auth.bp)
    for area in AREAS:
        try:
            module = importlib.import_module(f".views.{area}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.views.{area}":
                raise
            continue
        app.register_blueprint(module.bp)
