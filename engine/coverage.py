"""Clause coverage: which rules, parameters and policy tests implement each clause a pack declares.

A document in pack.yaml may list its clauses (``documents[].clauses``, see rules/README.md). A clause
is covered by the rules and parameters whose ``reference`` cites it (``<document number> <clause>``,
a parameter's ``at_least`` references included), by those listed under the clause, and by the policy
tests that expect an output one of those rules sets (or that are listed). A clause with no rule and no
parameter must say why it is outside a decision engine (``outside: {zh, en}``). A pack whose documents
declare no clauses is not checked (the platform is generic).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import Problem
from .model import RulePack, Text

# a clause id as the plans number them: 一, 二（三）, 三（五）; a reference's words after its number
_CLAUSE_ID = re.compile(r"^([一二三四五六七八九十]+(（[一二三四五六七八九十]+）)?|第[一二三四五六七八九十百零]+条)$")
_SEPARATORS = re.compile(r"[\s、，,；;]+")


@dataclass
class Clause:
    """One declared clause and what implements it (names in pack order)."""

    document: str
    id: str
    title: Text
    outside: Text | None
    file: str
    line: int
    rules: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)

    @property
    def implemented(self) -> bool:
        return bool(self.rules or self.parameters)


def cited(reference: str, clauses: dict[tuple[str, str], Any]) -> tuple[list[tuple[str, str]], str | None]:
    """The declared clauses a reference cites, and a clause-like word it cites that is not declared
    (``湘民发〔2017〕33号 二（七）``) — None when it names none or the document declares no clauses."""
    number, _, rest = reference.strip().partition(" ")
    if not any(doc == number for doc, _ in clauses):
        return [], None
    found, unknown = [], None
    for word in _SEPARATORS.split(rest.strip()):
        if (number, word) in clauses:
            found.append((number, word))
        elif unknown is None and _CLAUSE_ID.match(word) and not any(
                doc == number and cid.startswith(word + "（") for doc, cid in clauses):  # 二: the section of 二（一）
            unknown = word
    return found, unknown


def _output_variables(spec: Any) -> set[str]:
    """The variables an output shows (its value, the values of an object, an entity's fields)."""
    if isinstance(spec, str):
        return {spec.rsplit(".", 1)[-1]}
    if isinstance(spec, dict):
        values = spec.get("fields", {}).values() if "each" in spec else spec.values()
        return {v.rsplit(".", 1)[-1] for v in values if isinstance(v, str)}
    return set()


def coverage(pack: RulePack, documents: dict[str, Any] | None = None) -> tuple[list[Clause], list[Problem]]:
    """Every declared clause with what implements it, and the problems: an unknown name listed under a
    clause, a reference citing an undeclared clause, a clause with neither implementation nor ``outside``.
    ``documents`` are the parsed YAML documents with their lines (pack.sources, without lines, by default)."""
    meta = (documents or pack.sources).get(pack.pack_file, {})
    file = pack.pack_file
    clauses: dict[tuple[str, str], Clause] = {}
    listed: list[tuple[Clause, str, str, int]] = []  # clause, kind, name, line
    for doc in meta.get("documents", []):
        declared = doc.get("clauses") or {}
        for cid, spec in declared.items():
            line = _line(declared, cid, getattr(meta, "line", 1))
            if isinstance(spec, str):
                title, outside = Text(spec, spec), None
            else:
                title = Text(spec["zh"], spec["en"])
                outside = Text(spec["outside"]["zh"], spec["outside"]["en"]) if "outside" in spec else None
            clause = Clause(doc["number"], cid, title, outside, file, line)
            clauses[(doc["number"], cid)] = clause
            for kind in ("rules", "parameters", "tests"):
                for name in spec.get(kind, ()) if isinstance(spec, dict) else ():
                    listed.append((clause, kind, name, _item_line(spec, kind, line)))
    if not clauses:
        return [], []

    problems: list[Problem] = []

    def cite(reference: str, kind: str, name: str, where: str, line: int) -> None:
        found, unknown = cited(reference, clauses)
        for key in found:
            bucket = getattr(clauses[key], kind)
            if name not in bucket:
                bucket.append(name)
        if unknown is not None:
            number = reference.split(" ", 1)[0]
            problems.append(Problem(
                f"{kind[:-1]} '{name}' cites {number} {unknown}, a clause pack.yaml does not declare",
                f"{'规则' if kind == 'rules' else '参数'} '{name}' 引用的 {number} {unknown} 未在 pack.yaml 中列出",
                file=where, line=line, path="reference"))

    for rule in pack.rules:
        cite(rule.reference, "rules", rule.id, rule.file, rule.line)
    for p in pack.parameters.values():
        for reference in (p.reference, *(b.reference for b in p.at_least)):
            cite(reference, "parameters", p.name, p.file, p.line)

    known = {"rules": {r.id for r in pack.rules}, "parameters": set(pack.parameters),
             "tests": {t.name for t in pack.tests}}
    label = {"rules": ("rule", "规则"), "parameters": ("parameter", "参数"), "tests": ("policy test", "政策测试")}
    for clause, kind, name, line in listed:
        if name not in known[kind]:
            en, zh = label[kind]
            problems.append(Problem(
                f"clause {clause.id} lists {en} '{name}', which the pack does not have",
                f"条款 {clause.id} 列出的{zh} '{name}' 不存在", file=file, line=line,
                path=f"documents.clauses.{clause.id}.{kind}"))
        elif name not in getattr(clause, kind):
            getattr(clause, kind).append(name)

    sets = {r.id: {k for k, _ in r.assignments} for r in pack.rules}
    shows = {name: _output_variables(spec) for name, spec in pack.outputs.items()}
    for clause in clauses.values():
        variables = set().union(*(sets.get(r, set()) for r in clause.rules))
        for test in pack.tests:
            expected = set().union(*(shows.get(k, set()) for k in (test.expect or {})))
            if variables & expected and test.name not in clause.tests:
                clause.tests.append(test.name)
        if not clause.implemented and clause.outside is None:
            problems.append(Problem(
                f"clause {clause.document} {clause.id} ({clause.title.en}) is implemented by no rule or "
                "parameter and gives no 'outside' reason",
                f"条款 {clause.document} {clause.id}（{clause.title.zh}）既无规则或参数实现，"
                "也未说明不由决策引擎处理的理由（outside）",
                file=file, line=clause.line, path=f"documents.clauses.{clause.id}"))
    return list(clauses.values()), problems


def check_coverage(pack: RulePack, documents: dict[str, Any] | None = None) -> list[Problem]:
    """The coverage problems of a pack (none when it declares no clauses), values citing documents included."""
    return coverage(pack, documents)[1] + check_values_cite(pack)


def check_values_cite(pack: RulePack) -> list[Problem]:
    """In a pack that declares clauses, every dated value names the document that set it."""
    if not any(doc.get("clauses") for doc in pack.documents):
        return []
    return [Problem(f"{v.parameter}: the value from {v.start} names no 'document' that set it",
                    f"{v.parameter}：{v.start} 起的取值未注明设定它的文件（document）",
                    file=v.file, line=v.line, path=f"values.{v.parameter}")
            for v in pack.values if not v.inherit and not v.document]


def _line(node: Any, key: str, default: int) -> int:
    line_of = getattr(node, "line_of", None)
    return line_of(key) if line_of else default


def _item_line(spec: Any, kind: str, default: int) -> int:
    """The line of a clause's ``rules:``/``parameters:``/``tests:`` key (YAML lists keep no lines)."""
    return _line(spec, kind, default)
