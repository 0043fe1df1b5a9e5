"""Evaluate a household against a rule pack: facts in, a Decision with outputs, trace and reasons out.

The pack's parameters are resolved for the household's county on ``as_of``; then, level by
level (see ``plan``), the facts a stage's conditions need are asserted into durable-rules when the
values they read are final, and for every rule that fired (or has no condition) the rule's
assignments are computed in exact fractions. Entities (members, claims, incidents) are processed
in input order, so a rule can keep running totals over ``earlier`` ones. Many households share each
assertion (``evaluate_many``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import OrderedDict
from typing import Any

from . import facts
from .amounts import Fraction
from .compiled import CompiledRule, Decided, Gate, Plan, Stage
from .conditions import encode_for_durable
from .decision import Decision, TraceStep, plain
from .durable_backend import session as durable_session
from .errors import DoudiError, EvaluationError, HouseholdError, Problem
from .expressions import Env
from .jurisdictions import ParameterIndex, Resolved
from .model import RulePack
from .plan import build_plan
from .reasons import render

_INDEXES: OrderedDict[str, ParameterIndex] = OrderedDict()
_QUIET: OrderedDict[str, tuple[RulePack, Plan]] = OrderedDict()
_BASES: dict[tuple[str, str, dt.date], tuple[RulePack, dict[str, Resolved], dict[str, Any]]] = {}


def parameter_index(pack: RulePack) -> ParameterIndex:
    """The (cached) parameter resolver of a pack."""
    index = _INDEXES.get(pack.digest)
    if index is None or index.pack is not pack:
        index = _INDEXES[pack.digest] = ParameterIndex(pack)
        while len(_INDEXES) > 16:
            _INDEXES.popitem(last=False)
    return index


def quiet_plan(pack: RulePack) -> Plan:
    """The (cached) plan of ``pack`` without the rules that only give a reason (they set nothing):
    what an evaluation without trace or reasons runs, so that a roll does not match or apply them."""
    hit = _QUIET.get(pack.digest)
    if hit is None or hit[0] is not pack:
        rules = tuple(dataclasses.replace(r, reason=None) for r in pack.rules if r.assignments)
        plan = pack.plan if len(rules) == len(pack.rules) else build_plan(dataclasses.replace(pack, rules=rules))
        hit = _QUIET[pack.digest] = (pack, plan)
        while len(_QUIET) > 16:
            _QUIET.popitem(last=False)
    return hit[1]


def _base(pack: RulePack, county: str, on: dt.date) -> tuple[dict[str, Resolved], dict[str, Any]]:
    """The parameters in force for ``county`` on ``on``, and the values every household there starts
    from: rule variables at their defaults, parameter values, ``as_of`` (cached; do not change them)."""
    key = (pack.digest, county, on)
    hit = _BASES.get(key)
    if hit is None or hit[0] is not pack:
        params, values = parameter_index(pack).in_force(county, on)
        hit = _BASES[key] = (pack, params, {**pack.plan.defaults["household"], **values, "as_of": on})
        if len(_BASES) > 4096:
            _BASES.clear()
            _BASES[key] = hit
    return hit[1], hit[2]


def parse_date(value: Any, field: str = "as_of") -> dt.date:
    """A date from ``YYYY-MM-DD`` text (or a date); HouseholdError naming ``field`` otherwise."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise HouseholdError(f"{field}: {value!r} is not a date; write YYYY-MM-DD, e.g. 2019-06-01",
                             [Problem(f"{value!r} is not a date (YYYY-MM-DD)", f"{value!r} 不是有效日期（YYYY-MM-DD）",
                                      path=field)], message_zh=f"{field} 日期格式错误") from None


def evaluate(pack: RulePack, household: Any, as_of: Any = None, *, trace: bool = True,
             version: int | None = None) -> Decision:
    """Evaluate ``household`` (SPEC §6 facts) on ``as_of`` (default today) against ``pack``."""
    result = evaluate_many(pack, [household], as_of, trace=trace, version=version)[0]
    if isinstance(result, DoudiError):
        raise result
    return result


