"""The household facts a pack declares (``kind: facts``), added to the platform's base model.

``schemas/base-facts.yaml`` holds what every social-assistance case records (household id, county,
members with their incomes, assets); a pack's ``facts.yaml`` adds household fields, member fields and
collections (one row per claim, incident, …) with types, enums and zh/en labels. From the merged
:class:`Facts` come the household JSON Schema and the expression symbols (``engine.factschema``), the
checks of ``engine.facts``, the CSV roll columns, synth and the web form. See rules/README.md (Facts).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from .errors import Problem, RulePackError
from .model import Text
from .source import plain

BASE_FILE = Path(__file__).resolve().parent.parent / "schemas" / "base-facts.yaml"
TYPES = ("money", "number", "int", "bool", "date", "text", "enum", "code", "member", "money_by_member")
MONEY_MAX = 1_000_000_000_000
ID_LENGTH = 32  # a member id, as the base model bounds it (member fields refer to it)


@dataclass(frozen=True)
class FactField:
    """A declared field: a value (``type``) or an object of fields (``type`` ``object``)."""

    name: str
    path: str  # dotted within its scope: ``income.wages``
    type: str  # one of TYPES, or object
    label: Text
    required: bool = False
    nullable: bool = False
    has_default: bool = False
    default: Any = None
    description: Text | None = None
    minimum: Any = None
    maximum: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    values: dict[str, Text] = field(default_factory=dict)  # enum: value -> label
    codes: str | None = None  # code: the pack's code list
    fields: tuple[FactField, ...] = ()  # object: its fields
    column: str = ""  # its column in a CSV roll
    file: str = ""
    line: int = 0

    def walk(self) -> list[FactField]:
        """This field, or the fields of an object (one level)."""
        return [self] if self.type != "object" else [f for sub in self.fields for f in sub.walk()]


@dataclass(frozen=True)
class Collection:
    """A list of entities in the household (members, medical claims): its json key, the scope its rules
    run in (``for_each: claim``) and the name expressions use for it (``claims``)."""

    key: str
    scope: str
    name: str
    label: Text
    item_label: Text
    fields: tuple[FactField, ...]
    min_items: int = 0
    max_items: int = 100
    file: str = ""
    line: int = 0

    def leaves(self) -> list[FactField]:
        """Every value field of an item (objects' fields included), in declared order."""
        return [f for top in self.fields for f in top.walk()]


@dataclass(frozen=True)
class Facts:
    """A pack's household model: the base model with the pack's own fields and collections."""

    household: tuple[FactField, ...]
    collections: tuple[Collection, ...]  # members first
    synth: dict[str, Any] = field(default_factory=dict)
    file: str | None = None  # the pack's facts document, None: the base model alone

    @cached_property
    def members(self) -> Collection:
        """The household members (scope ``member``)."""
        return self.by_scope["member"]

    @cached_property
    def by_scope(self) -> dict[str, Collection]:
        return {c.scope: c for c in self.collections}

    @cached_property
    def by_key(self) -> dict[str, Collection]:
        return {c.key: c for c in self.collections}

    @cached_property
    def by_name(self) -> dict[str, Collection]:
        return {c.name: c for c in self.collections}

    @cached_property
    def table(self) -> tuple[tuple[str, str, str], ...]:
        """The one table of collections: (json key, scope, expression name)."""
        return tuple((c.key, c.scope, c.name) for c in self.collections)

    @cached_property
    def scopes(self) -> tuple[str, ...]:
        """``household`` and the scope of each collection."""
        return ("household", *(c.scope for c in self.collections))

    @cached_property
    def scope_collection(self) -> dict[str, str]:
        """Scope -> the expression name of its collection (``claim`` -> ``claims``)."""
        return {c.scope: c.name for c in self.collections}

    def leaves(self) -> list[FactField]:
        """Every household value field (objects' fields included), in declared order."""
        return [f for top in self.household for f in top.walk()]

    def code_fields(self) -> dict[str, list[str]]:
        """Code list -> the household paths holding its codes (``medical_claims.disease``)."""
        out: dict[str, list[str]] = {}
        for f in self.leaves():
            if f.type == "code" and f.codes:
                out.setdefault(f.codes, []).append(f.path)
        for c in self.collections:
            for f in c.leaves():
                if f.type == "code" and f.codes:
                    out.setdefault(f.codes, []).append(f"{c.key}.{f.path}")
        return out

    @cached_property
    def schema(self) -> dict[str, Any]:
        """The household JSON Schema (``engine.factschema``)."""
        from .factschema import household_schema
        return household_schema(self)

    @cached_property
    def schema_json(self) -> str:
        """The household JSON Schema as canonical JSON text (a cache key)."""
        return json.dumps(self.schema, ensure_ascii=False, sort_keys=True)

    @cached_property
    def validator(self) -> Any:
        """The schema's explaining validator (``schemas.problems_of``)."""
        from . import schemas
        return schemas.compile_validator(self.schema)

    @cached_property
    def fast(self) -> Any:
        """The schema's quick yes/no validator (``schemas.valid``)."""
        from . import schemas
        return schemas.compile_fast(self.schema)

    @cached_property
    def symbols(self) -> dict[tuple[str, str], Any]:
        """The expression symbols of the facts (``engine.factschema.symbols``)."""
        from .factschema import symbols
        return symbols(self)


def _text(node: Any) -> Text:
    return Text(node["zh"], node["en"])


def _line(node: Any, key: str) -> int:
    line_of = getattr(node, "line_of", None)
    return int(line_of(key) or 0) if line_of else 0


def _fields(node: Any, file: str, where: str, prefix: str, found: list[Problem],
            depth: int = 0) -> tuple[FactField, ...]:
    out = []
    for name, spec in (node or {}).items():
        out.append(_field(name, spec, file, _line(node, name), f"{where}.{name}", prefix + name, found, depth))
    return tuple(out)


def _field(name: str, spec: Any, file: str, line: int, where: str, path: str, found: list[Problem],
           depth: int) -> FactField:
    def bad(en: str, zh: str) -> None:
        found.append(Problem(f"{where}: {en}", f"{where}：{zh}", file=file, line=line, path=where))

    label = _text(spec["label"])
    if "fields" in spec:
        if "type" in spec:
            bad("an object has 'fields' and no 'type'", "对象字段只写 fields，不写 type")
        if depth:
            bad("objects nest one level only", "对象字段只能嵌套一层")
        extra = sorted(set(spec) - {"label", "fields", "required", "description"})  # column: its fields have theirs
        if extra:
            bad(f"an object takes label, fields, required and description, not {', '.join(extra)}",
                f"对象字段不能有 {'、'.join(extra)}")
        return FactField(name, path, "object", label, bool(spec.get("required")), fields=_fields(
            spec["fields"], file, where, path + ".", found, depth + 1), file=file, line=line,
            description=_text(spec["description"]) if "description" in spec else None)
    kind = spec.get("type")
    if kind is None:
        bad("a field needs a 'type' (or 'fields' for an object)", "字段需要 type（对象字段需要 fields）")
        kind = "text"
    if ("values" in spec) != (kind == "enum"):
        bad("'values' belongs to, and is needed by, type enum", "只有 enum 类型需要且可以写 values")
    if ("codes" in spec) != (kind == "code"):
        bad("'codes' belongs to, and is needed by, type code", "只有 code 类型需要且可以写 codes")
    if kind not in ("money", "number", "int") and ("minimum" in spec or "maximum" in spec):
        bad(f"minimum/maximum only apply to numbers, not {kind}", "只有数值字段可以设定上下限")
    if kind != "text" and any(k in spec for k in ("min_length", "max_length", "pattern")):
        bad(f"min_length/max_length/pattern only apply to text, not {kind}", "只有文本字段可以设定长度和格式")
    if "pattern" in spec:
        try:
            re.compile(spec["pattern"])
        except re.error as exc:
            bad(f"pattern is not a regular expression ({exc})", "pattern 不是有效的正则表达式")
    default = spec.get("default")
    if default is not None and not _fits(kind, default, spec):
        bad(f"default {default!r} is not a valid {kind}", f"默认值 {default!r} 不符合类型 {kind}")
    has_default = "default" in spec or kind == "money"
    return FactField(
        name, path, kind, label, bool(spec.get("required")), bool(spec.get("nullable")), has_default,
        0 if kind == "money" and "default" not in spec else default,
        _text(spec["description"]) if "description" in spec else None, spec.get("minimum"), spec.get("maximum"),
        spec.get("min_length"), spec.get("max_length"), spec.get("pattern"),
        {str(k): _text(v) for k, v in spec.get("values", {}).items()}, spec.get("codes"), (),
        spec.get("column") or path.replace(".", "_"), file, line)


def _fits(kind: str, value: Any, spec: Any) -> bool:
    if kind in ("money", "number"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "enum":
        return value in spec.get("values", {})
    if kind == "date":
        return isinstance(value, str) and bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))
    return isinstance(value, str)


