"""Cross-document checks of a rule pack: names, jurisdictions, and constraints on every date."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

from .amounts import Fraction, format_amount
from .errors import Problem
from .jurisdictions import ParameterIndex
from .model import Bound, DatedValue, Parameter, RulePack
from .values import convert_value


def check_pack(pack: RulePack) -> list[Problem]:
    """Every inconsistency between the documents of ``pack`` (names, levels, bounds, limits on every date)."""
    tree = _check_jurisdictions(pack)
    found = tree + _check_values(pack) + _check_bounds(pack)
    if not tree:  # limits across time walk the jurisdiction tree; every breach is reported at once
        found += check_constraints(pack)
    return found


_LEVEL_ZH = {"province": "省级", "city": "市级", "county": "县级"}


_NUMERIC = ("money", "number", "int")
_KINDS = {"at_least": ">=", "at_most": "<="}


def _check_bounds(pack: RulePack) -> list[Problem]:
    """Declarations whose limits cannot be checked: an unknown parameter, a constant or ``fixed`` value of
    the wrong type, a bound on a type that has no order (the limits themselves are checked below)."""
    found = []
    for p in pack.parameters.values():
        where: dict[str, Any] = {"file": p.file, "line": p.line}
        for kind in _KINDS:
            for b in getattr(p, kind):
                error = _bound_error(pack, p, b)
                if error:
                    found.append(Problem(f"parameter '{p.name}': {kind} {error[0]}",
                                         f"参数 '{p.name}' 的{'下限' if kind == 'at_least' else '上限'}{error[1]}",
                                         path=f"parameters.{p.name}.{kind}", **where))
        if p.fixed is not None:
            try:
                convert_value(p.type, p.fixed)
            except ValueError as exc:
                found.append(Problem(f"parameter '{p.name}': fixed {exc}", f"参数 '{p.name}' 的固定值类型错误（{exc}）",
                                     path=f"parameters.{p.name}.fixed", **where))
    return found


def _bound_error(pack: RulePack, p: Parameter, b: Bound) -> tuple[str, str] | None:
    ordered = _NUMERIC + ("date", "map")
    if p.type not in ordered:
        return f"does not apply to {p.type} values", f"不适用于 {p.type} 类型"
    if b.times is not None and p.type == "date":
        return "times: a date cannot be multiplied", "的倍数（times）不适用于日期"
    if b.times is not None and not (isinstance(b.times, int | Fraction) and b.times > 0):
        return f"times: expected a number above 0, got {b.times!r}", f"的倍数（times）应为大于 0 的数（{b.times!r}）"
    if b.parameter is None:
        try:
            _constant(p, b)
        except ValueError as exc:
            return f"value: {exc}", f"常量类型错误（{exc}）"
        return None
    other = pack.parameters.get(b.parameter)
    if other is None:
        return (f"names unknown parameter '{b.parameter}'{_did_you_mean(b.parameter, pack.parameters)}",
                f"引用了未定义的参数 '{b.parameter}'")
    if _family(other.type) != _family(p.type) and not (p.type == "map" and other.type in _NUMERIC):
        return (f"compares {p.type} with '{b.parameter}' ({other.type})",
                f"不能与参数 '{b.parameter}'（{other.type}）比较")
    return None


def _family(type_: str) -> str:
    return "number" if type_ in _NUMERIC else type_


def _constant(p: Parameter, b: Bound) -> Any:
    """A constant bound as the engine compares it: a date for a date parameter, else an exact number."""
    return convert_value("date" if p.type == "date" else "number", b.value)


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
        said = f"{param.label.en}, from {v.start.isoformat()} ({param.reference})"
        said_zh = f"{v.start.isoformat()} 起的{_label(pack, v.parameter)}（{param.reference}）"
        if j.level not in param.set_by:
            found.append(Problem(
                f"{v.parameter} can only be set by {', '.join(param.set_by)}, not by {j.code} {j.name} ({j.level}): "
                f"{said}",
                f"{v.parameter} 只能由{'、'.join(_LEVEL_ZH[x] for x in param.set_by)}设定，{j.code} {j.name}不能设定"
                f"{said_zh}", **where))
        if v.inherit and j.parent is None:
            found.append(Problem(f"{v.parameter}: the root jurisdiction has nothing to inherit from",
                                 f"{v.parameter}：省级没有上级可以继承", **where))
        if v.value is not None:
            if param.minimum is not None and v.value < param.minimum:
                found.append(Problem(f"{v.parameter} = {format_amount(v.value)} is below its minimum "
                                     f"{param.minimum}: {j.code} {j.name}, {said}",
                                     f"{j.code} {j.name}：{said_zh}为 {format_amount(v.value)}，低于下限 "
                                     f"{param.minimum}", **where))
            if param.maximum is not None and v.value > param.maximum:
                found.append(Problem(f"{v.parameter} = {format_amount(v.value)} is above its maximum "
                                     f"{param.maximum}: {j.code} {j.name}, {said}",
                                     f"{j.code} {j.name}：{said_zh}为 {format_amount(v.value)}，高于上限 "
                                     f"{param.maximum}", **where))
    return found


def check_constraints(pack: RulePack, codes: list[str] | None = None) -> list[Problem]:
    """Every date on which a jurisdiction's own value breaks a declared limit of its parameter: ``fixed``,
    ``at_least`` or ``at_most`` a constant or another parameter's value (of root, parent or self)."""
    index = ParameterIndex(pack)
    found = []
    for param in pack.parameters.values():
        limits = [(op, b) for kind, op in _KINDS.items() for b in getattr(param, kind)
                  if _bound_error(pack, param, b) is None]
        if param.fixed is not None and _fixed_ok(param):
            limits.append(("==", Bound(None, "self", param.reference, param.fixed)))
        for op, bound in limits:
            for code in codes or sorted(pack.jurisdictions):
                found.extend(_check_bound(pack, index, param, op, bound, code))
    return found


