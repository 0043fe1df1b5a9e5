"""The expression compiler in isolation: exact closures, durable-rules conditions, and load-time errors."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.amounts import Fraction, json_number
from engine.compiler import Compiler
from engine.conditions import ConditionCompiler, durable_key, encode_for_durable
from engine.expressions import Env, ExpressionError, Symbol

SINCE_REVIEW = {"$sub": {"$l": {"$m": "h_as_of"}, "$r": {"$m": "h_last_review"}}}  # as_of - last_review


def _sym(name: str, kind: str, type_: str, scope: str = "household", nullable: bool = False) -> Symbol:
    return Symbol(name, kind, scope, type_, nullable)


SYMBOLS = {(s.scope, s.name): s for s in [
    _sym("countable_income", "variable", "money"),
    _sym("household_size", "variable", "int"),
    _sym("dibao_standard", "parameter", "money"),
    _sym("benefit_floor", "parameter", "money"),
    _sym("asset_deposit_multiple", "parameter", "number"),
    _sym("review_interval_days", "parameter", "int"),
    _sym("window_days", "parameter", "int"),
    _sym("major_diseases", "parameter", "list"),
    _sym("medical_bands", "parameter", "bands"),
    _sym("temporary_multiples", "parameter", "map"),
    _sym("registered_poor", "fact", "bool"),
    _sym("enrolled", "fact", "bool"),
    _sym("assets.deposits", "fact", "money"),
    _sym("assets.car", "fact", "str"),
    _sym("last_review", "fact", "date", nullable=True),
    _sym("as_of", "input", "date"),
    Symbol("medical_aid_paid_ytd", "fact", "household", "map", item_type="money"),
    _sym("age", "fact", "int", "member"),
    _sym("income", "fact", "money", "member"),
    _sym("counted", "variable", "bool", "member"),
    _sym("labour_capable", "fact", "bool", "member", nullable=True),
    _sym("disease", "fact", "str", "claim"),
    _sym("member", "fact", "str", "claim"),
    _sym("in_policy_selfpaid", "fact", "money", "claim"),
    _sym("claim_amount", "variable", "money", "claim"),
    _sym("date", "fact", "date", "incident"),
]} | {("collection", name): Symbol(name, "collection", scope, "list")
      for name, scope in (("members", "member"), ("claims", "claim"), ("incidents", "incident"))}


@pytest.fixture
def compile_():
    """Compile an expression for rules of a scope (household by default) against SYMBOLS."""

    def run(source: str, scope: str = "household"):
        return Compiler(SYMBOLS, scope).compile(source)

    return run


@pytest.fixture
def condition():
    """Compile a condition to its durable-rules JSON and the fact keys it needs."""

    def run(source: str, scope: str = "household"):
        cond, keys, _ = ConditionCompiler(SYMBOLS, scope).to_condition(source)
        return cond, keys

    return run


@pytest.fixture
def env():
    """Household values, three members and two claims, as the evaluator hands them to closures."""
    members = [{"id": "m1", "age": 66, "income": Fraction(1200), "counted": True},
               {"id": "m2", "age": 12, "income": Fraction(0), "counted": True},
               {"id": "m3", "age": 40, "income": Fraction(9000), "counted": False}]
    claims = [{"member": "m1", "disease": "stroke", "in_policy_selfpaid": Fraction(25000),
               "claim_amount": Fraction(15000)},
              {"member": "m1", "disease": "esrd", "in_policy_selfpaid": Fraction(1000), "claim_amount": Fraction(0)}]
    household = {
        "countable_income": Fraction(4200), "household_size": 3, "dibao_standard": Fraction(3650),
        "benefit_floor": Fraction(20), "asset_deposit_multiple": Fraction(2), "review_interval_days": 365,
        "window_days": 90, "major_diseases": ("esrd", "child_all"),
        "medical_bands": ((Fraction(5000), Fraction("0.5")), (Fraction(20000), Fraction("0.6")),
                          (None, Fraction("0.7"))),
        "temporary_multiples": {"minor": Fraction(1), "severe": Fraction(3)},
        "registered_poor": True, "enrolled": False, "assets.deposits": Fraction("1234.56"), "assets.car": "none",
        "last_review": dt.date(2018, 1, 15), "as_of": dt.date(2019, 3, 1),
        "medical_aid_paid_ytd": {"m1": Fraction(25000)}, "members": members, "claims": claims, "incidents": [],
    }
    return household


# -- closures compute exactly -------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "value", "type_"), [
    ("0.1 + 0.2", Fraction(3, 10), "number"),
    ("0.1 + 0.2 == 0.3", True, "bool"),
    ("dibao_standard / 12", Fraction(3650, 12), "money"),
    ("countable_income / household_size * household_size == countable_income", True, "bool"),
    ("countable_income / dibao_standard", Fraction(4200, 3650), "number"),
    ("round(2.5)", 3, "number"),
    ("round(3.5)", 4, "number"),
    ("round(-2.5)", -3, "number"),
    ("round(0.125, 2)", Fraction(13, 100), "number"),
    ("round(dibao_standard / 12, 2)", Fraction("304.17"), "money"),
    ("round(dibao_standard / 12)", 304, "money"),
    ("bands(25000, medical_bands)", Fraction(15000), "money"),  # 5000×0.5 + 15000×0.6 + 5000×0.7
    ("bands(4000, medical_bands)", Fraction(2000), "money"),
    ("max((dibao_standard * household_size - countable_income) / 12, benefit_floor * household_size)",
     Fraction(6750, 12), "money"),
    ("min(countable_income, 100, 5000)", 100, "money"),
    ("abs(countable_income - dibao_standard * 2)", Fraction(3100), "money"),
    ("sum(m.income for m in members if m.counted)", Fraction(1200), "money"),
    ("count(m for m in members if m.counted and m.age >= 60)", 1, "int"),
    ("any(m.age < 18 for m in members)", True, "bool"),
    ("all(m.counted for m in members)", False, "bool"),
    ("len(members)", 3, "int"),
    ("temporary_multiples['severe'] * dibao_standard / 12 * household_size", Fraction(3 * 3650 * 3, 12), "money"),
    ("assets.deposits if registered_poor else 0", Fraction("1234.56"), "money"),
    ("as_of - last_review", 410, "int"),
    ("as_of - window_days", dt.date(2018, 12, 1), "date"),
    ("last_review is None or as_of - last_review >= review_interval_days", True, "bool"),
    ("'esrd' in major_diseases", True, "bool"),
    ("assets.car not in ['private', 'farm_vehicle']", True, "bool"),
    ("18 <= household_size * 10 <= 59", True, "bool"),
])
def test_closure_computes_exact_values(compile_, env, source, value, type_):
    compiled = compile_(source)
    result = compiled.fn(Env(env))
    assert result == value
    assert type(result) is type(value)
    assert compiled.type == type_
    direct = compiled.direct(env, None, [])  # the generated function computes the same, to the type
    assert direct == value and type(direct) is type(value)


def test_lookup_in_a_table_with_a_default(compile_, env):
    compiled = compile_("lookup(medical_aid_paid_ytd, 'm1', 0) + lookup(medical_aid_paid_ytd, 'm2', 7)")
    assert compiled.fn(Env(env)) == Fraction(25007)


def test_lookup_in_a_money_table_is_money(compile_):
    assert compile_("lookup(medical_aid_paid_ytd, 'm1', 0)").type == "money"


def test_closure_for_an_entity_reads_the_entity_and_earlier_ones(compile_, env):
    compiled = compile_("max(0, min(round(in_policy_selfpaid * 0.7), 30000 - lookup(medical_aid_paid_ytd, member, 0)"
                        " - sum(c.claim_amount for c in earlier if c.member == member)))", "claim")
    claims = env["claims"]
    assert compiled.fn(Env(env, claims[1], claims[:1])) == 0  # 30000 − 25000 paid − 15000 granted < 0
    assert compiled.fn(Env(env, claims[1], [])) == 700
    assert compiled.direct(env, claims[1], claims[:1]) == 0 and compiled.direct(env, claims[1], []) == 700
    assert compiled.reads_earlier is True
    assert ("claim", "member") in compiled.reads and ("household", "medical_aid_paid_ytd") in compiled.reads


def test_closure_reports_what_it_reads(compile_):
    compiled = compile_("sum(m.income for m in members if m.counted) + countable_income")
    assert compiled.reads == {("member", "income"), ("member", "counted"), ("household", "countable_income")}
    assert compiled.reads_earlier is False


def test_division_by_zero_is_an_error_at_run_time_not_a_crash_of_python(compile_, env):
    env["household_size"] = 0
    with pytest.raises(ZeroDivisionError):
        compile_("countable_income / household_size").fn(Env(env))
    with pytest.raises(ZeroDivisionError):
        compile_("countable_income / household_size").direct(env, None, [])


def test_the_generated_function_uses_its_own_names_for_loop_variables(compile_, env):
    """A loop variable named like the function's own arguments cannot shadow them: it is renamed."""
    for var in ("hh", "ent", "earlier", "_divide"):
        compiled = compile_(f"sum({var}.income for {var} in members if {var}.counted) + countable_income")
        assert compiled.direct is not None and compiled.direct(env, None, []) == Fraction(5400), var
    assert compile_("count(m.age for m in members)").direct is None  # left to the closure, which reads m.age


