"""Cross-document checks of a rule pack: names, jurisdictions, and constraints on every date."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

from .amounts import format_amount
from .errors import Problem
from .jurisdictions import ParameterIndex
from .model import DatedValue, RulePack


def check_pack(pack: RulePack) -> list[Problem]:
    """Every inconsistency between the documents of ``pack`` (names, levels, bounds, dates)."""
    found = _check_jurisdictions(pack) + _check_values(pack) + _check_bounds(pack)
    if not found:  # constraints across time need consistent values to be meaningful
        found = check_constraints(pack)
    return found


_LEVEL_ZH = {"province": "省级", "city": "市级", "county": "县级"}


def _check_bounds(pack: RulePack) -> list[Problem]:
    found = []
    for p in pack.parameters.values():
        for b in p.at_least:
            if b.parameter not in pack.parameters:
                found.append(Problem(
                    f"parameter '{p.name}': at_least names unknown parameter '{b.parameter}'"
                    f"{_did_you_mean(b.parameter, pack.parameters)}",
                    f"参数 '{p.name}' 的下限引用了未定义的参数 '{b.parameter}'", file=p.file, line=p.line,
                    path=f"parameters.{p.name}.at_least"))
    return found


def _did_you_mean(name: str, known: Any) -> str:
    hint = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean '{hint[0]}'?" if hint else ""


def _check_jurisdictions(pack: RulePack) -> list[Problem]:
    found = []
    js = pack.jurisdictions
    if pack.root not in js or js[pack.root].level != "province":
        found.append(Problem(f"the pack's root {pack.root} is not a province of the jurisdiction tree",
                             f"根行政区划 {pack.root} 不在行政区划表中或不是省级", path="root"))
    for j in js.values():
        if j.level == "province" and j.parent is not None:
            found.append(Problem(f"province {j.code} cannot have a parent", path=f"jurisdictions.{j.code}"))
        if j.level != "province":
            expected = "province" if j.level == "city" else "city"
            parent = js.get(j.parent) if j.parent else None
            if parent is None or parent.level != expected:
                found.append(Problem(f"{j.code} {j.name}: a {j.level} needs a {expected} as parent "
                                     f"(found {j.parent!r})", path=f"jurisdictions.{j.code}"))
    return found


def _check_values(pack: RulePack) -> list[Problem]:
    found = []
    for v in pack.values:
        where: dict[str, Any] = {"file": v.file, "line": v.line, "path": f"values.{v.parameter}"}
        param = pack.parameters.get(v.parameter)
        if param is None:
            found.append(Problem(
                f"unknown parameter '{v.parameter}'{_did_you_mean(v.parameter, pack.parameters)}",
                f"未定义的参数 '{v.parameter}'", **where))
            continue
        j = pack.jurisdictions.get(v.jurisdiction)
        if j is None:  # reported once per file by load.build_pack
            continue
        if j.level not in param.set_by:
            found.append(Problem(
                f"{v.parameter} can only be set by {', '.join(param.set_by)}, not by {j.code} {j.name} ({j.level})",
                f"{v.parameter} 只能由{'、'.join(_LEVEL_ZH[x] for x in param.set_by)}设定，{j.name}不能设定", **where))
        if v.inherit and j.parent is None:
            found.append(Problem(f"{v.parameter}: the root jurisdiction has nothing to inherit from",
                                 f"{v.parameter}：省级没有上级可以继承", **where))
        if v.value is not None:
            if param.minimum is not None and v.value < param.minimum:
                found.append(Problem(f"{v.parameter} = {format_amount(v.value)} is below its minimum "
                                     f"{param.minimum}", f"{v.parameter} 取值低于下限 {param.minimum}", **where))
            if param.maximum is not None and v.value > param.maximum:
                found.append(Problem(f"{v.parameter} = {format_amount(v.value)} is above its maximum "
                                     f"{param.maximum}", f"{v.parameter} 取值高于上限 {param.maximum}", **where))
    return found


def check_constraints(pack: RulePack, codes: list[str] | None = None) -> list[Problem]:
    """Every date on which a jurisdiction's own value breaks an ``at_least`` bound of its parameter."""
    index = ParameterIndex(pack)
    found = []
    for param in pack.parameters.values():
        for bound in param.at_least:
            for code in codes or sorted(pack.jurisdictions):
                found.extend(_check_bound(pack, index, param.name, bound, code))
    return found


def _check_bound(pack: RulePack, index: ParameterIndex, name: str, bound: Any, code: str) -> list[Problem]:
    j = pack.jurisdictions[code]
    if bound.of == "root" and code == pack.root:
        return []
    bound_at = {"root": pack.root, "parent": j.parent, "self": code}[bound.of]
    if bound_at is None:
        return []
    dates = sorted(set(index.change_dates(name, pack.chain(code)))
                   | set(index.change_dates(bound.parameter, pack.chain(bound_at))))
    found = []
    for i, start in enumerate(dates):
        own = index.resolve(name, code, start)
        limit = index.resolve(bound.parameter, bound_at, start)
        if own is None or limit is None or own.jurisdiction != code or own.value >= limit.value:
            continue
        end = dates[i + 1] - dt.timedelta(days=1) if i + 1 < len(dates) else None
        entry = _entry(pack, name, code, own.effective)
        span = f"{start.isoformat()} – {end.isoformat() if end else 'onwards'}"
        span_zh = f"{start.isoformat()} 至 {end.isoformat() if end else '今后'}"
        whose = pack.jurisdictions[limit.jurisdiction]
        found.append(Problem(
            f"{code} {j.name}: {name} {format_amount(own.value)} from {span} is below "
            f"{bound.parameter} {format_amount(limit.value)} of {whose.code} {whose.name} ({bound.reference})",
            f"{code} {j.name}：{span_zh} 的{_label(pack, name)}为 {format_amount(own.value)}，低于{whose.name}的"
            f"{_label(pack, bound.parameter)} {format_amount(limit.value)}（{bound.reference}）",
            file=entry.file if entry else None, line=entry.line if entry else None, path=f"values.{name}",
            details={"jurisdiction": code, "parameter": name, "start": start.isoformat(),
                     "end": end.isoformat() if end else None, "value": format_amount(own.value),
                     "bound": format_amount(limit.value), "bound_parameter": bound.parameter,
                     "reference": bound.reference}))
    return found


def _entry(pack: RulePack, name: str, code: str, start: dt.date) -> DatedValue | None:
    for v in pack.values:
        if v.parameter == name and v.jurisdiction == code and v.start == start:
            return v
    return None


def _label(pack: RulePack, name: str) -> str:
    param = pack.parameters.get(name)
    return f"{param.label.zh}（{name}）" if param else name
