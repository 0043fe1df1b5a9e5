"""Load a rule-pack folder: strict YAML, a schema per document kind, then the pack's own model.

Loading fails early and completely: every problem of every file is collected (file, line,
path, message in English and Chinese) and raised together as one :class:`RulePackError`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from . import codes, factsdecl, presentation_check, schemas
from .amounts import exact
from .errors import Problem, RulePackError
from .inputs import limit, size_text
from .limits import Limits, enforced
from .model import Bound, DatedValue, Jurisdiction, Parameter, PolicyTest, Rule, RulePack, Text, Variable
from .source import Node, check_size, line_at, parse_yaml
from .source import plain as _plain
from .values import convert_value


def load_pack(folder: str | Path) -> RulePack:
    """Read, validate and compile the rule pack in ``folder``; raise RulePackError on any problem."""
    return load_files(read_files(folder))


def read_files(folder: str | Path) -> dict[str, str]:
    """The YAML files of a pack folder as text, by path relative to the folder (``values/x.yaml``)."""
    root = Path(folder)
    if not root.is_dir():
        raise RulePackError(f"{folder}: not a folder of rule files",
                            [Problem("rule pack folder not found", "找不到规则包目录", file=str(folder))],
                            message_zh=f"{folder}：找不到规则包目录")
    files: dict[str, str] = {}
    total = 0
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
        name = path.relative_to(root).as_posix()
        size = path.stat().st_size
        check_size(name, size)  # before reading it
        total += size
        _check_total(total)
        try:
            files[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise RulePackError(f"{name}: not UTF-8 text",
                                [Problem("file is not UTF-8 text", "文件不是 UTF-8 文本", file=name)]) from None
    if not files:
        raise RulePackError(f"{folder}: no YAML files", [Problem("no .yaml files in the folder", file=str(folder))])
    return files


def load_files(files: dict[str, str], limits: Limits | None = None) -> RulePack:
    """Validate and compile a pack given as YAML texts by path (a folder, or a stored version or draft),
    its expressions within ``limits`` (default: those in force, see ``engine.limits``)."""
    with enforced(limits):
        return _load_files(files)


def _load_files(files: dict[str, str]) -> RulePack:
    from .checks import check_pack, check_warnings  # cross-document checks need the model built here
    from .coverage import check_coverage
    from .plan import build_plan

    _check_total(sum(len(text.encode("utf-8", "surrogatepass")) for text in files.values()))
    documents = parse_documents(files)
    pack = build_pack(documents)
    found = check_pack(pack) + codes.pack_problems(pack)
    found += presentation_check.problems(pack, documents[pack.pack_file])
    found += check_coverage(pack, documents)
    try:
        plan = build_plan(pack)
    except RulePackError as exc:  # report the rules' problems together with the values'
        found += exc.problems
    if found:
        raise RulePackError(f"{len(found)} problem(s) in the rule pack; first: {found[0]}", found,
                            message_zh=f"规则包有 {len(found)} 处错误")
    object.__setattr__(pack, "plan", plan)
    object.__setattr__(pack, "warnings", tuple(check_warnings(pack)))  # allowed, but shown (rules/README.md)
    object.__setattr__(pack, "files", dict(files))
    return pack


def _check_total(size: int) -> None:
    bound = limit("pack_bytes")
    if size > bound:
        raise RulePackError(f"the rule pack's YAML files exceed {size_text(bound)}",
                            [Problem(f"the YAML files exceed {size_text(bound)} together (DOUDI_MAX_PACK_BYTES)",
                                     f"规则包 YAML 文件总大小超过上限 {size_text(bound)}")],
                            message_zh=f"规则包过大（上限 {size_text(bound)}）")


def parse_documents(files: dict[str, str]) -> dict[str, Any]:
    """Every YAML document by path, each strictly parsed and valid against its kind's schema."""
    if not files:
        raise RulePackError("a rule pack needs YAML files", [Problem("no .yaml files", "没有 YAML 文件")])
    documents: dict[str, Any] = {}
    found: list[Problem] = []
    headline = ""
    for name in sorted(files):
        try:
            doc = parse_yaml(files[name], name)
        except RulePackError as exc:
            found.extend(exc.problems)
            headline = headline or exc.problems[0].__str__()
            continue
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind not in schemas.DOCUMENT_KINDS:
            found.append(Problem(
                f"'kind' must be one of {', '.join(schemas.DOCUMENT_KINDS)} (found {kind!r})",
                f"'kind' 必须是 {'、'.join(schemas.DOCUMENT_KINDS)} 之一", file=name,
                line=doc.line if isinstance(doc, Node) else 1, path="kind"))
            headline = headline or str(found[-1])
            continue
        errs, head = schemas.problems(kind, doc, file=name, line_of=lambda p, d=doc: line_at(d, p))
        if errs:
            found.extend(errs)
            headline = headline or f"{name}: {head}"
            continue
        documents[name] = doc
    if found:
        raise RulePackError(headline, found, message_zh="规则包有错误")
    return documents


