"""Rolls of households as files: JSONL or CSV in (``doudi batch``; CSV results: ``roll_output.py``).

JSONL: one household (the pack's household schema) per line; blank lines are skipped.

CSV: one row per member, rows of one household one after another, with a header row. The columns come
from the pack's fact declarations (``roll_columns``): a column for each household field and each member
field (an object's fields one column each, named by their ``column:`` or ``parent_name``), and the other
collections and per-member tables as JSON text, one column each under their key. Household columns are
read from a household's first row (later rows may leave them empty). The base model's columns:

    household_id, county, farm_net, other_income, deposits, car,
    member_id, name, relation, age, wages, business, property, transfer, basic_pension, excluded

and after them the pack's own (rules/README.md, Facts; ``roll_columns(pack.facts)`` lists them).

Empty cells are absent facts; yes/no cells take true/false, 1/0 or 是/否. The required fields of the
household and of a member are required columns (``household_id``, ``county``, ``member_id``, ``age``).
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .errors import HouseholdError, InvalidInput, Problem, quoted
from .factsdecl import Facts, base
from .inputs import limit, read_json, size_text

T = TypeVar("T")


@dataclass(frozen=True)
class RollColumns:
    """The CSV roll columns of a pack's facts: column -> path, for the household (first row) and each member."""

    household: dict[str, tuple[str, ...]]
    json: tuple[str, ...]  # collections and per-member tables, as JSON text
    member: dict[str, tuple[str, ...]]
    members: str  # the members' key
    boolean: frozenset[str]
    number: frozenset[str]
    required: tuple[str, ...]


def roll_columns(facts: Facts) -> RollColumns:
    """The CSV columns of a roll of households with these facts."""
    household: dict[str, tuple[str, ...]] = {}
    member: dict[str, tuple[str, ...]] = {}
    json_columns = [f.path for f in facts.leaves() if f.type == "money_by_member"]
    json_columns += [c.key for c in facts.collections if c.scope != "member"]
    kinds: dict[str, str] = {}
    required = []
    for target, leaves, top in ((household, facts.leaves(), facts.household),
                                (member, facts.members.leaves(), facts.members.fields)):
        for f in leaves:
            if f.type != "money_by_member":
                target[f.column] = tuple(f.path.split("."))
                kinds[f.column] = f.type
        required += [f.column for f in top if f.required and f.type != "object"]
    return RollColumns(household, tuple(json_columns), member, facts.members.key,
                       frozenset(c for c, t in kinds.items() if t == "bool"),
                       frozenset(c for c, t in kinds.items() if t in ("money", "number", "int")), tuple(required))


_TRUE, _FALSE = {"true", "1", "yes", "y", "是"}, {"false", "0", "no", "n", "否"}


@dataclass
class Record:
    """One household read from a roll, or the error that stopped it being read."""

    line: int
    household: dict[str, Any] | None
    error: HouseholdError | None = None
    household_id: str | None = None
    text: str | None = None  # a JSONL line not parsed yet

    def parsed(self) -> Record:
        """The record with its JSON text parsed (or the parse error recorded)."""
        if self.text is None:
            return self
        if len(self.text) > limit("record_bytes"):
            return Record(self.line, None, _bad(self.line, "(line)", f"longer than {size_text(limit('record_bytes'))}"
                                                " (DOUDI_MAX_RECORD_BYTES)", "行内容过长"))
        try:
            data = _DECODER.decode(self.text)
        except (json.JSONDecodeError, ValueError) as exc:  # also an integer of 5,000 digits
            return Record(self.line, None, _bad(self.line, "(line)", f"invalid JSON: {str(exc)[:200]}",
                                                "JSON 格式错误"))
        except RecursionError:
            return Record(self.line, None, _bad(self.line, "(line)", "invalid JSON: nested too deep", "JSON 嵌套过深"))
        hid = data.get("household_id") if isinstance(data, dict) else None
        return Record(self.line, data, None, hid if isinstance(hid, str) else None)


