"""Drafts and the four-eyes workflow: edit → submit → approve (publish) or reject.

A draft is a copy of a version's files. Every save is validated at once (a county below the
provincial floor is refused with the clause), guarded by the draft's revision number (a stale
save is a conflict, never an overwrite), recorded with who, when, why and the authorising
document, and audited. Approval runs the policy tests and publishes the next version.

Who may do what with a draft: only its author edits and submits it;
it is read by its author, by province-level users, and by users whose scope holds the author's
jurisdiction or a jurisdiction it changes — to anyone else it does not exist (NotFound, as for a
wrong id); it is approved or rejected by a reviewer with scope over every jurisdiction it changes who
neither wrote it nor any change in it. Submit, approve and reject are each one guarded transition
(``UPDATE … WHERE status = …``): of two at once exactly one wins, the other is a Conflict naming the
draft's current state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from . import isolation
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problem, RulePackError
from .isolation import Budget
from .load import load_files, parse_documents
from .model import RulePack
from .policy_tests import TestResult
from .store import audit, now, transaction
from .users import User, can, in_scope, province_wide, require
from .valuefiles import with_value
from .versions import PACK_CACHE, Version, pack_of, publish, version_files

EDITABLE = ("editing", "rejected")


@dataclass(frozen=True)
class Draft:
    """A draft and where it stands in the workflow."""

    id: int
    base_version: int
    title: str
    status: str  # editing | submitted | approved | rejected
    author: str
    revision: int
    created_at: str
    updated_at: str
    jurisdictions: list[str] = field(default_factory=list)
    submitted_at: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    comment: str | None = None
    published_version: int | None = None
    author_jurisdiction: str | None = None  # the author's when the draft was created (decides who reads it)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        del out["author_jurisdiction"]
        return out


def _draft(row: dict[str, Any]) -> Draft:
    return Draft(row["id"], row["base_version"], row["title"] or "", row["status"], row["author"], row["revision"],
                 row["created_at"], row["updated_at"], json.loads(row["jurisdictions"] or "[]"),
                 row["submitted_at"], row["decided_by"], row["decided_at"], row["comment"],
                 row["published_version"], row["author_jurisdiction"])


_COLUMNS = ("id, base_version, title, status, author, revision, created_at, updated_at, jurisdictions, "
            "submitted_at, decided_by, decided_at, comment, published_version, author_jurisdiction")
STATUS_ZH = {"editing": "编辑中", "submitted": "待审核", "approved": "已批准", "rejected": "已驳回"}


def get_draft(db: Database, draft_id: int) -> Draft:
    """Draft ``draft_id``; NotFound otherwise."""
    rows = list(db.table("drafts").rows_where("id = ?", [draft_id], select=_COLUMNS))
    if not rows:
        raise NotFound(f"no draft {draft_id}", message_zh=f"草稿 {draft_id} 不存在")
    return _draft(rows[0])


def may_read_draft(pack: RulePack, user: User, draft: Draft) -> bool:
    """Whether ``user`` may read ``draft`` (its changes, files, diff and impact): a role that reads drafts,
    and the draft its own, or the user at province level, or the author's jurisdiction or one the draft
    changes within the user's scope."""
    if not can(user, "draft.read"):
        return False
    if draft.author == user.username or province_wide(pack, user):
        return True
    return any(in_scope(pack, user, code) for code in (draft.author_jurisdiction, *draft.jurisdictions) if code)


def open_draft(db: Database, user: User, draft_id: int) -> Draft:
    """Draft ``draft_id`` as ``user`` may read it: PermissionDenied for a role that reads no draft; NotFound,
    as for a draft that does not exist, for one outside their scope (ids are sequential: nothing is told).
    Scopes are those of the latest version's jurisdictions."""
    require(user, "draft.read")
    draft = get_draft(db, draft_id)
    if not may_read_draft(pack_of(db)[1], user, draft):
        raise NotFound(f"no draft {draft_id}", message_zh=f"草稿 {draft_id} 不存在")
    return draft


def readable_drafts(db: Database, user: User, status: str | None = None) -> list[Draft]:
    """The drafts ``user`` may read, newest first (optionally only those with ``status``); scopes are those of
    the jurisdictions of the latest version, for every draft (as in ``open_draft``)."""
    if not can(user, "draft.read"):
        return []
    pack = pack_of(db)[1]
    return [d for d in list_drafts(db, status) if may_read_draft(pack, user, d)]


