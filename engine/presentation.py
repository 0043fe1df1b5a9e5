"""What a person reads of a pack's outputs: labels, units and kinds, the headline, the result page's sections,
the batch summary and what impact compares, from the pack's ``presentation:`` section (rules/README.md,
Presentation) with defaults from the rules' variables where the pack declares nothing.

Platform code shows outputs only through this: it never names an output of a pack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .amounts import format_amount
from .model import RulePack, Text

KINDS = ("amount", "count", "flag", "category", "list", "number", "percent", "date", "text")
UNITS = {"yuan": Text("元", "yuan"), "yuan_month": Text("元/月", "yuan/month"), "yuan_year": Text("元/年", "yuan/year"),
         "persons": Text("人", "persons"), "households": Text("户", "households"), "days": Text("天", "days"),
         "months": Text("个月", "months"), "years": Text("年", "years")}
KIND_OF_TYPE = {"money": "amount", "bool": "flag", "int": "count", "str": "category", "number": "number",
                "date": "date", "list": "text", "map": "text", "bands": "text"}
SINGULAR = {"persons": "person", "households": "household", "days": "day", "months": "month", "years": "year"}
OTHER = Text("其他结果", "Other results")
RESULTS = Text("结果", "Results")
YES_NO = {True: Text("是", "Yes"), False: Text("否", "No")}
NONE = "—"
TOP = 20  # movers listed by default


@dataclass(frozen=True)
class OutputInfo:
    """One output path as it is shown: label, kind, unit, the names of its values, a list's row fields."""

    path: str
    label: Text
    kind: str
    unit: Text | None = None
    values: dict[str, Text] = field(default_factory=dict)
    fields: dict[str, OutputInfo] = field(default_factory=dict)  # kind list: each row's fields in order
    codes: str | None = None  # the code list naming the values


@dataclass(frozen=True)
class Section:
    """A titled group of outputs on the result page."""

    label: Text
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class Aggregation:
    """Count households or sum an amount over output records, optionally by a category and where outputs hold."""

    name: str
    label: Text
    sum: str | None = None  # None: count households
    by: str | None = None
    where: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class ImpactSpec:
    """What comparing two versions reports: totals of amounts, counts of flags, movers ranked by one amount."""

    amounts: tuple[str, ...]
    flags: tuple[str, ...]
    movers_by: str | None
    top: int = TOP


@dataclass(frozen=True)
class Presentation:
    """Every output path of a pack (declared order, objects flattened to dotted paths) and how to show them."""

    outputs: dict[str, OutputInfo]
    headline: tuple[str, ...]
    sections: tuple[Section, ...]
    summary: tuple[Aggregation, ...]
    impact: ImpactSpec
    groups: dict[str, Text] = field(default_factory=dict)  # the labels of object outputs themselves

    def of_kind(self, *kinds: str) -> list[str]:
        """The paths of the outputs of these kinds, in order."""
        return [p for p, info in self.outputs.items() if info.kind in kinds]


_CACHE: dict[str, Presentation] = {}


def of(pack: RulePack) -> Presentation:
    """The presentation of ``pack`` (cached per pack digest)."""
    found = _CACHE.get(pack.digest)
    if found is None:
        if len(_CACHE) > 32:
            _CACHE.clear()
        found = _CACHE[pack.digest] = build(pack)
    return found


def output_paths(pack: RulePack) -> dict[str, tuple[str, Any]]:
    """Every output path of the pack → (shape, spec): ``value`` (a variable, parameter or fact name),
    ``list`` (one row per entity) or ``field`` (a value inside an object output, path ``object.field``)."""
    out: dict[str, tuple[str, Any]] = {}
    for name, spec in pack.outputs.items():
        if isinstance(spec, str):
            out[name] = ("value", spec)
        elif "each" in spec:
            out[name] = ("list", spec)
        else:
            for key, source in spec.items():
                out[f"{name}.{key}"] = ("field", source)
    return out