def evaluate_many(pack: RulePack, households: list[Any], as_of: Any = None, *, trace: bool = False,
                  reasons: bool = True, version: int | None = None) -> list[Decision | DoudiError]:
    """Evaluate several households in one pass of durable-rules per stage (for rolls and impact reports).

    Returns, in input order, a Decision or the error that household met; one bad household never
    stops the others. Keep a call to a few hundred households (durable-rules' working memory).
    """
    on = parse_date(as_of) if as_of is not None else dt.date.today()
    results = _run_all(pack, households, on, trace, reasons)
    digest = {"number": version, "digest": pack.digest}
    for i, r in enumerate(results):
        if isinstance(r, _Run):
            results[i] = Decision(r.household_id, r.county, on, dict(digest), r.outputs(), tuple(r.steps),
                                  *r.reasons())
    return results  # type: ignore[return-value]


def outputs_many(pack: RulePack, households: list[Any],
                 on: dt.date) -> list[tuple[str, str, dict[str, Any]] | DoudiError]:
    """What a roll needs of ``evaluate_many`` (no trace, no reasons): (household id, county, outputs) or the error."""
    results = _run_all(pack, households, on, False, False)
    return [(r.household_id, r.county, r.outputs()) if isinstance(r, _Run) else r  # type: ignore[misc]
            for r in results]


def _run_all(pack: RulePack, households: list[Any], on: dt.date, trace: bool,
             reasons: bool) -> list[Decision | DoudiError | _Run]:
    plan: Plan = pack.plan if trace or reasons else quiet_plan(pack)
    results: list[Decision | DoudiError | _Run] = []
    for household in households:
        try:
            facts.check(pack, household)
            params, base = _base(pack, household["county"], on)
            values = facts.flatten(plan.flatten, household, base, pack.facts.table)
            results.append(_Run(pack, plan, values, params, trace, reasons))
        except DoudiError as exc:
            results.append(exc)
    runs = [(i, r) for i, r in enumerate(results) if isinstance(r, _Run)]
    if runs:
        _execute(pack, plan, runs, results)
    return results


def _execute(pack: RulePack, plan: Plan, runs: list[tuple[int, _Run]],
             results: list[Decision | DoudiError | _Run]) -> None:
    """Run every segment for all households: one durable-rules assertion per stage, then the rules.

    After a stage's assertion, each household goes through the levels up to the next assertion in
    one go (households do not share values): see ``runners.segment_runner`` for the order of rules.
    """
    live = dict(runs)
    name = f"doudi_{pack.id}_{pack.digest[7:23]}" + ("" if plan is pack.plan else "_quiet")
    with durable_session(name, plan.definition) as session:
        for stage, quick, explained in plan.segments:
            if stage is not None:
                _match(session, stage, plan.by_durable, live, results)
            for i, run in list(live.items()):
                try:
                    if run.trace or run.want_reasons:
                        explained(run.values, run, run.masks)
                        continue
                    try:
                        quick(run.values, run, run.masks)
                    except (ArithmeticError, TypeError, KeyError, ValueError):
                        # again, rule by rule through _Run.apply, which says which assignment failed and why
                        # (a rule applied twice gives the same values: its inputs are set at earlier levels)
                        explained(run.values, run, run.masks)
                except EvaluationError as exc:
                    results[i] = exc
                    del live[i]


