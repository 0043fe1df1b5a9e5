"""Compare two versions of a rule pack: what changed (``diff_packs``) and for whom (``impact``).

The diff lists every dated parameter value added, removed or changed per jurisdiction and date
(old → new, delta, percent), and every declaration, rule, variable, output and jurisdiction that
differs. The impact report evaluates a population of households under both versions, streamed in
chunks; households in counties the change cannot reach are evaluated once and counted unchanged.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from typing import Any

from .amounts import Fraction, json_number
from .decision import Decision, dumps, plain
from .errors import DoudiError
from .evaluate import evaluate_many, parameter_index, parse_date
from .model import DatedValue, Parameter, RulePack, Text
from .rolls import in_chunks

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
        return _data(self)

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


# -- impact ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Totals:
    """An amount summed over the population under both versions (monthly for dibao)."""

    old: Any
    new: Any
    delta: Any


@dataclass(frozen=True)
class CountyImpact:
    """What the new version changes in one county."""

    code: str
    name: str
    households: int
    evaluated: int  # evaluated under the new version (the others cannot change)
    errors: int
    newly_eligible: int
    exits: int
    payment_up: int
    payment_down: int
    dibao_monthly: Totals
    medical_assistance_delta: Any
    temporary_assistance_delta: Any


@dataclass(frozen=True)
class Mover:
    """A household whose monthly dibao payment changes."""

    household_id: str
    county: str
    eligible_old: bool
    eligible_new: bool
    dibao_monthly_old: Any
    dibao_monthly_new: Any
    delta: Any


@dataclass(frozen=True)
class ImpactReport:
    """What changed for whom when a population is evaluated under the old and the new version."""

    old_digest: str
    new_digest: str
    as_of: dt.date
    households: int
    evaluated: int  # households evaluated under the new version too
    skipped: int  # households in counties the change cannot reach: evaluated once, counted unchanged
    affected_counties: tuple[str, ...] | None  # counties whose values on as_of differ; None: all
    errors: int  # households that failed under either version (left out of every count below)
    errors_old: int
    errors_new: int
    error_samples: tuple[dict[str, Any], ...]
    eligible_old: int
    eligible_new: int
    newly_eligible: int
    exits: int
    payment_up: int
    payment_down: int
    payment_unchanged: int
    outputs_changed: int  # households with any output different
    dibao_monthly: Totals
    medical_assistance: Totals
    temporary_assistance: Totals
    counties: tuple[CountyImpact, ...]
    top: tuple[Mover, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (numbers may be Decimal; ``to_json`` writes them as JSON numbers)."""
        return _data(self)

    def to_json(self, indent: int | None = 2) -> str:
        return dumps(self.to_dict(), indent=indent)


def impact(old: RulePack, new: RulePack, households: Iterable[dict[str, Any]], as_of: Any, *, top: int = 20,
           chunk: int = 50, skip_unaffected: bool = True) -> ImpactReport:
    """Evaluate ``households`` under both versions on ``as_of`` and report what changed for whom.

    Households are streamed ``chunk`` at a time; only aggregates and the ``top`` movers are kept.
    A household whose county's parameter values on ``as_of`` are the same in both versions (and
    whose rules are the same) cannot change: it is evaluated once and counted unchanged.
    """
    if chunk < 1 or top < 0:
        raise ValueError("chunk must be at least 1 and top not negative")
    on = parse_date(as_of)
    reach = _counties_to_evaluate(old, new, on) if skip_unaffected else None
    tally = _Tally(top)
    for batch in in_chunks(households, chunk):
        before = evaluate_many(old, batch, on, reasons=False)
        picked = [i for i, h in enumerate(batch) if reach is None or _county(h) in reach]
        after = dict(zip(picked, evaluate_many(new, [batch[i] for i in picked], on, reasons=False), strict=True)
                     ) if picked else {}
        for i, household in enumerate(batch):
            tally.add(household, before[i], after.get(i), i in after)
    return tally.report(old, new, on, None if reach is None else tuple(sorted(reach)))


def _counties_to_evaluate(old: RulePack, new: RulePack, on: dt.date) -> set[str] | None:
    """The affected counties whose parameter values in force on ``on`` differ (None: all)."""
    reached = affected_counties(old, new)
    if reached is None:
        return None
    indexes = parameter_index(old), parameter_index(new)
    out = set()
    for code in reached:
        try:
            values = [{k: r.value for k, r in index.resolve_all(code, on).items()} for index in indexes]
        except (DoudiError, KeyError):  # a county missing in one version, or no value in force
            out.add(code)
            continue
        if values[0] != values[1]:
            out.add(code)
    return out


def _county(household: Any) -> str:
    return str(household.get("county", "")) if isinstance(household, dict) else ""


class _CountyTally:
    def __init__(self) -> None:
        self.households = self.evaluated = self.errors = 0
        self.newly_eligible = self.exits = self.up = self.down = 0
        self.old: Any = 0
        self.new: Any = 0
        self.medical: Any = 0
        self.temporary: Any = 0


