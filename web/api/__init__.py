"""The JSON API under ``/api/v1``: token authentication, one error shape, a blueprint per resource.

Every route but the OpenAPI document and the schemas needs ``Authorization: Bearer <token>``; every
action is checked with ``engine.users.require``. Errors, wherever they come from, are one shape:
``{"error": {"code", "message", "message_zh", "details": [{"path", "message", …}]}}``.

``blueprint()`` makes the ``api`` blueprint that holds the authentication and the error handlers;
``create_app`` nests in it the blueprint of each route module (``ROUTES``), whose endpoints are then
``api.<module>.<view>``, the view named as the operationId of the OpenAPI document.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request

from engine.errors import InvalidInput
from engine.users import user_for_token

from ..db import get_db
from . import audit, compare, decisions, drafts, errors, evaluate, jurisdictions, openapi, users, versions
from .contract import parameter_problems

# the route modules, each with its blueprint ``bp``
ROUTES = (audit, compare, decisions, drafts, evaluate, jurisdictions, openapi, users, versions)


def blueprint() -> Blueprint:
    """The ``api`` blueprint (``/api/v1``) of one application: the route modules' blueprints go inside it."""
    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    errors.register(bp)
    bp.before_request(_authenticate)
    return bp


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
    operation = (request.endpoint or "").rpartition(".")[2]  # api.<module>.<view>: the view is the operationId
    problems = parameter_problems(operation, request.args, request.view_args or {})
    if problems:
        first = problems[0]
        raise InvalidInput(f"{first.path}: {first.message}", problems, message_zh=f"{first.path}：{first.message_zh}")
