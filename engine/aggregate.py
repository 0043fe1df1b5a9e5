"""Aggregations over output records, per county and in total: count households or sum an amount,
optionally by a category (or flag) and where outputs hold given values (rules/README.md, Presentation).

A :class:`Summary` is a mergeable partial result: workers each summarise their part of a roll, the parts
are merged in any order, and a summary written out (``as_dict``) is read back (``from_dict``) and merged
with more, so that a resumed run reports the whole roll. The pack's batch summary is one such set of
aggregations; roll-wide indicators and worklists are meant to be declared the same way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .amounts import json_number
from .model import Text
from .presentation import NONE, Aggregation, Presentation, value_at, value_text

Cell = tuple[str, str, str]  # aggregation name, county, group ("" where the aggregation has no ``by``)
NULL = ""  # the group of a record whose ``by`` output is null


def group_of(value: Any) -> str:
    """The group a ``by`` value falls in: a category's code, ``true``/``false`` for a flag, "" for none."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def holds(outputs: dict[str, Any], where: tuple[tuple[str, Any], ...]) -> bool:
    """Whether every ``where`` condition holds of a record's outputs."""
    for path, wanted in where:
        value = value_at(outputs, path)
        if isinstance(wanted, bool) or isinstance(value, bool):
            if value is not wanted:
                return False
        elif group_of(value) != group_of(wanted) and value != wanted:
            return False
    return True


def _number(value: Any) -> int | Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


@dataclass
class Summary:
    """What a run of output records gave: households, errors, records kept on resume, and each aggregation's
    value per county (``total`` adds the counties up)."""

    aggregations: tuple[Aggregation, ...] = ()
    households: int = 0
    errors: int = 0
    skipped: int = 0
    counties: Counter[str] = field(default_factory=Counter)
    cells: dict[Cell, int | Decimal] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        """Count an output record (a decision's outputs, or an error record)."""
        if "error" in record:
            self.households += 1
            self.errors += 1
        else:
            self.add_outputs(str(record.get("county") or ""), record["outputs"])

    def add_outputs(self, county: str, outputs: dict[str, Any]) -> None:
        """Count a household's outputs into every aggregation."""
        self.households += 1
        self.counties[county] += 1
        cells = self.cells
        for agg in self.aggregations:
            if agg.where and not holds(outputs, agg.where):
                continue
            amount = 1 if agg.sum is None else _number(value_at(outputs, agg.sum))
            if amount is None:
                continue
            key = (agg.name, county, group_of(value_at(outputs, agg.by)) if agg.by else "")
            cells[key] = cells.get(key, 0) + amount

    def merge(self, other: Summary) -> None:
        """Add the counts of another part of the roll."""
        self.households += other.households
        self.errors += other.errors
        self.skipped += other.skipped
        self.counties.update(other.counties)
        for key, amount in other.cells.items():
            self.cells[key] = self.cells.get(key, 0) + amount
        if not self.aggregations:
            self.aggregations = other.aggregations

    def value(self, name: str, county: str | None = None) -> Any:
        """An aggregation's value in total (or for one county): a number, or {group: number} with ``by``."""
        agg = next((a for a in self.aggregations if a.name == name), None)
        groups: dict[str, int | Decimal] = {}
        for (cell_name, cell_county, group), amount in self.cells.items():
            if cell_name == name and (county is None or cell_county == county):
                groups[group] = groups.get(group, 0) + amount
        grouped = agg.by is not None if agg is not None else bool(set(groups) - {""})
        if not grouped:
            return groups.get("", 0)
        return dict(sorted(groups.items()))

    def county_codes(self) -> list[str]:
        """The counties the run saw, in code order."""
        return sorted(c for c in self.counties if c)

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data: every aggregation in total and per county."""
        return {"households": self.households, "errors": self.errors, "skipped_resumed": self.skipped,
                "counties": {c: self.counties[c] for c in self.county_codes()},
                "summary": {a.name: {"total": _plain(self.value(a.name)),
                                     "counties": {c: _plain(self.value(a.name, c)) for c in self.county_codes()}}
                            for a in self.aggregations}}

    @classmethod
    def from_dict(cls, data: dict[str, Any], aggregations: tuple[Aggregation, ...] = ()) -> Summary:
        """The summary ``as_dict`` wrote (a summary of another shape keeps only its counts)."""
        out = cls(aggregations, data.get("households", 0), data.get("errors", 0), data.get("skipped_resumed", 0),
                  Counter(data.get("counties") or {}))
        for name, values in (data.get("summary") or {}).items():
            for county, value in (values.get("counties") or {}).items():
                groups = value if isinstance(value, dict) else {"": value}
                for group, amount in groups.items():
                    number = _number(amount)
                    if number is not None:
                        out.cells[(name, county, group)] = number
        if not aggregations:  # the names as stored, so that ``value`` still answers
            out.aggregations = tuple(Aggregation(name, Text(name, name), by="" if isinstance(v.get("total"), dict)
                                                 else None) for name, v in (data.get("summary") or {}).items())
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        number = json_number(value)
        return number if isinstance(number, int) else float(number)
    return value


Described = list[tuple[str, str, list[tuple[str, str, str]]]]  # (name, label, [(group, group name, value)])


def describe(summary: Summary, shown: Presentation, lang: str = "zh") -> Described:
    """Each aggregation of ``summary`` as a person reads it, in ``lang``: (name, label, rows), a row being
    (group, group's name, value text); an aggregation without ``by`` has one row with group ""."""
    out = []
    for agg in summary.aggregations:
        value = summary.value(agg.name)
        pairs = list(value.items()) if isinstance(value, dict) else [("", value)]
        info = shown.outputs.get(agg.by or "")
        if info is not None:  # groups in the order the pack declares its values
            order = {g: i for i, g in enumerate(info.values)}
            pairs.sort(key=lambda p: (order.get(p[0], len(order)), p[0]))
        rows = [(g, group_name(shown, agg, g, lang), amount_text(shown, agg, v, lang)) for g, v in pairs]
        out.append((agg.name, getattr(agg.label, lang), rows))
    return out


def group_name(shown: Presentation, agg: Aggregation, group: str, lang: str = "zh") -> str:
    """The name of a ``by`` group: the category's (or flag's) name of the value, else the code."""
    if not agg.by:
        return ""
    info = shown.outputs.get(agg.by)
    name = info.values.get(group) if info is not None else None
    return getattr(name, lang) if name is not None else (group or NONE)


def amount_text(shown: Presentation, agg: Aggregation, value: Any, lang: str = "zh") -> str:
    """A count, or a sum with the unit of the amount summed."""
    info = shown.outputs.get(agg.sum) if agg.sum else None
    number = _plain(value)
    return str(number) if info is None else value_text(info, number, lang)
