"""Results of a roll as CSV: one row per household, a column per output the pack declares.

Columns: ``line, household_id, county, as_of, status``, then every output path of the pack in declared
order (an object output's fields as dotted columns ``object.field``, a list output as JSON text), then
``rule_digest, error_path, error_message``. Flags are ``true``/``false``, amounts plain numbers and
categories their codes; the header may name the columns by their Chinese or English labels instead.
A results file is read back (``record_of_row``) to summarise the records a resumed run keeps.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from . import presentation
from .decision import dumps
from .model import RulePack, Text

HEAD = ("line", "household_id", "county", "as_of", "status")
TAIL = ("rule_digest", "error_path", "error_message")
COLUMN_LABELS = {
    "line": Text("行号", "Line"), "household_id": Text("户编号", "Household id"),
    "county": Text("县（市、区）", "County"), "as_of": Text("核查日期", "As of"), "status": Text("状态", "Status"),
    "rule_digest": Text("规则版本摘要", "Rule digest"), "error_path": Text("错误字段", "Error field"),
    "error_message": Text("错误信息", "Error message"),
}
LANGUAGES = ("zh", "en")
NUMBERS = ("amount", "count", "number", "percent")


def output_columns(pack: RulePack) -> tuple[str, ...]:
    """The column names of the pack's CSV results."""
    return (*HEAD, *presentation.of(pack).outputs, *TAIL)


def column_labels(pack: RulePack, lang: str) -> tuple[str, ...]:
    """The columns by their labels in ``lang`` (an output whose label repeats another's is told by its path)."""
    shown = presentation.of(pack).outputs
    out: list[str] = []
    for column in output_columns(pack):
        info = shown.get(column)
        text = getattr(COLUMN_LABELS[column] if info is None else info.label, lang)
        out.append(text if text not in out else f"{text}（{column}）")
    return tuple(out)


def output_csv_header(pack: RulePack, labels: str | None = None) -> str:
    """The header row of a CSV results file: column names, or labels in ``labels`` (zh or en)."""
    return _csv_line(column_labels(pack, labels) if labels else output_columns(pack))


def output_csv_row(pack: RulePack, record: dict[str, Any]) -> str:
    """One output record as a CSV row (amounts as numbers, flags true/false, lists as JSON text)."""
    head = [record["line"], record.get("household_id", "")]
    if "error" in record:
        first = record["error"]["details"][0] if record["error"]["details"] else {"path": "", "message": ""}
        cells = [*head, "", "", "error", *([""] * len(presentation.of(pack).outputs)), "", first["path"],
                 record["error"]["message"]]
        return _csv_line([_text(c) for c in cells])
    outputs = record["outputs"]
    values = [_cell(presentation.value_at(outputs, path)) for path in presentation.of(pack).outputs]
    return _csv_line([*(_text(c) for c in head), _text(record["county"]), record["as_of"], "ok", *values,
                      record["rule_version"]["digest"], "", ""])


def record_of_row(pack: RulePack, header: list[str], row: list[str]) -> dict[str, Any]:
    """An output record as far as a CSV results row gives it back: county and outputs, or an error."""
    names = dict(zip(header, row, strict=False))
    columns = output_columns(pack)
    if not set(columns) <= set(header):  # a header of labels: the columns in order
        for lang in LANGUAGES:
            if list(column_labels(pack, lang)) == header:
                names = dict(zip(columns, row, strict=False))
    if names.get("status") == "error":
        return {"line": names.get("line"), "error": {"message": names.get("error_message", "")}}
    outputs: dict[str, Any] = {}
    for path, info in presentation.of(pack).outputs.items():
        value = _parse(info, names.get(path, ""))
        head, _sep, tail = path.partition(".")
        if tail:
            outputs.setdefault(head, {})[tail] = value
        else:
            outputs[head] = value
    return {"county": names.get("county", ""), "outputs": outputs}


def _parse(info: presentation.OutputInfo, text: str) -> Any:
    if text == "":
        return None
    if text in ("true", "false") and info.kind in ("flag", "text"):
        return text == "true"
    if info.kind == "list":
        try:
            return json.loads(text)
        except ValueError:
            return None
    if info.kind in NUMBERS:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        return int(number) if number == number.to_integral_value() and "." not in text else number
    return text


def _cell(value: Any) -> str:
    if isinstance(value, list | dict):
        return dumps(value)
    return _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv_line(cells: Any) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()
