"""Shared fixtures: the Hunan pack loaded once, and paths to the test data."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load_pack

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """Give hypothesis back its printer of a failing example: schemathesis's pytest plugin swaps it for one
    that prints nothing (a speed-up for its own fuzzing), which left every failing property test here
    reporting ``Failing test case: test(case=,)``; tests/test_property_reports.py checks the example shows."""
    from hypothesis import core
    from hypothesis.vendor import pretty

    core.RepresentationPrinter = pretty.RepresentationPrinter


HUNAN = ROOT / "rules" / "hunan"


@pytest.fixture(scope="session")
def pack():
    """The shipped Hunan rule pack, loaded and compiled once per test session."""
    return load_pack(HUNAN)


@pytest.fixture()
def db():
    """An in-memory database with the Hunan pack imported as version 1."""
    from engine import versions
    from engine.store import open_db

    database = open_db(":memory:")
    versions.import_folder(database, HUNAN, "test")
    return database
