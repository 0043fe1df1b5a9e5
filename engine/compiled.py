"""The compiled form of a pack, shared by every evaluation of it: rules, gates, stages, steps, the plan.

``engine.plan`` builds it (see there how rules are ordered into levels and stages);
``engine.evaluate`` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .expressions import Compiled, Symbol
from .facts import Fields, Flattener
from .model import Rule
from .reasons import Template


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