def _fixed_ok(param: Parameter) -> bool:
    try:
        convert_value(param.type, param.fixed)
    except ValueError:
        return False
    return True


def _check_bound(pack: RulePack, index: ParameterIndex, param: Parameter, op: str, bound: Bound,
                 code: str) -> list[Problem]:
    j = pack.jurisdictions[code]
    name = param.name
    own_dates = index.change_dates(name, [code])
    if not own_dates or (bound.levels is not None and j.level not in bound.levels):
        return []
    bound_at = {"root": pack.root, "parent": j.parent, "self": code}[bound.of]
    other: tuple[str, str] | None = None  # the bound's parameter and where it is resolved
    if bound.parameter is None:
        constant = convert_value(param.type, bound.value) if op == "==" else _constant(param, bound)
        dates = own_dates
    elif bound_at is None:  # of: parent, at the root
        return []
    else:
        other = (bound.parameter, bound_at)
        dates = sorted(set(index.change_dates(name, pack.chain(code)))
                       | set(index.change_dates(bound.parameter, pack.chain(bound_at))))
    found = []
    for i, start in enumerate(dates):
        own = index.resolve(name, code, start)
        if own is None or own.jurisdiction != code:
            continue
        if other is None:
            limit, whose = constant, None
        else:
            resolved = index.resolve(*other, start)
            if resolved is None:
                continue
            limit, whose = bound.applied(resolved.value), pack.jurisdictions[resolved.jurisdiction]
        end = dates[i + 1] - dt.timedelta(days=1) if i + 1 < len(dates) else None
        for key, value, bound_value in _breaches(op, own.value, limit):
            found.append(_breach(pack, param, op, bound, j, key, value, bound_value, whose, start, end,
                                 _entry(pack, name, code, own.effective)))
    return found


def _breaches(op: str, value: Any, limit: Any) -> list[tuple[str | None, Any, Any]]:
    """Each (key, value, limit) that breaks ``value op limit``; tables are compared entry by entry."""
    if op == "==":
        return [] if value == limit else [(None, value, limit)]
    if isinstance(value, dict):
        keys = list(limit) if isinstance(limit, dict) else list(value)
        out = []
        for key in keys:
            bound_value = limit[key] if isinstance(limit, dict) else limit
            if key not in value or not _holds(op, value[key], bound_value):
                out.append((key, value.get(key), bound_value))
        return out
    return [] if _holds(op, value, limit) else [(None, value, limit)]


def _holds(op: str, value: Any, limit: Any) -> bool:
    return bool(value >= limit) if op == ">=" else bool(value <= limit)


_WORDS = {(">=", False): ("is below", "低于"), ("<=", False): ("is above", "高于"),
          (">=", True): ("is earlier than", "早于"), ("<=", True): ("is later than", "晚于"),
          ("==", False): ("must be", "应为"), ("==", True): ("must be", "应为")}


