"""Reason sentences a caseworker can read aloud: placeholders with a format, rendered in zh and en.

A rule's ``reason`` is a template. Each ``{expression}`` or ``{expression:format}`` in it is an
expression of the rule's scope (rules/README.md, "Reasons"), evaluated after the rule's
assignments, and shown in the language of the sentence:

- ``yuan``: an amount, at most 2 decimals, half up, with 元 (``304.17元`` / ``304.17 yuan``);
- ``yuan_month``: the same per month (``304.17元/月`` / ``304.17 yuan a month``);
- ``percent`` (or ``%``): a rate as a percentage (0.7 → ``70%``);
- ``date``: ``2019年12月31日`` / ``31 December 2019``;
- ``member``: a member id shown as the member's name, or relation and id when there is no name
  (``户主（m1）`` / ``head of household (m1)``); the relation labels come from the pack's ``labels``;
- ``persons``, ``days``: a count with its unit, singular or plural in English (``1人`` / ``1 person``,
  ``3人`` / ``3 persons``; ``90天`` / ``90 days``);
- ``label``: a code by its name: the pack's code list (``codes:`` in pack.yaml) or ``labels`` table named
  after the last part of the expression (``{disease:label}`` reads the code list ``disease``); an
  undeclared code is shown as it is. In English, a name inside a sentence starts with a small letter
  (``has gastric cancer``) unless its first word looks like a name or an abbreviation (``Parkinson's``,
  ``COPD``).

Without a format, numbers are shown with at most 2 decimals and dates as with ``date``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .amounts import format_amount, json_number

# {expression} or {expression:format}; an expression has no braces and is at most 200 characters
PLACEHOLDER = re.compile(r"\{([^{}:]{1,200}?)(?::([a-z_%]+))?\}")
FORMATS = ("yuan", "yuan_month", "percent", "%", "date", "member", "label", "persons", "days")
UNITS = {"persons": ("人", "person", "persons"), "days": ("天", "day", "days")}  # format → zh, en one, en many
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")

Labels = dict[str, dict[str, dict[str, str]]]  # table → code → {zh, en}


@dataclass(frozen=True)
class Slot:
    """One placeholder of a template: its expression (a compiled closure of an Env) and its format."""

    source: str
    fn: Callable[[Any], Any]
    format: str | None
    table: dict[str, dict[str, str]] | None  # the labels a ``label`` or ``member`` format reads


Template = tuple[tuple[str | Slot, ...], tuple[str | Slot, ...]]  # zh parts, en parts


def split(text: str) -> list[tuple[str, str | None] | str]:
    """The literal text and (expression, format) placeholders of a template, in order."""
    parts: list[tuple[str, str | None] | str] = []
    at = 0
    for m in PLACEHOLDER.finditer(text):
        if m.start() > at:
            parts.append(text[at:m.start()])
        parts.append((m[1].strip(), m[2]))
        at = m.end()
    if at < len(text):
        parts.append(text[at:])
    return parts


def format_value(value: Any, fmt: str | None, lang: str, env: Any = None,
                 table: dict[str, dict[str, str]] | None = None, inside: bool = False) -> str:
    """``value`` as a sentence in ``lang`` shows it with format ``fmt`` (see the module docstring);
    ``inside``: the value does not start the sentence."""
    zh = lang == "zh"
    if fmt in ("yuan", "yuan_month"):
        amount = format_amount(value)
        if fmt == "yuan":
            return f"{amount}元" if zh else f"{amount} yuan"
        return f"{amount}元/月" if zh else f"{amount} yuan a month"
    if fmt in ("percent", "%"):
        if isinstance(value, bool) or value is None:
            return str(value)
        shown = str(json_number(value * 100))
        return (shown.rstrip("0").rstrip(".") if "." in shown else shown) + "%"
    if fmt == "member":
        return member_name(value, env.hh.get("members", []) if env is not None else [], lang, table)
    if fmt == "label":
        label = (table or {}).get(str(value))
        if not label:
            return str(value)
        return label[lang] if zh or not inside else lowered(label[lang])
    if fmt in UNITS:
        unit_zh, one, many = UNITS[fmt]
        return f"{format_amount(value)}{unit_zh}" if zh else plural(value, one, many)
    if isinstance(value, dt.date):
        if zh:
            return f"{value.year}年{value.month}月{value.day}日"
        return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return format_amount(value)


def plural(count: Any, one: str, many: str) -> str:
    """``1 person``, ``0 persons``, ``3 persons``, ``1.5 persons``: English agrees with the count."""
    return f"{format_amount(count)} {one if count == 1 else many}"


def lowered(name: str) -> str:
    """An English name as it reads inside a sentence: the first letter small, unless the first word
    is an abbreviation (``COPD``, ``HIV infection``) or a name's possessive (``Parkinson's disease``)."""
    first = name.split(" ", 1)[0]
    if len(first) > 1 and (first[1].isupper() or first.endswith(("'s", "’s"))):
        return name
    return name[:1].lower() + name[1:]


def member_name(member_id: Any, members: list[dict[str, Any]], lang: str,
                relations: dict[str, dict[str, str]] | None) -> str:
    """A member by name; without one, by relation and id (户主（m1）); without either, 成员m1."""
    zh = lang == "zh"
    for m in members:
        if m.get("id") == member_id:
            if m.get("name"):
                return str(m["name"])
            relation = (relations or {}).get(str(m.get("relation")))
            if relation:
                return f"{relation['zh']}（{member_id}）" if zh else f"{relation['en']} ({member_id})"
            break
    return f"成员{member_id}" if zh else f"member {member_id}"


def render(parts: tuple[str | Slot, ...], lang: str, env: Any, figures: dict[str, Any] | None = None) -> str:
    """A template's sentence in ``lang``; the value of each placeholder is noted in ``figures``."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = part.fn(env)
        if figures is not None:
            figures[part.source] = value
        before = "".join(out).rstrip()
        out.append(format_value(value, part.format, lang, env, part.table,
                                inside=bool(before) and not before.endswith((".", "!", "?"))))
    return "".join(out)
