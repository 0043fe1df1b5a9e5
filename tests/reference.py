"""Independent plain-Python oracle for docs/semantics.md §7 with the Hunan sample values of docs/semantics.md §5.

It shares no code with ``engine/`` on purpose: the engine compiles YAML rules into durable-rules,
this module spells the same calculation out by hand, and the tests compare the two.
Arithmetic is exact (``Fraction``); rounding is half-up and happens only where §7 says so.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

PROVINCE = "430000"

# County-level division -> its city/prefecture (GB/T 2260; the ``parent`` column of
# /work/shared/data/hunan-divisions.csv, 122 counties).
# fmt: off
COUNTY_PARENT: dict[str, str] = {
    "430102": "430100", "430103": "430100", "430104": "430100", "430105": "430100", "430111": "430100",
    "430112": "430100", "430121": "430100", "430181": "430100", "430182": "430100", "430202": "430200",
    "430203": "430200", "430204": "430200", "430211": "430200", "430212": "430200", "430223": "430200",
    "430224": "430200", "430225": "430200", "430281": "430200", "430302": "430300", "430304": "430300",
    "430321": "430300", "430381": "430300", "430382": "430300", "430405": "430400", "430406": "430400",
    "430407": "430400", "430408": "430400", "430412": "430400", "430421": "430400", "430422": "430400",
    "430423": "430400", "430424": "430400", "430426": "430400", "430481": "430400", "430482": "430400",
    "430502": "430500", "430503": "430500", "430511": "430500", "430522": "430500", "430523": "430500",
    "430524": "430500", "430525": "430500", "430527": "430500", "430528": "430500", "430529": "430500",
    "430581": "430500", "430582": "430500", "430602": "430600", "430603": "430600", "430611": "430600",
    "430621": "430600", "430623": "430600", "430624": "430600", "430626": "430600", "430681": "430600",
    "430682": "430600", "430702": "430700", "430703": "430700", "430721": "430700", "430722": "430700",
    "430723": "430700", "430724": "430700", "430725": "430700", "430726": "430700", "430781": "430700",
    "430802": "430800", "430811": "430800", "430821": "430800", "430822": "430800", "430902": "430900",
    "430903": "430900", "430921": "430900", "430922": "430900", "430923": "430900", "430981": "430900",
    "431002": "431000", "431003": "431000", "431021": "431000", "431022": "431000", "431023": "431000",
    "431024": "431000", "431025": "431000", "431026": "431000", "431027": "431000", "431028": "431000",
    "431081": "431000", "431102": "431100", "431103": "431100", "431122": "431100", "431123": "431100",
    "431124": "431100", "431125": "431100", "431126": "431100", "431127": "431100", "431128": "431100",
    "431129": "431100", "431181": "431100", "431202": "431200", "431221": "431200", "431222": "431200",
    "431223": "431200", "431224": "431200", "431225": "431200", "431226": "431200", "431227": "431200",
    "431228": "431200", "431229": "431200", "431230": "431200", "431281": "431200", "431302": "431300",
    "431321": "431300", "431322": "431300", "431381": "431300", "431382": "431300", "433101": "433100",
    "433122": "433100", "433123": "433100", "433124": "433100", "433125": "433100", "433126": "433100",
    "433127": "433100", "433130": "433100",
}
# fmt: on

_D = dt.date
_PACK_START = _D(2017, 1, 1)  # every §5 value without its own date is in force from here

MAJOR_DISEASES = frozenset({
    "child_all", "child_apl", "child_asd", "child_vsd", "esophageal_cancer", "gastric_cancer",
    "colon_cancer", "rectal_cancer", "esrd",
})
# the children's diseases count as major diseases only for members under this age (湘民发〔2017〕33号 二（三）)
CHILD_DISEASES = frozenset({"child_all", "child_apl", "child_asd", "child_vsd"})
CHILD_DISEASE_AGE_LIMIT = 18
COMPULSORY_EDUCATION_AGES = (6, 15)  # inclusive (湘民发〔2017〕33号 二（四）)


def _const(value: Any, overrides: dict[str, Any] | None = None) -> dict[str, list[tuple[dt.date, Any]]]:
    """A §5 value that holds from the pack start, with optional per-jurisdiction overrides."""
    table = {PROVINCE: [(_PACK_START, value)]}
    table.update({code: [(_PACK_START, v)] for code, v in (overrides or {}).items()})
    return table


# parameter -> jurisdiction -> [(effective_from, value)] in ascending date order (docs/semantics.md §5).
PARAMETERS: dict[str, dict[str, list[tuple[dt.date, Any]]]] = {
    "dibao_standard": {
        PROVINCE: [(_D(2017, 1, 1), 3360), (_D(2018, 1, 1), 3600), (_D(2019, 1, 1), 3960)],
        "430100": [(_D(2018, 1, 1), 4800), (_D(2019, 1, 1), 5400)],  # 长沙市
        "430121": [(_D(2017, 1, 1), 4200), (_D(2018, 1, 1), 6000)],  # 长沙县
        "431322": [(_D(2018, 1, 1), 3720), (_D(2019, 1, 1), 3960)],  # 新化县
        "433124": [(_D(2018, 1, 1), 3840), (_D(2019, 1, 1), 4000)],  # 花垣县
        "430822": [(_D(2018, 1, 1), 3650), (_D(2019, 1, 1), 3960)],  # 桑植县
    },
    "national_poverty_line": {
        PROVINCE: [(_D(2017, 1, 1), 3335), (_D(2018, 1, 1), 3535), (_D(2019, 1, 1), 3747)],
    },
    "labour_age_min": _const(18),
    "labour_age_max": _const(59),
    "notional_income_floor": _const(4800),
    "count_basic_pension": _const(True),
    "asset_deposit_multiple": _const(2),
    "benefit_floor_per_person_monthly": _const(20),
    "supplement_rate_severe": _const(Fraction("0.20")),
    "supplement_rate_elderly": _const(Fraction("0.10")),
    "elderly_age": _const(70),
    "premium_individual": {
        PROVINCE: [(_D(2017, 1, 1), 180), (_D(2018, 1, 1), 220), (_D(2019, 1, 1), 250)],
    },
    "premium_local_finance_share": _const(Fraction("0.5")),
    "major_disease_ratio": _const(Fraction("0.70")),
    "medical_annual_cap": _const(30000, {"430121": 50000, "430181": 40000}),
    # (upper bound of the band or None, rate), applied cumulatively
    "medical_bands": _const(((5000, Fraction("0.50")), (20000, Fraction("0.60")), (None, Fraction("0.70")))),
    "temporary_multiples": _const(
        {"minor": 1, "moderate": 2, "severe": 3},
        {"433124": {"minor": 1, "moderate": 2, "severe": 4}},
    ),
    "temporary_cap_multiple": _const(12),
    "temporary_window_days": _const(90),
    "township_approval_limit": _const(1000),
    "review_interval_days": _const(365),
    "housing_deadline": _const(_D(2019, 12, 31)),
}


def resolve(name: str, county: str, as_of: dt.date) -> Any:
    """The value of parameter ``name`` in force for ``county`` on ``as_of`` (county → city → province)."""
    if county not in COUNTY_PARENT:
        raise ValueError(f"unknown county {county!r}")
    table = PARAMETERS[name]
    for jurisdiction in (county, COUNTY_PARENT[county], PROVINCE):
        in_force = [value for start, value in table.get(jurisdiction, ()) if start <= as_of]
        if in_force:
            return in_force[-1]
    raise ValueError(f"no value of {name} in force for {county} on {as_of.isoformat()}")


def round_half_up(x: Fraction, places: int = 0) -> Fraction:
    """Round to ``places`` decimals, halves away from zero."""
    scale = Fraction(10) ** places
    magnitude = int(abs(x) * scale + Fraction(1, 2))
    return (magnitude if x >= 0 else -magnitude) / scale


def to_number(x: Fraction | int) -> int | Decimal:
    """Output form: whole values as int, anything else half-up to 2 decimals as a Decimal."""
    q = round_half_up(Fraction(x), 2)
    if q.denominator == 1:
        return int(q)
    return Decimal(int(q * 100)).scaleb(-2)


def _money(value: Any) -> Fraction:
    """A JSON amount as an exact fraction (floats via their shortest repr); absent is 0."""
    return Fraction(0) if value is None else Fraction(str(value))


def _severely_disabled(member: dict) -> bool:
    disability = member.get("disability")
    if not disability:
        return False
    grade = disability["grade"]
    return grade <= 2 or (grade == 3 and disability["kind"] in ("intellectual", "mental"))


def _labour_capable(member: dict, age_min: int, age_max: int) -> bool:
    override = member.get("labour_capable")
    if override is not None:
        return bool(override)
    return (
        age_min <= member["age"] <= age_max
        and member.get("student", "none") == "none"
        and not member.get("serious_illness", False)
        and not _severely_disabled(member)
    )


def _own_income(member: dict, count_pension: bool) -> Fraction:
    income = member.get("income") or {}
    parts = ["wages", "business", "property", "transfer"] + (["basic_pension"] if count_pension else [])
    return sum((_money(income.get(part)) for part in parts), Fraction(0))


def _banded(amount: Fraction, bands: tuple) -> Fraction:
    """Cumulative bands: each slice of ``amount`` at its band's rate."""
    total, lower = Fraction(0), Fraction(0)
    for upper, rate in bands:
        top = amount if upper is None else min(amount, Fraction(upper))
        if top > lower:
            total += (top - lower) * rate
        if upper is None or amount <= upper:
            break
        lower = Fraction(upper)
    return total


