"""The editor in a real browser (Debian's chromium driven by Playwright): the whole review story.

A county officer of 新化县 signs in (Chinese UI), tries a standard below the provincial floor and
sees the Chinese error, saves a valid one with its document number and submits; a reviewer compares,
sees the change and the impact chart, and approves; a caseworker checks a household and sees the new
amount with its reasons; the language switch works; a page outside the officer's scope answers 403.
Every page runs under the Content-Security-Policy (no inline script or style): any violation the
browser reports, and any script error, fails the test. Screenshots of each key page go to
tests/artifacts/ (or $DOUDI_SCREENSHOTS).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine import users, versions
from web import create_app
from web.db import get_db, init_db

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ.get("DOUDI_SCREENSHOTS", Path(__file__).parent / "artifacts"))
PASSWORD = "browser-test-1"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free localhost port, with the Hunan pack and one account per role of the story."""
    folder = tmp_path_factory.mktemp("browser")
    app = create_app({"DATABASE": str(folder / "doudi.db"), "SECRET_KEY": "browser-test", "TESTING": False,
                      "BATCH_FOLDER": str(folder / "batch")})
    init_db(app)
    with app.app_context():
        db = get_db()
        _, pack = versions.pack_of(db)
        for name, role, code in (("xinhua", "local_officer", "431322"), ("reviewer", "reviewer", "430000"),
                                 ("caseworker", "caseworker", "431322"), ("province", "province_officer", "430000"),
                                 ("admin", "admin", None)):
            users.add_user(db, "test", name, PASSWORD, role, code, pack=pack)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()


@pytest.fixture(scope="module")
def browser():
    """Headless chromium with the network switched off (the machines of the intranet have none)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture()
def console():
    """What the browser reported: Content-Security-Policy violations and uncaught script errors."""
    return {"violations": [], "errors": []}


@pytest.fixture()
def page(browser, console):
    """A fresh tab; the test fails if a page breaks the Content-Security-Policy or a script throws."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    tab.on("console", lambda message: console["violations"].append(message.text)
           if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)
    tab.on("pageerror", lambda error: console["errors"].append(str(error)))
    yield tab
    context.close()
    assert console == {"violations": [], "errors": []}


