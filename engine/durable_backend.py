"""The only module that touches durable-rules: compiled rulesets, sessions, matching.

durable-rules 2.0.28 has traps (see the project notes); this wrapper closes each of them:

* no module-level ``durable.lang`` registry and no ``Host``: rulesets are created directly in the
  C core, once per pack digest, from a JSON string (the definition dict is never mutated);
* no background dispatch threads, no timers: nothing runs behind the caller's back, and every
  pending action of a session is drained synchronously before a call returns;
* facts are asserted (all matching rules fire), never posted (first match only);
* a fact that no rule matches is normal ("no rule fired"), not an exception;
* every session gets a fresh session id from a counter (never the household id: sids are
  looked up by a 32-bit hash) and its state is deleted in ``finally`` (1,024 live sessions max;
  memory and time grow with the facts a session holds); facts are numbered within a session, as
  durable-rules refuses a fact identical to one it holds;
* one lock serialises calls into the C core (it is not thread-safe); use processes for parallelism;
* values arrive as ints, bools, strings or short floats, never Decimal (see conditions.encode_for_durable);
* a rule whose '$or' condition is satisfied by several branches is activated once per branch;
  each (rule, fact) pair is reported once;
* compiled rulesets are kept in a bounded cache and deleted from the core when evicted;
* a condition with more than 15 and/or operators is refused by the core (its expression sequence
  holds 31 entries, two per operator; error 113), and a node of its network with more than 511
  successors makes it loop for ever (a full hash table it probes without end): ``operators`` and
  ``widest`` measure both from a definition, so the loader refuses such a pack (see ``limits``);
* a fact that satisfies more than 64 tests at one level of the network is refused (error 303);
* deleting a session in which no action ever started frees two pointers the core never
  initialised (``context.messages``, ``context.stateFact`` of a fresh state slot): a segfault or
  ``free(): invalid pointer`` whenever the slot's memory was recycled from the C heap. A session
  in which no rule fired (or the assertion failed) therefore asserts a sentinel fact that a
  sentinel rule (added to every ruleset) matches, and runs that action, before it is deleted.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import durable_rules_engine as _core
import orjson

from .errors import EvaluationError

_LOCK = threading.RLock()
_SIDS = itertools.count(1)
_CACHE: OrderedDict[str, _Ruleset] = OrderedDict()
CACHE_SIZE = 16

_RULE = re.compile(r'\{"([^"]+)":')
_KEY = re.compile(r'"k":\s*(\d+)')
_NOT_HANDLED = 1
_OBSERVED = 2
SENTINEL = "doudi_sentinel"  # rule name and fact property: no pack rule is called that or reads it
_SENTINEL_RULE = {"all": [{"m": {SENTINEL: True}}]}


def _json(facts: list[dict[str, Any]]) -> str:
    """Facts as JSON text (orjson: six times quicker than json here; json for integers beyond 64 bits)."""
    try:
        return orjson.dumps(facts).decode()
    except orjson.JSONEncodeError:
        return json.dumps(facts, ensure_ascii=False)


class DurableError(EvaluationError):
    """durable-rules refused a ruleset or a fact: an evaluation error the caller reports like any other (the
    API's 422 ``evaluation_failed``, the CLI's exit status), never an internal error."""


class _Ruleset:
    def __init__(self, name: str, definition: dict[str, Any]):
        self.name = name
        if SENTINEL in definition:
            raise DurableError(f"ruleset {name}: the rule name {SENTINEL} is reserved")
        try:
            self.handle = _core.create_ruleset(name, json.dumps({**definition, SENTINEL: _SENTINEL_RULE},
                                                                ensure_ascii=False))
        except _core.error as exc:
            raise DurableError(f"durable-rules refused ruleset {name}: {exc}") from None


def ruleset(name: str, definition: dict[str, Any]) -> _Ruleset:
    """The registered ruleset ``name`` (created on first use, cached, never redefined)."""
    with _LOCK:
        rs = _CACHE.get(name)
        if rs is None:
            rs = _Ruleset(name, definition)
            _CACHE[name] = rs
            while len(_CACHE) > CACHE_SIZE:
                _, old = _CACHE.popitem(last=False)
                _core.delete_ruleset(old.handle)
        else:
            _CACHE.move_to_end(name)
        return rs


class Session:
    """Working memory in durable-rules for one evaluation (of one household or a chunk of them).

    Facts are asserted into one durable-rules session (state), created at the first ``match`` and
    deleted when the session closes: facts never linger past it (the engine slows down as its
    working memory grows). Each fact gets a key ``k`` unique in the session (durable-rules refuses
    a fact identical to one it holds).
    """

    def __init__(self, rs: _Ruleset):
        self._rs = rs
        self._sid: str | None = None
        self._keys = 0  # facts asserted so far: the next fact's key
        self._acted = False  # an action ran in this session

    def match(self, facts: list[dict[str, Any]]) -> list[tuple[str, int]]:
        """Assert ``facts``; return (rule name, position of the fact in ``facts``) for every rule that fired."""
        if self._sid is None:
            self._sid = f"s{next(_SIDS)}"
        sid, first = self._sid, self._keys
        for n, f in enumerate(facts, first):
            f["sid"] = sid
            f["k"] = n
        self._keys += len(facts)
        handle = self._rs.handle
        fired: list[tuple[str, int]] = []
        try:
            code, state = _core.assert_facts(handle, _json(facts))
        except _core.error as exc:
            raise DurableError(f"durable-rules refused the facts: {exc}") from None
        if code == _OBSERVED:
            raise DurableError("durable-rules saw an identical fact twice (each fact needs a unique key)")
        self._drain(handle, state, fired, first)
        self._acted = self._acted or bool(fired)
        return fired

    def close(self) -> None:
        """Delete the session's state (after running the sentinel's action if no action ever ran)."""
        sid, self._sid = self._sid, None
        if sid is None:
            return
        try:
            if not self._acted:  # no action ran in this session: run the sentinel's before the state goes
                _settle(self._rs.handle, sid)
        finally:
            _core.delete_state(self._rs.handle, sid)
            self._acted = False

    @staticmethod
    def _drain(handle: int, state: int, fired: list[tuple[str, int]], first: int) -> None:
        seen: set[tuple[str, int]] = set()
        result = _core.start_action_for_state(handle, state)
        while result:
            # A message is {"rule": [{"m": fact}, ...]}; decoding every matched fact is the costliest part,
            # so the rule name and the facts' keys are read off the text (the only property that holds a
            # number between '"k":' and a comma or brace is the key: fact values are never objects).
            text = result[1]
            rule_name = _RULE.match(text)
            if rule_name is None:
                raise DurableError(f"unexpected action message from durable-rules: {text[:80]}")
            for key in _KEY.findall(text):
                # durable-rules activates a rule once per satisfied branch of an '$or': fire it once.
                hit = (rule_name[1], int(key) - first)
                if hit not in seen:
                    seen.add(hit)
                    fired.append(hit)
            following = _core.complete_and_start_action(handle, state)
            result = (None, following) if following else None


def _settle(handle: int, sid: str) -> None:
    """Run the actions of session ``sid`` after asserting the sentinel fact (whose rule fires on it), so
    that at least one action has run and the state's action context is set (see the module's docstring)."""
    code, state = _core.assert_fact(handle, f'{{"sid": "{sid}", "{SENTINEL}": true}}')
    result = _core.start_action_for_state(handle, state) if code == 0 else None
    if not result:
        raise DurableError(f"durable-rules did not fire the sentinel rule (code {code})")
    while _core.complete_and_start_action(handle, state):
        pass


@contextmanager
def session(name: str, definition: dict[str, Any]) -> Iterator[Session]:
    """A session of ruleset ``name`` held under the lock (the C core is not thread-safe)."""
    with _LOCK:
        current = Session(ruleset(name, definition))
        try:
            yield current
        finally:
            current.close()


def operators(condition: Any) -> int:
    """The and/or operators durable-rules keeps for a condition (15 at most).

    An ``$and`` directly inside an ``$and`` is flattened (see ``plan._definition``) and costs nothing.
    Conditions share parts (a derived variable's condition is inlined wherever it is read), so parts
    are counted once per identity: the count takes time in the number of distinct parts, never more.
    """
    memo: dict[tuple[int, bool], int] = {}

    def count(node: Any, in_and: bool) -> int:
        key = (id(node), in_and)
        if key not in memo:
            n = 0
            if isinstance(node, dict):
                for op, value in node.items():
                    if op in ("$and", "$or"):
                        n += (0 if op == "$and" and in_and else 1) + sum(count(c, op == "$and") for c in value)
            memo[key] = n
        return memo[key]

    return count(condition, False)


def widest(definition: dict[str, Any], beyond: int | None = None) -> tuple[int, str | None]:
    """The most successors any node of the ruleset's network would have, and the rule that adds the last one
    (with ``beyond``: the rule that first takes a node past ``beyond`` successors, if one does).

    This follows how the core builds its network (``createAlpha``): a test is a node under the node
    before it, shared by every rule with the same test at the same place; each ``$or`` adds a node that
    every alternative links to; each rule links to the node that ends its condition. A node holds its
    successors in a table of 512 entries (rules/README.md, "Limits"). All rules are counted from one
    root (the core has one per fact pattern), which can only over-count.
    """
    nodes: dict[tuple[int, str], int] = {}
    fresh = itertools.count(1)  # node numbers; 0 is the root
    width: dict[int, int] = {}
    widest_at: tuple[int, str | None] = (0, None)
    crossed: str | None = None

    def link(parent: int) -> None:
        nonlocal widest_at, crossed
        width[parent] = width.get(parent, 0) + 1
        if width[parent] > widest_at[0]:
            widest_at = (width[parent], current)
        if beyond is not None and crossed is None and width[parent] > beyond:
            crossed = current

    def build(condition: Any, parent: int) -> int:
        if isinstance(condition, dict) and list(condition) == ["$and"]:
            for part in condition["$and"]:
                parent = build(part, parent)
            return parent
        if isinstance(condition, dict) and list(condition) == ["$or"]:
            forward = next(fresh)  # never shared
            for part in condition["$or"]:
                link(build(part, parent))
            return forward
        key = (parent, json.dumps(condition, sort_keys=True))
        if key not in nodes:
            nodes[key] = next(fresh)
            link(parent)
        return nodes[key]

    current: str | None = None
    for current, body in definition.items():  # noqa: B007 - link() reports the rule being built
        for pattern in body.get("all", []):
            link(build(pattern.get("m", {}), 0))
    return (widest_at[0], crossed) if crossed is not None else widest_at

