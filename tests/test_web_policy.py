"""The editor's policy pages: parameter editor, rules, drafts and review, versions and compare (Flask test client)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from engine import drafts, evaluate, users, versions
from engine.evaluate import parameter_index
from web import create_app
from web.db import get_db, init_db

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = {  # username: (role, jurisdiction)
    "xinhua": ("local_officer", "431322"),  # 新化县
    "changsha_county": ("local_officer", "430121"),  # 长沙县
    "province": ("province_officer", "430000"),
    "reviewer": ("reviewer", "430000"),
    "loudi_reviewer": ("reviewer", "431300"),  # 娄底市, above 新化县
    "changsha_reviewer": ("reviewer", "430100"),  # 长沙市: 新化县 is outside
    "caseworker": ("caseworker", "431322"),
}
FLOOR = "湘民发〔2017〕33号 二（二）"
AREAS = ("parameters", "rules", "drafts", "versions")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A database with the Hunan pack as version 1 and an account per entry of PEOPLE (password 'password-1')."""
    path = tmp_path_factory.mktemp("policy") / "template.db"
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "t"})
    init_db(app)
    with app.app_context():
        db = get_db()
        _, pack = versions.pack_of(db)
        for name, (role, code) in PEOPLE.items():
            users.add_user(db, "test", name, "password-1", role, code, pack=pack)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _app(template: Path, tmp_path: Path, csrf: bool = False):
    shutil.copy(template, tmp_path / "t.db")
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "SECRET_KEY": "t",
                       "WTF_CSRF_ENABLED": csrf})


@pytest.fixture()
def app(template, tmp_path):
    """The application over a fresh copy of the template database, CSRF off (tested on its own below)."""
    return _app(template, tmp_path)


@pytest.fixture()
def sign_in(app):
    """A function giving a test client signed in as one of PEOPLE."""

    def client(username: str):
        c = app.test_client()
        response = c.post("/login", data={"username": username, "password": "password-1"})
        assert response.status_code == 302, response.text
        return c

    return client


def _new_draft(client, code: str = "431322") -> int:
    response = client.post("/parameters/drafts", data={"title": "新化县2019年标准调整", "jurisdiction": code})
    assert response.status_code == 302
    found = re.search(r"draft=(\d+)", response.headers["Location"])
    assert found and f"jurisdiction={code}" in response.headers["Location"]
    return int(found.group(1))


def _edit(draft_id: int, value: str, revision: int = 0, **extra: str) -> dict[str, str]:
    return {"draft": str(draft_id), "revision": str(revision), "jurisdiction": "431322",
            "parameter": "dibao_standard", "effective": "2019-01-01", "value": value,
            "document": "新政发〔2019〕8号", "reason": "提高农村低保标准"} | extra


def _in_force(app, draft_id: int, code: str = "431322", on: str = "2019-06-30"):
    with app.app_context():
        pack = drafts.draft_pack(get_db(), draft_id)
        return parameter_index(pack).resolve("dibao_standard", code, dt.date.fromisoformat(on))


def _field(html: str, field_id: str) -> str:
    found = re.search(rf'<(?:input|textarea|select)[^>]*id="{re.escape(field_id)}"[^>]*>', html, re.S)
    assert found, field_id
    return found.group(0)


# -- the parameter editor -------------------------------------------------------------------------


def test_parameter_page_is_chinese_with_provenance_and_floor(sign_in):
    page = sign_in("xinhua").get("/parameters/?on=2019-06-30")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="zh-CN">' in html
    assert "新化县参数" in html and "农村低保标准" in html
    # in force on 2019-06-30: its own 3960 from 2019-01-01, by 新政发〔2019〕1号
    assert "3960" in html and "本级设定" in html and "2019-01-01 起生效" in html and "新政发〔2019〕1号" in html
    # the provincial floors of a bounded parameter, with the clause
    assert "不得低于湖南省农村低保标准 3960" in html and "不得低于湖南省国家扶贫标准 3747" in html and FLOOR in html
    # inherited values say from whom; province-only parameters are not offered to a county
    assert "继承自湖南省" in html and "national_poverty_line</span></h2>" not in html
    # the officer's scope is one county; without a draft the page is read only
    assert re.findall(r'<option value="(\d{6})"', html) == ["431322"]
    assert 'action="/parameters/save"' not in html and "新建草稿" in html