def authors(db: Database, draft: Draft) -> set[str]:
    """Everyone who wrote the draft: its author and the user of every recorded change."""
    rows = db.execute("select distinct user from draft_changes where draft_id = ?", [draft.id]).fetchall()
    return {draft.author} | {r[0] for r in rows if r[0]}


def may_decide(db: Database, pack: RulePack, user: User, draft: Draft) -> bool:
    """Whether ``user`` may approve or reject ``draft`` now (the transition checks again)."""
    return (draft.status == "submitted" and may_read_draft(pack, user, draft)
            and user.username not in authors(db, draft) and can(user, "draft.decide", pack, draft.jurisdictions))


def list_drafts(db: Database, status: str | None = None) -> list[Draft]:
    """Drafts, newest first (optionally only those with ``status``)."""
    rows = db.table("drafts").rows_where("status = ?" if status else None, [status] if status else [],
                                         order_by="id desc", select=_COLUMNS)
    return [_draft(r) for r in rows]


def draft_files(db: Database, draft_id: int) -> dict[str, str]:
    """The YAML files of a draft by path."""
    row = db.execute("select files from drafts where id = ?", [draft_id]).fetchone()
    if row is None:
        raise NotFound(f"no draft {draft_id}", message_zh=f"草稿 {draft_id} 不存在")
    files: dict[str, str] = json.loads(row[0])
    return files


_DRAFT_PACKS: OrderedDict[str, RulePack] = OrderedDict()  # by the sha256 of the stored files


def draft_pack(db: Database, draft_id: int) -> RulePack:
    """The draft's files compiled as a pack (they were valid when saved); the last few compiled are kept,
    by content, so that the pages of one draft do not compile it again at every view."""
    row = db.execute("select files from drafts where id = ?", [draft_id]).fetchone()
    if row is None:
        raise NotFound(f"no draft {draft_id}", message_zh=f"草稿 {draft_id} 不存在")
    pack = _DRAFT_PACKS.get(hashlib.sha256(row[0].encode()).hexdigest())
    return pack or _remember(row[0], load_files(json.loads(row[0])))


def _remember(stored: str, pack: RulePack) -> RulePack:
    _DRAFT_PACKS[hashlib.sha256(stored.encode()).hexdigest()] = pack
    while len(_DRAFT_PACKS) > PACK_CACHE:
        _DRAFT_PACKS.popitem(last=False)
    return pack


def policy_tests(db: Database, draft_id: int, budget: Budget | None = None) -> list[TestResult]:
    """The draft's policy tests, run in a worker process within ``budget`` (never in the caller's threads)."""
    return isolation.run(isolation.policy_tests_of_files, draft_files(db, draft_id), budget=budget or Budget(),
                         what=f"draft {draft_id}", what_zh=f"草稿 {draft_id}")


def draft_changes(db: Database, draft_id: int) -> list[dict[str, Any]]:
    """The recorded changes of a draft, oldest first."""
    rows = db.table("draft_changes").rows_where("draft_id = ?", [draft_id], order_by="id")
    return [dict(r, value=json.loads(r["value"]) if r["value"] else None) for r in rows]


def create_draft(db: Database, user: User, title: str, base_version: int | None = None) -> Draft:
    """A new draft copying ``base_version`` (default: the latest published)."""
    version, pack = pack_of(db, base_version)
    require(user, "draft.create", pack, [user.jurisdiction] if user.jurisdiction else None)
    stamp = now()
    draft_id = db.table("drafts").insert({
        "base_version": version.number, "title": title or f"{user.username} {stamp[:10]}", "status": "editing",
        "author": user.username, "author_jurisdiction": user.jurisdiction, "created_at": stamp, "updated_at": stamp,
        "revision": 0,
        "files": json.dumps(version_files(db, version.number), ensure_ascii=False), "jurisdictions": "[]",
    }).last_pk
    audit(db, user.username, "draft.create", "draft", draft_id, f"from version {version.number}: {title}")
    return get_draft(db, int(draft_id or 0))


# -- edits ----------------------------------------------------------------------------------------


