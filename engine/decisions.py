"""Stored decisions: every evaluation made through the API or the check form, with its facts and version; replay.

A decision is kept in its columns (household, county, date, version, outputs), with the facts it was
made from, its reasons and a copy of its date (``decision``: replay evaluates on the date of the column,
and the copy shows if that was changed) and its trace compressed (zlib of its JSON, a fifth of its
size): the trace is what the caseworker saw and printed, and replay compares it too. A decision stored
without its trace (``record(trace=False)``) has it re-evaluated with its version when it is read, and
says so (``trace_stored``). Rows are immutable (triggers in ``store.py``). Decisions stored before
the trace had its column keep the whole decision in ``decision``; replay compares both copies.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from sqlite_utils import Database

from . import presentation
from .decision import Decision, dumps
from .errors import DoudiError, NotFound
from .evaluate import evaluate
from .presentation import value_at
from .store import audit, now
from .versions import by_digest, pack_of

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_COLUMNS = ("household_id", "county", "as_of", "rule_version", "outputs")  # fields with a column of their own
UNREADABLE = "(unreadable)"  # what a stored trace that does not decompress is compared as


def record(db: Database, decision: Decision, facts: dict[str, Any], user: str | None, *, trace: bool = True) -> int:
    """Store a decision with the facts it was made from (its trace compressed, unless ``trace`` is false)."""
    data = json.loads(decision.to_json(indent=None))
    row_id = db.table("decisions").insert({
        "household_id": decision.household_id, "county": decision.county, "as_of": decision.as_of.isoformat(),
        "version_number": decision.rule_version.get("number"), "digest": decision.rule_version["digest"],
        "facts": dumps(facts), "outputs": dumps(data["outputs"]),
        "decision": dumps({"as_of": data["as_of"], "reasons": data["reasons"],
                           "reason_items": [{k: v for k, v in item.items() if k != "text"}
                                            for item in data["reason_items"]]}),
        "trace": zlib.compress(_COMPACT.encode(data["trace"]).encode("utf-8"), 9) if trace else None,
        "user": user or "", "created_at": now(),
    }).last_pk
    audit(db, user, "evaluate", "decision", row_id,
          f"{decision.household_id} {decision.as_of.isoformat()} v{decision.rule_version.get('number')}: "
          + " ".join(str(value_at(data["outputs"], path)) for path in _headline(db, decision)))
    return int(row_id or 0)


def _headline(db: Database, decision: Decision) -> tuple[str, ...]:
    """The outputs an audit line names: the headline of the decision's pack, else its first three outputs."""
    number = decision.rule_version.get("number")
    try:
        shown = presentation.of(pack_of(db, number)[1]) if number is not None else None
    except DoudiError:
        shown = None
    if shown is not None and shown.headline:
        return shown.headline
    return tuple(shown.outputs if shown is not None else decision.outputs)[:3]


def _columns(row: dict[str, Any]) -> dict[str, Any]:
    return {"household_id": row["household_id"], "county": row["county"], "as_of": row["as_of"],
            "rule_version": {"number": row["version_number"], "digest": row["digest"]},
            "outputs": json.loads(row["outputs"])}


def _trace(row: dict[str, Any]) -> Any:
    """The stored trace (a list), ``UNREADABLE`` if its bytes are damaged, None if it was not kept."""
    if row.get("trace") is not None:
        try:
            return json.loads(zlib.decompress(row["trace"]))
        except (zlib.error, TypeError, ValueError):
            return UNREADABLE
    return json.loads(row["decision"]).get("trace")


def _row(row: dict[str, Any], full: bool) -> dict[str, Any]:
    columns = _columns(row)
    out = {"id": row["id"], **{k: columns[k] for k in _COLUMNS[:4]}, "user": row["user"],
           "created_at": row["created_at"], "outputs": columns["outputs"]}
    if full:
        kept, trace = json.loads(row["decision"]), _trace(row)
        out["facts"] = json.loads(row["facts"])
        out["decision"] = {**_columns(row), "trace": trace if isinstance(trace, list) else [],
                           "reasons": kept.get("reasons") or {"zh": [], "en": []},
                           "reason_items": _reason_items(kept)}
        out["trace_stored"] = isinstance(trace, list)
    return out


