"""Published versions: immutable, numbered snapshots of a whole pack, identified by their digest.

One database may hold several packs (``pack.yaml`` ``id``): each has its own line of versions. Numbers are
unique across the database (version 3 is one pack's), and "the latest" is always the latest of one pack's
line: of the pack asked for, else of the pack this context works in (``working_pack``: the web request's
choice), else of the first pack imported. A draft publishes only into its own pack's line, and two versions
of different packs are not compared (``same_pack``)."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .errors import Conflict, NotFound
from .load import load_files, read_files
from .model import RulePack
from .store import audit, now

_PACKS: OrderedDict[str, RulePack] = OrderedDict()
_WORKING: ContextVar[str | None] = ContextVar("working_pack", default=None)
COLUMNS = "number, digest, created_at, created_by, source, title, draft_id, pack_id"
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
    pack_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "pack": self.pack_id, "digest": self.digest, "created_at": self.created_at,
                "created_by": self.created_by, "source": self.source, "title": self.title,
                "draft_id": self.draft_id}


@dataclass(frozen=True)
class PackLine:
    """One pack held in the database: its id, the title of its latest version, and that version's number."""

    id: str
    title: str
    latest: int
    versions: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "latest": self.latest, "versions": self.versions}


def _version(row: dict[str, Any]) -> Version:
    return Version(row["number"], row["digest"], row["created_at"], row["created_by"] or "", row["source"] or "",
                   row["title"] or "", row["draft_id"], row["pack_id"] or "")


def packs(db: Database) -> list[PackLine]:
    """The packs in the database, in the order they were first imported."""
    rows = db.execute("select l.pack_id, l.latest, l.n, v.title from (select pack_id, max(number) as latest, "
                      "count(*) as n, min(number) as first from versions group by pack_id) l "
                      "join versions v on v.number = l.latest order by l.first").fetchall()
    return [PackLine(r[0] or "", r[3] or "", r[1], r[2]) for r in rows]


@contextmanager
def working_pack(pack_id: str | None) -> Iterator[None]:
    """Within this block, "the latest version" means the latest of ``pack_id`` (None: the first pack)."""
    token = _WORKING.set(pack_id)
    try:
        yield
    finally:
        _WORKING.reset(token)


def set_working_pack(pack_id: str | None) -> Any:
    """Make ``pack_id`` the working pack of this context (a web request); the token to ``reset_working_pack``."""
    return _WORKING.set(pack_id)


def reset_working_pack(token: Any) -> None:
    _WORKING.reset(token)


def current_pack_id(db: Database, pack: str | None = None) -> str | None:
    """The pack meant: ``pack`` if given, else the working pack, else the first pack imported (None: none)."""
    if pack or _WORKING.get():
        return pack or _WORKING.get()
    row = db.execute("select pack_id from versions order by number limit 1").fetchone()
    return row[0] if row else None


def list_versions(db: Database, pack: str | None = None) -> list[Version]:
    """The published versions of ``pack`` (None: of every pack), oldest first."""
    where, args = ("pack_id = ?", [pack]) if pack else (None, [])
    return [_version(r) for r in db.table("versions").rows_where(where, args, order_by="number", select=COLUMNS)]


def get_version(db: Database, number: int | None = None, pack: str | None = None) -> Version:
    """Version ``number`` (of any pack), or the latest of ``pack`` (``current_pack_id``); NotFound if none."""
    if number is not None:
        sql, args = "number = ?", [number]
    else:
        pack = current_pack_id(db, pack)
        sql, args = "pack_id = ?", [pack]
    rows = list(db.table("versions").rows_where(sql, args, order_by="number desc", limit=1, select=COLUMNS))
    if not rows:
        if number is None and pack is not None and db.execute("select 1 from versions limit 1").fetchone():
            raise NotFound(f"there is no pack {pack!r} in this database",
                           message_zh=f"数据库中没有规则包 {pack!r}")
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


def pack_of(db: Database, number: int | None = None, pack: str | None = None) -> tuple[Version, RulePack]:
    """A version (``number``, else the latest of ``pack``) and its compiled pack (cached by digest)."""
    version = get_version(db, number, pack)
    pack = _PACKS.get(version.digest)
    if pack is None:
        pack = load_files(version_files(db, version.number))
        _PACKS[version.digest] = pack
        while len(_PACKS) > PACK_CACHE:
            _PACKS.popitem(last=False)
    else:
        _PACKS.move_to_end(version.digest)
    return version, pack


def pack_holding(db: Database, code: str | None) -> RulePack:
    """The latest version of the first pack whose jurisdictions include ``code`` (an account's), else of the pack
    meant by default (``current_pack_id``): whose jurisdictions an account is checked against."""
    for line in packs(db) if code else ():
        pack = pack_of(db, line.latest)[1]
        if code in pack.jurisdictions:
            return pack
    return pack_of(db)[1]


def by_digest(db: Database, digest: str) -> Version | None:
    """The published version with this digest, if any."""
    rows = list(db.table("versions").rows_where("digest = ?", [digest], select=COLUMNS))
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
    if draft_id is not None:
        base = db.execute("select v.pack_id from drafts d join versions v on v.number = d.base_version "
                          "where d.id = ?", [draft_id]).fetchone()
        if base and base[0] != pack.id:
            raise Conflict(f"draft {draft_id} is based on pack {base[0]!r} but its pack.yaml says {pack.id!r}: a "
                           f"draft is published only into its own pack's line of versions; change the id back",
                           message_zh=f"草稿 {draft_id} 基于规则包 {base[0]!r}，但其 pack.yaml 的 id 为 {pack.id!r}："
                                      f"草稿只能发布到本规则包的版本序列中，请改回原 id")
    with db.atomic():
        number = (db.execute("select max(number) from versions").fetchone()[0] or 0) + 1
        db.table("versions").insert({
            "number": number, "digest": pack.digest, "created_at": now(), "created_by": user or "",
            "source": source, "draft_id": draft_id, "title": title or pack.title.zh, "pack_id": pack.id,
            "files": json.dumps(files, ensure_ascii=False, sort_keys=True),
        })
    _PACKS[pack.digest] = pack
    audit(db, user, "publish", "version", number,
          f"version {number} of pack {pack.id} {pack.digest[:19]}… from {source}")
    return get_version(db, number)


def import_folder(db: Database, folder: str | Path, user: str | None = None) -> tuple[Version, bool]:
    """Import a pack folder as the first version of its pack's line; True if it was imported. A pack already in
    the database keeps its versions (changes go through drafts): its latest version is returned, unchanged;
    a pack of another id starts a line of its own."""
    files = read_files(folder)
    pack = load_files(files)
    existing = by_digest(db, pack.digest)
    if existing is not None:
        return existing, False
    if db.execute("select 1 from versions where pack_id = ?", [pack.id]).fetchone():
        return get_version(db, pack=pack.id), False
    return publish(db, files, user, "import " + "/".join(Path(folder).resolve().parts[-2:])), True


def same_pack(old: RulePack, new: RulePack) -> None:
    """Refuse to compare two packs of different ids (Conflict): each pack is its own line of versions."""
    if old.id != new.id:
        raise Conflict(f"pack {old.id!r} and pack {new.id!r} are different packs: only versions (and drafts) of one "
                       f"pack can be compared", message_zh=f"规则包 {old.id!r} 与 {new.id!r} 是不同的规则包："
                                                        f"只能比较同一规则包的版本（或草稿）")


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
