"""The database: one SQLite file through sqlite-utils, its migrations, and the append-only audit log.

Tables: ``versions`` (immutable published packs, each with its ``pack_id``: one line of versions a
pack), ``drafts`` and ``draft_changes`` (work in progress, with who/when/why/document of each change),
``users`` and ``tokens``, ``decisions`` (stored evaluations, replayable; immutable like versions), ``audit``
(every action; no update or delete path, enforced by triggers in the database itself), ``batch_jobs`` (the
web's batch reviews and their progress).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

DEFAULT_PATH = Path("instance") / "doudi.db"

migrations = Migrations("doudi")


@migrations()
def m001_initial(db: Database) -> None:
    db.table("versions").create({
        "number": int, "digest": str, "created_at": str, "created_by": str, "source": str, "draft_id": int,
        "title": str, "files": str,
    }, pk="number", not_null={"digest", "created_at", "files"})
    db.table("versions").create_index(["digest"], unique=True)
    db.table("drafts").create({
        "id": int, "base_version": int, "title": str, "status": str, "author": str, "created_at": str,
        "updated_at": str, "revision": int, "files": str, "submitted_at": str, "decided_by": str,
        "decided_at": str, "comment": str, "published_version": int, "jurisdictions": str,
    }, pk="id", not_null={"base_version", "status", "author", "revision", "files"},
        foreign_keys=[("base_version", "versions", "number")])
    db.table("draft_changes").create({
        "id": int, "draft_id": int, "at": str, "user": str, "kind": str, "jurisdiction": str,
        "parameter": str, "effective": str, "value": str, "path": str, "document": str, "reason": str,
    }, pk="id", foreign_keys=[("draft_id", "drafts", "id")])
    db.table("users").create({
        "username": str, "name": str, "role": str, "jurisdiction": str, "password_hash": str,
        "active": int, "created_at": str,
    }, pk="username", not_null={"role"})
    db.table("tokens").create({
        "id": int, "username": str, "token_hash": str, "label": str, "created_at": str, "revoked": int,
    }, pk="id", foreign_keys=[("username", "users", "username")])
    db.table("tokens").create_index(["token_hash"], unique=True)
    db.table("decisions").create({
        "id": int, "household_id": str, "county": str, "as_of": str, "version_number": int, "digest": str,
        "facts": str, "outputs": str, "decision": str, "user": str, "created_at": str,
    }, pk="id", not_null={"household_id", "as_of", "digest", "facts", "decision"})
    db.table("decisions").create_index(["household_id"])
    db.table("audit").create({
        "id": int, "at": str, "user": str, "action": str, "object_type": str, "object_id": str,
        "summary": str, "reason": str, "document": str, "details": str,
    }, pk="id", not_null={"at", "action"})
    # append-only: the database itself refuses to change or remove an audit entry
    db.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
    db.execute("CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
    db.execute("CREATE TRIGGER versions_no_update BEFORE UPDATE ON versions "
               "BEGIN SELECT RAISE(ABORT, 'published versions are immutable'); END")
    db.execute("CREATE TRIGGER versions_no_delete BEFORE DELETE ON versions "
               "BEGIN SELECT RAISE(ABORT, 'published versions are immutable'); END")


@migrations()
def m002_decisions_immutable(db: Database) -> None:
    """Stored decisions become immutable like versions and audit; the trace gets a compact column of its own;
    web batch jobs are kept here with their progress (their files live in the batch folder)."""
    db.execute("CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions "
               "BEGIN SELECT RAISE(ABORT, 'stored decisions are immutable'); END")
    db.execute("CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions "
               "BEGIN SELECT RAISE(ABORT, 'stored decisions are immutable'); END")
    # zlib of the trace's JSON; NULL when it was not kept (decisions stored before it carry it in ``decision``)
    db.execute("ALTER TABLE decisions ADD COLUMN trace BLOB")
    db.table("batch_jobs").create({
        "id": str, "owner": str, "filename": str, "as_of": str, "version": int, "status": str, "total": int,
        "done": int, "errors": int, "summary": str, "message": str, "source": str, "target": str, "runner": str,
        "created_at": str, "updated_at": str, "finished_at": str, "expires_at": str,
    }, pk="id", not_null={"owner", "status", "source", "target", "created_at", "updated_at", "expires_at"},
        foreign_keys=[("owner", "users", "username")])
    db.table("batch_jobs").create_index(["owner"])


@migrations()
def m003_audit_jurisdiction(db: Database) -> None:
    """Each audit entry names the jurisdictions it concerns (the acting user's, the object's), so that the log
    can be read within a jurisdiction; entries written before have none and are read at province level only."""
    db.execute("ALTER TABLE audit ADD COLUMN jurisdictions TEXT")


@migrations()
def m004_draft_author_jurisdiction(db: Database) -> None:
    """A draft keeps its author's jurisdiction at creation: who may read it does not move with the account."""
    db.execute("ALTER TABLE drafts ADD COLUMN author_jurisdiction TEXT")
    db.execute("UPDATE drafts SET author_jurisdiction = "
               "(SELECT jurisdiction FROM users WHERE users.username = drafts.author)")


@migrations()
def m005_sign_in_throttle(db: Database) -> None:
    """Failed sign-ins per account and per address, and the server-side sessions (engine/signin.py)."""
    db.table("sign_in_throttle").create({
        "key": str, "failures": int, "window_start": float, "last_attempt": float, "locked_until": float,
    }, pk="key", not_null={"failures", "window_start", "last_attempt"})
    db.table("sessions").create({
        "id_hash": str, "username": str, "created_at": float, "last_seen": float,
    }, pk="id_hash", not_null={"username", "created_at", "last_seen"})
    db.table("sessions").create_index(["username"])


