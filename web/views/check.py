"""Household check: the caseworker's form (members, claims, incidents) and the printable decision it gives."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine import decisions, facts, versions
from engine.errors import DoudiError, EvaluationError, HouseholdError, NotFound
from engine.evaluate import evaluate
from engine.inputs import whole_number
from engine.model import RulePack
from engine.users import in_scope

from ..auth import permission_required
from ..db import get_db
from ..i18n import select_locale
from . import check_result

bp = Blueprint("check", __name__, url_prefix="/check")

COLLECTIONS = ("members", "medical_claims", "incidents")
MIN_ROWS = {"members": 3, "medical_claims": 1, "incidents": 1}  # empty rows shown so the form works without JS
MAX_ROWS = 60
INCOMES = ("wages", "business", "property", "transfer", "basic_pension", "excluded")
_ROW = re.compile(r"^(members|medical_claims|incidents)\[(\d{1,3})\](.*)$")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")

MAJOR_DISEASES = {
    "child_all": _l("Childhood acute lymphoblastic leukaemia"),
    "child_apl": _l("Childhood acute promyelocytic leukaemia"),
    "child_asd": _l("Childhood congenital atrial septal defect"),
    "child_vsd": _l("Childhood congenital ventricular septal defect"),
    "esophageal_cancer": _l("Oesophageal cancer"), "gastric_cancer": _l("Gastric cancer"),
    "colon_cancer": _l("Colon cancer"), "rectal_cancer": _l("Rectal cancer"),
    "esrd": _l("End-stage renal disease"),
}
CHOICES: dict[str, dict[str, Any]] = {
    "relation": {"head": _l("Head of household"), "spouse": _l("Spouse"), "child": _l("Child"),
                 "parent": _l("Parent"), "grandparent": _l("Grandparent"), "grandchild": _l("Grandchild"),
                 "sibling": _l("Brother or sister"), "other": _l("Other relative")},
    "student": {"none": _l("Not in school"), "compulsory": _l("Compulsory education"),
                "high_school": _l("Senior high school"), "vocational": _l("Vocational school"),
                "college": _l("College or university")},
    "disability": {"physical": _l("Physical"), "visual": _l("Visual"), "hearing": _l("Hearing"),
                   "speech": _l("Speech"), "intellectual": _l("Intellectual"), "mental": _l("Mental"),
                   "multiple": _l("Multiple")},
    "labour": {"": _l("Derived (age, school, health)"), "yes": _l("Yes (assessed)"), "no": _l("No (assessed)")},
    "car": {"none": _l("No vehicle"), "private": _l("Private car"),
            "disability_vehicle": _l("Vehicle for a disabled person"), "farm_vehicle": _l("Farm vehicle")},
    "disease": {**MAJOR_DISEASES, "other": _l("Other disease (enter its code)")},
    "incident": {"disaster": _l("Natural disaster"), "fire": _l("Fire"), "accident": _l("Accident"),
                 "sudden_illness": _l("Sudden serious illness")},
    "severity": {"minor": _l("Minor"), "moderate": _l("Moderate"), "severe": _l("Severe")},
    "income": {"wages": _l("Wages"), "business": _l("Business income"), "property": _l("Property income"),
               "transfer": _l("Transfers"), "basic_pension": _l("Basic pension"),
               "excluded": _l("Not counted (e.g. awards)")},
}
ROW_TITLES = {"members": _l("Member %(n)s"), "medical_claims": _l("Medical claim %(n)s"),
              "incidents": _l("Incident %(n)s")}
# the form's fields: household ones by path, a row's by "<collection>.<field>"
FIELDS = {
    "household_id": _l("Household id"), "county": _l("County"), "as_of": _l("Check as of"),
    "last_review": _l("Last annual review"), "registered_poor": _l("Registered poor household (建档立卡)"),
    "enrolled": _l("Receiving dibao now"), "members": _l("Members of the household"),
    "household_income.farm_net": _l("Net farm income (annual)"),
    "household_income.other": _l("Other household income (annual)"), "assets.deposits": _l("Deposits"),
    "assets.car": _l("Motor vehicle"), "housing.dilapidated": _l("Dilapidated house"),
    "housing.disaster_damaged": _l("House damaged by disaster"), "housing.renovated": _l("House renovated"),
    "members.id": _l("Member id"), "members.name": _l("Name"), "members.relation": _l("Relation to the head"),
    "members.age": _l("Age"), "members.in_prison": _l("In prison"), "members.student": _l("School"),
    "members.disability.kind": _l("Disability kind"), "members.disability.grade": _l("Disability grade"),
    "members.serious_illness": _l("Serious illness"), "members.labour_capable": _l("Labour capacity"),
    "members.aid_paid_ytd": _l("Medical aid already paid this year"),
    **{f"members.income.{k}": v for k, v in CHOICES["income"].items()},
    "medical_claims.member": _l("Member id"), "medical_claims.disease": _l("Disease"),
    "medical_claims.code": _l("Disease code"), "medical_claims.in_policy_selfpaid": _l("In-policy self-paid cost"),
    "incidents.type": _l("Kind of incident"), "incidents.severity": _l("Severity"),
    "incidents.date": _l("Date it happened"),
}

def label(kind: str, code: Any) -> str:
    """A code of the household facts (relation, disease, …) in the page's language."""
    if kind == "disease" and code not in MAJOR_DISEASES:
        return str(code)
    return str(CHOICES[kind].get(code, code)) if code is not None else ""


