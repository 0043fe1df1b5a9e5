"""Strict YAML reading: duplicate keys, bad syntax and tabs become errors with file and line.

Mappings are returned as ``Node`` dicts that remember the line of every key, so that later
checks (schemas, cross-document constraints) can point at the line a person has to edit.
Dates are kept as strings (the implicit timestamp resolver is removed) and checked by the
schemas, so ``2018-02-30`` is reported like any other bad value instead of crashing the parser.
Anchors and aliases (``&x``, ``*x``) are refused at their line: a few hundred bytes of aliases
expand to gigabytes ("billion laughs") in any check that walks the document. A file larger than
``DOUDI_MAX_YAML_BYTES`` (README: limits) is refused unread.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from .errors import Problem, RulePackError
from .inputs import limit, size_text


class Node(dict[str, Any]):
    """A YAML mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps and with duplicate-key detection."""


class _QuickLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same on libyaml's parser (when PyYAML has it): ten times quicker, with terser syntax errors."""


for _loader in (_StrictLoader, _QuickLoader):
    _loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _construct_mapping(loader: yaml.SafeLoader, node: MappingNode) -> Node:
    loader.flatten_mapping(node)
    out = Node()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) or key is None:
            raise ConstructorError(None, None, "mapping keys must be plain text", key_node.start_mark)
        if isinstance(key, int | float | bool):
            raise ConstructorError(
                None, None,
                f"key {key!r} must be text: quote it, e.g. \"{key}\"", key_node.start_mark)
        if key in out:
            raise ConstructorError(
                None, None,
                f"duplicate key {key!r} (first on line {out.key_lines[key]})", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


for _loader in (_StrictLoader, _QuickLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, file: str) -> Any:
    """Parse one YAML document strictly; raise RulePackError naming file and line."""
    check_size(file, len(text.encode("utf-8", "surrogatepass")))
    if "&" in text or "*" in text:  # the quick test: most files have neither
        _refuse_anchors(text, file)
    try:
        return yaml.load(text, Loader=_QuickLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError:
        pass  # read again by PyYAML's own parser, whose errors say more ("found character '\t'")
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or str(exc)
        raise RulePackError(
            f"{file}: invalid YAML",
            [Problem(f"invalid YAML: {what}", f"YAML 格式错误：{what}", file=file, line=line)],
            message_zh=f"{file}：YAML 格式错误",
        ) from None
    except yaml.YAMLError as exc:
        raise RulePackError(f"{file}: invalid YAML: {exc}", [Problem(str(exc), file=file)]) from None


def check_size(file: str, size: int) -> None:
    """RulePackError if one YAML file of ``size`` bytes is over the limit."""
    bound = limit("yaml_file_bytes")
    if size > bound:
        raise RulePackError(
            f"{file}: {size_text(size)}; a YAML file may hold at most {size_text(bound)}",
            [Problem(f"the file is {size_text(size)}; at most {size_text(bound)} (DOUDI_MAX_YAML_BYTES)",
                     f"文件大小 {size_text(size)}，超过上限 {size_text(bound)}", file=file)],
            message_zh=f"{file}：文件过大（上限 {size_text(bound)}）")


def _refuse_anchors(text: str, file: str) -> None:
    """RulePackError at the first anchor or alias (the events only: nothing is expanded or printed)."""
    try:
        for event in yaml.parse(text, Loader=_QuickLoader):
            if getattr(event, "anchor", None) is not None:
                line = event.start_mark.line + 1 if event.start_mark else 1
                raise RulePackError(
                    f"{file}:{line}: YAML anchors and aliases are not allowed",
                    [Problem("YAML anchors and aliases (&name, *name) are not allowed: write the value out "
                             "where it is used", "不允许使用 YAML 锚点和别名（&名称、*名称），请在使用处直接写出取值",
                             file=file, line=line)],
                    message_zh=f"{file}：第 {line} 行使用了 YAML 锚点或别名")
    except yaml.YAMLError:
        return  # bad syntax: parse_yaml reports it with its line


def line_at(document: Any, path: list[str | int]) -> int | None:
    """The line of the deepest mapping key on ``path`` inside a parsed document."""
    line = document.line if isinstance(document, Node) else None
    current = document
    for step in path:
        if isinstance(current, Node) and isinstance(step, str) and step in current:
            line = current.line_of(step)
            current = current[step]
        elif isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current):
            current = current[step]
            if isinstance(current, Node):
                line = current.line
        else:
            break
    return line


def plain(value: Any) -> Any:
    """Drop the line bookkeeping: plain dicts and lists, safe to serialise and to compare."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
