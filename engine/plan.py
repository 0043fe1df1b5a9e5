"""Compile a pack's rules: check every expression, order rules into stages, build the durable ruleset.

Rules are ordered by what they read and set (chaining): a rule runs in a stage after every
rule that sets a value it reads. Each stage is one assertion of facts into durable-rules, whose
matching decides which rules fire; the stage's facts carry only the values its conditions need.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from . import schemas
from .errors import Problem, RulePackError
from .expressions import Compiled, Compiler, ExpressionError, Symbol
from .facts import Fields, fact_fields
from .model import Rule, RulePack

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")  # {name} in reason sentences
SCOPE_COLLECTION = {"member": "members", "claim": "claims", "incident": "incidents"}


@dataclass
class CompiledRule:
    """One YAML rule ready to run: its durable condition, its assignments and what it reads."""

    rule: Rule
    name: str  # the durable-rules rule name
    order: int = 0  # position of the rule in the pack
    stage: int = 0
    condition: dict[str, Any] | None = None
    keys: dict[str, Symbol] = field(default_factory=dict)
    assignments: list[tuple[str, Compiled]] = field(default_factory=list)
    reads: set[tuple[str, str]] = field(default_factory=set)
    reads_earlier: bool = False
    parameters: list[str] = field(default_factory=list)
    inputs: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Stage:
    """Rules that can fire together, grouped by the scope of the facts they match."""

    index: int
    rules: dict[str, list[CompiledRule]] = field(default_factory=dict)
    keys: dict[str, dict[str, Symbol]] = field(default_factory=dict)
    # per scope: (fact key, read from the entity?, value name, type) — "null" marks a missing-value flag
    fields: dict[str, list[tuple[str, bool, str, str]]] = field(default_factory=dict)


@dataclass
class Plan:
    """The compiled form of a pack, shared by every evaluation of it."""

    symbols: dict[tuple[str, str], Symbol]
    rules: list[CompiledRule]
    stages: list[Stage]
    definition: dict[str, Any]
    defaults: dict[str, dict[str, Any]]
    by_name: dict[str, CompiledRule]
    by_durable: dict[str, CompiledRule]
    fact_fields: Fields


def symbol_table(pack: RulePack) -> dict[tuple[str, str], Symbol]:
    """Facts (from the household schema), parameters and rule variables, keyed by (scope, name)."""
    symbols = dict(schemas.fact_symbols())
    for p in pack.parameters.values():
        symbols[("household", p.name)] = Symbol(p.name, "parameter", "household", p.type)
    for (scope, name), v in pack.variables.items():
        if (scope, name) in symbols:
            raise RulePackError(f"{v.file}: variable '{name}' has the name of a fact or parameter",
                                [Problem(f"variable '{name}' clashes with a fact or parameter of the same name",
                                         file=v.file, path=f"variables.{name}")])
        symbols[(scope, name)] = Symbol(name, "variable", scope, v.type, nullable=v.default is None)
    return symbols


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
            compiled.append(_compile_rule(rule, f"r{i:03d}_{rule.id.replace('.', '_')}", symbols))
            compiled[-1].order = i
        except ExpressionError as exc:
            found.append(Problem(f"rule {rule.id}: {exc}", f"规则 {rule.id}：表达式错误：{exc}",
                                 file=rule.file, line=rule.line, path=f"rules.{rule.id}"))
    found += _check_outputs(pack, symbols)
    if found:
        raise RulePackError(f"{len(found)} problem(s) in the rules; first: {found[0]}", found,
                            message_zh=f"规则有 {len(found)} 处错误")
    _assign_stages(compiled)
    stages: dict[int, Stage] = {}
    for cr in compiled:
        st = stages.setdefault(cr.stage, Stage(cr.stage))
        st.rules.setdefault(cr.rule.scope, []).append(cr)
        st.keys.setdefault(cr.rule.scope, {}).update(cr.keys)
    for st in stages.values():
        for scope, keys in st.keys.items():
            st.fields[scope] = [(key, key.startswith("e_"), sym.name[:-6] if sym.kind == "null-flag" else sym.name,
                                 "null" if sym.kind == "null-flag" else sym.type) for key, sym in keys.items()]
            if len(keys) > 240:  # durable-rules refuses facts with more than 255 properties
                raise RulePackError(f"stage {st.index} needs {len(keys)} values in one {scope} fact (limit 240)")
    defaults: dict[str, dict[str, Any]] = {s: {} for s in ("household", *SCOPE_COLLECTION)}
    for (scope, name), v in pack.variables.items():
        defaults[scope][name] = v.default if v.default is not None or v.type in ("str", "date") else \
            (False if v.type == "bool" else 0)
    return Plan(symbols, compiled, [stages[k] for k in sorted(stages)], _definition(compiled), defaults,
                {cr.rule.id: cr for cr in compiled}, {cr.name: cr for cr in compiled}, fact_fields(symbols))


def _compile_rule(rule: Rule, name: str, symbols: dict[tuple[str, str], Symbol]) -> CompiledRule:
    cr = CompiledRule(rule, name)
    scope_marker: dict[str, Any] = {"$and": [{"stage": 0}, {"scope": rule.scope}]}
    compiler = Compiler(symbols, rule.scope)
    if rule.when:
        try:
            cond, keys, checked = compiler.to_condition(rule.when)
        except ExpressionError as exc:
            raise ExpressionError(f"when: {exc}") from None
        cr.keys, cr.reads = keys, set(checked.reads)
        scope_marker["$and"].append(cond)
    cr.condition = scope_marker
    local: dict[str, str] = {}
    for var, source in rule.assignments:
        target = symbols.get((rule.scope, var))
        if target is None or target.kind != "variable":
            hint = [n for (s, n), sym in symbols.items() if s == rule.scope and sym.kind == "variable"]
            raise ExpressionError(f"set: '{var}' is not a declared {rule.scope} variable"
                                  + (f" (declared: {', '.join(sorted(hint)[:8])}…)" if hint else ""))
        try:
            c = Compiler(symbols, rule.scope).with_locals(local).compile(source)
        except ExpressionError as exc:
            raise ExpressionError(f"set {var}: {exc}") from None
        if not _assignable(target.type, c.type):
            raise ExpressionError(f"set {var}: a {target.type} cannot be set to a {c.type} ('{source}')")
        cr.assignments.append((var, c))
        cr.reads |= c.reads
        cr.reads_earlier |= c.reads_earlier
        local[var] = target.type
    if rule.reason:
        for text in (rule.reason.zh, rule.reason.en):
            for field_name in PLACEHOLDER.findall(text):
                if field_name not in local and not _known(symbols, rule.scope, field_name):
                    raise ExpressionError(f"reason: unknown placeholder {{{field_name}}}")
                if field_name not in local:
                    cr.reads.add(_scope_of(symbols, rule.scope, field_name))
    cr.parameters = sorted(n for (s, n) in cr.reads if symbols.get((s, n), None) is not None
                           and symbols[(s, n)].kind == "parameter")
    cr.inputs = sorted((s, n) for (s, n) in cr.reads if symbols.get((s, n)) is not None
                       and symbols[(s, n)].kind in ("fact", "variable", "input"))
    return cr


def _known(symbols: dict[tuple[str, str], Symbol], scope: str, name: str) -> bool:
    return (scope, name) in symbols or ("household", name) in symbols


def _scope_of(symbols: dict[tuple[str, str], Symbol], scope: str, name: str) -> tuple[str, str]:
    return (scope, name) if (scope, name) in symbols else ("household", name)


def _assignable(target: str, value: str) -> bool:
    numeric = {"money", "number", "int"}
    if target == value or value == "null":
        return True
    if target in ("money", "number") and value in numeric:
        return True
    return target == "int" and value == "int"


def _assign_stages(rules: list[CompiledRule]) -> None:
    writers: dict[tuple[str, str], list[CompiledRule]] = {}
    for cr in rules:
        for var, _ in cr.assignments:
            writers.setdefault((cr.rule.scope, var), []).append(cr)
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(cr: CompiledRule, path: list[str]) -> int:
        if state.get(cr.name) == 2:
            return cr.stage
        if state.get(cr.name) == 1:
            cycle = " → ".join(path[path.index(cr.rule.id):] + [cr.rule.id])
            raise RulePackError(f"rules depend on each other in a cycle: {cycle}",
                                [Problem(f"cycle: {cycle}", f"规则循环依赖：{cycle}", file=cr.rule.file,
                                         line=cr.rule.line)], message_zh=f"规则循环依赖：{cycle}")
        state[cr.name] = 1
        stage = 0
        own = {(cr.rule.scope, v) for v, _ in cr.assignments}
        for read in cr.reads:
            for w in writers.get(read, []):
                if w is cr and cr.reads_earlier and read in own:
                    continue  # a running total over earlier entities, computed in input order
                stage = max(stage, visit(w, path + [cr.rule.id]) + 1)
        cr.stage = stage
        state[cr.name] = 2
        return stage

    for cr in rules:
        visit(cr, [])
    for cr in rules:
        cr.condition["$and"][0] = {"stage": cr.stage}  # type: ignore[index]


def _definition(rules: list[CompiledRule]) -> dict[str, Any]:
    """The durable-rules ruleset: one durable rule per YAML rule, matching facts of its stage."""
    # cap: one action message carries every fact the rule matched, instead of one message per fact
    return {cr.name: {"all": [{"m": cr.condition}], "cap": 1000} for cr in rules}


def _check_outputs(pack: RulePack, symbols: dict[tuple[str, str], Symbol]) -> list[Problem]:
    found = []

    def check(name: str, scope: str, path: str) -> None:
        if (scope, name) not in symbols and ("household", name) not in symbols:
            known = [n for (s, n) in symbols if s in (scope, "household")]
            hint = difflib.get_close_matches(name, known, n=1)
            found.append(Problem(f"output {path}: unknown value '{name}'"
                                 + (f"; did you mean '{hint[0]}'?" if hint else ""),
                                 f"输出 {path} 引用了未知的值 '{name}'", file=pack.pack_file,
                                 line=pack.output_lines.get(path.split(".")[0]), path=f"outputs.{path}"))

    for out, spec in pack.outputs.items():
        if isinstance(spec, str):
            check(spec, "household", out)
        elif "each" in spec:
            scope = {v: k for k, v in SCOPE_COLLECTION.items()}[spec["each"]]
            for f, name in spec["fields"].items():
                check(name, scope, f"{out}.{f}")
        else:
            for f, name in spec.items():
                check(name, "household", f"{out}.{f}")
    for t in pack.tests:
        for key in t.expect or {}:
            if key not in pack.outputs:
                found.append(Problem(f"test '{t.name}': '{key}' is not an output of the pack",
                                     f"测试 '{t.name}'：'{key}' 不是规则包的输出", file=t.file, line=t.line))
    return found
