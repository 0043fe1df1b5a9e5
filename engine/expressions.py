"""The expression language of rule files: Python syntax, parsed once, checked, compiled twice.

An expression is parsed with :mod:`ast` and only a small whitelist of node kinds is accepted
(no attribute access outside facts, no calls outside the built-ins below, no imports, no
lambdas). Every name is resolved against the pack's symbols at load time, so a typo is reported
with a did-you-mean before anything runs.

Each expression is compiled to a Python closure that computes in exact fractions (assignments),
and each condition additionally to a durable-rules condition (``to_condition``), which is what
the rule engine matches.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .amounts import Fraction, apply_bands, round_half_up, simplest

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
# A rule variable that is only ever set to true by conditional rules is the disjunction of their
# conditions: an ``Inline`` gives that condition (with the fact keys it needs) for such a variable.
Inline = Callable[[Symbol], "tuple[dict[str, Any], dict[str, Symbol]] | None"]


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


_COMPARE = {ast.Lt: "$lt", ast.LtE: "$lte", ast.Gt: "$gt", ast.GtE: "$gte", ast.Eq: "eq", ast.NotEq: "$neq"}
_FLIP = {"$lt": "$gt", "$lte": "$gte", "$gt": "$lt", "$gte": "$lte", "eq": "eq", "$neq": "$neq"}
_NEGATE = {"$lt": "$gte", "$lte": "$gt", "$gt": "$lte", "$gte": "$lt", "eq": "$neq", "$neq": "eq"}
_PY_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_BUILTINS = ("min", "max", "round", "abs", "sum", "count", "any", "all", "bands", "lookup", "len")


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


class Compiler:
    """Checks and compiles expressions for rules of one scope against a symbol table."""

    def __init__(self, symbols: dict[tuple[str, str], Symbol], scope: str, inline: Inline | None = None):
        self.symbols = symbols
        self.scope = scope
        # the collections expressions can loop over (name -> scope of its items), from the pack's facts
        self.collections = {sym.name: sym.scope for (kind, _), sym in symbols.items() if kind == "collection"}
        self.inline = inline
        self._loops: dict[str, str] = {}
        self._reads: set[tuple[str, str]] = set()
        self._earlier = False
        self._local: dict[str, str] = {}

    # -- names -------------------------------------------------------------------------------

    def with_locals(self, local: dict[str, str]) -> Compiler:
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
        raise ExpressionError(f"'{ast.unparse(node)}' is not a list; use members, claims, incidents or earlier")

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
                    "e.g. 'countable_income < household_size * dibao_standard'")
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
