"""The rule viewer and editor: programme rules with their conditions and citations, YAML edited in a draft."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import drafts, versions
from engine.errors import Conflict, DoudiError, InvalidInput, NotFound, Problem
from engine.inputs import id_number, whole_number
from engine.model import RulePack
from engine.users import can

from ..auth import permission_required
from ..db import get_db
from ..i18n import select_locale
from .drafts import is_author, load_draft, localized, refusal_page, refuse

bp = Blueprint("rules", __name__, url_prefix="/rules")
bp.register_error_handler(DoudiError, refusal_page)



def _scopes(pack: RulePack) -> dict[str, str]:
    """What a rule applies to, by scope: each household, or each item of a collection the facts declare."""
    zh = select_locale() == "zh_CN"
    out = {"household": _("each household")}
    for c in pack.facts.collections:
        out[c.scope] = _("each %(item)s", item=c.item_label.zh if zh else c.item_label.en.lower())
    return out


def _source(version: str | None, draft: str | None) -> tuple[Any, Any, RulePack, dict[str, str]]:
    """The version (or draft) asked for: (version, draft, pack, files)."""
    db = get_db()
    if whole_number(draft) is not None:
        if not can(g.user, "draft.read"):
            abort(403, _("Your role may not open this page."))
        d = load_draft(int(draft or 0))
        return None, d, drafts.draft_pack(db, d.id), drafts.draft_files(db, d.id)
    try:
        v, pack = versions.pack_of(db, whole_number(version))
    except NotFound as exc:
        refuse(exc)
    return v, None, pack, versions.version_files(db, v.number)


def _programmes(pack: RulePack) -> list[dict[str, Any]]:
    """The rules grouped by programme, in the order of the rule documents."""
    out: dict[str, dict[str, Any]] = {}
    for rule in pack.rules:
        doc = pack.sources.get(rule.file, {})
        group = out.setdefault(rule.programme, {"programme": rule.programme, "title": doc.get("title"),
                                                "reference": doc.get("reference"), "file": rule.file, "rules": []})
        group["rules"].append(rule)
    return list(out.values())


def _editable_drafts() -> list[drafts.Draft]:
    """The user's own drafts that can still be edited (nobody writes into another's draft)."""
    return [d for d in drafts.list_drafts(get_db()) if d.status in drafts.EDITABLE and d.author == g.user.username]


@bp.route("/")
@permission_required("versions.read")
def index() -> Any:
    version, draft, pack, files = _source(request.args.get("version"), request.args.get("draft"))
    kinds = {path: doc.get("kind") for path, doc in pack.sources.items()}
    others = sorted(p for p, k in kinds.items() if k != "rules")
    return render_template("rules/index.html", version=version, draft=draft, pack=pack,
                           programmes=_programmes(pack), others=others, kinds=kinds, scopes=_scopes(pack),
                           versions=versions.list_versions(get_db()))


@bp.route("/doc/<path:path>")
@permission_required("versions.read")
def document(path: str) -> Any:
    version, draft, pack, files = _source(request.args.get("version"), request.args.get("draft"))
    if path not in files:
        abort(404, _("There is no document %(path)s.", path=path))
    rules = [r for r in pack.rules if r.file == path]
    may_edit = can(g.user, "draft.edit_rules")
    return render_template("rules/document.html", version=version, draft=draft, path=path,
                           lines=files[path].splitlines(), rules=rules, scopes=_scopes(pack), may_edit=may_edit,
                           drafts=_editable_drafts() if may_edit else [])


@bp.post("/edit")
@permission_required("draft.edit_rules")
def start_edit() -> Any:
    """Open a document in a draft of the user's, a new one if asked."""
    path = request.form.get("path", "")
    choice = request.form.get("draft", "new")
    if whole_number(choice) is not None:
        draft_id = load_draft(int(choice)).id
    else:
        try:
            draft_id = drafts.create_draft(get_db(), g.user, (request.form.get("title") or "").strip()).id
        except DoudiError as exc:
            refuse(exc)
        flash(_("Draft #%(id)s created.", id=draft_id), "ok")
    return redirect(url_for("rules.edit", draft_id=draft_id, path=path))


def _edit_page(draft: drafts.Draft, path: str, text: str, typed: dict[str, str], problems: list[Any],
               status: int = 200) -> Any:
    shown = []
    for p in problems:
        here = p.file in (None, path)
        shown.append({"line": p.line, "file": p.file, "here": here, "message": localized(p)})
    bad_lines = {p["line"] for p in shown if p["here"] and p["line"]}
    return render_template("rules/edit.html", draft=draft, path=path, text=text, lines=text.splitlines(),
                           typed=typed, problems=shown, bad_lines=bad_lines,
                           editable=draft.status in drafts.EDITABLE and is_author(draft)), status


@bp.route("/draft/<int:draft_id>/<path:path>", methods=["GET", "POST"])
@permission_required("draft.edit_rules")
def edit(draft_id: int, path: str) -> Any:
    """A rule document of a draft as YAML in a text area; saved whole, validated with line numbers."""
    draft = load_draft(draft_id)
    files = drafts.draft_files(get_db(), draft_id)
    if request.method == "GET":
        if path not in files and not path.endswith((".yaml", ".yml")):
            abort(404, _("There is no document %(path)s.", path=path))
        return _edit_page(draft, path, files.get(path, ""), {"reason": "", "document": ""}, [])
    text = request.form.get("text", "").replace("\r\n", "\n")
    typed = {"reason": request.form.get("reason", ""), "document": request.form.get("document", "")}
    try:
        drafts.set_rule_file(get_db(), draft_id, g.user, path=path, text=text, reason=typed["reason"].strip(),
                             document=typed["document"].strip(),
                             revision=request.form.get("revision", -1, type=id_number))
    except InvalidInput as exc:
        flash(_("Not saved: %(n)s problem(s) in the rules.", n=len(exc.problems) or 1), "error")
        return _edit_page(draft, path, text, typed, exc.problems or [Problem(exc.message, exc.message_zh)], 422)
    except Conflict as exc:
        flash(localized(exc), "error")
        return _edit_page(load_draft(draft_id), path, text, typed, [], 409)
    except DoudiError as exc:
        refuse(exc)
    flash(_("Saved %(path)s to draft #%(id)s.", path=path, id=draft_id), "ok")
    return redirect(url_for("rules.document", path=path, draft=draft_id))
