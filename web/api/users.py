"""``/users`` (accounts and their API tokens, administrators only) and ``GET /me``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from engine import versions
from engine.errors import NotFound
from engine.users import PERMISSIONS, add_user, get_user, issue_token, list_users, require, revoke_tokens

from ..db import get_db
from .bodies import body
from .common import current_user

bp = Blueprint("users", __name__)


@bp.get("/me")
def me() -> dict[str, Any]:
    """The signed-in account and the actions its role allows."""
    user = current_user()
    return user.to_dict() | {"permissions": sorted(a for a, roles in PERMISSIONS.items() if user.role in roles)}


@bp.get("/users")
def users_list() -> dict[str, Any]:
    """Every account."""
    require(current_user(), "users.manage")
    return {"users": [u.to_dict() for u in list_users(get_db())]}


@bp.post("/users")
def create_user() -> tuple[dict[str, Any], int]:
    """Add an account; its role must suit its jurisdiction's level."""
    data = body("UserCreate")
    actor, db = current_user(), get_db()
    require(actor, "users.manage")
    try:
        pack = versions.pack_holding(db, data.get("jurisdiction"))
    except NotFound:
        pack = None
    user = add_user(db, actor.username, data["username"], data["password"], data["role"], data.get("jurisdiction"),
                    data.get("name", ""), pack)
    return user.to_dict(), 201


@bp.post("/users/<username>/tokens")
def issue_user_token(username: str) -> tuple[dict[str, Any], int]:
    """Issue an API token for an account (shown once: only its hash is stored)."""
    data = body("TokenCreate")
    actor, db = current_user(), get_db()
    require(actor, "users.manage")
    user = get_user(db, username)
    label = data.get("label", "")
    return {"username": user.username, "label": label, "token": issue_token(db, actor.username, username, label)}, 201


@bp.delete("/users/<username>/tokens")
def revoke_user_tokens(username: str) -> dict[str, Any]:
    """Revoke every API token of an account (a lost laptop, a person who left)."""
    actor, db = current_user(), get_db()
    require(actor, "users.manage")
    return {"username": username, "revoked": revoke_tokens(db, actor.username, username)}
