"""Money arithmetic (engine/amounts.py): half-up rounding, bands at their bounds, the numbers a decision shows.

Each assertion pins one behaviour a wrong yuan would break; together they kill every non-equivalent
mutant of engine/amounts.py (see docs/mutation.md for the run and the equivalent mutants).
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from engine.amounts import Fraction, apply_bands, exact, format_amount, json_number, round_half_up, simplest

HALF = Fraction(1, 2)
# docs/semantics.md §7 medical bands of other diseases: 50% up to 5000, 60% up to 20000, 70% above (cumulative)
BANDS = ((Fraction(5000), HALF), (Fraction(20000), Fraction(3, 5)), (None, Fraction(7, 10)))


def _same(got, want) -> None:
    """Equal and of the same type: 3 is not 3.0, Fraction(3) nor Decimal('3')."""
    assert got == want and type(got) is type(want), f"{got!r} is not {want!r}"


# -- exact, simplest ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "want"), [
    (3600, 3600), (2.0, 2), (0.7, Fraction(7, 10)), (0.1, Fraction(1, 10)), (304.17, Fraction(30417, 100)),
    (-0.5, Fraction(-1, 2)), ("2.50", Fraction(5, 2)), ("3.0", 3), (Fraction(6, 3), 2),
])
def test_exact_reads_the_decimal_text_of_a_number(raw, want):
    _same(exact(raw), want)


def test_reading_one_digit_leaves_the_interpreter_intact():
    """quicktions 1.24 parsing "2" corrupted memory: later UTF-8 text gained NUL bytes (a roll upload failed)."""
    for raw in ("1", "2", "7", Fraction(6, 3)):
        exact(raw)
    text = "\n".join(f'{{"name": "张丽", "n": {i}, "id": "HN-431322-000001"}}' for i in range(50))
    assert b"\0" not in text.encode()


def test_simplest_turns_only_whole_fractions_into_ints():
    _same(simplest(Fraction(600, 2)), 300)
    _same(simplest(Fraction(1, 2)), HALF)
    _same(simplest(2.0), 2.0)
    _same(simplest(7), 7)


# -- round_half_up -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "want"), [
    (0, 0), (HALF, 1), (0.5, 1), (1.5, 2), (2.5, 3), (Fraction(201, 2), 101), (Fraction(2609, 2), 1305),
    (0.49, 0), (Fraction(1, 3), 0), (Fraction(2, 3), 1), (-0.5, -1), (-2.5, -3), (-0.49, 0), (Fraction(-2, 3), -1),
    (130.5, 131), (7, 7), (-7, -7),
])
def test_round_half_up_away_from_zero_to_an_int(value, want):
    _same(round_half_up(value), want)


@pytest.mark.parametrize(("value", "ndigits", "want"), [
    (Fraction(1825, 6), 2, Fraction(30417, 100)), (Fraction(12345, 1000), 2, Fraction(1235, 100)),
    (Fraction(-12345, 1000), 2, Fraction(-1235, 100)), (Fraction(12344, 1000), 2, Fraction(1234, 100)),
    (Fraction(1, 200), 2, Fraction(1, 100)), (Fraction(1, 201), 2, Fraction(0)), (0.25, 1, Fraction(3, 10)),
    (Fraction(1005, 1000), 2, Fraction(101, 100)),
])
def test_round_half_up_to_decimals_is_an_exact_fraction(value, ndigits, want):
    got = round_half_up(value, ndigits)
    assert got == want and isinstance(got, Fraction)


@pytest.mark.parametrize("value", [True, False, None])
def test_round_half_up_refuses_what_is_not_a_number(value):
    with pytest.raises(TypeError, match=r"^round\(\) needs a number$"):
        round_half_up(value)


# -- apply_bands -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "want"), [
    (0, 0), (1, HALF), (4999, Fraction(4999, 2)), (5000, 2500), (5001, Fraction(25006, 10)),
    (19999, Fraction(114994, 10)), (20000, 2500 + 9000), (20001, Fraction(115007, 10)),
    (30000, 2500 + 9000 + 7000), (Fraction(10001, 2), Fraction(25003, 10)),
])
def test_cumulative_bands_below_at_and_above_each_bound(amount, want):
    assert apply_bands(amount, BANDS) == want


def test_a_negative_amount_gets_nothing_from_the_bands():
    assert apply_bands(-100, BANDS) == 0
    assert apply_bands(Fraction(-1, 2), ((None, 1),)) == 0


def test_bands_without_an_open_top_stop_at_the_last_bound():
    capped = ((5000, HALF), (20000, Fraction(3, 5)))
    assert apply_bands(20000, capped) == 11500
    assert apply_bands(25000, capped) == 11500  # nothing above the last bound
    assert apply_bands(4000, ((5000, 0.5),)) == 2000


def test_a_single_open_band_is_a_flat_rate():
    assert apply_bands(1234, ((None, Fraction(7, 10)),)) == Fraction(8638, 10)
    assert apply_bands(0, ((None, 1),)) == 0


def test_bands_of_a_fractional_amount_take_exact_rates():
    assert apply_bands("100.5", ((100, "0.5"), (None, "0.1"))) == Fraction(5005, 100)
    assert isinstance(apply_bands(10, ((None, 1),)), Fraction)


# -- json_number, format_amount ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "want"), [
    (3600, 3600), (-20, -20), (Fraction(1825, 6), Decimal("304.17")), (Fraction(-1825, 6), Decimal("-304.17")),
    (HALF, Decimal("0.50")), (Fraction(201, 2), Decimal("100.50")), (Fraction(1, 200), Decimal("0.01")),
    (Fraction(-1, 200), Decimal("-0.01")), (Fraction(1, 201), 0), (Fraction(199, 200), 1), (Fraction(599, 200), 3),
    (Fraction(29999, 100), Decimal("299.99")), (Fraction(30000, 100), 300), (Fraction(-7, 1), -7),
    (Fraction(1, 3), Decimal("0.33")), (Fraction(2, 3), Decimal("0.67")), (Fraction(1000001, 1000), 1000),
    (Fraction(100501, 1000), Decimal("100.50")),
    (0.125, Decimal("0.13")), (2.0, 2), (2.5, Decimal("2.50")), (Decimal("2.345"), Decimal("2.35")),
    (Decimal("-2.345"), Decimal("-2.35")), (Decimal("7.00"), 7),
])
def test_json_number_is_an_int_or_two_decimals_half_up(value, want):
    _same(json_number(value), want)
    if isinstance(want, Decimal):
        assert str(json_number(value)) == str(want)  # exactly two decimals: 0.50, not 0.5 or 0.500


@pytest.mark.parametrize(("value", "text"), [
    (Fraction(1825, 6), "304.17"), (Fraction(3650, 12), "304.17"), (Fraction(7200, 2), "3600"), (3600, "3600"),
    (Fraction(-1825, 6), "-304.17"), (0.7, "0.70"), ("1.005", "1.005"), ("元", "元"), (True, "True"), (None, "None"),
])
def test_format_amount_never_shows_a_fraction(value, text):
    assert format_amount(value) == text
    assert "/" not in format_amount(value)


@pytest.mark.parametrize(("value", "text"), [
    (math.inf, "inf"),  # ArithmeticError (InvalidOperation) from quantize
    ([1], "[1]"),  # ValueError from Decimal
    ({}, "{}"),  # TypeError from Decimal
])
def test_format_amount_of_what_is_no_amount_is_its_text(value, text):
    assert format_amount(value) == text
