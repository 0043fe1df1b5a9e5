"""The OpenAPI 3.1 document of the API: the operations of every path, their errors and parameters.

Each operation's operationId is the name of the view answering it (``contract.parameter_problems``
finds an operation by it); the schemas it refers to are those of ``components``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .components import COUNT, DATE, FILE_PATH, ID_NUMBER, REF_PATTERN, components, ref

_ERRORS = {400: ("BadRequest", "the body is not JSON (请求内容不是有效的 JSON)"),
           401: ("Unauthorized", "no token, or an unknown or revoked one (未登录或令牌无效)"),
           403: ("Forbidden", "the role or jurisdiction does not allow it (无权操作)"),
           404: ("NotFound", "no such version, draft, decision, user or file (不存在)"),
           409: ("Conflict", "a stale revision, or a draft not in the right state (冲突)"),
           413: ("TooLarge", "the request body is larger than MAX_CONTENT_LENGTH (请求内容过大)"),
           422: ("Unprocessable", "a field is invalid; details name each one by its path (字段错误)"),
           503: ("LimitExceeded", "evaluating a draft took longer than DRAFT_TIMEOUT or more memory than "
                                  "DRAFT_MEMORY_MB, and was stopped (草稿计算超时或超出内存，已停止)")}


def _op(tag: str, summary: str, ok: tuple[int, str], errors: str, *, request: str | None = None,
        params: tuple[dict[str, Any], ...] = (), description: str = "", public: bool = False) -> dict[str, Any]:
    """An operation: its success response, the documented errors (statuses, space separated), its body."""
    responses: dict[str, Any] = {str(ok[0]): {"description": "OK", "content": {
        "application/json": {"schema": ref(ok[1])}}}}
    statuses = {int(s) for s in errors.split()} | ({400, 413} if request else set()) | (set() if public else {401})
    statuses |= {422} if params and not public else set()  # a parameter outside its schema
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}
    out: dict[str, Any] = {"tags": [tag], "summary": summary, "responses": responses}
    if description:
        out["description"] = description
    if params:
        out["parameters"] = list(params)
    if request:
        out["requestBody"] = {"required": request not in ("Empty", "Approval", "DraftCreate", "TokenCreate"),
                              "content": {"application/json": {"schema": ref(request)}}}
    if public:
        out["security"] = []
    return out


def _path(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string", "maxLength": 64}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string", "maxLength": 64}}


N = _path("number", "version number", ID_NUMBER)
ID = _path("draft_id", "draft id", ID_NUMBER)
DECISION = _path("decision_id", "decision id", ID_NUMBER)
FILE = _path("path", "a file of the pack, e.g. values/431322-新化县.yaml (slashes allowed)", FILE_PATH)
VERSION_Q = _query("version", "a version number (default: the latest)", ID_NUMBER)
DRAFT_Q = _query("draft", "a draft id instead of a version", ID_NUMBER)
PACK_Q = _query("pack", "a pack id (default: the served pack, else the first imported); see GET /packs",
                {"type": "string", "minLength": 1, "maxLength": 64})
PAGE_Q = (_query("limit", "at most 1000", {"type": "integer", "minimum": 1, "maximum": 1000}),
          _query("offset", "rows to skip", COUNT))
REF_Q = {"type": "string", "pattern": REF_PATTERN}


def _links(*names: str, source: str = "$response.body#/id") -> dict[str, Any]:
    """OpenAPI links from a draft to the next steps of the workflow (operationIds taking ``draft_id``)."""
    return {name: {"operationId": name, "parameters": {"draft_id": source}} for name in names}


# the workflow a client generator can follow: create → edit → submit → approve or reject → the version
_DRAFT_STEPS = ("get_draft", "set_draft_parameter", "set_draft_file", "submit_draft", "approve_draft",
                "reject_draft")
_LINKS = {
    "create_draft": _links(*_DRAFT_STEPS), "get_draft": _links(*_DRAFT_STEPS[1:]),
    "set_draft_parameter": _links(*_DRAFT_STEPS), "set_draft_file": _links(*_DRAFT_STEPS),
    "submit_draft": _links("get_draft", "approve_draft", "reject_draft"), "reject_draft": _links(*_DRAFT_STEPS),
    "approve_draft": {"get_version": {"operationId": "get_version",
                                      "parameters": {"number": "$response.body#/number"}},
                      **_links("get_draft", source="$response.body#/draft_id")},
}
# operationId: the name of the view answering it (``parameter_problems`` finds an operation by it)
_OPERATION_IDS = {
    ("/evaluate", "post"): "evaluate_one", ("/evaluate/batch", "post"): "evaluate_batch",
    ("/packs", "get"): "list_packs",
    ("/versions", "get"): "list_versions", ("/versions/{number}", "get"): "get_version",
    ("/versions/{number}/files/{path}", "get"): "version_file", ("/compare", "get"): "compare",
    ("/impact", "post"): "impact_report", ("/jurisdictions", "get"): "jurisdiction_tree",
    ("/jurisdictions/{code}/parameters", "get"): "jurisdiction_parameters",
    ("/drafts", "post"): "create_draft", ("/drafts", "get"): "list_drafts",
    ("/drafts/{draft_id}", "get"): "get_draft",
    ("/drafts/{draft_id}/parameters", "put"): "set_draft_parameter",
    ("/drafts/{draft_id}/files/{path}", "get"): "draft_file",
    ("/drafts/{draft_id}/files/{path}", "put"): "set_draft_file",
    ("/drafts/{draft_id}/submit", "post"): "submit_draft", ("/drafts/{draft_id}/approve", "post"): "approve_draft",
    ("/drafts/{draft_id}/reject", "post"): "reject_draft", ("/decisions", "get"): "search_decisions",
    ("/decisions/{decision_id}", "get"): "get_decision",
    ("/decisions/{decision_id}/replay", "post"): "replay_decision",
    ("/audit", "get"): "audit_entries", ("/users", "get"): "users_list", ("/users", "post"): "create_user",
    ("/users/{username}/tokens", "post"): "issue_user_token",
    ("/users/{username}/tokens", "delete"): "revoke_user_tokens",
    ("/me", "get"): "me", ("/openapi.json", "get"): "openapi", ("/schemas/{name}", "get"): "json_schema",
}


def _named(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation with its operationId, and the links of the draft workflow on its success response."""
    for path, methods in paths.items():
        for method, operation in methods.items():
            name = _OPERATION_IDS[(path, method)]
            operation["operationId"] = name
            if name in _LINKS:
                ok = next(code for code in operation["responses"] if code.startswith("2"))
                operation["responses"][ok]["links"] = _LINKS[name]
    return paths


