"""The shapes of the OpenAPI document: the schema builders and the ``components.schemas`` table.

The household and decision schemas of ``schemas/`` are embedded as they are (their ``$defs`` moved
under the component), so the document and the engine share one source of truth.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from engine.inputs import MAX_ID
from engine.schemas import schema
from engine.users import ROLES

from .errors import CODES


def ref(name: str) -> dict[str, str]:
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
    return embedded_schema(given or schema(name), component)


def embedded_schema(source: dict[str, Any], component: str) -> dict[str, Any]:
    data = copy.deepcopy(source)
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
IMPACT_AMOUNT = _obj("old new delta up down unchanged", old=NUM, new=NUM, delta=NUM, up=INT, down=INT, unchanged=INT)
IMPACT_FLAG = _obj("old new gained lost", old=INT, new=INT, gained=INT, lost=INT)


def _by_path(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    """An object keyed by output path (``object.field`` for an object output) whose values follow ``schema``."""
    return {"type": "object", "additionalProperties": schema} | ({"description": description} if description else {})


PACK_LABEL = _obj("digest", "version draft", digest=STR, version=INT, draft=INT)
CHANGE = _obj("key change fields old new", "label", extra=True, key=STR,
              change={"enum": ["added", "removed", "changed"]}, fields={"type": "array", "items": STR},
              old={"type": ["object", "null"]}, new={"type": ["object", "null"]},
              label={"oneOf": [TEXT, {"type": "null"}]})
CHANGES = {"type": "array", "items": CHANGE}
VERSION = _obj("number pack digest created_at created_by source title draft_id", number=INT, pack=STR,
               digest={"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}, created_at=STR, created_by=STR,
               source=STR, title=STR, draft_id=NINT)
DRAFT = _obj("id base_version title status author revision created_at updated_at jurisdictions submitted_at "
             "decided_by decided_at comment published_version", id=INT, base_version=INT, title=STR,
             status={"enum": ["editing", "submitted", "approved", "rejected"]}, author=STR, revision=INT,
             created_at=STR, updated_at=STR, jurisdictions={"type": "array", "items": STR}, submitted_at=NSTR,
             decided_by=NSTR, decided_at=NSTR, comment=NSTR, published_version=NINT)
USER = _obj("username name role role_label jurisdiction active", username=STR, name=STR, role={"enum": sorted(ROLES)},
            role_label=TEXT, jurisdiction=NSTR, active=BOOL)


def components(batch_limit: int, synthetic_limit: int, yaml_bytes: int,
                household: str | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {
        "Household": _embedded("household", "Household", json.loads(household) if household else None),
        "Decision": _embedded("decision", "Decision"),
        "ErrorDetail": _obj("path message", "message_zh file line", extra=True, path=STR, message=STR,
                            message_zh=STR, file=STR, line=INT),
        "ErrorObject": _obj("code status message message_zh details", code={"enum": CODES},
                            status={"type": "integer", "minimum": 400, "maximum": 599}, message=STR,
                            message_zh=STR, details={"type": "array", "items": ref("ErrorDetail")}),
        "Error": _obj("error", error=ref("ErrorObject")),
        # requests
        "Empty": {"type": "object", "additionalProperties": False},
        "EvaluateRequest": _obj("household", "as_of version", household=ref("Household"), as_of=DATE,
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
        "EvaluateResponse": {"allOf": [ref("Decision"), {"type": "object", "required": ["decision_id"],
                                                          "properties": {"decision_id": INT}}]},
        "BatchResponse": _obj("as_of rule_version count evaluated errors results", as_of=DATE,
                              rule_version=_obj("number digest", number=INT, digest=STR), count=INT, evaluated=INT,
                              errors=INT, results={"type": "array", "items": {"oneOf": [
                                  _obj("index household_id county outputs", index=INT, household_id=NSTR,
                                       county=NSTR, outputs={"type": "object"}),
                                  _obj("index household_id county error", index=INT, household_id=NSTR,
                                       county=NSTR, error=ref("ErrorObject"))]}}),
        "Version": VERSION,
        "Versions": _obj("versions", versions={"type": "array", "items": ref("Version")}),
        "Packs": _obj("packs", packs={"type": "array", "items": _obj("id title latest versions", id=STR, title=STR,
                                                                       latest=INT, versions=INT)}),
        "VersionDetail": _extend(VERSION, "files", files={"type": "array", "items": FILE_ITEM}),
        "FileText": _obj("path text", "version draft", version=INT, draft=INT, path=STR, text=STR),
        "Draft": DRAFT,
        "Drafts": _obj("drafts", drafts={"type": "array", "items": ref("Draft")}),
        "DraftChange": _obj("id draft_id at user kind", "jurisdiction parameter effective value path document reason",
                            id=INT, draft_id=INT, at=STR, user=STR, kind={"enum": ["parameter", "file"]},
                            jurisdiction=NSTR, parameter=NSTR, effective=NSTR, value={}, path=NSTR, document=NSTR,
                            reason=NSTR),
        "DraftDetail": _extend(DRAFT, "changes files", changes={"type": "array", "items": ref("DraftChange")},
                               files={"type": "array", "items": FILE_ITEM}),
        "Diff": _obj("from to old_digest new_digest parameters declarations rules variables outputs jurisdictions "
                     "metadata affected_counties", extra=True, from_=PACK_LABEL, to=PACK_LABEL, old_digest=STR,
                     new_digest=STR, parameters={"type": "array", "items": ref("ParameterChange")},
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
                       "affected_counties errors errors_old errors_new error_samples changed amounts flags outputs "
                       "movers_by legend counties top", extra=True,
                       from_=PACK_LABEL, to=PACK_LABEL,
                       population=_obj("", "households synthetic", households=INT,
                                       synthetic=_obj("n seed", n=INT, seed=INT)),
                       old_digest=STR, new_digest=STR, as_of=DATE, households=INT, evaluated=INT, skipped=INT,
                       affected_counties={"type": ["array", "null"], "items": STR}, errors=INT, errors_old=INT,
                       errors_new=INT, error_samples={"type": "array", "items": {"type": "object"}},
                       changed={**INT, "description": "households with any output different"},
                       amounts=_by_path(IMPACT_AMOUNT, "the pack's declared impact amounts"),
                       flags=_by_path(IMPACT_FLAG, "the pack's declared impact flags"),
                       outputs=_by_path(INT, "every output path that changed → the households it changed for"),
                       movers_by={"type": ["string", "null"], "description": "the amount movers are ranked by"},
                       legend=_by_path(_obj("label kind unit", label=TEXT, kind=STR, unit={"oneOf": [TEXT, {
                           "type": "null"}]}), "label, kind and unit of every output path named in the report"),
                       counties={"type": "array", "items": _obj(
                           "code name households evaluated errors changed amounts flags", code=STR, name=STR,
                           households=INT, evaluated=INT, errors=INT, changed=INT,
                           amounts=_by_path(IMPACT_AMOUNT), flags=_by_path(IMPACT_FLAG))},
                       top={"type": "array", "items": _obj(
                           "household_id county old new delta flags", household_id=STR, county=STR, old=NUM,
                           new=NUM, delta=NUM, flags=_by_path(_obj("old new", old=BOOL, new=BOOL)))}),
        "JurisdictionNode": _obj("code name level parent children", code=STR, name=STR,
                                 level={"enum": ["province", "city", "county"]}, parent=NSTR,
                                 children={"type": "array", "items": ref("JurisdictionNode")}),
        "JurisdictionTree": _obj("root", "version draft", version=INT, draft=INT, root=ref("JurisdictionNode")),
        "ResolvedParameters": _obj("jurisdiction date parameters", "version draft", version=INT, draft=INT,
                                   jurisdiction=_obj("code name level parent", code=STR, name=STR, level=STR,
                                                     parent=NSTR),
                                   date=DATE, parameters={"type": "array", "items": ref("ResolvedParameter")}),
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
                               created_at=STR, outputs={"type": "object"}, facts=ref("Household"),
                               decision=ref("Decision"), trace_stored={
                                   "type": "boolean", "description": "false: the trace was not stored; it is "
                                   "re-evaluated from the facts with the decision's version"}),
        "StoredDecisions": _obj("decisions", decisions={"type": "array", "items": ref("StoredDecision")}),
        "Replay": _obj("id identical rule_version trace_stored differences stored replayed", id=INT, identical=BOOL,
                       rule_version=_obj("number digest", number=NINT, digest=STR), trace_stored=BOOL,
                       differences={"type": "array", "description": "each stored field the replay does not "
                                    "reproduce", "items": _obj("path stored replayed", path=STR, stored={},
                                                               replayed={})},
                       stored=ref("Decision"), replayed=ref("Decision")),
        "AuditEntries": _obj("entries", entries={"type": "array", "items": _obj(
            "id at user action object_type object_id summary reason document details", id=INT, at=STR, user=STR,
            action=STR, object_type=STR, object_id=STR, summary=NSTR, reason=NSTR, document=NSTR,
            details={"type": "object"})}),
        "User": USER,
        "Users": _obj("users", users={"type": "array", "items": ref("User")}),
        "Me": _extend(USER, "permissions", permissions={"type": "array", "items": STR}),
        "TokensRevoked": _obj("username revoked", username=STR, revoked=INT),
        "Token": _obj("username label token", username=STR, label=STR,
                      token={"type": "string", "description": "shown once; send it as 'Authorization: Bearer …'"}),
    }
    s["DraftSaved"] = _extend(s["DraftDetail"], "warnings", warnings={
        "type": "array", "items": ref("ErrorDetail"),
        "description": "saved, but check: a value more than twice or less than half the one in force (疑似录入错误)"})
    return s
