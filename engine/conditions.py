"""Rule conditions as durable-rules matches them: the condition JSON, its fact keys, its negation.

``ConditionCompiler.to_condition`` translates a checked condition into durable-rules' condition
language: money compared in fen, dates as day numbers (``encode_for_durable``), fact keys without
dots (``durable_key``), a guard on every missing (None) value, and a derived true/false variable
replaced by the conditions of the rules that set it (``inline``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from .amounts import Fraction
from .compiler import Compiler
from .expressions import Compiled, ExpressionError, Symbol, _parse

# A rule variable that is only ever set to true by conditional rules is the disjunction of their
# conditions: an ``Inline`` gives that condition (with the fact keys it needs) for such a variable.
Inline = Callable[[Symbol], "tuple[dict[str, Any], dict[str, Symbol]] | None"]

_COMPARE = {ast.Lt: "$lt", ast.LtE: "$lte", ast.Gt: "$gt", ast.GtE: "$gte", ast.Eq: "eq", ast.NotEq: "$neq"}
_FLIP = {"$lt": "$gt", "$lte": "$gte", "$gt": "$lt", "$gte": "$lte", "eq": "eq", "$neq": "$neq"}
_NEGATE = {"$lt": "$gte", "$lte": "$gt", "$gt": "$lte", "$gte": "$lt", "eq": "$neq", "$neq": "eq"}


def durable_key(scope_is_entity: bool, name: str) -> str:
    """The key a value gets in the fact handed to durable-rules (no dots: they mean nesting there)."""
    return ("e_" if scope_is_entity else "h_") + name.replace(".", "__")


def encode_for_durable(type_: str, value: Any) -> Any:
    """Values as durable-rules can compare them exactly: money in fen, dates as day numbers."""
    if value is None:
        return None
    if type_ == "money":
        value = Fraction(value) * 100
    if type_ == "date":
        return value.toordinal()
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return int(value)
        f = round(float(value), 6)
        if f != 0 and abs(f) < 1e-4:  # JSON would say '1e-05', which durable-rules cannot parse
            raise ValueError(f"{float(value)!r} is too small for durable-rules to compare (below 0.0001)")
        return f
    if isinstance(value, tuple):
        return list(value)
    return value


class ConditionCompiler(Compiler):
    """A ``Compiler`` that also translates conditions for durable-rules."""

    def __init__(self, symbols: dict[tuple[str, str], Symbol], scope: str, inline: Inline | None = None):
        super().__init__(symbols, scope)
        self.inline = inline

    def to_condition(self, source: str) -> tuple[dict[str, Any], dict[str, Symbol], Compiled]:
        """Compile a condition for durable-rules: its JSON, the fact keys it needs, its closure."""
        compiled = self.compile(source)
        if compiled.type != "bool":
            raise ExpressionError(f"a condition must be true or false, not a {compiled.type}")
        if compiled.reads_earlier:
            raise ExpressionError("'earlier' can be used in assignments, not in conditions")
        keys: dict[str, Symbol] = {}
        cond = self._cond(_parse(source).body, keys, negate=False)
        return cond, keys, compiled

    # -- durable-rules conditions --------------------------------------------------------------

    def _cond(self, node: ast.AST, keys: dict[str, Symbol], negate: bool) -> dict[str, Any]:
        if isinstance(node, ast.BoolOp):
            is_and = isinstance(node.op, ast.And) != negate  # De Morgan
            parts = [self._cond(v, keys, negate) for v in node.values]
            return {"$and" if is_and else "$or": parts}
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self._cond(node.operand, keys, not negate)
        if isinstance(node, ast.Compare):
            if len(node.ops) > 1:  # a < b < c  ==  a < b and b < c
                pairs: list[ast.expr] = [ast.Compare(left=a, ops=[op], comparators=[b]) for a, op, b in
                         zip([node.left, *node.comparators[:-1]], node.ops, node.comparators, strict=True)]
                return self._cond(ast.BoolOp(op=ast.And(), values=pairs), keys, negate)
            return self._cond_compare(node.left, node.ops[0], node.comparators[0], keys, negate)
        if isinstance(node, ast.Name | ast.Attribute):
            inlined = self._inlined(node, keys, negate)
            if inlined is not None:
                return inlined
            key, sym = self._field(node, keys)
            if sym.type != "bool":
                raise ExpressionError(f"'{ast.unparse(node)}' is not true/false")
            return {key: not negate}
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            raise ExpressionError("a condition of a constant true/false: leave 'when' out instead")
        raise ExpressionError(f"'{ast.unparse(node)}' cannot be used as a condition")

    def _inlined(self, node: ast.AST, keys: dict[str, Symbol], negate: bool) -> dict[str, Any] | None:
        """The condition that makes a derived true/false variable true, in place of the variable."""
        dotted = self._dotted(node)
        if self.inline is None or dotted is None or dotted in self._local or dotted.split(".")[0] in self._loops:
            return None
        sym = self._lookup(dotted, node)
        if sym.kind != "variable" or sym.type != "bool":
            return None
        found = self.inline(sym)
        if found is None:
            return None
        cond, needed = found
        if negate:
            try:
                cond = negate_condition(cond)
            except ExpressionError:
                return None
        keys.update(needed)
        return cond

    def _field(self, node: ast.AST, keys: dict[str, Symbol]) -> tuple[str, Symbol]:
        dotted = self._dotted(node)
        if dotted is None or dotted.split(".")[0] in self._loops:
            raise ExpressionError(f"'{ast.unparse(node)}' is not a fact, parameter or value")
        if dotted in self._local:
            raise ExpressionError(f"'{dotted}' is set by this rule and cannot be in its condition")
        sym = self._lookup(dotted, node)
        key = durable_key(sym.scope != "household", dotted)
        keys[key] = sym
        return key, sym

    def _is_field(self, node: ast.AST) -> bool:
        d = self._dotted(node)
        return d is not None and d.split(".")[0] not in self._loops and d not in self.collections

    def _cond_compare(self, left: ast.expr, op: ast.cmpop, right: ast.expr,
                      keys: dict[str, Symbol], negate: bool) -> dict[str, Any]:
        if isinstance(op, ast.Is | ast.IsNot):
            return self._cond_compare_values(left, op, right, keys, negate)
        # A comparison with a missing (None) value is false, whichever way it is negated; durable-rules
        # would otherwise compute with the missing field, so each nullable value gets a guard.
        local: dict[str, Symbol] = {}
        cond = self._cond_compare_values(left, op, right, local, negate)
        keys.update(local)
        guards = []
        for key, sym in local.items():
            if sym.nullable:
                keys[key + "__null"] = Symbol(sym.name + "__null", "null-flag", sym.scope, "bool")
                guards.append({key + "__null": False})
        return {"$and": [*guards, cond]} if guards else cond

    def _cond_compare_values(self, left: ast.expr, op: ast.cmpop, right: ast.expr,
                             keys: dict[str, Symbol], negate: bool) -> dict[str, Any]:
        if isinstance(right, ast.Constant) and right.value is None and not isinstance(op, ast.Is | ast.IsNot):
            raise ExpressionError(f"write '{ast.unparse(left)} is None' to test for a missing value")
        if isinstance(op, ast.Is | ast.IsNot):
            key, sym = self._field(left, keys)
            if not sym.nullable:
                raise ExpressionError(f"'{ast.unparse(left)}' is never None")
            keys[key + "__null"] = Symbol(sym.name + "__null", "null-flag", sym.scope, "bool")
            return {key + "__null": isinstance(op, ast.Is) != negate}
        if isinstance(op, ast.In | ast.NotIn):
            key, sym = self._field(left, keys)
            inside = isinstance(op, ast.In) != negate
            if isinstance(right, ast.List | ast.Tuple):
                values = [encode_for_durable(sym.type, self._constant(e)[0](None))  # type: ignore[arg-type]
                          for e in right.elts]
                if inside:
                    return {"$or": [{key: v} for v in values]}
                return {"$and": [{"$neq": {key: v}} for v in values]}
            lkey, lsym = self._field(right, keys)
            if lsym.type != "list":
                raise ExpressionError(f"'{ast.unparse(right)}' is not a list")
            if inside:
                return {"$iany": {lkey: {"$i": {"$m": key}}}}
            return {"$iall": {lkey: {"$neq": {"$i": {"$m": key}}}}}
        name = _COMPARE[type(op)]
        if not self._is_field(left):
            if self._is_field(right):
                left, right, name = right, left, _FLIP[name]
            elif isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add | ast.Sub) \
                    and self._is_field(left.left):
                # a - b < r  ->  a < r + b  (durable-rules allows arithmetic only on the right)
                inverse = ast.Add() if isinstance(left.op, ast.Sub) else ast.Sub()
                right = ast.BinOp(left=right, op=inverse, right=left.right)
                left = left.left
            else:
                raise ExpressionError(
                    f"'{ast.unparse(left)}': put a single fact or value on one side of a comparison, "
                    "e.g. 'income < persons * standard'")
        key, sym = self._field(left, keys)
        value, scale = self._operand(right, keys)
        left_scale = 1 if sym.type == "money" else 0
        if scale is None:
            value = _scale_constant(value, left_scale)
        elif scale != left_scale:
            raise ExpressionError(f"'{ast.unparse(left)}' is compared with a value of another unit "
                                  "(an amount with a count?)")
        if negate:
            name = _NEGATE[name]
        return {key: value} if name == "eq" else {name: {key: value}}

    def _operand(self, node: ast.AST, keys: dict[str, Symbol]) -> tuple[Any, int | None]:
        """A right-hand side for durable-rules and its money scale (None: a bare constant)."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, float):
                return Fraction(repr(node.value)), None
            return node.value, None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
                and isinstance(node.operand, ast.Constant):
            value = node.operand.value  # Fraction(str) of one character corrupts quicktions 1.24 (docs/mutation.md)
            return -(Fraction(repr(value)) if isinstance(value, float) else Fraction(value)), None
        if self._is_field(node):
            key, sym = self._field(node, keys)
            if sym.type in ("list", "map", "bands"):
                raise ExpressionError(f"'{ast.unparse(node)}' is a table, not a single value")
            return {"$m": key}, (1 if sym.type == "money" else 0)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Div):
                raise ExpressionError(
                    f"'{ast.unparse(node)}': no division in conditions (it would be inexact); "
                    "multiply the other side instead, e.g. 'income < size * standard'")
            op = {ast.Add: "$add", ast.Sub: "$sub", ast.Mult: "$mul"}.get(type(node.op))
            if op is None:
                raise ExpressionError(f"operator in '{ast.unparse(node)}' is not allowed")
            (lv, ls), (rv, rs) = self._operand(node.left, keys), self._operand(node.right, keys)
            if ls is None and rs is None:  # constants only: fold them, the scale is decided by the other side
                a, b = Fraction(lv), Fraction(rv)
                return (a + b if op == "$add" else a - b if op == "$sub" else a * b), None
            scale: int | None
            if op == "$mul":
                scale = (ls or 0) + (rs or 0)
                lv = _scale_constant(lv, 0) if ls is None else lv
                rv = _scale_constant(rv, 0) if rs is None else rv
            else:
                scale = ls if ls is not None else rs
                if ls is not None and rs is not None and ls != rs:
                    raise ExpressionError(f"'{ast.unparse(node)}' adds values of different units")
                lv = _scale_constant(lv, scale or 0) if ls is None else lv
                rv = _scale_constant(rv, scale or 0) if rs is None else rv
            return {op: {"$l": lv, "$r": rv}}, scale
        raise ExpressionError(f"'{ast.unparse(node)}' cannot be used in a condition")


