"""``/drafts``: edit a copy of a version, then submit, approve (publish) or reject it — four eyes.

A draft outside the caller's scope answers 404, like one that does not exist (``engine.drafts.open_draft``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine import drafts
from engine.errors import NotFound
from engine.users import require

from ..db import get_db
from ..isolation import draft_budget
from .bodies import body
from .common import current_user

bp = Blueprint("drafts", __name__)


def _detail(draft_id: int) -> dict[str, Any]:
    db = get_db()
    draft = drafts.open_draft(db, current_user(), draft_id)
    files = drafts.draft_files(db, draft_id)
    return draft.to_dict() | {"changes": drafts.draft_changes(db, draft_id),
                              "files": [{"path": p, "bytes": len(t.encode())} for p, t in sorted(files.items())]}


@bp.post("/drafts")
def create_draft() -> tuple[dict[str, Any], int]:
    """A new draft copying a version (default: the latest)."""
    data = body("DraftCreate")
    draft = drafts.create_draft(get_db(), current_user(), data.get("title", ""), data.get("base_version"))
    return _detail(draft.id), 201


@bp.get("/drafts")
def list_drafts() -> dict[str, Any]:
    """Drafts the caller may read, newest first: their own, and those of or changing their jurisdiction and
    below (all at province level); ``?status=editing|submitted|approved|rejected``. ``?all=true`` is accepted
    and lists the same: nobody lists drafts beyond their scope."""
    user = current_user()
    require(user, "draft.read")
    found = drafts.readable_drafts(get_db(), user, request.args.get("status") or None)
    return {"drafts": [d.to_dict() for d in found]}


@bp.get("/drafts/<int:draft_id>")
def get_draft(draft_id: int) -> dict[str, Any]:
    """A draft: its status and revision, the jurisdictions it changes, every recorded change, its files."""
    return _detail(draft_id)


@bp.get("/drafts/<int:draft_id>/files/<path:path>")
def draft_file(draft_id: int, path: str) -> dict[str, Any]:
    """The YAML text of one file of a draft."""
    drafts.open_draft(get_db(), current_user(), draft_id)
    files = drafts.draft_files(get_db(), draft_id)
    if path not in files:
        raise NotFound(f"draft {draft_id} has no file {path!r}", message_zh=f"草稿 {draft_id} 中没有文件 {path}")
    return {"draft": draft_id, "path": path, "text": files[path]}


@bp.put("/drafts/<int:draft_id>/parameters")
def set_draft_parameter(draft_id: int) -> dict[str, Any]:
    """Set (or end, with ``inherit``) one dated value; validated at once, refused if the revision is stale;
    saved with ``warnings`` when the jurisdiction's value jumps (more than twice or less than half)."""
    data = body("ParameterEdit")
    drafts.set_parameter_value(
        get_db(), draft_id, current_user(), jurisdiction=data["jurisdiction"], parameter=data["parameter"],
        effective=data["effective"], value=data.get("value"), inherit=data.get("inherit", False),
        document=data["document"], reason=data.get("reason", ""), revision=data["revision"])
    warned = drafts.value_warnings(drafts.draft_pack(get_db(), draft_id), data["jurisdiction"], data["parameter"])
    return _detail(draft_id) | {"warnings": [w.as_dict() for w in warned]}


@bp.put("/drafts/<int:draft_id>/files/<path:path>")
def set_draft_file(draft_id: int, path: str) -> dict[str, Any]:
    """Replace (or add) one YAML document of a draft (province officers: the rules themselves), with the
    ``warnings`` of that file (values that jump)."""
    data = body("FileEdit")
    drafts.set_rule_file(get_db(), draft_id, current_user(), path=path, text=data["text"],
                         reason=data.get("reason", ""), document=data.get("document", ""), revision=data["revision"])
    warned = [w for w in drafts.draft_pack(get_db(), draft_id).warnings if w.file == path]
    return _detail(draft_id) | {"warnings": [w.as_dict() | {"path": "text"} for w in warned]}


@bp.post("/drafts/<int:draft_id>/submit")
def submit_draft(draft_id: int) -> dict[str, Any]:
    """Hand the draft to the reviewers (its author only)."""
    body("Empty")
    drafts.submit(get_db(), draft_id, current_user())
    return _detail(draft_id)


@bp.post("/drafts/<int:draft_id>/approve")
def approve_draft(draft_id: int) -> tuple[dict[str, Any], int]:
    """Approve a submitted draft (not its author; scope over every jurisdiction it changes): the new version."""
    data = body("Approval")
    version = drafts.approve(get_db(), draft_id, current_user(), data.get("comment", ""), draft_budget())
    return version.to_dict(), 201


@bp.post("/drafts/<int:draft_id>/reject")
def reject_draft(draft_id: int) -> dict[str, Any]:
    """Send a submitted draft back to its author with a comment."""
    data = body("Rejection")
    drafts.reject(get_db(), draft_id, current_user(), data["comment"])
    return _detail(draft_id)
