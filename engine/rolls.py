"""Rolls of households as files: JSONL or CSV in (``doudi batch``; CSV results: ``roll_output.py``).

JSONL: one household (SPEC §6) per line; blank lines are skipped.

CSV: one row per member, rows of one household one after another, with a header row. Household
columns are read from a household's first row (later rows may leave them empty):

    household_id, county, registered_poor, enrolled, last_review,
    farm_net, other_income, deposits, car, dilapidated, disaster_damaged, renovated,
    medical_claims, medical_aid_paid_ytd, incidents        (the last three as JSON text)
    member_id, name, relation, age, in_prison, student, disability_kind, disability_grade,
    serious_illness, labour_capable, wages, business, property, transfer, basic_pension, excluded

Empty cells are absent facts; yes/no cells take true/false, 1/0 or 是/否. Only ``household_id``,
``county``, ``member_id`` and ``age`` are required columns.
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
from .inputs import limit, read_json, size_text

T = TypeVar("T")

HOUSEHOLD_COLUMNS = {
    "household_id": ("household_id",), "county": ("county",), "registered_poor": ("registered_poor",),
    "enrolled": ("enrolled",), "last_review": ("last_review",), "farm_net": ("household_income", "farm_net"),
    "other_income": ("household_income", "other"), "deposits": ("assets", "deposits"), "car": ("assets", "car"),
    "dilapidated": ("housing", "dilapidated"), "disaster_damaged": ("housing", "disaster_damaged"),
    "renovated": ("housing", "renovated"),
}
JSON_COLUMNS = ("medical_claims", "medical_aid_paid_ytd", "incidents")
MEMBER_COLUMNS = {
    "member_id": ("id",), "name": ("name",), "relation": ("relation",), "age": ("age",),
    "in_prison": ("in_prison",), "student": ("student",), "disability_kind": ("disability", "kind"),
    "disability_grade": ("disability", "grade"), "serious_illness": ("serious_illness",),
    "labour_capable": ("labour_capable",), "wages": ("income", "wages"), "business": ("income", "business"),
    "property": ("income", "property"), "transfer": ("income", "transfer"),
    "basic_pension": ("income", "basic_pension"), "excluded": ("income", "excluded"),
}
_BOOLEAN = {"registered_poor", "enrolled", "dilapidated", "disaster_damaged", "renovated", "in_prison",
            "serious_illness", "labour_capable"}
_NUMBER = {"farm_net", "other_income", "deposits", "age", "disability_grade", "wages", "business", "property",
           "transfer", "basic_pension", "excluded"}
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


def read_records(path: Path) -> Iterator[Record]:
    """Records of a roll file, streamed (CSV when the name ends in .csv, else JSONL)."""
    if path.suffix.lower() == ".csv":
        yield from _read_csv(path)
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
    for _ in _read_csv(path):
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
    return sum(1 for _ in _read_csv(path))


def _read_jsonl(path: Path) -> Iterator[Record]:
    for block in jsonl_slices(path, 1000):
        yield from slice_records(path, *block)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # NaN and Infinity are not numbers; built once


def _bad(line: int, path: str, message: str, zh: str) -> HouseholdError:
    return HouseholdError(f"line {line}: {path}: {message}", [Problem(message, zh, path=path)],
                          message_zh=f"第 {line} 行：{zh}")


def _read_csv(path: Path) -> Iterator[Record]:
    """The households of a CSV roll; InvalidInput at the line where it stops being UTF-8 text or CSV."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        try:
            yield from _csv_households(reader)
        except UnicodeDecodeError:
            raise _unreadable(path, reader.line_num + 1) from None
        except csv.Error as exc:  # e.g. a field over csv's 128 KiB limit, a NUL byte
            raise _unreadable(path, reader.line_num, f"not well-formed CSV ({exc})") from None


def _csv_households(reader: csv.DictReader[str]) -> Iterator[Record]:
    header = reader.fieldnames or []
    missing = [c for c in ("household_id", "county", "member_id", "age") if c not in header]
    unknown = [c for c in header if c not in HOUSEHOLD_COLUMNS and c not in MEMBER_COLUMNS
               and c not in JSON_COLUMNS]
    if missing or unknown:
        msg = (f"missing columns {', '.join(missing)}; " if missing else "") + \
              (f"unknown columns {', '.join(quoted(c, 40) for c in unknown[:10])}" if unknown else "")
        yield Record(1, None, _bad(1, "(header)", msg.strip("; "), "CSV 表头错误"))
        return
    group: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        number = reader.line_num
        if group and row.get("household_id") != group[0][1].get("household_id"):
            yield _household(group)
            group = []
        group.append((number, row))
    if group:
        yield _household(group)


def _household(rows: list[tuple[int, dict[str, str]]]) -> Record:
    first_line, first = rows[0]
    hid = first.get("household_id") or None
    try:
        household: dict[str, Any] = {}
        for column, path in HOUSEHOLD_COLUMNS.items():
            _put(household, path, _cell(first, column, first_line))
        for column in JSON_COLUMNS:
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
            for column, path in MEMBER_COLUMNS.items():
                _put(member, path, _cell(row, column, line))
            members.append(member)
        household["members"] = members
        return Record(first_line, household, None, hid)
    except HouseholdError as exc:
        return Record(first_line, None, exc, hid)


def _cell(row: dict[str, str], column: str, line: int) -> Any:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    if column in _BOOLEAN:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise _bad(line, column, f"{quoted(text)} is not yes/no (true/false, 1/0, 是/否)", f"{quoted(text)} 不是 是/否")
    if column in _NUMBER:
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