def _merge(base: tuple[FactField, ...], extra: tuple[FactField, ...], found: list[Problem],
           where: str) -> tuple[FactField, ...]:
    """The base fields with a pack's added ones; an object of the base may get more fields."""
    out = {f.name: f for f in base}
    for f in extra:
        old = out.get(f.name)
        if old is None:
            out[f.name] = f
        elif old.type == f.type == "object":
            out[f.name] = FactField(old.name, old.path, "object", old.label, old.required,
                                    fields=_merge(old.fields, f.fields, found, f"{where}.{f.name}"),
                                    description=old.description, file=old.file, line=old.line)
        else:
            found.append(Problem(f"{where}.{f.name} is a field of the base model; choose another name",
                                 f"{where}.{f.name} 是基础字段，请换一个名称", file=f.file, line=f.line,
                                 path=f"{where}.{f.name}"))
    return tuple(out.values())


def _collections(node: Any, file: str, found: list[Problem]) -> list[Collection]:
    out = []
    for key, spec in (node or {}).items():
        where = f"collections.{key}"
        out.append(Collection(key, spec["scope"], spec["name"], _text(spec["label"]),
                              _text(spec.get("item_label", spec["label"])),
                              _fields(spec["fields"], file, where, "", found),
                              int(spec.get("min_items", 0)), int(spec.get("max_items", 100)),
                              file, _line(node, key)))
    return out


