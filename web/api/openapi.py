"""``GET /openapi.json`` (OpenAPI 3.1, built here from the routes' contracts) and ``GET /schemas/{name}``.

The household and decision schemas of ``schemas/`` are embedded as they are (their ``$defs`` moved
under the component), so the document and the engine share one source of truth. Request bodies are
validated against the same components (``request_problems``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from flask import current_app
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from engine.errors import NotFound, Problem, quoted
from engine.inputs import MAX_ID, limit, whole_number
from engine.schemas import SCHEMA_DIR, describe, json_path, schema
from engine.users import ROLES
from engine.versions import pack_of

from ..db import get_db
from . import bp, public
from .errors import CODES

_URI = "urn:doudi:openapi"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: str, optional: str = "", *, extra: bool = False, **props: Any) -> dict[str, Any]:
    """An object schema: ``props`` by name; ``required`` and ``optional`` list the names (space separated)."""
    props = {("from" if k == "from_" else k): v for k, v in props.items()}  # "from" is a Python keyword
    names = required.split() + optional.split()
    assert set(names) == set(props), (sorted(names), sorted(props))
    out: dict[str, Any] = {"type": "object", "required": required.split(), "properties": props}
    if not extra:
        out["additionalProperties"] = False
    return out


def _extend(base: dict[str, Any], required: str, **props: Any) -> dict[str, Any]:
    """``base`` with more (required) properties."""
    return base | {"required": base["required"] + required.split(), "properties": base["properties"] | props}


def _embedded(name: str, component: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """A schema of ``schemas/`` (or ``given``) as a component: no ``$id``, its ``$defs`` referred to under the
    component."""
    data = copy.deepcopy(given or schema(name))
    data.pop("$id", None)
    data.pop("$schema", None)

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                node["$ref"] = f"#/components/schemas/{component}/$defs/" + ref[len("#/$defs/"):]
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(data)
    return data


STR, INT, BOOL, NUM = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "number"}
DATE = {"type": "string", "format": "date"}
NSTR, NINT = {"type": ["string", "null"]}, {"type": ["integer", "null"]}
TEXT = _obj("zh en", zh=STR, en=STR)
# what a request may send (README: limits): every text has a maxLength, every whole number a range
ID_NUMBER = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
LINE = {"type": "string", "maxLength": 200}  # a title, a label, an authorising document
PROSE = {"type": "string", "maxLength": 2000}  # a reason, a comment
NOT_BLANK = r"\S"  # what ``text.strip()`` leaves something of
REF_PATTERN = r"^([0-9]{1,9}|draft:[0-9]{1,9})$"
VERSION_REF = {"oneOf": [ID_NUMBER, {"type": "string", "pattern": REF_PATTERN}],
               "description": "a version number (1) or a draft (\"draft:5\")"}
FILE_PATH = {"type": "string", "maxLength": 200, "pattern": r"^(?!/)(?!.*(^|/)\.\.(/|$))[^\\]*\.ya?ml$",
             "description": "a relative .yaml path inside the pack, e.g. values/431322-新化县.yaml"}
FILE_ITEM = _obj("path bytes", path=STR, bytes=INT)
TOTALS = _obj("old new delta", old=NUM, new=NUM, delta=NUM)
PACK_LABEL = _obj("digest", "version draft", digest=STR, version=INT, draft=INT)
CHANGE = _obj("key change fields old new", "label", extra=True, key=STR,
              change={"enum": ["added", "removed", "changed"]}, fields={"type": "array", "items": STR},
              old={"type": ["object", "null"]}, new={"type": ["object", "null"]},
              label={"oneOf": [TEXT, {"type": "null"}]})
CHANGES = {"type": "array", "items": CHANGE}
VERSION = _obj("number digest created_at created_by source title draft_id", number=INT,
               digest={"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}, created_at=STR, created_by=STR,
               source=STR, title=STR, draft_id=NINT)
DRAFT = _obj("id base_version title status author revision created_at updated_at jurisdictions submitted_at "
             "decided_by decided_at comment published_version", id=INT, base_version=INT, title=STR,
             status={"enum": ["editing", "submitted", "approved", "rejected"]}, author=STR, revision=INT,
             created_at=STR, updated_at=STR, jurisdictions={"type": "array", "items": STR}, submitted_at=NSTR,
             decided_by=NSTR, decided_at=NSTR, comment=NSTR, published_version=NINT)
USER = _obj("username name role role_label jurisdiction active", username=STR, name=STR, role={"enum": sorted(ROLES)},
            role_label=TEXT, jurisdiction=NSTR, active=BOOL)


def _components(batch_limit: int, synthetic_limit: int, yaml_bytes: int,
                household: str | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {
        "Household": _embedded("household", "Household", json.loads(household) if household else None),
        "Decision": _embedded("decision", "Decision"),
        "ErrorDetail": _obj("path message", "message_zh file line", extra=True, path=STR, message=STR,
                            message_zh=STR, file=STR, line=INT),
        "ErrorObject": _obj("code status message message_zh details", code={"enum": CODES},
                            status={"type": "integer", "minimum": 400, "maximum": 599}, message=STR,
                            message_zh=STR, details={"type": "array", "items": _ref("ErrorDetail")}),
        "Error": _obj("error", error=_ref("ErrorObject")),
        # requests
        "Empty": {"type": "object", "additionalProperties": False},
        "EvaluateRequest": _obj("household", "as_of version", household=_ref("Household"), as_of=DATE,
                                version={**ID_NUMBER, "type": ["integer", "null"]}),
        "BatchRequest": _obj("households", "as_of version",
                             households={"type": "array", "items": {"type": "object"}, "maxItems": batch_limit,
                                         "description": "households (see Household), each checked on its own"},
                             as_of=DATE, version={**ID_NUMBER, "type": ["integer", "null"]}),
        "ImpactRequest": _obj("from to", "as_of households synthetic top", from_=VERSION_REF, to=VERSION_REF,
                              as_of=DATE, households={"type": "array", "items": {"type": "object"},
                                                      "maxItems": batch_limit},
                              synthetic=_obj("", "n seed", n={"type": "integer", "minimum": 1,
                                                              "maximum": synthetic_limit}, seed=COUNT),
                              top={"type": "integer", "minimum": 0, "maximum": 200}),
        "DraftCreate": _obj("", "title base_version", title=LINE, base_version={**ID_NUMBER,
                                                                                 "type": ["integer", "null"]}),
        "ParameterEdit": _obj("jurisdiction parameter effective document revision", "value inherit reason",
                              jurisdiction={"type": "string", "maxLength": 32},
                              parameter={"type": "string", "maxLength": 64}, effective={**DATE, "maxLength": 10},
                              value={"description": "the value (a number, list, map… as the parameter's type)"},
                              inherit=BOOL, document={**LINE, "pattern": NOT_BLANK,
                                                      "description": "e.g. 新政发〔2019〕9号"},
                              reason=PROSE, revision=COUNT),
        "FileEdit": _obj("text revision", "reason document", text={"type": "string", "maxLength": yaml_bytes},
                         reason=PROSE, document=LINE, revision=COUNT),
        "Approval": _obj("", "comment", comment=PROSE),
        "Rejection": _obj("comment", comment={**PROSE, "pattern": NOT_BLANK,
                                              "description": "why: the author reads it (required)"}),
        "UserCreate": _obj("username password role", "jurisdiction name",
                           username={"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[\w.-]+$"},
                           password={"type": "string", "minLength": 8, "maxLength": 200},
                           role={"enum": sorted(ROLES)}, jurisdiction={"type": ["string", "null"], "maxLength": 32},
                           name={"type": "string", "maxLength": 100}),
        "TokenCreate": _obj("", "label", label=LINE),
        # responses
        "EvaluateResponse": {"allOf": [_ref("Decision"), {"type": "object", "required": ["decision_id"],
                                                          "properties": {"decision_id": INT}}]},
        "BatchResponse": _obj("as_of rule_version count evaluated errors results", as_of=DATE,
                              rule_version=_obj("number digest", number=INT, digest=STR), count=INT, evaluated=INT,
                              errors=INT, results={"type": "array", "items": {"oneOf": [
                                  _obj("index household_id county outputs", index=INT, household_id=NSTR,
                                       county=NSTR, outputs={"type": "object"}),
                                  _obj("index household_id county error", index=INT, household_id=NSTR,
                                       county=NSTR, error=_ref("ErrorObject"))]}}),
        "Version": VERSION,
        "Versions": _obj("versions", versions={"type": "array", "items": _ref("Version")}),
        "VersionDetail": _extend(VERSION, "files", files={"type": "array", "items": FILE_ITEM}),
        "FileText": _obj("path text", "version draft", version=INT, draft=INT, path=STR, text=STR),
        "Draft": DRAFT,
        "Drafts": _obj("drafts", drafts={"type": "array", "items": _ref("Draft")}),
        "DraftChange": _obj("id draft_id at user kind", "jurisdiction parameter effective value path document reason",
                            id=INT, draft_id=INT, at=STR, user=STR, kind={"enum": ["parameter", "file"]},
                            jurisdiction=NSTR, parameter=NSTR, effective=NSTR, value={}, path=NSTR, document=NSTR,
                            reason=NSTR),
        "DraftDetail": _extend(DRAFT, "changes files", changes={"type": "array", "items": _ref("DraftChange")},
                               files={"type": "array", "items": FILE_ITEM}),
        "Diff": _obj("from to old_digest new_digest parameters declarations rules variables outputs jurisdictions "
                     "metadata affected_counties", extra=True, from_=PACK_LABEL, to=PACK_LABEL, old_digest=STR,
                     new_digest=STR, parameters={"type": "array", "items": _ref("ParameterChange")},
                     declarations=CHANGES, rules=CHANGES, variables=CHANGES, outputs=CHANGES, jurisdictions=CHANGES,
                     metadata={"type": "array", "items": STR},
                     affected_counties={"type": ["array", "null"], "items": STR,
                                        "description": "null: the logic changed, every county can be affected"}),
        "ParameterChange": _obj("jurisdiction jurisdiction_name parameter label unit effective change fields old new "
                                "delta percent document reason old_document", extra=True, jurisdiction=STR,
                                jurisdiction_name=STR, parameter=STR, label=TEXT, unit=TEXT, effective=DATE,
                                change={"enum": ["added", "removed", "changed"]},
                                fields={"type": "array", "items": STR}, old={}, new={},
                                delta={"type": ["number", "null"]}, percent={"type": ["number", "null"]},
                                document=NSTR, reason=NSTR, old_document=NSTR),
        "Impact": _obj("from to population old_digest new_digest as_of households evaluated skipped "
                       "affected_counties errors errors_old errors_new error_samples eligible_old eligible_new "
                       "newly_eligible exits payment_up payment_down payment_unchanged outputs_changed "
                       "dibao_monthly medical_assistance temporary_assistance counties top", extra=True,
                       from_=PACK_LABEL, to=PACK_LABEL,
                       population=_obj("", "households synthetic", households=INT,
                                       synthetic=_obj("n seed", n=INT, seed=INT)),
                       old_digest=STR, new_digest=STR, as_of=DATE, households=INT, evaluated=INT, skipped=INT,
                       affected_counties={"type": ["array", "null"], "items": STR}, errors=INT, errors_old=INT,
                       errors_new=INT, error_samples={"type": "array", "items": {"type": "object"}},
                       eligible_old=INT, eligible_new=INT, newly_eligible=INT, exits=INT, payment_up=INT,
                       payment_down=INT, payment_unchanged=INT, outputs_changed=INT, dibao_monthly=TOTALS,
                       medical_assistance=TOTALS, temporary_assistance=TOTALS,
                       counties={"type": "array", "items": _obj(
                           "code name households evaluated errors newly_eligible exits payment_up payment_down "
                           "dibao_monthly medical_assistance_delta temporary_assistance_delta", code=STR, name=STR,
                           households=INT, evaluated=INT, errors=INT, newly_eligible=INT, exits=INT, payment_up=INT,
                           payment_down=INT, dibao_monthly=TOTALS, medical_assistance_delta=NUM,
                           temporary_assistance_delta=NUM)},
                       top={"type": "array", "items": _obj(
                           "household_id county eligible_old eligible_new dibao_monthly_old dibao_monthly_new delta",
                           household_id=STR, county=STR, eligible_old=BOOL, eligible_new=BOOL,
                           dibao_monthly_old=NUM, dibao_monthly_new=NUM, delta=NUM)}),
        "JurisdictionNode": _obj("code name level parent children", code=STR, name=STR,
                                 level={"enum": ["province", "city", "county"]}, parent=NSTR,
                                 children={"type": "array", "items": _ref("JurisdictionNode")}),
        "JurisdictionTree": _obj("root", "version draft", version=INT, draft=INT, root=_ref("JurisdictionNode")),
        "ResolvedParameters": _obj("jurisdiction date parameters", "version draft", version=INT, draft=INT,
                                   jurisdiction=_obj("code name level parent", code=STR, name=STR, level=STR,
                                                     parent=NSTR),
                                   date=DATE, parameters={"type": "array", "items": _ref("ResolvedParameter")}),
        "ResolvedParameter": _obj(
            "name label unit type reference set_by value from effective document own floor", name=STR, label=TEXT,
            unit=TEXT, type=STR, reference=STR, set_by={"type": "array", "items": STR},
            value={"description": "null when no value is in force on the date"},
            from_={**NSTR, "description": "the jurisdiction whose value is in force"},
            effective={"type": ["string", "null"], "format": "date"}, document=NSTR,
            own={"type": "boolean", "description": "the jurisdiction's own value, not inherited"},
            floor={"oneOf": [{"type": "null"}, _obj(
                "value parameter jurisdiction effective document reference", value=NUM, parameter=STR,
                jurisdiction=STR, effective=DATE, document=NSTR, reference=STR)],
                "description": "the highest lower bound in force (e.g. the provincial standard), if any"}),
        "StoredDecision": _obj("id household_id county as_of rule_version user created_at outputs",
                               "facts decision trace_stored",
                               id=INT, household_id=STR, county=NSTR, as_of=DATE,
                               rule_version=_obj("number digest", number=NINT, digest=STR), user=STR,
                               created_at=STR, outputs={"type": "object"}, facts=_ref("Household"),
                               decision=_ref("Decision"), trace_stored={
                                   "type": "boolean", "description": "false: the trace was not stored; it is "
                                   "re-evaluated from the facts with the decision's version"}),
        "StoredDecisions": _obj("decisions", decisions={"type": "array", "items": _ref("StoredDecision")}),
        "Replay": _obj("id identical rule_version trace_stored differences stored replayed", id=INT, identical=BOOL,
                       rule_version=_obj("number digest", number=NINT, digest=STR), trace_stored=BOOL,
                       differences={"type": "array", "description": "each stored field the replay does not "
                                    "reproduce", "items": _obj("path stored replayed", path=STR, stored={},
                                                               replayed={})},
                       stored=_ref("Decision"), replayed=_ref("Decision")),
        "AuditEntries": _obj("entries", entries={"type": "array", "items": _obj(
            "id at user action object_type object_id summary reason document details", id=INT, at=STR, user=STR,
            action=STR, object_type=STR, object_id=STR, summary=NSTR, reason=NSTR, document=NSTR,
            details={"type": "object"})}),
        "User": USER,
        "Users": _obj("users", users={"type": "array", "items": _ref("User")}),
        "Me": _extend(USER, "permissions", permissions={"type": "array", "items": STR}),
        "TokensRevoked": _obj("username revoked", username=STR, revoked=INT),
        "Token": _obj("username label token", username=STR, label=STR,
                      token={"type": "string", "description": "shown once; send it as 'Authorization: Bearer …'"}),
    }
    return s


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
        "application/json": {"schema": _ref(ok[1])}}}}
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
                              "content": {"application/json": {"schema": _ref(request)}}}
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
            description="SPEC §8 decision with rule_version.number, plus decision_id. A caseworker evaluates "
                        "households of their own county only (403 otherwise).")},
        "/evaluate/batch": {"post": _op(
            "evaluate", "Evaluate households in order (not stored)", (200, "BatchResponse"), "403 404 422",
            request="BatchRequest",
            description=f"At most {batch_limit} households. Each result is the household's outputs or an error "
                        "(paths relative to that household); households outside the user's jurisdiction get a "
                        "'forbidden' error.")},
        "/versions": {"get": _op("versions", "Published versions", (200, "Versions"), "403")},
        "/versions/{number}": {"get": _op("versions", "A version and its files", (200, "VersionDetail"), "403 404",
                                          params=(N,))},
        "/versions/{number}/files/{path}": {"get": _op(
            "versions", "The YAML text of a version's file", (200, "FileText"), "403 404", params=(N, FILE))},
        "/compare": {"get": _op(
            "compare", "What changed between two versions (or a draft)", (200, "Diff"), "403 404 422",
            params=({**_query("from", "old: a version number, or draft:ID", REF_Q), "required": True},
                    {**_query("to", "new: a version number, or draft:ID", REF_Q), "required": True}))},
        "/impact": {"post": _op(
            "compare", "What changed for whom over a population", (200, "Impact"), "403 404 422 503",
            request="ImpactRequest",
            description=f"An uploaded list of households (at most {batch_limit}) or synthetic ones (n at most "
                        f"{synthetic_limit}; default n 1000, seed 1), evaluated under both packs on as_of "
                        "(default today). A draft is evaluated in a worker process: 503 when it takes longer "
                        "than DRAFT_TIMEOUT or more memory than DRAFT_MEMORY_MB.")},
        "/jurisdictions": {"get": _op("jurisdictions", "The province → city → county tree",
                                      (200, "JurisdictionTree"), "403 404 422", params=(VERSION_Q, DRAFT_Q))},
        "/jurisdictions/{code}/parameters": {"get": _op(
            "jurisdictions", "Every parameter in force for a jurisdiction on a date", (200, "ResolvedParameters"),
            "403 404 422", params=(_path("code", "GB/T 2260 code, e.g. 431322"),
                                   _query("date", "YYYY-MM-DD (default today)", {**DATE, "maxLength": 10}),
                                   VERSION_Q, DRAFT_Q))},
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
            "drafts", "Set one dated parameter value", (200, "DraftDetail"), "400 403 404 409 422",
            request="ParameterEdit", params=(ID,),
            description="Validated at once (e.g. a county below the provincial floor: 422 naming the floor and the "
                        "clause). 'revision' must be the draft's current one, else 409.")},
        "/drafts/{draft_id}/files/{path}": {
            "get": _op("drafts", "The YAML text of a draft's file", (200, "FileText"), "403 404", params=(ID, FILE)),
            "put": _op("drafts", "Replace or add a YAML document", (200, "DraftDetail"), "400 403 404 409 422",
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
            "responses": {name: {"description": text, "content": {"application/json": {"schema": _ref("Error")}}}
                          for name, text in _ERRORS.values()},
            "schemas": _components(batch_limit, synthetic_limit, yaml_bytes, household),
        },
    }


def _limits() -> tuple[int, int, int, str | None]:
    """The limits the document states, from this app's settings, and the served pack's household schema."""
    return (current_app.config["BATCH_LIMIT"], current_app.config["SYNTHETIC_LIMIT"], limit("yaml_file_bytes"),
            _household())


def _household() -> str | None:
    """The household schema of the served pack as JSON text (None: no pack published yet)."""
    try:
        return str(pack_of(get_db())[1].facts.schema_json)
    except NotFound:
        return None


@cache
def _validator(name: str, limits: tuple[int, int, int, str | None]) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(_URI, DRAFT202012.create_resource(document(*limits)))
    return Draft202012Validator({"$ref": f"{_URI}#/components/schemas/{name}"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def request_problems(name: str, data: Any) -> list[Problem]:
    """Every way ``data`` breaks the request schema ``name``, each naming its field from the body's root."""
    out = []
    for error in sorted(_validator(name, _limits()).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        if error.validator == "$ref" or error.validator == "allOf":
            continue
        en, zh = describe(error)
        base = json_path(error)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            out += [Problem(en, zh, path=f"{base}.{k}" if base else k) for k in extra]
        else:
            out.append(Problem(en, zh, path=base or "(body)"))
    return out


@cache
def _operations(limits: tuple[int, int, int, str | None]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for methods in document(*limits)["paths"].values() for op in methods.values()}


@cache
def _parameter_validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=Draft202012Validator.FORMAT_CHECKER)


