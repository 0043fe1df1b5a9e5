"""Published versions: immutable, numbered snapshots of a whole pack, identified by their digest."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .errors import Conflict, NotFound
from .load import load_files, read_files
from .model import RulePack
from .store import audit, now

_PACKS: OrderedDict[str, RulePack] = OrderedDict()
PACK_CACHE = 8  # compiled versions kept in memory (each also holds a durable-rules ruleset)


@dataclass(frozen=True)
class Version:
    """A published version of the rule pack."""

    number: int
    digest: str
    created_at: str
    created_by: str
    source: str
    title: str
    draft_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "digest": self.digest, "created_at": self.created_at,
                "created_by": self.created_by, "source": self.source, "title": self.title,
                "draft_id": self.draft_id}


def _version(row: dict[str, Any]) -> Version:
    return Version(row["number"], row["digest"], row["created_at"], row["created_by"] or "", row["source"] or "",
                   row["title"] or "", row["draft_id"])


def list_versions(db: Database) -> list[Version]:
    """Every published version, oldest first."""
    return [_version(r) for r in db.table("versions").rows_where(order_by="number",
                                                                  select="number, digest, created_at, created_by, "
                                                                         "source, title, draft_id")]


def get_version(db: Database, number: int | None = None) -> Version:
    """Version ``number``, or the latest published one; NotFound if there is none."""
    sql = "number = ?" if number is not None else None
    rows = list(db.table("versions").rows_where(sql, [number] if number is not None else [], order_by="number desc",
                                                limit=1, select="number, digest, created_at, created_by, source, "
                                                                "title, draft_id"))
    if not rows:
        latest = db.execute("select max(number) from versions").fetchone()[0]
        if number is None or latest is None:
            raise NotFound("there is no published version yet; run 'doudi init' to import the rule pack",
                           message_zh="尚未发布规则版本，请先运行 doudi init")
        raise NotFound(f"there is no version {number} (the latest is {latest})",
                       message_zh=f"规则版本 {number} 不存在（最新为第 {latest} 版）")
    return _version(rows[0])


def version_files(db: Database, number: int) -> dict[str, str]:
    """The YAML files of a version by path."""
    get_version(db, number)
    row = db.execute("select files from versions where number = ?", [number]).fetchone()
    files: dict[str, str] = json.loads(row[0])
    return files


def pack_of(db: Database, number: int | None = None) -> tuple[Version, RulePack]:
    """A version and its compiled pack (kept in a small cache, keyed by digest)."""
    version = get_version(db, number)
    pack = _PACKS.get(version.digest)
    if pack is None:
        pack = load_files(version_files(db, version.number))
        _PACKS[version.digest] = pack
        while len(_PACKS) > PACK_CACHE:
            _PACKS.popitem(last=False)
    else:
        _PACKS.move_to_end(version.digest)
    return version, pack


def by_digest(db: Database, digest: str) -> Version | None:
    """The published version with this digest, if any."""
    rows = list(db.table("versions").rows_where("digest = ?", [digest], select="number, digest, created_at, "
                                                "created_by, source, title, draft_id"))
    return _version(rows[0]) if rows else None


def publish(db: Database, files: dict[str, str], user: str | None, source: str, draft_id: int | None = None,
            title: str = "", pack: RulePack | None = None) -> Version:
    """Validate ``files`` as a pack (unless given compiled as ``pack``) and publish them as the next version
    (the same content twice is refused); inside the caller's transaction, if one is open."""
    pack = pack if pack is not None else load_files(files)
    existing = by_digest(db, pack.digest)
    if existing is not None:
        raise Conflict(f"this content is already published as version {existing.number}",
                       message_zh=f"相同内容已发布为版本 {existing.number}")
    with db.atomic():
        number = (db.execute("select max(number) from versions").fetchone()[0] or 0) + 1
        db.table("versions").insert({
            "number": number, "digest": pack.digest, "created_at": now(), "created_by": user or "",
            "source": source, "draft_id": draft_id, "title": title or pack.title.zh,
            "files": json.dumps(files, ensure_ascii=False, sort_keys=True),
        })
    _PACKS[pack.digest] = pack
    audit(db, user, "publish", "version", number, f"version {number} {pack.digest[:19]}… from {source}")
    return get_version(db, number)


def import_folder(db: Database, folder: str | Path, user: str | None = None) -> tuple[Version, bool]:
    """Import a pack folder as a version; if its content is already published, return that one (idempotent)."""
    files = read_files(folder)
    pack = load_files(files)
    existing = by_digest(db, pack.digest)
    if existing is not None:
        return existing, False
    return publish(db, files, user, "import " + "/".join(Path(folder).resolve().parts[-2:])), True


def export_version(db: Database, number: int, folder: str | Path, force: bool = False) -> list[Path]:
    """Write version ``number`` back to a YAML folder (an empty or new one, unless ``force``)."""
    target = Path(folder)
    if target.exists() and any(target.iterdir()) and not force:
        raise Conflict(f"{target} is not empty; choose a new folder or pass --force",
                       message_zh=f"{target} 不是空目录")
    written = []
    for name, text in sorted(version_files(db, number).items()):
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
