"""The schemas of the served pack in the API document: its decisions' outputs, not a fixed list."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from engine import versions
from engine.decision_schema import decision_schema
from engine.errors import NotFound
from engine.model import RulePack

from ..db import get_db

_DOCUMENTS: dict[tuple[int, str], dict[str, Any]] = {}


def served_pack() -> RulePack | None:
    """The pack of the latest published version (None before anything is published)."""
    try:
        return versions.pack_of(get_db())[1]
    except NotFound:
        return None


def with_decision(document: dict[str, Any], pack: RulePack | None,
                  embed: Callable[[dict[str, Any], str], dict[str, Any]]) -> dict[str, Any]:
    """``document`` with its Decision component the schema of ``pack``'s decisions (kept per pack digest)."""
    if pack is None:
        return document
    key = (id(document), pack.digest)
    if key not in _DOCUMENTS:
        if len(_DOCUMENTS) > 8:
            _DOCUMENTS.clear()
        out = copy.copy(document)
        components = dict(out["components"])
        components["schemas"] = {**components["schemas"], "Decision": embed(decision_schema(pack), "Decision")}
        out["components"] = components
        _DOCUMENTS[key] = out
    return _DOCUMENTS[key]
