"""Compare two versions of a rule pack: what changed (``diff_packs``); for whom is ``engine.impact``.

The diff lists every dated parameter value added, removed or changed per jurisdiction and date
(old → new, delta, percent), and every declaration, rule, variable, output and jurisdiction that
differs, and the counties whose evaluations the change can reach (``affected_counties``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from typing import Any

from .amounts import Fraction, json_number
from .decision import dumps, plain
from .evaluate import parameter_index
from .model import DatedValue, Parameter, RulePack, Text

# Fields whose change can alter an evaluation's outputs; labels, titles, references, reasons and
# documents cannot, so a change to them alone leaves every county unaffected.
_RULE_FIELDS = ("when", "set", "title", "reference", "reason", "for_each")
_RULE_OUTCOME = {"when", "set", "for_each"}
_DECLARATION_FIELDS = ("label", "unit", "type", "reference", "minimum", "maximum", "set_by", "at_least",
                       "at_most", "fixed", "description")
_DECLARATION_OUTCOME = {"type"}
_VARIABLE_OUTCOME = {"type", "default"}
_METADATA = ("id", "title", "root", "illustrative", "notice", "documents")


@dataclass(frozen=True)
class ParameterChange:
    """One dated value of a parameter in a jurisdiction added, removed or changed."""

    jurisdiction: str
    jurisdiction_name: str
    parameter: str
    label: Text
    unit: Text
    effective: dt.date
    change: str  # added | removed | changed
    fields: tuple[str, ...]  # value, document, reason
    old: Any  # the entry's value as JSON data, "inherit", or None when added
    new: Any
    in_force_old: Any  # the value each version has in force for the jurisdiction on that date
    in_force_new: Any  # (inherited, or from an earlier entry, where the entry is inherit or missing)
    delta: Any  # in_force_new − in_force_old, 2 decimals half up; None unless both are numbers
    percent: Any  # delta / in_force_old × 100, 2 decimals half up; None when that is 0 or not a number
    document: str | None  # the authorising document of the new entry
    reason: str | None
    old_document: str | None


@dataclass(frozen=True)
class Change:
    """A declaration, rule, variable, output or jurisdiction added, removed or changed."""

    key: str
    change: str  # added | removed | changed
    fields: tuple[str, ...]  # the fields that differ (every field when added or removed)
    old: dict[str, Any] | None  # the old text of those fields
    new: dict[str, Any] | None
    label: Text | None = None


@dataclass(frozen=True)
class PackDiff:
    """Everything that differs between two versions of a pack."""

    old_digest: str
    new_digest: str
    parameters: tuple[ParameterChange, ...]
    declarations: tuple[Change, ...]
    rules: tuple[Change, ...]
    variables: tuple[Change, ...]
    outputs: tuple[Change, ...]
    jurisdictions: tuple[Change, ...]
    metadata: tuple[str, ...]  # pack metadata fields that differ (title, documents, …)
    affected_counties: tuple[str, ...] | None  # None: every county

    @property
    def empty(self) -> bool:
        """True when the two versions evaluate and read alike (policy tests aside)."""
        return not (self.parameters or self.declarations or self.rules or self.variables or self.outputs
                    or self.jurisdictions or self.metadata)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (numbers may be Decimal; ``to_json`` writes them as JSON numbers)."""
        return data(self)

    def to_json(self, indent: int | None = 2) -> str:
        return dumps(self.to_dict(), indent=indent)


def diff_packs(old: RulePack, new: RulePack) -> PackDiff:
    """Every parameter value, declaration, rule, variable, output and jurisdiction that differs."""
    declarations = _changes(old.parameters, new.parameters, _DECLARATION_FIELDS, _declaration_text, lambda p: p.label)
    rules = _changes({r.id: r for r in old.rules}, {r.id: r for r in new.rules}, _RULE_FIELDS, _rule_text,
                     lambda r: r.title)
    variables = _changes({_variable_key(k): v for k, v in old.variables.items()},
                         {_variable_key(k): v for k, v in new.variables.items()},
                         ("scope", "type", "default", "label"),
                         lambda v: {"scope": v.scope, "type": v.type, "default": _shown(v.default),
                                    "label": _text(v.label)}, lambda v: v.label)
    outputs = _changes(old.outputs, new.outputs, ("source",), lambda spec: {"source": spec})
    jurisdictions = _changes(old.jurisdictions, new.jurisdictions, ("name", "level", "parent"),
                             lambda j: {"name": j.name, "level": j.level, "parent": j.parent})
    parameters = _parameter_changes(old, new)
    global_change = (
        any(c.change != "changed" or _DECLARATION_OUTCOME & set(c.fields) for c in declarations)
        or any(c.change != "changed" or _RULE_OUTCOME & set(c.fields) for c in rules)
        or any(c.change != "changed" or _VARIABLE_OUTCOME & set(c.fields) for c in variables)
        or bool(outputs))
    affected = None if global_change else tuple(sorted(_reached(old, new, parameters)))
    metadata = tuple(f for f in _METADATA if getattr(old, f) != getattr(new, f))
    return PackDiff(old.digest, new.digest, parameters, declarations, rules, variables, outputs,
                    jurisdictions, metadata, affected)


def affected_counties(old: RulePack, new: RulePack) -> set[str] | None:
    """The county codes whose evaluations can differ; None when every county's can (logic changed)."""
    reached = diff_packs(old, new).affected_counties
    return None if reached is None else set(reached)


