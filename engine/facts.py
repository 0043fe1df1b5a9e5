"""Household facts: validated against the pack's household schema and the pack, then flattened.

A typo must never become a zero: unknown fields, negative amounts, duplicate member ids, rows or tables
naming unknown members, undeclared codes, counties outside the pack all raise :class:`HouseholdError`,
each problem naming the field by its path (``members[1].age``). What is checked comes from the pack's
fact declarations (``pack.facts``, engine/factsdecl.py): no field is named here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from . import codes, schemas
from .amounts import exact
from .errors import HouseholdError, Problem
from .expressions import Symbol
from .factsdecl import FactField, Facts
from .model import RulePack


def check(pack: RulePack, data: Any) -> None:
    """Raise HouseholdError with every problem of ``data``, each naming its field."""
    if not isinstance(data, dict):
        raise HouseholdError("a household must be a JSON object",
                             [Problem("expected a JSON object", "应为 JSON 对象", path="(household)")],
                             message_zh="家庭信息必须是 JSON 对象")
    declared = pack.facts
    valid = schemas.valid(declared.fast, data)
    if not valid or not _dates_valid(declared, data):
        found, headline = schemas.problems_of(declared.validator, data)
        if found:
            raise HouseholdError(f"invalid household: {headline}", found, message_zh="家庭信息有误")
    found = []
    if not valid:  # NaN and infinities pass JSON Schema's number type (jsonschema's), not the fast check
        found = [Problem(f"{value!r} is not a finite number", f"{value!r} 不是有效数字", path=path)
                 for path, value in _non_finite(data, "")]
    members = declared.members.key
    ids: dict[str, int] = {}
    for i, m in enumerate(data.get(members) or []):
        if m.get("id") in ids:
            found.append(Problem(f"duplicate member id {m['id']!r} (also {members}[{ids[m['id']]}])",
                                 f"成员编号 {m['id']!r} 重复", path=f"{members}[{i}].id"))
        ids.setdefault(m.get("id"), i)
    found += _member_problems(declared, data, ids)
    found += codes.household_problems(pack, data)
    county = pack.jurisdictions.get(data["county"])
    if county is None or county.level != "county":
        what = "not a county-level division" if county else "unknown"
        found.append(Problem(f"county {data['county']!r} is {what} in rule pack {pack.id}",
                             f"县级行政区划代码 {data['county']!r} 不在规则包 {pack.id} 中", path="county"))
    if found:
        raise HouseholdError(f"invalid household: {found[0]}", found, message_zh="家庭信息有误")


Fields = dict[str, list[tuple[str, tuple[str, ...], Symbol]]]


def fact_fields(symbols: dict[tuple[str, str], Symbol]) -> Fields:
    """The fact symbols of each scope with their paths (worked out once per pack)."""
    fields: Fields = {"household": []}
    for (scope, name), sym in symbols.items():
        if sym.kind == "fact":
            fields.setdefault(scope, []).append((name, tuple(name.split(".")), sym))
    return fields


Flattener = Callable[..., dict[str, Any]]  # (checked object[, base]) -> values


def flatteners(fields: Fields, defaults: dict[str, dict[str, Any]]) -> dict[str, Flattener]:
    """For each scope, a function that flattens a checked household (or entity) into its values:
    a copy of ``base`` (default: the ``defaults`` of the scope's rule variables) and the facts."""
    return {scope: _flattener(scope, scope_fields, defaults.get(scope, {})) for scope, scope_fields in fields.items()}


def flatten(by_scope: dict[str, Flattener], data: dict[str, Any], base: dict[str, Any],
            table: tuple[tuple[str, str, str], ...]) -> dict[str, Any]:
    """The values of a checked household: ``base`` (rule variables at their defaults, parameters), its facts,
    and the items of each collection of ``table`` (json key, scope, expression name; ``Facts.table``)
    each as values of their own, under the collection's expression name."""
    values = by_scope["household"](data, base)
    for key, scope, name in table:
        items = data.get(key)
        values[name] = [by_scope[scope](item) for item in items] if items else []
    return values


def _flattener(scope: str, fields: list[tuple[str, tuple[str, ...], Symbol]],
               variables: dict[str, Any]) -> Flattener:
    """A copy of a base (by default the rule ``variables`` at their defaults), then the values of ``fields``
    read from a checked object: amounts exact, dates as dates, defaults filled in.

    Generated once per scope, unrolled over the fields (it runs for every household and entity);
    names appear in it only as string literals (``repr``), defaults as bound constants. Defaults
    are numbers, text, dates, true/false or None (load converts them): a shallow copy suffices.
    """
    lines = ["def flatten(d, base=VARIABLES):", "    out = base.copy()"]
    namespace: dict[str, Any] = {"exact": exact, "date": dt.date.fromisoformat, "VARIABLES": dict(variables)}
    parents: dict[str, str] = {}  # an object holding several fields (income) is looked up once
    for i, (name, parts, sym) in enumerate(fields):
        if len(parts) > 1:
            if parts[0] not in parents:
                parents[parts[0]] = f"p{len(parents)}"
                lines.append(f"    {parents[parts[0]]} = d.get({parts[0]!r})")
            parent = parents[parts[0]]
            lines.append(f"    raw = {parent}.get({parts[1]!r}) if {parent} is not None else None")
        else:
            lines.append(f"    raw = d.get({parts[0]!r})")
        if sym.default is not None:
            namespace[f"default{i}"] = sym.default
            lines.append(f"    if raw is None: raw = default{i}")
        t = sym.type
        if t == "money":
            value = "(raw if raw.__class__ is int else exact(raw)) if raw is not None else 0"
        elif t == "date":
            value = "date(raw) if raw else None"
        elif t == "int":
            value = "int(raw) if raw.__class__ is float else raw"
        elif t == "map":
            value = "{k: exact(v) for k, v in (raw or {}).items()}"
        else:
            value = "raw"
        lines.append(f"    out[{name!r}] = {value}")
    lines.append("    return out")
    exec(compile("\n".join(lines) + "\n", f"<flatten {scope}>", "exec"), namespace)  # noqa: S102 - our own text
    flatten: Flattener = namespace["flatten"]
    return flatten


def _values(data: dict[str, Any], declared: Facts, kinds: tuple[str, ...]) -> list[tuple[str, Any, FactField]]:
    """The values of the declared fields of ``kinds`` in a household, each with its path and field."""
    out = []

    def at(obj: Any, f: FactField, prefix: str) -> None:
        node = obj
        for part in f.path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            out.append((prefix + f.path, node, f))

    for f in declared.leaves():
        if f.type in kinds:
            at(data, f, "")
    for c in declared.collections:
        wanted = [f for f in c.leaves() if f.type in kinds]
        for i, item in enumerate(data.get(c.key) or [] if wanted else []):
            for f in wanted:
                at(item, f, f"{c.key}[{i}].")
    return out


def _member_problems(declared: Facts, data: dict[str, Any], ids: dict[str, int]) -> list[Problem]:
    """Fields of type member and tables of money_by_member must name members of the household."""
    found = []
    known = ", ".join(map(str, ids))
    for path, value, f in _values(data, declared, ("member", "money_by_member")):
        if f.type == "member" and value not in ids:
            found.append(Problem(f"{f.label.en}: unknown member {value!r} (members: {known})",
                                 f"{f.label.zh}：成员 {value!r} 不在家庭成员中", path=path))
        elif f.type == "money_by_member":
            found += [Problem(f"{f.label.en}: unknown member {mid!r} (members: {known})",
                              f"{f.label.zh}：成员 {mid!r} 不在家庭成员中", path=f"{path}.{mid}")
                      for mid in value if mid not in ids]
    return found


def _dates_valid(declared: Facts, data: dict[str, Any]) -> bool:
    try:
        for _path, value, _f in _values(data, declared, ("date",)):
            dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def _non_finite(node: Any, path: str) -> list[tuple[str, Any]]:
    """NaN and infinities pass JSON Schema's number type but are not amounts."""
    if isinstance(node, float):
        return [] if math.isfinite(node) else [(path, node)]
    if isinstance(node, dict):
        return [hit for k, v in node.items() for hit in _non_finite(v, f"{path}.{k}" if path else k)]
    if isinstance(node, list):
        return [hit for i, v in enumerate(node) for hit in _non_finite(v, f"{path}[{i}]")]
    return []