def pack_and_version() -> tuple[Any, RulePack]:
    """The latest published version and its pack; 404 when nothing is published yet."""
    try:
        return versions.pack_of(get_db())
    except NotFound as exc:
        abort(404, exc.message_zh if select_locale() == "zh_CN" else exc.message)


def require_county(pack: RulePack, county: str) -> None:
    """403 unless ``county`` lies in the signed-in user's jurisdiction."""
    if county in pack.jurisdictions and not in_scope(pack, g.user, county):
        name = pack.jurisdictions[county].name + f"（{county}）"
        abort(403, _("%(county)s is outside your jurisdiction.", county=name))


# -- the form ---------------------------------------------------------------------------------------


class _Form:
    """What the user typed (by the field's JSON path, rows by their form index) and what is wrong with it."""

    def __init__(self, values: dict[str, str]):
        self.values = values
        self.errors: dict[str, str] = {}

    def text(self, path: str) -> str:
        return (self.values.get(path) or "").strip()

    def flag(self, path: str) -> bool:
        return self.values.get(path) in ("1", "on", "true")

    def given(self, path: str) -> bool:
        return self.text(path) not in ("", "none")

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def number(self, path: str, whole: bool = False, required: str = "") -> Any:
        raw = self.text(path).replace(",", "").replace("，", "")
        if not raw:
            if required:
                self.fail(path, required)
            return None
        try:
            value = Decimal(raw)
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            self.fail(path, _("Enter a whole number.") if whole else _("Enter a number, e.g. 1200 or 350.50."))
            return None
        if value == value.to_integral_value():
            return int(value)
        if whole:
            self.fail(path, _("Enter a whole number."))
            return None
        return float(value)

    def rows(self, collection: str) -> list[int]:
        found = {int(m[2]) for key in self.values if (m := _ROW.match(key)) and m[1] == collection}
        return sorted(found)[:MAX_ROWS]


