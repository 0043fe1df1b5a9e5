"""Chinese first, English as a switch: Flask-Babel with catalogs compiled from the .po files at start.

Each area of the editor keeps its own catalog in ``web/translations/<area>/<lang>/LC_MESSAGES/
messages.po`` (msgids in English, as gettext expects); they are compiled into the instance folder
when the app starts and merged by Flask-Babel, so no compiled file is kept in the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, redirect, request, session, url_for
from flask_babel import Babel

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


def compile_catalogs(target: Path) -> list[str]:
    """Compile every .po under web/translations into ``target``; the directories Flask-Babel should read."""
    directories = []
    for area in sorted(p for p in SOURCE.iterdir() if p.is_dir()):
        for po in area.glob("*/LC_MESSAGES/messages.po"):
            lang = po.parent.parent.name
            with open(po, "rb") as f:
                catalog = read_po(f, locale=lang)
            # Babel may spell zh_CN as zh_Hans_CN when it looks the catalog up: write it under both names
            for name in {lang, lang.split("_")[0]}:
                out = target / area.name / name / "LC_MESSAGES" / "messages.mo"
                out.parent.mkdir(parents=True, exist_ok=True)
                with open(out, "wb") as f:
                    write_mo(f, catalog)
        directories.append(str(target / area.name))
    return directories


def init_app(app: Flask) -> None:
    """Babel with zh_CN as the default locale and the compiled catalogs of every area."""
    directories = compile_catalogs(Path(app.instance_path) / "translations")
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh_CN")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(directories)
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_lang"] = select_locale
    app.register_blueprint(bp)
