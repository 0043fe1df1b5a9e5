"""Chinese first, English as a switch: Flask-Babel with catalogs read from the .po files at start.

Each area of the editor keeps its own catalog in ``web/translations/<area>/<lang>/LC_MESSAGES/
messages.po`` (msgids in English, as gettext expects); they are compiled in memory when the app starts
and merged, so that no compiled file is kept in the repository and nothing is written beside the code
(an installation may be read-only).
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Blueprint, Flask, redirect, request, session, url_for
from flask_babel import Babel, Domain, get_locale

from .security import safe_target

LANGUAGES = {"zh_CN": "中文", "en": "English"}
SOURCE = Path(__file__).resolve().parent / "translations"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The language chosen with the switch, else Chinese (not the browser's: the users are Chinese staff)."""
    lang = session.get("lang")
    return lang if lang in LANGUAGES else "zh_CN"


@bp.post("/lang/<code>")
def switch(code: str) -> Any:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_target(request.form.get("next"), url_for("home.index")))


@cache
def catalogs() -> dict[str, Translations]:
    """Every area's catalog compiled in memory and merged, by locale as Babel spells it (zh_CN: zh_Hans_CN)."""
    merged: dict[str, Translations] = {}
    for po in sorted(SOURCE.glob("*/*/LC_MESSAGES/messages.po")):  # areas in name order: a later one wins
        lang = po.parent.parent.name
        with open(po, "rb") as f:
            catalog = read_po(f, locale=lang)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        translations = Translations(compiled)
        key = str(Locale.parse(lang))
        if key in merged:
            merged[key].merge(translations)
        else:
            merged[key] = translations
    return merged


class _Catalogs(Domain):
    """Flask-Babel's domain, given the catalogs in memory instead of folders of .mo files."""

    def get_translations(self) -> NullTranslations:
        locale = get_locale()
        if locale is None:
            return NullTranslations()
        return catalogs().get(str(locale)) or NullTranslations()


def init_app(app: Flask) -> None:
    """Babel with zh_CN as the default locale and the catalogs of every area."""
    catalogs()  # read at start: a broken catalog stops the app here, not in a request
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh_CN")
    babel = Babel(app, locale_selector=select_locale)
    babel.domain_instance = _Catalogs()
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_lang"] = select_locale
    app.register_blueprint(bp)