def build(pack: RulePack) -> Presentation:
    """The presentation of a pack whose ``presentation`` section is valid (see ``presentation_check``)."""
    declared = pack.presentation or {}
    shown = declared.get("outputs", {})
    outputs: dict[str, OutputInfo] = {}
    for path, (shape, spec) in output_paths(pack).items():
        if shape == "list":
            outputs[path] = _list_info(pack, path, spec, shown.get(path, {}))
        else:
            outputs[path] = _info(pack, path, _default(pack, spec, "household"), shown.get(path, {}))
    groups = {name: _text(shown[name]["label"]) for name, spec in pack.outputs.items()
              if isinstance(spec, dict) and "each" not in spec and "label" in shown.get(name, {})}
    headline = tuple(expand(pack, declared.get("headline", ())))
    return Presentation(outputs, headline, _sections(pack, declared, outputs), _summary(declared, outputs),
                        _impact(declared, outputs, headline), groups)


def expand(pack: RulePack, paths: Any) -> list[str]:
    """Output paths as written in the presentation, an object output's name standing for its fields."""
    out: list[str] = []
    for path in paths:
        spec = pack.outputs.get(path)
        if isinstance(spec, dict) and "each" not in spec:
            out += [f"{path}.{key}" for key in spec]
        else:
            out.append(path)
    return out


def _text(node: Any) -> Text:
    return Text(node["zh"], node["en"])


def _unit(node: Any) -> Text | None:
    if node is None:
        return None
    return UNITS[node] if isinstance(node, str) else _text(node)


def _default(pack: RulePack, source: str, *scopes: str, name: str = "") -> tuple[Text, str, str | None]:
    """Label, kind and unit of a value computed from ``source``: a rule variable, else a parameter, else a fact."""
    variable = next((pack.variables[(s, source)] for s in scopes if (s, source) in pack.variables), None)
    if variable is None:
        variable = next((v for (s, n), v in pack.variables.items() if n == source), None) if len(scopes) > 1 else None
    if variable is not None:
        kind = KIND_OF_TYPE.get(variable.type, "text")
        return variable.label, kind, "yuan" if kind == "amount" else None
    parameter = pack.parameters.get(source)
    if parameter is not None:
        kind = KIND_OF_TYPE.get(parameter.type, "text")
        return parameter.label, kind, "yuan" if kind == "amount" else None
    return Text(name or source, name or source), "text", None


def _info(pack: RulePack, path: str, default: tuple[Text, str, str | None], declared: dict[str, Any]) -> OutputInfo:
    label, kind, unit = default
    kind = declared.get("kind", kind)
    unit_node = declared.get("unit", unit if kind == "amount" else None)
    values = {str(k): _text(v) for k, v in declared.get("values", {}).items()}
    codes = declared.get("codes")
    if codes and codes in pack.codes:
        values = {**pack.codes[codes].values, **values}
    if kind == "flag":
        values = values or dict(zip(("true", "false"), YES_NO.values(), strict=True))
    return OutputInfo(path, _text(declared["label"]) if "label" in declared else label, kind, _unit(unit_node),
                      values, {}, codes)


def _list_info(pack: RulePack, path: str, spec: dict[str, Any], declared: dict[str, Any]) -> OutputInfo:
    label = _text(spec["label"]) if "label" in spec else Text(path, path)
    if "label" in declared:
        label = _text(declared["label"])
    shown = declared.get("fields", {})
    fields = {name: _info(pack, f"{path}.{name}", _default(pack, source, "entity", "household", name=name),
                          shown.get(name, {})) for name, source in spec["fields"].items()}
    return OutputInfo(path, label, "list", None, {}, fields)


def _sections(pack: RulePack, declared: dict[str, Any], outputs: dict[str, OutputInfo]) -> tuple[Section, ...]:
    sections = [Section(_text(s["label"]), tuple(expand(pack, s["outputs"]))) for s in declared.get("sections", ())]
    placed = {p for s in sections for p in s.outputs}
    rest = tuple(p for p in outputs if p not in placed)
    if rest:  # an output no section names is still shown
        sections.append(Section(OTHER if sections else RESULTS, rest))
    return tuple(sections)


