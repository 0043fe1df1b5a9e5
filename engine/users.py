"""Users, roles with a jurisdiction scope, hashed passwords and API tokens, and who may do what.

Roles (docs/semantics.md §1): ``province_officer`` (whole province), ``local_officer`` (a city or county and
what lies below it), ``reviewer`` (province or own city), ``caseworker`` (own county), ``admin``
(accounts only). A user's scope is their jurisdiction and everything below it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from .errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problem
from .model import RulePack
from .signin import end_sessions
from .store import audit, now

ROLES: dict[str, dict[str, Any]] = {
    "province_officer": {"levels": ("province",), "zh": "省级政策管理员", "en": "Provincial policy officer"},
    "local_officer": {"levels": ("city", "county"), "zh": "市/县政策管理员", "en": "City / county policy officer"},
    "reviewer": {"levels": ("province", "city"), "zh": "审核人", "en": "Reviewer"},
    "caseworker": {"levels": ("county",), "zh": "经办人", "en": "Caseworker"},
    "admin": {"levels": ("province", "city", "county", None), "zh": "系统管理员", "en": "Administrator"},
}
OFFICERS = {"province_officer", "local_officer"}

# action → roles that may do it (scope is checked separately, where the action has a jurisdiction)
PERMISSIONS: dict[str, set[str]] = {
    "versions.read": {"province_officer", "local_officer", "reviewer", "caseworker", "admin"},
    "draft.create": OFFICERS,
    "draft.read": OFFICERS | {"reviewer"},
    "draft.edit_parameter": OFFICERS,
    "draft.edit_rules": {"province_officer"},
    "draft.submit": OFFICERS,
    "draft.decide": {"reviewer"},
    "compare": OFFICERS | {"reviewer"},
    "evaluate": OFFICERS | {"reviewer", "caseworker"},
    "decisions.read": OFFICERS | {"reviewer", "caseworker"},
    "audit.read": {"admin", "reviewer", "province_officer"},
    "users.manage": {"admin"},
}

_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


@dataclass(frozen=True)
class User:
    """An account: role and jurisdiction decide what it may do."""

    username: str
    name: str
    role: str
    jurisdiction: str | None
    active: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "name": self.name, "role": self.role,
                "role_label": {"zh": ROLES[self.role]["zh"], "en": ROLES[self.role]["en"]},
                "jurisdiction": self.jurisdiction, "active": self.active}


def hash_password(password: str) -> str:
    """A scrypt hash with a random salt (hashlib's standard KDF), as one text field."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + base64.b64encode(salt).decode() + "$" + \
        base64.b64encode(digest).decode()


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches a stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    computed = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(computed, base64.b64decode(digest))


def _user(row: dict[str, Any]) -> User:
    return User(row["username"], row["name"] or row["username"], row["role"], row["jurisdiction"], bool(row["active"]))


def get_user(db: Database, username: str) -> User:
    """The user ``username``; NotFound otherwise."""
    rows = list(db.table("users").rows_where("username = ?", [username]))
    if not rows:
        raise NotFound(f"no user {username!r}", message_zh=f"用户 {username!r} 不存在")
    return _user(rows[0])


def list_users(db: Database) -> list[User]:
    """Every account, by username."""
    return [_user(r) for r in db.table("users").rows_where(order_by="username")]


def _check_role(pack: RulePack | None, role: str, jurisdiction: str | None) -> None:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}",
                             [Problem(f"unknown role {role!r}", f"未知角色 {role!r}", path="role")])
    if pack is None or role == "admin" and jurisdiction is None:
        return
    j = pack.jurisdictions.get(jurisdiction or "")
    if j is None or j.level not in ROLES[role]["levels"]:
        levels = "/".join(str(x) for x in ROLES[role]["levels"] if x)
        raise InvalidInput(f"a {role} needs a {levels} jurisdiction, not {jurisdiction!r}",
                             [Problem(f"a {role} needs a {levels} jurisdiction",
                                      f"{ROLES[role]['zh']}的行政区划级别不符", path="jurisdiction")])


def add_user(db: Database, actor: str | None, username: str, password: str, role: str,
             jurisdiction: str | None, name: str = "", pack: RulePack | None = None) -> User:
    """Create an account (the password is stored hashed)."""
    _check_role(pack, role, jurisdiction)
    if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise InvalidInput("username: letters, digits, '-', '_' and '.' only",
                             [Problem("letters, digits, '-', '_' and '.' only", "用户名只能包含字母、数字、-、_、.",
                                      path="username")])
    if len(password) < 8:
        raise InvalidInput("password: at least 8 characters",
                             [Problem("at least 8 characters", "密码至少 8 位", path="password")])
    if db.table("users").count_where("username = ?", [username]):
        raise Conflict(f"user {username!r} exists already", message_zh=f"用户 {username!r} 已存在")
    db.table("users").insert({"username": username, "name": name or username, "role": role,
                              "jurisdiction": jurisdiction, "password_hash": hash_password(password), "active": 1,
                              "created_at": now()})
    audit(db, actor, "user.create", "user", username, f"{username}: {role} {jurisdiction or ''}".strip())
    return get_user(db, username)