def _reason_items(kept: dict[str, Any]) -> list[dict[str, Any]]:
    """The structured reasons as stored (without their text, which the sentences hold: see ``record``)."""
    items = kept.get("reason_items") or []
    reasons = kept.get("reasons") or {}
    return [{**item, "text": {lang: _uncited(reasons.get(lang, [])[i] if i < len(reasons.get(lang, [])) else "",
                                             item.get("clause", ""), lang) for lang in ("zh", "en")}}
            for i, item in enumerate(items)]


def _uncited(sentence: str, clause: str, lang: str) -> str:
    """A reason sentence without the clause ``Decision.reasons`` appends when the text does not name it."""
    suffix = f"（{clause}）" if lang == "zh" else f" ({clause})"
    stripped = sentence[:-len(suffix)] if sentence.endswith(suffix) else None
    return stripped if stripped is not None and clause not in stripped else sentence


def _read(db: Database, decision_id: int) -> dict[str, Any]:
    rows = list(db.table("decisions").rows_where("id = ?", [decision_id]))
    if not rows:
        raise NotFound(f"no decision {decision_id}", message_zh=f"审核记录 {decision_id} 不存在")
    return rows[0]


def get(db: Database, decision_id: int) -> dict[str, Any]:
    """A stored decision with its facts and the decision as stored (an empty trace if none was kept)."""
    return _row(_read(db, decision_id), full=True)


def with_trace(db: Database, stored: dict[str, Any]) -> dict[str, Any]:
    """``stored`` (from ``get``) with its trace: re-evaluated with its version when it was not kept."""
    if stored["trace_stored"]:
        return stored
    try:
        replayed = _evaluate_again(db, stored)
    except DoudiError:  # shown without a trace rather than not at all
        return stored
    return {**stored, "decision": {**stored["decision"], "trace": replayed["trace"]}}


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


def _evaluate_again(db: Database, stored: dict[str, Any]) -> dict[str, Any]:
    version = by_digest(db, stored["rule_version"]["digest"])
    if version is None:
        raise NotFound(f"decision {stored['id']} was made with rules {stored['rule_version']['digest']} "
                       "that are not a published version", message_zh="该审核记录所用的规则版本不存在")
    _, pack = pack_of(db, version.number)
    again = evaluate(pack, stored["facts"], stored["as_of"], version=version.number)
    replayed: dict[str, Any] = json.loads(again.to_json(indent=None))
    return replayed


def differences(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Every leaf that differs between two JSON documents, by path (``outputs.x``, ``trace[3].result.y``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in list(old) + [k for k in new if k not in old]:
            out += differences(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
        return out
    if isinstance(old, list) and isinstance(new, list):
        return [d for i in range(max(len(old), len(new)))
                for d in differences(old[i] if i < len(old) else None, new[i] if i < len(new) else None,
                                     f"{path}[{i}]")]
    return [] if old == new and type(old) is type(new) else [{"path": path, "stored": old, "replayed": new}]


def compare(row: dict[str, Any], replayed: dict[str, Any]) -> list[dict[str, Any]]:
    """What differs between every field stored for a decision (its columns, reasons, trace) and its replay.

    A copy of a column inside the stored ``decision`` (decisions stored before the trace had its
    column) is compared as well, under ``decision.``.
    """
    found = differences(_columns(row), {k: replayed.get(k) for k in _COLUMNS})
    kept = json.loads(row["decision"])
    if "reason_items" in kept:
        kept["reason_items"] = _reason_items(kept)
    trace = _trace(row)
    if trace is not None:
        kept["trace"] = trace
    for key, value in kept.items():
        found += differences(value, replayed.get(key), f"decision.{key}" if key in _COLUMNS else key)
    return found


def replay(db: Database, decision_id: int, user: str | None) -> dict[str, Any]:
    """Re-evaluate a stored decision with the version it recorded; list each stored field it does not reproduce."""
    row = _read(db, decision_id)
    stored = _row(row, full=True)
    replayed = _evaluate_again(db, stored)
    found = compare(row, replayed)
    identical = not found
    audit(db, user, "replay", "decision", decision_id, f"version {replayed['rule_version']['number']}: "
          + ("identical" if identical else "DIFFERENT: " + ", ".join(d["path"] for d in found[:5])))
    return {"id": decision_id, "identical": identical, "rule_version": stored["rule_version"],
            "trace_stored": stored["trace_stored"], "differences": found, "stored": stored["decision"],
            "replayed": replayed}
