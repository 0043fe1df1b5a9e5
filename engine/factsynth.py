"""Synthetic households drawn from a pack's fact declarations (``doudi synth``).

Every declared field is drawn by its type, within its bounds, or as the ``synth:`` section of the facts
says (rules/README.md, Facts): by the field's path (``registered_poor``, ``members.age``,
``medical_claims.disease``; a collection by its key for how many items), ``p`` the chance it is set (true,
for a bool), ``weights`` of enum or code values, ``between: [low, high]`` for numbers and dates (days
before the as-of date), ``items: [min, max]`` for collections. Ids are ``<pack id>-<county>-<n>``. A pack may
instead ask for the realistic rural profile of ``engine.synth`` (``profile: {name: rural_household, id_prefix:
HN}``; ids ``<id_prefix or pack id>-<county>-<n>``). The same seed gives the same households; they are samples,
not data about real people.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from typing import Any

from .factsdecl import Collection, FactField, Facts
from .model import RulePack
from .synth import synth_households as _profiled


def synthesize(pack: RulePack, counties: Sequence[str], n: int, seed: int,
               as_of: dt.date = dt.date(2019, 6, 30)) -> Iterator[dict[str, Any]]:
    """``n`` households over ``counties`` for ``pack``: the profile its ``synth:`` names, else drawn from its
    declarations."""
    profile = pack.facts.synth.get("profile")
    if profile:  # the one profile there is: rural_household (schemas/facts.schema.json)
        return _profiled(counties, n, seed, as_of, prefix=profile.get("id_prefix") or pack.id)
    return _drawn(pack, sorted(counties), n, seed, as_of)


def _drawn(pack: RulePack, counties: list[str], n: int, seed: int, as_of: dt.date) -> Iterator[dict[str, Any]]:
    facts: Facts = pack.facts
    draws = {**_BASE_DRAWS, **{k: v for k, v in facts.synth.items() if k != "profile"}}
    rng = random.Random(seed)
    for index in range(1, n + 1):
        county = rng.choice(counties)
        hh: dict[str, Any] = {}
        members = _items(rng, facts.members, draws, pack, as_of, [], "members", facts)
        for i, m in enumerate(members, start=1):
            m["id"] = f"m{i}"
        ids = [m["id"] for m in members]
        _fill(rng, hh, facts.household, draws, "", pack, as_of, ids)
        hh["household_id"], hh["county"] = f"{pack.id}-{county}-{index:06d}", county
        hh[facts.members.key] = members
        for c in facts.collections:
            if c.scope != "member":
                items = _items(rng, c, draws, pack, as_of, ids, c.key, facts)
                if items:
                    hh[c.key] = items
        yield hh


_BASE_DRAWS: dict[str, dict[str, Any]] = {
    "members": {"items": [1, 6]}, "members.age": {"between": [0, 95]},
}


def _items(rng: random.Random, c: Collection, draws: dict[str, Any], pack: RulePack, as_of: dt.date,
           ids: list[str], key: str, facts: Facts) -> list[dict[str, Any]]:
    low, high = draws.get(key, {}).get("items", [c.min_items, min(c.max_items, 2)])
    count = rng.randint(max(low, c.min_items), max(min(high, c.max_items), c.min_items))
    out = []
    for _ in range(count):
        item: dict[str, Any] = {}
        _fill(rng, item, c.fields, draws, key + ".", pack, as_of, ids)
        out.append(item)
    return out


def _fill(rng: random.Random, target: dict[str, Any], fields: tuple[FactField, ...], draws: dict[str, Any],
          prefix: str, pack: RulePack, as_of: dt.date, ids: list[str]) -> None:
    for f in fields:
        spec = draws.get(prefix + f.path, {})
        if f.type == "object":
            if f.required or rng.random() < spec.get("p", 0.3):
                obj: dict[str, Any] = {}
                _fill(rng, obj, f.fields, draws, prefix, pack, as_of, ids)
                if obj or f.required:
                    target[f.name] = obj
            continue
        if f.type == "money_by_member" and not ids:
            continue
        chance = spec.get("p", 1.0 if f.required else 0.5 if f.type in ("money", "bool") else 0.3)
        if f.type == "bool":
            if rng.random() < spec.get("p", 0.1):
                target[f.name] = True
            continue
        if not f.required and rng.random() >= chance:
            continue
        value = _value(rng, f, spec, pack, as_of, ids)
        if value is not None:
            target[f.name] = value


def _value(rng: random.Random, f: FactField, spec: dict[str, Any], pack: RulePack, as_of: dt.date,
           ids: list[str]) -> Any:
    t = f.type
    if t in ("money", "number", "int"):
        low = f.minimum if f.minimum is not None else 0
        high = f.maximum if f.maximum is not None else (20_000 if t == "money" else low + 100)
        low, high = spec.get("between", [low, min(high, low + 100_000)])
        return rng.randint(int(low), int(high)) if t != "number" else round(rng.uniform(low, high), 2)
    if t == "date":
        low, high = spec.get("between", [0, 365])
        return (as_of - dt.timedelta(days=rng.randint(int(low), int(high)))).isoformat()
    if t in ("enum", "code"):
        values = list(f.values) if t == "enum" else list(pack.codes[f.codes].values) if f.codes in pack.codes else []
        weights = spec.get("weights")
        if weights:
            values = [v for v in weights if v in values] or values
            return rng.choices(values, [weights.get(v, 0) for v in values])[0] if values else None
        return rng.choice(values) if values else None
    if t == "member":
        return rng.choice(ids) if ids else None
    if t == "money_by_member":
        return {rng.choice(ids): rng.randint(0, 5_000)}
    return None  # text: only the ids the drawing writes itself