def test_other_jurisdictions_are_refused(sign_in):
    client = sign_in("xinhua")
    draft_id = _new_draft(client)
    page = client.get("/parameters/?jurisdiction=430121")
    assert page.status_code == 403 and "长沙县（430121）不在您的管辖范围内" in page.text
    saved = client.post("/parameters/save", data=_edit(draft_id, "6500", jurisdiction="430121"))
    assert saved.status_code == 403
    checked = client.post("/parameters/check", json={"draft": draft_id, "jurisdiction": "430121",
                                                     "parameter": "dibao_standard", "effective": "2019-01-01",
                                                     "value": "6500"})
    assert checked.status_code == 403 and checked.get_json()["ok"] is False


def test_value_below_the_floor_is_refused_in_chinese_and_kept(app, sign_in):
    client = sign_in("xinhua")
    draft_id = _new_draft(client)
    page = client.get(f"/parameters/?draft={draft_id}&jurisdiction=431322")
    assert 'action="/parameters/save"' in page.text and 'name="revision" value="0"' in page.text
    response = client.post("/parameters/save", data=_edit(draft_id, "3900"))
    assert response.status_code == 422
    html = response.text
    assert "未保存：请更正标出的字段。" in html
    message = re.search(r'<span id="dibao_standard-value-msg" class="field-msg error-text"[^>]*>(.*?)</span>',
                        html, re.S)
    assert message, "the error sits next to the value field"
    assert "3900" in message.group(1) and "低于湖南省的农村低保标准" in message.group(1)
    assert "3960" in message.group(1) and FLOOR in message.group(1)
    field = _field(html, "dibao_standard-value")
    assert 'value="3900"' in field and 'aria-invalid="true"' in field
    assert "dibao_standard-value-msg" in field  # aria-describedby points at the message
    assert 'value="新政发〔2019〕8号"' in _field(html, "dibao_standard-document")
    assert _in_force(app, draft_id).value == 3960  # nothing saved
    with app.app_context():
        assert drafts.get_draft(get_db(), draft_id).revision == 0


def test_missing_document_and_bad_number_are_field_errors(sign_in):
    client = sign_in("xinhua")
    draft_id = _new_draft(client)
    response = client.post("/parameters/save", data=_edit(draft_id, "4100", document=""))
    assert response.status_code == 422
    assert "请填写批准文件文号" in response.text and 'aria-invalid="true"' in _field(response.text,
                                                                                   "dibao_standard-document")
    response = client.post("/parameters/save", data=_edit(draft_id, "四千"))
    assert response.status_code == 422 and "请输入数字，例如 4100。" in response.text
    assert 'value="四千"' in _field(response.text, "dibao_standard-value")


def test_live_check_validates_without_saving(app, sign_in):
    client = sign_in("xinhua")
    draft_id = _new_draft(client)
    edit = {"draft": draft_id, "jurisdiction": "431322", "parameter": "dibao_standard", "effective": "2019-01-01"}
    low = client.post("/parameters/check", json=edit | {"value": "3900"}).get_json()
    assert low["ok"] is False
    assert [p["field"] for p in low["problems"]] == ["value"]
    assert "3960" in low["problems"][0]["message"] and FLOOR in low["problems"][0]["message"]
    assert "低于" in low["problems"][0]["message"]
    good = client.post("/parameters/check", json=edit | {"value": "4100"}).get_json()
    assert good == {"ok": True, "problems": [], "warnings": [], "message": "符合各项标准，可以保存。"}
    blank = client.post("/parameters/check", json=edit | {"value": "4100", "document": " "}).get_json()
    assert [p["field"] for p in blank["problems"]] == ["document"]
    bad_date = client.post("/parameters/check", json=edit | {"value": "4100", "effective": "2019-13-01"}).get_json()
    assert bad_date["problems"][0] == {"field": "effective", "message": "日期请写成 YYYY-MM-DD。"}
    assert _in_force(app, draft_id).value == 3960
    with app.app_context():
        assert drafts.get_draft(get_db(), draft_id).revision == 0


