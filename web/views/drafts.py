"""Drafts and review: my drafts, the review queue, a draft's changes and diff, submit / approve / reject."""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import drafts, versions
from engine.amounts import format_amount
from engine.compare import diff_packs
from engine.errors import Conflict, DoudiError, InvalidInput, LimitExceeded, NotFound, PermissionDenied, Problem
from engine.model import RulePack
from engine.users import can

from ..auth import permission_required
from ..db import get_db
from ..i18n import select_locale
from ..isolation import draft_budget

bp = Blueprint("drafts", __name__, url_prefix="/drafts")


# -- shared by the policy pages (parameters, rules, drafts, versions) ------------------------------


def localized(error: DoudiError | Problem) -> str:
    """An engine error or problem in the page's language."""
    if select_locale() == "zh_CN" and error.message_zh:
        return error.message_zh
    return error.message


def refuse(exc: DoudiError) -> NoReturn:
    """The HTML answer to an engine refusal: 403 for permissions, 404 for missing records."""
    abort(403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound)
          else 503 if isinstance(exc, LimitExceeded) else 400, localized(exc))


def refusal_page(exc: DoudiError) -> Any:
    """An engine refusal no view caught (e.g. nothing published yet): the HTML error page, not a 500."""
    code = 403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound) \
        else 409 if isinstance(exc, Conflict) else 503 if isinstance(exc, LimitExceeded) else 400
    titles = {403: _("Not allowed"), 404: _("Not found"), 409: _("Conflict"), 400: _("Bad request"),
              503: _("Evaluation stopped")}
    return render_template("error.html", code=code, title=titles[code], message=localized(exc)), code


bp.register_error_handler(DoudiError, refusal_page)


def stamp(value: str | None) -> str:
    """A stored UTC time as the server's local time, to the minute."""
    if not value:
        return ""
    try:
        return dt.datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


def base_pack(draft: drafts.Draft) -> RulePack:
    """The pack of the version a draft is based on."""
    return versions.pack_of(get_db(), draft.base_version)[1]


def load_draft(draft_id: int) -> drafts.Draft:
    """The draft as the signed-in user may read it: 404 outside their scope, as for a draft that does not exist."""
    try:
        return drafts.open_draft(get_db(), g.user, draft_id)
    except DoudiError as exc:
        refuse(exc)


def may_decide(draft: drafts.Draft) -> bool:
    """Whether the signed-in user may approve or reject the draft (the engine checks again)."""
    return drafts.may_decide(get_db(), base_pack(draft), g.user, draft)


def is_author(draft: drafts.Draft) -> bool:
    """Whether the signed-in user wrote the draft (only its author edits and submits it)."""
    return bool(draft.author == g.user.username)


