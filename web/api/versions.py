"""``/versions``: the published versions of the rule pack, their files and the YAML text of each."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine import versions
from engine.errors import NotFound
from engine.users import require

from ..db import get_db
from .common import current_user

bp = Blueprint("versions", __name__)


@bp.get("/packs")
def list_packs() -> dict[str, Any]:
    """The packs in the database, each its own line of versions, in the order they were imported."""
    require(current_user(), "versions.read")
    return {"packs": [line.to_dict() for line in versions.packs(get_db())]}


@bp.get("/versions")
def list_versions() -> dict[str, Any]:
    """The published versions of ``?pack=`` (without it, of every pack), oldest first."""
    require(current_user(), "versions.read")
    return {"versions": [v.to_dict() for v in versions.list_versions(get_db(), request.args.get("pack"))]}


@bp.get("/versions/<int:number>")
def get_version(number: int) -> dict[str, Any]:
    """One version and the list of its files."""
    require(current_user(), "versions.read")
    db = get_db()
    version = versions.get_version(db, number)
    files = versions.version_files(db, number)
    return version.to_dict() | {"files": [{"path": path, "bytes": len(text.encode())}
                                          for path, text in sorted(files.items())]}


@bp.get("/versions/<int:number>/files/<path:path>")
def version_file(number: int, path: str) -> dict[str, Any]:
    """The YAML text of one file of a version."""
    require(current_user(), "versions.read")
    files = versions.version_files(get_db(), number)
    if path not in files:
        raise NotFound(f"version {number} has no file {path!r}", message_zh=f"版本 {number} 中没有文件 {path}")
    return {"version": number, "path": path, "text": files[path]}
