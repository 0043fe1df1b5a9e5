"""``POST /evaluate`` (one household, stored with its decision) and ``POST /evaluate/batch`` (a roll)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from flask import Blueprint, current_app

from engine import decisions, versions
from engine.errors import HouseholdError, InvalidInput, PermissionDenied, Problem
from engine.evaluate import evaluate, evaluate_many, parse_date
from engine.model import RulePack
from engine.store import audit
from engine.users import User, can, require

from ..db import get_db
from .bodies import body
from .common import current_user
from .errors import engine_error

bp = Blueprint("evaluate", __name__)

_CHUNK = 200  # households per pass of durable-rules (its working memory grows with the facts)


def _county(household: Any, pack: RulePack) -> str | None:
    county = household.get("county") if isinstance(household, dict) else None
    return county if isinstance(county, str) and county in pack.jurisdictions else None


def _require_county(user: User, pack: RulePack, household: Any) -> None:
    """A user evaluates households of their own jurisdiction (a caseworker: their county) only."""
    county = _county(household, pack)
    require(user, "evaluate", pack, [county] if county else None)


def _under(exc: HouseholdError, prefix: str) -> HouseholdError:
    """The same error with each field's path given from the request body's root."""
    problems = [dataclasses.replace(p, path=f"{prefix}.{p.path}" if p.path else prefix) for p in exc.problems]
    return HouseholdError(exc.message, problems, exc.message_zh)


@bp.post("/evaluate")
def evaluate_one() -> dict[str, Any]:
    """Evaluate one household; the decision is stored (replayable) and returned with its id."""
    data = body("EvaluateRequest")
    user, db = current_user(), get_db()
    version, pack = versions.pack_of(db, data.get("version"))
    household = data["household"]
    _require_county(user, pack, household)
    try:
        decision = evaluate(pack, household, data.get("as_of"), version=version.number)
    except HouseholdError as exc:
        raise _under(exc, "household") from None
    decision_id = decisions.record(db, decision, household, user.username, trace=current_app.config["STORE_TRACE"])
    out: dict[str, Any] = json.loads(decision.to_json(indent=None))
    out["decision_id"] = decision_id
    return out


@bp.post("/evaluate/batch")
def evaluate_batch() -> dict[str, Any]:
    """Evaluate a list of households in order: each result is its outputs or an error (nothing is stored)."""
    data = body("BatchRequest")
    user, db = current_user(), get_db()
    require(user, "evaluate")
    households = data["households"]
    limit = current_app.config["BATCH_LIMIT"]
    if len(households) > limit:
        raise InvalidInput(f"households: {len(households)} households; at most {limit} in one request",
                           [Problem(f"at most {limit} households in one request (got {len(households)}); "
                                    "split the roll, or use 'doudi batch'",
                                    f"每次最多 {limit} 户（收到 {len(households)} 户），请分批提交",
                                    path="households")],
                           message_zh=f"每次最多 {limit} 户")
    on = parse_date(data["as_of"]) if data.get("as_of") else dt.date.today()
    version, pack = versions.pack_of(db, data.get("version"))
    results: list[dict[str, Any] | None] = [None] * len(households)
    allowed = []
    for i, household in enumerate(households):
        county = _county(household, pack)
        if county and not can(user, "evaluate", pack, [county]):
            denied = PermissionDenied(f"{county} is outside {user.username}'s jurisdiction {user.jurisdiction}",
                                      message_zh=f"{county} 不在 {user.username} 的管辖范围（{user.jurisdiction}）内")
            results[i] = _item(i, household, error=engine_error(denied))
        else:
            allowed.append(i)
    for start in range(0, len(allowed), _CHUNK):
        chunk = allowed[start:start + _CHUNK]
        outcomes = evaluate_many(pack, [households[i] for i in chunk], on, trace=False, reasons=False,
                                 version=version.number)
        for i, outcome in zip(chunk, outcomes, strict=True):
            if isinstance(outcome, Exception):
                results[i] = _item(i, households[i], error=engine_error(outcome))
            else:
                results[i] = _item(i, households[i], outputs=json.loads(outcome.to_json(indent=None))["outputs"])
    failed = sum(1 for r in results if r is not None and "error" in r)
    audit(db, user.username, "evaluate.batch", "version", version.number,
          f"{len(households)} households on {on.isoformat()}: {failed} error(s)")
    return {"as_of": on.isoformat(), "rule_version": {"number": version.number, "digest": version.digest},
            "count": len(households), "evaluated": len(households) - failed, "errors": failed, "results": results}


def _item(index: int, household: Any, **result: Any) -> dict[str, Any]:
    hid = household.get("household_id") if isinstance(household, dict) else None
    county = household.get("county") if isinstance(household, dict) else None
    return {"index": index, "household_id": hid if isinstance(hid, str) else None,
            "county": county if isinstance(county, str) else None, **result}