def set_parameter_value(db: Database, draft_id: int, user: User, *, jurisdiction: str, parameter: str,
                        effective: str, value: Any = None, inherit: bool = False, document: str = "",
                        reason: str = "", revision: int) -> Draft:
    """Set (or replace) one dated value in a draft; refused with field-level errors if the pack breaks."""
    require(user, "draft.edit_parameter")
    draft = _editable(db, draft_id, user)
    _, base = pack_of(db, draft.base_version)
    problems = []
    if not document.strip():
        problems.append(Problem("the authorising document is required, e.g. 长政发〔2018〕5号",
                                "请填写批准文件文号，例如 长政发〔2018〕5号", path="document"))
    try:
        dt.date.fromisoformat(effective)
    except (TypeError, ValueError):
        problems.append(Problem(f"{effective!r} is not a date (YYYY-MM-DD)", f"{effective!r} 不是有效日期",
                                path="effective"))
    if parameter not in base.parameters:
        problems.append(Problem(f"unknown parameter {parameter!r}", f"未定义的参数 {parameter!r}", path="parameter"))
    if jurisdiction not in base.jurisdictions:
        problems.append(Problem(f"unknown jurisdiction {jurisdiction!r}", f"未知的行政区划 {jurisdiction!r}",
                                path="jurisdiction"))
    if not inherit and value is None:
        problems.append(Problem("a value (or inherit) is required", "请填写取值，或选择继承上级", path="value"))
    if problems:
        raise InvalidInput(problems[0].message, problems, message_zh=problems[0].message_zh)
    require(user, "draft.edit_parameter", base, [jurisdiction])
    entry: dict[str, Any] = {"from": effective}
    if inherit:
        entry["inherit"] = True
    else:
        entry["value"] = value
    entry["document"] = document.strip()
    if reason.strip():
        entry["reason"] = reason.strip()
    path, files = with_value(draft_files(db, draft_id), base, jurisdiction, parameter, entry)
    pack = _validated(files, field_of=lambda p: "value")
    changed = _changed_jurisdictions(db, draft.base_version, files, pack)
    _save(db, draft, files, revision, changed, pack)
    db.table("draft_changes").insert({
        "draft_id": draft_id, "at": now(), "user": user.username, "kind": "parameter", "jurisdiction": jurisdiction,
        "parameter": parameter, "effective": effective,
        "value": json.dumps({"inherit": True} if inherit else {"value": value}, ensure_ascii=False),
        "path": path, "document": document.strip(), "reason": reason.strip()})
    audit(db, user.username, "draft.save", "draft", draft_id,
          f"{jurisdiction} {parameter} from {effective}: {'inherit' if inherit else value}", reason, document)
    return get_draft(db, draft_id)


def set_rule_file(db: Database, draft_id: int, user: User, *, path: str, text: str, reason: str = "",
                  document: str = "", revision: int) -> Draft:
    """Replace (or add) a YAML document of a draft; refused with the problems and their lines."""
    require(user, "draft.edit_rules")
    draft = _editable(db, draft_id, user)
    _, base = pack_of(db, draft.base_version)
    require(user, "draft.edit_rules", base, [base.root])
    if not path.endswith((".yaml", ".yml")) or path.startswith("/") or ".." in path.split("/"):
        raise InvalidInput(f"path {path!r}: a relative .yaml path inside the pack",
                           [Problem("a relative .yaml path inside the pack", "路径应为规则包内的 .yaml 文件",
                                    path="path")])
    files = draft_files(db, draft_id)
    files[path] = text
    pack = _validated(files, field_of=lambda p: "text" if p.file == path else "files")
    changed = _changed_jurisdictions(db, draft.base_version, files, pack)
    _save(db, draft, files, revision, changed, pack)
    db.table("draft_changes").insert({"draft_id": draft_id, "at": now(), "user": user.username, "kind": "file",
                                      "path": path, "document": document, "reason": reason})
    audit(db, user.username, "draft.save", "draft", draft_id, f"file {path}", reason, document)
    return get_draft(db, draft_id)


def check_entry(files: dict[str, str], pack: RulePack, jurisdiction: str, parameter: str,
                entry: dict[str, Any]) -> tuple[list[Problem], list[Problem]]:
    """What saving this entry would report (floors and clauses included), without saving anything, and the
    warnings it would raise for that jurisdiction's parameter (``value_warnings``): saved if asked, but shown first."""
    _, candidate = with_value(files, pack, jurisdiction, parameter, entry)
    try:
        loaded = load_files(candidate)
    except RulePackError as exc:
        return [Problem(p.message, p.message_zh, file=p.file, line=p.line, path="value", details=p.details)
                for p in exc.problems], []
    return [], value_warnings(loaded, jurisdiction, parameter)


