"""Check a pack's ``presentation:`` section against its outputs: every path it names must be an output of
the pack, of a kind that fits where it is used; each problem located by file, line and field."""

from __future__ import annotations

import difflib
from typing import Any

from . import presentation
from .errors import Problem
from .model import RulePack
from .source import line_at

SUMMABLE = ("amount", "count", "number")
GROUPABLE = ("category", "flag")


def problems(pack: RulePack, document: Any) -> list[Problem]:
    """Every problem of the pack document's ``presentation`` section (``document`` is the parsed pack.yaml)."""
    declared = pack.presentation or {}
    if not declared:
        return []
    paths = presentation.output_paths(pack)
    objects = {n for n, s in pack.outputs.items() if isinstance(s, dict) and "each" not in s}
    found: list[Problem] = []

    def fail(where: list[str | int], en: str, zh: str) -> None:
        found.append(Problem(en, zh, file=pack.pack_file, line=line_at(document, ["presentation", *where]),
                             path=".".join(str(s) for s in ["presentation", *where])))

    def known(path: str, where: list[str | int], groups: bool = False) -> bool:
        if path in paths or (groups and path in objects):
            return True
        choices = [*paths, *(objects if groups else ())]
        hint = difflib.get_close_matches(path, choices, n=1)
        fail(where, f"the pack has no output '{path}'" + (f"; did you mean '{hint[0]}'?" if hint else ""),
             f"规则包没有输出 '{path}'" + (f"；是否是 '{hint[0]}'？" if hint else ""))
        return False

    for path, shown in declared.get("outputs", {}).items():
        if not known(path, ["outputs", path], groups=True):
            continue
        _check_shown(pack, path, paths.get(path, ("object", None)), shown, ["outputs", path], fail)
    if found:
        return found  # the kinds below come from the declarations just refused
    info = presentation.build(pack).outputs

    def of_kind(path: str, kinds: tuple[str, ...], where: list[str | int], role: str, role_zh: str) -> None:
        if known(path, where) and info[path].kind not in kinds:
            fail(where, f"'{path}' is a {info[path].kind}; {role} must be {' or '.join(kinds)}",
                 f"'{path}' 的类型是 {info[path].kind}，{role_zh}必须是 {' 或 '.join(kinds)}")

    for i, path in enumerate(declared.get("headline", ())):
        known(path, ["headline", i], groups=True)
    for s, section in enumerate(declared.get("sections", ())):
        for i, path in enumerate(section["outputs"]):
            known(path, ["sections", s, "outputs", i], groups=True)
    names: set[str] = set()
    for a, agg in enumerate(declared.get("summary", ())):
        if agg["name"] in names:
            fail(["summary", a, "name"], f"two summary lines are named '{agg['name']}'",
                 f"汇总项名称 '{agg['name']}' 重复")
        names.add(agg["name"])
        if "sum" in agg:
            of_kind(agg["sum"], SUMMABLE, ["summary", a, "sum"], "a sum", "求和项")
        if "by" in agg:
            of_kind(agg["by"], GROUPABLE, ["summary", a, "by"], "'by'", "分组项")
        for path, value in agg.get("where", {}).items():
            where: list[str | int] = ["summary", a, "where", path]
            if known(path, where):
                _check_condition(info[path], value, where, fail)
    impact = declared.get("impact", {})
    for i, path in enumerate(impact.get("amounts", ())):
        of_kind(path, ("amount",), ["impact", "amounts", i], "an impact amount", "影响测算的金额")
    for i, path in enumerate(impact.get("flags", ())):
        of_kind(path, ("flag",), ["impact", "flags", i], "an impact flag", "影响测算的条件")
    if "movers" in impact:
        of_kind(impact["movers"]["by"], ("amount",), ["impact", "movers", "by"], "movers' 'by'", "变动排序依据")
    return found


def _check_shown(pack: RulePack, path: str, shape: tuple[str, Any], shown: dict[str, Any],
                 where: list[str | int], fail: Any) -> None:
    kind = shown.get("kind")
    if shape[0] == "object":
        extra = sorted(set(shown) - {"label"})
        if extra:
            fail([*where, extra[0]], f"'{path}' is an object of outputs: only its 'label' can be declared here",
                 f"'{path}' 是一组输出，这里只能声明 label")
        return
    if shape[0] == "list" and kind not in (None, "list"):
        fail([*where, "kind"], f"'{path}' is one row per entity: its kind is list, not {kind}",
             f"'{path}' 是逐个对象的列表，类型只能是 list")
    elif shape[0] != "list" and kind == "list":
        fail([*where, "kind"], f"'{path}' is a single value, not a list", f"'{path}' 是单个值，不是列表")
    if "fields" in shown:
        if shape[0] != "list":
            fail([*where, "fields"], f"'{path}' has no rows: 'fields' are for list outputs",
                 f"'{path}' 不是列表，不能声明 fields")
        else:
            for name, sub in shown["fields"].items():
                if name not in shape[1]["fields"]:
                    hint = difflib.get_close_matches(name, list(shape[1]["fields"]), n=1)
                    fail([*where, "fields", name], f"the list '{path}' has no field '{name}'"
                         + (f"; did you mean '{hint[0]}'?" if hint else ""), f"列表 '{path}' 没有字段 '{name}'")
                else:
                    _check_shown(pack, f"{path}.{name}", ("field", None), sub, [*where, "fields", name], fail)
    if "codes" in shown and shown["codes"] not in pack.codes:
        fail([*where, "codes"], f"no code list '{shown['codes']}' in the pack's codes",
             f"规则包的代码表中没有 '{shown['codes']}'")
    if ("values" in shown or "codes" in shown) and kind not in (None, "category", "flag", "text"):
        fail([*where, "values"], f"'{path}' is a {kind}: only categories have named values",
             f"'{path}' 的类型是 {kind}，只有分类可以为取值命名")


def _check_condition(info: presentation.OutputInfo, value: Any, where: list[str | int], fail: Any) -> None:
    if info.kind == "flag" and not isinstance(value, bool):
        fail(where, f"'{info.path}' is true or false, not {value!r}", f"'{info.path}' 只能是 true 或 false")
    elif info.kind == "category" and info.values and str(value) not in info.values:
        fail(where, f"'{info.path}' has no value {value!r}; its values: {', '.join(info.values)}",
             f"'{info.path}' 没有取值 {value!r}，可取 {'、'.join(info.values)}")
    elif info.kind == "list":
        fail(where, f"'{info.path}' is a list: a condition needs a single value", f"'{info.path}' 是列表，不能作条件")