def test_live_check_warns_of_a_pasted_value_and_shows_every_declared_limit(sign_in):
    client = sign_in("xinhua")
    draft_id = _new_draft(client)
    edit = {"draft": draft_id, "jurisdiction": "431322", "parameter": "dibao_standard", "effective": "2019-01-01"}
    pasted = client.post("/parameters/check", json=edit | {"value": "39603900"}).get_json()
    assert pasted["ok"] is True and pasted["problems"] == []
    [warning] = pasted["warnings"]
    assert "39603900" in warning["message"] and "超过此前取值 3720 的两倍" in warning["message"]
    ratio = client.post("/parameters/check", json=edit | {"parameter": "major_disease_ratio", "value": "0.5"})
    assert "低于 0.70" in ratio.get_json()["problems"][0]["message"]
    html = client.get("/parameters/?jurisdiction=431322&on=2019-06-30").text
    assert "不得低于 0.7" in html and "不得高于 365" in html and "不得高于 2019-12-31" in html
    assert "不得低于湖南省临时救助上限倍数 12" in html


def test_stale_save_is_a_conflict(app, sign_in):
    client = sign_in("xinhua")
    draft_id = _new_draft(client)
    assert client.post("/parameters/save", data=_edit(draft_id, "4100")).status_code == 302
    stale = client.post("/parameters/save", data=_edit(draft_id, "4200", revision=0))
    assert stale.status_code == 409
    assert "已被他人修改" in stale.text and 'value="4200"' in _field(stale.text, "dibao_standard-value")
    assert _in_force(app, draft_id).value == 4100


def test_english_switch(sign_in):
    client = sign_in("xinhua")
    client.post("/lang/en", data={"next": "/parameters/"})
    html = client.get("/parameters/?on=2019-06-30").text
    assert '<html lang="en">' in html
    assert "Parameters of 新化县" in html and "Rural dibao standard" in html and "Value in force" in html
    assert "not below 湖南省 Rural dibao standard 3960 yuan per person a year" in html
    assert "农村低保标准" not in html and "元/人·年" not in html and "<td>years of age</td>" in html
    draft_id = _new_draft(client)
    refused = client.post("/parameters/save", data=_edit(draft_id, "3900"))
    assert refused.status_code == 422 and "is below dibao_standard 3960" in refused.text


# -- drafts, review and versions ------------------------------------------------------------------


