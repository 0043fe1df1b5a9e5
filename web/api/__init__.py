"""The JSON API under ``/api/v1``: token authentication, one error shape, a module per resource.

Every route but the OpenAPI document and the schemas needs ``Authorization: Bearer <token>``; every
action is checked with ``engine.users.require``. Errors, wherever they come from, are one shape:
``{"error": {"code", "message", "message_zh", "details": [{"path", "message", …}]}}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, request

from engine.errors import InvalidInput, Problem
from engine.users import User, user_for_token

from ..db import get_db
from . import errors

bp = Blueprint("api", __name__, url_prefix="/api/v1")
errors.register(bp)

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark a view as open to anyone (no token): the OpenAPI document and the schemas."""
    view.public = True  # type: ignore[attr-defined]
    return view


@bp.before_request
def _authenticate() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "public", False):
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated("send 'Authorization: Bearer <token>' (issued by 'doudi users token')",
                                     "请在请求头中提供 'Authorization: Bearer <令牌>'")
    user = user_for_token(get_db(), token.strip())
    if user is None:
        raise errors.Unauthenticated("the token is unknown, revoked, or its account disabled",
                                     "令牌无效、已撤销，或账户已停用")
    g.user = user


def current_user() -> User:
    """The user the request's token belongs to."""
    user: User = g.user
    return user


def body(schema: str) -> dict[str, Any]:
    """The request's JSON object, valid against ``components.schemas[schema]`` of the OpenAPI document."""
    from .openapi import request_problems

    raw = request.get_data(cache=True)
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            at = (exc.lineno, exc.colno) if isinstance(exc, json.JSONDecodeError) else None
            where = f"（第 {at[0]} 行第 {at[1]} 列）" if at else ""
            raise errors.BadBody(f"the request body is not valid JSON: {exc}",
                                 "请求内容不是有效的 JSON" + where) from None
    problems = request_problems(schema, data)
    if problems:
        first = problems[0]
        raise InvalidInput(f"{first.path}: {first.message}" if first.path else first.message, problems,
                           message_zh=f"{first.path}：{first.message_zh}" if first.path else first.message_zh)
    out: dict[str, Any] = data
    return out


def arg_int(name: str, default: int | None = None, minimum: int = 0, maximum: int | None = None) -> int | None:
    """A whole-number query parameter; InvalidInput naming it otherwise."""
    text = request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}…{maximum}" if maximum is not None else f"≥ {minimum}"
        raise InvalidInput(f"{name}: {text!r} is not a whole number {bounds}",
                           [Problem(f"{text!r} is not a whole number {bounds}", f"{text!r} 不是有效的整数（{bounds}）",
                                    path=name)], message_zh=f"参数 {name} 无效")
    return value


# the routes, one module per resource, all on this one blueprint (so one CSRF exemption covers them)
from . import audit, compare, decisions, drafts, evaluate, jurisdictions, openapi, users, versions  # noqa: E402

__all__ = ["arg_int", "audit", "body", "bp", "compare", "current_user", "decisions", "drafts", "evaluate",
           "jurisdictions", "openapi", "public", "users", "versions"]