class _Ranked:
    """A heap entry ordered by how little the household moves (the heap drops the smallest)."""

    __slots__ = ("size", "hid", "mover")

    def __init__(self, mover: Mover):
        self.size, self.hid, self.mover = abs(mover.delta), mover.household_id, mover

    def __lt__(self, other: _Ranked) -> bool:
        return (self.size, other.hid) < (other.size, self.hid)


class _Tally:
    """The running aggregates of an impact report: flat memory whatever the population."""

    def __init__(self, top: int):
        self.top = top
        self.heap: list[_Ranked] = []
        self.counties: dict[str, _CountyTally] = {}
        self.n = self.evaluated = self.errors = self.errors_old = self.errors_new = 0
        self.eligible_old = self.eligible_new = self.newly = self.exits = 0
        self.up = self.down = self.same = self.changed = 0
        self.samples: list[dict[str, Any]] = []
        self.sums: dict[str, list[Any]] = {k: [0, 0] for k in
                                           ("dibao_monthly", "medical_assistance", "temporary_assistance")}

    def add(self, household: Any, before: Decision | DoudiError, after: Decision | DoudiError | None,
            evaluated: bool) -> None:
        if after is None:
            after = before  # the change cannot reach this county
        self.n += 1
        self.evaluated += evaluated
        county = self.counties.setdefault(_county(household), _CountyTally())
        county.households += 1
        county.evaluated += evaluated
        if isinstance(before, DoudiError) or isinstance(after, DoudiError):
            self._error(household, before, after, county)
            return
        o, n = before.outputs, after.outputs
        was, now = bool(o.get("dibao_eligible")), bool(n.get("dibao_eligible"))
        pay_old, pay_new = o.get("dibao_monthly") or 0, n.get("dibao_monthly") or 0
        self.eligible_old += was
        self.eligible_new += now
        self.changed += o != n
        if was != now:
            self.newly += now
            self.exits += was
            county.newly_eligible += now
            county.exits += was
        self.up += pay_new > pay_old
        self.down += pay_new < pay_old
        self.same += pay_new == pay_old
        county.up += pay_new > pay_old
        county.down += pay_new < pay_old
        county.old += pay_old
        county.new += pay_new
        for name, pair in self.sums.items():
            pair[0] += o.get(name) or 0
            pair[1] += n.get(name) or 0
        county.medical += (n.get("medical_assistance") or 0) - (o.get("medical_assistance") or 0)
        county.temporary += (n.get("temporary_assistance") or 0) - (o.get("temporary_assistance") or 0)
        if pay_new != pay_old and self.top:
            entry = _Ranked(Mover(before.household_id, before.county, was, now, pay_old, pay_new,
                                  pay_new - pay_old))
            if len(self.heap) < self.top:
                heapq.heappush(self.heap, entry)
            elif self.heap[0] < entry:
                heapq.heapreplace(self.heap, entry)

    def _error(self, household: Any, before: Any, after: Any, county: _CountyTally) -> None:
        self.errors += 1
        county.errors += 1
        bad_old, bad_new = isinstance(before, DoudiError), isinstance(after, DoudiError)
        self.errors_old += bad_old
        self.errors_new += bad_new
        if len(self.samples) < 10:
            side = "both" if bad_old and bad_new else "old" if bad_old else "new"
            exc = before if bad_old else after
            hid = household.get("household_id") if isinstance(household, dict) else None
            self.samples.append({"household_id": hid, "county": _county(household), "version": side,
                                 "message": exc.message, "message_zh": exc.message_zh})

    def report(self, old: RulePack, new: RulePack, on: dt.date, reach: tuple[str, ...] | None) -> ImpactReport:
        def name(code: str) -> str:
            place = new.jurisdictions.get(code) or old.jurisdictions.get(code)
            return place.name if place else ""

        counties = tuple(
            CountyImpact(code, name(code), c.households, c.evaluated, c.errors, c.newly_eligible, c.exits, c.up,
                         c.down, _totals(c.old, c.new), plain(c.medical), plain(c.temporary))
            for code, c in sorted(self.counties.items()))
        movers = tuple(Mover(m.household_id, m.county, m.eligible_old, m.eligible_new, plain(m.dibao_monthly_old),
                             plain(m.dibao_monthly_new), plain(m.delta))
                       for m in (e.mover for e in sorted(self.heap, key=lambda e: (-e.size, e.hid))))
        return ImpactReport(
            old.digest, new.digest, on, self.n, self.evaluated, self.n - self.evaluated, reach, self.errors,
            self.errors_old, self.errors_new, tuple(self.samples), self.eligible_old, self.eligible_new,
            self.newly, self.exits, self.up, self.down, self.same, self.changed,
            dibao_monthly=_totals(*self.sums["dibao_monthly"]),
            medical_assistance=_totals(*self.sums["medical_assistance"]),
            temporary_assistance=_totals(*self.sums["temporary_assistance"]), counties=counties, top=movers)


def _totals(old: Any, new: Any) -> Totals:
    return Totals(plain(old), plain(new), plain(new - old))


def _data(value: Any) -> Any:
    """Dataclasses, Text, dates and tuples as JSON-ready data; numbers are left as they are."""
    if isinstance(value, Text):
        return {"zh": value.zh, "en": value.en}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _data(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_data(v) for v in value]
    return value
