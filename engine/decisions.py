"""Stored decisions: every evaluation made through the API, with its facts, version and trace; replay."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from .decision import Decision, dumps
from .errors import NotFound
from .evaluate import evaluate
from .store import audit, now
from .versions import by_digest, pack_of


def record(db: Database, decision: Decision, facts: dict[str, Any], user: str | None) -> int:
    """Store a decision with the facts it was made from; returns its id."""
    data = json.loads(decision.to_json(indent=None))
    row_id = db.table("decisions").insert({
        "household_id": decision.household_id, "county": decision.county, "as_of": decision.as_of.isoformat(),
        "version_number": decision.rule_version.get("number"), "digest": decision.rule_version["digest"],
        "facts": dumps(facts), "outputs": dumps(data["outputs"]), "decision": dumps(data), "user": user or "",
        "created_at": now(),
    }).last_pk
    audit(db, user, "evaluate", "decision", row_id,
          f"{decision.household_id} {decision.as_of.isoformat()} v{decision.rule_version.get('number')}: "
          f"{data['outputs'].get('review_action')} {data['outputs'].get('dibao_monthly')}")
    return int(row_id or 0)


def _row(row: dict[str, Any], full: bool) -> dict[str, Any]:
    out = {"id": row["id"], "household_id": row["household_id"], "county": row["county"], "as_of": row["as_of"],
           "rule_version": {"number": row["version_number"], "digest": row["digest"]}, "user": row["user"],
           "created_at": row["created_at"], "outputs": json.loads(row["outputs"])}
    if full:
        out["facts"] = json.loads(row["facts"])
        out["decision"] = json.loads(row["decision"])
    return out


def get(db: Database, decision_id: int) -> dict[str, Any]:
    """A stored decision with its facts and the full decision (trace, reasons)."""
    rows = list(db.table("decisions").rows_where("id = ?", [decision_id]))
    if not rows:
        raise NotFound(f"no decision {decision_id}", message_zh=f"审核记录 {decision_id} 不存在")
    return _row(rows[0], full=True)


def search(db: Database, household_id: str | None = None, county: str | None = None, limit: int = 100,
           offset: int = 0) -> list[dict[str, Any]]:
    """Stored decisions, newest first; ``household_id`` matches a prefix."""
    where, args = [], []
    if household_id:
        where.append("household_id like ?")
        args.append(household_id.replace("%", "") + "%")
    if county:
        where.append("county = ?")
        args.append(county)
    rows = db.table("decisions").rows_where(" and ".join(where) or None, args, order_by="id desc", limit=limit,
                                            offset=offset)
    return [_row(r, full=False) for r in rows]


def replay(db: Database, decision_id: int, user: str | None) -> dict[str, Any]:
    """Re-evaluate a stored decision with the version it recorded; say whether it is reproduced exactly."""
    stored = get(db, decision_id)
    version = by_digest(db, stored["rule_version"]["digest"])
    if version is None:
        raise NotFound(f"decision {decision_id} was made with rules {stored['rule_version']['digest']} "
                       "that are not a published version", message_zh="该审核记录所用的规则版本不存在")
    _, pack = pack_of(db, version.number)
    again = evaluate(pack, stored["facts"], stored["as_of"], version=version.number)
    replayed = json.loads(again.to_json(indent=None))
    identical = replayed == stored["decision"]
    audit(db, user, "replay", "decision", decision_id,
          f"version {version.number}: {'identical' if identical else 'DIFFERENT'}")
    return {"id": decision_id, "identical": identical, "rule_version": stored["rule_version"],
            "stored": stored["decision"], "replayed": replayed}