# -- conditions compile to durable-rules JSON ---------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ("countable_income < household_size * dibao_standard",
     {"$lt": {"h_countable_income": {"$mul": {"$l": {"$m": "h_household_size"}, "$r": {"$m": "h_dibao_standard"}}}}}),
    # money is compared in fen, so constants are scaled by 100; counts are not
    ("countable_income < 100", {"$lt": {"h_countable_income": 10000}}),
    ("countable_income == 0.5", {"h_countable_income": 50}),
    ("countable_income <= 100 + 50", {"$lte": {"h_countable_income": 15000}}),
    ("household_size >= 1", {"$gte": {"h_household_size": 1}}),
    ("asset_deposit_multiple > 0.5", {"$gt": {"h_asset_deposit_multiple": 0.5}}),
    ("assets.deposits <= household_size * asset_deposit_multiple * dibao_standard",
     {"$lte": {"h_assets__deposits": {"$mul": {
         "$l": {"$mul": {"$l": {"$m": "h_household_size"}, "$r": {"$m": "h_asset_deposit_multiple"}}},
         "$r": {"$m": "h_dibao_standard"}}}}}),
    ("countable_income < dibao_standard * 0.5",
     {"$lt": {"h_countable_income": {"$mul": {"$l": {"$m": "h_dibao_standard"}, "$r": 0.5}}}}),
    ("countable_income < dibao_standard + 0.5",
     {"$lt": {"h_countable_income": {"$add": {"$l": {"$m": "h_dibao_standard"}, "$r": 50}}}}),
    # a constant on the left is flipped to the right
    ("100 > countable_income", {"$lt": {"h_countable_income": 10000}}),
    # durable-rules allows arithmetic only on the right: x - y >= z becomes x >= z + y
    ("countable_income - dibao_standard >= 100",
     {"$gte": {"h_countable_income": {"$add": {"$l": 10000, "$r": {"$m": "h_dibao_standard"}}}}}),
    ("countable_income + benefit_floor < 100",
     {"$lt": {"h_countable_income": {"$sub": {"$l": 10000, "$r": {"$m": "h_benefit_floor"}}}}}),
    ("countable_income - dibao_standard >= benefit_floor",
     {"$lte": {"h_benefit_floor": {"$sub": {"$l": {"$m": "h_countable_income"}, "$r": {"$m": "h_dibao_standard"}}}}}),
    ("assets.car != 'private'", {"$neq": {"h_assets__car": "private"}}),
    ("registered_poor", {"h_registered_poor": True}),
    ("not enrolled", {"h_enrolled": False}),
    ("registered_poor == True", {"h_registered_poor": True}),
    # De Morgan: not (a and b) == (not a) or (not b)
    ("not (registered_poor and enrolled)", {"$or": [{"h_registered_poor": False}, {"h_enrolled": False}]}),
    ("not (registered_poor or household_size > 1)",
     {"$and": [{"h_registered_poor": False}, {"$lte": {"h_household_size": 1}}]}),
    ("not not enrolled", {"h_enrolled": True}),
    ("not countable_income < 100", {"$gte": {"h_countable_income": 10000}}),
    ("household_size in [1, 2]", {"$or": [{"h_household_size": 1}, {"h_household_size": 2}]}),
    ("countable_income in [1, 2.5]", {"$or": [{"h_countable_income": 100}, {"h_countable_income": 250}]}),
    ("assets.car not in ['private', 'farm_vehicle']",
     {"$and": [{"$neq": {"h_assets__car": "private"}}, {"$neq": {"h_assets__car": "farm_vehicle"}}]}),
    ("not (assets.car in ['private'])", {"$and": [{"$neq": {"h_assets__car": "private"}}]}),
    ("last_review is None", {"h_last_review__null": True}),
    ("last_review is not None", {"h_last_review__null": False}),
    ("not (last_review is None)", {"h_last_review__null": False}),
    # a comparison with a nullable value is guarded: false when the value is missing, negated or not
    ("as_of - last_review >= review_interval_days",
     {"$and": [{"h_last_review__null": False},
               {"$lte": {"h_review_interval_days": SINCE_REVIEW}}]}),
    ("not (as_of - last_review >= review_interval_days)",
     {"$and": [{"h_last_review__null": False},
               {"$gt": {"h_review_interval_days": SINCE_REVIEW}}]}),
    ("last_review is None or as_of - last_review >= review_interval_days",
     {"$or": [{"h_last_review__null": True},
              {"$and": [{"h_last_review__null": False}, {"$lte": {"h_review_interval_days": SINCE_REVIEW}}]}]}),
])
def test_condition_compiles_to_durable_json(condition, source, expected):
    cond, _ = condition(source)
    assert cond == expected


