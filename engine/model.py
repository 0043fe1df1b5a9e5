"""The vocabulary of a rule pack as frozen dataclasses, passed between the stages of the engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Text:
    """A label or sentence in Chinese and English."""

    zh: str
    en: str


@dataclass(frozen=True)
class Jurisdiction:
    """One administrative division (GB/T 2260 code) in the inheritance tree."""

    code: str
    name: str
    level: str  # province | city | county
    parent: str | None


@dataclass(frozen=True)
class Bound:
    """A limit on a parameter's values: another parameter's value (resolved at root, parent or self), optionally
    ``times`` a multiplier, or a constant ``value`` (a number or a date), binding the jurisdictions of ``levels``
    (None: every level)."""

    parameter: str | None  # None: the constant ``value``
    of: str  # root | parent | self
    reference: str
    value: Any = None
    levels: tuple[str, ...] | None = None
    times: Any = None  # the other parameter's value is multiplied by this exact number (None: 1)

    def applied(self, limit: Any) -> Any:
        """The limit this bound sets given the other parameter's value: times that value (tables entry by entry)."""
        if self.times is None or limit is None:
            return limit
        if isinstance(limit, dict):
            return {k: v * self.times for k, v in limit.items()}
        return limit * self.times


@dataclass(frozen=True)
class Parameter:
    """A policy parameter declared once, with values dated per jurisdiction."""

    name: str
    label: Text
    unit: Text
    type: str
    reference: str
    minimum: Any = None
    maximum: Any = None
    set_by: tuple[str, ...] = ("province", "city", "county")
    at_least: tuple[Bound, ...] = ()
    at_most: tuple[Bound, ...] = ()
    fixed: Any = None  # the one value allowed (None: not fixed)
    description: Text | None = None
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class DatedValue:
    """A value of a parameter for a jurisdiction from a date on (or ``inherit`` from its parent)."""

    parameter: str
    jurisdiction: str
    start: dt.date
    value: Any
    inherit: bool
    document: str | None
    reason: str | None = None
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Variable:
    """A value computed by rules, with the default it has where no rule sets it."""

    name: str
    scope: str
    type: str
    default: Any
    label: Text
    file: str = ""


@dataclass(frozen=True)
class Rule:
    """A programme rule: when its condition holds (matched by durable-rules) it sets values."""

    id: str
    title: Text
    reference: str
    programme: str
    scope: str  # household | member | claim | incident
    when: str | None
    assignments: tuple[tuple[str, str], ...]
    reason: Text | None
    file: str = ""
    line: int = 0
    key_lines: tuple[tuple[str, int], ...] = ()  # ("when", 12), ("set.counted", 13), ("reason", 14)

    def line_of(self, where: str | None) -> int:
        """The line of a part of the rule in its file (the rule's first line if unknown)."""
        return dict(self.key_lines).get(where or "", self.line)


@dataclass(frozen=True)
class PolicyTest:
    """A household and a date with the outputs (or the error) the pack must produce."""

    name: str
    as_of: dt.date
    household: dict[str, Any]
    expect: dict[str, Any] | None
    expect_error: str | None
    file: str = ""
    line: int = 0
    edit: dict[str, Any] | None = None  # a limit test: this dated value set, then the pack valid or refused
    # text the reasons must contain: {"zh": [...], "en": [...], "last_zh": ..., "last_en": ..., "never": [...]}
    expect_reasons: dict[str, Any] | None = None


@dataclass(frozen=True)
class CodeList:
    """The codes a household field may hold (e.g. diseases), each with its name in Chinese and English."""

    name: str
    label: Text
    fields: tuple[str, ...]  # household paths that hold these codes: ``medical_claims.disease``
    parameters: tuple[str, ...]  # parameters whose values are lists of these codes
    values: dict[str, Text]


@dataclass(frozen=True)
class RulePack:
    """A whole rule pack, loaded, validated and compiled; identified by its content digest."""

    id: str
    title: Text
    root: str
    illustrative: bool
    notice: Text | None
    documents: tuple[dict[str, Any], ...]
    jurisdictions: dict[str, Jurisdiction]
    parameters: dict[str, Parameter]
    values: tuple[DatedValue, ...]
    variables: dict[tuple[str, str], Variable]
    rules: tuple[Rule, ...]
    outputs: dict[str, Any]
    tests: tuple[PolicyTest, ...]
    digest: str
    sources: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    files: dict[str, str] = field(repr=False, compare=False, default_factory=dict)  # YAML text by path
    pack_file: str = "pack.yaml"
    output_lines: dict[str, int] = field(repr=False, compare=False, default_factory=dict)
    plan: Any = field(repr=False, compare=False, default=None)
    warnings: tuple[Any, ...] = field(repr=False, compare=False, default=())  # Problems that do not refuse
    codes: dict[str, CodeList] = field(repr=False, default_factory=dict)
    # names of codes for reasons (see engine.reasons): table → code → {"zh", "en"}, from rules files' labels:
    labels: dict[str, dict[str, dict[str, str]]] = field(repr=False, compare=False, default_factory=dict)
    # the household facts (engine.factsdecl.Facts): the base model with the pack's facts.yaml
    facts: Any = field(repr=False, compare=False, default=None)
    presentation: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)  # see engine.presentation

    def __repr__(self) -> str:
        return f"RulePack({self.id!r}, {self.digest[:19]}…)"

    def counties(self) -> list[Jurisdiction]:
        """Every county-level division of the pack, in code order."""
        return sorted((j for j in self.jurisdictions.values() if j.level == "county"), key=lambda j: j.code)

    def chain(self, code: str) -> list[str]:
        """The jurisdiction and its ancestors up to the root: county, city, province."""
        out = []
        current: str | None = code
        while current is not None:
            out.append(current)
            current = self.jurisdictions[current].parent
        return out