def _paths(batch_limit: int, synthetic_limit: int) -> dict[str, Any]:
    return {
        "/evaluate": {"post": _op(
            "evaluate", "Evaluate one household (the decision is stored)", (200, "EvaluateResponse"),
            "403 404 422", request="EvaluateRequest",
            description="docs/semantics.md §8 decision with rule_version.number, plus decision_id. A caseworker "
                        "evaluates "
                        "households of their own county only (403 otherwise).")},
        "/evaluate/batch": {"post": _op(
            "evaluate", "Evaluate households in order (not stored)", (200, "BatchResponse"), "403 404 422",
            request="BatchRequest",
            description=f"At most {batch_limit} households. Each result is the household's outputs or an error "
                        "(paths relative to that household); households outside the user's jurisdiction get a "
                        "'forbidden' error.")},
        "/packs": {"get": _op("versions", "The rule packs in the database, each its own line of versions",
                              (200, "Packs"), "403")},
        "/versions": {"get": _op("versions", "Published versions (of one pack with ?pack=)", (200, "Versions"), "403",
                                 params=(PACK_Q,))},
        "/versions/{number}": {"get": _op("versions", "A version and its files", (200, "VersionDetail"), "403 404",
                                          params=(N,))},
        "/versions/{number}/files/{path}": {"get": _op(
            "versions", "The YAML text of a version's file", (200, "FileText"), "403 404", params=(N, FILE))},
        "/compare": {"get": _op(
            "compare", "What changed between two versions (or a draft) of one pack", (200, "Diff"), "403 404 409 422",
            params=({**_query("from", "old: a version number, or draft:ID", REF_Q), "required": True},
                    {**_query("to", "new: a version number, or draft:ID", REF_Q), "required": True}))},
        "/impact": {"post": _op(
            "compare", "What changed for whom over a population", (200, "Impact"), "403 404 409 422 503",
            request="ImpactRequest",
            description=f"An uploaded list of households (at most {batch_limit}) or synthetic ones (n at most "
                        f"{synthetic_limit}; default n 1000, seed 1), evaluated under both packs on as_of "
                        "(default today). A draft is evaluated in a worker process: 503 when it takes longer "
                        "than DRAFT_TIMEOUT or more memory than DRAFT_MEMORY_MB.")},
        "/jurisdictions": {"get": _op("jurisdictions", "The province → city → county tree",
                                      (200, "JurisdictionTree"), "403 404 422", params=(VERSION_Q, DRAFT_Q, PACK_Q))},
        "/jurisdictions/{code}/parameters": {"get": _op(
            "jurisdictions", "Every parameter in force for a jurisdiction on a date", (200, "ResolvedParameters"),
            "403 404 422", params=(_path("code", "GB/T 2260 code, e.g. 431322"),
                                   _query("date", "YYYY-MM-DD (default today)", {**DATE, "maxLength": 10}),
                                   VERSION_Q, DRAFT_Q, PACK_Q))},
        "/drafts": {
            "post": _op("drafts", "Create a draft from a version", (201, "DraftDetail"), "403 404 422",
                        request="DraftCreate"),
            "get": _op("drafts", "Drafts the caller may read, newest first: their own, and those of or changing "
                                 "their jurisdiction and below (all at province level)", (200, "Drafts"), "403",
                       params=(_query("status", "editing, submitted, approved or rejected",
                                      {"enum": ["editing", "submitted", "approved", "rejected"]}),
                               _query("all", "accepted, lists the same drafts: none beyond the caller's scope",
                                      {"type": "string", "maxLength": 5})))},
        "/drafts/{draft_id}": {"get": _op("drafts", "A draft with its changes", (200, "DraftDetail"), "403 404",
                                    params=(ID,))},
        "/drafts/{draft_id}/parameters": {"put": _op(
            "drafts", "Set one dated parameter value", (200, "DraftSaved"), "400 403 404 409 422",
            request="ParameterEdit", params=(ID,),
            description="Validated at once (e.g. a county below the provincial floor: 422 naming the floor and the "
                        "clause). 'revision' must be the draft's current one, else 409. A value more than twice or "
                        "less than half the one in force is saved, with a warning in 'warnings'.")},
        "/drafts/{draft_id}/files/{path}": {
            "get": _op("drafts", "The YAML text of a draft's file", (200, "FileText"), "403 404", params=(ID, FILE)),
            "put": _op("drafts", "Replace or add a YAML document", (200, "DraftSaved"), "400 403 404 409 422",
                       request="FileEdit", params=(ID, FILE))},
        "/drafts/{draft_id}/submit": {"post": _op("drafts", "Submit a draft for review", (200, "DraftDetail"),
                                            "400 403 404 409 422", request="Empty", params=(ID,))},
        "/drafts/{draft_id}/approve": {"post": _op(
            "drafts", "Approve a submitted draft: publish it as the next version", (201, "Version"),
            "400 403 404 409 422 503", request="Approval", params=(ID,),
            description="Not by its author nor by anyone who wrote a change in it; the reviewer needs scope over "
                        "every jurisdiction it changes; its policy tests must pass (409 otherwise). Of two "
                        "decisions at once one wins; the other is a 409 whose details give the draft's status, "
                        "decided_by and published_version.")},
        "/drafts/{draft_id}/reject": {"post": _op("drafts", "Reject a submitted draft with a comment",
                                            (200, "DraftDetail"), "400 403 404 409 422", request="Rejection",
                                            params=(ID,))},
        "/decisions": {"get": _op(
            "decisions", "Stored decisions, newest first", (200, "StoredDecisions"), "403 422",
            params=(_query("household_id", "a prefix"), _query("county", "a county code"), *PAGE_Q))},
        "/decisions/{decision_id}": {"get": _op("decisions", "A stored decision with its facts",
                                                (200, "StoredDecision"), "403 404", params=(DECISION,))},
        "/decisions/{decision_id}/replay": {"post": _op(
            "decisions", "Replay a stored decision with its version", (200, "Replay"), "400 403 404 422",
            request="Empty", params=(DECISION,))},
        "/audit": {"get": _op("audit", "The audit log, newest first", (200, "AuditEntries"), "403 422",
                              params=(_query("user", "who"), _query("action", "e.g. draft.approve"),
                                      _query("object_type", "e.g. draft"), _query("object_id", "e.g. 3"), *PAGE_Q))},
        "/users": {"get": _op("users", "Every account (administrators)", (200, "Users"), "403"),
                   "post": _op("users", "Add an account (administrators)", (201, "User"), "400 403 409 422",
                               request="UserCreate")},
        "/users/{username}/tokens": {"post": _op(
            "users", "Issue an API token (administrators)", (201, "Token"), "400 403 404 422", request="TokenCreate",
            params=(_path("username", "the account"),)), "delete": _op(
            "users", "Revoke every API token of an account (administrators)", (200, "TokensRevoked"), "403 404",
            params=(_path("username", "the account"),))},
        "/me": {"get": _op("users", "The signed-in account", (200, "Me"), "")},
        "/openapi.json": {"get": {**_op("meta", "This document", (200, "Empty"), "", public=True), "responses": {
            "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        "/schemas/{name}": {"get": {**_op("meta", "A JSON Schema of schemas/ (draft 2020-12)", (200, "Empty"), "404",
                                          params=(_path("name", "e.g. household or household.schema.json"),),
                                          public=True)} | {"responses": {
            "200": {"description": "the schema", "content": {"application/json": {"schema": {"type": "object"}}}},
            "404": {"$ref": "#/components/responses/NotFound"}}}},
    }


@cache
def document(batch_limit: int = 1000, synthetic_limit: int = 20_000, yaml_bytes: int = 512 * 1024,
             household: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API; ``household``: the JSON text of the served pack's household schema
    (default: schemas/household.schema.json)."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "doudi 兜底 API", "version": "1",
                 "description": "Versioned safety-net rules: evaluate households, browse versions and parameters, "
                                "edit drafts under four-eyes review, compare versions and their impact, replay "
                                "stored decisions. Every error has one shape (Error); message_zh is for people."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "tags": [{"name": t} for t in ("evaluate", "versions", "compare", "jurisdictions", "drafts", "decisions",
                                        "audit", "users", "meta")],
        "paths": _named(_paths(batch_limit, synthetic_limit)),
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "a token from 'doudi users token' or POST /users/{username}/tokens"}},
            "responses": {name: {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
                          for name, text in _ERRORS.values()},
            "schemas": components(batch_limit, synthetic_limit, yaml_bytes, household),
        },
    }
