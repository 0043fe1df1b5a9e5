"""The decision page's table of members as recorded: every declared member fact not at its default, named by
the pack's labels (no fact name of any pack in the page's code)."""

from __future__ import annotations

import pytest
from flask import session

from engine.load import load_pack
from tests.elders import write
from web import create_app
from web.views.check_form import members_as_recorded

HUNAN = load_pack("rules/hunan")
MEMBERS = [
    {"id": "m1", "name": "王五", "relation": "head", "age": 69, "in_prison": False, "student": "none",
     "disability": {"kind": "physical", "grade": 2}, "serious_illness": True, "labour_capable": None,
     "income": {"wages": 1200}},
    {"id": "m2", "relation": "grandchild", "age": 10, "student": "compulsory", "labour_capable": False},
]


@pytest.fixture
def app(tmp_path):
    return create_app({"DATABASE": str(tmp_path / "doudi.db"), "SECRET_KEY": "test", "TESTING": True})


def test_hunan_members_show_their_circumstances_by_the_packs_labels(app):
    with app.test_request_context("/"):
        rows = members_as_recorded(HUNAN, MEMBERS)
    (first, relation, notes), (second, relation2, notes2) = rows
    assert first["id"] == "m1" and relation == "户主"
    assert "肢体" in notes and "2" in notes and "重病" in notes
    assert "服刑" not in notes and "1200" not in notes  # false flags and the base incomes are left out
    assert relation2 == "（外）孙子女" and "义务教育" in notes2 and "否" in notes2  # an assessed 'no' is shown
    with app.test_request_context("/"):
        session["lang"] = "en"
        english = members_as_recorded(HUNAN, MEMBERS)
    assert english[0][1] == "Head of household" and "Serious illness" in english[0][2]


def test_a_pack_with_base_facts_only_shows_relation_and_nothing_else(app, tmp_path):
    pack = load_pack(write(tmp_path / "elders"))
    with app.test_request_context("/"):
        rows = members_as_recorded(pack, [{"id": "a", "name": "赵一", "relation": "head", "age": 81}])
    assert [(m["id"], relation, notes) for m, relation, notes in rows] == [("a", "户主", "")]