def value_warnings(pack: RulePack, jurisdiction: str, parameter: str) -> list[Problem]:
    """The pack's warnings (a value more than twice or less than half the one in force) about one
    jurisdiction's parameter, as problems of the field ``value``."""
    return [Problem(w.message, w.message_zh, file=w.file, line=w.line, path="value", details=w.details)
            for w in pack.warnings
            if (w.details.get("jurisdiction"), w.details.get("parameter")) == (jurisdiction, parameter)]


def _editable(db: Database, draft_id: int, user: User) -> Draft:
    """The draft if ``user`` is its author and it can still be changed (edits and submission)."""
    draft = open_draft(db, user, draft_id)
    if draft.author != user.username:
        raise PermissionDenied(f"only the author ({draft.author}) can change draft {draft_id}",
                               message_zh=f"只有起草人（{draft.author}）可以修改或提交草稿 {draft_id}")
    if draft.status not in EDITABLE:
        raise _state_conflict(draft, "edited")
    return draft


def _validated(files: dict[str, str], field_of: Any) -> RulePack:
    try:
        return load_files(files)
    except RulePackError as exc:
        problems = [Problem(p.message, p.message_zh, file=p.file, line=p.line, path=field_of(p),
                            details=p.details) for p in exc.problems]
        raise InvalidInput(exc.problems[0].message if exc.problems else exc.message, problems,
                           message_zh=exc.problems[0].message_zh if exc.problems else exc.message_zh) from None


def _save(db: Database, draft: Draft, files: dict[str, str], revision: int, changed: list[str],
          pack: RulePack) -> None:
    stored = json.dumps(files, ensure_ascii=False)
    with db.conn:
        cursor = db.execute(
            "update drafts set files = ?, revision = revision + 1, updated_at = ?, jurisdictions = ?, "
            "status = 'editing' where id = ? and revision = ? and status in ('editing', 'rejected')",
            [stored, now(), json.dumps(changed), draft.id, revision])
    if cursor.rowcount == 1:
        _remember(stored, pack)  # draft_pack of the saved draft is the pack just validated
    else:
        current = get_draft(db, draft.id)
        if current.status not in EDITABLE:
            raise _state_conflict(current, "edited")
        raise Conflict(f"draft {draft.id} was changed by someone else (revision {current.revision}, "
                       f"you had {revision}); reload it and apply your change again",
                       message_zh=f"草稿 {draft.id} 已被他人修改（当前版本 {current.revision}），请刷新后重新修改")


def _changed_jurisdictions(db: Database, base_version: int, files: dict[str, str], pack: RulePack) -> list[str]:
    """The jurisdictions a draft changes: those whose values files differ; the root for anything else."""
    base = version_files(db, base_version)
    changed: set[str] = set()
    base_docs = parse_documents(base)
    for path in set(base) | set(files):
        if base.get(path) == files.get(path):
            continue
        doc = pack.sources.get(path) or base_docs.get(path) or {}
        if doc.get("kind") == "values":
            changed.add(doc["jurisdiction"])
        else:
            changed.add(pack.root)
    return sorted(changed)


# -- workflow -------------------------------------------------------------------------------------


def submit(db: Database, draft_id: int, user: User) -> Draft:
    """Hand a draft to the reviewers (only its author can), as it stands: an edit in between is a Conflict."""
    require(user, "draft.submit")
    draft = _editable(db, draft_id, user)
    if not draft.jurisdictions:
        raise Conflict(f"draft {draft_id} has no changes to submit", message_zh="草稿没有任何修改")
    with transaction(db):
        _transition(db, draft, ("editing", "rejected"), "submitted", submitted_at=now())
        audit(db, user.username, "draft.submit", "draft", draft_id, draft.title)
    return get_draft(db, draft_id)


def _decidable(db: Database, draft_id: int, user: User) -> tuple[Draft, RulePack]:
    """The draft if ``user`` may decide it now. Checked in this order, here as for every action on a draft:
    the role (PermissionDenied), the scope (NotFound), ownership and four eyes (PermissionDenied), the
    status (Conflict)."""
    require(user, "draft.decide")
    draft = open_draft(db, user, draft_id)
    if draft.status != "submitted":
        raise _state_conflict(draft, "decided")
    if user.username in authors(db, draft):
        raise PermissionDenied("the author of a draft, or of any change in it, cannot approve or reject it "
                               "(four-eyes principle)", message_zh="起草人或修改过该草稿的人不能审核它（双人复核）")
    _, base = pack_of(db, draft.base_version)
    require(user, "draft.decide", base, draft.jurisdictions)
    return draft, base


