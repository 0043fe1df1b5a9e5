"""One error shape for the whole API, whatever raised the error (the engine, Werkzeug, or Flask)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException

from engine.errors import (
    Conflict,
    DoudiError,
    EvaluationError,
    HouseholdError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    RulePackError,
)

# engine error → (HTTP status, code); the first match wins, so subclasses come first
_ENGINE = ((NotFound, 404, "not_found"), (PermissionDenied, 403, "forbidden"), (Conflict, 409, "conflict"),
           (HouseholdError, 422, "invalid_household"), (InvalidInput, 422, "invalid_input"),
           (RulePackError, 422, "invalid_rule_pack"), (EvaluationError, 422, "evaluation_failed"),
           (LimitExceeded, 503, "limit_exceeded"))
_HTTP = {
    400: ("bad_request", "请求格式错误"),
    401: ("unauthorized", "未登录或令牌无效"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "接口或资源不存在"),
    405: ("method_not_allowed", "该接口不支持此请求方法"),
    413: ("too_large", "请求内容过大"),
    500: ("internal_error", "服务器内部错误，请联系管理员"),
}
CODES = sorted({code for _, _, code in _ENGINE} | {code for code, _ in _HTTP.values()} | {"error"})


class Unauthenticated(HTTPException):
    """No token, or one that names no active account."""

    code = 401

    def __init__(self, message: str, message_zh: str):
        super().__init__(message)
        self.message_zh = message_zh


class BadBody(BadRequest):
    """A request body that is not JSON at all."""

    def __init__(self, message: str, message_zh: str):
        super().__init__(message)
        self.message_zh = message_zh


def error_body(status: int, code: str, message: str, message_zh: str = "",
               details: list[dict[str, Any]] | None = None) -> Response:
    """The one error shape, as a response."""
    response = jsonify({"error": {"code": code, "status": status, "message": message,
                                  "message_zh": message_zh or message, "details": details or []}})
    response.status_code = status
    return response


MAX_DETAILS = 10  # problems listed in one error (the rest counted): an error response stays a few kilobytes


def engine_error(exc: DoudiError) -> dict[str, Any]:
    """An engine error as the inner object of the error shape (also used per household in a batch)."""
    status, code = next(((s, c) for cls, s, c in _ENGINE if isinstance(exc, cls)), (422, "error"))
    zh = exc.message_zh or next((p.message_zh for p in exc.problems if p.message_zh), "") or exc.message
    details = [p.as_dict() for p in exc.problems[:MAX_DETAILS]]
    if len(exc.problems) > MAX_DETAILS:
        more = len(exc.problems) - MAX_DETAILS
        details.append({"path": "", "message": f"… and {more} more", "message_zh": f"……另有 {more} 处"})
    return {"code": code, "status": status, "message": _cut(exc.message), "message_zh": _cut(zh),
            "details": details}


def _cut(text: str, limit: int = 1000) -> str:
    """A message cut to ``limit`` characters (the engine quotes values cut short; this is the last guard)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _engine_error(exc: DoudiError) -> Response:
    error = engine_error(exc)
    response = jsonify({"error": error})
    response.status_code = error["status"]
    return response


def _http_error(exc: HTTPException) -> Response | HTTPException:
    if not request.path.startswith("/api/v1/") and request.path != "/api/v1":
        return exc  # the editor's pages keep their own (HTML) errors
    status = exc.code or 500
    code, zh = _HTTP.get(status, (f"http_{status}", ""))
    message = exc.description or exc.name
    if status == 404:
        message = f"no such endpoint: {request.method} {request.path} (see /api/v1/openapi.json)"
    elif status == 405:
        allowed = ", ".join(sorted(getattr(exc, "valid_methods", None) or []))
        message = f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    elif status == 413:
        message = (f"the request body is larger than the server accepts ({request.max_content_length} bytes "
                   "at most; MAX_CONTENT_LENGTH)")
    elif status == 500:
        message = "internal error; the administrator can find it in the server log"
    response = error_body(status, code, message, getattr(exc, "message_zh", None) or zh)
    for name, value in exc.get_headers():
        if name.lower() in ("allow", "www-authenticate"):
            response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="doudi"'
    return response


def register(bp: Blueprint) -> None:
    """Install the handlers: engine errors in the API's views, HTTP errors anywhere under /api/v1."""
    bp.register_error_handler(DoudiError, _engine_error)
    bp.record_once(lambda state: state.app.register_error_handler(HTTPException, _http_error))
