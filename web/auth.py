"""Sign-in sessions for the editor's pages, and the server-side permission check of every page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from engine.errors import NotFound
from engine.users import authenticate, can, get_user

from .db import get_db

bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


@bp.before_app_request
def load_user() -> None:
    """The signed-in user (or None) for this request."""
    g.user = None
    username = session.get("username")
    if username and not request.path.startswith("/api/"):
        try:
            user = get_user(get_db(), username)
        except NotFound:
            session.clear()
            return
        g.user = user if user.active else None


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = SignInForm()
    if form.validate_on_submit():
        user = authenticate(get_db(), form.username.data or "", form.password.data or "")
        if user is None:
            flash(_("Wrong username or password."), "error")
        else:
            lang = session.get("lang")
            session.clear()
            session["username"] = user.username
            if lang:
                session["lang"] = lang
            target = request.args.get("next") or ""
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("home.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Any:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anonymous visitors to the sign-in page."""

    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)

    return wrapped


def permission_required(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Sign-in, then 403 unless the user's role may do ``action`` (scope is checked in the view)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        @login_required
        def wrapped(**kwargs: Any) -> Any:
            if not can(g.user, action):
                abort(403, _("Your role may not open this page."))
            return view(**kwargs)

        return wrapped

    return decorator
