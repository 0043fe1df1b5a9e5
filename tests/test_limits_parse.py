"""engine/limits.py called directly: each limit of an expression at and beyond its bound, the messages in
English and Chinese, and the limits in force for one block. Fast on purpose: the mutation run
(docs/mutation.md) runs it for every mutant, without conftest; tests/test_limits.py checks the same limits
through whole rule files."""

from __future__ import annotations

import dataclasses

import pytest

from engine import limits
from engine.limits import LimitError, Limits, enforced, parse

SMALL = Limits(expression_chars=40, expression_nodes=12, rule_nodes=20, nesting=4, alternatives=3,
               number_digits=5, text_chars=4, round_digits=2)


def refused(source, within=SMALL):
    with enforced(within), pytest.raises(LimitError) as info:
        parse(source)
    return str(info.value), info.value.message_zh


def nodes(source, within=SMALL):
    with enforced(within):
        return parse(source)[1]


def test_a_small_expression_is_parsed_and_its_nodes_counted():
    tree, count = parse("  a + 1  ")
    assert type(tree.body).__name__ == "BinOp" and count == 5  # BinOp, a, Load, Add, 1
    assert nodes("a") == 2 and nodes("1") == 1


def test_characters_at_and_over_the_limit():
    assert nodes("a" * 40) == 2
    assert refused("a" * 41) == ("the expression is 41 characters long (limit 40)", "表达式长 41 个字符（上限 40）")
    assert "5,001 characters long (limit 5,000)" in refused("1" * 5001, limits.LIMITS)[0]


def test_nodes_at_and_over_the_limit():
    flat = Limits(expression_nodes=12, nesting=10)
    assert nodes("a + b + c", flat) == 10  # BinOp BinOp a Load Add b Load Add c Load
    assert nodes("a + b + -c", flat) == 12
    message, zh = refused("a + b + c + d", flat)
    assert message == "the expression has 14 syntax nodes (limit 12); split it into several rules or variables"
    assert zh == "表达式有 14 个语法单元（上限 12），请拆分为多条规则或变量"


def test_nesting_at_and_over_the_limit():
    assert nodes("-(-a)") == 6  # depth 4: two UnaryOp, the name and its Load
    message, zh = refused("-(-(-a))")
    assert message == "the expression is nested more than 4 levels deep (limit 4); use variables for its parts"
    assert zh == "表达式嵌套超过 4 层（上限 4），请用变量拆分"


@pytest.mark.parametrize("at, over, words, zh", [
    ("a or b or c", "a or b or c or d", "an 'or' chain of 4 terms", "'or' 连接了 4 项"),
    ("a and b and c", "a and b and c and d", "an 'and' chain of 4 terms", "'and' 连接了 4 项"),
    ("a < b < c < d", "a < b < c < d < e", "a comparison chain of 4 links", "连续比较有 4 处"),
    ("f(1, 2, 3)", "f(1, 2, 3, 4)", "a call with 4 arguments", "函数调用有 4 个参数"),
    ("[1, 2, 3]", "[1, 2, 3, 4]", "a list of 4 items", "列表有 4 项"),
    ("(1, 2, 3)", "(1, 2, 3, 4)", "a list of 4 items", "列表有 4 项"),
    ("{1, 2, 3}", "{1, 2, 3, 4}", "a list of 4 items", "列表有 4 项"),
    ("{1: 1, 2: 2, 3: 3}", "{1: 1, 2: 2, 3: 3, 4: 4}", "a table of 4 entries", "表有 4 项"),
])
def test_alternatives_at_and_over_the_limit(at, over, words, zh):
    wide = Limits(alternatives=3, expression_nodes=100, nesting=10)
    assert nodes(at, wide) > 0
    message, message_zh = refused(over, wide)
    assert message == f"{words} (limit 3); use a list parameter or split the rule"
    assert message_zh == f"{zh}（上限 3），请改用列表参数或拆分规则"


def test_numbers_at_and_over_their_digits():
    assert nodes("12345") == 1 and nodes("0.1234") == 1 and nodes("-99999") == 3
    assert refused("123456") == ("the number 123456 has 6 digits (limit 5)", "数值 123456 有 6 位（上限 5）")
    assert refused("0.00001")[0] == "the number 0.00001 has 6 digits (limit 5)"  # 1/100000: its denominator
    assert refused("1_000_00")[0] == "the number 1_000_00 has 6 digits (limit 5)"
    assert refused("1e999")[0] == "1e999 is not a finite number"
    assert refused("1e999")[1] == "1e999 不是有限的数值"
    assert refused("9" * 4400, Limits(expression_chars=10_000))[0] == \
        "a number has more than 4,300 digits (limit 30)"


def test_true_false_and_none_are_not_numbers():
    assert nodes("True") == 1 and nodes("None") == 1


def test_texts_at_and_over_their_length():
    assert nodes("'abcd'") == 1
    assert refused("'abcde'") == ("a text of 5 characters (limit 4): 'abcde'", "文本长 5 个字符（上限 4）：'abcde'")
    assert refused("b'abcde'")[0] == "a text of 5 characters (limit 4): b'abcde'"