def _member(form: _Form, r: int) -> tuple[dict[str, Any], Any] | None:
    p = f"members[{r}]."
    keys = ("name", "age", "relation", "in_prison", "student", "disability.kind", "disability.grade",
            "serious_illness", "labour_capable", "aid_paid_ytd") + tuple(f"income.{k}" for k in INCOMES)
    if not any(form.given(p + k) for k in keys):
        return None  # an empty row is not a member
    form.values[p + "id"] = form.text(p + "id") or f"m{r + 1}"
    member: dict[str, Any] = {"id": form.values[p + "id"]}
    if form.text(p + "name"):
        member["name"] = form.text(p + "name")
    if form.text(p + "relation"):
        member["relation"] = form.text(p + "relation")
    age = form.number(p + "age", whole=True, required=_("Enter the member's age."))
    if age is not None:
        member["age"] = age
    for flag in ("in_prison", "serious_illness"):
        if form.flag(p + flag):
            member[flag] = True
    if form.given(p + "student"):
        member["student"] = form.text(p + "student")
    kind, grade = form.text(p + "disability.kind"), form.number(p + "disability.grade", whole=True)
    if kind and grade is not None:
        member["disability"] = {"kind": kind, "grade": grade}
    elif kind or grade is not None:
        form.fail(p + ("disability.grade" if kind else "disability.kind"),
                  _("Choose both the kind and the grade of the disability."))
    capable = form.text(p + "labour_capable")
    if capable in ("yes", "no"):
        member["labour_capable"] = capable == "yes"
    income = {k: v for k in INCOMES if (v := form.number(f"{p}income.{k}")) is not None}
    if income:
        member["income"] = income
    return member, form.number(p + "aid_paid_ytd")


def _claim(form: _Form, r: int, members: list[dict[str, Any]]) -> dict[str, Any] | None:
    p = f"medical_claims[{r}]."
    if not any(form.given(p + k) for k in ("member", "disease", "code", "in_policy_selfpaid")):
        return None
    member, disease, code = form.text(p + "member"), form.text(p + "disease"), form.text(p + "code")
    if not member and len(members) == 1:
        member = form.values[p + "member"] = members[0]["id"]
    if not member:
        form.fail(p + "member", _("Enter the member's id (e.g. m1)."))
    if not disease:
        form.fail(p + "disease", _("Choose the disease."))
    elif disease == "other":
        disease = code
        if not code:
            form.fail(p + "code", _("Enter the disease's code, e.g. stroke."))
        elif not _CODE.match(code):
            form.fail(p + "code", _("A disease code is lower-case letters, digits and _, starting with a letter "
                                    "(e.g. stroke)."))
    amount = form.number(p + "in_policy_selfpaid", required=_("Enter the in-policy self-paid cost."))
    return {"member": member, "disease": disease, "in_policy_selfpaid": amount}


def _incident(form: _Form, r: int) -> dict[str, Any] | None:
    p = f"incidents[{r}]."
    if not any(form.given(p + k) for k in ("type", "severity", "date")):
        return None
    for key, message in (("type", _("Choose the kind of incident.")), ("severity", _("Choose how severe it was.")),
                         ("date", _("Enter the date it happened."))):
        if not form.text(p + key):
            form.fail(p + key, message)
    return {k: form.text(p + k) for k in ("type", "severity", "date")}