@pytest.mark.parametrize(("source", "scope", "expected"), [
    ("disease in major_diseases", "claim", {"$iany": {"h_major_diseases": {"$i": {"$m": "e_disease"}}}}),
    ("disease not in major_diseases", "claim",
     {"$iall": {"h_major_diseases": {"$neq": {"$i": {"$m": "e_disease"}}}}}),
    ("counted and age >= 70", "member", {"$and": [{"e_counted": True}, {"$gte": {"e_age": 70}}]}),
    ("18 <= age <= 59", "member", {"$and": [{"$gte": {"e_age": 18}}, {"$lte": {"e_age": 59}}]}),
    ("labour_capable == True", "member", {"$and": [{"e_labour_capable__null": False}, {"e_labour_capable": True}]}),
    ("labour_capable is None and age >= 18", "member",
     {"$and": [{"e_labour_capable__null": True}, {"$gte": {"e_age": 18}}]}),
    ("date >= as_of - window_days and date <= as_of", "incident",
     {"$and": [{"$gte": {"e_date": {"$sub": {"$l": {"$m": "h_as_of"}, "$r": {"$m": "h_window_days"}}}}},
               {"$lte": {"e_date": {"$m": "h_as_of"}}}]}),
])
def test_entity_condition_compiles_to_durable_json(condition, source, scope, expected):
    cond, _ = condition(source, scope)
    assert cond == expected