def test_review_workflow_from_county_edit_to_version_two(app, sign_in):
    author = sign_in("xinhua")
    draft_id = _new_draft(author)
    saved = author.post("/parameters/save", data=_edit(draft_id, "4100"))
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#p-dibao_standard")
    resolved = _in_force(app, draft_id)
    assert (resolved.value, resolved.jurisdiction, resolved.document) == (4100, "431322", "新政发〔2019〕8号")
    page = author.get(saved.headers["Location"]).text
    assert "已保存到草稿" in page and "农村低保标准 自 2019-01-01 起为 4100" in page

    mine = author.get("/drafts/").text
    assert f"#{draft_id}" in mine and "新化县2019年标准调整" in mine and "编辑中" in mine
    assert author.post(f"/drafts/{draft_id}/submit").status_code == 302
    assert "已提交审核" in author.get(f"/drafts/{draft_id}").text
    assert author.post(f"/drafts/{draft_id}/approve").status_code == 403  # not a reviewer, and the author
    refused_edit = author.post("/parameters/save", data=_edit(draft_id, "4200", revision=1))
    assert refused_edit.status_code == 409 and "不能再修改" in refused_edit.text

    reviewer = sign_in("loudi_reviewer")
    queue = reviewer.get("/drafts/").text
    assert "待审核" in queue and f'href="/drafts/{draft_id}"' in queue
    outsider = sign_in("changsha_reviewer")
    assert f'href="/drafts/{draft_id}"' not in outsider.get("/drafts/").text
    assert outsider.post(f"/drafts/{draft_id}/approve").status_code == 404  # outside 长沙市: as if it did not exist
    assert outsider.get(f"/drafts/{draft_id}").status_code == 404

    detail = reviewer.get(f"/drafts/{draft_id}").text
    row = re.search(r"<tr>\s*<td>新化县（431322）</td>.*?</tr>", detail, re.S)
    assert row, "the parameter diff names the county"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    assert "3960" in cells[4] and "4100" in cells[5] and cells[6] == "+140" and cells[7] == "+3.54%"
    assert "新政发〔2019〕8号" in detail and "提高农村低保标准" in detail and "批准并发布" in detail

    compare = reviewer.get(f"/versions/compare?from=1&to=draft:{draft_id}&as_of=2019-06-30")
    assert compare.status_code == 200
    html = compare.text
    assert "比较第 1 版与草稿 #" in html and "新化县（431322）" in html and "+140" in html
    assert html.count("<svg") == 2 and "对 5000 户模拟家庭的影响" in html
    assert "月低保金增加" in html and "符合低保条件：新增" in html  # the pack's own labels
    county_chart = html.split("分县情况")[1]
    assert 'aria-label="各县月低保金变化（元/月）"' in county_chart
    assert "<svg" in county_chart and "新化县" in county_chart and "长沙县" not in county_chart.split("</svg>")[0]
    assert "规则没有变化。" in html

    approved = reviewer.post(f"/drafts/{draft_id}/approve", data={"comment": "同意"})
    assert approved.status_code == 302
    after = reviewer.get(approved.headers["Location"]).text
    assert "已批准：草稿已发布为第 2 版。" in after and "已发布为第 2 版" in after
    with app.app_context():
        latest = versions.get_version(get_db())
        assert (latest.number, latest.draft_id) == (2, draft_id)
    listing = reviewer.get("/versions/").text
    assert "第 2 版" in listing and "现行" in listing
    diff = reviewer.get("/versions/compare?from=1&to=2&n=0").text
    assert "4100" in diff and "<svg" not in diff


def test_impact_on_an_uploaded_roll(app, sign_in):
    """A reviewer sees what a draft changes for the households of a real roll, not only the synthetic sample."""
    author = sign_in("xinhua")
    draft_id = _new_draft(author)
    assert author.post("/parameters/save", data=_edit(draft_id, "4100")).status_code == 302
    roll = [{"household_id": "XH-1", "county": "431322", "members": [{"id": "m1", "age": 70}]},
            {"household_id": "XH-2", "county": "431322", "enrolled": True,
             "members": [{"id": "m1", "age": 45, "labour_capable": False},
                         {"id": "m2", "age": 12, "student": "compulsory"}]},
            {"household_id": "CS-1", "county": "430121", "members": [{"id": "m1", "age": 80}]}]
    text = "\n".join([json.dumps(roll[0], ensure_ascii=False), "{broken", *map(json.dumps, roll[1:])]) + "\n"
    reviewer = sign_in("reviewer")
    form = {"from": "1", "to": f"draft:{draft_id}", "as_of": "2019-06-30"}
    page = reviewer.post("/versions/compare", data=form | {"roll": (io.BytesIO(text.encode()), "新化县名册.jsonl")},
                         content_type="multipart/form-data")
    assert page.status_code == 200, page.text
    html = page.text
    assert "对名册 新化县名册.jsonl 中 3 户的影响（测算日期 2019-06-30）" in html
    assert "有 1 行无法读取，未计入（第 2 行）" in html
    with app.app_context():
        old, new = versions.pack_of(get_db())[1], drafts.draft_pack(get_db(), draft_id)
    before = [evaluate(old, h, "2019-06-30").outputs["dibao_monthly"] for h in roll[:2]]
    after = [evaluate(new, h, "2019-06-30").outputs["dibao_monthly"] for h in roll[:2]]
    assert sum(after) > sum(before)
    row = re.search(r"<tr><td>新化县（431322）</td>.*?</tr>", html, re.S)
    assert row, "the county whose payments change"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    assert cells[1] == "2" and f"{sum(before)} → {sum(after)}（+{sum(after) - sum(before)}）" in cells
    assert "长沙县（430121）" not in html.split("分县情况")[1].split("</table>")[0]

    missing = reviewer.post("/versions/compare", data=form, content_type="multipart/form-data")
    assert missing.status_code == 422 and "请选择名册文件" in missing.text
    assert 'aria-invalid="true"' in _field(missing.text, "roll")
    empty = reviewer.post("/versions/compare", data=form | {"roll": (io.BytesIO(b""), "empty.jsonl")},
                          content_type="multipart/form-data")
    assert empty.status_code == 422 and "文件是空的" in empty.text
    assert sign_in("caseworker").post("/versions/compare", data=form).status_code == 403


