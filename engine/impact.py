"""For whom two versions of a rule pack differ: the impact report, in the terms the pack declares.

A population of households is evaluated under both versions, streamed in chunks; households in
counties the change cannot reach are evaluated once and counted unchanged. What the report adds up
comes from the pack's presentation (``impact``: amounts, flags, movers ranked by an amount); besides,
every output path that differs for a household is counted, declared or not, so that no change hides.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import presentation
from .amounts import Fraction
from .compare import affected_counties, data
from .decision import Decision, dumps, plain
from .errors import DoudiError
from .evaluate import evaluate_many, parameter_index, parse_date
from .model import RulePack, Text
from .presentation import ImpactSpec
from .rolls import in_chunks


@dataclass(frozen=True)
class Amount:
    """An amount summed over the households under both versions, and how many it went up or down for."""

    old: Any
    new: Any
    delta: Any
    up: int
    down: int
    unchanged: int


@dataclass(frozen=True)
class Flag:
    """How many households a flag holds for under each version, and how many gained or lost it."""

    old: int
    new: int
    gained: int
    lost: int


@dataclass(frozen=True)
class CountyImpact:
    """What the new version changes in one county."""

    code: str
    name: str
    households: int
    evaluated: int  # evaluated under the new version (the others cannot change)
    errors: int
    changed: int  # households with any output different
    amounts: dict[str, Amount]
    flags: dict[str, Flag]


@dataclass(frozen=True)
class FlagMove:
    old: bool
    new: bool


@dataclass(frozen=True)
class Mover:
    """A household whose movers amount changes: old → new, and its flags under each version."""

    household_id: str
    county: str
    old: Any
    new: Any
    delta: Any
    flags: dict[str, FlagMove]


@dataclass(frozen=True)
class Legend:
    """How a report names an output path: its label, kind and unit (from the pack's presentation)."""

    label: Text
    kind: str
    unit: Text | None


@dataclass(frozen=True)
class ImpactReport:
    """What changed for whom when a population is evaluated under the old and the new version."""

    old_digest: str
    new_digest: str
    as_of: dt.date
    households: int
    evaluated: int  # households evaluated under the new version too
    skipped: int  # households in counties the change cannot reach: evaluated once, counted unchanged
    affected_counties: tuple[str, ...] | None  # counties whose values on as_of differ; None: all
    errors: int  # households that failed under either version (left out of every count below)
    errors_old: int
    errors_new: int
    error_samples: tuple[dict[str, Any], ...]
    changed: int  # households with any output different
    amounts: dict[str, Amount]  # declared amount path → totals
    flags: dict[str, Flag]  # declared flag path → counts
    outputs: dict[str, int]  # every output path that changed → households it changed for
    movers_by: str | None
    legend: dict[str, Legend]  # every path named in amounts, flags, outputs and movers_by
    counties: tuple[CountyImpact, ...]
    top: tuple[Mover, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (numbers may be Decimal; ``to_json`` writes them as JSON numbers)."""
        return data(self)

    def to_json(self, indent: int | None = 2) -> str:
        return dumps(self.to_dict(), indent=indent)


def impact(old: RulePack, new: RulePack, households: Iterable[dict[str, Any]], as_of: Any, *,
           top: int | None = None, chunk: int = 50, skip_unaffected: bool = True,
           spec: ImpactSpec | None = None, legend: Mapping[str, Legend] | None = None) -> ImpactReport:
    """Evaluate ``households`` under both versions on ``as_of`` and report what changed for whom.

    ``spec`` (amounts, flags, movers_by, top) says what to add up, by default what the new version's
    presentation declares (``presentation.of(new).impact``); ``top`` overrides its number of movers;
    ``legend`` names the output paths, by default from both versions' presentations. Households are
    streamed ``chunk`` at a time; only aggregates and the top movers are kept. A household whose
    county's parameter values on ``as_of`` are the same in both versions (and whose rules are the
    same) cannot change: it is evaluated once and counted unchanged.
    """
    spec = spec if spec is not None else presentation.of(new).impact
    count = spec.top if top is None else top
    if chunk < 1 or count < 0:
        raise ValueError("chunk must be at least 1 and top not negative")
    on = parse_date(as_of)
    reach = _counties_to_evaluate(old, new, on) if skip_unaffected else None
    tally = _Tally(tuple(spec.amounts), tuple(spec.flags), spec.movers_by, count)
    for batch in in_chunks(households, chunk):
        before = evaluate_many(old, batch, on, reasons=False)
        picked = [i for i, h in enumerate(batch) if reach is None or _county(h) in reach]
        after = dict(zip(picked, evaluate_many(new, [batch[i] for i in picked], on, reasons=False), strict=True)
                     ) if picked else {}
        for i, household in enumerate(batch):
            tally.add(household, before[i], after.get(i), i in after)
    names = dict(legend) if legend is not None else legend_of(old, new)
    return tally.report(old, new, on, None if reach is None else tuple(sorted(reach)), names)


def legend_of(old: RulePack, new: RulePack) -> dict[str, Legend]:
    """Label, kind and unit of every output path of either version, as their presentations declare them."""
    out: dict[str, Legend] = {}
    for pack in (new, old):
        for path, info in presentation.of(pack).outputs.items():
            out.setdefault(path, Legend(info.label, info.kind, info.unit))
    return out


def _counties_to_evaluate(old: RulePack, new: RulePack, on: dt.date) -> set[str] | None:
    """The affected counties whose parameter values in force on ``on`` differ (None: all)."""
    reached = affected_counties(old, new)
    if reached is None:
        return None
    indexes = parameter_index(old), parameter_index(new)
    out = set()
    for code in reached:
        try:
            values = [{k: r.value for k, r in index.resolve_all(code, on).items()} for index in indexes]
        except (DoudiError, KeyError):  # a county missing in one version, or no value in force
            out.add(code)
            continue
        if values[0] != values[1]:
            out.add(code)
    return out


def _county(household: Any) -> str:
    return str(household.get("county", "")) if isinstance(household, dict) else ""


def _get(outputs: dict[str, Any], path: str) -> Any:
    if "." not in path:
        return outputs.get(path)
    value: Any = outputs
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


_NUMBERS = (int, Fraction, Decimal, float)


def _number(value: Any) -> Any:
    """An amount's value, 0 when missing or not a number."""
    kind = value.__class__
    if kind is int or kind is Decimal or kind is Fraction:
        return value
    return value if isinstance(value, _NUMBERS) and kind is not bool else 0


def _flat(outputs: Any, prefix: str = "") -> dict[str, Any]:
    """Output values by dotted path: objects flattened, lists kept whole."""
    out: dict[str, Any] = {}
    for key, value in outputs.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, path + "."))
        else:
            out[path] = value
    return out


