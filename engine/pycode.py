"""Rule expressions as generated Python: one function per expression, several times quicker than closures.

``_Python`` writes the source of a function of (household values, entity, earlier entities) for an
expression the ``Compiler`` (``engine.compiler``) has checked, computing exactly what its closure
does; ``Compiled.direct`` holds it.
"""

from __future__ import annotations

import ast
import datetime as dt
from typing import TYPE_CHECKING, Any

from .amounts import Fraction, apply_bands, round_half_up, simplest
from .expressions import ExpressionError, _collection_scope, _divide, _index

if TYPE_CHECKING:
    from .compiler import Compiler

_PY_OPERATORS: dict[type, str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}


class _Unsupported(Exception):
    """An expression the Python generator leaves to the closures."""


class _Python:
    """Python source for an expression the compiler has checked, computing exactly what its closure does.

    Names from the rule file appear only as string literals (``repr``) or as generated loop names;
    constants are bound in the function's namespace. Anything unusual raises ``_Unsupported``, and
    the closure is used instead.
    """

    def __init__(self, compiler: Compiler):
        self.c = compiler
        self.constants: dict[str, Any] = {}
        self.loops: dict[str, str] = {}  # the expression's loop variable -> generated name

    def function(self, node: ast.AST, source: str) -> Any:
        try:
            body = self.expr(node)
        except (_Unsupported, ExpressionError, RecursionError):
            return None
        namespace: dict[str, Any] = {"_divide": _divide, "_index": _index, "_round": round_half_up,
                                     "_bands": apply_bands, "_days": dt.timedelta, **self.constants}
        code = f"def direct(hh, ent, earlier):\n    return {body}\n"
        exec(compile(code, f"<rule expression {source[:40]!r}>", "exec"), namespace)  # noqa: S102 - our own text
        return namespace["direct"]

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def type_of(self, node: ast.AST) -> str:
        saved = (set(self.c._reads), self.c._earlier)
        try:
            return self.c._expr(node)[1]
        finally:
            self.c._reads, self.c._earlier = saved

    def expr(self, node: ast.AST) -> str:  # noqa: C901 - one dispatch over node kinds, as Compiler._expr
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, float):
                return self.constant(simplest(Fraction(repr(v))))
            if v is None or isinstance(v, bool | int | str):
                return repr(v)
            raise _Unsupported
        if isinstance(node, ast.List | ast.Tuple):
            return self.constant(tuple(self.c._constant(e)[0](None) for e in node.elts))  # type: ignore[arg-type]
        if isinstance(node, ast.Name | ast.Attribute):
            return self.name(node)
        if isinstance(node, ast.BoolOp):
            joiner = " and " if isinstance(node.op, ast.And) else " or "
            return "bool(" + joiner.join(f"({self.expr(v)})" for v in node.values) + ")"
        if isinstance(node, ast.UnaryOp):
            inner = self.expr(node.operand)
            if isinstance(node.op, ast.Not):
                return f"(not {inner})"
            if isinstance(node.op, ast.USub):
                return f"(-{inner})"
            raise _Unsupported
        if isinstance(node, ast.BinOp):
            a, b = self.expr(node.left), self.expr(node.right)
            ta, tb = self.type_of(node.left), self.type_of(node.right)
            if isinstance(node.op, ast.Sub) and ta == tb == "date":
                return f"({a} - {b}).days"
            if isinstance(node.op, ast.Add | ast.Sub) and ta == "date" and tb == "int":
                return f"({a} {'+' if isinstance(node.op, ast.Add) else '-'} _days(days={b}))"
            if isinstance(node.op, ast.Div):
                return f"_divide({a}, {b})"
            ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
            if type(node.op) not in ops:
                raise _Unsupported
            return f"({a} {ops[type(node.op)]} {b})"
        if isinstance(node, ast.Compare):
            parts = [self.expr(node.left)]
            for op, right in zip(node.ops, node.comparators, strict=True):
                parts += [_PY_OPERATORS[type(op)], self.expr(right)]
            return "(" + " ".join(parts) + ")"
        if isinstance(node, ast.IfExp):
            return f"({self.expr(node.body)} if {self.expr(node.test)} else {self.expr(node.orelse)})"
        if isinstance(node, ast.Subscript):
            return f"_index({self.expr(node.value)}, {self.expr(node.slice)})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node.func.id, node)
        raise _Unsupported

    def name(self, node: ast.AST) -> str:
        dotted = self.c._dotted(node)
        if dotted is None:
            raise _Unsupported
        head, _, rest = dotted.partition(".")
        if head in self.loops:
            return f"{self.loops[head]}[{rest!r}]"
        if dotted in self.c._local:
            return f"(ent if ent is not None else hh)[{dotted!r}]"
        sym = self.c._lookup(dotted, node)
        return f"{'hh' if sym.scope == 'household' else 'ent'}[{dotted!r}]"

    def call(self, name: str, node: ast.Call) -> str:
        args = node.args
        if name in ("min", "max", "abs"):
            return f"{name}({', '.join(self.expr(a) for a in args)})"
        if name == "round":
            digits = args[1].value if len(args) == 2 and isinstance(args[1], ast.Constant) else 0
            if not isinstance(digits, int):
                raise _Unsupported
            return f"_round({self.expr(args[0])}, {digits})"
        if name == "bands":
            return f"_bands({self.expr(args[0])}, {self.expr(args[1])})"
        if name == "lookup":
            return f"{self.expr(args[0])}.get({self.expr(args[1])}, {self.expr(args[2])})"
        if name == "len":
            return f"len({self.collection(args[0])})"
        if name in ("sum", "count", "any", "all") and len(args) == 1 and isinstance(args[0], ast.GeneratorExp):
            return self.aggregate(name, args[0])
        raise _Unsupported

    def collection(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name) and node.id in self.c.collections:
            return f"hh[{node.id!r}]"
        if isinstance(node, ast.Name) and node.id == "earlier":
            return "earlier"
        raise _Unsupported

    def aggregate(self, name: str, gen: ast.GeneratorExp) -> str:
        loop = gen.generators[0]
        if len(gen.generators) != 1 or not isinstance(loop.target, ast.Name):
            raise _Unsupported
        var = loop.target.id
        coll = self.collection(loop.iter)
        self.loops[var] = f"_v{len(self.loops)}"
        self.c._loops[var] = _collection_scope(loop.iter, self.c.scope, self.c.collections)
        try:
            head = f"for {self.loops[var]} in {coll}" + "".join(f" if {self.expr(f)}" for f in loop.ifs)
            if name == "count":
                if not (isinstance(gen.elt, ast.Name) and gen.elt.id == var):
                    raise _Unsupported  # the closure evaluates the element too
                return f"sum(1 {head})"
            elt = self.expr(gen.elt)
        finally:
            del self.c._loops[var]
            del self.loops[var]
        if name == "sum":
            return f"sum(({elt} {head}), 0)"
        return f"{name}({elt} {head})"
