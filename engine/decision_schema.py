"""The JSON Schema of a pack's decisions: ``schemas/decision.schema.json`` with the ``outputs`` the pack
declares (each typed by its kind, labelled from its presentation) in place of any fixed list."""

from __future__ import annotations

import copy
from typing import Any

from . import presentation
from .model import RulePack
from .presentation import OutputInfo
from .schemas import schema

ANY = {"type": ["string", "number", "boolean", "null"]}
TYPES: dict[str, dict[str, Any]] = {
    "amount": {"type": "number"}, "count": {"type": "integer"}, "flag": {"type": "boolean"},
    "number": {"type": "number"}, "percent": {"type": "number"},
    "date": {"type": ["string", "null"], "format": "date"}, "text": ANY,
}


def value_schema(info: OutputInfo) -> dict[str, Any]:
    """The schema of one output's value, by its kind (a category: its declared codes, or null)."""
    if info.kind == "list":
        return {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": list(info.fields),
            "properties": {name: value_schema(field) for name, field in info.fields.items()}}} | _titled(info)
    if info.kind == "category":
        out: dict[str, Any] = {"enum": [*info.values, None]} if info.values else {"type": ["string", "null"]}
        return out | _titled(info)
    return TYPES.get(info.kind, ANY) | _titled(info)


def _titled(info: OutputInfo) -> dict[str, Any]:
    unit = f" ({info.unit.en})" if info.unit is not None else ""
    return {"title": f"{info.label.zh} / {info.label.en}{unit}"}


def outputs_schema(pack: RulePack) -> dict[str, Any]:
    """The schema of a decision's ``outputs``: every output of the pack, required, nothing else."""
    shown = presentation.of(pack)
    properties: dict[str, Any] = {}
    for path, info in shown.outputs.items():
        head, _sep, tail = path.partition(".")
        if tail:  # a field of an object output
            group = properties.setdefault(head, {"type": "object", "additionalProperties": False, "required": [],
                                                 "properties": {}})
            if head in shown.groups:
                group["title"] = f"{shown.groups[head].zh} / {shown.groups[head].en}"
            group["required"].append(tail)
            group["properties"][tail] = value_schema(info)
        else:
            properties[head] = value_schema(info)
    return {"type": "object", "additionalProperties": False, "required": list(properties), "properties": properties}


def decision_schema(pack: RulePack) -> dict[str, Any]:
    """The decision schema with the outputs of ``pack``."""
    out = copy.deepcopy(schema("decision"))
    out["properties"]["outputs"] = outputs_schema(pack)
    out["description"] = (f"What doudi eval and POST /api/v1/evaluate return with the rule pack '{pack.id}'. "
                          "Money in yuan; values that are not whole carry at most 2 decimals (rounded half up).")
    return out