class _Sums:
    """Running totals of the declared amounts and flags (for the whole population or one county).

    Kept as the old totals plus what changed, so that a household nothing changed for costs one
    addition per amount: amounts [old, delta, up, down], flags [old, gained, lost].
    """

    def __init__(self, amounts: tuple[str, ...], flags: tuple[str, ...]) -> None:
        self.households = self.evaluated = self.errors = self.changed = 0
        self.amounts = {p: [0, 0, 0, 0] for p in amounts}
        self.flags = {p: [0, 0, 0] for p in flags}
        self._amount_rows, self._flag_rows = list(self.amounts.values()), list(self.flags.values())

    def same(self, amounts: list[Any], flags: list[bool]) -> None:
        """A household with the same outputs under both versions: its value of each amount and flag."""
        for row, value in zip(self._amount_rows, amounts, strict=True):
            if value:
                row[0] += value
        for row, value in zip(self._flag_rows, flags, strict=True):
            row[0] += value

    def moved(self, amounts: list[tuple[Any, Any]], flags: list[tuple[bool, bool]]) -> None:
        """A household whose outputs differ: its (old, new) value of each amount and flag."""
        self.changed += 1
        for row, (a, b) in zip(self._amount_rows, amounts, strict=True):
            row[0] += a
            if b != a:
                row[1] += b - a
                row[2 if b > a else 3] += 1
        for row, (a, b) in zip(self._flag_rows, flags, strict=True):
            row[0] += a
            if a != b:
                row[1 if b else 2] += 1

    def amounts_out(self) -> dict[str, Amount]:
        ok = self.households - self.errors
        return {p: Amount(plain(old), plain(old + delta), plain(delta), up, down, ok - up - down)
                for p, (old, delta, up, down) in self.amounts.items()}

    def flags_out(self) -> dict[str, Flag]:
        return {p: Flag(old, old + gained - lost, gained, lost) for p, (old, gained, lost) in self.flags.items()}


class _Ranked:
    """A heap entry ordered by how little the household moves (the heap drops the smallest)."""

    __slots__ = ("size", "hid", "mover")

    def __init__(self, mover: Mover):
        self.size, self.hid, self.mover = abs(mover.delta), mover.household_id, mover

    def __lt__(self, other: _Ranked) -> bool:
        return (self.size, other.hid) < (other.size, self.hid)