@migrations()
def m006_version_pack(db: Database) -> None:
    """Each version carries the id of its pack, so that one database holds several packs, each its own line of
    versions; a version published before takes the ``id`` of the pack it stores (versions stay immutable:
    the trigger is lifted for this one filling-in only)."""
    import yaml

    db.execute("ALTER TABLE versions ADD COLUMN pack_id TEXT")
    db.execute("DROP TRIGGER versions_no_update")
    for number, files in db.execute("select number, files from versions").fetchall():
        for text in json.loads(files).values():
            doc = yaml.safe_load(text) if "kind: pack" in text else None
            if isinstance(doc, dict) and doc.get("kind") == "pack":
                db.execute("update versions set pack_id = ? where number = ?", [str(doc.get("id")), number])
                break
    db.execute("CREATE TRIGGER versions_no_update BEFORE UPDATE ON versions "
               "BEGIN SELECT RAISE(ABORT, 'published versions are immutable'); END")
    db.table("versions").create_index(["pack_id", "number"])


def open_db(path: str | Path = DEFAULT_PATH) -> Database:
    """Open (creating if needed) the database at ``path`` (``":memory:"`` for tests) and migrate it."""
    if str(path) == ":memory:":
        db = Database(memory=True)
    else:
        Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_files(path)
        db = Database(path)
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    migrations.apply(db)
    return db


def private_files(path: str | Path) -> None:
    """Create the database file readable by its owner only (0600; SQLite gives its -wal and -shm files the
    same mode), and take group and world access away from an existing one and its -wal and -shm files."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (str(path), f"{path}-wal", f"{path}-shm"):
        with contextlib.suppress(OSError):  # absent, or another user's file: left as it is
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)


def now() -> str:
    """The current time as ISO text (UTC, seconds)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@contextlib.contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One write transaction, its lock taken at once (``BEGIN IMMEDIATE``): a concurrent writer waits for it
    (up to the connection's busy timeout) instead of failing half-way; everything or nothing is written.
    Inside an open transaction it is a savepoint of it."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    db.execute("COMMIT")


def _concerned(db: Database, user: str | None, object_type: str, object_id: Any) -> set[str]:
    """The jurisdictions an audit entry concerns: the acting user's and the object's (a decision's county,
    a draft's author and changed jurisdictions, an account's jurisdiction, the draft a version came from)."""
    def one(sql: str, arg: Any) -> Any:
        row = db.execute(sql, [arg]).fetchone()
        return row[0] if row else None

    found = {one("select jurisdiction from users where username = ?", user)} if user else set()
    if object_type == "user":
        found.add(one("select jurisdiction from users where username = ?", str(object_id)))
    elif object_type == "decision":
        found.add(one("select county from decisions where id = ?", object_id))
    elif object_type in ("draft", "version"):
        draft_id = object_id if object_type == "draft" else one("select draft_id from versions where number = ?",
                                                                object_id)
        row = db.execute("select author_jurisdiction, jurisdictions from drafts where id = ?", [draft_id]).fetchone()
        if row:
            found |= {row[0], *json.loads(row[1] or "[]")}
    return {code for code in found if code}


def audit(db: Database, user: str | None, action: str, object_type: str = "", object_id: Any = "",
          summary: str = "", reason: str | None = None, document: str | None = None,
          details: dict[str, Any] | None = None, jurisdictions: Iterable[str] = ()) -> None:
    """Append one entry to the audit log: who, when, what, why, and the authorising document; with the
    jurisdictions it concerns (``jurisdictions``, the acting user's and the object's), to read it by scope."""
    concerned = set(jurisdictions) | _concerned(db, user, object_type, object_id)
    db.table("audit").insert({
        "at": now(), "user": user or "", "action": action, "object_type": object_type,
        "object_id": str(object_id), "summary": summary, "reason": reason, "document": document,
        "details": json.dumps(details or {}, ensure_ascii=False, default=str),
        "jurisdictions": json.dumps(sorted(concerned)),
    })


AUDIT_COLUMNS = "id, at, user, action, object_type, object_id, summary, reason, document, details"


def audit_log(db: Database, *, user: str | None = None, action: str | None = None, object_type: str | None = None,
              object_id: str | None = None, limit: int = 200, offset: int = 0, within: Collection[str] | None = None,
              accounts: bool = False) -> list[dict[str, Any]]:
    """Audit entries, newest first, optionally filtered; with ``within``, only those concerning one of these
    jurisdictions (and, with ``accounts``, every entry about an account)."""
    where, args = [], []
    for column, value in (("user", user), ("action", action), ("object_type", object_type),
                          ("object_id", object_id)):
        if value is not None:
            where.append(f"[{column}] = ?")
            args.append(value)
    if within is not None:
        codes = sorted(within)
        scoped = f"exists (select 1 from json_each(audit.jurisdictions) where value in ({', '.join('?' * len(codes))}))"
        where.append(f"({scoped} or object_type = 'user')" if accounts else scoped)
        args += codes
    rows = db.table("audit").rows_where(" and ".join(where) or None, args, order_by="id desc", limit=limit,
                                        offset=offset, select=AUDIT_COLUMNS)
    return [dict(r, details=json.loads(r["details"] or "{}")) for r in rows]
