"""Code lists a pack declares (``codes:`` in pack.yaml): the values a coded household field may take,
each with its Chinese and English name, e.g. the disease of a medical claim.

The pack says which fields hold the codes of a list (``medical_claims.disease``) and which parameters
hold lists of them (``major_diseases``); nothing here knows a code. A household whose coded field holds
a code the pack does not declare is refused, naming the field and the closest declared codes; a
parameter value naming an undeclared code fails the pack. See rules/README.md (Code lists).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from .errors import Problem, quoted
from .model import CodeList, RulePack, Text


def build(node: dict[str, Any]) -> dict[str, CodeList]:
    """The code lists of a pack's schema-valid ``codes:`` section."""
    return {name: CodeList(name, Text(c["label"]["zh"], c["label"]["en"]), tuple(c.get("fields", ())),
                           tuple(c.get("parameters", ())),
                           {code: Text(t["zh"], t["en"]) for code, t in c["values"].items()})
            for name, c in node.items()}


def closest(codes: CodeList, code: str) -> list[str]:
    """Up to three declared codes closest to ``code`` (best first)."""
    return difflib.get_close_matches(code, list(codes.values), n=3, cutoff=0.6)


def _hint(codes: CodeList, code: str) -> tuple[str, str]:
    near = closest(codes, code) if isinstance(code, str) else []
    if near:
        return ("; did you mean " + " or ".join(f"'{c}' ({codes.values[c].en})" for c in near) + "?",
                "；是否应为" + "或".join(f"“{c}”（{codes.values[c].zh}）" for c in near) + "？")
    shown = list(codes.values)[:12]
    more = "…" if len(codes.values) > len(shown) else ""
    return (f"; declared codes: {', '.join(shown)}{more}", f"；可用代码：{'、'.join(shown)}{more}")


def _at(node: Any, parts: list[str], path: str) -> Iterator[tuple[str, Any]]:
    """The values at a dotted field path of household data, each with its path (lists walked item by item)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _at(item, parts, f"{path}[{i}]")
        return
    if not parts:
        yield path, node
        return
    if isinstance(node, dict) and parts[0] in node:
        yield from _at(node[parts[0]], parts[1:], f"{path}.{parts[0]}" if path else parts[0])


def facts_problems(lists: dict[str, CodeList], facts: Any) -> list[Problem]:
    """A problem for every field of the facts declaration of type code naming an undeclared code list."""
    found = []
    for name, paths in facts.code_fields().items():
        if name not in lists:
            near = difflib.get_close_matches(name, list(lists), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f" (declared: {', '.join(lists) or 'none'})"
            found += [Problem(f"{path}: 'codes: {name}' is not a code list of pack.yaml{hint}",
                              f"{path}：代码表 '{name}' 未在 pack.yaml 的 codes 中声明", file=facts.file,
                              path=path) for path in paths]
    return found


def household_problems(pack: RulePack, data: dict[str, Any]) -> list[Problem]:
    """A problem for every coded field of a (schema-valid) household that holds an undeclared code: the
    fields a code list names (``fields:``) and those the facts declare of type code."""
    found = []
    declared = pack.facts.code_fields() if pack.facts is not None else {}
    for codes in pack.codes.values():
        for field in dict.fromkeys([*codes.fields, *declared.get(codes.name, ())]):
            for path, code in _at(data, field.split("."), ""):
                if code is None or code in codes.values:
                    continue
                en, zh = _hint(codes, code)
                found.append(Problem(f"unknown {codes.label.en.lower()} code {quoted(code)}{en}",
                                     f"未知的{codes.label.zh}代码 {quoted(code)}{zh}", path=path))
    return found


def pack_problems(pack: RulePack) -> list[Problem]:
    """A problem for every value of a code-list parameter that names an undeclared code, and for a list
    naming a parameter that is not a list of codes."""
    found = []
    for codes in pack.codes.values():
        for name in codes.parameters:
            param = pack.parameters.get(name)
            if param is None or param.type != "list":
                found.append(Problem(f"codes.{codes.name}: '{name}' is not a parameter of type list",
                                     f"代码表 {codes.name}：'{name}' 不是列表类型的参数", file=pack.pack_file,
                                     path=f"codes.{codes.name}.parameters"))
                continue
            for v in pack.values:
                if v.parameter != name or v.value is None:
                    continue
                for code in v.value:
                    if code not in codes.values:
                        en, zh = _hint(codes, code)
                        what = codes.label.en.lower()
                        found.append(Problem(f"{name}: {quoted(code)} is not a declared {what} code{en}",
                                             f"{name}：{quoted(code)} 不是已声明的{codes.label.zh}代码{zh}",
                                             file=v.file, line=v.line, path=f"values.{name}"))
    return found
