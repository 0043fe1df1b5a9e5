"""Untrusted input within bounds: the size limits, JSON read with bounded nesting and finite numbers only,
and whole numbers typed as text.

Anything a person sends (a rule file, a household, a roll, a request body) is refused with the
documented bad-input error once it passes a limit, never handed on to a parser or to SQLite that
would choke on it. The limits are set by environment variables (README: limits); the web app's own
limits (request bodies, uploads) are Flask settings of the same names.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

from .errors import InvalidInput, Problem, quoted

# name → (environment variable, default): read on every use, so that a test or an operator can change them
LIMITS = {
    "yaml_file_bytes": ("DOUDI_MAX_YAML_BYTES", 512 * 1024),  # one YAML file of a pack or a draft
    "pack_bytes": ("DOUDI_MAX_PACK_BYTES", 8 * 1024 * 1024),  # all the YAML files of a pack together
    "json_bytes": ("DOUDI_MAX_JSON_BYTES", 1024 * 1024),  # a household JSON file given to 'doudi eval'
    "record_bytes": ("DOUDI_MAX_RECORD_BYTES", 1024 * 1024),  # one line of a JSONL roll
}
MAX_DEPTH = 32  # arrays and objects nested in one JSON document (a household needs 4)
MAX_ID = 999_999_999  # the largest id, version number or revision a request may name (9 digits)
_WHOLE = re.compile(r"[0-9]{1,9}")


def limit(name: str) -> int:
    """The limit ``name`` of LIMITS: its environment variable if set to a whole number, else the default."""
    variable, default = LIMITS[name]
    text = os.environ.get(variable, "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 15 else default


def size_text(n: int) -> str:
    """A byte count as people read it: 512 KiB, 8 MiB."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % (size // 4) == 0:
            return f"{n / size:g} {unit}"
    return f"{n:,} bytes"


def too_large(what: str, what_zh: str, size: int, bound: int, *, file: str | None = None,
              path: str | None = None) -> InvalidInput:
    """The error for input over a size limit, naming the limit and how to change it."""
    return InvalidInput(
        f"{what} is {size_text(size)}; at most {size_text(bound)}",
        [Problem(f"{what} is {size_text(size)}; at most {size_text(bound)}",
                 f"{what_zh}大小为 {size_text(size)}，上限 {size_text(bound)}", file=file, path=path)],
        message_zh=f"{what_zh}过大（上限 {size_text(bound)}）")


def whole_number(text: str | None) -> int | None:
    """``text`` as a whole number of at most 9 ASCII digits, else None (``'²'.isdigit()`` is true; this is not)."""
    return int(text) if text is not None and _WHOLE.fullmatch(text) else None


def id_number(text: str) -> int:
    """``whole_number`` for Werkzeug's ``request.args.get(name, default, type=id_number)``: ValueError otherwise."""
    value = whole_number(text)
    if value is None:
        raise ValueError(f"{quoted(text)} is not a whole number of at most 9 digits")
    return value


def read_json(text: str | bytes, source: str) -> Any:
    """JSON text as data; InvalidInput naming ``source`` and where, for bad syntax, nesting deeper than
    MAX_DEPTH, numbers Python cannot hold (5,000 digits) and NaN or infinities (``1e999``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                   f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}") from None
    except UnicodeDecodeError:
        raise _bad(source, "not UTF-8 text", "不是 UTF-8 编码的文本") from None
    except RecursionError:
        raise _bad(source, f"nested more than {MAX_DEPTH} levels deep", f"嵌套超过 {MAX_DEPTH} 层") from None
    except ValueError as exc:  # Python's limit on the digits of an integer (4,300)
        raise _bad(source, f"a number too long to read ({str(exc).split(':')[0]})", "数字位数过多，无法读取") \
            from None
    except MemoryError:
        raise _bad(source, "too large to read", "内容过大，无法读取") from None
    found = check_json(data)
    if found:
        path, en, zh = found
        raise InvalidInput(f"{source}: {path}: {en}", [Problem(en, zh, path=path)],
                           message_zh=f"{source}：{path}：{zh}")
    return data


def check_json(data: Any) -> tuple[str, str, str] | None:
    """The first place where parsed JSON nests deeper than MAX_DEPTH or holds NaN or an infinity, as
    (path, English, Chinese), or None. Iterative: a deep document cannot exhaust the stack here."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return path or "(document)", f"{node!r} is not a finite number", f"{node!r} 不是有效数字"
        if isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                return (path or "(document)", f"nested more than {MAX_DEPTH} levels deep",
                        f"嵌套超过 {MAX_DEPTH} 层")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in reversed(list(items)):
                name = key if isinstance(key, int) or len(key) <= 40 else key[:39] + "…"
                step = f"[{name}]" if isinstance(key, int) else (f".{name}" if path else name)
                stack.append((value, path + step, depth + 1))
    return None


def _bad(source: str, message: str, zh: str) -> InvalidInput:
    return InvalidInput(f"{source}: {message}", [Problem(message, zh, file=source)], message_zh=f"{source}：{zh}")
