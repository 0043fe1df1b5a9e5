"""Declared limits of the expression language, checked when a rule file is loaded.

A rule is written by an officer and is untrusted: an ``in`` list of 2,000 items froze durable-rules'
C core (it never returns, and holds the GIL), ``round(x, 999999999)`` made Python compute a number
of a billion digits, 20,000 chained ``+`` crashed the parser. Every limit below is generous for real
policy — the Hunan pack's largest expression has 47 syntax nodes, nests 10 deep and is 174
characters long; its largest durable-rules condition has 10 and/or operators — and small enough
that whatever it admits compiles and evaluates in a fraction of a second (rules/README.md, "Limits",
gives the measurements). Each refusal names the limit and the count found, in English and Chinese;
the loader adds the rule, the file, the line and the field.

The limits in force are :data:`LIMITS`; ``load_files(files, limits=...)`` (and a worker job, see
``isolation``) can apply others for one load (:func:`enforced`), e.g. in a test.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Limits:
    """How large a rule's expressions may be (each a count; see the module's docstring)."""

    expression_chars: int = 5_000  # characters of one expression (when, or one set value), before parsing
    expression_nodes: int = 1_000  # syntax nodes of one expression (a name, a number, an operator: one each)
    rule_nodes: int = 2_000  # syntax nodes of all the expressions of one rule
    nesting: int = 32  # depth of an expression's syntax tree (brackets, operators inside operators)
    alternatives: int = 200  # items of one list, terms of one and/or chain, links of one comparison chain
    number_digits: int = 30  # digits of a number written in an expression (exact value, numerator or denominator)
    text_chars: int = 200  # characters of a text written in an expression
    round_digits: int = 10  # round(x, d): d a whole number written in the expression, 0 … 10
    # durable-rules' own limits (rules/README.md): and/or operators in one condition as matched (after
    # derived variables are replaced by their conditions): 15 at most, it refuses more; and successors of
    # one node of its network: it never returns beyond 511, so doudi stops well before
    condition_operators: int = 15
    branching: int = 400


LIMITS = Limits()
_ACTIVE: ContextVar[Limits | None] = ContextVar("doudi_limits", default=None)


def current() -> Limits:
    """The limits in force here (those of an enclosing :func:`enforced`, else :data:`LIMITS`)."""
    return _ACTIVE.get() or LIMITS


@contextmanager
def enforced(limits: Limits | None) -> Iterator[Limits]:
    """Apply ``limits`` (None: those in force) to every expression checked inside the block."""
    token = _ACTIVE.set(limits or current())
    try:
        yield current()
    finally:
        _ACTIVE.reset(token)


class LimitError(ValueError):
    """An expression breaks a limit (or cannot be parsed at all); English message, ``message_zh`` Chinese."""

    def __init__(self, message: str, message_zh: str):
        super().__init__(message)
        self.message_zh = message_zh


def parse(source: str) -> tuple[ast.Expression, int]:
    """Parse an expression within the limits in force: its tree and its number of syntax nodes."""
    limits = current()
    if len(source) > limits.expression_chars:
        raise LimitError(f"the expression is {len(source):,} characters long (limit {limits.expression_chars:,})",
                         f"表达式长 {len(source)} 个字符（上限 {limits.expression_chars}）")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        if "too many nested" in str(exc.msg) or "too complex" in str(exc.msg):
            raise _too_deep() from None
        if "integer string conversion" in str(exc.msg):  # Python refuses more than 4,300 digits
            raise LimitError(f"a number has more than 4,300 digits (limit {limits.number_digits})",
                             f"数值超过 4300 位（上限 {limits.number_digits}）") from None
        raise LimitError(f"syntax error at column {exc.offset}: {_short(str(exc.msg))}",
                         f"语法错误（第 {exc.offset} 列）：{_short(str(exc.msg))}") from None
    except (RecursionError, MemoryError, ValueError, OverflowError):  # the parser's own stack, huge literals
        raise _too_deep() from None
    return tree, _check(tree, _Source(source.strip()), limits)


def _too_deep() -> LimitError:
    return LimitError("the expression is too long or nested too deeply to be read; split it into several rules",
                      "表达式过长或嵌套过深，无法解析；请拆分为多条规则")


class _Source:
    """The text of an expression by node (``ast.get_source_segment`` splits the whole text at every call)."""

    def __init__(self, text: str):
        self.lines = [line.encode() for line in text.splitlines()] or [b""]

    def of(self, node: ast.AST) -> str | None:
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if first is None or last is None or start is None or end is None:
            return None
        if first == last:
            return self.lines[first - 1][start:end].decode(errors="replace")
        parts = [self.lines[first - 1][start:], *self.lines[first:last - 1], self.lines[last - 1][:end]]
        return b"\n".join(parts).decode(errors="replace")


def _check(tree: ast.Expression, source: _Source, limits: Limits) -> int:
    """Walk the tree without recursion (it may be thousands deep): count nodes, depth and literals."""
    nodes = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > limits.expression_nodes:
            total = sum(1 for _ in ast.walk(tree.body))
            raise LimitError(f"the expression has {total:,} syntax nodes (limit {limits.expression_nodes:,}); "
                             "split it into several rules or variables",
                             f"表达式有 {total} 个语法单元（上限 {limits.expression_nodes}），请拆分为多条规则或变量")
        if depth > limits.nesting:
            raise LimitError(f"the expression is nested more than {limits.nesting} levels deep "
                             f"(limit {limits.nesting}); use variables for its parts",
                             f"表达式嵌套超过 {limits.nesting} 层（上限 {limits.nesting}），请用变量拆分")
        _check_node(node, source, limits)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return nodes


_CHAINS = {ast.List: ("a list of {n} items", "列表有 {n} 项"), ast.Tuple: ("a list of {n} items", "列表有 {n} 项"),
           ast.Set: ("a list of {n} items", "列表有 {n} 项"), ast.Dict: ("a table of {n} entries", "表有 {n} 项")}


def _check_node(node: ast.AST, source: _Source, limits: Limits) -> None:
    count, what = _width(node)
    if count > limits.alternatives:
        en, zh = what
        raise LimitError(f"{en.format(n=f'{count:,}')} (limit {limits.alternatives}); "
                         "use a list parameter or split the rule",
                         f"{zh.format(n=count)}（上限 {limits.alternatives}），请改用列表参数或拆分规则")
    if isinstance(node, ast.Constant):
        _check_constant(node, source, limits)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "round" \
            and len(node.args) == 2:
        digits = node.args[1]
        value = digits.value if isinstance(digits, ast.Constant) else None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limits.round_digits:
            shown = _short(source.of(digits) or "?")
            raise LimitError(f"round(x, digits): digits must be a whole number from 0 to {limits.round_digits} "
                             f"written in the rule, not {shown}",
                             f"round(x, 位数)：位数须为 0 到 {limits.round_digits} 的整数，不能是 {shown}")


def _width(node: ast.AST) -> tuple[int, tuple[str, str]]:
    if isinstance(node, ast.BoolOp):
        word = "and" if isinstance(node.op, ast.And) else "or"
        return len(node.values), (f"an '{word}' chain of {{n}} terms", f"'{word}' 连接了 {{n}} 项")
    if isinstance(node, ast.Compare):
        return len(node.ops), ("a comparison chain of {n} links", "连续比较有 {n} 处")
    if isinstance(node, ast.Call):
        return len(node.args), ("a call with {n} arguments", "函数调用有 {n} 个参数")
    if type(node) in _CHAINS:
        items = node.keys if isinstance(node, ast.Dict) else node.elts  # type: ignore[attr-defined]
        return len(items), _CHAINS[type(node)]
    return 0, ("", "")


def _check_constant(node: ast.Constant, source: _Source, limits: Limits) -> None:
    value = node.value
    written = source.of(node) or repr(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise LimitError(f"{_short(written)} is not a finite number", f"{_short(written)} 不是有限的数值")
    if isinstance(value, int | float) and not isinstance(value, bool):
        exact = Fraction(value) if isinstance(value, int) else Fraction(repr(value))
        digits = max(_digits(exact.numerator), _digits(exact.denominator), sum(c.isdigit() for c in written))
        if digits > limits.number_digits:
            raise LimitError(f"the number {_short(written)} has {digits:,} digits (limit {limits.number_digits})",
                             f"数值 {_short(written)} 有 {digits} 位（上限 {limits.number_digits}）")
    if isinstance(value, str | bytes) and len(value) > limits.text_chars:
        raise LimitError(f"a text of {len(value):,} characters (limit {limits.text_chars}): {_short(written)}",
                         f"文本长 {len(value)} 个字符（上限 {limits.text_chars}）：{_short(written)}")


def _digits(n: int) -> int:
    n = abs(n)
    if n.bit_length() > 14_000:  # str() refuses beyond 4,300 digits; an estimate is enough to refuse
        return int(n.bit_length() * 0.30103) + 1
    return len(str(n))


def _short(text: str, width: int = 60) -> str:
    """A quoted piece of an expression, shortened so that no message repeats a long input."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def rule_nodes(counts: list[int]) -> None:
    """Refuse a rule whose expressions have more syntax nodes in all than the limit in force."""
    limits = current()
    total = sum(counts)
    if total > limits.rule_nodes:
        raise LimitError(f"the rule's expressions have {total:,} syntax nodes in all (limit {limits.rule_nodes:,}); "
                         "split it into several rules",
                         f"本规则的表达式共有 {total} 个语法单元（上限 {limits.rule_nodes}），请拆分为多条规则")