def test_reject_needs_a_comment_and_returns_the_draft(app, sign_in):
    author = sign_in("xinhua")
    draft_id = _new_draft(author)
    author.post("/parameters/save", data=_edit(draft_id, "4100"))
    author.post(f"/drafts/{draft_id}/submit")
    reviewer = sign_in("reviewer")
    missing = reviewer.post(f"/drafts/{draft_id}/reject", data={"comment": ""})
    assert missing.status_code == 422 and "驳回须填写意见" in missing.text
    assert 'aria-invalid="true"' in _field(missing.text, "comment")
    reviewer.post(f"/drafts/{draft_id}/reject", data={"comment": "请附县政府文件"})
    page = author.get(f"/drafts/{draft_id}").text
    assert "已驳回" in page and "请附县政府文件" in page and "提交审核" in page
    with app.app_context():
        assert drafts.get_draft(get_db(), draft_id).status == "rejected"


def test_caseworker_reads_but_cannot_edit_or_compare(sign_in):
    client = sign_in("caseworker")
    assert client.get("/parameters/").status_code == 403
    assert client.get("/drafts/").status_code == 403
    assert client.get("/versions/compare?from=1&to=1").status_code == 403
    listing = client.get("/versions/")
    assert listing.status_code == 200 and "第 1 版" in listing.text and 'id="from"' not in listing.text


def test_missing_records_are_error_pages_not_crashes(sign_in):
    client = sign_in("reviewer")
    missing = client.get("/drafts/999")
    assert missing.status_code == 404 and "草稿 999 不存在" in missing.text
    no_version = client.get("/versions/compare?from=1&to=9")
    assert no_version.status_code == 404 and "规则版本 9 不存在" in no_version.text
    bad_ref = client.get("/versions/compare?from=1&to=latest")
    assert bad_ref.status_code == 400 and "不是版本号（如 1）或草稿（如 draft:5）" in bad_ref.text
    assert client.get("/rules/doc/rules/99-none.yaml").status_code == 404
    assert sign_in("xinhua").get("/parameters/?draft=999").status_code == 404


# -- rules -----------------------------------------------------------------------------------------


def test_rules_are_listed_by_programme_with_condition_and_citation(sign_in):
    html = sign_in("caseworker").get("/rules/").text
    assert "救助项目规则" in html and "农村最低生活保障" in html
    card = html.split('id="rule-dibao.income_test"')[1].split("</article>")[0]
    assert "收入核查：家庭人均收入低于当地低保标准" in card
    assert "household_size &gt;= 1 and countable_income &lt; household_size * dibao_standard" in card
    assert "income_test_passed = True" in card and FLOOR in card
    assert "家庭人均年收入{per_capita_income:yuan}低于当地农村低保标准" in card
    doc = sign_in("caseworker").get("/rules/doc/rules/20-dibao.yaml")
    assert doc.status_code == 200 and '<tr id="L2"><td class="num ln">2</td><td><code>kind: rules</code>' in doc.text
    assert "在草稿中编辑" not in doc.text