def _breach(pack: RulePack, param: Parameter, op: str, bound: Bound, j: Any, key: str | None, value: Any,
            limit: Any, whose: Any, start: dt.date, end: dt.date | None, entry: DatedValue | None) -> Problem:
    """One breach, naming the jurisdiction, the parameter and its label, the value, the limit, the dates and
    the clause, in English and Chinese; ``details`` carries the same as data for the API and the editor."""
    name = param.name + (f"[{key}]" if key is not None else "")
    shown, limit_shown = _shown(value), _shown(limit)
    word, word_zh = _WORDS[(op, param.type == "date")]
    span = f"{start.isoformat()} – {end.isoformat() if end else 'onwards'}"
    span_zh = f"{start.isoformat()} 至 {end.isoformat() if end else '今后'}"
    if bound.parameter is None:
        limit_en, limit_zh = limit_shown, f" {limit_shown}"
    else:
        keyed = key is not None and pack.parameters[bound.parameter].type == "map"
        other = bound.parameter + (f"[{key}]" if keyed else "")
        limit_en = f"{other} {limit_shown} of {whose.code} {whose.name}"
        limit_zh = f"{whose.name}的{pack.parameters[bound.parameter].label.zh}（{other}） {limit_shown}"
        if bound.times is not None:  # 1.3 × the standard: the standard, the multiplier and the product
            base, times = _shown(limit / bound.times), _shown(bound.times)
            limit_en = f"{times} × {other} {base} of {whose.code} {whose.name} = {limit_shown}"
            limit_zh = (f"{whose.name}的{pack.parameters[bound.parameter].label.zh}（{other}） {base} × {times}"
                        f" = {limit_shown}")
    label_zh = f"{param.label.zh}（{name}）"
    if op == "==":
        message = (f"{j.code} {j.name}, {param.label.en}: {name} {word} {limit_shown}, "
                   f"not {shown}, from {span} ({bound.reference})")
        message_zh = (f"{j.code} {j.name}：{span_zh} 的{label_zh}为 {shown}，{word_zh} {limit_shown}"
                      f"（{bound.reference}）")
    else:
        message = (f"{j.code} {j.name}, {param.label.en}: {name} {shown} from {span} {word} {limit_en} "
                   f"({bound.reference})")
        message_zh = f"{j.code} {j.name}：{span_zh} 的{label_zh}为 {shown}，{word_zh}{limit_zh}（{bound.reference}）"
    details = {"jurisdiction": j.code, "parameter": param.name, "start": start.isoformat(),
               "end": end.isoformat() if end else None, "value": shown, "bound": limit_shown,
               "bound_parameter": bound.parameter, "reference": bound.reference,
               "limit": {">=": "at_least", "<=": "at_most", "==": "fixed"}[op]}
    if bound.times is not None:
        details["times"] = _shown(bound.times)
    if key is not None:
        details["key"] = key
    return Problem(message, message_zh, file=entry.file if entry else None, line=entry.line if entry else None,
                   path=f"values.{param.name}", details=details)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, tuple | list):
        return ", ".join(_shown(v) for v in value)
    return format_amount(value)


def _entry(pack: RulePack, name: str, code: str, start: dt.date) -> DatedValue | None:
    for v in pack.values:
        if v.parameter == name and v.jurisdiction == code and v.start == start:
            return v
    return None


def _label(pack: RulePack, name: str) -> str:
    param = pack.parameters.get(name)
    return f"{param.label.zh}（{name}）" if param else name


def check_warnings(pack: RulePack) -> list[Problem]:
    """Values that are allowed but look mistyped: more than twice, or less than half, the value in force the
    day before they start (a pasted 39603900 for 3960); tables entry by entry. Never a refusal."""
    index = ParameterIndex(pack)
    found = []
    for v in pack.values:
        param = pack.parameters.get(v.parameter)
        j = pack.jurisdictions.get(v.jurisdiction)
        if param is None or j is None or v.value is None or param.type not in _NUMERIC + ("map",):
            continue
        before = index.resolve(v.parameter, v.jurisdiction, v.start - dt.timedelta(days=1))
        if before is None:
            continue
        pairs = ([(k, x, before.value.get(k)) for k, x in v.value.items()] if isinstance(v.value, dict)
                 else [(None, v.value, before.value)])
        for key, new, old in pairs:
            if old is None or old <= 0 or old / 2 <= new <= old * 2:
                continue
            name = v.parameter + (f"[{key}]" if key is not None else "")
            word, word_zh = ("more than twice", "超过") if new > old else ("less than half", "不到")
            times_zh = "的两倍" if new > old else "的一半"
            found.append(Problem(  # named like a breach, so that the editor and the API show both alike
                f"{j.code} {j.name}, {param.label.en}: {name} {_shown(new)} from {v.start.isoformat()} is {word} "
                f"the value in force before it, {_shown(old)}; check it is not a typo ({param.reference})",
                f"{j.code} {j.name}：{v.start.isoformat()} 起的{param.label.zh}（{name}）为 {_shown(new)}，"
                f"{word_zh}此前取值 {_shown(old)} {times_zh}，请确认不是录入错误（{param.reference}）",
                file=v.file, line=v.line, path=f"values.{v.parameter}",
                details={"jurisdiction": j.code, "parameter": v.parameter, "start": v.start.isoformat(),
                         "value": _shown(new), "previous": _shown(old), "warning": "jump"}
                | ({"key": key} if key is not None else {})))
    return found
