"""The JSON API under ``/api/v1``: token authentication, one error shape, a module per resource.

Every route but the OpenAPI document and the schemas needs ``Authorization: Bearer <token>``; every
action is checked with ``engine.users.require``. Errors, wherever they come from, are one shape:
``{"error": {"code", "message", "message_zh", "details": [{"path", "message", …}]}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, request

from engine.errors import InvalidInput, Problem, quoted
from engine.inputs import MAX_ID, read_json, whole_number
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
    from .openapi import parameter_problems

    problems = parameter_problems((request.endpoint or "").removeprefix("api."), request.args, request.view_args or {})
    if problems:
        first = problems[0]
        raise InvalidInput(f"{first.path}: {first.message}", problems, message_zh=f"{first.path}：{first.message_zh}")


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
            data = read_json(raw, "body")
        except InvalidInput as exc:
            if exc.problems and exc.problems[0].path:  # parsed, but nested too deep or not a finite number
                raise
            raise errors.BadBody(f"the request body is not valid JSON: {exc.problems[0].message}",
                                 "请求内容不是有效的 JSON：" + exc.problems[0].message_zh) from None
    problems = request_problems(schema, data)
    if problems:
        first = problems[0]
        raise InvalidInput(f"{first.path}: {first.message}" if first.path else first.message, problems,
                           message_zh=f"{first.path}：{first.message_zh}" if first.path else first.message_zh)
    out: dict[str, Any] = _whole_numbers(data)
    return out


def _whole_numbers(data: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema counts 1.0 as an integer: so does the server (a version, revision, n or top written 1.0)."""
    for key, value in data.items():
        if isinstance(value, float) and value.is_integer():
            data[key] = int(value)
        elif key == "synthetic" and isinstance(value, dict):
            _whole_numbers(value)
    return data


def arg_int(name: str, default: int | None = None, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """A whole-number query parameter (ASCII digits, at most ``maximum``); InvalidInput naming it otherwise."""
    text = request.args.get(name)
    if text is None or text == "":
        return default
    value = whole_number(text)
    if value is None or value < minimum or value > maximum:
        bounds = f"{minimum}…{maximum}"
        raise InvalidInput(f"{name}: {quoted(text)} is not a whole number {bounds}",
                           [Problem(f"{quoted(text)} is not a whole number {bounds}",
                                    f"{quoted(text)} 不是有效的整数（{bounds}）", path=name)],
                           message_zh=f"参数 {name} 无效")
    return value


# the routes, one module per resource, all on this one blueprint (so one CSRF exemption covers them)
from . import audit, compare, decisions, drafts, evaluate, jurisdictions, openapi, users, versions  # noqa: E402

__all__ = ["arg_int", "audit", "body", "bp", "compare", "current_user", "decisions", "drafts", "evaluate",
           "jurisdictions", "openapi", "public", "users", "versions"]
