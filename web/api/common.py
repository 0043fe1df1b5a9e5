"""What the API's route modules share: the mark of a public view, the caller, query parameters.

Each route module (``audit``, ``compare``, … ``versions``) has its own blueprint, nested in the
``api`` blueprint that ``web.api.blueprint`` makes (token authentication, one error shape); the
modules import their helpers from here and from ``bodies``, never from the package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from engine.errors import InvalidInput, Problem, quoted
from engine.inputs import MAX_ID, whole_number
from engine.users import User

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark a view as open to anyone (no token): the OpenAPI document and the schemas."""
    view.public = True  # type: ignore[attr-defined]
    return view


def current_user() -> User:
    """The user the request's token belongs to."""
    user: User = g.user
    return user


def arg_int(name: str, default: int | None = None, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """A whole-number query parameter (ASCII digits, at most ``maximum``); InvalidInput naming it otherwise."""
    text = request.args.get(name)
    if text is None or text == "":
        return default
    value = whole_number(text)
    if value is None or value < minimum or value > maximum:
        bounds = f"{minimum}…{maximum}"
        raise InvalidInput(f"{name}: {quoted(text)} is not a whole number {bounds}",
                           [Problem(f"{quoted(text)} is not a whole number {bounds}",
                                    f"{quoted(text)} 不是有效的整数（{bounds}）", path=name)],
                           message_zh=f"参数 {name} 无效")
    return value
