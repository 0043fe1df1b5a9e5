"""``/jurisdictions``: the province → city → county tree, and every parameter resolved for one of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, request

from engine import drafts, versions
from engine.decision import plain
from engine.errors import InvalidInput, NotFound, Problem
from engine.evaluate import parameter_index
from engine.jurisdictions import ParameterIndex, Resolved
from engine.model import Parameter, RulePack
from engine.users import require

from ..db import get_db
from .common import arg_int, current_user

bp = Blueprint("jurisdictions", __name__)


def _source() -> tuple[dict[str, Any], RulePack]:
    """The pack asked for: ``?draft=ID``, ``?version=N``, or the latest version."""
    db = get_db()
    draft_id = arg_int("draft", minimum=1)
    if draft_id is not None:
        drafts.open_draft(db, current_user(), draft_id)
        return {"draft": draft_id}, drafts.draft_pack(db, draft_id)
    version, pack = versions.pack_of(db, arg_int("version", minimum=1))
    return {"version": version.number}, pack


def _node(pack: RulePack, code: str, children: dict[str | None, list[str]]) -> dict[str, Any]:
    j = pack.jurisdictions[code]
    return {"code": j.code, "name": j.name, "level": j.level, "parent": j.parent,
            "children": [_node(pack, c, children) for c in children.get(code, [])]}


@bp.get("/jurisdictions")
def jurisdiction_tree() -> dict[str, Any]:
    """The jurisdictions of the pack as a tree from the province down."""
    require(current_user(), "versions.read")
    source, pack = _source()
    children: dict[str | None, list[str]] = {}
    for code in sorted(pack.jurisdictions):
        children.setdefault(pack.jurisdictions[code].parent, []).append(code)
    return source | {"root": _node(pack, pack.root, children)}


def _shown(param: Parameter, value: Any) -> Any:
    if param.type == "bands" and value is not None:
        return [({"upto": plain(upto)} if upto is not None else {}) | {"rate": plain(rate)} for upto, rate in value]
    return plain(value)


def _floor(pack: RulePack, index: ParameterIndex, param: Parameter, code: str, on: dt.date) -> dict[str, Any] | None:
    """The highest lower bound in force on ``on`` (e.g. the provincial standard), or None."""
    best: tuple[Any, dict[str, Any]] | None = None
    for bound in param.at_least:
        if bound.parameter is None or param.type not in ("money", "number", "int"):  # a parameter's number only
            continue
        at = {"root": pack.root, "parent": pack.jurisdictions[code].parent, "self": code}[bound.of]
        if at is None or (bound.of == "root" and code == pack.root):
            continue
        limit = index.resolve(bound.parameter, at, on)
        value = bound.applied(limit.value) if limit is not None else None  # 1.3 × the standard: 1.3 times its value
        if limit is not None and (best is None or value > best[0]):
            best = (value, {"value": plain(value), "parameter": bound.parameter,
                            "jurisdiction": limit.jurisdiction, "effective": limit.effective.isoformat(),
                            "document": limit.document, "reference": bound.reference}
                    | ({"times": float(bound.times)} if bound.times is not None else {}))
    return best[1] if best else None


def _resolved(pack: RulePack, param: Parameter, code: str, r: Resolved | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": param.name, "label": {"zh": param.label.zh, "en": param.label.en},
                           "unit": {"zh": param.unit.zh, "en": param.unit.en}, "type": param.type,
                           "reference": param.reference,
                           "set_by": list(param.set_by)}
    if r is None:
        return out | {"value": None, "from": None, "effective": None, "document": None, "own": False}
    return out | {"value": _shown(param, r.value), **r.provenance(), "own": r.jurisdiction == code}


@bp.get("/jurisdictions/<code>/parameters")
def jurisdiction_parameters(code: str) -> dict[str, Any]:
    """Every parameter in force for a jurisdiction on ``?date=`` (default today), with where it comes from."""
    require(current_user(), "versions.read")
    source, pack = _source()
    if code not in pack.jurisdictions:
        raise NotFound(f"no jurisdiction {code!r} in the pack", message_zh=f"行政区划 {code} 不存在")
    text = request.args.get("date")
    try:
        on = dt.date.fromisoformat(text) if text else dt.date.today()
    except ValueError:
        raise InvalidInput(f"date: {text!r} is not a date (YYYY-MM-DD)",
                           [Problem(f"{text!r} is not a date (YYYY-MM-DD)", f"{text!r} 不是有效日期（YYYY-MM-DD）",
                                    path="date")], message_zh="日期格式错误") from None
    index = parameter_index(pack)
    j = pack.jurisdictions[code]
    items = []
    for param in pack.parameters.values():
        item = _resolved(pack, param, code, index.resolve(param.name, code, on))
        item["floor"] = _floor(pack, index, param, code, on)
        items.append(item)
    return source | {"jurisdiction": {"code": j.code, "name": j.name, "level": j.level, "parent": j.parent},
                     "date": on.isoformat(), "parameters": items}