def read_records(path: Path, facts: Facts | None = None) -> Iterator[Record]:
    """Records of a roll file, streamed (CSV when the name ends in .csv, else JSONL); a CSV roll's columns
    are those of ``facts`` (the pack's, ``pack.facts``; default: the base model)."""
    if path.suffix.lower() == ".csv":
        yield from _read_csv(path, roll_columns(facts or base()))
    else:
        yield from _read_jsonl(path)


def in_chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), read lazily."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


_READ = 1 << 20  # bytes read at a time when finding the blocks of a roll


def jsonl_slices(path: Path, size: int, skip: int = 0) -> Iterator[tuple[int, int, int]]:
    """A JSONL roll as (number of the first line, byte offset, byte length) of blocks of up to ``size`` lines.

    What ``doudi batch`` hands its workers: they read and decode the bytes themselves
    (``slice_records``), so the parent process neither decodes nor copies the roll. Lines end at
    ``\\n`` only, as ``count_records`` counts them; a blank line is no record.
    """
    with open(path, "rb") as f:
        number = offset = 0
        while skip:
            line = f.readline()
            if not line:
                return
            number, offset = number + 1, offset + len(line)
            if line.strip():
                skip -= 1
        # find the end of every size-th line by searching big buffers (not line by line); the buffer
        # holds the file from the start of the current block, scanned up to ``scanned``
        start, lines, buffer, base, scanned = offset, 0, b"", offset, offset
        while data := f.read(_READ):
            buffer, base = buffer[start - base:] + data, start
            at = scanned - base
            while (end := buffer.find(b"\n", at)) >= 0:
                lines, at = lines + 1, end + 1
                if lines == size:
                    yield number + 1, start, base + at - start
                    number, start, lines = number + lines, base + at, 0
            scanned = base + len(buffer)
        if start < scanned:  # the last block, ending with or without a newline
            yield number + 1, start, scanned - start


def slice_records(path: Path, first: int, offset: int, length: int) -> list[Record]:
    """The records of one block of ``jsonl_slices``."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:  # a line in another encoding (GBK) becomes an error record, never mojibake
        return [_decoded(first + i, line) for i, line in enumerate(data.removesuffix(b"\n").split(b"\n"))
                if line.strip()]
    if data.endswith(b"\n"):
        lines.pop()
    return [Record(first + i, None, text=line) for i, line in enumerate(lines) if line.strip()]  # parsed later


def _decoded(number: int, line: bytes) -> Record:
    try:
        return Record(number, None, text=line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Record(number, None, _bad(number, "(line)", f"not UTF-8 text (byte {exc.start + 1} of the line); "
                                         "save the roll as UTF-8", "不是 UTF-8 编码，请将文件另存为 UTF-8"))


def check_roll(path: Path) -> None:
    """InvalidInput naming the line if a roll cannot be read at all: a JSONL roll whose first line is not
    UTF-8 text or with a NUL byte in its first 64 KiB (GBK, a spreadsheet or another binary file; a later
    bad line becomes an error record), a CSV roll (one table) not UTF-8 anywhere or not well-formed CSV."""
    if path.suffix.lower() != ".csv":
        with open(path, "rb") as f:
            head = f.read(1 << 16)
        first = head.split(b"\n", 1)[0] if b"\n" in head else head
        if b"\0" in head:
            raise _unreadable(path, head.count(b"\n", 0, head.find(b"\0")) + 1)
        try:
            codecs.getincrementaldecoder("utf-8")().decode(first, final=b"\n" in head)
        except UnicodeDecodeError:
            raise _unreadable(path, 1) from None
        return
    decoder, line = codecs.getincrementaldecoder("utf-8")(), 1
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk.replace(b"\0", b"\xff"))  # a NUL byte marks a binary file
            except UnicodeDecodeError as exc:
                raise _unreadable(path, line + chunk.count(b"\n", 0, exc.start)) from None
            line += chunk.count(b"\n")
    for _ in _read_csv(path, None):
        pass


def _unreadable(path: Path, line: int, what: str = "not UTF-8 text") -> InvalidInput:
    return InvalidInput(f"{path.name}: line {line}: {what}; save the roll as UTF-8 JSONL or CSV",
                        [Problem(f"{what}; save the roll as UTF-8 JSONL or CSV",
                                 "文件不是 UTF-8 编码的 JSONL 或 CSV，请另存为 UTF-8", file=path.name, line=line)],
                        message_zh=f"{path.name}：第 {line} 行无法读取（不是 UTF-8 文本）")


def count_records(path: Path) -> int:
    """How many records a roll holds (for a progress bar): lines, or distinct CSV households."""
    if path.suffix.lower() != ".csv":
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    return sum(1 for _ in _read_csv(path, None))


def _read_jsonl(path: Path) -> Iterator[Record]:
    for block in jsonl_slices(path, 1000):
        yield from slice_records(path, *block)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # NaN and Infinity are not numbers; built once


def _bad(line: int, path: str, message: str, zh: str) -> HouseholdError:
    return HouseholdError(f"line {line}: {path}: {message}", [Problem(message, zh, path=path)],
                          message_zh=f"第 {line} 行：{zh}")


def _read_csv(path: Path, columns: RollColumns | None) -> Iterator[Record]:
    """The households of a CSV roll; InvalidInput at the line where it stops being UTF-8 text or CSV.
    Without ``columns`` (counting, checking the encoding) a household's rows are not read into facts."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        try:
            yield from _csv_households(reader, columns)
        except UnicodeDecodeError:
            raise _unreadable(path, reader.line_num + 1) from None
        except csv.Error as exc:  # e.g. a field over csv's 128 KiB limit, a NUL byte
            raise _unreadable(path, reader.line_num, f"not well-formed CSV ({exc})") from None


