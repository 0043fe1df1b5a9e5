"""The decision page's table of members as recorded: every declared member fact not at its default, named by
the pack's labels (no fact name of any pack in the page's code)."""

from __future__ import annotations

from engine.load import load_pack
from tests.elders import write
from web.views.check_result import members_recorded

HUNAN = load_pack("rules/hunan")


def test_hunan_members_show_their_circumstances_by_the_packs_labels():
    facts = {"members": [
        {"id": "m1", "name": "王五", "relation": "head", "age": 69, "in_prison": False, "student": "none",
         "disability": {"kind": "physical", "grade": 2}, "serious_illness": True, "labour_capable": None,
         "income": {"wages": 1200}},
        {"id": "m2", "relation": "grandchild", "age": 10, "student": "compulsory", "labour_capable": False},
    ]}
    rows = members_recorded(HUNAN, facts, "zh")
    assert rows[0][:4] == ("m1", "王五", "户主", 69)
    assert "肢体" in rows[0][4] and "2" in rows[0][4] and "重病" in rows[0][4]
    assert "服刑" not in rows[0][4] and "1200" not in rows[0][4]  # false flags and the base incomes are left out
    assert rows[1][:4] == ("m2", "", "（外）孙子女", 10)
    assert "义务教育" in rows[1][4] and "否" in rows[1][4]  # an assessed 'no labour capacity' is shown
    english = members_recorded(HUNAN, facts, "en")
    assert english[0][2] == "Head of household" and "Serious illness" in english[0][4]


def test_a_pack_with_base_facts_only_shows_id_name_relation_and_age(tmp_path):
    pack = load_pack(write(tmp_path / "elders"))
    rows = members_recorded(pack, {"members": [{"id": "a", "name": "赵一", "relation": "head", "age": 81}]}, "zh")
    assert rows == [("a", "赵一", "户主", 81, "")]
