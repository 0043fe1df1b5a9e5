"""The expression language of rule files: its vocabulary (names, types, errors) and how it is parsed.

An expression is parsed with :mod:`ast` and only a small whitelist of node kinds is accepted
(no attribute access outside facts, no calls outside the built-ins, no imports, no lambdas).
Every name is resolved against the pack's symbols at load time, so a typo is reported with a
did-you-mean before anything runs.

Each expression is compiled to a Python closure that computes in exact fractions
(``engine.compiler``), also to one generated Python function computing the same more quickly
(``engine.pycode``), and each condition additionally to a durable-rules condition
(``engine.conditions``), which is what the rule engine matches.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .amounts import Fraction, simplest

NUMERIC = {"money", "number", "int"}


class ExpressionError(ValueError):
    """An expression is not valid; the message says what and suggests a fix.

    ``where`` names the part of a rule it is in (``when``, ``set.<variable>``, ``reason``), so that
    the error can point at that line of the rule file.
    """

    def __init__(self, message: str, where: str | None = None, message_zh: str = ""):
        super().__init__(message)
        self.where = where
        self.message_zh = message_zh  # set where the message has a Chinese version (the declared limits)

    def within(self, field: str) -> ExpressionError:
        """The same error, said of the part ``field`` of a rule (``when``, ``set.x``)."""
        label = field.replace(".", " ", 1)
        return ExpressionError(f"{label}: {self}", field, f"{field}：{self.message_zh}" if self.message_zh else "")


@dataclass(frozen=True)
class Symbol:
    """A name an expression can use: a household fact, a parameter or a variable set by rules."""

    name: str
    kind: str  # fact | parameter | variable | input | collection (keyed ("collection", name); scope: its items')
    scope: str  # household, or the scope of a collection the pack's facts declare: member, claim, …
    type: str  # money | number | int | bool | str | date | list | map | bands
    nullable: bool = False
    default: Any = None
    item_type: str = "number"  # what a table (map) holds: number, or money


class Env:
    """What a compiled expression reads: household values, the current entity, loop variables."""

    __slots__ = ("hh", "ent", "loop", "earlier")

    def __init__(self, hh: dict[str, Any], ent: dict[str, Any] | None = None,
                 earlier: list[dict[str, Any]] | None = None):
        self.hh = hh
        self.ent = ent
        self.loop: dict[str, dict[str, Any]] = {}
        self.earlier = earlier or []


Fn = Callable[[Env], Any]


@dataclass
class Compiled:
    """An expression after checking: its closure, its type and what it reads."""

    source: str
    fn: Fn
    type: str
    reads: set[tuple[str, str]] = field(default_factory=set)  # (scope, name)
    reads_earlier: bool = False
    # the same computation as one generated Python function of (household values, entity, earlier
    # entities), several times quicker than the closures; None where the generator does not go
    direct: Callable[[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]]], Any] | None = None


def _parse(source: str) -> ast.Expression:
    """The syntax tree of an expression, within the declared limits (see ``limits``)."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("empty expression", message_zh="表达式为空")
    try:
        return limits.parse(source)[0]
    except limits.LimitError as exc:
        raise ExpressionError(str(exc), message_zh=exc.message_zh) from None


def _collection_scope(node: ast.AST, own_scope: str, collections: dict[str, str]) -> str:
    if isinstance(node, ast.Name) and node.id == "earlier":
        return own_scope
    return collections[node.id]  # type: ignore[attr-defined]



def _divide(a: Any, b: Any) -> Any:
    if b == 0:
        raise ZeroDivisionError("division by zero")
    if type(a) is int and type(b) is int:
        return a // b if a % b == 0 else Fraction(a, b)
    return simplest(Fraction(a) / b)


def _index(table: dict[str, Any], key: Any) -> Any:
    try:
        return table[key]
    except KeyError:
        raise KeyError(f"no entry '{key}' in the table") from None