def test_condition_lists_the_fact_keys_it_needs(condition):
    _, keys = condition("last_review is None or countable_income < household_size * dibao_standard")
    assert set(keys) == {"h_last_review", "h_last_review__null", "h_countable_income", "h_household_size",
                         "h_dibao_standard"}
    assert keys["h_last_review__null"].kind == "null-flag"
    assert keys["h_dibao_standard"] is SYMBOLS[("household", "dibao_standard")]


def test_durable_keys_and_encoding():
    assert durable_key(False, "assets.deposits") == "h_assets__deposits"
    assert durable_key(True, "age") == "e_age"
    assert encode_for_durable("money", Fraction("12.34")) == 1234
    assert encode_for_durable("money", Fraction(3650, 12)) == pytest.approx(30416.666667)
    assert encode_for_durable("date", dt.date(2019, 1, 1)) == dt.date(2019, 1, 1).toordinal()
    assert encode_for_durable("number", Fraction(1, 3)) == 0.333333
    assert encode_for_durable("number", Fraction(2)) == 2 and isinstance(encode_for_durable("number", Fraction(2)), int)
    assert encode_for_durable("list", ("a", "b")) == ["a", "b"]
    assert encode_for_durable("money", None) is None


def test_ratios_too_small_for_durable_rules_are_refused_not_rounded_to_zero(condition):
    with pytest.raises(ExpressionError, match="too small for durable-rules"):
        condition("asset_deposit_multiple < 0.00005")
    with pytest.raises(ValueError, match="too small"):
        encode_for_durable("number", Fraction(1, 100000))