@pytest.mark.parametrize("digits", ["0", "2"])
def test_round_to_a_written_whole_number_within_the_limit(digits):
    assert nodes(f"round(x, {digits})", Limits(round_digits=2)) == 6


@pytest.mark.parametrize("digits", ["3", "-1", "True", "y", "1.0"])
def test_round_to_anything_else_is_refused(digits):
    message, zh = refused(f"round(x, {digits})", Limits(round_digits=2))
    assert message == f"round(x, digits): digits must be a whole number from 0 to 2 written in the rule, not {digits}"
    assert zh == f"round(x, 位数)：位数须为 0 到 2 的整数，不能是 {digits}"


def test_round_with_one_argument_and_other_calls_are_free():
    assert nodes("round(x)", Limits()) == 5 and nodes("max(x, 99)", Limits()) == 6
    assert nodes("m.round(x, 99)", Limits()) > 0


def test_syntax_errors_and_depth_the_parser_refuses():
    message, zh = refused("a +")
    assert message.startswith("syntax error at column ") and zh.startswith("语法错误（第 ")
    deep = "(" * 300 + "1" + ")" * 300
    assert refused(deep, Limits(expression_chars=10_000, nesting=1_000))[0] == \
        "the expression is too long or nested too deeply to be read; split it into several rules"


def test_rule_nodes_at_and_over_the_limit():
    with enforced(SMALL):
        limits.rule_nodes([10, 10])
        with pytest.raises(LimitError) as info:
            limits.rule_nodes([10, 11])
    assert str(info.value) == ("the rule's expressions have 21 syntax nodes in all (limit 20); "
                               "split it into several rules")
    assert info.value.message_zh == "本规则的表达式共有 21 个语法单元（上限 20），请拆分为多条规则"


def test_limits_in_force_for_one_block_then_restored():
    assert limits.current() is limits.LIMITS
    with enforced(SMALL) as inner:
        assert inner is SMALL and limits.current() is SMALL
        with enforced(None) as same:
            assert same is SMALL
    assert limits.current() is limits.LIMITS


def test_long_source_is_shortened_in_messages():
    assert limits._short("a  b\n c") == "a b c"
    assert limits._short("x" * 61) == "x" * 59 + "…" and limits._short("x" * 60) == "x" * 60
    assert limits._digits(-12345) == 5 and limits._digits(10 ** 5000) == 5001
    assert limits._digits(10 ** 5001) == 5002  # estimated beyond 14,000 bits
    source = limits._Source("a +\n  bcd")
    tree = parse("a +\\\n  bcd")[0]
    assert source.of(tree.body) == "a +\n  bcd" and source.of(tree.body.right) == "bcd"


# -- survivors of the mutation run (docs/mutation.md) -------------------------------------------------

def test_the_limits_in_force_are_the_documented_ones_and_cannot_be_changed_in_place():
    assert dataclasses.asdict(limits.LIMITS) == {  # rules/README.md, "Limits"
        "expression_chars": 5_000, "expression_nodes": 1_000, "rule_nodes": 2_000, "nesting": 32,
        "alternatives": 200, "number_digits": 30, "text_chars": 200, "round_digits": 10,
        "condition_operators": 15, "branching": 400}
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.LIMITS.nesting = 1_000  # type: ignore[misc]


def test_well_below_each_limit_is_accepted():
    assert nodes("12") == 1 and nodes("'ab'") == 1 and nodes("a") == 2
    assert nodes("a", Limits(alternatives=0)) == 2  # a name has no alternatives at all
    assert nodes("sum(x, 99)", Limits(round_digits=2)) == 6  # only round's second argument is digits
    with enforced(SMALL):
        limits.rule_nodes([1])
        limits.rule_nodes([])


def test_the_text_of_a_node_over_three_lines():
    text = "f(a,\n  b,\n  c)"
    source, tree = limits._Source(text), parse(text)[0]
    assert source.of(tree.body) == text and source.of(tree.body.args[1]) == "b"
    assert source.of(tree.body.args[2]) == "c"


@pytest.mark.parametrize("source", ["-" * 100_000 + "1", "a." * 100_000 + "b"])  # MemoryError, RecursionError
def test_what_exhausts_the_parser_is_refused_as_too_deep(source):
    message, zh = refused(source, Limits(expression_chars=300_000))
    assert message == "the expression is too long or nested too deeply to be read; split it into several rules"
    assert zh == "表达式过长或嵌套过深，无法解析；请拆分为多条规则"


def test_only_round_with_two_arguments_has_its_digits_checked():
    assert nodes("round(x, 99, 1)", Limits()) == 7  # not Python's round: the expression compiler refuses it


def test_the_text_of_nodes_starting_on_later_lines():
    text = "f(a,\n  [b,\n  c],\n  [d,\n  e])"
    source, tree = limits._Source(text), parse(text)[0]
    assert [source.of(node) for node in tree.body.args] == ["a", "[b,\n  c]", "[d,\n  e]"]
    far = "f(" + "\n" * 299 + "abc)"  # line numbers beyond Python's cached small integers
    assert limits._Source(far).of(parse(far)[0].body.args[0]) == "abc"