def _reached(old: RulePack, new: RulePack, parameters: tuple[ParameterChange, ...]) -> set[str]:
    """Counties under a jurisdiction whose values changed, or whose place in the tree changed."""
    chains = [{c.code: tuple(p.chain(c.code)) for c in p.counties()} for p in (old, new)]
    out = {code for code in chains[0].keys() | chains[1].keys()
           if chains[0].get(code) != chains[1].get(code)}
    changed = {c.jurisdiction for c in parameters if c.change != "changed" or "value" in c.fields}
    for chain in chains:
        out.update(code for code, up in chain.items() if changed.intersection(up))
    return out


def _parameter_changes(old: RulePack, new: RulePack) -> tuple[ParameterChange, ...]:
    before = {(v.jurisdiction, v.parameter, v.start): v for v in old.values}
    after = {(v.jurisdiction, v.parameter, v.start): v for v in new.values}
    out = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is not None and b is not None:
            changed = tuple(f for f, same in (("value", a.inherit == b.inherit and _same(a.value, b.value)),
                                              ("document", a.document == b.document),
                                              ("reason", a.reason == b.reason)) if not same)
            if not changed:
                continue
        else:
            changed = ("value", "document", "reason")
        code, name, start = key
        param = new.parameters.get(name) or old.parameters[name]
        place = new.jurisdictions.get(code) or old.jurisdictions.get(code)
        was, now = _in_force(old, name, code, start), _in_force(new, name, code, start)
        delta = percent = None
        if _numeric(was) and _numeric(now):
            diff = Fraction(now) - Fraction(was)
            delta = json_number(diff)
            percent = json_number(diff * 100 / Fraction(was)) if was != 0 else None
        out.append(ParameterChange(
            code, place.name if place else "", name, param.label, param.unit, start,
            "added" if a is None else "removed" if b is None else "changed", changed,
            _entry_value(param, a), _entry_value(param, b), _value(param, was), _value(param, now), delta, percent,
            b.document if b else None, b.reason if b else None, a.document if a else None))
    return tuple(out)


def _in_force(pack: RulePack, parameter: str, code: str, on: dt.date) -> Any:
    if code not in pack.jurisdictions or parameter not in pack.parameters:
        return None
    resolved = parameter_index(pack).resolve(parameter, code, on)
    return None if resolved is None else resolved.value


def _same(a: Any, b: Any) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)  # True == 1, but not as a value


def _numeric(value: Any) -> bool:
    return isinstance(value, int | Fraction) and not isinstance(value, bool)


def _entry_value(param: Parameter, entry: DatedValue | None) -> Any:
    if entry is None:
        return None
    return "inherit" if entry.inherit else _value(param, entry.value)


def _value(param: Parameter, value: Any) -> Any:
    if param.type == "bands" and value is not None:
        return [({"upto": _shown(upto)} if upto is not None else {}) | {"rate": _shown(rate)} for upto, rate in value]
    return _shown(value)


def _shown(value: Any) -> Any:
    """A parameter value as JSON-ready data, exact where a decimal can show it."""
    if isinstance(value, Fraction):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return exact if Fraction(exact) == value else plain(value)
    if isinstance(value, dict):
        return {str(k): _shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shown(v) for v in value]
    return plain(value) if isinstance(value, dt.date) else value


def _text(text: Text | None) -> dict[str, str] | None:
    return None if text is None else {"zh": text.zh, "en": text.en}


def _declaration_text(p: Parameter) -> dict[str, Any]:
    return {"label": _text(p.label), "unit": _text(p.unit), "type": p.type, "reference": p.reference,
            "minimum": p.minimum, "maximum": p.maximum, "set_by": list(p.set_by),
            "at_least": [_bound_text(b) for b in p.at_least], "at_most": [_bound_text(b) for b in p.at_most],
            "fixed": p.fixed,
            "description": _text(p.description)}


def _bound_text(b: Any) -> dict[str, Any]:
    out = {"parameter": b.parameter, "of": b.of, "reference": b.reference} if b.parameter else \
        {"value": b.value, "reference": b.reference}
    return out | ({"levels": list(b.levels)} if b.levels else {}) | ({"times": str(b.times)} if b.times else {})


def _rule_text(r: Any) -> dict[str, Any]:
    return {"when": r.when, "set": dict(r.assignments), "title": _text(r.title), "reference": r.reference,
            "reason": _text(r.reason), "for_each": r.scope}


def _variable_key(key: tuple[str, str]) -> str:
    scope, name = key
    return name if scope == "household" else f"{scope}.{name}"


def _changes(before: dict[str, Any], after: dict[str, Any], names: tuple[str, ...], text: Any,
             label: Any = None) -> tuple[Change, ...]:
    """Items added, removed or changed between two mappings, with the text of the fields that differ."""
    out = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        ta, tb = (None if a is None else text(a)), (None if b is None else text(b))
        shown = label(b if b is not None else a) if label else None
        if ta is None or tb is None:
            out.append(Change(key, "added" if ta is None else "removed", names, ta, tb, shown))
            continue
        differ = tuple(f for f in names if ta[f] != tb[f])
        if differ:
            out.append(Change(key, "changed", differ, {f: ta[f] for f in differ}, {f: tb[f] for f in differ},
                              shown))
    return tuple(out)


def data(value: Any) -> Any:
    """Dataclasses, Text, dates and tuples as JSON-ready data; numbers are left as they are."""
    if isinstance(value, Text):
        return {"zh": value.zh, "en": value.en}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: data(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [data(v) for v in value]
    return value