def _match(session: Any, stage: Stage, by_durable: dict[str, tuple[CompiledRule | Gate, ...]],
           live: dict[int, _Run], results: list[Decision | DoudiError | _Run]) -> None:
    """Decide the conditions of ``stage`` for every live household: set the bits of the rules that fired
    in each one's masks (``run.masks``, one int for the household, a list of ints for entities).

    Facts whose values durable-rules has matched before (in this chunk or, through the stage's
    ``Memo``, in an earlier one) are not asserted again. An entity rule with a gate fires for an
    entity only if its gate fired for the household.
    """
    opened: set[tuple[int, Gate]] = set()
    gated: list[tuple[int, list[int], int, tuple[tuple[Gate, int], ...]]] = []

    def admit(i: int, masks: list[Any], slot: int, position: int, decided: Decided) -> None:
        if position < 0:
            masks[slot] = decided[0]
        else:
            masks[slot][position] = decided[0]
        if decided[1]:
            opened.update((i, gate) for gate in decided[1])
        if decided[2]:
            gated.append((i, masks[slot], position, decided[2]))

    batch: list[dict[str, Any]] = []
    # per fact in batch: its scope, content and who needs it (household, its masks, mask, entity position)
    waiting: list[tuple[str, tuple[Any, ...], list[tuple[int, list[Any], int, int]]]] = []

    def consider(scope: str, runs: list[tuple[int, _Run]]) -> None:
        """Take the facts of ``scope`` from what the memo knows, or put them in the batch to assert."""
        memo = stage.memos[scope]
        table, lookups, hits = memo.table, 0, 0
        asked: dict[tuple[Any, ...], list[tuple[int, list[Any], int, int]]] = {}
        build, slot = stage.builders[scope], stage.masks[scope]
        collection = runs[0][1].plan.scope_collection.get(scope) if runs else None
        make = stage.makers[scope]
        for i, run in runs:
            values, masks = run.values, run.masks
            try:
                if collection is None:
                    contents, first = [build(values, None)], -1
                elif values[collection]:
                    contents, first = [build(values, ent) for ent in values[collection]], 0
                    masks[slot] = [0] * len(contents)
                else:
                    continue
            except ValueError as exc:  # say which value could not be handed to durable-rules
                results[i] = run.unencodable(stage, scope, exc)
                del live[i]
                continue
            for position, content in enumerate(contents, first):
                if table is not None:
                    lookups += 1
                    known = table.get(content)
                    if known is not None:
                        hits += 1
                        admit(i, masks, slot, position, known)
                        continue
                    who = asked.get(content)
                    if who is not None:
                        who.append((i, masks, slot, position))
                        continue
                    asked[content] = who = []
                else:
                    who = []
                who.append((i, masks, slot, position))
                waiting.append((scope, content, who))
                batch.append(make(content))
        memo.count(lookups, hits)

    def assert_batch() -> None:
        if not batch:
            return
        matched: list[list[str]] = [[] for _ in batch]
        for rule_name, position in session.match(batch):
            matched[position].append(rule_name)
        patterns = stage.patterns
        for (scope, content, who), names in zip(waiting, matched, strict=True):
            pattern = tuple(names)
            decided = patterns.get(pattern)
            if decided is None:
                decided = _decided([cr for name in pattern for cr in by_durable[name]])
                if len(patterns) < 4096:
                    patterns[pattern] = decided
            stage.memos[scope].store(content, decided)
            for i, masks, slot, position in who:
                admit(i, masks, slot, position, decided)
        batch.clear()
        waiting.clear()

    for scope in stage.memos:
        if scope not in stage.gated:
            consider(scope, list(live.items()))
    assert_batch()
    # scopes whose rules all wait on a gate: only the entities of households where one opened
    for scope, gates in stage.gated.items():
        where = {i for i, gate in opened if gate in gates}
        consider(scope, [(i, run) for i, run in list(live.items()) if i in where])
    assert_batch()
    for i, entity_masks, position, by_gate in gated:
        for gate, bits in by_gate:
            if (i, gate) in opened:
                entity_masks[position] |= bits


def _decided(crs: list[CompiledRule | Gate]) -> Decided:
    """What fired for a fact, as ``_match`` takes it: the bits of the rules without a gate, the gates,
    and per gate the bits of the rules with that gate."""
    bits = 0
    gates: list[Gate] = []
    by_gate: dict[Gate, int] = {}
    for cr in crs:
        if isinstance(cr, Gate):
            gates.append(cr)
        elif cr.gate is None:
            bits |= cr.bit
        else:
            by_gate[cr.gate] = by_gate.get(cr.gate, 0) | cr.bit
    return bits, tuple(gates), tuple(by_gate.items())


