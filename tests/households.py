"""Household generators: hypothesis strategies for property tests, and a seeded synthetic roll.

``households()`` / ``as_of_dates()`` / ``household_cases()`` explore the whole input space of
schemas/household.schema.json, leaning on the edges where §7 changes its mind (effective dates,
income floors, standards, caps, the 90-day window, the 365-day review).

``synth_households(n, seed)`` is different: realistic rural Hunan households for impact reports
and benchmarks, deterministic for a seed, standard library only (it is meant to become
``doudi synth``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st
from reference import COUNTY_PARENT, MAJOR_DISEASES

from engine.synth import DISABILITY_KINDS, OTHER_DISEASES
from engine.synth import synth_households as engine_synth

COUNTY_CODES: tuple[str, ...] = tuple(sorted(COUNTY_PARENT))
# counties with their own §5 values, drawn more often than the other 116
SPECIAL_COUNTIES = ("430121", "430181", "431322", "433124", "430822", "430626")
_STUDENT_KINDS = ("none", "compulsory", "high_school", "vocational", "college")
ALL_MAJOR = tuple(sorted(MAJOR_DISEASES))

FIRST_DATE, LAST_DATE = dt.date(2017, 1, 1), dt.date(2021, 12, 31)
BOUNDARY_DATES = tuple(
    dt.date.fromisoformat(d)
    for d in ("2017-01-01", "2017-12-31", "2018-01-01", "2018-12-31",
              "2019-01-01", "2019-12-31", "2020-01-01")
)

_STANDARDS = (3360, 3600, 3650, 3720, 3840, 3960, 4000, 4200, 4800, 5400, 6000)


def _boundary_amounts() -> tuple[float | int, ...]:
    """Amounts where a §7 comparison flips: n·S (income), 2·n·S (deposits), floors, bands, caps; ±0.01."""
    pivots = {4800, 5000, 20000, 25000, 30000, 40000, 50000}
    pivots |= {s * j for s in _STANDARDS for j in range(1, 9)}
    pivots |= {2 * s * j for s in _STANDARDS for j in range(1, 9)}
    amounts = {x for p in pivots for x in (p, round(p - 0.01, 2), round(p + 0.01, 2))}
    return tuple(sorted(amounts))


BOUNDARY_AMOUNTS = _boundary_amounts()


# ---------------------------------------------------------------- hypothesis strategies


def money(max_yuan: int = 120_000) -> st.SearchStrategy[int | float]:
    """Non-negative yuan: whole, with up to two decimals, or on a §7 boundary."""
    return st.one_of(
        st.just(0),
        st.integers(0, max_yuan),
        st.integers(0, max_yuan * 100).map(lambda cents: cents / 100),
        st.sampled_from(BOUNDARY_AMOUNTS),
    )


def as_of_dates() -> st.SearchStrategy[dt.date]:
    """Evaluation dates 2017-01-01..2021-12-31, half of them on an effective-date boundary."""
    return st.one_of(st.sampled_from(BOUNDARY_DATES), st.dates(FIRST_DATE, LAST_DATE))


def _sometimes(draw: Any, target: dict, key: str, strategy: st.SearchStrategy) -> None:
    """Set ``target[key]`` from ``strategy`` about half of the time (absent otherwise)."""
    if draw(st.booleans()):
        target[key] = draw(strategy)


@st.composite
def _member(draw: Any, member_id: str, dependent: bool) -> dict:
    """One member; a ``dependent`` one is outside working age or declared not labour capable."""
    if dependent:
        ages = st.one_of(st.integers(0, 17), st.integers(60, 100), st.sampled_from((17, 60, 69, 70)))
    else:
        ages = st.one_of(st.integers(0, 100), st.sampled_from((17, 18, 59, 60, 69, 70)))
    member: dict[str, Any] = {"id": member_id, "age": draw(ages)}
    _sometimes(draw, member, "name", st.sampled_from(("张三", "李四", "王秀英", "Liu Wei")))
    _sometimes(draw, member, "relation", st.sampled_from(
        ("head", "spouse", "child", "parent", "grandparent", "grandchild", "sibling", "other")))
    _sometimes(draw, member, "in_prison", st.integers(0, 5).map(lambda i: i == 0))
    _sometimes(draw, member, "student", st.sampled_from(_STUDENT_KINDS))
    _sometimes(draw, member, "disability", st.fixed_dictionaries({
        "kind": st.sampled_from(DISABILITY_KINDS),
        "grade": st.integers(1, 4),
    }))
    _sometimes(draw, member, "serious_illness", st.integers(0, 3).map(lambda i: i == 0))
    overrides = (None, False) if dependent else (None, True, False)
    _sometimes(draw, member, "labour_capable", st.sampled_from(overrides))
    if draw(st.booleans()):
        member["income"] = draw(st.fixed_dictionaries({}, optional={
            part: money(3_000 if dependent else 60_000)
            for part in ("wages", "business", "property", "transfer", "basic_pension", "excluded")
        }))
    return member


def _date_near(as_of: dt.date, offsets: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    return offsets.map(lambda days: (as_of + dt.timedelta(days=days)).isoformat())


@st.composite
def households(draw: Any, as_of: dt.date | None = None) -> dict:
    """A valid household (docs/semantics.md §6); incident and review dates cluster around ``as_of``."""
    if as_of is None:
        as_of = draw(as_of_dates())
    county = draw(st.one_of(st.sampled_from(COUNTY_CODES), st.sampled_from(SPECIAL_COUNTIES)))
    size = draw(st.integers(1, 8))
    ids = [f"m{i}" for i in range(1, size + 1)]
    # a dependent household (nobody able to work) is the path to safety_net and its programmes
    dependent = draw(st.booleans())
    household: dict[str, Any] = {
        "household_id": f"HN-{county}-{draw(st.integers(1, 9999)):04d}",
        "county": county,
        "members": [draw(_member(member_id, dependent)) for member_id in ids],
    }
    if dependent:
        household["registered_poor"] = draw(st.integers(0, 4).map(lambda i: i > 0))
    else:
        _sometimes(draw, household, "registered_poor", st.booleans())
    _sometimes(draw, household, "enrolled", st.booleans())
    _sometimes(draw, household, "on_safety_net_list", st.booleans())
    _sometimes(draw, household, "last_review", st.one_of(
        st.none(),
        _date_near(as_of, st.one_of(st.integers(-800, 10), st.sampled_from((-366, -365, -364, 0))))))
    _sometimes(draw, household, "household_income",
               st.fixed_dictionaries({}, optional={part: money(5_000 if dependent else 30_000)
                                                           for part in ("farm_net", "other")}))
    _sometimes(draw, household, "assets", st.fixed_dictionaries({}, optional={
        "deposits": money(200_000),
        "car": st.sampled_from(("none", "private", "disability_vehicle", "farm_vehicle")),
    }))
    _sometimes(draw, household, "housing", st.fixed_dictionaries(
        {}, optional={flag: st.booleans() for flag in ("dilapidated", "disaster_damaged", "renovated")}))
    _sometimes(draw, household, "medical_claims", st.lists(st.fixed_dictionaries({
        "member": st.sampled_from(ids),
        "disease": st.sampled_from(ALL_MAJOR + OTHER_DISEASES),
        "in_policy_selfpaid": money(80_000),
    }), max_size=3))
    _sometimes(draw, household, "medical_aid_paid_ytd", st.dictionaries(
        st.sampled_from(ids),
        st.one_of(money(60_000), st.sampled_from((25000, 29999.5, 30000, 39999.99, 40000, 50000)))))
    _sometimes(draw, household, "incidents", st.lists(st.fixed_dictionaries({
        "type": st.sampled_from(("disaster", "fire", "accident", "sudden_illness")),
        "severity": st.sampled_from(("minor", "moderate", "severe")),
        "date": _date_near(as_of, st.one_of(st.integers(-120, 5), st.sampled_from((-91, -90, -89, 0, 1)))),
    }), max_size=3))
    return household


@st.composite
def household_cases(draw: Any) -> tuple[dict, dt.date]:
    """A (household, as_of) pair with the household's dates placed around as_of."""
    as_of = draw(as_of_dates())
    return draw(households(as_of)), as_of


# ---------------------------------------------------------------- seeded synthetic roll

def synth_households(n: int, seed: int, as_of: dt.date = dt.date(2019, 6, 30)) -> Iterator[dict]:
    """``n`` realistic households over all 122 counties (engine.synth, as ``doudi synth`` makes them)."""
    return engine_synth(COUNTY_CODES, n, seed, as_of, ALL_MAJOR)