def set_role(db: Database, actor: str | None, username: str, role: str, jurisdiction: str | None,
             pack: RulePack | None = None) -> User:
    """Change a user's role and jurisdiction."""
    get_user(db, username)
    _check_role(pack, role, jurisdiction)
    db.table("users").update(username, {"role": role, "jurisdiction": jurisdiction})
    end_sessions(db, username)  # signed in again, under the new role
    audit(db, actor, "user.role", "user", username, f"{username}: {role} {jurisdiction or ''}".strip())
    return get_user(db, username)


def set_password(db: Database, actor: str | None, username: str, password: str) -> None:
    """Replace a user's password."""
    get_user(db, username)
    if len(password) < 8:
        raise InvalidInput("password: at least 8 characters",
                             [Problem("at least 8 characters", "密码至少 8 位", path="password")])
    db.table("users").update(username, {"password_hash": hash_password(password)})
    end_sessions(db, username)  # a copied session cookie stops working with the old password
    audit(db, actor, "user.password", "user", username)


def set_active(db: Database, actor: str | None, username: str, active: bool) -> None:
    """Enable or disable an account (its tokens stop working while it is disabled)."""
    get_user(db, username)
    db.table("users").update(username, {"active": int(active)})
    if not active:
        end_sessions(db, username)
    audit(db, actor, "user.enable" if active else "user.disable", "user", username)


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The user if the password is right and the account active; the attempt is audited."""
    rows = list(db.table("users").rows_where("username = ?", [username]))
    # a password is checked even for an unknown or disabled account, so the answer takes as long
    right = check_password(password, rows[0]["password_hash"] if rows else _unknown_hash())
    ok = bool(rows) and bool(rows[0]["active"]) and right
    audit(db, username, "sign_in" if ok else "sign_in.failed", "user", username)
    return _user(rows[0]) if ok else None


@functools.cache
def _unknown_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def issue_token(db: Database, actor: str | None, username: str, label: str = "") -> str:
    """A new API token for ``username``; only its sha256 is stored, so it is shown once."""
    get_user(db, username)
    token = "dd_" + secrets.token_urlsafe(32)
    db.table("tokens").insert({"username": username, "token_hash": _token_hash(token), "label": label,
                         "created_at": now(), "revoked": 0})
    audit(db, actor, "token.issue", "user", username, label)
    return token


def revoke_tokens(db: Database, actor: str | None, username: str) -> int:
    """Revoke every API token of ``username``; how many were still valid."""
    get_user(db, username)
    with db.conn:
        count = db.execute("update tokens set revoked = 1 where username = ? and revoked = 0", [username]).rowcount
    audit(db, actor, "token.revoke", "user", username, f"{count} token(s)")
    return int(count)


def user_for_token(db: Database, token: str) -> User | None:
    """The active user a token belongs to, or None."""
    rows = list(db.query("select u.* from tokens t join users u on u.username = t.username "
                         "where t.token_hash = ? and t.revoked = 0 and u.active = 1", [_token_hash(token)]))
    return _user(rows[0]) if rows else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- permissions ---------------------------------------------------------------------------------


def in_scope(pack: RulePack, user: User, jurisdiction: str) -> bool:
    """Whether ``jurisdiction`` is the user's own or lies below it."""
    if user.jurisdiction is None or jurisdiction not in pack.jurisdictions:
        return False
    return user.jurisdiction in pack.chain(jurisdiction)


def can(user: User, action: str, pack: RulePack | None = None, jurisdictions: list[str] | None = None) -> bool:
    """Whether ``user`` may do ``action`` (over every one of ``jurisdictions``, where given)."""
    if not user.active or user.role not in PERMISSIONS.get(action, set()):
        return False
    if jurisdictions and pack is not None:
        return all(in_scope(pack, user, j) for j in jurisdictions)
    return True


def require(user: User, action: str, pack: RulePack | None = None, jurisdictions: list[str] | None = None) -> None:
    """Raise PermissionDenied naming the action and the jurisdiction when ``can`` says no."""
    if can(user, action, pack, jurisdictions):
        return
    if user.role not in PERMISSIONS.get(action, set()):
        raise PermissionDenied(f"a {user.role} may not {action}",
                               message_zh=f"{ROLES[user.role]['zh']}无权执行此操作（{action}）")
    outside = [j for j in (jurisdictions or []) if pack is None or not in_scope(pack, user, j)]
    raise PermissionDenied(f"{action}: {', '.join(outside)} is outside {user.username}'s jurisdiction "
                           f"{user.jurisdiction}",
                           message_zh=f"{'、'.join(outside)} 不在 {user.username} 的管辖范围（{user.jurisdiction}）内")


def province_wide(pack: RulePack, user: User) -> bool:
    """Whether the user's scope is the whole pack: a province-level account (or an administrator of none)."""
    return user.jurisdiction == pack.root or (user.role == "admin" and user.jurisdiction is None)


def audit_scope(pack: RulePack, user: User) -> dict[str, Any]:
    """What of the audit log ``user`` may read, as ``engine.store.audit_log`` keywords: everything at province
    level; otherwise the entries concerning their jurisdiction and those below it (older entries, which name
    no jurisdiction, stay at province level); administrators also read every entry about an account."""
    within = None if province_wide(pack, user) else [c for c in pack.jurisdictions if in_scope(pack, user, c)]
    return {"within": within, "accounts": user.role == "admin"}
