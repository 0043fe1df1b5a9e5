"""The wrapper around durable-rules' C core (engine/durable_backend.py): the traps it closes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import durable_backend

ROOT = Path(__file__).resolve().parent.parent

_DEFINITION = {"r_big": {"all": [{"m": {"$and": [{"stage": 0}, {"x": 1}]}}], "cap": 1000},
               "r_small": {"all": [{"m": {"$and": [{"stage": 0}, {"x": 2}]}}], "cap": 1000}}


def test_match_reports_each_rule_and_fact_position_and_never_the_sentinel():
    with durable_backend.session("test_backend_match", _DEFINITION) as session:
        fired = session.match([{"stage": 0, "x": 1}, {"stage": 0, "x": 2}, {"stage": 0, "x": 3}])
        assert sorted(fired) == [("r_big", 0), ("r_small", 1)]
        assert session.match([{"stage": 0, "x": 3}]) == []
        # facts with the same values are told apart (durable-rules refuses a fact identical to one it holds)
        assert sorted(session.match([{"stage": 0, "x": 2}, {"stage": 0, "x": 2}])) == [("r_small", 0), ("r_small", 1)]


def test_a_session_s_facts_go_with_it():
    with durable_backend.session("test_backend_match", _DEFINITION) as session:
        session.match([{"stage": 0, "x": 1}])
        sid = session._sid
    assert sid is not None and session._sid is None
    with pytest.raises(durable_backend._core.error):  # its state was deleted
        durable_backend._core.delete_state(durable_backend.ruleset("test_backend_match", _DEFINITION).handle, sid)


def test_the_sentinel_rule_name_is_reserved():
    with pytest.raises(durable_backend.DurableError, match="reserved"):
        with durable_backend.session("test_backend_reserved", {durable_backend.SENTINEL: _DEFINITION["r_big"]}):
            pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="dirties glibc's heap through ctypes")
def test_a_session_where_nothing_fires_is_deleted_safely_on_a_dirty_heap():
    # durable-rules 2.0.28 frees two uninitialised pointers when it deletes a session that never
    # started an action; with the C heap full of recycled garbage that crashed the process (SIGSEGV).
    script = textwrap.dedent("""
        import ctypes
        from engine import durable_backend as db
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc.restype = ctypes.c_void_p
        libc.free(ctypes.c_void_p(libc.malloc(32 << 20)))  # raises glibc's mmap threshold
        blocks = [libc.malloc(1 << 20) for _ in range(64)]
        for block in blocks:
            ctypes.memset(block, 0xAB, 1 << 20)
        for block in blocks:
            libc.free(ctypes.c_void_p(block))
        definition = {"r1": {"all": [{"m": {"$and": [{"stage": 0}, {"x": 1}]}}], "cap": 1000}}
        for _ in range(3):
            with db.session("dirty_heap", definition) as session:
                print(session.match([{"stage": 0, "scope": "household", "x": 2}]))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["[]", "[]", "[]"]
