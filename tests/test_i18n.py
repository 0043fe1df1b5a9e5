"""Translations are read into memory at start: the app writes nothing beside its code (a read-only install works)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from conftest import ROOT

from engine import users
from engine.synth import synth_households
from web import create_app
from web.db import get_db, init_db

SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "artifacts"}


def _files(root: Path) -> dict[str, int]:
    """Every file of the checkout (its tools' caches aside) and when it was last written."""
    found = {}
    for here, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP]
        for name in names:
            path = os.path.join(here, name)
            found[path] = os.stat(path).st_mtime_ns
    return found


def test_nothing_is_written_beside_the_code_in_either_language(tmp_path):
    before = _files(ROOT)
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "data" / "doudi.db"), "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": False})
    init_db(app)
    with app.app_context():
        users.add_user(get_db(), None, "xinhua", "secret-pass-1", "caseworker", "431322")
    client = app.test_client()
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "xinhua", "password": "secret-pass-1"})
    assert "家庭核查" in client.get("/check/").get_data(as_text=True)
    client.post("/lang/en", data={"next": "/check/"})
    assert "Household check" in client.get("/check/").get_data(as_text=True)
    roll = "".join(json.dumps(h) + "\n" for h in synth_households(["431322"], 3, seed=1)).encode()
    assert client.post("/batch/", data={"as_of": "2019-06-30", "roll": (io.BytesIO(roll), "r.jsonl")},
                       content_type="multipart/form-data").status_code == 302
    assert _files(ROOT) == before  # the instance folder beside the code included
    assert os.listdir(tmp_path / "data" / "batch")  # the batch files go beside the database