def test_province_officer_edits_a_rule_document_with_line_numbered_errors(app, sign_in):
    assert sign_in("xinhua").post("/rules/edit", data={"path": "rules/20-dibao.yaml"}).status_code == 403
    client = sign_in("province")
    opened = client.post("/rules/edit", data={"path": "rules/20-dibao.yaml", "draft": "new", "title": "规则修订"})
    assert opened.status_code == 302
    url = opened.headers["Location"]
    draft_id = int(re.search(r"/rules/draft/(\d+)/", url).group(1))
    form = client.get(url).text
    source = re.search(r'<textarea id="text"[^>]*>(.*?)</textarea>', form, re.S).group(1)
    assert "dibao_standard / 12" in source
    broken = client.post(url, data={"text": "kind: rules\nprogramme: dibao\nrules: [\n", "revision": "0"})
    assert broken.status_code == 422 and "第 4 行" in broken.text and "YAML 格式错误" in broken.text
    with app.app_context():
        text = drafts.draft_files(get_db(), draft_id)["rules/20-dibao.yaml"]
    typo = text.replace("dibao_standard / 12", "dibao_standrd / 12")
    # the engine points at the line of the bad expression, not at the start of its rule
    line = next(n for n, row in enumerate(typo.splitlines(), 1) if "dibao_standrd / 12" in row)
    assert "id: dibao.monthly_standard" not in typo.splitlines()[line - 1]
    refused = client.post(url, data={"text": typo, "revision": "0"})
    assert refused.status_code == 422 and f"第 {line} 行" in refused.text and "dibao_standrd" in refused.text
    assert f'<tr id="S{line}" class="bad">' in refused.text
    changed = text.replace("月低保标准（年标准÷12）", "月低保标准（年标准除以12）")
    saved = client.post(url, data={"text": changed, "revision": "0", "document": "湘民发〔2017〕33号",
                                   "reason": "标题措辞"})
    assert saved.status_code == 302
    with app.app_context():
        assert "年标准除以12" in drafts.draft_files(get_db(), draft_id)["rules/20-dibao.yaml"]
    diff = client.get(f"/versions/compare?from=1&to=draft:{draft_id}&n=0").text
    assert "dibao.monthly_standard" in diff and "年标准除以12" in diff


# -- the edges: CSRF and the catalogs ---------------------------------------------------------------


def test_posts_without_a_csrf_token_are_refused(template, tmp_path):
    client = _app(template, tmp_path, csrf=True).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    signed_in = client.post("/login", data={"username": "xinhua", "password": "password-1", "csrf_token": token})
    assert signed_in.status_code == 302
    assert client.post("/parameters/drafts", data={"title": "x"}).status_code == 400
    edit = {"jurisdiction": "431322", "parameter": "dibao_standard", "effective": "2019-01-01", "value": "4100"}
    assert client.post("/parameters/check", json=edit).status_code == 400
    page = client.get("/parameters/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/parameters/check", json=edit, headers={"X-CSRFToken": token}).get_json()["ok"] is True
    assert client.post("/parameters/drafts", data={"title": "x", "csrf_token": token}).status_code == 302


def _msgids(area: str) -> set[str]:
    found = set()
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None}
    for path in [ROOT / "web" / "views" / f"{area}.py", *sorted((ROOT / "web" / "templates" / area).glob("*.html"))]:
        method = "python" if path.suffix == ".py" else babel_extract
        options = {} if path.suffix == ".py" else {"extensions": "jinja2.ext.i18n"}
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords, options=options):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog(area: str) -> dict[str, str]:
    with open(ROOT / "web" / "translations" / area / "zh_CN" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


@pytest.mark.parametrize("area", AREAS)
def test_every_visible_string_has_a_chinese_translation(area):
    catalog = _catalog(area)
    assert sorted(m for m in _msgids(area) if not catalog.get(m)) == []
    # the catalogs are merged: the same English text must read the same everywhere
    for other in (p.parent.parent.parent.name for p in (ROOT / "web" / "translations").glob("*/*/LC_MESSAGES/*.po")):
        clashes = {k: (v, _catalog(other)[k]) for k, v in catalog.items()
                   if other != area and _catalog(other).get(k, v) != v}
        assert clashes == {}, other