def digest_of(documents: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the documents (key order and YAML layout do not matter)."""
    canonical = json.dumps(documents, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _text(node: Any) -> Text:
    return Text(node["zh"], node["en"])


def _unit(node: Any) -> Text:
    """A unit written once for both languages (元, %) or as {zh, en}."""
    return Text(node, node) if isinstance(node, str) else _text(node)


def build_pack(documents: dict[str, Any]) -> RulePack:
    """The model of a pack from its schema-valid documents; problems are collected, then raised."""
    found: list[Problem] = []
    by_kind: dict[str, list[tuple[str, Any]]] = {k: [] for k in schemas.DOCUMENT_KINDS}
    for name, doc in documents.items():
        by_kind[doc["kind"]].append((name, doc))
    if len(by_kind["pack"]) != 1:
        raise RulePackError("a rule pack needs exactly one document of kind 'pack'",
                            [Problem(f"found {len(by_kind['pack'])} documents of kind 'pack'",
                                     "规则包必须有且只有一个 kind: pack 文档")])
    pack_file, meta = by_kind["pack"][0]

    jurisdictions: dict[str, Jurisdiction] = {}
    for name, doc in by_kind["jurisdictions"]:
        for item in doc["jurisdictions"]:
            if item["code"] in jurisdictions:
                found.append(Problem(f"jurisdiction {item['code']} is listed twice", file=name,
                                     line=item.line, path="jurisdictions"))
            jurisdictions[item["code"]] = Jurisdiction(item["code"], item["name"], item["level"],
                                                       item.get("parent"))

    parameters: dict[str, Parameter] = {}
    for name, doc in by_kind["parameters"]:
        for pname, p in doc["parameters"].items():
            if pname in parameters:
                found.append(Problem(f"parameter '{pname}' is declared twice (also in {parameters[pname].file})",
                                     file=name, line=doc["parameters"].line_of(pname)))
                continue
            if p["type"] not in ("money", "number", "int") and ("minimum" in p or "maximum" in p):
                found.append(Problem(f"parameter '{pname}': minimum/maximum only apply to numbers, not {p['type']}",
                                     f"参数 '{pname}'：只有数值类型可以设定上下限", file=name,
                                     line=doc["parameters"].line_of(pname), path=f"parameters.{pname}"))
                continue
            bad = [k for k in ("minimum", "maximum") if isinstance(p.get(k), float) and not math.isfinite(p[k])]
            if bad:  # NaN compares false with everything: the bound would never hold a value back
                found.append(Problem(f"parameter '{pname}': {bad[0]} must be a finite number, not {p[bad[0]]}",
                                     f"参数 '{pname}'：{bad[0]} 须为有限数值，不能是 {p[bad[0]]}", file=name,
                                     line=p.line_of(bad[0]), path=f"parameters.{pname}.{bad[0]}"))
                continue
            parameters[pname] = Parameter(
                name=pname, label=_text(p["label"]), unit=_unit(p["unit"]), type=p["type"],
                reference=p["reference"], minimum=p.get("minimum"), maximum=p.get("maximum"),
                set_by=tuple(p.get("set_by", ("province", "city", "county"))),
                at_least=_bounds(p, "at_least"), at_most=_bounds(p, "at_most"), fixed=p.get("fixed"),
                description=_text(p["description"]) if "description" in p else None,
                file=name, line=doc["parameters"].line_of(pname))

    values: list[DatedValue] = []
    for name, doc in by_kind["values"]:
        code = doc["jurisdiction"]
        if jurisdictions and code not in jurisdictions:
            found.append(Problem(f"unknown jurisdiction {code}", f"未知的行政区划代码 {code}", file=name,
                                 line=doc.line_of("jurisdiction"), path="jurisdiction"))
            continue
        for pname, entries in doc["values"].items():
            param = parameters.get(pname)
            seen: dict[str, int] = {}
            for entry in entries:
                line = entry.line
                if entry["from"] in seen:
                    found.append(Problem(
                        f"{pname}: two values from {entry['from']} (lines {seen[entry['from']]} and {line})",
                        f"{pname}：{entry['from']} 起有两个取值", file=name, line=line,
                        path=f"values.{pname}"))
                seen[entry["from"]] = line
                value = None
                if param is not None and "value" in entry:
                    try:
                        value = convert_value(param.type, entry["value"])
                    except ValueError as exc:
                        found.append(Problem(f"{pname}: {exc}", f"{pname}：取值类型错误（{exc}）",
                                             file=name, line=line, path=f"values.{pname}"))
                values.append(DatedValue(pname, code, dt.date.fromisoformat(entry["from"]), value,
                                         bool(entry.get("inherit")), entry.get("document"),
                                         entry.get("reason"), name, line))

    variables: dict[tuple[str, str], Variable] = {}
    rules: list[Rule] = []
    labels: dict[str, dict[str, dict[str, str]]] = {}
    for name, doc in by_kind["rules"]:
        for table, entries in doc.get("labels", {}).items():
            if table in meta.get("codes", {}):
                found.append(Problem(f"labels.{table} repeats the code list '{table}' of pack.yaml (codes:), "
                                     f"whose names the reasons read; remove it",
                                     f"labels.{table} 与 pack.yaml 的代码表 {table}（codes:）重复，"
                                     "理由使用代码表的名称，请删除",
                                     file=name, line=doc["labels"].line_of(table), path=f"labels.{table}"))
            for code, text in entries.items():
                if code in labels.get(table, {}):
                    found.append(Problem(f"labels.{table}.{code} is declared twice", f"名称 {table}.{code} 重复声明",
                                         file=name, line=doc["labels"].line_of(table), path=f"labels.{table}"))
                labels.setdefault(table, {})[str(code)] = {"zh": text["zh"], "en": text["en"]}
        for vname, v in doc.get("variables", {}).items():
            scope = v.get("scope", "household")
            if (scope, vname) in variables:
                found.append(Problem(f"variable '{vname}' is declared twice", file=name,
                                     line=doc["variables"].line_of(vname)))
            default = v.get("default")
            if default is not None and v["type"] != "str":
                try:
                    default = convert_value(v["type"], default)
                except ValueError as exc:
                    found.append(Problem(f"variable '{vname}': default {exc}", f"变量 '{vname}' 的默认值类型错误",
                                         file=name, line=doc["variables"].line_of(vname), path=f"variables.{vname}"))
            elif default is not None and not isinstance(default, str):
                found.append(Problem(f"variable '{vname}': default must be text, got {default!r}",
                                     f"变量 '{vname}' 的默认值应为文本", file=name,
                                     line=doc["variables"].line_of(vname), path=f"variables.{vname}"))
            variables[(scope, vname)] = Variable(vname, scope, v["type"], default, _text(v["label"]), name)
        for r in doc["rules"]:
            assignments = tuple((k, _source(val)) for k, val in r.get("set", {}).items())
            rules.append(Rule(
                id=r["id"], title=_text(r["title"]), reference=r["reference"], programme=doc["programme"],
                scope=r.get("for_each", "household"), when=r.get("when"), assignments=assignments,
                reason=_text(r["reason"]) if "reason" in r else None, file=name, line=r.line,
                key_lines=_rule_lines(r)))

    tests: list[PolicyTest] = []
    for name, doc in by_kind["tests"]:
        for t in doc["tests"]:
            edit = _plain(t.get("edit"))  # a limit test has no household; its date is the value's
            tests.append(PolicyTest(t["name"], dt.date.fromisoformat(edit["from"] if edit else t["as_of"]),
                                    _plain(t.get("household", {})), _plain(t.get("expect")), t.get("expect_error"),
                                    name, t.line, edit, _plain(t.get("expect_reasons"))))

    code_lists = codes.build(meta.get("codes", {}))
    facts = factsdecl.base()
    try:
        facts = factsdecl.of_documents(by_kind["facts"])
    except RulePackError as exc:
        found += exc.problems
    found += codes.facts_problems(code_lists, facts)
    found += _scope_problems(facts, variables, rules)
    if found:
        raise RulePackError(str(found[0]), found, message_zh="规则包有错误")
    labels |= codes.names(code_lists)  # {disease:label} reads the code list
    return RulePack(
        id=meta["id"], title=_text(meta["title"]), root=meta["root"],
        illustrative=bool(meta.get("illustrative", False)),
        notice=_text(meta["notice"]) if "notice" in meta else None,
        documents=tuple(_plain(d) for d in meta["documents"]), jurisdictions=jurisdictions,
        parameters=parameters, values=tuple(values), variables=variables, rules=tuple(rules),
        outputs=_plain(meta["outputs"]), tests=tuple(tests), digest=digest_of(documents),
        pack_file=pack_file, output_lines={k: meta["outputs"].line_of(k) for k in meta["outputs"]},
        sources={n: _plain(d) for n, d in documents.items()}, codes=code_lists, labels=labels, facts=facts,
        presentation=_plain(meta.get("presentation", {})),
    )


def _scope_problems(facts: factsdecl.Facts, variables: dict[tuple[str, str], Variable],
                    rules: list[Rule]) -> list[Problem]:
    """A rule's ``for_each`` and a variable's ``scope`` must be household or a declared collection's scope."""
    found = []
    wrong = [(v.file, 0, f"variables.{v.name}.scope", v.scope) for v in variables.values()]
    wrong += [(r.file, r.line, f"rules.{r.id}.for_each", r.scope) for r in rules]
    for file, line, path, scope in wrong:
        if scope not in facts.scopes:
            near = difflib.get_close_matches(scope, facts.scopes, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f" (scopes: {', '.join(facts.scopes)})"
            found.append(Problem(f"'{scope}' is not a scope of the household facts{hint}",
                                 f"'{scope}' 不是家庭信息的范围（可用：{'、'.join(facts.scopes)}）",
                                 file=file, line=line or None, path=path))
    return found


def _bounds(declaration: Any, key: str) -> tuple[Bound, ...]:
    """A declaration's ``at_least`` or ``at_most`` bounds as written (constants are converted by ``checks``)."""
    return tuple(Bound(b.get("parameter"), b.get("of", "self"), b["reference"], b.get("value"),
                       tuple(b["levels"]) if "levels" in b else None,
                       _multiplier(b.get("times"))) for b in declaration.get(key, ()))


def _multiplier(raw: Any) -> Any:
    """A bound's ``times`` as an exact number; anything else (NaN) is kept as written, and refused by ``checks``."""
    return exact(raw) if isinstance(raw, int | float) and math.isfinite(raw) else raw


def _rule_lines(rule: Any) -> tuple[tuple[str, int], ...]:
    """The lines of a rule's condition, each of its assignments and its reason."""
    if not isinstance(rule, Node):
        return ()
    lines = [(key, rule.line_of(key)) for key in ("when", "reason") if key in rule]
    assignments = rule.get("set")
    if isinstance(assignments, Node):
        lines += [(f"set.{var}", assignments.line_of(var)) for var in assignments]
    reason = rule.get("reason")
    if isinstance(reason, Node):
        lines += [(f"reason.{lang}", reason.line_of(lang)) for lang in reason]
    return tuple(lines)


def _source(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)
