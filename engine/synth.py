"""Deterministic synthetic households (``doudi synth``) for impact reports and benchmarks.

Realistic rural Hunan households: the same list for the same seed, standard library only. They are
samples for measuring and comparing rule versions, not data about real people.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from typing import Any

MAJOR_DISEASES = ("child_all", "child_apl", "child_asd", "child_vsd", "esophageal_cancer", "gastric_cancer",
                  "colon_cancer", "rectal_cancer", "esrd")
OTHER_DISEASES = ("stroke", "diabetes", "hypertension", "pneumonia", "fracture", "tuberculosis", "copd")
DISABILITY_KINDS = ("physical", "visual", "hearing", "speech", "intellectual", "mental", "multiple")

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


def _synth_members(rng: random.Random, size: int, poor: bool) -> list[dict[str, Any]]:
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
            "kind": rng.choices(DISABILITY_KINDS, _DISABILITY_WEIGHTS)[0],
            "grade": rng.choices((1, 2, 3, 4), (15, 25, 30, 30))[0],
        }
    return members


def synth_households(counties: Sequence[str], n: int, seed: int, as_of: dt.date = dt.date(2019, 6, 30),
                     major_diseases: Sequence[str] = MAJOR_DISEASES, prefix: str = "HN") -> Iterator[dict[str, Any]]:
    """``n`` realistic rural households spread over ``counties``, the same for the same seed (ids
    ``<prefix>-<county>-<n>``; a pack asks for this profile with ``synth: {profile: {name: rural_household}}``).

    Dates (last review, incidents) fall before ``as_of``; about a third of the households are
    registered poor, a fifth enrolled, a tenth with a disability; sizes 1–6, mostly 2–4.
    """
    counties = sorted(counties)
    major = sorted(major_diseases)
    rng = random.Random(seed)
    for index in range(1, n + 1):
        county = rng.choice(counties)
        size = rng.choices((1, 2, 3, 4, 5, 6), (12, 24, 24, 22, 11, 7))[0]
        poor = rng.random() < 0.30
        members = _synth_members(rng, size, poor)
        # assistance rolls are mostly households nobody of working age can support
        dependent = not any(18 <= m["age"] <= 59 and "student" not in m for m in members)
        enrolled_rate = {(True, True): 0.65, (True, False): 0.35, (False, True): 0.25, (False, False): 0.07}
        household: dict[str, Any] = {
            "household_id": f"{prefix}-{county}-{index:06d}",
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
                 "disease": rng.choice(major) if rng.random() < 0.2 else rng.choice(OTHER_DISEASES),
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
