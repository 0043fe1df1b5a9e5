"""The household check form comes from the facts the pack declares: a pack's own member field and collection
appear on the form with their Chinese labels, and the posted form is read back into the JSON its schema accepts."""

from __future__ import annotations

import elders
import pytest
from test_web_cases import page_text

from engine import decisions, users
from web import create_app
from web.db import get_db, init_db

PASSWORD = "secret-pass-1"
FACTS = """\
kind: facts
household:
  heated: {type: bool, default: false, label: {zh: 已通暖气, en: Heated home}}
member:
  lives_alone: {type: bool, default: false, label: {zh: 独居, en: Lives alone}}
collections:
  visits:
    scope: visit
    name: visits
    label: {zh: 走访记录, en: Visits}
    item_label: {zh: 走访, en: Visit}
    max_items: 10
    fields:
      member: {type: member, required: true, label: {zh: 被走访成员, en: Member visited}}
      kind:
        type: enum
        required: true
        label: {zh: 走访方式, en: Kind of visit}
        values: {home: {zh: 入户走访, en: Home visit}, phone: {zh: 电话回访, en: Phone call}}
      date: {type: date, required: true, label: {zh: 走访日期, en: Date of the visit}}
"""


@pytest.fixture()
def client(tmp_path):
    folder = elders.write(tmp_path / "elders")
    (folder / "facts.yaml").write_text(FACTS, encoding="utf-8")
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "SECRET_KEY": "t", "RULES": str(folder),
                      "WTF_CSRF_ENABLED": False, "BATCH_FOLDER": str(tmp_path / "batch")})
    init_db(app)
    with app.app_context():
        users.add_user(get_db(), None, "east", PASSWORD, "caseworker", "990101", "东县经办")
    c = app.test_client()
    assert c.post("/login", data={"username": "east", "password": PASSWORD}).status_code == 302
    c.application = app
    return c


def test_the_packs_own_facts_are_on_the_form_in_chinese(client):
    page = client.get("/check/")
    body, text = page.get_data(as_text=True), page_text(page)
    assert 'name="members[0].lives_alone" type="checkbox"' in body and "独居" in text
    assert "已通暖气" in text and 'name="heated"' in body
    assert "走访记录" in text and "走访 1" in text and 'name="visits[0].date"' in body
    assert '<option value="home" >入户走访</option>' in body and "电话回访" in text
    assert 'data-add="visits"' in body and '<template id="visits-template">' in body
    form = body.split('<form method="post"')[1].split("{% endblock")[0]
    for hunan in ("低保", "病种", "突发事件", "建档立卡", "住房", "medical_claims", "incidents", "HN-"):
        assert hunan not in form, hunan


def test_a_posted_form_gives_the_json_the_packs_schema_accepts(client):
    response = client.post("/check/", data={
        "household_id": "T-1", "county": "990101", "as_of": "2026-01-01",
        "members[0].id": "m1", "members[0].age": "82", "members[0].lives_alone": "1",
        "members[1].id": "m2", "members[1].age": "40", "members[2].id": "m3",  # an empty row: skipped
        "visits[0].member": "m1", "visits[0].kind": "home", "visits[0].date": "2025-12-01",
        "visits[1].kind": "", "visits[1].date": ""})
    assert response.status_code == 302, page_text(response)[:800]
    with client.application.app_context():
        stored = decisions.get(get_db(), int(response.location.rsplit("/", 1)[1]))
    assert stored["facts"] == {"household_id": "T-1", "county": "990101",
                               "members": [{"id": "m1", "age": 82, "lives_alone": True}, {"id": "m2", "age": 40}],
                               "visits": [{"member": "m1", "kind": "home", "date": "2025-12-01"}]}
    assert stored["outputs"]["allowance_monthly"] == 150
    # stored facts fill the form again; a half-filled visit is refused next to its field in Chinese
    again = client.get(f"/check/?from={stored['id']}").get_data(as_text=True)
    assert 'name="members[0].lives_alone" type="checkbox" value="1" checked' in again
    bad = client.post("/check/", data={"household_id": "T-2", "county": "990101", "as_of": "2026-01-01",
                                       "members[0].age": "70", "visits[0].kind": "phone"})
    assert bad.status_code == 422
    assert "走访 1 · 走访日期：请填写走访日期。" in page_text(bad)
    assert 'id="e-f-visits-0-date"' in bad.get_data(as_text=True)
