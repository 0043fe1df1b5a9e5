"""The printable decision of a household check: its headline, every output in the pack's sections (categories
by name, amounts with their unit, lists as tables), the reasons and the trace.

Everything shown of the outputs comes from the pack's presentation (``engine.presentation``): no output of
any pack is named here. The check form's route (``check.result``) calls :func:`render`.
"""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import gettext as _

from engine import decisions, presentation
from engine.amounts import format_amount
from engine.model import RulePack
from engine.presentation import OutputInfo, Presentation

from ..db import get_db
from ..i18n import select_locale

Row = tuple[str, str, str]  # output path, label, value as text
Table = tuple[str, str, list[str], list[list[str]]]  # output path, label, column labels, rows of cells


def lang() -> str:
    """The page's language as the packs' labels name it: zh or en."""
    return "zh" if select_locale() == "zh_CN" else "en"


def show_value(value: Any) -> str:
    """A value of the trace as a person reads it: 是/否, numbers as the decision shows them, lists joined."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return "、".join(show_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return "；".join(f"{k}: {show_value(v)}" for k, v in value.items())
    return format_amount(value)


def label(info: OutputInfo, language: str) -> str:
    """An output's label in the page's language."""
    return presentation.label_text(info, language)


def headline(shown: Presentation, outputs: dict[str, Any], language: str) -> list[Row]:
    """The headline outputs: the pack's, else its first three."""
    paths = shown.headline or tuple(p for p, i in shown.outputs.items() if i.kind != "list")[:3]
    return [(p, label(shown.outputs[p], language), presentation.value_text(shown.outputs[p],
                                                                           presentation.value_at(outputs, p), language))
            for p in paths if p in shown.outputs]


def table(info: OutputInfo, rows: list[Any], language: str) -> Table:
    """A list output as a table: a column per field, a row per entity (codes by their names)."""
    heads = [label(f, language) for f in info.fields.values()]
    body = [[presentation.value_text(f, row.get(name) if isinstance(row, dict) else None, language)
             for name, f in info.fields.items()] for row in rows]
    return info.path, label(info, language), heads, body


def sections(shown: Presentation, outputs: dict[str, Any], language: str) -> list[tuple[str, list[Row], list[Table]]]:
    """Every output in its section: (title, rows of single values, tables of list outputs with rows).
    An empty list is a row saying so; an output the decision lacks (an older version) shows as —."""
    out = []
    for section in shown.sections:
        rows: list[Row] = []
        tables: list[Table] = []
        for path in section.outputs:
            info = shown.outputs.get(path)
            if info is None:
                continue
            value = presentation.value_at(outputs, path)
            if info.kind == "list" and isinstance(value, list) and value:
                tables.append(table(info, value, language))
            else:
                rows.append((path, label(info, language), presentation.value_text(info, value, language)))
        out.append((getattr(section.label, language), rows, tables))
    known = {p.partition(".")[0] for p in shown.outputs}
    extra = [(name, name, show_value(value)) for name, value in outputs.items() if name not in known]
    if extra:  # outputs the pack no longer declares (a decision of an older version): shown all the same
        out.append((getattr(presentation.OTHER, language), extra, []))
    return out


def render(version: Any, pack: RulePack, stored: dict[str, Any], **context: Any) -> Any:
    """The decision page of a stored decision (``context``: what the page's facts part needs)."""
    stored = decisions.with_trace(get_db(), stored)
    decision = stored["decision"]
    outputs = decision["outputs"]
    language = lang()
    shown = presentation.of(pack)
    # each sentence with the clause it cites beside it (older stored decisions: the sentences alone)
    reasons = ([(item["text"][language], item["clause"]) for item in decision.get("reason_items") or []]
               or [(sentence, None) for sentence in decision["reasons"][language]])
    return render_template("check/result.html", stored=stored, decision=decision, outputs=outputs,
                           headline=headline(shown, outputs, language), sections=sections(shown, outputs, language),
                           reasons=reasons, facts=stored["facts"], show_value=show_value, pack=pack,
                           latest=version, **context)
