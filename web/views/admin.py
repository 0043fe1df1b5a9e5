"""User administration (administrators only): accounts, roles with their jurisdiction, passwords, API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine import signin, users
from engine.errors import Conflict, DoudiError, InvalidInput, NotFound
from engine.model import RulePack
from engine.users import ROLES

from ..auth import permission_required
from ..db import get_db
from ..i18n import select_locale
from .check import pack_and_version

bp = Blueprint("admin", __name__, url_prefix="/admin/users")

LEVELS = {"province": _l("province"), "city": _l("city or prefecture"), "county": _l("county")}


def _message(exc: DoudiError) -> str:
    return (exc.message_zh or exc.message) if select_locale() == "zh_CN" else exc.message


def _problems(exc: DoudiError) -> dict[str, str]:
    """An engine error as messages by field (role, jurisdiction, username, password)."""
    zh = select_locale() == "zh_CN"
    found = {p.path or "": (p.message_zh or p.message) if zh else p.message for p in exc.problems}
    return found or {"username" if isinstance(exc, Conflict) else "": _message(exc)}


def _jurisdiction_error(pack: RulePack, role: str, code: str) -> str | None:
    """Why ``code`` does not suit ``role`` (the levels each role works at), or None."""
    levels = ROLES.get(role, {}).get("levels", ())
    if not code:
        return None if None in levels else _("Choose the jurisdiction the account works in.")
    j = pack.jurisdictions.get(code)
    if j is None or j.level not in levels:
        names = "、".join(str(LEVELS[level]) for level in levels if level)
        return _("A %(role)s works at the %(levels)s level.", role=ROLES[role]["zh" if select_locale() == "zh_CN"
                                                                          else "en"], levels=names)
    return None


def _get(username: str) -> users.User:
    try:
        return users.get_user(get_db(), username)
    except NotFound as exc:
        abort(404, _message(exc))


def _options(pack: RulePack) -> list[tuple[str, list[Any]]]:
    """Jurisdictions by level, for the selects (each option knows its level for the role filter)."""
    by_level: dict[str, list[Any]] = {"province": [], "city": [], "county": []}
    for j in sorted(pack.jurisdictions.values(), key=lambda j: j.code):
        by_level[j.level].append(j)
    return [(level, by_level[level]) for level in ("province", "city", "county")]


def _page(template: str, status: int = 200, **context: Any) -> Any:
    _version, pack = pack_and_version()
    if "account" in context:  # when the account's sign-in is locked (too many failures), until when
        until = signin.locked_until(get_db(), context["account"].username)
        context["locked_until"] = dt.datetime.fromtimestamp(until, dt.UTC).isoformat() if until else None
    levels = {role: [level or "" for level in spec["levels"]] for role, spec in ROLES.items()}
    return render_template(template, roles=ROLES, levels=levels, level_names=LEVELS, options=_options(pack),
                           **context), status


@bp.route("/", methods=["GET", "POST"])
@permission_required("users.manage")
def index() -> Any:
    form = {k: (request.form.get(k) or "").strip() for k in ("username", "name", "role", "jurisdiction")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        _version, pack = pack_and_version()
        password = request.form.get("password") or ""
        if form["role"] not in ROLES:
            errors["role"] = _("Choose a role.")
        elif (problem := _jurisdiction_error(pack, form["role"], form["jurisdiction"])) is not None:
            errors["jurisdiction"] = problem
        if not errors:
            try:
                users.add_user(get_db(), g.user.username, form["username"], password, form["role"],
                               form["jurisdiction"] or None, form["name"], pack=pack)
            except (InvalidInput, Conflict) as exc:
                errors = _problems(exc)
            else:
                flash(_("Account %(name)s created.", name=form["username"]), "ok")
                return redirect(url_for("admin.user", username=form["username"]))
    return _page("admin/index.html", 422 if errors else 200, accounts=users.list_users(get_db()), form=form,
                 errors=errors)


@bp.route("/<username>")
@permission_required("users.manage")
def user(username: str) -> Any:
    return _page("admin/user.html", account=_get(username), errors={}, token=None)


@bp.post("/<username>/role")
@permission_required("users.manage")
def role(username: str) -> Any:
    account = _get(username)
    _version, pack = pack_and_version()
    new_role, code = request.form.get("role", ""), (request.form.get("jurisdiction") or "").strip()
    errors: dict[str, str] = {}
    if account.username == g.user.username:
        errors["role"] = _("You cannot change your own role; ask another administrator.")
    elif new_role not in ROLES:
        errors["role"] = _("Choose a role.")
    elif (problem := _jurisdiction_error(pack, new_role, code)) is not None:
        errors["jurisdiction"] = problem
    if not errors:
        try:
            users.set_role(get_db(), g.user.username, username, new_role, code or None, pack=pack)
        except InvalidInput as exc:
            errors = _problems(exc)
        else:
            flash(_("The role of %(name)s is now %(role)s.", name=username,
                    role=ROLES[new_role]["zh" if select_locale() == "zh_CN" else "en"]), "ok")
            return redirect(url_for("admin.user", username=username))
    return _page("admin/user.html", 422, account=account, errors=errors, token=None)


@bp.post("/<username>/password")
@permission_required("users.manage")
def password(username: str) -> Any:
    account = _get(username)
    try:
        users.set_password(get_db(), g.user.username, username, request.form.get("password") or "")
    except InvalidInput as exc:
        return _page("admin/user.html", 422, account=account, errors=_problems(exc), token=None)
    flash(_("The password of %(name)s has been reset.", name=username), "ok")
    return redirect(url_for("admin.user", username=username))


@bp.post("/<username>/active")
@permission_required("users.manage")
def active(username: str) -> Any:
    account = _get(username)
    if account.username == g.user.username:
        return _page("admin/user.html", 422, account=account, token=None,
                     errors={"active": _("You cannot disable your own account.")})
    users.set_active(get_db(), g.user.username, username, not account.active)
    flash(_("%(name)s is enabled.", name=username) if not account.active
          else _("%(name)s is disabled: they can no longer sign in or use their tokens.", name=username), "ok")
    return redirect(url_for("admin.user", username=username))


@bp.post("/<username>/unlock")
@permission_required("users.manage")
def unlock(username: str) -> Any:
    _get(username)
    signin.unlock(get_db(), g.user.username, username)
    flash(_("%(name)s can sign in again.", name=username), "ok")
    return redirect(url_for("admin.user", username=username))


@bp.post("/<username>/token")
@permission_required("users.manage")
def token(username: str) -> Any:
    account = _get(username)
    label = (request.form.get("label") or "").strip()
    issued = users.issue_token(get_db(), g.user.username, username, label)
    # shown in this response only (never flashed: the session cookie is signed, not encrypted)
    return _page("admin/user.html", account=account, errors={}, token=issued)
