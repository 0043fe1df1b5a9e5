"""Compile a pack's rules: check every expression, order rules into levels, build the durable ruleset.

Rules are ordered by what they read and set (chaining): a rule is applied at a level after every
rule that sets a value it reads. Whether a rule fires is decided by durable-rules, which matches
its condition against facts; one assertion of facts (a *stage*) decides the conditions of many
levels at once, as soon as the values those conditions read are final. Two things keep the number
of stages small:

* a true/false variable that rules only ever set to ``true`` (``dibao_eligible``) is, wherever a
  condition reads it, replaced by the conditions of the rules that set it: the condition of
  ``dibao.safety_net`` is matched on the income and asset facts directly, not a stage later;
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
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import durable_backend, limits
from .amounts import Fraction
from .decision import plain
from .errors import Problem, RulePackError
from .expressions import Compiled, Compiler, ExpressionError, Symbol, encode_for_durable
from .facts import Fields, Flattener, fact_fields, flatteners
from .model import Rule, RulePack
from .reasons import FORMATS, Labels, Slot, Template, split


@dataclass
class CompiledRule:
    """One YAML rule ready to run: its durable condition, its assignments and what it reads."""

    rule: Rule
    name: str  # the durable-rules rule name
    order: int = 0  # position of the rule in the pack
    level: int = 0  # applied after every rule that sets a value it reads
    stage: int | None = None  # the assertion that decides its condition (None: no condition)
    condition: dict[str, Any] | None = None
    keys: dict[str, Symbol] = field(default_factory=dict)
    assignments: list[tuple[str, Compiled]] = field(default_factory=list)
    reads: set[tuple[str, str]] = field(default_factory=set)  # everything it reads, as written
    cond_reads: set[tuple[str, str]] = field(default_factory=set)  # what its (inlined) condition reads
    apply_reads: set[tuple[str, str]] = field(default_factory=set)  # what its assignments and reason read
    reads_earlier: bool = False
    contested: frozenset[str] = frozenset()  # variables it sets that other rules set too
    gate: Gate | None = None  # its household part, matched on the household fact (see _split_gates)
    collection: str | None = None  # members, claims or incidents for an entity rule
    # where an evaluation notes that its condition held: the mask of its stage and scope, and its bit there
    mask: int = -1
    bit: int = 0
    # the application as one generated function, when every assignment has one (see rule_runner)
    runner: Callable[[dict[str, Any], int, Any], None] | None = None
    reason: Template | None = None  # the reason's sentences, placeholders compiled (see engine.reasons)
    parameters: list[str] = field(default_factory=list)
    inputs: list[tuple[str, str]] = field(default_factory=list)


@dataclass(eq=False)
class Gate:
    """The household part of entity rules' conditions: a durable rule of its own, on the household fact.

    An entity rule fires for an entity when its gate fired for the household and the rest of its
    condition for the entity (a join on the household, as a Rete beta node would do it).
    """

    name: str
    condition: dict[str, Any]
    keys: dict[str, Symbol]


@dataclass
class Stage:
    """One assertion of facts into durable-rules: the rules it decides, grouped by the scope they match."""

    index: int
    rules: dict[str, list[CompiledRule]] = field(default_factory=dict)
    keys: dict[str, dict[str, Symbol]] = field(default_factory=dict)
    # per scope: (fact key, read from the entity?, value name, type) — "null" marks a missing-value flag
    fields: dict[str, list[tuple[str, bool, str, str]]] = field(default_factory=dict)
    # per scope: content(household values, entity or None) -> the fact's values (see content_builder)
    builders: dict[str, Callable[[dict[str, Any], dict[str, Any] | None], tuple[Any, ...]]] = \
        field(default_factory=dict)
    memos: dict[str, Memo] = field(default_factory=dict)  # per scope: what durable-rules decided
    patterns: dict[tuple[str, ...], Decided] = field(default_factory=dict)  # durable rules fired -> Decided
    # entity scopes whose every rule here has a gate: their facts are needed only where a gate opened
    gated: dict[str, frozenset[Gate]] = field(default_factory=dict)
    # per scope: fact(content) -> the durable-rules fact, a value None left out (see content_builder)
    makers: dict[str, Callable[[tuple[Any, ...]], dict[str, Any]]] = field(default_factory=dict)
    masks: dict[str, int] = field(default_factory=dict)  # per scope: its mask in an evaluation (Plan.masks)


# What fired for one fact, as the engine dispatches it: the bits of the rules without a gate, the
# gates, and per gate the bits of the rules with that gate (they fire where their gate fired too).
Decided = tuple[int, tuple["Gate", ...], tuple[tuple["Gate", int], ...]]


class Memo:
    """The rules durable-rules fired for each distinct fact content of one stage and scope.

    Every durable rule of a pack matches a single fact, so whether it fires for a fact depends on
    the fact's values alone, never on the other facts of the session: a fact whose values were
    matched before is not asserted again; its rules are taken from here. Most member facts repeat
    (age, student, disability, the county's age limits), household facts with their incomes rarely
    do: a memo that hits less than half the time after ``TRIAL`` lookups switches itself off. At
    ``LIMIT`` entries it starts again empty (memory stays bounded). Only speed depends on it.
    """

    TRIAL = 4096
    LIMIT = 32_768

    def __init__(self) -> None:
        self.table: dict[tuple[Any, ...], Decided] | None = {}
        self.lookups = 0
        self.hits = 0

    def count(self, lookups: int, hits: int) -> None:
        """Record a stage's lookups and hits; switch off a memo that does not pay."""
        if self.table is None:
            return
        self.lookups += lookups
        self.hits += hits
        if self.lookups >= self.TRIAL and self.hits * 2 < self.lookups:
            self.table = None
        elif len(self.table) > self.LIMIT:
            self.table.clear()

    def store(self, content: tuple[Any, ...], fired: Decided) -> None:
        if self.table is not None:
            self.table[content] = fired


@dataclass
class Step:
    """One level of an evaluation: first the assertion decided at this level (if any), then the rules."""

    level: int
    stage: Stage | None
    rules: list[CompiledRule]  # in pack order


# a segment's rule applications for one evaluation: (values, the _Run, its masks) -> None
Segment = Callable[[dict[str, Any], Any, list[Any]], None]


@dataclass
class Plan:
    """The compiled form of a pack, shared by every evaluation of it."""

    symbols: dict[tuple[str, str], Symbol]
    rules: list[CompiledRule]
    stages: list[Stage]
    steps: list[Step]
    definition: dict[str, Any]
    defaults: dict[str, dict[str, Any]]
    by_name: dict[str, CompiledRule]
    by_durable: dict[str, tuple[CompiledRule | Gate, ...]]  # durable rule name -> what it decides
    fact_fields: Fields
    # from one stage to the next: the stage and its levels' rule applications (see segment_runner),
    # without trace or reasons and as _Run.apply explains them
    segments: list[tuple[Stage | None, Segment, Segment]] = field(default_factory=list)
    # an evaluation's masks of what fired, one per stage and scope: 0 (household) or () (entities)
    masks: tuple[Any, ...] = ()
    flatten: dict[str, Flattener] = field(default_factory=dict)  # scope -> flattener of checked facts
    outputs: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # values -> SPEC §8 outputs
    scope_collection: dict[str, str] = field(default_factory=dict)  # scope -> its collection (pack.facts)


def symbol_table(pack: RulePack) -> dict[tuple[str, str], Symbol]:
    """Facts (from the pack's fact declarations), parameters and rule variables, keyed by (scope, name)."""
    symbols = dict(pack.facts.symbols)
    for p in pack.parameters.values():
        if ("household", p.name) in symbols:  # (its value would hide the household's own)
            raise RulePackError(f"{p.file}: parameter '{p.name}' has the name of a household fact",
                                [Problem(f"parameter '{p.name}' clashes with a household fact of the same name",
                                         f"参数 '{p.name}' 与家庭信息字段同名", file=p.file,
                                         line=p.line or None, path=f"parameters.{p.name}")])
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
            compiled.append(_compile_rule(rule, f"r{i:03d}_{rule.id.replace('.', '_')}", symbols,
                                          pack.labels))
            compiled[-1].order = i
        except ExpressionError as exc:
            zh = exc.message_zh or f"表达式错误：{exc}"
            found.append(Problem(f"rule {rule.id}: {exc}", f"规则 {rule.id}：{zh}",
                                 file=rule.file, line=rule.line_of(exc.where), path=f"rules.{rule.id}"))
    found += _check_outputs(pack, symbols)
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


def _compile_rule(rule: Rule, name: str, symbols: dict[tuple[str, str], Symbol],
                  labels: Labels | None = None) -> CompiledRule:
    cr = CompiledRule(rule, name)
    compiler = Compiler(symbols, rule.scope)
    _check_size(rule)
    if rule.when:
        try:
            cond, keys, checked = compiler.to_condition(rule.when)
        except ExpressionError as exc:
            raise exc.within("when") from None
        cr.keys, cr.reads = keys, set(checked.reads)
        cr.condition, cr.cond_reads = cond, _key_reads(keys)
    local: dict[str, str] = {}
    for var, source in rule.assignments:
        target = symbols.get((rule.scope, var))
        if target is None or target.kind != "variable":
            hint = [n for (s, n), sym in symbols.items() if s == rule.scope and sym.kind == "variable"]
            raise ExpressionError(f"set: '{var}' is not a declared {rule.scope} variable"
                                  + (f" (declared: {', '.join(sorted(hint)[:8])}…)" if hint else ""), f"set.{var}")
        try:
            c = Compiler(symbols, rule.scope).with_locals(local).compile(source)
        except ExpressionError as exc:
            raise exc.within(f"set.{var}") from None
        if not _assignable(target.type, c.type):
            raise ExpressionError(f"set {var}: a {target.type} cannot be set to a {c.type} ('{source}')",
                                  f"set.{var}")
        cr.assignments.append((var, c))
        cr.apply_reads |= c.reads
        cr.reads_earlier |= c.reads_earlier
        local[var] = target.type
    if rule.reason:
        cr.reason = _compile_reason(rule, symbols, labels or {}, cr)
    cr.reads |= cr.apply_reads
    cr.parameters = sorted(n for (s, n) in cr.reads if symbols.get((s, n), None) is not None
                           and symbols[(s, n)].kind == "parameter")
    cr.inputs = sorted((s, n) for (s, n) in cr.reads if symbols.get((s, n)) is not None
                       and symbols[(s, n)].kind in ("fact", "variable", "input"))
    return cr


def _check_size(rule: Rule) -> None:
    """Each expression of the rule within the declared limits, and all of them together (see ``limits``)."""
    counts = []
    for where, source in ([("when", rule.when)] if rule.when else []) + [(f"set.{v}", s) for v, s in rule.assignments]:
        try:
            counts.append(limits.parse(source)[1] if source.strip() else 0)
        except limits.LimitError as exc:
            raise ExpressionError(str(exc), message_zh=exc.message_zh).within(where) from None
    try:
        limits.rule_nodes(counts)
    except limits.LimitError as exc:
        raise ExpressionError(str(exc), "when" if rule.when else None, exc.message_zh) from None


def _compile_reason(rule: Rule, symbols: dict[tuple[str, str], Symbol], labels: Labels,
                    cr: CompiledRule) -> Template:
    """The reason's sentences with each placeholder compiled as an expression of the rule's scope
    (what it reads is added to ``cr.apply_reads``); ExpressionError for an unknown name or format."""
    assert rule.reason is not None
    own = {(rule.scope, var) for var, _ in rule.assignments}
    sentences = []
    for lang, text in (("zh", rule.reason.zh), ("en", rule.reason.en)):
        parts: list[str | Slot] = []
        for part in split(text):
            if isinstance(part, str):
                parts.append(part)
                continue
            source, fmt = part
            if fmt is not None and fmt not in FORMATS:
                raise ExpressionError(f"reason: unknown format ':{fmt}' in {{{source}:{fmt}}}; "
                                      f"use one of {', '.join(FORMATS)}", f"reason.{lang}",
                                      f"理由：未知格式 ':{fmt}'，可用 {', '.join(FORMATS)}")
            try:
                compiled = Compiler(symbols, rule.scope).compile(source)
            except ExpressionError as exc:
                raise ExpressionError(f"reason: placeholder {{{source}}}: {exc.args[0]}", f"reason.{lang}",
                                      f"理由：占位符 {{{source}}} 有误") from None
            cr.apply_reads |= {r for r in compiled.reads if r not in own}  # its own values: set just before
            cr.reads_earlier |= compiled.reads_earlier
            table = None
            if fmt == "member":
                cr.apply_reads |= {("member", f) for f in ("id", "name", "relation") if ("member", f) in symbols}
                table = labels.get("relation")
            elif fmt == "label":
                name = source.rsplit(".", 1)[-1]
                table = labels.get(name)
                if table is None:
                    raise ExpressionError(f"reason: {{{source}:label}} needs labels for '{name}' "
                                          f"(declare them under labels: in a rules file)", f"reason.{lang}",
                                          f"理由：{{{source}:label}} 需要在 labels 中声明 '{name}' 的名称")
            parts.append(Slot(source, compiled.fn, fmt, table))
        sentences.append(tuple(parts))
    return sentences[0], sentences[1]


def _assignable(target: str, value: str) -> bool:
    numeric = {"money", "number", "int"}
    if target == value or value == "null":
        return True
    if target in ("money", "number") and value in numeric:
        return True
    return target == "int" and value == "int"


def content_builder(stage: int, scope: str, fields: list[tuple[str, bool, str, str]],
                    short: dict[str, str]) -> tuple[
        Callable[[dict[str, Any], dict[str, Any] | None], tuple[Any, ...]],
        Callable[[tuple[Any, ...]], dict[str, Any]]]:
    """Two functions generated for the fields of ``scope``'s facts at ``stage``: content and fact.

    ``content(values, entity)`` gives the fact's values, one per field, as a loop over ``fields``
    calling ``encode_for_durable`` would, unrolled (facts are needed for every household at every
    stage). None stands for a value the fact leaves out; lists become tuples, so that the content
    can key a ``Memo``. ``fact(content)`` makes the durable-rules fact of a content, its
    properties called by their ``short`` names. Names from
    the pack appear only as string literals (``repr``). A value that cannot be encoded raises
    ValueError; the caller reports which one.
    """
    lines, names, fact_lines = [], [], []
    for i, (dkey, from_entity, name, type_) in enumerate(fields):
        source = "ent" if from_entity else "values"
        lines.append(f"    v = {source}[{name!r}]")
        if type_ == "null":
            lines.append(f"    c{i} = v is None")
            fact_lines.append(f"    f[{short[dkey]!r}] = c{i}")
        else:
            if type_ == "money":
                convert = f"v * 100 if v.__class__ is int else encode({type_!r}, v)"
            elif type_ in ("int", "bool", "str", "number"):
                convert = f"v if v.__class__ in PLAIN else encode({type_!r}, v)"
            else:
                convert = f"encode({type_!r}, v)"
            lines.append(f"    c{i} = None if v is None else {convert}")
            fact_lines.append(f"    if c{i} is not None: f[{short[dkey]!r}] = c{i}")
        names.append(f"c{i}")
    unpacked = f"{', '.join(names)}{',' if len(names) == 1 else ''}"
    head = f"    f = {{'stage': {stage!r}, 'scope': {scope!r}}}"
    source = "\n".join(["def content(values, ent):", *lines, f"    return ({unpacked})", "",
                        "def fact(content):", *([f"    {unpacked} = content"] if names else []), head,
                        *fact_lines, "    return f", ""])
    namespace: dict[str, Any] = {"encode": _hashable_encoding, "PLAIN": (bool, int, str)}
    exec(compile(source, f"<facts of stage {stage}, {scope}>", "exec"), namespace)  # noqa: S102 - our own text
    return namespace["content"], namespace["fact"]


def rule_runner(cr: CompiledRule) -> Callable[[dict[str, Any], int, Any], None]:
    """The application of a rule (without trace or reasons) as one generated function.

    ``runner(values, position, run)`` does what ``_Run.apply`` does for a rule whose assignments all
    have generated functions: compute each (a whole Fraction becomes an int), check with
    ``run.claim`` that no other rule set a value that several rules may set, store it. An
    exception is left to the caller, who applies the rule again through ``_Run.apply`` to explain it.
    """
    namespace: dict[str, Any] = {}
    lines = ["def runner(values, position, run):",
             *_application(cr, "position", "    ", namespace, f"values[{cr.collection!r}]")]
    exec(compile("\n".join(lines) + "\n", f"<rule {cr.rule.id}>", "exec"), namespace)  # noqa: S102 - our own text
    return namespace["runner"]


def _application(cr: CompiledRule, position: str, indent: str, namespace: dict[str, Any], items: str) -> list[str]:
    """The lines of ``rule_runner``'s function body, for ``values``, ``run`` and a ``position`` (an
    expression) in scope, ``items`` the expression of the rule's entities; names in ``namespace``
    carry the rule's order, so that the bodies of several rules can share one function."""
    n = cr.order
    namespace.update({"Fraction": Fraction, "NO_EARLIER": [], f"cr{n}": cr})
    lines = []
    if cr.collection is None:
        lines.append("target = values")
        ent, earlier = "None", "NO_EARLIER"
    else:
        lines.append(f"target = {items}[{position}]")
        ent, earlier = "target", "NO_EARLIER"
        if cr.reads_earlier:
            lines.append(f"earlier = {items}[:{position}]")
            earlier = "earlier"
    for k, (var, compiled) in enumerate(cr.assignments):
        namespace[f"compute{n}_{k}"] = compiled.direct
        lines += [f"v = compute{n}_{k}(values, {ent}, {earlier})",
                  "if v.__class__ is Fraction and v.denominator == 1:", "    v = int(v)"]
        if var in cr.contested:
            lines.append(f"run.claim(cr{n}, {var!r}, target, {ent}, {position})")
        lines.append(f"target[{var!r}] = v")
    return [indent + line for line in lines]


def segment_runner(steps: list[Step], *, explain: bool) -> Segment:
    """The rule applications of a segment's levels for one evaluation, as one generated function.

    ``segment(values, run, masks)`` applies, level by level, every rule without a condition and
    every rule whose condition held (its bit is set in ``masks``, see ``evaluate._match``): at a
    level, first the household's rules in the order of the pack, then entity by entity in input
    order (members, claims and incidents at the same position together), each entity's rules in the
    order of the pack. A rule applies as its runner would, its body written in line (``_application``),
    or, when ``explain`` (trace, reasons, or to say which assignment failed) or it has no runner,
    through ``run.apply``. Applying a segment again from its start gives the same values: a rule reads
    only values set at earlier levels (or, for a running total, its own at earlier entities).
    """
    namespace: dict[str, Any] = {}
    body: list[str] = []
    collections: set[str] = set()
    used: set[int] = set()

    def call(cr: CompiledRule, position: str, indent: str) -> list[str]:
        namespace[f"cr{cr.order}"] = cr
        if explain or cr.runner is None:
            return [f"{indent}apply(cr{cr.order}, {position})"]
        return _application(cr, position, indent, namespace, f"items_{cr.collection}")

    for step in steps:
        body.append(f"    # level {step.level}")
        entity_rules = [cr for cr in step.rules if cr.collection is not None]
        for cr in step.rules:
            if cr.collection is not None:
                continue
            if cr.condition is None:
                body += call(cr, "-1", "    ")
            else:
                used.add(cr.mask)
                body += [f"    if mask{cr.mask} & {cr.bit}:", *call(cr, "-1", "        ")]
        if not entity_rules:
            continue
        among = sorted({cr.collection for cr in entity_rules if cr.collection is not None})
        collections.update(among)
        count = f"n_{among[0]}" if len(among) == 1 else f"max({', '.join(f'n_{c}' for c in among)})"
        body.append(f"    for p in range({count}):")
        for mask in sorted({cr.mask for cr in entity_rules if cr.condition is not None}):
            used.add(mask)
            body.append(f"        bits{mask} = mask{mask}[p] if p < len(mask{mask}) else 0")
        for cr in entity_rules:
            if cr.condition is not None:
                body += [f"        if bits{cr.mask} & {cr.bit}:", *call(cr, "p", "            ")]
            elif len(among) == 1:
                body += call(cr, "p", "        ")
            else:
                body += [f"        if p < n_{cr.collection}:", *call(cr, "p", "            ")]
    head = ["def segment(values, run, masks):", "    apply = run.apply"]
    for c in sorted(collections):
        head += [f"    items_{c} = values[{c!r}]", f"    n_{c} = len(items_{c})"]
    head += [f"    mask{m} = masks[{m}]" for m in sorted(used)]
    source = "\n".join(head + body + ["    return", ""])
    exec(compile(source, "<levels from stage>", "exec"), namespace)  # noqa: S102 - our own text
    segment: Segment = namespace["segment"]
    return segment


def output_builder(outputs: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function from an evaluation's values to the pack's outputs (as ``decision.plain`` shows them).

    Generated for the pack's ``outputs``, as ``content_builder`` is for facts; names from the pack
    appear only as string literals.
    """
    def shown(source: str) -> str:  # decision.plain, its first test inlined
        return f"(v if (v := {source}).__class__ in SIMPLE else plain(v))"

    lines = ["def outputs(values):", "    out = {}"]
    for name, spec in outputs.items():
        if isinstance(spec, str):
            lines.append(f"    out[{name!r}] = {shown(f'values[{spec!r}]')}")
        elif "each" in spec:
            fields = ", ".join(f"{f!r}: {shown(f'item[{src!r}] if {src!r} in item else values[{src!r}]')}"
                               for f, src in spec["fields"].items())
            w = spec.get("where")
            where = f" if (item[{w!r}] if {w!r} in item else values[{w!r}])" if w else ""
            lines.append(f"    out[{name!r}] = [{{{fields}}} for item in values[{spec['each']!r}]{where}]")
        else:
            fields = ", ".join(f"{f!r}: {shown(f'values[{src!r}]')}" for f, src in spec.items())
            lines.append(f"    out[{name!r}] = {{{fields}}}")
    lines.append("    return out\n")
    namespace: dict[str, Any] = {"plain": plain, "SIMPLE": (int, bool, str, type(None))}
    exec(compile("\n".join(lines), "<outputs>", "exec"), namespace)  # noqa: S102 - our own text
    return namespace["outputs"]


def _hashable_encoding(type_: str, value: Any) -> Any:
    encoded = encode_for_durable(type_, value)
    return tuple(encoded) if encoded.__class__ is list else encoded


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


def _key_reads(keys: dict[str, Symbol]) -> set[tuple[str, str]]:
    """The values behind a condition's fact keys (a null flag reads its value)."""
    return {(sym.scope, sym.name[:-6] if sym.kind == "null-flag" else sym.name) for sym in keys.values()}


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
                cond, keys, _ = Compiler(symbols, cr.rule.scope, inline).to_condition(cr.rule.when or "")
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
            cr.cond_reads = _key_reads(cr.keys)


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

    ``dibao.safety_net and member.student != none`` needs, matched on one member fact, the household's
    incomes and assets in every member's fact: member facts then differ from household to household
    and each must be asserted. Split at the top-level ``$and``, the conjuncts that read only household
    values are matched once on the household fact (one gate per distinct household part), the rest
    on the entity's fact, which repeats across households (and is then not asserted again, see
    ``Memo``). A missing value still fails its conjunct, so the split decides exactly the same.
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
            collection = pack.facts.by_name.get(spec["each"])
            if collection is None:
                hint = difflib.get_close_matches(spec["each"], list(pack.facts.by_name), n=1)
                found.append(Problem(f"output {out}: 'each: {spec['each']}' is not a collection of the household"
                                     + (f"; did you mean '{hint[0]}'?" if hint else
                                        f" (collections: {', '.join(pack.facts.by_name)})"),
                                     f"输出 {out}：'{spec['each']}' 不是家庭信息中的列表", file=pack.pack_file,
                                     line=pack.output_lines.get(out), path=f"outputs.{out}.each"))
                continue
            scope = collection.scope
            for f, name in spec["fields"].items():
                check(name, scope, f"{out}.{f}")
            if "where" in spec:
                check(spec["where"], scope, f"{out}.where")
        else:
            for f, name in spec.items():
                check(name, "household", f"{out}.{f}")
    for t in pack.tests:
        for key in t.expect or {}:
            if key not in pack.outputs:
                found.append(Problem(f"test '{t.name}': '{key}' is not an output of the pack",
                                     f"测试 '{t.name}'：'{key}' 不是规则包的输出", file=t.file, line=t.line))
    return found
