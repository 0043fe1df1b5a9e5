"""``GET /compare`` (what changed between two versions or a draft) and ``POST /impact`` (for whom)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, request

from engine import drafts, versions
from engine.compare import diff_packs
from engine.errors import InvalidInput, Problem, quoted
from engine.evaluate import parse_date
from engine.factsynth import synthesize
from engine.inputs import whole_number
from engine.model import RulePack
from engine.users import require

from .. import isolation
from ..db import get_db
from .bodies import body
from .common import current_user

bp = Blueprint("compare", __name__)


def _pack(ref: Any, field: str) -> tuple[dict[str, Any], RulePack]:
    """A version number (``3``) or a draft (``"draft:5"``) as a label and its pack."""
    db = get_db()
    text = str(ref).strip() if ref is not None else ""
    number, draft_id = whole_number(text), whole_number(text[6:]) if text.startswith("draft:") else None
    if number is not None:
        version, pack = versions.pack_of(db, number)
        return {"version": version.number, "digest": version.digest}, pack
    if draft_id is not None:
        draft = drafts.open_draft(db, current_user(), draft_id)
        pack = drafts.draft_pack(db, draft.id)
        return {"draft": draft.id, "digest": pack.digest}, pack
    raise InvalidInput(f"{field}: {quoted(text)} is neither a version number (e.g. 1) nor a draft (e.g. draft:5)",
                       [Problem(f"{quoted(text)} is neither a version number (e.g. 1) nor a draft (e.g. draft:5)",
                                f"{quoted(text)} 不是版本号（如 1）或草稿（如 draft:5）", path=field)],
                       message_zh=f"{field} 应为版本号或草稿")


@bp.get("/compare")
def compare() -> dict[str, Any]:
    """Every parameter value, rule, declaration and jurisdiction that differs between two packs."""
    require(current_user(), "compare")
    (old_label, old), (new_label, new) = _pack(request.args.get("from"), "from"), _pack(request.args.get("to"), "to")
    versions.same_pack(old, new)
    return {"from": old_label, "to": new_label} | diff_packs(old, new).to_dict()


@bp.post("/impact")
def impact_report() -> dict[str, Any]:
    """Evaluate a population under both packs: the totals of the pack's declared amounts and flags, every
    output that changed, per county, and the households that move most (``engine.impact``)."""
    data = body("ImpactRequest")
    require(current_user(), "compare")
    (old_label, old), (new_label, new) = _pack(data["from"], "from"), _pack(data["to"], "to")
    versions.same_pack(old, new)
    on = parse_date(data["as_of"]) if data.get("as_of") else dt.date.today()
    if "households" in data and "synthetic" in data:
        raise InvalidInput("give either households or synthetic, not both",
                           [Problem("give either households or synthetic, not both", "家庭名单与模拟样本只能二选一",
                                    path="synthetic")], message_zh="家庭名单与模拟样本只能二选一")
    if "households" in data:
        households: Any = data["households"]
        population: dict[str, Any]
        limit, field = current_app.config["BATCH_LIMIT"], "households"
        size = len(households)
        population = {"households": size}
    else:
        synthetic = data.get("synthetic") or {}
        size, seed = synthetic.get("n", 1000), synthetic.get("seed", 1)
        limit, field = current_app.config["SYNTHETIC_LIMIT"], "synthetic.n"
        households = synthesize(old, [c.code for c in old.counties()], size, seed, on)
        population = {"synthetic": {"n": size, "seed": seed}}
    if size > limit:
        raise InvalidInput(f"{field}: at most {limit} households in one request",
                           [Problem(f"at most {limit} households in one request (got {size})",
                                    f"每次最多 {limit} 户（收到 {size} 户）", path=field)],
                           message_zh=f"每次最多 {limit} 户")
    on_drafts = [label["draft"] for label in (old_label, new_label) if "draft" in label]
    report = isolation.impact_report(old, new, households, on, data.get("top"), on_drafts).to_dict()
    return {"from": old_label, "to": new_label, "population": population} | report