class _Tally:
    """The running aggregates of an impact report: flat memory whatever the population."""

    def __init__(self, amounts: tuple[str, ...], flags: tuple[str, ...], movers_by: str | None, top: int):
        self.amounts, self.flag_paths, self.movers_by, self.top = amounts, flags, movers_by, top
        self.heap: list[_Ranked] = []
        self.total = _Sums(amounts, flags)
        self.counties: dict[str, _Sums] = {}
        self.errors_old = self.errors_new = 0
        self.samples: list[dict[str, Any]] = []
        self.paths: dict[str, int] = {}

    def add(self, household: Any, before: Decision | DoudiError, after: Decision | DoudiError | None,
            evaluated: bool) -> None:
        if after is None:
            after = before  # the change cannot reach this county
        county = self.counties.get(_county(household))
        if county is None:
            county = self.counties[_county(household)] = _Sums(self.amounts, self.flag_paths)
        for sums in (self.total, county):
            sums.households += 1
            sums.evaluated += evaluated
        if isinstance(before, DoudiError) or isinstance(after, DoudiError):
            self._error(household, before, after, county)
            return
        o, n = before.outputs, after.outputs
        if o is n or o == n:
            values = [_number(_get(o, p)) for p in self.amounts]
            truths = [bool(_get(o, p)) for p in self.flag_paths]
            self.total.same(values, truths)
            county.same(values, truths)
            return
        amounts = [(_number(_get(o, p)), _number(_get(n, p))) for p in self.amounts]
        flags = [(bool(_get(o, p)), bool(_get(n, p))) for p in self.flag_paths]
        self.total.moved(amounts, flags)
        county.moved(amounts, flags)
        a, b = _flat(o), _flat(n)
        for path in a.keys() | b.keys():
            if a.get(path) != b.get(path) or (path in a) != (path in b):
                self.paths[path] = self.paths.get(path, 0) + 1
        if self.movers_by is None or not self.top:
            return
        was, now = _number(_get(o, self.movers_by)), _number(_get(n, self.movers_by))
        if was != now:
            moves = {p: FlagMove(*pair) for p, pair in zip(self.flag_paths, flags, strict=True)}
            entry = _Ranked(Mover(before.household_id, before.county, was, now, now - was, moves))
            if len(self.heap) < self.top:
                heapq.heappush(self.heap, entry)
            elif self.heap[0] < entry:
                heapq.heapreplace(self.heap, entry)

    def _error(self, household: Any, before: Any, after: Any, county: _Sums) -> None:
        self.total.errors += 1
        county.errors += 1
        bad_old, bad_new = isinstance(before, DoudiError), isinstance(after, DoudiError)
        self.errors_old += bad_old
        self.errors_new += bad_new
        if len(self.samples) < 10:
            side = "both" if bad_old and bad_new else "old" if bad_old else "new"
            exc = before if bad_old else after
            hid = household.get("household_id") if isinstance(household, dict) else None
            self.samples.append({"household_id": hid, "county": _county(household), "version": side,
                                 "message": exc.message, "message_zh": exc.message_zh})

    def report(self, old: RulePack, new: RulePack, on: dt.date, reach: tuple[str, ...] | None,
               names: dict[str, Legend]) -> ImpactReport:
        def name(code: str) -> str:
            place = new.jurisdictions.get(code) or old.jurisdictions.get(code)
            return place.name if place else ""

        counties = tuple(
            CountyImpact(code, name(code), c.households, c.evaluated, c.errors, c.changed, c.amounts_out(),
                         c.flags_out())
            for code, c in sorted(self.counties.items()))
        movers = tuple(Mover(m.household_id, m.county, plain(m.old), plain(m.new), plain(m.delta), m.flags)
                       for m in (e.mover for e in sorted(self.heap, key=lambda e: (-e.size, e.hid))))
        order = list(names)
        outputs = dict(sorted(self.paths.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in names
                                                                   else len(order), kv[0])))
        shown = [*self.amounts, *self.flag_paths, *outputs, *([self.movers_by] if self.movers_by else [])]
        legend = {p: names.get(p) or Legend(Text(p, p), "number", None) for p in dict.fromkeys(shown)}
        t = self.total
        return ImpactReport(
            old.digest, new.digest, on, t.households, t.evaluated, t.households - t.evaluated, reach, t.errors,
            self.errors_old, self.errors_new, tuple(self.samples), t.changed, t.amounts_out(), t.flags_out(),
            outputs, self.movers_by, legend, counties, movers)