def approve(db: Database, draft_id: int, user: User, comment: str = "", budget: Budget | None = None) -> Version:
    """Approve a submitted draft: its policy tests must pass (run in a worker process within ``budget``, see
    ``isolation``); it is published as the next version, in one transaction with the draft's change of status
    (of two decisions at once, one wins, the other conflicts)."""
    draft, _ = _decidable(db, draft_id, user)
    files = draft_files(db, draft_id)
    failed = [r for r in policy_tests(db, draft_id, budget) if not r.passed]
    if failed:
        problems = [Problem(f"policy test '{r.test.name}' fails: " +
                            (r.error or "; ".join(f"{k}: expected {w}, got {g}" for k, w, g in r.mismatches)),
                            f"政策测试未通过：{r.test.name}", file=r.test.file, line=r.test.line, path="tests")
                    for r in failed]
        audit(db, user.username, "draft.approve.blocked", "draft", draft_id, f"{len(failed)} policy test(s) fail")
        raise Conflict(f"{len(failed)} policy test(s) fail; the draft cannot be published", problems,
                       message_zh=f"{len(failed)} 个政策测试未通过，不能发布")
    pack = load_files(files)
    with transaction(db):
        _transition(db, draft, ("submitted",), "approved", decided_by=user.username, decided_at=now(),
                    comment=comment)
        version = publish(db, files, user.username, f"draft {draft_id}", draft_id, draft.title, pack=pack)
        db.execute("update drafts set published_version = ? where id = ?", [version.number, draft_id])
        audit(db, user.username, "draft.approve", "draft", draft_id, f"published as version {version.number}",
              comment)
    return version


def reject(db: Database, draft_id: int, user: User, comment: str) -> Draft:
    """Send a submitted draft back to its author with a comment (required)."""
    if not comment.strip():
        raise InvalidInput("a comment is required to reject a draft",
                           [Problem("a comment is required", "驳回须填写意见", path="comment")])
    draft, _ = _decidable(db, draft_id, user)
    with transaction(db):
        _transition(db, draft, ("submitted",), "rejected", decided_by=user.username, decided_at=now(),
                    comment=comment.strip())
        audit(db, user.username, "draft.reject", "draft", draft_id, comment.strip(), comment.strip())
    return get_draft(db, draft_id)


def _transition(db: Database, draft: Draft, before: tuple[str, ...], status: str, **columns: Any) -> None:
    """Move ``draft`` to ``status`` if it is still in one of ``before`` at the revision it was read at: one
    guarded UPDATE, so that of concurrent transitions exactly one takes effect; the others are a Conflict
    naming the draft's current state (the caller's transaction is rolled back)."""
    sets = ", ".join(f"{name} = ?" for name in ("status", *columns))
    cursor = db.execute(f"update drafts set {sets} where id = ? and revision = ? and status in "
                        f"({', '.join('?' * len(before))})",
                        [status, *columns.values(), draft.id, draft.revision, *before])
    if cursor.rowcount != 1:
        raise _state_conflict(get_draft(db, draft.id), "submitted" if status == "submitted" else "decided")


def _state_conflict(current: Draft, action: str) -> Conflict:
    """A Conflict saying where the draft stands now (status, revision, who decided it, the version it became),
    for an ``action`` ("edited", "submitted" or "decided") it no longer allows."""
    state = {"status": current.status, "revision": current.revision, "decided_by": current.decided_by,
             "published_version": current.published_version}
    said = f"draft {current.id} is {current.status}"
    said_zh = f"草稿 {current.id} 当前状态为{STATUS_ZH.get(current.status, current.status)}"
    if current.decided_by and current.status in ("approved", "rejected"):
        said += f" (decided by {current.decided_by}"
        said_zh += f"（由 {current.decided_by} 审核"
        if current.published_version:
            said += f", published as version {current.published_version}"
            said_zh += f"，已发布为第 {current.published_version} 版"
        said, said_zh = said + ")", said_zh + "）"
    if action == "edited":
        said, said_zh = said + " and can no longer be edited", said_zh + "，不能再修改"
    elif action == "decided" and current.status != "submitted":
        said, said_zh = said + ", not submitted: it cannot be approved or rejected", said_zh + "，未提交审核，不能审核"
    else:  # still in the right status: changed (or decided and sent back) since it was read
        said += f" at revision {current.revision}: it changed meanwhile; reload it and try again"
        said_zh += f"（修订号 {current.revision}），期间已被修改，请刷新后重试"
    return Conflict(said, [Problem(said, said_zh, path="status", details=state)], message_zh=said_zh)
