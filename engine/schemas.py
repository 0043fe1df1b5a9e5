"""The JSON Schemas of ``schemas/``: the single source of truth for document and fact shapes."""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .errors import Problem, quoted

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
DOCUMENT_KINDS = ("pack", "facts", "jurisdictions", "parameters", "values", "rules", "tests")


@cache
def schema(name: str) -> dict[str, Any]:
    """A schema by name, e.g. ``household`` for ``schemas/household.schema.json``."""
    with open(SCHEMA_DIR / f"{name}.schema.json", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
        return data


def compile_validator(data: dict[str, Any]) -> Draft202012Validator:
    """A compiled draft 2020-12 validator of a schema with date-format checking (explains a no)."""
    return Draft202012Validator(data, format_checker=Draft202012Validator.FORMAT_CHECKER)


def compile_fast(data: dict[str, Any]) -> Any:
    """A quick yes/no validator of a schema, for ``valid``."""
    # jsonschema-rs (compiled Rust) answers yes/no about 10× quicker than fastjsonschema and 100× quicker
    # than jsonschema, which stays the one that explains a no (``problems``) with readable paths.
    # Formats (dates) are checked like jsonschema's FORMAT_CHECKER does; it refuses NaN and infinities
    # outright, which the household checks refuse too (by name).
    return jsonschema_rs.Draft202012Validator(data, validate_formats=True)


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator of a schema of ``schemas/`` by name."""
    return compile_validator(schema(name))


@cache
def _fast(name: str) -> Any:
    return compile_fast(schema(name))


def valid(fast: Any, instance: Any) -> bool:
    """A fast yes/no of a ``compile_fast`` validator (no also for values JSON cannot hold, e.g. a date)."""
    try:
        return bool(fast.is_valid(instance))
    except (ValueError, TypeError, OverflowError):
        return False


def is_valid(name: str, instance: Any) -> bool:
    """A fast yes/no; ``problems`` explains a no (also for values JSON cannot hold, such as a date object)."""
    return valid(_fast(name), instance)


def json_path(error: ValidationError) -> str:
    """A readable path such as ``members[1].age``."""
    out = ""
    for step in error.absolute_path:
        step = step if isinstance(step, int) or len(step) <= 40 else step[:39] + "…"
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def describe(error: ValidationError) -> tuple[str, str]:
    """An English and a Chinese message for one schema error, naming the offending key.

    The messages quote the offending value cut short (``quoted``): jsonschema's own messages print it
    whole, e.g. a 10,000-member list or a 50 MB name.
    """
    v, bound, value = error.validator, error.validator_value, quoted(error.instance)
    if v == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        names = ", ".join(quoted(e, 40) for e in extra[:5]) + (f" (+{len(extra) - 5})" if len(extra) > 5 else "")
        near = difflib.get_close_matches(extra[0][:100], list(error.schema.get("properties", {})), n=1) \
            if extra and isinstance(extra[0], str) else []
        hint_en, hint_zh = (f"; did you mean '{near[0]}'?", f"；是否应为“{near[0]}”？") if near else ("", "")
        return (f"unknown field {names}{hint_en}" + (f" (allowed: {allowed})" if allowed else ""),
                f"未知字段 {names}{hint_zh}" + (f"（允许的字段：{allowed}）" if allowed else ""))
    if v == "required":
        missing = [r for r in bound if r not in error.instance]
        return (f"missing required field {', '.join(map(repr, missing))}",
                f"缺少必填字段 {', '.join(map(repr, missing))}")
    if v == "format" and bound == "date":
        return (f"{value} is not a valid date; write YYYY-MM-DD, e.g. 2018-01-01",
                f"{value} 不是有效日期，请写成 YYYY-MM-DD，例如 2018-01-01")
    size = len(error.instance) if isinstance(error.instance, list | dict | str) else 0
    simple = {  # built lazily: the bound is a number for some, a list or a pattern for others
        "minimum": lambda: (f"{value} is below the minimum {bound}", f"{value} 小于最小值 {bound}"),
        "maximum": lambda: (f"{value} is above the maximum {bound}", f"{value} 大于最大值 {bound}"),
        "exclusiveMinimum": lambda: (f"{value} must be above {bound}", f"{value} 应大于 {bound}"),
        "exclusiveMaximum": lambda: (f"{value} must be below {bound}", f"{value} 应小于 {bound}"),
        "type": lambda: (f"{value} is not of type {bound}", f"{value} 的类型应为 {bound}"),
        "maxLength": lambda: (f"{value} is longer than {bound} characters ({size:,})",
                              f"{value} 超过 {bound} 个字符（{size:,}）"),
        "minLength": lambda: (f"{value} is shorter than {bound} character(s)", f"{value} 少于 {bound} 个字符"),
        "pattern": lambda: (f"{value} does not match {bound}", f"{value} 的格式不符合 {bound}"),
        "maxItems": lambda: (f"{size:,} items; at most {bound}", f"共 {size:,} 项，最多 {bound} 项"),
        "minItems": lambda: (f"at least {bound} item(s) needed", f"至少需要 {bound} 项"),
        "maxProperties": lambda: (f"{size:,} entries; at most {bound}", f"共 {size:,} 项，最多 {bound} 项"),
        "minProperties": lambda: (f"at least {bound} entries needed", f"至少需要 {bound} 项"),
        "const": lambda: (f"{value} must be {quoted(bound)}", f"{value} 应为 {quoted(bound)}"),
        "uniqueItems": lambda: ("the items must differ", "各项不能重复"),
        "multipleOf": lambda: (f"{value} is not a multiple of {bound}", f"{value} 不是 {bound} 的整数倍"),
    }
    if v in simple:
        return simple[v]()
    if v == "enum":
        allowed = ", ".join(repr(x) for x in bound)
        return (f"{value} is not one of {allowed}", f"{value} 不是允许的取值（{allowed}）")
    if v == "propertyNames" and error.context:
        inner = best_match(error.context)
        en, zh = describe(inner)
        return f"key {en}", f"键名 {zh}"
    if v in ("oneOf", "anyOf"):
        return (f"{value} matches none of the allowed forms", f"{value} 不符合任何允许的格式")
    return f"{value} is invalid ({v})", f"{value} 无效（{v}）"


def problems(name: str, instance: Any, file: str | None = None,
             line_of: Any = None) -> tuple[list[Problem], str]:
    """Every schema error of ``instance`` as located problems, and a one-line headline."""
    return problems_of(validator(name), instance, file, line_of)


def problems_of(checker: Draft202012Validator, instance: Any, file: str | None = None,
                line_of: Any = None) -> tuple[list[Problem], str]:
    """``problems`` for a compiled validator (``compile_validator``)."""
    errors = list(checker.iter_errors(instance))
    if not errors:
        return [], ""
    out = []
    for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        en, zh = describe(e)
        base = json_path(e)
        paths = [[*e.absolute_path]]
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            # one problem per unknown key, at the key itself: the field a person has to fix
            extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
            paths = [[*e.absolute_path, k] for k in extra[:20]]  # the first 20 of 10,000 say enough
        for steps in paths:
            key = str(steps[-1])[:40] if steps else ""  # a key may be a megabyte long
            path = base if steps == list(e.absolute_path) else (f"{base}.{key}" if base else key)
            out.append(Problem(en, zh, file=file, path=path or "(document)",
                               line=line_of(steps) if line_of else None))
    head = best_match(errors)
    first = next((p for p in out if p.path and p.path.startswith(json_path(head))), out[0])
    return out, (f"{first.path}: {first.message}" if first.path != "(document)" else first.message)
