"""Run a draft's evaluation in a child process with a time and a memory limit.

Why a process: durable-rules matches in C without releasing the GIL, and so does Python's own
arithmetic on huge numbers. A draft rule that makes either run for minutes (the declared limits in
``limits`` keep the known ones out; this is the second line) would stop every thread of the web
server, the sign-in page included. A thread cannot be stopped; a process can be killed.

How: multiprocessing's ``forkserver`` context. The web server is multithreaded, and a plain fork
from a request thread copies the locks other threads hold (durable_backend's, sqlite's, logging's)
in whatever state they are in. The fork server is a single-threaded process started once, with the
engine preloaded, so a job starts in milliseconds. In the child, ``RLIMIT_AS`` caps the memory and
``RLIMIT_CPU`` the processor time; the parent waits for the result up to the wall-clock limit, then
kills the child and joins it (no zombie). The result, or the ``DoudiError`` the job raised, comes
back pickled through a pipe as plain data (dataclasses, dicts). Any other failure of the child
(its memory exhausted, a crash in C) becomes an error naming the draft. At most ``Budget.workers``
children run at once; a job waits for a free one within its own time.

The jobs are the functions below; the caller passes the files of the packs, so the child needs
nothing but its arguments (no database). It works the same from the CLI and from the web server.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from . import limits
from .errors import DoudiError, LimitExceeded

T = TypeVar("T")

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["engine.load", "engine.evaluate", "engine.compare", "engine.policy_tests"])
_SLOTS: dict[int, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Budget:
    """What one evaluation of a draft may take: wall-clock seconds, memory (MB), children at once."""

    seconds: float = 60.0
    memory_mb: int = 1024
    workers: int = 2


def run(job: Callable[..., T], *args: Any, budget: Budget, what: str, what_zh: str) -> T:
    """``job(*args)`` in a child process within ``budget``; LimitExceeded names ``what`` and the limit."""
    started = time.monotonic()
    slot = _slot(budget.workers)
    if not slot.acquire(timeout=budget.seconds):
        raise _exceeded("time", budget, what, what_zh, busy=True)
    try:
        left = max(budget.seconds - (time.monotonic() - started), 0.1)
        return _run(job, args, budget, left, what, what_zh)
    finally:
        slot.release()


def _slot(workers: int) -> threading.BoundedSemaphore:
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(max(workers, 1), threading.BoundedSemaphore(max(workers, 1)))


def _run(job: Callable[..., T], args: tuple[Any, ...], budget: Budget, seconds: float, what: str,
         what_zh: str) -> T:
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_child, args=(sender, job, args, budget, seconds, limits.current()),
                             name=f"doudi-draft {what}", daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise _exceeded("time", budget, what, what_zh)
        try:
            kind, payload = receiver.recv()
        except EOFError:  # the child died without an answer: killed by its limits, or a crash in C
            child.join(1)
            raise _died(child.exitcode, budget, what, what_zh) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receiver.close()
    if kind == "ok":
        result: T = payload
        return result
    if kind == "error":
        raise payload
    if kind == "memory":
        raise _exceeded("memory", budget, what, what_zh)
    raise LimitExceeded(f"{what} could not be evaluated: {payload}", message_zh=f"{what_zh}无法计算：{payload}")


def _child(sender: Any, job: Callable[..., Any], args: tuple[Any, ...], budget: Budget, seconds: float,
           rule_limits: limits.Limits) -> None:
    memory = budget.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(seconds) + 2  # the parent kills at ``seconds``; this stops a child the parent lost
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        with limits.enforced(rule_limits):
            answer: tuple[str, Any] = ("ok", job(*args))
    except DoudiError as exc:
        answer = ("error", exc)
    except MemoryError:
        answer = ("memory", None)
    except Exception as exc:  # noqa: BLE001 - anything else is reported, shortened, never raised here
        answer = ("failed", f"{type(exc).__name__}: {str(exc)[:300]}")
    try:
        sender.send(answer)
    except MemoryError:
        sender.send(("memory", None))
    finally:
        sender.close()


def _exceeded(limit: str, budget: Budget, what: str, what_zh: str, busy: bool = False) -> LimitExceeded:
    if limit == "memory":
        message = f"{what}: the evaluation needed more than {budget.memory_mb} MB of memory and was stopped"
        message_zh = f"{what_zh}：计算所需内存超过 {budget.memory_mb} MB，已停止"
    elif busy:
        message = (f"{what}: no evaluation worker became free within {budget.seconds:g} s "
                   "(other drafts are being evaluated); try again later")
        message_zh = f"{what_zh}：{budget.seconds:g} 秒内没有空闲的计算进程（正在计算其他草稿），请稍后再试"
    else:
        message = (f"{what}: the evaluation took longer than {budget.seconds:g} s and was stopped; "
                   "simplify the draft's rules or evaluate fewer households")
        message_zh = f"{what_zh}：计算超过 {budget.seconds:g} 秒，已停止；请简化草稿的规则或减少家庭数"
    details = {"limit": limit, "seconds": budget.seconds, "memory_mb": budget.memory_mb}
    from .errors import Problem
    return LimitExceeded(message, [Problem(message, message_zh, path=limit, details=details)], message_zh=message_zh)


def _died(exitcode: int | None, budget: Budget, what: str, what_zh: str) -> LimitExceeded:
    import signal

    if exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
        return _exceeded("time", budget, what, what_zh)
    # an allocation refused by RLIMIT_AS inside C code ends the child without a Python MemoryError
    return _exceeded("memory", budget, what, what_zh)


# -- the jobs: module-level functions of plain arguments ------------------------------------------------


def impact_of_files(old: dict[str, str], new: dict[str, str], households: list[dict[str, Any]], as_of: dt.date,
                    top: int | None) -> Any:
    """The impact report of two packs given as files (``impact.impact``)."""
    from .impact import impact
    from .load import load_files

    return impact(load_files(old), load_files(new), households, as_of, top=top)


def policy_tests_of_files(files: dict[str, str]) -> list[Any]:
    """The results of a pack's policy tests, the pack given as files (``policy_tests.run_tests``)."""
    from .load import load_files
    from .policy_tests import run_tests

    return run_tests(load_files(files))