def evaluate_reference(household: dict, as_of: dt.date) -> dict:
    """Evaluate one household (docs/semantics.md §6 facts) on ``as_of``; return the docs/semantics.md §8 ``outputs``."""
    county = household["county"]

    def p(name: str) -> Any:
        return resolve(name, county, as_of)

    standard = Fraction(p("dibao_standard"))
    monthly_standard = standard / 12

    # 1–2: counted members and labour capacity
    counted = [m for m in household["members"] if not m.get("in_prison", False)]
    n = len(counted)
    capable = [_labour_capable(m, p("labour_age_min"), p("labour_age_max")) for m in counted]
    k = sum(capable)

    # 3: countable income
    household_income = household.get("household_income") or {}
    farm = _money(household_income.get("farm_net"))
    income = _money(household_income.get("other")) + (farm if k == 0 else 0)
    farm_share = farm / k if k else Fraction(0)
    for member, is_capable in zip(counted, capable, strict=True):
        own = _own_income(member, p("count_basic_pension"))
        income += max(own + farm_share, Fraction(p("notional_income_floor"))) if is_capable else own

    # 4–5: tests
    assets = household.get("assets") or {}
    income_test = n >= 1 and income / n < standard
    asset_test = (
        n >= 1
        and _money(assets.get("deposits")) / n <= p("asset_deposit_multiple") * standard
        and assets.get("car", "none") != "private"
    )
    eligible = income_test and asset_test
    safety_net = eligible and bool(household.get("registered_poor", False)) and k == 0

    # 6: dibao payment
    base = supplement = Fraction(0)
    payment = 0
    if eligible:
        base = max((standard * n - income) / 12, Fraction(p("benefit_floor_per_person_monthly") * n))
        for member in counted:
            if _severely_disabled(member) or member.get("serious_illness", False):
                supplement += monthly_standard * p("supplement_rate_severe")
            elif member["age"] >= p("elderly_age"):
                supplement += monthly_standard * p("supplement_rate_elderly")
        payment = int(round_half_up(base + supplement))

    # 7: premium subsidy
    per_person = Fraction(p("premium_individual")) if safety_net else Fraction(0)
    persons = n if safety_net else 0
    local_finance = round_half_up(per_person * persons * p("premium_local_finance_share"), 2)
    fund = per_person * persons - local_finance

    # 8: medical assistance, claim by claim in input order
    counted_ids = {m["id"] for m in counted}
    paid_ytd = household.get("medical_aid_paid_ytd") or {}
    granted: dict[str, Fraction] = {}
    claims: list[dict] = []
    amounts: list[Fraction] = []
    for claim in household.get("medical_claims") or []:
        member_id, disease = claim["member"], claim["disease"]
        amount = Fraction(0)
        if safety_net and member_id in counted_ids:
            selfpaid = _money(claim["in_policy_selfpaid"])
            age = next(m["age"] for m in household["members"] if m["id"] == member_id)
            if disease in MAJOR_DISEASES and not (disease in CHILD_DISEASES and age >= CHILD_DISEASE_AGE_LIMIT):
                raw = selfpaid * p("major_disease_ratio")
            else:
                raw = _banded(selfpaid, p("medical_bands"))
            room = p("medical_annual_cap") - _money(paid_ytd.get(member_id)) - granted.get(member_id, 0)
            amount = max(Fraction(0), min(round_half_up(raw), room))
            granted[member_id] = granted.get(member_id, Fraction(0)) + amount
        amounts.append(amount)
        claims.append({"member": member_id, "disease": disease, "amount": to_number(amount)})

    # 9: temporary assistance
    temporary = Fraction(0)
    if safety_net:
        window_start = as_of - dt.timedelta(days=p("temporary_window_days"))
        multiples = p("temporary_multiples")
        total = Fraction(0)
        for incident in household.get("incidents") or []:
            if window_start <= dt.date.fromisoformat(incident["date"]) <= as_of:
                total += multiples[incident["severity"]] * monthly_standard * n
        temporary = round_half_up(min(total, p("temporary_cap_multiple") * monthly_standard * n))
    if temporary > p("township_approval_limit"):
        approval = "county"
    elif temporary > 0:
        approval = "township"
    else:
        approval = None

    # 10–12: priorities, review
    housing = household.get("housing") or {}
    housing_priority = (
        safety_net
        and bool(housing.get("dilapidated", False) or housing.get("disaster_damaged", False))
        and not housing.get("renovated", False)
    )
    last_review = household.get("last_review")
    review_due = (
        last_review is None
        or (as_of - dt.date.fromisoformat(last_review)).days >= p("review_interval_days")
    )
    enrolled = bool(household.get("enrolled", False))
    if eligible:
        action = "continue" if enrolled else "enroll"
    else:
        action = "exit" if enrolled else "none"

    # the outcomes the plan orders (rules 70–90): the safety-net list, school, the poverty line
    on_list = bool(household.get("on_safety_net_list", False))
    net_action = ("continue" if on_list else "enroll") if safety_net else ("exit" if on_list else "none")
    low, high = COMPULSORY_EDUCATION_AGES
    out_of_school = [{"member": m["id"], "age": m["age"]} for m in counted
                     if safety_net and m.get("student", "none") == "none" and low <= m["age"] <= high]
    after = round_half_up((income + payment * 12) / n, 2) if n else Fraction(0)

    return {
        "household_size": n,
        "labour_capable_count": k,
        "countable_income": to_number(income),
        "per_capita_income": to_number(income / n if n else Fraction(0)),
        "dibao_standard": to_number(standard),
        "dibao_standard_monthly": to_number(monthly_standard),
        "income_test_passed": income_test,
        "asset_test_passed": asset_test,
        "dibao_eligible": eligible,
        "safety_net": safety_net,
        "dibao_base_monthly": to_number(base),
        "dibao_supplement_monthly": to_number(supplement),
        "dibao_monthly": payment,
        "premium_subsidy": {
            "per_person": to_number(per_person),
            "persons": persons,
            "local_finance": to_number(local_finance),
            "medical_assistance_fund": to_number(fund),
        },
        "medical_assistance": to_number(sum(amounts, Fraction(0))),
        "medical_claims": claims,
        "temporary_assistance": to_number(temporary),
        "temporary_assistance_approval": approval,
        "education_priority": safety_net and any(m.get("student", "none") != "none" for m in counted),
        "housing_priority": housing_priority,
        "housing_overdue": housing_priority and as_of > p("housing_deadline"),
        "annual_review_due": review_due,
        "review_action": action,
        "safety_net_action": net_action,
        "out_of_school_members": out_of_school,
        "per_capita_income_after_assistance": to_number(after),
        "below_poverty_line": safety_net and after < p("national_poverty_line"),
    }