def household_of(form: _Form) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The docs/semantics.md §6 facts of the form, and which form row each member, claim and incident came from."""
    hh: dict[str, Any] = {"household_id": form.text("household_id"), "county": form.text("county")}
    if not hh["household_id"]:
        form.fail("household_id", _("Enter the household's id."))
    if not hh["county"]:
        form.fail("county", _("Choose the county."))
    hh["registered_poor"], hh["enrolled"] = form.flag("registered_poor"), form.flag("enrolled")
    if form.text("last_review"):
        hh["last_review"] = form.text("last_review")
    used: dict[str, list[int]] = {c: [] for c in COLLECTIONS}
    members, paid = [], {}
    for r in form.rows("members"):
        found = _member(form, r)
        if found is not None:
            members.append(found[0])
            used["members"].append(r)
            if found[1] is not None:
                paid[found[0]["id"]] = found[1]
    if not members:
        form.fail("members", _("Enter at least one member of the household."))
    hh["members"] = members
    hh["household_income"] = {k: v for k in ("farm_net", "other")
                              if (v := form.number(f"household_income.{k}")) is not None}
    deposits = form.number("assets.deposits")
    hh["assets"] = {**({"deposits": deposits} if deposits is not None else {}),
                    "car": form.text("assets.car") or "none"}
    hh["housing"] = {k: form.flag(f"housing.{k}") for k in ("dilapidated", "disaster_damaged", "renovated")}
    for collection, read in (("medical_claims", lambda r: _claim(form, r, members)),
                             ("incidents", lambda r: _incident(form, r))):
        items = []
        for r in form.rows(collection):
            item = read(r)
            if item is not None:
                items.append(item)
                used[collection].append(r)
        if items:
            hh[collection] = items
    if paid:
        hh["medical_aid_paid_ytd"] = paid
    return hh, used


def _field(path: str, used: dict[str, list[int]], form: _Form) -> str:
    """The form field of an engine problem's path (members[j] → the form row it came from)."""
    m = _ROW.match(path)
    if m and int(m[2]) < len(used[m[1]]):
        path = f"{m[1]}[{used[m[1]][int(m[2])]}]{m[3]}"
        if path.endswith(".disease") and form.text(path) == "other":
            path = path[: -len("disease")] + "code"
    elif path.startswith("medical_aid_paid_ytd."):
        mid = path.split(".", 1)[1]
        row = next((r for r in used["members"] if form.text(f"members[{r}].id") == mid), None)
        path = f"members[{row}].aid_paid_ytd" if row is not None else path
    return path


def add_problems(form: _Form, exc: DoudiError, used: dict[str, list[int]]) -> None:
    """The engine's problems next to their fields, in the page's language (a field keeps its first error)."""
    zh = select_locale() == "zh_CN"
    for p in exc.problems:
        path = _field(p.path or "", used, form)
        if any(e == path or e.startswith(path + ".") or e.startswith(path + "[") for e in form.errors):
            continue  # already explained more precisely
        form.fail(path or "(household)", (p.message_zh or p.message) if zh else p.message)
    if not exc.problems:
        form.fail("(household)", (exc.message_zh or exc.message) if zh else exc.message)


def form_of(stored: dict[str, Any]) -> dict[str, str]:
    """Form values from stored facts (to check a household again after a change)."""
    values: dict[str, str] = {}

    def put(prefix: str, data: dict[str, Any]) -> None:
        for key, value in data.items():
            if isinstance(value, dict):
                put(f"{prefix}{key}.", value)
            elif isinstance(value, bool):
                values[prefix + key] = "1" if value else ""
            elif value is not None:
                values[prefix + key] = str(value)

    facts_ = dict(stored)
    paid = facts_.pop("medical_aid_paid_ytd", {}) or {}
    for collection in COLLECTIONS:
        for i, item in enumerate(facts_.pop(collection, []) or []):
            item = dict(item)
            if collection == "members":
                capable = item.pop("labour_capable", None)
                values[f"members[{i}].labour_capable"] = "" if capable is None else "yes" if capable else "no"
                if item.get("id") in paid:
                    values[f"members[{i}].aid_paid_ytd"] = str(paid[item["id"]])
            if collection == "medical_claims" and item.get("disease") not in MAJOR_DISEASES:
                item["code"], item["disease"] = item.get("disease"), "other"
            put(f"{collection}[{i}].", item)
    put("", facts_)
    return values


def field_label(path: str, rows: dict[str, list[int]]) -> str:
    """A field by the name the form shows, e.g. 成员 2 · 年龄."""
    m = _ROW.match(path)
    if m is None:
        return str(FIELDS.get(path, path))
    collection, r, rest = m[1], int(m[2]), m[3].lstrip(".")
    head = str(ROW_TITLES[collection]) % {"n": rows[collection].index(r) + 1 if r in rows[collection] else r + 1}
    sub = FIELDS.get(f"{collection}.{rest}")
    return f"{head} · {sub}" if sub else head