def parameter_problems(operation: str, args: Mapping[str, str], view_args: Mapping[str, Any]) -> list[Problem]:
    """Every way the query and path parameters of a request break the document's ``parameters`` of
    ``operation`` (an operationId): the server accepts exactly what the document says."""
    out = []
    for param in _operations(_limits()).get(operation, {}).get("parameters", []):
        name, schema = param["name"], param["schema"]
        raw = args.get(name) if param["in"] == "query" else view_args.get(name)
        if raw is None:
            if param["required"]:
                out.append(Problem("missing required parameter", "缺少必填参数", path=name))
            continue
        value = raw
        if schema.get("type") == "integer" and isinstance(raw, str):
            value = whole_number(raw)
            if value is None:
                bounds = f"{schema['minimum']}…{schema['maximum']}"
                out.append(Problem(f"{quoted(raw)} is not a whole number {bounds}",
                                   f"{quoted(raw)} 不是有效的整数（{bounds}）", path=name))
                continue
        for error in _parameter_validator(json.dumps(schema, sort_keys=True)).iter_errors(value):
            en, zh = describe(error)
            out.append(Problem(en, zh, path=name))
    return out


@bp.get("/openapi.json")
@public
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document (no token needed)."""
    return document(*_limits())


@bp.get("/schemas/<name>")
@public
def json_schema(name: str) -> dict[str, Any]:
    """A JSON Schema of ``schemas/`` by name (``household`` or ``household.schema.json``); the household one is
    the served pack's, generated from its fact declarations."""
    stem = name.removesuffix(".json").removesuffix(".schema")
    if stem not in {p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json")}:
        raise NotFound(f"no schema {name!r}", message_zh=f"没有名为 {name} 的 JSON Schema")
    household = _household() if stem == "household" else None
    return json.loads(household) if household else schema(stem)
