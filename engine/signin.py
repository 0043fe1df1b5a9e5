"""Sign-in protection: failed sign-ins throttled per account and per address, and server-side sessions.

Both live in the database, so every thread and process of the server sees the same state.

Throttle (table ``sign_in_throttle``, one row per key ``user:<name>`` or ``addr:<address>``): each
attempt is counted before its password is checked, inside one ``BEGIN IMMEDIATE`` transaction, so
that however many attempts arrive at once at most ``limit`` passwords of a key are ever checked in a
window. The last three attempts before a lock are spaced ``backoff`` seconds apart, then twice and
four times as long (``Policy.delay``); at ``limit`` failures within ``window`` seconds a key is locked
for ``lockout`` seconds (audited as ``sign_in.locked``). A refused attempt checks no password
and says nothing about whether the account exists (unknown names are counted like known ones). A
successful sign-in clears its account's count; an administrator can unlock an account early.

Sessions (table ``sessions``): a random id per sign-in, kept in the signed session cookie; only its
sha256 is stored. A session ends at sign-out, after ``lifetime`` seconds, after ``idle`` seconds
without a request, and for every session of a user when their password, role or jurisdiction
changes or their account is disabled.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from .store import audit


@dataclass(frozen=True)
class Policy:
    """The throttle's limits (seconds): see the module's docstring."""

    account_limit: int = 5
    address_limit: int = 20
    window: float = 900.0
    lockout: float = 900.0
    backoff: float = 1.0

    def delay(self, failures: int, limit: int) -> float:
        """How long a key with ``failures`` recent failures waits before its next attempt: its last three
        attempts before the lock wait ``backoff``, twice and four times as long (5 per account: after the
        2nd failure 1 s, the 3rd 2 s, the 4th 4 s; an office sharing one address is not slowed early)."""
        first = max(limit - 3, 1)
        if failures < first or self.backoff <= 0:
            return 0.0
        return float(self.backoff * 2 ** min(failures - first, 2))


@contextlib.contextmanager
def _immediate(db: Database) -> Iterator[None]:
    """One write transaction, taken at its start (so concurrent attempts queue instead of interleaving)."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.execute("COMMIT")


def _keys(username: str, address: str) -> list[tuple[str, str]]:
    return [("user", f"user:{username[:200]}"), ("address", f"addr:{address[:100]}")]


def _limit(policy: Policy, kind: str) -> int:
    return policy.account_limit if kind == "user" else policy.address_limit


def begin_attempt(db: Database, username: str, address: str, policy: Policy) -> float:
    """Count a sign-in attempt before its password is checked; seconds to wait instead (0: go ahead)."""
    with _immediate(db):
        at = time.time()  # once the write lock is held: attempts are counted in the order they get it
        db.execute("delete from sign_in_throttle where locked_until is null and window_start <= ? "
                   "or locked_until <= ?", [at - policy.window, at])  # forgotten: a fresh start
        rows = {}
        for kind, key in _keys(username, address):
            row = db.execute("select failures, last_attempt, locked_until from sign_in_throttle where key = ?",
                             [key]).fetchone()
            if row is not None:
                failures, last, locked = row
                if locked is not None:
                    return float(locked - at)
                limit = _limit(policy, kind)
                if failures >= limit:  # the last allowed attempts are being checked now
                    return max(policy.delay(failures, limit), 1.0)
                if (wait := last + policy.delay(failures, limit) - at) > 0:
                    return wait
            rows[key] = row
        for key, row in rows.items():
            if row is None:
                db.execute("insert or replace into sign_in_throttle (key, failures, window_start, last_attempt, "
                           "locked_until) values (?, 1, ?, ?, null)", [key, at, at])
            else:
                db.execute("update sign_in_throttle set failures = failures + 1, last_attempt = ? where key = ?",
                           [at, key])
    return 0.0


def attempt_failed(db: Database, username: str, address: str, policy: Policy) -> float:
    """Lock each key that has reached its limit (audited once per lock); seconds until the account may retry."""
    locked = []
    with _immediate(db):
        at = time.time()
        for kind, key in _keys(username, address):
            row = db.execute("select failures from sign_in_throttle where key = ? and locked_until is null",
                             [key]).fetchone()
            if row is not None and row[0] >= _limit(policy, kind):
                db.execute("update sign_in_throttle set locked_until = ? where key = ?", [at + policy.lockout, key])
                locked.append((kind, key.split(":", 1)[1], row[0]))
    for kind, name, failures in locked:
        audit(db, username[:200], "sign_in.locked", kind, name,
              f"{failures} failed sign-ins; locked for {policy.lockout:g} s",
              details={"failures": failures, "until": _iso(at + policy.lockout)})
    return policy.lockout if locked else 0.0


def attempt_succeeded(db: Database, username: str, address: str) -> None:
    """The account's failures are forgotten; the address's count no longer holds this attempt."""
    (_, user_key), (_, address_key) = _keys(username, address)
    with _immediate(db):
        db.execute("delete from sign_in_throttle where key = ?", [user_key])
        db.execute("update sign_in_throttle set failures = max(failures - 1, 0) where key = ?", [address_key])


def locked_until(db: Database, username: str) -> float | None:
    """When the account's sign-in lock ends (a Unix time), or None when it is not locked."""
    row = db.execute("select locked_until from sign_in_throttle where key = ?", [_keys(username, "")[0][1]]).fetchone()
    return row[0] if row and row[0] is not None and row[0] > time.time() else None


def unlock(db: Database, actor: str | None, username: str) -> bool:
    """Lift an account's sign-in lock and forget its failures (audited); whether it was locked."""
    was_locked = locked_until(db, username) is not None
    with _immediate(db):
        db.execute("delete from sign_in_throttle where key = ?", [_keys(username, "")[0][1]])
    audit(db, actor, "sign_in.unlock", "user", username, "locked" if was_locked else "not locked")
    return was_locked


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(at))


# -- sessions ----------------------------------------------------------------------------------------


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(db: Database, username: str, lifetime: float, idle: float) -> str:
    """A new session for ``username``: its random id, for the cookie (expired sessions are removed)."""
    at = time.time()
    session_id = secrets.token_urlsafe(32)
    with _immediate(db):
        db.execute("delete from sessions where created_at <= ? or last_seen <= ?", [at - lifetime, at - idle])
        db.execute("insert into sessions (id_hash, username, created_at, last_seen) values (?, ?, ?, ?)",
                   [_hash(session_id), username, at, at])
    return session_id


def session_user(db: Database, session_id: Any, lifetime: float, idle: float) -> str | None:
    """The username of a live session (its last use is noted, once a minute at most), or None."""
    if not isinstance(session_id, str) or not session_id:
        return None
    at = time.time()
    row = db.execute("select username, created_at, last_seen from sessions where id_hash = ?",
                     [_hash(session_id)]).fetchone()
    if row is None:
        return None
    username, created, seen = row
    if created + lifetime <= at or seen + idle <= at:
        end_session(db, session_id)
        return None
    if at - seen >= 60:
        with db.conn:
            db.execute("update sessions set last_seen = ? where id_hash = ?", [at, _hash(session_id)])
    return str(username)


def end_session(db: Database, session_id: Any) -> None:
    """Sign-out: the session is gone (its cookie, copied or not, no longer signs anyone in)."""
    if isinstance(session_id, str):
        with db.conn:
            db.execute("delete from sessions where id_hash = ?", [_hash(session_id)])


def end_sessions(db: Database, username: str) -> int:
    """End every session of ``username``; how many there were."""
    with db.conn:
        return int(db.execute("delete from sessions where username = ?", [username]).rowcount)