def _order(path: str, rows: dict[str, list[int]]) -> tuple[int, int, int]:
    """Where a field comes in the form, so that the error summary follows the page."""
    fields = list(FIELDS)
    m = _ROW.match(path)
    if m is None:
        return (fields.index(path) if path in fields else len(fields), 0, 0)
    collection, r, rest = m[1], int(m[2]), f"{m[1]}.{m[3].lstrip('.')}"
    start = fields.index("members") if collection == "members" else len(fields) + COLLECTIONS.index(collection)
    return (start, rows[collection].index(r) if r in rows[collection] else r,
            fields.index(rest) if rest in fields else len(fields))


def _render(form: _Form, pack: RulePack, version: Any, as_of: str, status: int = 200) -> Any:
    counties = [c for c in pack.counties() if in_scope(pack, g.user, c.code)]
    rows = {}
    for collection in COLLECTIONS:
        present = form.rows(collection)
        extra = max(MIN_ROWS[collection] - len(present), 0)
        start = (present[-1] + 1) if present else 0
        rows[collection] = present + list(range(start, start + extra))
    for r in rows["members"]:
        form.values.setdefault(f"members[{r}].id", f"m{r + 1}")
    ordered = sorted(form.errors.items(), key=lambda e: _order(e[0], rows))
    summary = [(path, field_label(path, rows), message) for path, message in ordered]
    return render_template("check/form.html", v=form.values, errors=form.errors, summary=summary, rows=rows,
                           as_of=as_of, counties=counties, pack=pack, version=version, choices=CHOICES,
                           incomes=INCOMES, labels=FIELDS), status


@bp.route("/", methods=["GET", "POST"])
@permission_required("evaluate")
def index() -> Any:
    version, pack = pack_and_version()
    if request.method == "GET":
        values: dict[str, str] = {}
        source = request.args.get("from", "")
        if whole_number(source) is not None:
            try:
                stored = decisions.get(get_db(), int(source))
            except NotFound as exc:
                abort(404, exc.message_zh if select_locale() == "zh_CN" else exc.message)
            require_county(pack, stored["county"])
            values = form_of(stored["facts"])
        return _render(_Form(values), pack, version, dt.date.today().isoformat())
    form = _Form({k: v for k, v in request.form.items() if k != "csrf_token"})
    as_of = form.text("as_of") or dt.date.today().isoformat()
    household, used = household_of(form)
    require_county(pack, household["county"])
    try:
        on = dt.date.fromisoformat(as_of)
    except ValueError:
        form.fail("as_of", _("Write the date as YYYY-MM-DD, e.g. 2019-06-01."))
    if form.errors:
        try:
            facts.check(pack, household)
        except HouseholdError as exc:
            add_problems(form, exc, used)
        return _render(form, pack, version, as_of, 422)
    try:
        decision = evaluate(pack, household, on, version=version.number)
    except (HouseholdError, EvaluationError) as exc:
        add_problems(form, exc, used)
        return _render(form, pack, version, as_of, 422)
    decision_id = decisions.record(get_db(), decision, household, g.user.username,
                                   trace=current_app.config["STORE_TRACE"])
    return redirect(url_for("check.result", decision_id=decision_id))


@bp.route("/<int:decision_id>")
@permission_required("decisions.read")
def result(decision_id: int) -> Any:
    version, pack, stored = stored_decision(decision_id)
    return check_result.render(version, pack, stored, label=label)


def stored_decision(decision_id: int) -> tuple[Any, RulePack, dict[str, Any]]:
    """A stored decision the user may see (404 if there is none, 403 outside their county)."""
    version, pack = pack_and_version()
    try:
        stored = decisions.get(get_db(), decision_id)
    except NotFound as exc:
        abort(404, exc.message_zh if select_locale() == "zh_CN" else exc.message)
    require_county(pack, stored["county"])
    return version, pack, stored