_COMPARISONS = ("$lt", "$lte", "$gt", "$gte", "$neq")


def negate_condition(cond: dict[str, Any]) -> dict[str, Any]:
    """The complement of a durable-rules condition this compiler produced (De Morgan, flipped tests).

    Every value a condition compares is present in the fact (a missing one has its null flag, and
    comparisons on it are guarded), so the complement of a test is the flipped test.
    """
    if len(cond) != 1:
        raise ExpressionError("cannot negate a condition with several tests at one level")
    (op, body), = cond.items()
    if op in ("$and", "$or"):
        return {"$or" if op == "$and" else "$and": [negate_condition(c) for c in body]}
    if op in _COMPARISONS:
        (key, value), = body.items()
        flipped = _NEGATE[op]
        return {key: value} if flipped == "eq" else {flipped: {key: value}}
    if op in ("$iany", "$iall"):
        raise ExpressionError("cannot negate a list membership test")
    if op.startswith("$"):
        raise ExpressionError(f"cannot negate {op}")
    if isinstance(body, bool):  # {key: true}: a true/false value, always present in the fact
        return {op: not body}
    return {"$neq": {op: body}}  # {key: value} is equality


def _scale_constant(value: Any, scale: int) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value
    try:
        return encode_for_durable("number", Fraction(value) * (100 ** scale))
    except ValueError as exc:
        raise ExpressionError(f"{exc}; compare a scaled value instead (e.g. per mille)") from None