def _summary(declared: dict[str, Any], outputs: dict[str, OutputInfo]) -> tuple[Aggregation, ...]:
    if "summary" in declared:
        return tuple(Aggregation(a["name"], _text(a["label"]) if "label" in a else _agg_label(a, outputs),
                                 a.get("sum"), a.get("by"), tuple(a.get("where", {}).items()))
                     for a in declared["summary"])
    out = [Aggregation(p, outputs[p].label, None, None, ((p, True),)) for p, i in outputs.items() if i.kind == "flag"]
    out += [Aggregation(p, outputs[p].label, p) for p, i in outputs.items() if i.kind == "amount"]
    out += [Aggregation(p, outputs[p].label, None, p) for p, i in outputs.items() if i.kind == "category"]
    return tuple(out)


def _agg_label(spec: dict[str, Any], outputs: dict[str, OutputInfo]) -> Text:
    path = spec.get("sum") or spec.get("by")
    if path in outputs:
        return outputs[path].label
    return Text("户数", "Households")


def _impact(declared: dict[str, Any], outputs: dict[str, OutputInfo], headline: tuple[str, ...]) -> ImpactSpec:
    spec = declared.get("impact", {})
    amounts = tuple(spec.get("amounts", [p for p, i in outputs.items() if i.kind == "amount"]))
    flags = tuple(spec.get("flags", [p for p, i in outputs.items() if i.kind == "flag"]))
    movers = spec.get("movers", {})
    by = movers.get("by") or next((p for p in headline if p in outputs and outputs[p].kind == "amount"), None) or next(
        iter(amounts), None)
    return ImpactSpec(amounts, flags, by, movers.get("top", TOP))


# -- reading and showing values --------------------------------------------------------------------------


def value_at(outputs: dict[str, Any], path: str) -> Any:
    """The value of a dotted output path in a decision's outputs (None where there is none)."""
    head, _sep, tail = path.partition(".")
    value = outputs.get(head)
    if tail:
        return value.get(tail) if isinstance(value, dict) else None
    return value


def unit_text(info: OutputInfo, lang: str = "zh") -> str:
    """The unit of an output in ``lang`` ('' for none)."""
    return "" if info.unit is None else getattr(info.unit, lang)


def label_text(info: OutputInfo, lang: str = "zh") -> str:
    """The label of an output in ``lang``."""
    return getattr(info.label, lang)


def value_text(info: OutputInfo, value: Any, lang: str = "zh") -> str:
    """An output's value as a person reads it: 是/否, 363 元/月, 3 人, a category's name, rows of a list."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return getattr(info.values.get(str(value).lower(), YES_NO[value]), lang)
    if info.kind == "list" and isinstance(value, list):
        return "；".join(row_text(info, row, lang) for row in value) or NONE
    if isinstance(value, str):
        name = info.values.get(value)
        return getattr(name, lang) if name is not None else value
    if isinstance(value, list | tuple):
        return "、".join(value_text(info, v, lang) for v in value) or NONE
    if isinstance(value, dict):
        return "；".join(f"{k}: {format_amount(v)}" for k, v in value.items())
    text = format_amount(value)
    unit = unit_text(info, lang)
    if info.kind == "percent":
        return f"{text}%"
    if not unit:
        return text
    if lang == "en" and value == 1:  # 1 person, 1 day (a pack's own unit: as the pack writes it)
        unit = SINGULAR.get(unit, unit)
    return f"{text} {unit}"


def row_text(info: OutputInfo, row: Any, lang: str = "zh") -> str:
    """One row of a list output: its fields' labels and values."""
    if not isinstance(row, dict):
        return str(row)
    return "，".join(f"{label_text(f, lang)} {value_text(f, row.get(name), lang)}" for name, f in info.fields.items())


def plain_value(info: OutputInfo, value: Any, lang: str = "zh") -> str:
    """A value for a table cell or CSV file: numbers bare, categories and flags by name, lists by their rows."""
    if isinstance(value, bool) or info.kind in ("category", "list") or isinstance(value, str):
        return value_text(info, value, lang)
    return NONE if value is None else format_amount(value)