def shot(page, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def sign_in(page, server: str, username: str) -> None:
    page.goto(f"{server}/login")
    assert page.locator("h1").first.inner_text() == "登录"
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")  # the form works from the keyboard
    page.wait_for_url(re.compile(r".*/$"))
    assert "欢迎" in page.locator("h1").first.inner_text()


def test_the_review_story_in_a_browser(server, page):
    # -- a county officer of 新化县 --------------------------------------------------------------
    sign_in(page, server, "xinhua")
    shot(page, "01-home-officer")
    page.goto(f"{server}/parameters/?jurisdiction=431322")
    page.fill("#new-title", "新化县 2019 年低保标准调整")
    page.locator("form[action$='/parameters/drafts'] button[type=submit]").click()
    section = page.locator("#p-dibao_standard")
    section.locator("[name=effective]").fill("2019-01-01")
    section.locator("[name=value]").fill("3900")
    section.locator("[name=document]").fill("新政发〔2019〕9号")
    section.locator("[name=reason]").fill("物价上涨")
    section.locator("button[type=submit]").click()
    section = page.locator("#p-dibao_standard")
    section.scroll_into_view_if_needed()
    error = section.locator(".error-text").first.inner_text()
    assert "3960" in error and "湘民发〔2017〕33号 二（二）" in error and "低于" in error
    assert section.locator("[name=value]").input_value() == "3900"  # what was typed is kept
    shot(page, "02-parameter-below-floor")
    section.locator("[name=value]").fill("4100")
    section.locator("button[type=submit]").click()
    assert "4100" in page.locator("#p-dibao_standard").inner_text()
    page.locator("#p-dibao_standard").scroll_into_view_if_needed()
    shot(page, "03-parameter-editor")
    hrefs = page.locator("main a[href*='/drafts/']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    draft_id = next(int(m[1]) for h in hrefs if (m := re.search(r"/drafts/(\d+)", h)))
    page.goto(f"{server}/drafts/{draft_id}")
    page.locator(f"form[action$='/drafts/{draft_id}/submit'] button[type=submit]").click()
    assert "已提交审核" in page.locator("main").inner_text()
    shot(page, "04-draft-submitted")
    response = page.goto(f"{server}/parameters/?jurisdiction=430121")  # 长沙县: not the officer's
    assert response.status == 403
    assert "403" in page.locator("h1").inner_text()
    shot(page, "05-out-of-scope-403")
    page.locator("header form[action$='/logout'] button").click()

    # -- a provincial reviewer -------------------------------------------------------------------
    sign_in(page, server, "reviewer")
    page.goto(f"{server}/versions/compare?from=1&to=draft:{draft_id}")
    compare = page.locator("main").inner_text()
    assert "431322" in compare and "3960" in compare and "4100" in compare
    assert page.locator("main svg").count() >= 1  # the impact chart
    shot(page, "06-compare-and-impact")
    roll = SHOTS / "新化县名册.jsonl"  # the reviewer's own roll instead of the synthetic sample
    roll.write_text("\n".join(json.dumps({"household_id": f"XH-{i}", "county": "431322",
                                          "members": [{"id": "m1", "age": 60 + i}]}) for i in range(3)) + "\n",
                    encoding="utf-8")
    page.set_input_files("#roll", str(roll))
    page.locator("form.roll-form button[type=submit]").click()
    impact_on_roll = page.locator("#impact-title").inner_text()
    assert "新化县名册.jsonl" in impact_on_roll and "3 户" in impact_on_roll
    impact_section = page.locator("section[aria-labelledby=impact-title]").inner_text()
    assert "新化县（431322）" in impact_section and "长沙县" not in impact_section  # only the county that changes
    shot(page, "06b-impact-on-an-uploaded-roll", full_page=True)
    page.goto(f"{server}/drafts/{draft_id}")
    page.locator(f"button[formaction$='/drafts/{draft_id}/approve']").click()
    assert re.search(r"版本\s*2|第\s*2\s*版", page.locator("main").inner_text())
    shot(page, "07-approved")
    page.locator("header form[action$='/logout'] button").click()

    # -- a caseworker of 新化县 ------------------------------------------------------------------
    sign_in(page, server, "caseworker")
    page.goto(f"{server}/check/")
    page.fill("[name=household_id]", "XH-2019-001")
    page.fill("[name=as_of]", "2019-06-01")
    page.fill("[name='members[0].id']", "m1")
    page.fill("[name='members[0].age']", "75")
    shot(page, "08-household-check-form")
    page.locator("main form button.primary[type=submit]").click()
    result = page.locator("main").inner_text()
    # 4100/12 = 341.67 base + 10% elderly supplement 34.17 = 375.83 → 376 yuan a month
    assert "376" in result and "湘民发〔2017〕33号" in result and "4100" in result
    shot(page, "09-decision")
    page.emulate_media(media="print")
    page.pdf(path=str(SHOTS / "09-decision-a4.pdf"), format="A4")
    page.emulate_media(media="screen")

    # -- the language switch ---------------------------------------------------------------------
    page.locator("header form[action*='/lang/'] button").click()
    english = page.locator("header nav").inner_text()
    assert "Household check" in english and "家庭核查" not in english
    shot(page, "10-english")


UNLABELLED = """() => Array.from(document.querySelectorAll('main input, main select, main textarea'))
  .filter(el => el.type !== 'hidden' && !el.closest('[hidden]') && !el.closest('template'))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !el.getAttribute('title'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 60))"""


@pytest.mark.parametrize(("username", "paths"), [
    ("xinhua", ["/", "/jurisdictions/", "/jurisdictions/431322", "/parameters/?jurisdiction=431322", "/rules/",
                "/drafts/", "/versions/", "/check/", "/decisions/"]),
    ("reviewer", ["/versions/compare?from=1&to=1&n=0", "/audit/", "/batch/"]),
])
def test_every_page_has_labelled_inputs_and_a_keyboard_path(server, page, username, paths):
    sign_in(page, server, username)
    for path in paths:
        response = page.goto(f"{server}{path}")
        assert response.status == 200, path
        assert page.evaluate(UNLABELLED) == [], path
        # the first Tab reaches the skip link, which leads to the main content
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip", path


def test_the_pages_scripts_work_under_the_content_security_policy(server, page, console):
    # the policy is in force, and a violation is seen: a script written into the page does not run
    page.goto(f"{server}/login")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.inlineRan = 1';
                             document.body.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.inlineRan") is None
    assert any("script-src 'self'" in text for text in console["violations"])
    console["violations"].clear()

    # a county officer: the parameter editor checks a value as it is typed, without saving
    sign_in(page, server, "xinhua")
    page.goto(f"{server}/parameters/?jurisdiction=431322")
    page.fill("#new-title", "CSP 检查草稿")
    page.locator("form[action$='/parameters/drafts'] button[type=submit]").click()
    section = page.locator("#p-dibao_standard")
    section.locator("[name=effective]").fill("2019-01-01")
    section.locator("[name=value]").fill("3900")
    message = page.locator("#dibao_standard-value-msg.error-text")
    message.wait_for()
    assert "3960" in message.inner_text() and "低于" in message.inner_text()
    section.locator("[name=value]").fill("4200")
    page.locator("#dibao_standard-value-msg.ok-text").wait_for()
    page.locator("header form[action$='/logout'] button").click()

    # a caseworker: members are added and removed; the decision offers its print button
    sign_in(page, server, "caseworker")
    page.goto(f"{server}/check/")
    rows = page.locator("#members-rows > [data-row]")
    before = rows.count()
    page.locator("[data-add=members]").click()
    assert rows.count() == before + 1
    assert page.evaluate("document.activeElement.name") == f"members[{before}].id"  # focus moves to the new row
    rows.last.locator("[data-remove]").click()
    assert rows.count() == before
    page.fill("[name=household_id]", "CSP-001")
    page.fill("[name=as_of]", "2019-06-01")
    page.fill("[name='members[0].id']", "m1")
    page.fill("[name='members[0].age']", "75")
    page.locator("main form button.primary[type=submit]").click()
    page.locator("[data-print]").wait_for(state="visible")  # hidden until its script runs
    page.locator("header form[action$='/logout'] button").click()

    # a provincial officer: a problem's line link puts the cursor on that line of the rule text
    sign_in(page, server, "province")
    page.goto(f"{server}/rules/doc/rules/10-household.yaml")
    page.fill("#edit-title", "CSP 规则草稿")
    page.locator("form[action$='/rules/edit'] button[type=submit]").click()
    text = page.locator("#text").input_value()
    page.locator("#text").fill(text.replace("when:", "when: (", 1))
    page.fill("#reason", "检查")
    page.locator("main form.card button[type=submit]").click()
    link = page.locator("a[data-line]").first
    line = int(link.get_attribute("data-line"))
    link.click()
    assert page.evaluate("document.activeElement.id") == "text"
    start = page.evaluate("document.getElementById('text').selectionStart")
    assert page.evaluate("document.getElementById('text').value").count("\n", 0, start) == line - 1
    page.locator("header form[action$='/logout'] button").click()

    # an administrator: the jurisdictions offered follow the chosen role
    sign_in(page, server, "admin")
    page.goto(f"{server}/admin/users/")
    page.select_option("#role", "caseworker")
    offered = "level => document.querySelector(`#jurisdiction optgroup[data-level=${level}]`).hidden"
    assert [page.evaluate(offered, level) for level in ("province", "city", "county")] == [True, True, False]
    page.select_option("#role", "reviewer")
    assert [page.evaluate(offered, level) for level in ("province", "city", "county")] == [False, False, True]
    page.goto(f"{server}/admin/users/xinhua")

    # a reviewer: a batch job's page follows the job until it ends
    page.locator("header form[action$='/logout'] button").click()
    sign_in(page, server, "reviewer")
    roll = SHOTS / "csp-roll.jsonl"
    SHOTS.mkdir(parents=True, exist_ok=True)
    roll.write_text("".join(json.dumps({"household_id": f"B-{i}", "county": "431322",
                                        "members": [{"id": "m1", "age": 70}]}) + "\n" for i in range(3)),
                    encoding="utf-8")
    page.goto(f"{server}/batch/")
    page.set_input_files("main input[type=file]", str(roll))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/batch/[\w-]+$"))  # token_urlsafe ids may hold "-"
    page.locator("#summary-title").wait_for(timeout=30_000)
