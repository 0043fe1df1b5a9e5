"""Sign-in sessions for the editor's pages, and the server-side permission check of every page."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from engine import signin
from engine.errors import NotFound
from engine.users import authenticate, can, get_user

from .db import get_db
from .security import safe_target

bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def _lifetimes() -> tuple[float, float]:
    config = current_app.config
    return current_app.permanent_session_lifetime.total_seconds(), float(config["SESSION_IDLE_TIMEOUT"])


def policy() -> signin.Policy:
    """The sign-in throttle's limits from the config (SIGN_IN_*)."""
    config = current_app.config
    return signin.Policy(int(config["SIGN_IN_ACCOUNT_LIMIT"]), int(config["SIGN_IN_ADDRESS_LIMIT"]),
                         float(config["SIGN_IN_WINDOW"]), float(config["SIGN_IN_LOCKOUT"]),
                         float(config["SIGN_IN_BACKOFF"]))


def _restart_session(**values: str) -> None:
    """A new session cookie, keeping only the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.update(values)


@bp.before_app_request
def load_user() -> None:
    """The signed-in user (or None) for this request: a live server-side session of an active account."""
    g.user = None
    sid = session.get("sid")
    if sid and not request.path.startswith("/api/"):
        username = signin.session_user(get_db(), sid, *_lifetimes())
        try:
            user = get_user(get_db(), username) if username else None
        except NotFound:
            user = None
        if user is None or not user.active:
            _restart_session()
            return
        g.user = user


def _too_many(wait: float) -> Any:
    seconds = max(1, math.ceil(wait))
    if seconds < 120:
        flash(_("Too many failed sign-ins. Please wait %(n)s s before trying again.", n=seconds), "error")
    else:
        flash(_("Too many failed sign-ins. Please wait %(n)s min before trying again.", n=math.ceil(seconds / 60)),
              "error")
    return render_template("auth/login.html", form=SignInForm()), 429, {"Retry-After": str(seconds)}


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = SignInForm()
    if form.validate_on_submit():
        db, username, address = get_db(), form.username.data or "", request.remote_addr or ""
        wait = signin.begin_attempt(db, username, address, policy())
        if wait > 0:  # no password is checked: the same answer whether the account exists or not
            return _too_many(wait)
        user = authenticate(db, username, form.password.data or "")
        if user is None:
            if signin.attempt_failed(db, username, address, policy()):
                return _too_many(policy().lockout)
            flash(_("Wrong username or password."), "error")
        else:
            signin.attempt_succeeded(db, username, address)
            _restart_session(sid=signin.start_session(db, user.username, *_lifetimes()))
            session.permanent = True  # the cookie expires with PERMANENT_SESSION_LIFETIME
            return redirect(safe_target(request.args.get("next"), url_for("home.index")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Any:
    signin.end_session(get_db(), session.get("sid"))
    _restart_session()
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
