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
import random
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st
from reference import COUNTY_PARENT, MAJOR_DISEASES

COUNTY_CODES: tuple[str, ...] = tuple(sorted(COUNTY_PARENT))
# counties with their own §5 values, drawn more often than the other 116
SPECIAL_COUNTIES = ("430121", "430181", "431322", "433124", "430822", "430626")
_STUDENT_KINDS = ("none", "compulsory", "high_school", "vocational", "college")
_DISABILITY_KINDS = ("physical", "visual", "hearing", "speech", "intellectual", "mental", "multiple")
OTHER_DISEASES = ("stroke", "diabetes", "hypertension", "pneumonia", "fracture", "tuberculosis", "copd")
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
        "kind": st.sampled_from(_DISABILITY_KINDS),
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
    """A valid household (SPEC §6); incident and review dates cluster around ``as_of``."""
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

_SURNAMES = "张王李刘陈杨黄赵周吴彭谭邓曾罗唐蒋石"
_GIVEN = ("建国", "秀英", "桂兰", "志强", "伟", "芳", "明", "丽", "军", "红梅", "小龙", "子涵", "雨轩")
_DISABILITY_WEIGHTS = (45, 12, 12, 4, 10, 9, 8)


def _amount(rng: random.Random, low: float, high: float) -> int | float:
    """A yuan amount in [low, high]: usually whole, one time in five with fen."""
    value = rng.uniform(low, high)
    return round(value, 2) if rng.random() < 0.2 else int(round(value))


def _relation_age(rng: random.Random, relation: str, head_age: int) -> int:
    offsets = {"spouse": (-6, 4), "child": (-38, -20), "parent": (20, 32), "grandchild": (-62, -42),
               "sibling": (-8, 8), "grandparent": (40, 50)}
    low, high = offsets[relation]
    return max(0, min(100, head_age + rng.randint(low, high)))


def _student(rng: random.Random, age: int) -> str:
    if 6 <= age <= 15:
        return "compulsory"
    if 16 <= age <= 18 and rng.random() < 0.75:
        return rng.choice(("high_school", "high_school", "vocational"))
    if 19 <= age <= 22 and rng.random() < 0.25:
        return "college"
    return "none"


def _synth_income(rng: random.Random, age: int, student: str, poor: bool) -> dict[str, int | float]:
    income: dict[str, int | float] = {}
    if 18 <= age <= 59 and student == "none":
        work = rng.random()
        migrant, local = (0.08, 0.35) if poor else (0.25, 0.55)
        if work < migrant:
            income["wages"] = _amount(rng, 12_000, 42_000)
        elif work < local:
            income["wages"] = _amount(rng, 1_500, 12_000)
        if rng.random() < 0.05:
            income["business"] = _amount(rng, 1_000, 15_000)
    if rng.random() < 0.03:
        income["property"] = _amount(rng, 100, 3_000)
    if rng.random() < (0.6 if age >= 60 else 0.1):
        income["transfer"] = _amount(rng, 200, 2_400)
    if age >= 60 and rng.random() < 0.85:
        income["basic_pension"] = 12 * rng.randint(88, 150)
    if rng.random() < 0.1:
        income["excluded"] = _amount(rng, 100, 3_000)
    return income


def _synth_members(rng: random.Random, size: int, poor: bool) -> list[dict]:
    head_age = rng.randint(50, 92) if size == 1 else rng.randint(26, 82)
    relations = ["head"]
    if size >= 2 and rng.random() < 0.85:
        relations.append("spouse")
    while len(relations) < size:
        if head_age >= 60:
            relations.append(rng.choices(("child", "grandchild", "sibling"), (45, 50, 5))[0])
        elif head_age >= 42:
            relations.append(rng.choices(("child", "parent", "grandchild", "sibling"), (60, 30, 7, 3))[0])
        else:
            relations.append(rng.choices(("child", "parent", "grandparent", "sibling"), (60, 30, 5, 5))[0])
    surname = rng.choice(_SURNAMES)
    members = []
    for index, relation in enumerate(relations, start=1):
        age = head_age if relation == "head" else _relation_age(rng, relation, head_age)
        student = _student(rng, age)
        member: dict[str, Any] = {"id": f"m{index}", "name": surname + rng.choice(_GIVEN),
                                  "relation": relation, "age": age}
        if student != "none":
            member["student"] = student
        if 18 <= age <= 60 and rng.random() < 0.008:
            member["in_prison"] = True
        if rng.random() < (0.05 if age >= 40 else 0.01):
            member["serious_illness"] = True
        if rng.random() < 0.03:
            member["labour_capable"] = rng.choice((True, False))
        income = _synth_income(rng, age, student, poor)
        if income:
            member["income"] = income
        members.append(member)
    if rng.random() < 0.10:
        rng.choice(members)["disability"] = {
            "kind": rng.choices(_DISABILITY_KINDS, _DISABILITY_WEIGHTS)[0],
            "grade": rng.choices((1, 2, 3, 4), (15, 25, 30, 30))[0],
        }
    return members


