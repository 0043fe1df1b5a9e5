"""Compile a pack's rules: check every expression, order rules into levels, build the durable ruleset.

Rules are ordered by what they read and set (chaining): a rule is applied at a level after every
rule that sets a value it reads. Whether a rule fires is decided by durable-rules, which matches
its condition against facts; one assertion of facts (a *stage*) decides the conditions of many
levels at once, as soon as the values those conditions read are final. Two things keep the number
of stages small:

* a true/false variable that rules only ever set to ``true`` (an ``eligible`` flag) is, wherever a
  condition reads it, replaced by the conditions of the rules that set it: a rule reading ``eligible``
  is matched on the income and asset facts directly, not a stage later;
* the stages are chosen so that each one decides as many conditions as it can (every rule's
  condition must be decided after its inputs are final and before the rule is applied).

A rule without ``when`` has nothing to match: it applies at its level to the household or to
every entity of its scope. The stage's facts carry only the values its conditions need. Three
more things keep what crosses into durable-rules small, none of them changing what is decided:

* the household part of an entity rule's condition is matched once, on the household fact (a
  ``Gate``), so that member facts do not carry the household's incomes;
* member facts then repeat from household to household: what durable-rules fired for a fact's
  values is kept (``Memo``) and a fact already matched is not asserted again;
* rules with the same condition share one durable rule.

The parts: ``engine.compiled`` (what a plan is made of), ``engine.rulecompile`` (each rule checked
and compiled), ``engine.runners`` (the generated functions an evaluation runs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from . import durable_backend, limits
from .compiled import CompiledRule, Gate, Memo, Plan, Stage, Step
from .conditions import ConditionCompiler
from .errors import Problem, RulePackError
from .expressions import ExpressionError, Symbol
from .facts import Fields, fact_fields, flatteners
from .model import Rule, RulePack
from .rulecompile import check_outputs, compile_rule, key_reads, symbol_table
from .runners import content_builder, output_builder, rule_runner, segment_runner


def build_plan(pack: RulePack) -> Plan:
    """Check and compile every rule, output and test expectation of ``pack``."""
    symbols = symbol_table(pack)
    found: list[Problem] = []
    compiled: list[CompiledRule] = []
    seen_ids: dict[str, Rule] = {}
    for i, rule in enumerate(pack.rules):
        if rule.id in seen_ids:
            found.append(Problem(f"rule id '{rule.id}' is used twice (also {seen_ids[rule.id].file})",
                                 f"规则编号 '{rule.id}' 重复使用", file=rule.file, line=rule.line, path="rules"))
        seen_ids[rule.id] = rule
        try:
            compiled.append(compile_rule(rule, f"r{i:03d}_{rule.id.replace('.', '_')}", symbols,
                                          pack.labels))
            compiled[-1].order = i
        except ExpressionError as exc:
            zh = exc.message_zh or f"表达式错误：{exc}"
            found.append(Problem(f"rule {rule.id}: {exc}", f"规则 {rule.id}：{zh}",
                                 file=rule.file, line=rule.line_of(exc.where), path=f"rules.{rule.id}"))
    found += check_outputs(pack, symbols)
    if found:
        raise RulePackError(f"{len(found)} problem(s) in the rules; first: {found[0]}", found,
                            message_zh=f"规则有 {len(found)} 处错误")
    _assign_levels(compiled, lambda cr: cr.reads)  # as written: a cycle is reported in the rules' own terms
    _inline_conditions(pack, symbols, compiled)
    _assign_levels(compiled, lambda cr: cr.apply_reads | cr.cond_reads)  # inlining never adds a cycle
    _assign_stages(compiled)
    gates = _split_gates(compiled)
    stages: dict[int, Stage] = {}
    for cr in compiled:
        if cr.stage is None:
            continue
        st = stages.setdefault(cr.stage, Stage(cr.stage))
        st.rules.setdefault(cr.rule.scope, []).append(cr)
        st.keys.setdefault(cr.rule.scope, {}).update(cr.keys)
        if cr.gate is not None:
            st.keys.setdefault("household", {}).update(cr.gate.keys)
    # durable-rules copies a whole fact into the message of every rule it fires: short property names
    short = {key: f"v{n}" for n, key in enumerate(sorted({k for st in stages.values() for ks in st.keys.values()
                                                           for k in ks}))}
    for st in stages.values():
        for scope, keys in st.keys.items():
            st.fields[scope] = [(key, key.startswith("e_"), sym.name[:-6] if sym.kind == "null-flag" else sym.name,
                                 "null" if sym.kind == "null-flag" else sym.type) for key, sym in keys.items()]
            if len(keys) > 240:  # durable-rules refuses facts with more than 255 properties
                raise RulePackError(f"stage {st.index} needs {len(keys)} values in one {scope} fact (limit 240)")
            st.builders[scope], st.makers[scope] = content_builder(st.index, scope, st.fields[scope], short)
            st.memos[scope] = Memo()
            rules = st.rules.get(scope, [])
            if rules and all(cr.gate is not None for cr in rules):
                st.gated[scope] = frozenset(cr.gate for cr in rules if cr.gate is not None)
    defaults: dict[str, dict[str, Any]] = {s: {} for s in pack.facts.scopes}
    for (scope, name), v in pack.variables.items():
        defaults[scope][name] = v.default if v.default is not None or v.type in ("str", "date") else \
            (False if v.type == "bool" else 0)
    fields = _read_fields(pack, compiled, fact_fields(symbols))
    steps = [Step(level, stages.get(level), [cr for cr in compiled if cr.level == level])
             for level in range(max((cr.level for cr in compiled), default=-1) + 1)]
    writers = _writers(compiled)
    for cr in compiled:
        cr.contested = frozenset(var for var, _ in cr.assignments if len(writers[(cr.rule.scope, var)]) > 1)
        cr.collection = pack.facts.scope_collection.get(cr.rule.scope)
        if all(c.direct is not None for _, c in cr.assignments):
            cr.runner = rule_runner(cr)
    masks: list[Any] = []
    for st in (stages[k] for k in sorted(stages)):
        for scope in st.memos:
            st.masks[scope] = len(masks)
            masks.append(0 if scope == "household" else ())
            for bit, cr in enumerate(st.rules.get(scope, [])):
                cr.mask, cr.bit = st.masks[scope], 1 << bit
    parts: list[tuple[Stage | None, list[Step]]] = []
    for step in steps:
        if step.stage is not None or not parts:
            parts.append((step.stage, []))
        parts[-1][1].append(step)
    segments = [(stage, segment_runner(part, explain=False), segment_runner(part, explain=True))
                for stage, part in parts]
    definition, by_durable = _definition(compiled, gates, short)
    problems = _check_durable(definition, by_durable)
    if problems:
        raise RulePackError(f"{len(problems)} problem(s) in the rules; first: {problems[0]}", problems,
                            message_zh=f"规则有 {len(problems)} 处错误")
    return Plan(symbols, compiled, [stages[k] for k in sorted(stages)], steps, definition, defaults,
                {cr.rule.id: cr for cr in compiled}, by_durable, fields, segments, tuple(masks),
                flatteners(fields, defaults), output_builder(pack.outputs), dict(pack.facts.scope_collection))


def _writers(rules: list[CompiledRule]) -> dict[tuple[str, str], list[CompiledRule]]:
    """The rules that set each (scope, variable)."""
    out: dict[tuple[str, str], list[CompiledRule]] = {}
    for cr in rules:
        for var, _ in cr.assignments:
            out.setdefault((cr.rule.scope, var), []).append(cr)
    return out


def _read_fields(pack: RulePack, rules: list[CompiledRule], fields: Fields) -> Fields:
    """The facts that a rule (as written or as matched), a reason or an output reads: only they are
    flattened for an evaluation (with the household's id and county, and members' ids for labels)."""
    read = {("household", "household_id"), ("household", "county"), ("member", "id")}
    for cr in rules:
        read |= cr.reads | cr.cond_reads | cr.apply_reads
    scope_of = {c.name: c.scope for c in pack.facts.collections}
    for spec in pack.outputs.values():
        if isinstance(spec, str):
            read.add(("household", spec))
        elif "each" in spec:
            scope = scope_of.get(spec["each"], "household")
            read |= {(s, src) for src in [*spec["fields"].values(), *([spec["where"]] if "where" in spec else [])]
                     for s in (scope, "household")}
        else:
            read |= {("household", src) for src in spec.values()}
    return {scope: [f for f in scope_fields if (scope, f[0]) in read] for scope, scope_fields in fields.items()}


def _inline_conditions(pack: RulePack, symbols: dict[tuple[str, str], Symbol], rules: list[CompiledRule]) -> None:
    """Replace derived true/false variables in conditions by the conditions that set them.

    A variable qualifies when it defaults to false and every rule that sets it has a condition and
    sets it to ``True``: it is true exactly when one of those conditions holds, so matching the
    conditions themselves decides the reading rule as soon as their own inputs are final.
    """
    setters = _writers(rules)
    budget = limits.current().condition_operators
    done: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Symbol]] | None] = {}
    conditions: dict[str, tuple[dict[str, Any], dict[str, Symbol]]] = {}
    busy: set[str] = set()

    def condition(cr: CompiledRule) -> tuple[dict[str, Any], dict[str, Symbol]]:
        if cr.name not in conditions:
            busy.add(cr.name)
            try:
                cond, keys, _ = ConditionCompiler(symbols, cr.rule.scope, inline).to_condition(cr.rule.when or "")
            finally:
                busy.discard(cr.name)
            if _operators(cond) > budget:  # too intricate for durable-rules once inlined: match it as written
                cond, keys = cr.condition or {}, cr.keys
            conditions[cr.name] = (cond, keys)
        return conditions[cr.name]

    def inline(sym: Symbol) -> tuple[dict[str, Any], dict[str, Symbol]] | None:
        slot = (sym.scope, sym.name)
        if slot in done:
            return done[slot]
        variable = pack.variables.get(slot)
        writers = setters.get(slot, [])
        found = None
        if variable is not None and variable.default is False and writers and all(
                w.rule.when and w.name not in busy and dict(w.rule.assignments)[sym.name].strip() == "True"
                for w in writers):
            parts = [condition(w) for w in writers]
            keys: dict[str, Symbol] = {}
            for _, k in parts:
                keys.update(k)
            found = (parts[0][0] if len(parts) == 1 else {"$or": [c for c, _ in parts]}), keys
            if _operators(found[0]) > budget:
                found = None
        done[slot] = found
        return found

    for cr in rules:
        if cr.rule.when:
            cr.condition, cr.keys = condition(cr)
            cr.cond_reads = key_reads(cr.keys)


def _operators(condition: dict[str, Any]) -> int:
    """The and/or operators of a condition as durable-rules will hold it (inside the stage's ``$and``)."""
    return durable_backend.operators({"$and": [{"stage": 0}, condition]})


def _check_durable(definition: dict[str, Any], by_durable: dict[str, tuple[CompiledRule | Gate, ...]]
                   ) -> list[Problem]:
    """Refuse conditions durable-rules cannot hold: too many and/or operators, too many branches at one node."""
    allowed = limits.current()
    found = []

    def located(name: str | None) -> Rule | None:
        return next((m.rule for m in by_durable.get(name or "", ()) if isinstance(m, CompiledRule)), None)

    for durable_name, body in definition.items():
        count = durable_backend.operators(body["all"][0]["m"])
        rule = located(durable_name)
        if count > allowed.condition_operators and rule is not None:
            found.append(Problem(
                f"rule {rule.id}: when: the condition has {count} and/or operators as durable-rules matches it "
                f"(limit {allowed.condition_operators}); move parts of it into variables set by other rules",
                f"规则 {rule.id}：when：条件含 {count} 个 and/or 运算（上限 {allowed.condition_operators}），"
                "请把部分条件拆到其他规则设定的变量中", file=rule.file, line=rule.line_of("when"),
                path=f"rules.{rule.id}"))
    width, name = durable_backend.widest(definition, allowed.branching)
    rule = located(name)
    if width > allowed.branching:
        found.append(Problem(
            f"the pack's conditions have {width} alternatives at one point (limit {allowed.branching}; "
            f"durable-rules stops working beyond 511), past the limit at rule {rule.id if rule else name}: "
            "use list parameters or fewer alternatives",
            f"规则包的条件在同一处有 {width} 个分支（上限 {allowed.branching}），超出上限处为规则 "
            f"{rule.id if rule else name}：请改用列表参数或减少分支", file=rule.file if rule else None,
            line=rule.line_of("when") if rule else None, path=f"rules.{rule.id}" if rule else "rules"))
    return found


def _assign_levels(rules: list[CompiledRule], reads: Callable[[CompiledRule], set[tuple[str, str]]]) -> None:
    writers = _writers(rules)
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(cr: CompiledRule, path: list[str]) -> int:
        if state.get(cr.name) == 2:
            return cr.level
        if state.get(cr.name) == 1:
            cycle = " → ".join(path[path.index(cr.rule.id):] + [cr.rule.id])
            raise RulePackError(f"rules depend on each other in a cycle: {cycle}",
                                [Problem(f"cycle: {cycle}", f"规则循环依赖：{cycle}", file=cr.rule.file,
                                         line=cr.rule.line)], message_zh=f"规则循环依赖：{cycle}")
        state[cr.name] = 1
        level = 0
        own = {(cr.rule.scope, v) for v, _ in cr.assignments}
        for read in reads(cr):
            for w in writers.get(read, []):
                if w is cr and cr.reads_earlier and read in own:
                    continue  # a running total over earlier entities, computed in input order
                level = max(level, visit(w, path + [cr.rule.id]) + 1)
        cr.level = level
        state[cr.name] = 2
        return level

    for cr in rules:
        visit(cr, [])
    for cr in rules:  # the earliest level at which the condition's inputs are final
        cr.stage = None if cr.condition is None else max(
            (w.level + 1 for read in cr.cond_reads for w in writers.get(read, [])), default=0)


def _assign_stages(rules: list[CompiledRule]) -> None:
    """As few assertions as can decide every condition, each where facts of its scope are asserted anyway.

    A conditional rule needs its condition decided at a level between the earliest at which its
    inputs are final and the latest before a rule reads what it sets (a rule whose results nothing
    reads may wait until the last level). Taking these intervals by their right end and asserting
    at the right end of any interval not yet covered gives the fewest assertions. A rule then
    applies no earlier than its assertion.
    """
    if not rules:
        return
    last = max(cr.level for cr in rules)
    readers: dict[tuple[str, str], list[CompiledRule]] = {}
    for cr in rules:
        for read in cr.apply_reads | cr.cond_reads:
            readers.setdefault(read, []).append(cr)
    intervals = []
    for cr in rules:
        if cr.stage is None:
            continue
        after = [r.level for var, _ in cr.assignments for r in readers.get((cr.rule.scope, var), []) if r is not cr]
        intervals.append((cr.stage, min(after) - 1 if after else last, cr))
    intervals.sort(key=lambda t: (t[1], t[0]))
    chosen: list[int] = []
    for earliest, latest, _ in intervals:
        if not any(earliest <= c <= latest for c in chosen):
            chosen.append(latest)
    options = [(cr, [c for c in chosen if earliest <= c <= latest]) for earliest, latest, cr in intervals]
    scopes: dict[int, set[str]] = {c: set() for c in chosen}  # the facts each assertion needs anyway
    for cr, where in options:
        if len(where) == 1:
            scopes[where[0]].add(cr.rule.scope)
    for cr, where in options:
        stage = next((c for c in where if cr.rule.scope in scopes[c]), where[0])
        scopes[stage].add(cr.rule.scope)
        cr.stage, cr.level = stage, max(cr.level, stage)
        cr.condition = {"$and": [{"stage": stage}, {"scope": cr.rule.scope}, cr.condition]}


def _split_gates(rules: list[CompiledRule]) -> dict[str, Gate]:
    """Move the household part of entity rules' conditions into gates (by durable rule name).

    ``eligible and member.student != none`` (a household flag and a member fact) needs, matched on one
    member fact, the household's incomes and assets in every member's fact: member facts then differ
    from household to household and each must be asserted. Split at the top-level ``$and``, the
    conjuncts that read only household values are matched once on the household fact (one gate per
    distinct household part), the rest on the entity's fact, which repeats across households (and is
    then not asserted again, see ``Memo``). A missing value still fails its conjunct, so the split
    decides exactly the same.
    """
    gates: dict[str, Gate] = {}
    for cr in rules:
        if cr.condition is None or cr.rule.scope == "household":
            continue
        stage, scope, condition = cr.condition["$and"]
        conjuncts = _conjuncts(condition)
        household = [c for c in conjuncts if all(f.startswith("h_") for f in _fields_of(c))]
        if not household:
            continue
        rest = [c for c in conjuncts if not any(c is h for h in household)]
        part: dict[str, Any] = household[0] if len(household) == 1 else {"$and": household}
        text = json.dumps([stage, part], sort_keys=True)
        gate = next((g for g in gates.values() if json.dumps([g.condition["$and"][0], g.condition["$and"][2]],
                                                            sort_keys=True) == text), None)
        if gate is None:
            used = _fields_of(part)
            gate = Gate(f"g{len(gates):03d}_stage{stage['stage']}", {"$and": [stage, {"scope": "household"}, part]},
                        {k: sym for k, sym in cr.keys.items() if k in used})
            gates[gate.name] = gate
        used = set().union(*map(_fields_of, rest)) if rest else set()
        cr.gate = gate
        cr.keys = {k: sym for k, sym in cr.keys.items() if k in used}
        cr.condition = {"$and": [stage, scope, *rest]}
    return gates


def _conjuncts(condition: dict[str, Any]) -> list[dict[str, Any]]:
    if list(condition) == ["$and"]:
        return [c for part in condition["$and"] for c in _conjuncts(part)]
    return [condition]


def _fields_of(condition: Any) -> set[str]:
    """The fact properties a durable-rules condition reads."""
    found: set[str] = set()
    if isinstance(condition, dict):
        for key, value in condition.items():
            if key == "$m":
                found.add(value)
                continue
            if not key.startswith("$"):
                found.add(key)
            found |= _fields_of(value)
    elif isinstance(condition, list):
        for item in condition:
            found |= _fields_of(item)
    return found


def _definition(rules: list[CompiledRule], gates: dict[str, Gate], short: dict[str, str]
                ) -> tuple[dict[str, Any], dict[str, tuple[CompiledRule | Gate, ...]]]:
    """The durable-rules ruleset, and what each of its rules stands for.

    One durable rule per distinct condition (nested ``$and`` flattened): the rules of a programme
    that all apply "when the household is in the safety net" are matched, and fire, once. Fact
    properties are called by their ``short`` names.
    """
    def renamed(condition: Any) -> Any:
        if isinstance(condition, dict):
            if list(condition) == ["$and"]:
                parts = [renamed(c) for c in _conjuncts(condition)]
                return parts[0] if len(parts) == 1 else {"$and": parts}
            return {short.get(k, k): short.get(v, v) if k == "$m" else renamed(v) for k, v in condition.items()}
        if isinstance(condition, list):
            return [renamed(c) for c in condition]
        return condition

    matched: list[tuple[str, Any, CompiledRule | Gate]] = [
        (cr.name, cr.condition, cr) for cr in rules if cr.condition is not None]
    matched += [(g.name, g.condition, g) for g in gates.values()]
    definition: dict[str, Any] = {}
    by_text: dict[str, str] = {}
    members: dict[str, list[CompiledRule | Gate]] = {}
    for name, condition, rule in matched:
        durable = {"all": [{"m": renamed(condition)}], "cap": 1000}  # cap: all matched facts in one message
        text = json.dumps(durable, sort_keys=True)
        if text not in by_text:
            by_text[text] = name
            definition[name] = durable
        members.setdefault(by_text[text], []).append(rule)
    return definition, {name: tuple(rules) for name, rules in members.items()}
