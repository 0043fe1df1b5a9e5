"""Shared fixtures: the Hunan pack loaded once, and paths to the test data."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load_pack

ROOT = Path(__file__).resolve().parent.parent
HUNAN = ROOT / "rules" / "hunan"


@pytest.fixture(scope="session")
def pack():
    """The shipped Hunan rule pack, loaded and compiled once per test session."""
    return load_pack(HUNAN)
