"""Generated functions an evaluation runs: fact contents, rule applications, level segments, outputs.

Each is Python source written for one pack and compiled once (``exec`` of our own text): names
from the pack appear only as string literals (``repr``). ``engine.plan`` builds them into the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .amounts import Fraction
from .compiled import CompiledRule, Segment, Step
from .conditions import encode_for_durable
from .decision import plain


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