def synth_households(n: int, seed: int, as_of: dt.date = dt.date(2019, 6, 30)) -> Iterator[dict]:
    """``n`` realistic rural Hunan households, the same for the same seed; dates fall before ``as_of``."""
    rng = random.Random(seed)
    for index in range(1, n + 1):
        county = rng.choice(COUNTY_CODES)
        size = rng.choices((1, 2, 3, 4, 5, 6), (12, 24, 24, 22, 11, 7))[0]
        poor = rng.random() < 0.30
        members = _synth_members(rng, size, poor)
        # dibao rolls are mostly households nobody of working age can support
        dependent = not any(18 <= m["age"] <= 59 and "student" not in m for m in members)
        enrolled_rate = {(True, True): 0.65, (True, False): 0.35, (False, True): 0.25, (False, False): 0.07}
        household: dict[str, Any] = {
            "household_id": f"HN-{county}-{index:06d}",
            "county": county,
            "registered_poor": poor,
            "enrolled": rng.random() < enrolled_rate[poor, dependent],
            "members": members,
        }
        roll = rng.random()
        if roll < 0.05:
            household["last_review"] = None
        elif roll < 0.85:
            household["last_review"] = (as_of - dt.timedelta(days=rng.randint(0, 500))).isoformat()
        household_income: dict[str, int | float] = {}
        if rng.random() < 0.7:
            household_income["farm_net"] = _amount(rng, 300, 2_500 if dependent else 5_000 if poor else 9_000)
        if rng.random() < 0.1:
            household_income["other"] = _amount(rng, 200, 3_000)
        household["household_income"] = household_income
        # savings are skewed: most households hold little, a few hold a lot
        spread = (12_000 if poor else 60_000) * rng.random() ** 2
        deposits = 0 if rng.random() < 0.4 else _amount(rng, 200, 200 + spread)
        car = rng.choices(("none", "farm_vehicle", "private", "disability_vehicle"), (84, 8, 6, 2))[0]
        household["assets"] = {"deposits": deposits, "car": car}
        dilapidated = rng.random() < (0.15 if poor else 0.05)
        damaged = rng.random() < 0.03
        household["housing"] = {"dilapidated": dilapidated, "disaster_damaged": damaged,
                                "renovated": (dilapidated or damaged) and rng.random() < 0.4}
        if rng.random() < 0.15:
            household["medical_claims"] = [
                {"member": rng.choice(members)["id"],
                 "disease": rng.choice(ALL_MAJOR) if rng.random() < 0.2 else rng.choice(OTHER_DISEASES),
                 "in_policy_selfpaid": _amount(rng, 300, 60_000)}
                for _ in range(rng.choices((1, 2), (75, 25))[0])
            ]
            if rng.random() < 0.3:
                household["medical_aid_paid_ytd"] = {rng.choice(members)["id"]: _amount(rng, 0, 30_000)}
        if rng.random() < 0.08:
            household["incidents"] = [
                {"type": rng.choices(("disaster", "fire", "accident", "sudden_illness"), (40, 15, 20, 25))[0],
                 "severity": rng.choices(("minor", "moderate", "severe"), (50, 35, 15))[0],
                 "date": (as_of - dt.timedelta(days=rng.randint(0, 180))).isoformat()}
                for _ in range(rng.choices((1, 2), (85, 15))[0])
            ]
        yield household
