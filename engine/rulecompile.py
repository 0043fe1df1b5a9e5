"""Check and compile each rule of a pack: the symbol table, conditions, assignments, reasons, outputs.

Every expression is checked against the symbols (facts, parameters, rule variables) and compiled
(``engine.compiler``, ``engine.conditions``); a problem is reported with the rule's file and line.
``engine.plan`` then orders the compiled rules into levels and stages.
"""

from __future__ import annotations

import difflib

from . import limits
from .compiled import CompiledRule
from .compiler import Compiler
from .conditions import ConditionCompiler
from .errors import Problem, RulePackError
from .expressions import ExpressionError, Symbol
from .model import Rule, RulePack
from .reasons import FORMATS, Labels, Slot, Template, split


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


def compile_rule(rule: Rule, name: str, symbols: dict[tuple[str, str], Symbol],
                  labels: Labels | None = None) -> CompiledRule:
    cr = CompiledRule(rule, name)
    compiler = ConditionCompiler(symbols, rule.scope)
    _check_size(rule)
    if rule.when:
        try:
            cond, keys, checked = compiler.to_condition(rule.when)
        except ExpressionError as exc:
            raise exc.within("when") from None
        cr.keys, cr.reads = keys, set(checked.reads)
        cr.condition, cr.cond_reads = cond, key_reads(keys)
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


def key_reads(keys: dict[str, Symbol]) -> set[tuple[str, str]]:
    """The values behind a condition's fact keys (a null flag reads its value)."""
    return {(sym.scope, sym.name[:-6] if sym.kind == "null-flag" else sym.name) for sym in keys.values()}


def check_outputs(pack: RulePack, symbols: dict[tuple[str, str], Symbol]) -> list[Problem]:
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
