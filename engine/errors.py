"""The one error hierarchy of the engine, split by phase: rule files, household facts, evaluation.

Every error carries structured fields so that the CLI, the API and the editor can show it in their
own way; ``str()`` gives a one-line English message and ``message_zh`` the Chinese one.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass, field
from typing import Any

QUOTE_LIMIT = 80  # characters of an offending value an error message quotes (README: limits)

_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother, _repr.maxlong = 2, QUOTE_LIMIT, QUOTE_LIMIT, 40
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 5


def quoted(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut short, for messages: a 10,000-member list or a 50 MB name is quoted as a few
    dozen characters, and an integer too long to print (Python's 4,300-digit limit) by its size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<a whole number of about {int(value.bit_length() * 0.30103) + 1:,} digits>"
    try:
        text = _repr.repr(value)
    except (ValueError, RecursionError):  # an object too deep or too large to print at all
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass
class Problem:
    """One located problem: where (file, line, path), what, and how to fix it."""

    message: str
    message_zh: str = ""
    file: str | None = None
    line: int | None = None
    path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.path:
            parts.append(self.path)
        return " ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path or "", "message": self.message}
        if self.message_zh:
            out["message_zh"] = self.message_zh
        if self.file:
            out["file"] = self.file
        if self.line is not None:
            out["line"] = self.line
        out.update(self.details)
        return out


class DoudiError(Exception):
    """Root of every error the engine raises on purpose."""

    headline = "error"

    def __init__(self, message: str, problems: list[Problem] | None = None, message_zh: str = ""):
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh
        self.problems = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class RulePackError(DoudiError):
    """A rule pack (YAML documents) is malformed or inconsistent."""


class InvalidInput(DoudiError):
    """Input is invalid: each problem names the field by its path."""


class HouseholdError(InvalidInput):
    """Household facts are invalid: each problem names the field by its path."""


class EvaluationError(DoudiError):
    """A valid household could not be evaluated (e.g. no parameter value in force on the date)."""


class NotFound(DoudiError):
    """A version, draft, user or decision that does not exist."""


class PermissionDenied(DoudiError):
    """The user's role or jurisdiction does not allow the action."""


class Conflict(DoudiError):
    """The action collides with the current state (a stale save, a draft already decided)."""


class LimitExceeded(DoudiError):
    """A draft's evaluation ran out of its time or memory and was stopped (see ``isolation``)."""
