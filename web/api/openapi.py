"""``GET /openapi.json`` (OpenAPI 3.1, built by ``document`` from the routes' contracts) and
``GET /schemas/{name}``; both are public.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint

from engine.decision_schema import decision_schema
from engine.errors import NotFound
from engine.schemas import SCHEMA_DIR, schema

from . import pack_schemas
from .common import public
from .components import embedded_schema
from .contract import document_limits, served_household
from .document import document
from .pack_schemas import served_pack

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
@public
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document (no token needed), its decision schema the served pack's."""
    return pack_schemas.with_decision(document(*document_limits()), served_pack(), embedded_schema)


@bp.get("/schemas/<name>")
@public
def json_schema(name: str) -> dict[str, Any]:
    """A JSON Schema of ``schemas/`` by name (``household`` or ``household.schema.json``); the household and
    decision schemas are the served pack's (generated from its fact and output declarations)."""
    stem = name.removesuffix(".json").removesuffix(".schema")
    if stem not in {p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json")}:
        raise NotFound(f"no schema {name!r}", message_zh=f"没有名为 {name} 的 JSON Schema")
    if stem == "household":
        household = served_household()
        return json.loads(household) if household else schema(stem)
    pack = served_pack() if stem == "decision" else None
    return decision_schema(pack) if pack is not None else schema(stem)