def _csv_households(reader: csv.DictReader[str], columns: RollColumns | None) -> Iterator[Record]:
    header = reader.fieldnames or []
    missing = [c for c in columns.required if c not in header] if columns else []
    unknown = [c for c in header if c not in columns.household and c not in columns.member
               and c not in columns.json] if columns else []
    if missing or unknown:
        msg = (f"missing columns {', '.join(missing)}; " if missing else "") + \
              (f"unknown columns {', '.join(quoted(c, 40) for c in unknown[:10])}" if unknown else "")
        yield Record(1, None, _bad(1, "(header)", msg.strip("; "), "CSV 表头错误"))
        return
    group: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        number = reader.line_num
        if group and row.get("household_id") != group[0][1].get("household_id"):
            yield _household(group, columns)
            group = []
        group.append((number, row))
    if group:
        yield _household(group, columns)


def _household(rows: list[tuple[int, dict[str, str]]], columns: RollColumns | None) -> Record:
    first_line, first = rows[0]
    hid = first.get("household_id") or None
    if columns is None:
        return Record(first_line, None, None, hid)
    try:
        household: dict[str, Any] = {}
        for column, path in columns.household.items():
            _put(household, path, _cell(columns, first, column, first_line))
        for column in columns.json:
            text = (first.get(column) or "").strip()
            if text:
                try:
                    household[column] = read_json(text, column)
                except InvalidInput as exc:
                    raise _bad(first_line, column, f"invalid JSON in column {column}: {exc.problems[0].message}",
                               f"{column} 列不是有效的 JSON") from None
        members = []
        for line, row in rows:
            member: dict[str, Any] = {}
            for column, path in columns.member.items():
                _put(member, path, _cell(columns, row, column, line))
            members.append(member)
        household[columns.members] = members
        return Record(first_line, household, None, hid)
    except HouseholdError as exc:
        return Record(first_line, None, exc, hid)


def _cell(columns: RollColumns, row: dict[str, str], column: str, line: int) -> Any:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    if column in columns.boolean:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise _bad(line, column, f"{quoted(text)} is not yes/no (true/false, 1/0, 是/否)", f"{quoted(text)} 不是 是/否")
    if column in columns.number:
        try:
            value = float(text)
        except ValueError:
            raise _bad(line, column, f"{quoted(text)} is not a number", f"{quoted(text)} 不是数字") from None
        if not math.isfinite(value):
            raise _bad(line, column, f"{quoted(text)} is not a finite number", f"{quoted(text)} 不是有效数字")
        return int(value) if value.is_integer() and "." not in text else value
    return text


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    if value is None:
        return
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value
