"""The second pack, rules/tekun (特困人员救助供养), in a real browser: its own check form and decision, its
limit in the parameter editor, and its compare page, with no page naming an output of the Hunan pack.

A caseworker of 新化县 checks an elderly person with no supporter who is partly unable to care for
themself: the form asks for the pack's own facts in Chinese and the decision shows the pack's outputs.
A provincial officer tries a basic living standard below 1.3 × the dibao standard (refused, naming
the multiple), saves a valid one; a reviewer compares the draft with version 1 and sees its impact.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine import users, versions
from tests.test_browser import CHROMIUM, PASSWORD, browser, console, page, shot, sign_in  # noqa: F401 - fixtures
from web import create_app
from web.db import get_db, init_db

RULES = Path(__file__).resolve().parent.parent / "rules" / "tekun"
HUNAN_WORDS = ("低保金", "医疗救助", "临时救助", "兜底对象", "review_action", "dibao_monthly", "medical_assistance")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free localhost port serving the 特困 pack, with one account per role of the story."""
    folder = tmp_path_factory.mktemp("browser-tekun")
    app = create_app({"DATABASE": str(folder / "doudi.db"), "SECRET_KEY": "browser-test", "TESTING": False,
                      "BATCH_FOLDER": str(folder / "batch"), "RULES": str(RULES)})
    init_db(app)
    with app.app_context():
        db = get_db()
        _, pack = versions.pack_of(db)
        assert pack.id == "tekun"
        for name, role, code in (("caseworker", "caseworker", "431322"), ("province", "province_officer", "430000"),
                                 ("reviewer", "reviewer", "430000")):
            users.add_user(db, "test", name, PASSWORD, role, code, pack=pack)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()


def test_the_tekun_pack_in_a_browser(server, page):  # noqa: F811 - the fixture of test_browser
    # -- a caseworker of 新化县: the pack's own form and decision ----------------------------------------
    sign_in(page, server, "caseworker")
    page.goto(f"{server}/check/")
    form = page.locator("main form").first.inner_text()
    assert "法定赡养、抚养、扶养义务人" in form and "生活自理能力" in form and "供养形式" in form
    assert not any(word in form for word in ("病种", "突发事件", "危房", "建档立卡"))  # Hunan's facts are not asked
    page.fill("[name=household_id]", "TK-2019-001")
    page.fill("[name=as_of]", "2019-06-01")
    page.fill("[name='members[0].id']", "m1")
    page.fill("[name='members[0].name']", "李四")
    page.fill("[name='members[0].age']", "75")
    page.select_option("[name='members[0].statutory_supporter']", "none")
    page.select_option("[name='members[0].self_care']", "partial")
    shot(page, "tekun-01-check-form", full_page=True)
    page.locator("main form button.primary[type=submit]").click()
    result = page.locator("main").inner_text()
    # (5330 basic living standard + 2400 care standard for partial self-care) / 12 = 644.17 → 644 yuan a month
    assert "644" in result and "纳入特困人员救助供养" in result and "国务院令第649号" in result
    assert "李四" in result and "部分丧失生活自理能力" in result
    assert not any(word in result for word in HUNAN_WORDS)
    shot(page, "tekun-02-decision", full_page=True)
    page.locator("header form[action$='/logout'] button").click()

    # -- a provincial officer: the 1.3 × dibao floor of the basic living standard -------------------------
    sign_in(page, server, "province")
    page.goto(f"{server}/parameters/?jurisdiction=430000")
    page.fill("#new-title", "2019 年特困人员基本生活标准调整")
    page.locator("form[action$='/parameters/drafts'] button[type=submit]").click()
    section = page.locator("#p-basic_living_standard")
    section.locator("[name=effective]").fill("2019-07-01")
    section.locator("[name=value]").fill("5000")  # below 1.3 × 3960 = 5148
    section.locator("[name=document]").fill("湘民发〔2019〕1号（示例）")
    section.locator("[name=reason]").fill("示例调整")
    section.locator("button[type=submit]").click()
    section = page.locator("#p-basic_living_standard")
    error = section.locator(".error-text").first.inner_text()
    assert "1.30" in error and "5148" in error, error
    section.locator("[name=value]").fill("5400")
    section.locator("button[type=submit]").click()
    assert "5400" in page.locator("#p-basic_living_standard").inner_text()
    hrefs = page.locator("main a[href*='/drafts/']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    draft_id = next(int(m[1]) for h in hrefs if (m := re.search(r"/drafts/(\d+)", h)))
    page.locator("header form[action$='/logout'] button").click()

    # -- a reviewer: the compare page speaks of the pack's own outputs ------------------------------------
    sign_in(page, server, "reviewer")
    page.goto(f"{server}/versions/compare?from=1&to=draft:{draft_id}&as_of=2019-08-01&n=300")
    compare = page.locator("main").inner_text()
    assert "basic_living_standard" in compare and "5148" in compare and "5400" in compare
    assert "月救助供养金合计" in compare  # the amount the pack's impact adds up, by its label
    assert not any(word in compare for word in HUNAN_WORDS)
    shot(page, "tekun-03-compare", full_page=True)
