"""Dated parameter values and their inheritance province → city → county, with provenance."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .errors import EvaluationError, Problem
from .model import DatedValue, RulePack


@dataclass(frozen=True)
class Resolved:
    """A parameter value in force, and where it came from (jurisdiction, effective date, document)."""

    parameter: str
    value: Any
    jurisdiction: str
    effective: dt.date
    document: str | None

    def provenance(self) -> dict[str, Any]:
        return {"from": self.jurisdiction, "effective": self.effective.isoformat(), "document": self.document}


class ParameterIndex:
    """Answers "which value of P applies in jurisdiction J on date D" for one pack."""

    def __init__(self, pack: RulePack, cache_size: int = 4096):
        self.pack = pack
        by_key: dict[tuple[str, str], list[DatedValue]] = {}
        for v in pack.values:
            by_key.setdefault((v.parameter, v.jurisdiction), []).append(v)
        self._entries = {k: sorted(vs, key=lambda v: v.start) for k, vs in by_key.items()}
        self._starts = {k: [v.start for v in vs] for k, vs in self._entries.items()}
        self._cache: OrderedDict[tuple[str, dt.date], tuple[dict[str, Resolved], dict[str, Any]]] = OrderedDict()
        self._cache_size = cache_size

    def own_entry(self, parameter: str, code: str, on: dt.date) -> DatedValue | None:
        """The jurisdiction's own latest entry starting on or before ``on`` (a value or ``inherit``)."""
        starts = self._starts.get((parameter, code))
        if not starts:
            return None
        i = bisect.bisect_right(starts, on)
        return self._entries[(parameter, code)][i - 1] if i else None

    def resolve(self, parameter: str, code: str, on: dt.date) -> Resolved | None:
        """The value in force: the jurisdiction's own, else its parent's, up to the root."""
        for j in self.pack.chain(code):
            entry = self.own_entry(parameter, j, on)
            if entry is not None and not entry.inherit:
                return Resolved(parameter, entry.value, j, entry.start, entry.document)
        return None

    def resolve_all(self, code: str, on: dt.date) -> dict[str, Resolved]:
        """Every parameter in force for a county on a date; an error names each one missing."""
        return self.in_force(code, on)[0]

    def in_force(self, code: str, on: dt.date) -> tuple[dict[str, Resolved], dict[str, Any]]:
        """``resolve_all``, and the same as a plain name -> value dict (both cached: do not change them)."""
        key = (code, on)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        out: dict[str, Resolved] = {}
        missing = []
        for name in self.pack.parameters:
            r = self.resolve(name, code, on)
            if r is None:
                missing.append(name)
            else:
                out[name] = r
        if missing:
            name = self.pack.jurisdictions[code].name
            first = min((v.start for v in self.pack.values if v.parameter in missing), default=None)
            hint = f" (the earliest value starts {first.isoformat()})" if first and first > on else ""
            listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise EvaluationError(
                f"no parameter value in force on {on.isoformat()} for {code} {name}: {listed}{hint}",
                [Problem(f"no value in force on {on.isoformat()} for {code} {name}: {listed}{hint}",
                         f"{code} {name} 在 {on.isoformat()} 没有有效的参数取值：{'、'.join(missing[:5])}"
                         + (f" 等 {len(missing)} 项" if len(missing) > 5 else ""),
                         path="as_of", details={"parameters": missing, "jurisdiction": code})],
                message_zh=f"{code} {name} 在 {on.isoformat()} 没有有效的参数取值",
            )
        both = self._cache[key] = (out, {name: r.value for name, r in out.items()})
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return both

    def change_dates(self, parameter: str, codes: list[str]) -> list[dt.date]:
        """Every date on which the value of ``parameter`` may change for any of ``codes``."""
        dates: set[dt.date] = set()
        for code in codes:
            dates.update(self._starts.get((parameter, code), ()))
        return sorted(dates)

    def timeline(self, parameter: str, code: str) -> list[tuple[dt.date, Resolved | None]]:
        """The resolved value of a parameter for a jurisdiction at each date it can change."""
        return [(d, self.resolve(parameter, code, d))
                for d in self.change_dates(parameter, self.pack.chain(code))]
