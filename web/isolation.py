"""A draft's evaluation in a worker process, within the time and memory the app's config allows.

Impact reports and policy tests on a draft never run in a request thread (see ``engine.isolation``):
``DRAFT_TIMEOUT`` seconds, ``DRAFT_MEMORY_MB`` and ``DRAFT_WORKERS`` children at once (also as
``DOUDI_DRAFT_TIMEOUT`` … in the environment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from flask import current_app

from engine import isolation
from engine.impact import ImpactReport, impact
from engine.model import RulePack


def draft_budget() -> isolation.Budget:
    """What one evaluation of a draft may take, from the app's config."""
    config = current_app.config
    return isolation.Budget(float(config["DRAFT_TIMEOUT"]), int(config["DRAFT_MEMORY_MB"]),
                            int(config["DRAFT_WORKERS"]))


def impact_report(old: RulePack, new: RulePack, households: Iterable[dict[str, Any]], on: dt.date,
                  top: int | None, drafts: list[int]) -> ImpactReport:
    """``impact.impact``: here for published versions, in a worker process when a side is a draft."""
    if not drafts:
        return impact(old, new, households, on, top=top)
    what = " and ".join(f"draft {d}" for d in drafts)
    what_zh = "和".join(f"草稿 {d}" for d in drafts)
    report: ImpactReport = isolation.run(isolation.impact_of_files, old.files, new.files, list(households), on, top,
                                         budget=draft_budget(), what=what, what_zh=what_zh)
    return report