class _Run:
    """The working state of one household's evaluation."""

    def __init__(self, pack: RulePack, plan: Plan, values: dict[str, Any], params: dict[str, Resolved],
                 trace: bool, reasons: bool):
        self.pack, self.plan, self.params, self.trace, self.want_reasons = pack, plan, params, trace, reasons
        self.household_id, self.county = values["household_id"], values["county"]
        self.values = values  # fresh from facts.flatten (its own to change)
        self.masks = list(plan.masks)  # the bits of the rules that fired, by stage and scope (see _match)
        self.steps: list[TraceStep] = []
        self._reasons: list[tuple[int, int, str, str, dict[str, Any]]] = []  # (rule order, entity, zh, en, item)
        self._set_by: dict[tuple[int, str], str] = {}

    def unencodable(self, stage: Stage, scope: str, exc: ValueError) -> EvaluationError:
        """The error of a value of this household that cannot be handed to durable-rules for ``stage``,
        naming the first value that fails (``exc``, what the generated fact builder raised, otherwise)."""
        values = self.values
        for ent in [None] if scope == "household" else values[self.plan.scope_collection[scope]]:
            for _, from_entity, name, type_ in stage.fields[scope]:
                value = ent[name] if from_entity else values[name]  # type: ignore[index]
                if type_ == "null" or value is None:
                    continue
                try:
                    encode_for_durable(type_, value)
                except ValueError as failed:
                    return EvaluationError(f"{name}: {failed}", [Problem(str(failed), path=name)])
        return EvaluationError(f"a value could not be handed to durable-rules: {exc}", [Problem(str(exc))])

    def apply(self, cr: CompiledRule, idx: int) -> None:
        """Compute the assignments of a rule that fired for this household (idx -1) or entity ``idx``."""
        if cr.runner is not None and not self.trace:
            try:
                cr.runner(self.values, idx, self)
            except (ArithmeticError, TypeError, KeyError, ValueError):
                pass  # computed again below, to say which assignment failed and why
            else:
                if cr.rule.reason and self.want_reasons:
                    items = self.values[cr.collection] if cr.collection else None
                    self._reason(cr, Env(self.values, None if items is None else items[idx],
                                         items[:idx] if items is not None and cr.reads_earlier else None), idx)
                return
        rule = cr.rule
        if idx < 0:
            ent, earlier, target = None, None, self.values
        else:
            items = self.values[self.plan.scope_collection[rule.scope]]
            ent = target = items[idx]
            earlier = items[:idx] if cr.reads_earlier else None
        values = self.values
        env = None
        result: dict[str, Any] = {}
        contested = cr.contested
        for var, compiled in cr.assignments:
            try:
                if compiled.direct is not None:
                    value = compiled.direct(values, ent, earlier or [])
                else:
                    env = env or Env(values, ent, earlier)
                    value = compiled.fn(env)
            except (ArithmeticError, TypeError, KeyError, ValueError) as exc:
                raise EvaluationError(
                    f"rule {rule.id} ({rule.file}:{rule.line}) could not compute {var}: {exc}",
                    [Problem(f"could not compute {var}: {exc}", f"规则 {rule.id} 无法计算 {var}：{exc}",
                             file=rule.file, line=rule.line, path=f"rules.{rule.id}")],
                    message_zh=f"规则 {rule.id} 计算 {var} 出错") from None
            if value.__class__ is Fraction and value.denominator == 1:
                value = int(value)
            if var in contested:  # other rules set it too: at most one may, for one household or entity
                self.claim(cr, var, target, ent, idx)
            target[var] = value
            if self.trace:
                result[var] = value
        if rule.reason and self.want_reasons:
            self._reason(cr, env or Env(values, ent, earlier), idx)
        if self.trace:
            label = _label(self.plan.scope_collection, rule.scope, ent, idx) if ent is not None else None
            self.steps.append(self._step(cr, ent, label, result))

    def claim(self, cr: CompiledRule, var: str, target: dict[str, Any], ent: dict[str, Any] | None,
              idx: int) -> None:
        """Note that ``cr`` sets ``var`` of ``target``; EvaluationError if another rule did already."""
        slot = (id(target), var)
        earlier = self._set_by.get(slot)
        rule = cr.rule
        if earlier is not None and earlier != rule.id:  # (the same rule: computed again to explain an error)
            label = _label(self.plan.scope_collection, rule.scope, ent, idx) if ent is not None else None
            raise EvaluationError(
                f"rules {earlier} and {rule.id} both set {var}"
                + (f" for {label}" if label else "") + "; make their conditions exclusive",
                [Problem(f"{var} set twice", file=rule.file, line=rule.line, path=f"rules.{rule.id}")])
        self._set_by[slot] = rule.id

    def _lookup(self, ent: dict[str, Any] | None, scope: str, name: str) -> Any:
        if ent is not None and name in ent:
            return ent[name]
        collections = self.plan.scope_collection
        if scope in collections and (ent is None or name not in ent):
            return [item.get(name) for item in self.values[collections[scope]]]
        return self.values.get(name)

    def _step(self, cr: CompiledRule, ent: dict[str, Any] | None, label: str | None,
              result: dict[str, Any]) -> TraceStep:
        inputs = {}
        for scope, name in cr.inputs:
            if scope == "household":
                inputs[name] = plain(self.values.get(name))
            elif scope == cr.rule.scope and ent is not None:
                inputs[name] = plain(ent.get(name))
            else:
                inputs[f"{self.plan.scope_collection[scope]}.{name}"] = plain(self._lookup(None, scope, name))
        parameters = {}
        for name in cr.parameters:
            r = self.params[name]
            parameters[name] = {"value": plain(r.value), **r.provenance()}
        return TraceStep(cr.rule.id, cr.rule.title, cr.rule.reference, label, inputs, parameters,
                         {k: plain(v) for k, v in result.items()})

    def _reason(self, cr: CompiledRule, env: Env, position: int) -> None:
        """The rule's reason in zh and en (its clause cited), and as data: rule, clause, figures, text."""
        assert cr.reason is not None
        reference = cr.rule.reference
        figures: dict[str, Any] = {}
        zh, en = render(cr.reason[0], "zh", env, figures), render(cr.reason[1], "en", env, figures)
        en = en[:1].upper() + en[1:]  # "member m1 …" opens a sentence
        item = {"rule": cr.rule.id, "clause": reference, "figures": {k: plain(v) for k, v in figures.items()},
                "text": {"zh": zh, "en": en}}
        if position >= 0 and env.ent is not None:
            item["entity"] = _label(self.plan.scope_collection, cr.rule.scope, env.ent, position)
        self._reasons.append((cr.order, position, zh if reference in zh else f"{zh}（{reference}）",
                              en if reference in en else f"{en} ({reference})", item))

    def reasons(self) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
        """Reasons in the order of the pack's rules (programme by programme), entities in input order:
        the sentences by language (SPEC §8) and the same as data (``Decision.reason_items``)."""
        ordered = sorted(self._reasons, key=lambda r: (r[0], r[1]))
        return {"zh": [r[2] for r in ordered], "en": [r[3] for r in ordered]}, [r[4] for r in ordered]

    def outputs(self) -> dict[str, Any]:
        assert self.plan.outputs is not None
        return self.plan.outputs(self.values)


def _label(collections: dict[str, str], scope: str, ent: dict[str, Any], idx: int) -> str:
    if scope == "member":
        return str(ent.get("id"))
    return f"{collections[scope]}[{idx}]"
