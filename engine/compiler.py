"""The compiler of rule expressions: names resolved, types checked, exact-arithmetic closures.

``Compiler.compile`` checks an expression against the pack's symbols (see ``engine.expressions``)
and gives its closure, which computes in exact fractions, together with the same computation as
generated Python (``engine.pycode``). Conditions for durable-rules: ``engine.conditions``.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
from collections.abc import Callable, Iterable
from typing import Any, Self

from .amounts import Fraction, apply_bands, round_half_up, simplest
from .expressions import (
    NUMERIC,
    Compiled,
    Env,
    ExpressionError,
    Fn,
    Symbol,
    _collection_scope,
    _divide,
    _index,
    _parse,
)
from .pycode import _Python

_PY_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_BUILTINS = ("min", "max", "round", "abs", "sum", "count", "any", "all", "bands", "lookup", "len")


class Compiler:
    """Checks and compiles expressions for rules of one scope against a symbol table."""

    def __init__(self, symbols: dict[tuple[str, str], Symbol], scope: str):
        self.symbols = symbols
        self.scope = scope
        # the collections expressions can loop over (name -> scope of its items), from the pack's facts
        self.collections = {sym.name: sym.scope for (kind, _), sym in symbols.items() if kind == "collection"}
        self._loops: dict[str, str] = {}
        self._reads: set[tuple[str, str]] = set()
        self._earlier = False
        self._local: dict[str, str] = {}

    # -- names -------------------------------------------------------------------------------

    def with_locals(self, local: dict[str, str]) -> Self:
        """Names assigned earlier in the same rule (name → type) become readable."""
        self._local = dict(local)
        return self

    def _lookup(self, name: str, node: ast.AST) -> Symbol:
        if self.scope != "household" and (self.scope, name) in self.symbols:
            return self.symbols[(self.scope, name)]
        if ("household", name) in self.symbols:
            return self.symbols[("household", name)]
        known = sorted({n for (s, n) in self.symbols if s in ("household", self.scope)}
                       | set(self.collections) | set(self._local))
        hint = difflib.get_close_matches(name, known, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        raise ExpressionError(f"unknown name '{name}'{suggestion}")

    @staticmethod
    def _dotted(node: ast.AST) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        return None

    # -- entry points ------------------------------------------------------------------------

    def compile(self, source: str) -> Compiled:
        """Parse and compile ``source`` to an exact-arithmetic closure."""
        tree = _parse(source)
        self._reads, self._earlier = set(), False
        fn, type_ = self._expr(tree.body)
        reads, earlier = set(self._reads), self._earlier
        return Compiled(source, fn, type_, reads, earlier, _Python(self).function(tree.body, source))

    # -- exact-arithmetic closures --------------------------------------------------------------

    def _expr(self, node: ast.AST) -> tuple[Fn, str]:  # noqa: C901 - one dispatch over node kinds
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.List | ast.Tuple):
            items = [self._constant(e)[0](None) for e in node.elts]  # type: ignore[arg-type]
            frozen = tuple(items)
            return (lambda env: frozen), "list"
        if isinstance(node, ast.Name | ast.Attribute):
            return self._name(node)
        if isinstance(node, ast.BoolOp):
            parts = [self._bool_operand(v) for v in node.values]
            if len(parts) == 2:  # the common case, without a generator
                p0, p1 = parts
                if isinstance(node.op, ast.And):
                    return (lambda env: bool(p0(env) and p1(env))), "bool"
                return (lambda env: bool(p0(env) or p1(env))), "bool"
            if isinstance(node.op, ast.And):
                return (lambda env: all(p(env) for p in parts)), "bool"
            return (lambda env: any(p(env) for p in parts)), "bool"
        if isinstance(node, ast.UnaryOp):
            inner, t = self._expr(node.operand)
            if isinstance(node.op, ast.Not):
                if t != "bool":
                    raise ExpressionError("'not' needs a true/false value")
                return (lambda env: not inner(env)), "bool"
            if isinstance(node.op, ast.USub) and t in NUMERIC:
                return (lambda env: -inner(env)), t
            raise ExpressionError("unsupported unary operator")
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.IfExp):
            test = self._bool_operand(node.test)
            (yes, ty), (no, tn) = self._expr(node.body), self._expr(node.orelse)
            return (lambda env: yes(env) if test(env) else no(env)), _unify(ty, tn)
        if isinstance(node, ast.Subscript):
            base, bt = self._expr(node.value)
            key, _ = self._expr(node.slice)
            if bt != "map":
                raise ExpressionError("only a table parameter can be indexed with [...]")
            return (lambda env: _index(base(env), key(env))), self._item_type(node.value)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise ExpressionError(f"'{ast.unparse(node)}' is not allowed in rule expressions")

    def _item_type(self, node: ast.AST) -> str:
        dotted = self._dotted(node)
        if dotted is None or dotted.split(".")[0] in self._loops:
            return "number"
        return self._lookup(dotted, node).item_type

    def _bool_operand(self, node: ast.AST) -> Fn:
        fn, t = self._expr(node)
        if t != "bool":
            raise ExpressionError(f"'{ast.unparse(node)}' is not true/false")
        return fn

    @staticmethod
    def _constant(node: ast.Constant) -> tuple[Fn, str]:
        v = node.value
        if isinstance(v, bool):
            return (lambda env: v), "bool"
        if v is None:
            return (lambda env: None), "null"
        if isinstance(v, int):
            return (lambda env: v), "int"
        if isinstance(v, float):
            fv = simplest(Fraction(repr(v)))
            return (lambda env: fv), "number"
        if isinstance(v, str):
            return (lambda env: v), "str"
        raise ExpressionError(f"constant {v!r} is not allowed")

    def _name(self, node: ast.AST) -> tuple[Fn, str]:
        dotted = self._dotted(node)
        if dotted is None:
            raise ExpressionError(f"'{ast.unparse(node)}' is not a name")
        head, _, rest = dotted.partition(".")
        if head in self._loops:
            scope = self._loops[head]
            if not rest:
                raise ExpressionError(f"use a field of '{head}', e.g. {head}.age")
            sym = self.symbols.get((scope, rest))
            if sym is None:
                known = sorted(n for (s, n) in self.symbols if s == scope)
                hint = difflib.get_close_matches(rest, known, n=1)
                raise ExpressionError(
                    f"unknown {scope} field '{rest}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))
            self._reads.add((scope, rest))
            return (lambda env: env.loop[head][rest]), sym.type
        if dotted in self._local:
            return (lambda env: env.ent[dotted] if env.ent is not None else env.hh[dotted]), \
                self._local[dotted]
        if dotted in self.collections or dotted == "earlier":
            raise ExpressionError(f"'{dotted}' is a list: use it in sum(...), count(...), any(...)")
        sym = self._lookup(dotted, node)
        self._reads.add((sym.scope, dotted))
        if sym.scope == "household":
            return (lambda env: env.hh[dotted]), sym.type
        return (lambda env: env.ent[dotted]), sym.type

    def _binop(self, node: ast.BinOp) -> tuple[Fn, str]:
        (a, ta), (b, tb) = self._expr(node.left), self._expr(node.right)
        op = node.op
        if isinstance(op, ast.Sub) and ta == tb == "date":
            return (lambda env: (a(env) - b(env)).days), "int"
        if isinstance(op, ast.Add | ast.Sub) and ta == "date" and tb == "int":
            sign = 1 if isinstance(op, ast.Add) else -1
            return (lambda env: a(env) + dt.timedelta(days=sign * b(env))), "date"
        if ta not in NUMERIC or tb not in NUMERIC:
            raise ExpressionError(f"'{ast.unparse(node)}': arithmetic needs numbers ({ta}, {tb})")
        t = _arith_type(op, ta, tb)
        if isinstance(op, ast.Add):
            return (lambda env: a(env) + b(env)), t
        if isinstance(op, ast.Sub):
            return (lambda env: a(env) - b(env)), t
        if isinstance(op, ast.Mult):
            return (lambda env: a(env) * b(env)), t
        if isinstance(op, ast.Div):
            return (lambda env: _divide(a(env), b(env))), t
        raise ExpressionError(f"operator in '{ast.unparse(node)}' is not allowed (use + - * /)")

    def _compare(self, node: ast.Compare) -> tuple[Fn, str]:
        left_fn, lt = self._expr(node.left)
        steps: list[tuple[Callable[[Any, Any], bool], Fn]] = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.Is | ast.IsNot):
                if not (isinstance(right, ast.Constant) and right.value is None):
                    raise ExpressionError("'is' only compares with None")
                is_ = isinstance(op, ast.Is)
                steps.append((_is_none if is_ else _is_not_none, _nothing))
                continue
            right_fn, rt = self._expr(right)
            if isinstance(op, ast.In | ast.NotIn):
                if rt != "list":
                    raise ExpressionError(f"'in' needs a list, e.g. [1, 2] ('{ast.unparse(right)}')")
            elif not _comparable(lt, rt):
                raise ExpressionError(f"'{ast.unparse(node)}' compares a {lt} with a {rt}")
            steps.append((_PY_COMPARE[type(op)], right_fn))
            lt = rt

        if len(steps) == 1:
            (cmp0, right0), = steps
            return (lambda env: cmp0(left_fn(env), right0(env))), "bool"

        def run(env: Env) -> bool:
            a = left_fn(env)
            for cmp, right_fn in steps:
                b = right_fn(env)
                if not cmp(a, b):
                    return False
                a = b
            return True

        return run, "bool"

    def _call(self, node: ast.Call) -> tuple[Fn, str]:
        if not isinstance(node.func, ast.Name) or node.func.id not in _BUILTINS:
            raise ExpressionError(
                f"'{ast.unparse(node.func)}' is not a function here; use one of {', '.join(_BUILTINS)}")
        name = node.func.id
        if node.keywords:
            raise ExpressionError(f"{name}() takes no keyword arguments")
        if name in ("sum", "count", "any", "all", "len"):
            return self._aggregate(name, node)
        args = [self._expr(a) for a in node.args]
        fns = [f for f, _ in args]
        types = [t for _, t in args]
        if name in ("min", "max"):
            if len(args) < 2 or any(t not in NUMERIC for t in types):
                raise ExpressionError(f"{name}() needs two or more numbers")
            agg = min if name == "min" else max
            t = "money" if "money" in types else ("number" if "number" in types else "int")
            if len(fns) == 2:
                f0, f1 = fns
                return (lambda env: agg(f0(env), f1(env))), t
            return (lambda env: agg(f(env) for f in fns)), t
        if name == "round":
            if not 1 <= len(args) <= 2 or types[0] not in NUMERIC:
                raise ExpressionError("round(x) or round(x, digits) rounds half up")
            nd = 0
            if len(args) == 2:
                if not isinstance(node.args[1], ast.Constant) or not isinstance(node.args[1].value, int):
                    raise ExpressionError("round(x, digits): digits must be a whole number")
                nd = node.args[1].value
            f0 = fns[0]
            return (lambda env: round_half_up(f0(env), nd)), types[0]
        if name == "abs":
            if len(args) != 1 or types[0] not in NUMERIC:
                raise ExpressionError("abs(x) needs one number")
            f0 = fns[0]
            return (lambda env: abs(f0(env))), types[0]
        if name == "bands":
            if len(args) != 2 or types[0] not in NUMERIC or types[1] != "bands":
                raise ExpressionError("bands(amount, table) needs an amount and a bands parameter")
            fa, fb = fns
            return (lambda env: apply_bands(fa(env), fb(env))), "money"
        # lookup(map, key, default)
        if len(args) != 3 or types[0] != "map":
            raise ExpressionError("lookup(table, key, default) needs a table, a key and a default")
        fm, fk, fd = fns
        if types[2] not in NUMERIC:
            raise ExpressionError("lookup(table, key, default): the default must be a number")
        return (lambda env: fm(env).get(fk(env), fd(env))), self._item_type(node.args[0])

    def _aggregate(self, name: str, node: ast.Call) -> tuple[Fn, str]:
        if len(node.args) != 1:
            raise ExpressionError(f"{name}() takes one argument, e.g. {name}(m.x for m in members)")
        arg = node.args[0]
        if name == "len":
            coll = self._collection(arg)
            return (lambda env: len(coll(env))), "int"
        if not isinstance(arg, ast.GeneratorExp) or len(arg.generators) != 1:
            raise ExpressionError(f"write {name}(m.x for m in members if ...) with one 'for'")
        gen = arg.generators[0]
        if not isinstance(gen.target, ast.Name) or gen.is_async:
            raise ExpressionError("the loop variable must be a plain name")
        var = gen.target.id
        coll = self._collection(gen.iter)
        scope = _collection_scope(gen.iter, self.scope, self.collections)
        if var in self._loops or var in self._local:
            raise ExpressionError(f"loop variable '{var}' is already in use")
        self._loops[var] = scope
        try:
            filters = [self._bool_operand(c) for c in gen.ifs]
            if name == "count" and isinstance(arg.elt, ast.Name) and arg.elt.id == var:
                elt, et = (lambda env: True), "bool"
            else:
                elt, et = self._expr(arg.elt)
        finally:
            del self._loops[var]

        def items(env: Env) -> Iterable[Any]:
            loop = env.loop
            if not filters:
                for item in coll(env):
                    loop[var] = item
                    yield elt(env)
            elif len(filters) == 1:
                keep = filters[0]
                for item in coll(env):
                    loop[var] = item
                    if keep(env):
                        yield elt(env)
            else:
                for item in coll(env):
                    loop[var] = item
                    if all(f(env) for f in filters):
                        yield elt(env)

        if name == "sum":
            if et not in NUMERIC:
                raise ExpressionError("sum() adds numbers")
            return (lambda env: sum(items(env), 0)), et
        if name == "count":
            return (lambda env: sum(1 for _ in items(env))), "int"
        if et != "bool":
            raise ExpressionError(f"{name}() needs a true/false expression")
        if name == "any":
            return (lambda env: any(items(env))), "bool"
        return (lambda env: all(items(env))), "bool"

    def _collection(self, node: ast.AST) -> Fn:
        if isinstance(node, ast.Name) and node.id in self.collections:
            key = node.id
            return lambda env: env.hh[key]
        if isinstance(node, ast.Name) and node.id == "earlier":
            if self.scope == "household":
                raise ExpressionError("'earlier' exists only in rules with for_each")
            self._earlier = True
            return lambda env: env.earlier
        lists = ", ".join([*sorted(self.collections), "earlier"])
        raise ExpressionError(f"'{ast.unparse(node)}' is not a list; use one of {lists}")


def _arith_type(op: ast.operator, ta: str, tb: str) -> str:
    if isinstance(op, ast.Div) and ta == tb == "money":
        return "number"
    if "money" in (ta, tb):
        return "money"
    if isinstance(op, ast.Div) or "number" in (ta, tb):
        return "number"
    return "int"


def _unify(a: str, b: str) -> str:
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    if a in NUMERIC and b in NUMERIC:
        return "money" if "money" in (a, b) else "number"
    raise ExpressionError(f"both branches of 'x if c else y' must have one type ({a}, {b})")


def _comparable(a: str, b: str) -> bool:
    return a == b or (a in NUMERIC and b in NUMERIC) or "null" in (a, b)


def _is_none(a: Any, _b: Any) -> bool:
    return a is None


def _is_not_none(a: Any, _b: Any) -> bool:
    return a is not None


def _nothing(env: Env) -> None:
    return None
