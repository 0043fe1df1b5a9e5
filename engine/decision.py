"""The decision an evaluation returns: outputs, trace and reasons (docs/semantics.md §8), as data."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .amounts import Fraction, json_number
from .model import Text


def plain(value: Any) -> Any:
    """A computed value as JSON-ready data: numbers to 2 decimals, dates as ISO text."""
    kind = value.__class__
    if kind is int or kind is bool or kind is str or value is None:
        return value
    if isinstance(value, int | Fraction | Decimal):
        return json_number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class TraceStep:
    """One rule that fired: what it read (facts, parameters with provenance) and what it set."""

    rule: str
    title: Text
    reference: str
    entity: str | None
    inputs: dict[str, Any]
    parameters: dict[str, Any]
    result: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "title": self.title.zh, "title_en": self.title.en,
                               "reference": self.reference}
        if self.entity is not None:
            out["entity"] = self.entity
        out.update(inputs=self.inputs, parameters=self.parameters, result=self.result)
        return out


@dataclass(frozen=True)
class Decision:
    """What the rules decided for one household on one date, and why."""

    household_id: str
    county: str
    as_of: dt.date
    rule_version: dict[str, Any]
    outputs: dict[str, Any]
    trace: tuple[TraceStep, ...] = ()
    reasons: dict[str, list[str]] = field(default_factory=lambda: {"zh": [], "en": []})
    # the same reasons as data, in the same order: {rule, clause, figures (placeholder → value), text: {zh, en}}
    reason_items: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The decision as docs/semantics.md §8 lays it out (numbers may be Decimal; see ``to_json``)."""
        return {
            "household_id": self.household_id, "county": self.county, "as_of": self.as_of.isoformat(),
            "rule_version": dict(self.rule_version), "outputs": self.outputs,
            "trace": [t.to_dict() for t in self.trace], "reasons": self.reasons,
            "reason_items": self.reason_items,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The decision as JSON text, numbers as JSON numbers."""
        return dumps(self.to_dict(), indent=indent)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Fraction):
        return float(json_number(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_default)  # built once: one record per household


def dumps(data: Any, indent: int | None = None) -> str:
    """JSON text of engine data (Decimal amounts become JSON numbers with at most 2 decimals)."""
    if indent is None:
        return _ENCODER.encode(data)
    return json.dumps(data, ensure_ascii=False, indent=indent, default=_default)
