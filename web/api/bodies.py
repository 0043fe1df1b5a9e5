"""The request's JSON body, valid against the OpenAPI document's ``components.schemas``."""

from __future__ import annotations

from typing import Any

from flask import request

from engine.errors import InvalidInput
from engine.inputs import read_json

from . import errors
from .contract import request_problems


def body(schema: str) -> dict[str, Any]:
    """The request's JSON object, valid against ``components.schemas[schema]`` of the OpenAPI document."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = read_json(raw, "body")
        except InvalidInput as exc:
            if exc.problems and exc.problems[0].path:  # parsed, but nested too deep or not a finite number
                raise
            raise errors.BadBody(f"the request body is not valid JSON: {exc.problems[0].message}",
                                 "请求内容不是有效的 JSON：" + exc.problems[0].message_zh) from None
    problems = request_problems(schema, data)
    if problems:
        first = problems[0]
        raise InvalidInput(f"{first.path}: {first.message}" if first.path else first.message, problems,
                           message_zh=f"{first.path}：{first.message_zh}" if first.path else first.message_zh)
    out: dict[str, Any] = _whole_numbers(data)
    return out


def _whole_numbers(data: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema counts 1.0 as an integer: so does the server (a version, revision, n or top written 1.0)."""
    for key, value in data.items():
        if isinstance(value, float) and value.is_integer():
            data[key] = int(value)
        elif key == "synthetic" and isinstance(value, dict):
            _whole_numbers(value)
    return data