# -- errors at load time ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "words"), [
    ("countable_incme < 1", ["unknown name 'countable_incme'", "did you mean 'countable_income'?"]),
    ("xyzzy", ["unknown name 'xyzzy'"]),
    ("sum(m.incme for m in members)", ["unknown member field 'incme'", "did you mean 'income'?"]),
    ("countable_income ** 2", ["operator in 'countable_income ** 2' is not allowed"]),
    ("countable_income // 2", ["is not allowed (use + - * /)"]),
    ("countable_income < 'abc'", ["compares a money with a str"]),
    ("assets.car == 3", ["compares a str with a int"]),
    ("countable_income + 'a'", ["arithmetic needs numbers (money, str)"]),
    ("countable_income if registered_poor else 'none'", ["both branches", "(money, str)"]),
    ("not countable_income", ["'not' needs a true/false value"]),
    ("registered_poor and countable_income", ["'countable_income' is not true/false"]),
    ("import os", ["syntax error"]),
    ("countable_income <", ["syntax error at column"]),
    ("   ", ["empty expression"]),
    ("__import__('os')", ["'__import__' is not a function here", "use one of min, max, round"]),
    ("open('/etc/passwd')", ["'open' is not a function here"]),
    ("eval('1 + 1')", ["'eval' is not a function here"]),
    ("exec('x = 1')", ["'exec' is not a function here"]),
    ("getattr(countable_income, 'real')", ["'getattr' is not a function here"]),
    ("countable_income.__class__", ["unknown name 'countable_income.__class__'"]),
    ("dibao_standard.real", ["unknown name 'dibao_standard.real'"]),
    ("(1).real", ["is not a name"]),
    ("'abc'.upper()", ["is not a function here"]),
    ("lambda: 1", ["'lambda: 1' is not allowed in rule expressions"]),
    ("(lambda: 1)()", ["is not a function here"]),
    ("[m for m in members]", ["is not allowed in rule expressions"]),
    ("{'a': 1}", ["is not allowed in rule expressions"]),
    ("f'{countable_income}'", ["is not allowed in rule expressions"]),
    ("dibao_standard[0]", ["only a table parameter can be indexed"]),
    ("members[0]", ["'members' is a list"]),
    ("members", ["'members' is a list: use it in sum(...)"]),
    ("sum(members)", ["write sum(m.x for m in members if ...)"]),
    ("sum(m.age for m in members for n in members)", ["with one 'for'"]),
    ("sum(m for m in members)", ["use a field of 'm'"]),
    ("sum(m.counted for m in members)", ["sum() adds numbers"]),
    ("any(m.age for m in members)", ["any() needs a true/false expression"]),
    ("sum(x.age for x in dibao_standard)", ["is not a list"]),
    ("round(countable_income, ndigits=2)", ["round() takes no keyword arguments"]),
    ("round(countable_income, household_size)", ["digits must be a whole number"]),
    ("max(countable_income)", ["max() needs two or more numbers"]),
    ("bands(countable_income, temporary_multiples)", ["bands(amount, table) needs"]),
    ("sum(c.claim_amount for c in earlier)", ["'earlier' exists only in rules with for_each"]),
])
def test_expression_error(compile_, source, words):
    with pytest.raises(ExpressionError) as info:
        compile_(source)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(("source", "scope", "words"), [
    ("countable_income / household_size < dibao_standard", "household",
     ["no division in conditions", "multiply the other side", "income < size * standard"]),
    ("countable_income < dibao_standard / 12", "household", ["no division in conditions"]),
    ("countable_income * 2 < dibao_standard * 3", "household",
     ["put a single fact or value on one side of a comparison"]),
    ("1 - countable_income < dibao_standard - 1", "household", ["put a single fact or value on one side"]),
    ("countable_income < household_size", "household", ["compared with a value of another unit"]),
    ("countable_income < dibao_standard * benefit_floor", "household", ["compared with a value of another unit"]),
    ("countable_income < household_size + dibao_standard", "household", ["adds values of different units"]),
    ("countable_income", "household", ["a condition must be true or false, not a money"]),
    ("True", "household", ["leave 'when' out"]),
    ("last_review == None", "household", ["write 'last_review is None'"]),
    ("household_size is None", "household", ["'household_size' is never None"]),
    ("countable_income < max(dibao_standard, 1)", "household", ["cannot be used in a condition"]),
    ("countable_income < -dibao_standard", "household", ["cannot be used in a condition"]),
    ("temporary_multiples == 1", "household", ["compares a map with a int"]),
    ("countable_income < temporary_multiples", "household", ["compares a money with a map"]),
    ("claim_amount > sum(c.claim_amount for c in earlier)", "claim", ["'earlier' can be used in assignments"]),
    ("any(m.counted for m in members)", "household", ["cannot be used as a condition"]),
])
def test_condition_error(source, scope, words):
    with pytest.raises(ExpressionError) as info:
        ConditionCompiler(SYMBOLS, scope).to_condition(source)
    for word in words:
        assert word in str(info.value)


def test_a_condition_may_not_read_what_its_rule_sets():
    compiler = ConditionCompiler(SYMBOLS, "household").with_locals({"countable_income": "money"})
    with pytest.raises(ExpressionError, match="'countable_income' is set by this rule"):
        compiler.to_condition("countable_income > 0")


def test_earlier_assignments_of_the_same_rule_are_readable(env):
    compiled = Compiler(SYMBOLS, "household").with_locals({"base": "money"}).compile("round(base + 0.5)")
    assert compiled.fn(Env({**env, "base": Fraction(1)})) == 2
    assert compiled.type == "money"


@given(st.integers(-10**9, 10**9), st.integers(1, 10**6))
def test_amounts_are_shown_to_the_fen_half_away_from_zero(numerator, denominator):
    value = Fraction(numerator, denominator)
    shown = json_number(value)
    expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert shown == expected
    assert isinstance(shown, int) == (expected == expected.to_integral_value())
