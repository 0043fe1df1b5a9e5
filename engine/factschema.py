"""What a pack's fact declarations (``engine.factsdecl``) generate: the household JSON Schema and the
symbols of the expression compiler.

The schema is strict (``additionalProperties: false`` everywhere, every text, list and table bounded),
so that a typo never becomes a zero; for Hunan it is ``schemas/household.schema.json`` (SPEC §6,
``doudi schema household --rules rules/hunan`` writes it, tests/test_factsdecl.py keeps it up to date).
"""

from __future__ import annotations

from typing import Any

from .expressions import Symbol
from .factsdecl import ID_LENGTH, MONEY_MAX, Collection, FactField, Facts

CODE_PATTERN = "^[a-z][a-z0-9_]*$"
TEXT_LENGTH = 200  # a text field declared without max_length


def _value(f: FactField, facts: Facts) -> dict[str, Any]:
    """The schema of one value field."""
    t = f.type
    if t == "money":
        node: dict[str, Any] = {"type": "number", "minimum": 0 if f.minimum is None else f.minimum,
                                "maximum": MONEY_MAX if f.maximum is None else f.maximum}
    elif t in ("number", "int"):
        node = {"type": "number" if t == "number" else "integer"}
        node |= {k: v for k, v in (("minimum", f.minimum), ("maximum", f.maximum)) if v is not None}
    elif t == "bool":
        node = {"type": "boolean"}
    elif t == "date":
        node = {"type": "string", "maxLength": 10, "format": "date"}
    elif t == "text":
        node = {"type": "string"}
        if f.min_length is not None:
            node["minLength"] = f.min_length
        node["maxLength"] = f.max_length or TEXT_LENGTH
        if f.pattern:
            node["pattern"] = f.pattern
    elif t == "enum":
        node = {"enum": list(f.values) + ([None] if f.nullable else [])}
    elif t == "code":
        node = {"type": "string", "maxLength": 64, "pattern": CODE_PATTERN}
    elif t == "member":
        node = {"type": "string", "minLength": 1, "maxLength": ID_LENGTH}
    else:  # money_by_member
        node = {"type": "object", "maxProperties": facts.members.max_items,
                "propertyNames": {"maxLength": ID_LENGTH},
                "additionalProperties": _value(FactField("", "", "money", f.label), facts) | {"default": 0}}
    if f.nullable and "type" in node:
        node["type"] = [node["type"], "null"]
    if f.has_default:
        node["default"] = f.default
    if t == "money":
        node["x-unit"] = "yuan"
    node["title"] = f.label.zh
    return node


def _object(fields: tuple[FactField, ...], facts: Facts, title: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "object", "additionalProperties": False}
    required = [f.name for f in fields if f.required]
    if required:
        node["required"] = required
    if title:
        node["title"] = title
    node["properties"] = {f.name: (_object(f.fields, facts, f.label.zh) if f.type == "object" else _value(f, facts))
                          for f in fields}
    return node


def _collection(c: Collection, facts: Facts) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "array"}
    if c.min_items:
        node["minItems"] = c.min_items
    return node | {"maxItems": c.max_items, "title": c.label.zh, "items": _object(c.fields, facts)}


def household_schema(facts: Facts, pack_id: str = "") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a household of these facts."""
    root = _object(facts.household, facts)
    root["required"] = [*root.get("required", []), *(c.key for c in facts.collections if c.min_items)]
    root["properties"] |= {c.key: _collection(c, facts) for c in facts.collections}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://doudi.example/schemas/household.schema.json",
        "title": "Household facts (家庭信息)",
        "description": "One household as a caseworker records it, generated from the base model "
                       "(schemas/base-facts.yaml) and the pack's facts declaration. Unknown fields are rejected so "
                       "that a typo never silently becomes a zero. Amounts are annual yuan, non-negative and at "
                       "most 10^12. Every text, list and table is bounded (maxLength, maxItems, maxProperties) so "
                       "that one record cannot fill the database.",
        "type": "object",
        "additionalProperties": False,
        "required": root["required"],
        "properties": root["properties"],
    }


_SYMBOL_TYPES = {"money": "money", "number": "number", "int": "int", "bool": "bool", "date": "date",
                 "text": "str", "enum": "str", "code": "str", "member": "str", "money_by_member": "map"}


def symbols(facts: Facts) -> dict[tuple[str, str], Symbol]:
    """The household facts a rule can read, keyed by (scope, dotted name), the ``as_of`` date, and each
    collection keyed by ("collection", expression name), its ``scope`` that of its items."""
    out: dict[tuple[str, str], Symbol] = {}

    def walk(fields: tuple[FactField, ...], scope: str, optional: bool) -> None:
        for f in fields:
            if f.type == "object":
                walk(f.fields, scope, optional or not f.required)
                continue
            t = _SYMBOL_TYPES[f.type]
            if t == "map":
                out[(scope, f.path)] = Symbol(f.path, "fact", scope, "map", item_type="money")
                continue
            nullable = f.nullable or (not f.has_default and (optional or not f.required))
            out[(scope, f.path)] = Symbol(f.path, "fact", scope, t, nullable, f.default)

    walk(facts.household, "household", False)
    for c in facts.collections:
        walk(c.fields, c.scope, False)
        out[("collection", c.name)] = Symbol(c.name, "collection", c.scope, "list")
    out[("household", "as_of")] = Symbol("as_of", "input", "household", "date")
    return out
