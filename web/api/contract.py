"""The OpenAPI document as this application's contract: request bodies (``request_problems``) and
query and path parameters (``parameter_problems``) are checked against it, with this app's limits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from flask import current_app
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from engine.errors import NotFound, Problem, quoted
from engine.inputs import limit, whole_number
from engine.schemas import describe, json_path
from engine.versions import pack_of

from ..db import get_db
from .document import document

_URI = "urn:doudi:openapi"


def document_limits() -> tuple[int, int, int, str | None]:
    """The limits the document states, from this app's settings, and the served pack's household schema."""
    return (current_app.config["BATCH_LIMIT"], current_app.config["SYNTHETIC_LIMIT"], limit("yaml_file_bytes"),
            served_household())


def served_household() -> str | None:
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
    errors = _validator(name, document_limits()).iter_errors(data)
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
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
    for param in _operations(document_limits()).get(operation, {}).get("parameters", []):
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