def build(doc: Any, file: str | None, base: Facts | None = None) -> Facts:
    """The facts of a schema-valid ``kind: facts`` document added to ``base`` (default: the base model);
    RulePackError names every problem with its file, line and field."""
    found: list[Problem] = []
    name = file or "facts.yaml"
    household = _fields(doc.get("household"), name, "household", "", found)
    member = _fields(doc.get("member"), name, "member", "", found)
    collections = _collections(doc.get("collections"), name, found)
    if base is None:
        facts = Facts(household, tuple(collections), dict(plain(doc.get("synth") or {})), file)
    else:
        members = base.members
        merged_members = Collection(members.key, members.scope, members.name, members.label, members.item_label,
                                    _merge(members.fields, member, found, "member"), members.min_items,
                                    members.max_items, members.file, members.line)
        facts = Facts(_merge(base.household, household, found, "household"),
                      (merged_members, *(c for c in base.collections if c.scope != "member"), *collections),
                      dict(plain(doc.get("synth") or {})), file)
    found += _check(facts, name, base is None)
    if found:
        raise RulePackError(f"{len(found)} problem(s) in the facts; first: {found[0]}", found,
                            message_zh=f"家庭信息字段声明有 {len(found)} 处错误")
    return facts


def _check(facts: Facts, file: str, is_base: bool) -> list[Problem]:
    found = []
    if "member" not in facts.by_scope:
        found.append(Problem("the model needs a collection of scope 'member'", "缺少 scope 为 member 的成员列表",
                             file=file, path="collections"))
    household_names = {f.name for f in facts.household}
    seen: dict[str, int] = {}
    for c in facts.collections:
        for what, value in (("key", c.key), ("scope", c.scope), ("name", c.name)):
            clash = value in household_names or value in ("household", "earlier", "as_of") or \
                (value in seen and seen[value] != id(c))
            if clash:
                found.append(Problem(f"collections.{c.key}: {what} '{value}' is already used",
                                     f"列表 {c.key} 的 {what} '{value}' 已被使用", file=c.file or file,
                                     line=c.line, path=f"collections.{c.key}.{what}"))
            seen.setdefault(value, id(c))
        if c.min_items > c.max_items:
            found.append(Problem(f"collections.{c.key}: min_items is above max_items",
                                 f"列表 {c.key} 的 min_items 大于 max_items",
                                 file=c.file or file, line=c.line, path=f"collections.{c.key}"))
        for f in c.leaves():
            if f.type == "money_by_member":
                found.append(Problem(f"collections.{c.key}.{f.path}: money_by_member belongs to the household",
                                     "money_by_member 只能用于家庭字段", file=f.file, line=f.line,
                                     path=f"collections.{c.key}.{f.path}"))
    if not is_base and "id" not in {f.name for f in facts.members.fields}:
        found.append(Problem("members need an 'id'", "成员需要 id 字段", file=file, path="member"))
    return found


@cache
def base() -> Facts:
    """The platform's base model (``schemas/base-facts.yaml``), loaded and checked like a pack's document."""
    from . import schemas
    from .source import line_at, parse_yaml
    name = "schemas/base-facts.yaml"
    doc = parse_yaml(BASE_FILE.read_text(encoding="utf-8"), name)
    errs, head = schemas.problems("facts", doc, file=name, line_of=lambda p: line_at(doc, p))
    if errs:
        raise RulePackError(f"{name}: {head}", errs)
    return build(doc, name)


def of_documents(documents: list[tuple[str, Any]]) -> Facts:
    """The facts of a pack from its (at most one) schema-valid ``kind: facts`` document."""
    if not documents:
        return base()
    if len(documents) > 1:
        names = ", ".join(n for n, _ in documents)
        raise RulePackError(f"a rule pack has at most one document of kind 'facts' (found {names})",
                            [Problem(f"a second document of kind 'facts' (also {documents[0][0]})",
                                     "规则包最多只能有一个 kind: facts 文档", file=documents[1][0])])
    name, doc = documents[0]
    return build(doc, name, base())
