"""A raw YAML value of a parameter or variable as the engine computes with it (exact amounts, dates,
code lists, tables, bands); ``ValueError`` says what was expected. Used by ``load`` and ``checks``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .amounts import Fraction, exact


def convert_value(type_: str, raw: Any) -> Any:
    """A raw YAML value as the engine computes with it; ValueError says what was expected."""
    if type_ in ("money", "number"):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError(f"expected a number, got {raw!r}")
        return exact(raw)
    if type_ == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"expected a whole number, got {raw!r}")
        return raw
    if type_ == "bool":
        if not isinstance(raw, bool):
            raise ValueError(f"expected true or false, got {raw!r}")
        return raw
    if type_ == "date":
        try:
            return dt.date.fromisoformat(raw)
        except (TypeError, ValueError):
            raise ValueError(f"expected a date YYYY-MM-DD, got {raw!r}") from None
    if type_ == "list":
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise ValueError(f"expected a list of codes, got {raw!r}")
        return tuple(raw)
    if type_ == "map":
        if not isinstance(raw, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in raw.values()):
            raise ValueError(f"expected a table of code: number, got {raw!r}")
        return {str(k): exact(v) for k, v in raw.items()}
    if type_ == "bands":
        return _bands(raw)
    raise ValueError(f"unknown type {type_}")


def _bands(raw: Any) -> tuple[tuple[Fraction | None, Fraction], ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError("expected a list of bands: [{upto: 5000, rate: 0.5}, ..., {rate: 0.7}]")
    out: list[tuple[Fraction | None, Fraction]] = []
    for i, band in enumerate(raw):
        if not isinstance(band, dict) or "rate" not in band or set(band) - {"upto", "rate"}:
            raise ValueError(f"band {i + 1}: expected {{upto: amount, rate: ratio}}")
        upto = band.get("upto")
        for key in ("upto", "rate"):
            value = band.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"band {i + 1}: '{key}' must be a number, got {value!r}")
        if not 0 <= band["rate"] <= 1:
            raise ValueError(f"band {i + 1}: 'rate' must be between 0 and 1, got {band['rate']!r}")
        last = i == len(raw) - 1
        if (upto is None) != last:
            raise ValueError(f"band {i + 1}: every band but the last needs 'upto'; the last has none")
        if upto is not None and out and out[-1][0] is not None and Fraction(exact(upto)) <= out[-1][0]:
            raise ValueError(f"band {i + 1}: 'upto' must increase")
        out.append((None if upto is None else Fraction(exact(upto)), Fraction(exact(band["rate"]))))  # exact bounds
    return tuple(out)