def display(value: Any) -> str:
    """A parameter value (from a pack or a diff) for reading: 3960, 是, 2019-12-31, ≤5000：0.5；…."""
    if value is None:
        return "—"
    if value == "inherit":
        return _("inherit from above")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return "；".join(f"{k} {display(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        if value and all(isinstance(b, tuple | dict) for b in value):  # bands
            parts = []
            for band in value:
                upto, rate = (band.get("upto"), band["rate"]) if isinstance(band, dict) else band
                head = _("up to %(amount)s", amount=display(upto)) if upto is not None else _("above")
                parts.append(f"{head}：{display(rate)}")
            return "；".join(parts)
        return "、".join(str(v) for v in value) or "—"
    return format_amount(value)


def signed(value: Any) -> str:
    """A change with its sign: +140, −12.5, 0."""
    if value is None:
        return "—"
    text = format_amount(abs(value))
    return f"+{text}" if value > 0 else f"−{text}" if value < 0 else "0"


# -- pages -----------------------------------------------------------------------------------------


@bp.route("/")
@permission_required("draft.read")
def index() -> Any:
    db = get_db()
    _version, pack = versions.pack_of(db)
    everything = drafts.readable_drafts(db, g.user)
    mine = [d for d in everything if d.author == g.user.username]
    queue = [d for d in everything if d.status == "submitted" and may_decide(d)]
    others = [d for d in everything if d not in mine and d not in queue]
    return render_template("drafts/index.html", mine=mine, queue=queue, others=others, stamp=stamp,
                           may_create=can(g.user, "draft.create"), pack=pack)


@bp.post("/")
@permission_required("draft.create")
def create() -> Any:
    """A new draft on the latest version; then to its page (or to the editor the form came from)."""
    title = (request.form.get("title") or "").strip()
    try:
        draft = drafts.create_draft(get_db(), g.user, title)
    except DoudiError as exc:
        refuse(exc)
    flash(_("Draft #%(id)s created from version %(n)s.", id=draft.id, n=draft.base_version), "ok")
    return redirect(url_for("drafts.show", draft_id=draft.id))


@bp.route("/<int:draft_id>")
@permission_required("draft.read")
def show(draft_id: int) -> Any:
    return _page(draft_id)


def _page(draft_id: int, comment: str = "", comment_error: str = "", status: int = 200) -> Any:
    db = get_db()
    draft = load_draft(draft_id)
    base = base_pack(draft)
    try:
        pack = drafts.draft_pack(db, draft_id)
    except DoudiError as exc:  # saved drafts are valid; a pack no longer loading is worth saying plainly
        flash(localized(exc), "error")
        pack = base
    diff = diff_packs(base, pack)
    changes = drafts.draft_changes(db, draft_id)
    other = len(diff.rules) + len(diff.declarations) + len(diff.variables) + len(diff.outputs) \
        + len(diff.jurisdictions) + len(diff.metadata)
    editable = draft.status in drafts.EDITABLE and is_author(draft)
    return render_template(
        "drafts/show.html", draft=draft, pack=pack, diff=diff, changes=changes, other_changes=other,
        stamp=stamp, display=display, signed=signed, editable=editable, may_decide=may_decide(draft), comment=comment,
        comment_error=comment_error,
        may_submit=editable and can(g.user, "draft.submit"),
        may_edit=editable and can(g.user, "draft.edit_parameter"),
        may_edit_rules=editable and can(g.user, "draft.edit_rules")), status


@bp.post("/<int:draft_id>/submit")
@permission_required("draft.submit")
def submit(draft_id: int) -> Any:
    try:
        drafts.submit(get_db(), draft_id, g.user)
    except Conflict as exc:
        flash(localized(exc), "error")
        return _page(draft_id, status=409)
    except DoudiError as exc:
        refuse(exc)
    else:
        flash(_("Draft #%(id)s is submitted for review.", id=draft_id), "ok")
    return redirect(url_for("drafts.show", draft_id=draft_id))


@bp.post("/<int:draft_id>/approve")
@permission_required("draft.decide")
def approve(draft_id: int) -> Any:
    comment = (request.form.get("comment") or "").strip()
    try:
        version = drafts.approve(get_db(), draft_id, g.user, comment, draft_budget())
    except Conflict as exc:  # the policy tests fail, or another decision came first: the page as it is now
        flash(localized(exc), "error")
        for problem in exc.problems[:10]:
            if problem.path != "status":
                flash(localized(problem), "error")
        return _page(draft_id, comment, status=409)
    except DoudiError as exc:
        refuse(exc)
    else:
        flash(_("Approved: the draft is published as version %(n)s.", n=version.number), "ok")
    return redirect(url_for("drafts.show", draft_id=draft_id))


@bp.post("/<int:draft_id>/reject")
@permission_required("draft.decide")
def reject(draft_id: int) -> Any:
    comment = (request.form.get("comment") or "").strip()
    try:
        drafts.reject(get_db(), draft_id, g.user, comment)
    except InvalidInput as exc:
        return _page(draft_id, comment, localized(exc.problems[0]) if exc.problems else localized(exc), 422)
    except Conflict as exc:
        flash(localized(exc), "error")
        return _page(draft_id, comment, status=409)
    except DoudiError as exc:
        refuse(exc)
    else:
        flash(_("Draft #%(id)s is sent back to its author.", id=draft_id), "ok")
    return redirect(url_for("drafts.show", draft_id=draft_id))
