"""Shared fixtures: the Hunan pack loaded once, and paths to the test data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import load_pack

ROOT = Path(__file__).resolve().parent.parent
HUNAN = ROOT / "rules" / "hunan"


@pytest.fixture(scope="session")
def pack():
    """The shipped Hunan rule pack, loaded and compiled once per test session."""
    return load_pack(HUNAN)


@pytest.fixture(scope="session")
def public_examples():
    """The 12 worked households of SPEC §9 with every expected output."""
    return json.loads((ROOT / "tests" / "policy" / "public-examples.json").read_text(encoding="utf-8"))
