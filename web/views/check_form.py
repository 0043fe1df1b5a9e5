"""The household check form, generated from the facts the pack declares (``pack.facts``): its inputs, reading
a posted form back into the household JSON the pack's schema accepts, and errors placed next to their fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from engine.errors import DoudiError
from engine.factsdecl import Collection, FactField
from engine.model import RulePack

from ..i18n import select_locale

MAX_ROWS = 60
EXTRA_ROWS = {"member": 3}  # empty rows shown so the form works without script (members: 3, others: 1)
_ROW = re.compile(r"^([a-z][a-z0-9_]*)\[(\d{1,3})\](.*)$")
_CHOICE_SPAN = 12  # an int with bounds this close is a select of its values


def lang() -> str:
    return "zh" if select_locale() == "zh_CN" else "en"


@dataclass
class Input:
    """One input of the form: its path within its scope (``income.wages``) and how it is shown."""

    path: str
    label: str
    widget: str  # text, number, decimal, date, checkbox, select, tristate
    fact: FactField | None = None
    options: dict[str, str] = field(default_factory=dict)
    blank: str | None = None
    default: str = ""
    hint: str = ""
    attrs: str = ""  # the declared bounds, as data-min / data-max
    by_member: bool = False  # a household money_by_member field, entered in each member's row


@dataclass
class Group:
    """A fieldset of inputs (an object's fields), or the loose fields (``legend`` empty)."""

    legend: str
    inputs: list[Input]
    required: bool = False


@dataclass
class Rows:
    """A collection on the form: its rows' groups of inputs."""

    collection: Collection
    label: str
    item_label: str
    groups: list[Group]


@dataclass
class Spec:
    household: list[Group]
    collections: list[Rows]
    labels: dict[str, str]  # household path or "<key>.<path>" -> label

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(r.collection.key for r in self.collections)


def _input(f: FactField, path: str, pack: RulePack, language: str) -> Input:
    label = getattr(f.label, language)
    if f.type == "bool":
        if f.nullable:
            return Input(path, label, "tristate", f, {"yes": _("Yes"), "no": _("No")}, blank="—")
        return Input(path, label, "checkbox", f)
    if f.type == "enum":
        options = {k: getattr(t, language) for k, t in f.values.items()}
        blank = None if f.has_default and f.default is not None else "—"
        return Input(path, label, "select", f, options, blank, "" if f.default is None else str(f.default))
    if f.type == "code":
        codes = pack.codes.get(f.codes or "")
        options = {k: f"{getattr(t, language)}（{k}）" for k, t in (codes.values.items() if codes else ())}
        return Input(path, label, "select", f, options, "—")
    if f.type == "int" and f.minimum is not None and f.maximum is not None and f.maximum - f.minimum <= _CHOICE_SPAN:
        options = {str(n): str(n) for n in range(int(f.minimum), int(f.maximum) + 1)}
        return Input(path, label, "select", f, options, "—")
    hint = ""
    bounds = " ".join(f'data-{k}="{v}"' for k, v in (("min", f.minimum), ("max", f.maximum)) if v is not None)
    if f.type == "member":
        hint = _("a member id, e.g. m1")
    widget = {"int": "number", "money": "decimal", "number": "decimal", "date": "date"}.get(f.type, "text")
    return Input(path, label, widget, f, hint=hint, attrs=bounds)


def _groups(fields: tuple[FactField, ...], pack: RulePack, language: str, labels: dict[str, str],
            prefix: str) -> list[Group]:
    loose = Group("", [])
    out = [loose]
    for f in fields:
        if f.type == "object":
            group = Group(getattr(f.label, language), [], f.required)
            for sub in f.fields:
                group.inputs.append(_input(sub, sub.path, pack, language))
                labels[prefix + sub.path] = group.inputs[-1].label
            out.append(group)
        elif f.type != "money_by_member":
            loose.inputs.append(_input(f, f.path, pack, language))
            labels[prefix + f.path] = loose.inputs[-1].label
    return [g for g in out if g.inputs]


def spec_of(pack: RulePack) -> Spec:
    """The form of ``pack``'s facts in the page's language."""
    language = lang()
    facts = pack.facts
    labels: dict[str, str] = {"as_of": _("Check as of")}
    top = [f for f in facts.household if f.name not in ("household_id", "county")]
    for f in facts.household:
        if f.name in ("household_id", "county"):
            labels[f.name] = getattr(f.label, language)
    household = _groups(tuple(top), pack, language, labels, "")
    rows = []
    for c in facts.collections:
        labels[c.key] = getattr(c.label, language)
        groups = _groups(c.fields, pack, language, labels, c.key + ".")
        if c.scope == "member":
            for f in facts.household:
                if f.type == "money_by_member":
                    entry = Input(f.name, getattr(f.label, language), "decimal", f, by_member=True)
                    groups[0].inputs.append(entry)
                    labels[f"{c.key}.{f.name}"] = entry.label
        rows.append(Rows(c, labels[c.key], getattr(c.item_label, language), groups))
    return Spec(household, rows, labels)


class Form:
    """What the user typed (by the field's JSON path, rows by their form index) and what is wrong with it."""

    def __init__(self, values: dict[str, str]):
        self.values = values
        self.errors: dict[str, str] = {}

    def text(self, path: str) -> str:
        return (self.values.get(path) or "").strip()

    def flag(self, path: str) -> bool:
        return self.values.get(path) in ("1", "on", "true")

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def number(self, path: str, whole: bool = False) -> Any:
        raw = self.text(path).replace(",", "").replace("，", "")
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


def _given(form: Form, entry: Input, path: str) -> bool:
    if entry.widget == "checkbox":
        return form.flag(path)
    text = form.text(path)
    return text != "" and not (entry.widget == "select" and entry.blank is None and text == entry.default)


def _required(form: Form, entry: Input, path: str) -> None:
    if entry.widget in ("select", "tristate"):
        form.fail(path, _("Choose %(label)s.", label=entry.label))
    else:
        form.fail(path, _("Enter %(label)s.", label=entry.label))


def _value(form: Form, entry: Input, path: str) -> Any:
    """The JSON value of one input; None when blank (the default applies)."""
    f = entry.fact
    if entry.widget == "checkbox":
        checked = form.flag(path)
        return None if not checked and f is not None and f.default is False else checked
    if not _given(form, entry, path):
        return None
    text = form.text(path)
    if entry.widget == "tristate":
        return {"yes": True, "no": False}.get(text)
    if f is not None and f.type == "int":
        return form.number(path, whole=True)
    if entry.widget == "decimal":
        return form.number(path)
    return text


def _read(form: Form, groups: list[Group], prefix: str, skip_empty: bool, members: list[dict[str, Any]]
          ) -> dict[str, Any] | None:
    """One household or row from the form; None for an empty row."""
    inputs = [e for g in groups for e in g.inputs]
    if skip_empty and not any(_given(form, e, prefix + e.path) for e in inputs
                              if not (e.fact and e.fact.name == "id" and e.fact.type == "text")):
        return None
    out: dict[str, Any] = {}
    for g in groups:
        obj: dict[str, Any] = {}
        for e in g.inputs:
            if e.by_member:
                continue
            path = prefix + e.path
            if e.fact is not None and e.fact.type == "member" and not form.text(path) and len(members) == 1:
                form.values[path] = members[0]["id"]
            value = _value(form, e, path)
            if value is not None:
                obj[e.path.rsplit(".", 1)[-1]] = value
        if g.legend:  # an object: all or nothing of its required fields, unless it is required itself
            parent = g.inputs[0].path.split(".", 1)[0]
            if obj or g.required:
                for e in g.inputs:
                    if e.fact is not None and e.fact.required and e.fact.name not in obj:
                        _required(form, e, prefix + e.path)
            if obj or g.required:
                out[parent] = obj
        else:
            for e in g.inputs:
                if e.fact is not None and e.fact.required and e.path not in obj and prefix + e.path not in form.errors:
                    _required(form, e, prefix + e.path)
            out.update(obj)
    return out


def household_of(form: Form, pack: RulePack) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The household facts of the form, and which form row each item of each collection came from."""
    spec = spec_of(pack)
    hh: dict[str, Any] = {}
    for key in ("household_id", "county"):
        hh[key] = form.text(key)
        if not hh[key]:
            (form.fail(key, _("Choose %(label)s.", label=spec.labels[key])) if key == "county" else
             form.fail(key, _("Enter %(label)s.", label=spec.labels[key])))
    hh.update(_read(form, spec.household, "", False, []) or {})
    used: dict[str, list[int]] = {k: [] for k in spec.keys}
    members: list[dict[str, Any]] = []
    for rows in spec.collections:
        c = rows.collection
        items = []
        for r in form.rows(c.key):
            prefix = f"{c.key}[{r}]."
            if c.scope == "member" and not form.text(prefix + "id"):
                form.values[prefix + "id"] = f"m{r + 1}"
            item = _read(form, rows.groups, prefix, True, members)
            if item is None:
                continue
            if c.scope == "member":
                for e in rows.groups[0].inputs:
                    amount = _value(form, e, prefix + e.path) if e.by_member else None
                    if amount is not None:
                        hh.setdefault(e.path, {})[item.get("id", "")] = amount
            items.append(item)
            used[c.key].append(r)
        if c.scope == "member":
            members = items
        if c.min_items and not items:
            form.fail(c.key, _("Enter at least one: %(label)s.", label=rows.label))
        if items or c.min_items:
            hh[c.key] = items
    return hh, used


def _field(path: str, used: dict[str, list[int]], form: Form, pack: RulePack) -> str:
    """The form field of an engine problem's path (members[j] → the form row it came from)."""
    m = _ROW.match(path)
    if m and m[1] in used and int(m[2]) < len(used[m[1]]):
        return f"{m[1]}[{used[m[1]][int(m[2])]}]{m[3]}"
    head, _dot, mid = path.partition(".")
    by_member = {f.name for f in pack.facts.household if f.type == "money_by_member"}
    if head in by_member and mid:
        key = pack.facts.members.key
        row = next((r for r in used.get(key, []) if form.text(f"{key}[{r}].id") == mid), None)
        return f"{key}[{row}].{head}" if row is not None else path
    return path


def add_problems(form: Form, exc: DoudiError, used: dict[str, list[int]], pack: RulePack) -> None:
    """The engine's problems next to their fields, in the page's language (a field keeps its first error)."""
    zh = select_locale() == "zh_CN"
    for p in exc.problems:
        path = _field(p.path or "", used, form, pack)
        if any(e == path or e.startswith(path + ".") or e.startswith(path + "[") for e in form.errors):
            continue  # already explained more precisely
        form.fail(path or "(household)", (p.message_zh or p.message) if zh else p.message)
    if not exc.problems:
        form.fail("(household)", (exc.message_zh or exc.message) if zh else exc.message)


def form_of(stored: dict[str, Any], pack: RulePack) -> dict[str, str]:
    """Form values from stored facts (to check a household again after a change)."""
    values: dict[str, str] = {}
    spec = spec_of(pack)

    def put(prefix: str, data: dict[str, Any]) -> None:
        for key, value in data.items():
            if isinstance(value, dict):
                put(f"{prefix}{key}.", value)
            elif isinstance(value, bool):
                values[prefix + key] = "1" if value else ""
            elif value is not None:
                values[prefix + key] = str(value)

    facts = dict(stored)
    tristate = {(rows.collection.key if rows else ""): {e.path for g in groups for e in g.inputs
                                                        if e.widget == "tristate"}
                for rows, groups in [(None, spec.household), *((r, r.groups) for r in spec.collections)]}
    by_member = {f.name: facts.pop(f.name, None) or {} for f in pack.facts.household if f.type == "money_by_member"}
    for key in spec.keys:
        for i, item in enumerate(facts.pop(key, []) or []):
            item = dict(item)
            for path in tristate[key]:
                if path in item:
                    value = item.pop(path)
                    values[f"{key}[{i}].{path}"] = "" if value is None else "yes" if value else "no"
            if key == pack.facts.members.key:
                for name, paid in by_member.items():
                    if item.get("id") in paid:
                        values[f"{key}[{i}].{name}"] = str(paid[item["id"]])
            put(f"{key}[{i}].", item)
    for path in tristate[""]:
        if path in facts:
            value = facts.pop(path)
            values[path] = "" if value is None else "yes" if value else "no"
    put("", facts)
    return values


def field_label(path: str, rows: dict[str, list[int]], spec: Spec) -> str:
    """A field by the name the form shows, e.g. 成员 2 · 年龄."""
    m = _ROW.match(path)
    if m is None or m[1] not in rows:
        return spec.labels.get(path, path)
    key, r, rest = m[1], int(m[2]), m[3].lstrip(".")
    item = next(x.item_label for x in spec.collections if x.collection.key == key)
    head = f"{item} {rows[key].index(r) + 1 if r in rows[key] else r + 1}"
    sub = spec.labels.get(f"{key}.{rest}")
    return f"{head} · {sub}" if sub else head


def order(path: str, rows: dict[str, list[int]], spec: Spec) -> tuple[int, int, int]:
    """Where a field comes in the form, so that the error summary follows the page."""
    fields = list(spec.labels)
    m = _ROW.match(path)
    if m is None or m[1] not in rows:
        return (fields.index(path) if path in fields else len(fields), 0, 0)
    key, r, rest = m[1], int(m[2]), f"{m[1]}.{m[3].lstrip('.')}"
    return (fields.index(key), rows[key].index(r) if r in rows[key] else r,
            fields.index(rest) if rest in fields else len(fields))


def shown_rows(form: Form, spec: Spec) -> dict[str, list[int]]:
    """The rows each collection shows: those typed in, then empty ones up to its minimum."""
    rows = {}
    for x in spec.collections:
        present = form.rows(x.collection.key)
        extra = max(EXTRA_ROWS.get(x.collection.scope, 1) - len(present), 0)
        start = (present[-1] + 1) if present else 0
        rows[x.collection.key] = present + list(range(start, start + extra))
    members = next((x for x in spec.collections if x.collection.scope == "member"), None)
    if members and "id" in {f.name for f in members.collection.fields}:
        for r in rows[members.collection.key]:
            form.values.setdefault(f"{members.collection.key}[{r}].id", f"m{r + 1}")
    return rows


def _shown(f: FactField, value: Any, language: str) -> str:
    if f.type == "enum":
        text = f.values.get(str(value))
        return getattr(text, language) if text else str(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def members_as_recorded(pack: RulePack, members: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, str]]:
    """Each stored member with its relation in words and its other recorded circumstances (fields that differ
    from their defaults: 正在服刑；残疾类别：肢体，残疾等级：2)."""
    language = lang()
    fields = {f.name: f for f in pack.facts.members.fields}
    out = []
    for m in members:
        relation = _shown(fields["relation"], m["relation"], language) if "relation" in fields and \
            m.get("relation") is not None else ""
        notes = []
        for name, f in fields.items():
            value = m.get(name)
            if name in ("id", "name", "relation", "age", "income") or value is None or value == f.default:
                continue
            if f.type == "object" and isinstance(value, dict):
                subs = {s.name: s for s in f.fields}
                notes.append("，".join(f"{getattr(subs[k].label, language)}：{_shown(subs[k], v, language)}"
                                      for k, v in value.items() if k in subs))
            elif value is True:
                notes.append(getattr(f.label, language))
            else:
                notes.append(f"{getattr(f.label, language)}：{_shown(f, value, language)}")
        out.append((m, relation, "；".join(notes)))
    return out
