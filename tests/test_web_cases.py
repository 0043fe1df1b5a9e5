"""The caseworker's pages end to end with Flask's test client: household check and its printable decision,
decision history with replay, batch review of a roll, the audit log and user administration."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import time
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from engine import decisions, users
from engine.synth import synth_households
from web import create_app
from web.db import get_db, init_db

WEB = Path(__file__).resolve().parent.parent / "web"
AREAS = ("check", "batch", "history", "audit", "admin")
PEOPLE = {
    "xinhua": ("caseworker", "431322", "王经办"),
    "changsha": ("caseworker", "430121", "李经办"),
    "reviewer": ("reviewer", "430000", "赵审核"),
    "loudi": ("local_officer", "431300", "娄底市政策员"),
    "admin": ("admin", None, "系统管理员"),
}
PASSWORD = "secret-pass-1"
ELDER = {"household_id": "XH-0001", "county": "431322", "as_of": "2019-06-01", "registered_poor": "1",
         "members[0].id": "m1", "members[0].name": "张奶奶", "members[0].age": "75"}


@pytest.fixture
def app(tmp_path):
    """An app on a fresh database with version 1 and one account per person of PEOPLE."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": False, "BATCH_FOLDER": str(tmp_path / "batch")})
    init_db(app)
    with app.app_context():
        for username, (role, jurisdiction, name) in PEOPLE.items():
            users.add_user(get_db(), None, username, PASSWORD, role, jurisdiction, name)
    return app


@pytest.fixture
def sign_in(app):
    """A test client signed in as one of PEOPLE."""

    def client(username):
        c = app.test_client()
        response = c.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.data
        return c

    return client


def page_text(response) -> str:
    """The visible text of a page: tags, scripts and templates removed, whitespace collapsed."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|template)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def output_row(response, name: str) -> str:
    """The label and value of one output row of the decision page, as text."""
    match = re.search(rf'<tr data-output="{re.escape(name)}">(.*?)</tr>', response.get_data(as_text=True), re.S)
    assert match, f"no row for {name}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match[1])).strip()


def check(client, **changes):
    return client.post("/check/", data={**ELDER, **changes})


# -- household check -----------------------------------------------------------------------------


def test_the_form_is_chinese_labelled_and_works_without_script(sign_in):
    page = sign_in("xinhua").get("/check/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    text = page_text(page)
    assert "家庭核查" in text and "户编号" in text and "家庭成员" in text and "突发事件" in text
    assert "新化县（431322）" in text  # a caseworker's county is fixed
    # three member rows, one claim row and one incident row without any script
    assert [f"members[{i}].age" in body for i in range(4)] == [True, True, True, False]
    assert 'name="medical_claims[0].disease"' in body and 'name="incidents[0].date"' in body
    assert "终末期肾病" in body and "儿童急性淋巴细胞白血病" in body  # the nine major diseases by name
    # every visible input and select has its label
    form = body.split("<template")[0]
    fields = re.findall(r'<(?:input|select)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', form)
    assert len(fields) > 60
    missing = [f for f in fields if f'for="{f}"' not in form]
    assert missing == []


def test_an_elderly_person_living_alone_gets_363_yuan(app, sign_in):
    client = sign_in("xinhua")
    response = check(client)
    assert response.status_code == 302
    decision_id = int(response.location.rsplit("/", 1)[1])
    page = client.get(response.location)
    assert page.status_code == 200
    assert output_row(page, "dibao_monthly") == "月低保金 363 元/月"
    assert output_row(page, "dibao_base_monthly") == "月基本低保金 330 元/月"
    assert output_row(page, "dibao_supplement_monthly") == "月分类增发金 33 元/月"
    assert output_row(page, "safety_net") == "兜底保障对象 是"
    assert output_row(page, "review_action") == "审核处理 新纳入低保"
    assert output_row(page, "premium_subsidy.local_finance") == "地方财政负担 125 元"
    text = page_text(page)
    # each reason with the clause it cites beside it, members by name
    assert "取330元/月；加分类增发33元/月，合计363元/月（四舍五入到元） 湘民发〔2017〕33号 二（二）" in text
    assert "张奶奶（75岁）年满70岁，按月低保标准330元/月的10%分类增发33元/月 国务院令第649号 第十二条" in text
    assert '<cite class="clause">湘民发〔2017〕33号 二（二）</cite>' in page.get_data(as_text=True)
    assert "结论：符合农村最低生活保障条件并认定为社会保障兜底对象，给予低保金363元/月" in text
    assert "规则版本 第 1 版" in text and "张奶奶" in text
    # the trace, on demand: each rule with its reference and where its parameters came from
    trace = page.get_data(as_text=True).split('<details class="trace">')[1].split("</details>")[0]
    assert "dibao.payment" in trace and "国务院令第649号 第十二条" in trace
    assert "dibao_standard = 3960" in page_text(page) and "来自 新化县 431322，2019-01-01 起施行" in page_text(page)
    assert "打印" in text
    with app.app_context():
        stored = decisions.get(get_db(), decision_id)
    assert stored["facts"]["members"] == [{"id": "m1", "name": "张奶奶", "age": 75}]
    assert stored["outputs"]["dibao_monthly"] == 363 and stored["user"] == "xinhua"


def test_every_kind_of_fact_reaches_the_engine(app, sign_in):
    client = sign_in("xinhua")
    response = check(client, **{
        "members[1].name": "孙子", "members[1].relation": "grandchild", "members[1].age": "10",
        "members[1].student": "compulsory", "members[0].disability.kind": "physical",
        "members[0].disability.grade": "2", "members[0].income.transfer": "1,200",
        "members[0].medical_aid_paid_ytd": "25000",
        "household_income.farm_net": "600.5", "assets.deposits": "3000", "assets.car": "farm_vehicle",
        "housing.dilapidated": "1", "medical_claims[0].member": "m1", "medical_claims[0].disease": "stroke",
        "medical_claims[0].in_policy_selfpaid": "25000",
        "incidents[0].type": "disaster", "incidents[0].severity": "severe", "incidents[0].date": "2019-05-20"})
    assert response.status_code == 302, page_text(response)
    with app.app_context():
        stored = decisions.get(get_db(), int(response.location.rsplit("/", 1)[1]))
    facts = stored["facts"]
    assert facts["members"][0]["disability"] == {"kind": "physical", "grade": 2}
    assert facts["members"][0]["income"] == {"transfer": 1200}
    assert facts["members"][1] == {"id": "m2", "name": "孙子", "relation": "grandchild", "age": 10,
                                   "student": "compulsory"}
    assert facts["household_income"] == {"farm_net": 600.5} and facts["assets"] == {"deposits": 3000,
                                                                                      "car": "farm_vehicle"}
    assert facts["medical_claims"] == [{"member": "m1", "disease": "stroke", "in_policy_selfpaid": 25000}]
    assert facts["medical_aid_paid_ytd"] == {"m1": 25000}
    assert facts["incidents"] == [{"type": "disaster", "severity": "severe", "date": "2019-05-20"}]
    outputs = stored["outputs"]
    assert outputs["medical_claims"] == [{"member": "m1", "disease": "stroke", "amount": 5000}]  # cap 30000 − 25000
    assert outputs["housing_priority"] is True and outputs["education_priority"] is True
    page = client.get(response.location)
    assert output_row(page, "temporary_assistance_approval") == "审批层级 县级审批"
    # the stored facts fill the form again for a second check
    again = client.get(f"/check/?from={stored['id']}").get_data(as_text=True)
    assert 'value="stroke" selected' in again and 'value="physical" selected' in again
    assert 'name="members[0].medical_aid_paid_ytd" type="text" value="25000"' in again


def test_bad_input_is_shown_next_to_its_field_in_chinese_with_what_was_typed(app, sign_in):
    client = sign_in("xinhua")
    response = check(client, **{"members[0].age": "-1", "members[1].name": "李四", "members[1].age": "七十",
                                "household_income.farm_net": "3000"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    age = re.search(r'<input id="f-members-0-age" name="members\[0\]\.age"[^>]*>', body)[0]
    assert 'value="-1"' in age and 'aria-invalid="true"' in age and 'aria-describedby="e-f-members-0-age"' in age
    assert re.search(r'<span class="error-text" id="e-f-members-0-age">-1 小于最小值 0</span>', body)
    assert re.search(r'<span class="error-text" id="e-f-members-1-age">请输入整数。</span>', body)
    # what was typed stays, and the summary names the fields as the form does
    assert 'value="李四"' in body and 'value="3000"' in body and 'value="XH-0001"' in body
    text = page_text(response)
    assert "请更正以下 2 处错误" in text and "成员 1 · 年龄：-1 小于最小值 0" in text
    with app.app_context():
        assert decisions.search(get_db()) == []


def test_missing_facts_are_asked_for(sign_in):
    client = sign_in("xinhua")
    response = client.post("/check/", data={"county": "431322", "medical_claims[0].in_policy_selfpaid": "10",
                                             "incidents[0].type": "fire"})
    assert response.status_code == 422
    text = page_text(response)
    for message in ("户编号：请填写户编号。", "家庭成员：请至少填写一名家庭成员。",
                    "医疗费用 1 · 病种：请选择病种。", "突发事件 1 · 严重程度：请选择严重程度。",
                    "突发事件 1 · 发生日期：请填写发生日期。"):
        assert message in text


def test_a_household_outside_the_caseworkers_county_is_refused(app, sign_in):
    xinhua, changsha = sign_in("xinhua"), sign_in("changsha")
    response = check(xinhua, county="430121")
    assert response.status_code == 403
    assert "长沙县（430121）不在您的管辖范围内" in page_text(response)
    decision = check(xinhua).location
    assert changsha.get(decision).status_code == 403
    assert changsha.get(f"/decisions/{decision.rsplit('/', 1)[1]}").status_code == 403
    assert changsha.post(f"/decisions/{decision.rsplit('/', 1)[1]}/replay").status_code == 403
    # an officer over a city chooses among its counties only
    form = sign_in("loudi").get("/check/").get_data(as_text=True)
    assert 'value="431322"' in form and 'value="430121"' not in form


def test_english_on_request(sign_in):
    client = sign_in("xinhua")
    client.post("/lang/en", data={"next": "/check/"})
    decision = check(client).location
    page = client.get(decision)
    assert output_row(page, "dibao_monthly") == "Monthly dibao payment 363 yuan/month"
    assert "Paid as the difference: base = (standard" in page_text(page)


# -- history and replay --------------------------------------------------------------------------


def test_history_lists_the_decision_and_replays_it_identically(app, sign_in):
    client = sign_in("xinhua")
    decision_id = int(check(client).location.rsplit("/", 1)[1])
    check(client, household_id="XH-0002")
    page = client.get("/decisions/?household_id=XH-0001")
    text = page_text(page)
    assert "XH-0001" in text and "XH-0002" not in text and "新纳入低保" in text and "363 元" in text
    assert len(re.findall(r"<tr>", page.get_data(as_text=True))) == 2  # header and one decision
    assert "XH-0002" in page_text(client.get("/decisions/"))
    replay = client.post(f"/decisions/{decision_id}/replay")
    assert replay.status_code == 200
    assert 'data-replay="identical"' in replay.get_data(as_text=True)
    assert "一致。" in page_text(replay) and "第 1 版" in page_text(replay)
    assert f'href="/check/{decision_id}"' in replay.get_data(as_text=True)
    # other counties' caseworkers see none of it
    assert "XH-0001" not in page_text(sign_in("changsha").get("/decisions/"))
    assert "XH-0001" in page_text(sign_in("loudi").get("/decisions/"))


def test_a_decision_changed_behind_doudis_back_replays_as_different_naming_the_field(app, sign_in):
    client = sign_in("xinhua")
    app.config["STORE_TRACE"] = False
    decision_id = int(check(client).location.rsplit("/", 1)[1])
    page = client.get(f"/check/{decision_id}")
    assert 'data-trace="re-evaluated"' in page.get_data(as_text=True)
    assert "未保存计算过程" in page_text(page) and "月低保标准（年标准÷12）" in page_text(page)
    with app.app_context():
        db = get_db()
        db.execute("drop trigger decisions_no_update")
        stored = json.loads(next(db.table("decisions").rows_where("id = ?", [decision_id]))["outputs"])
        db.execute("update decisions set outputs = ? where id = ?",
                   [json.dumps(stored | {"dibao_monthly": 999}), decision_id])
        db.conn.commit()
    replay = client.post(f"/decisions/{decision_id}/replay")
    text = page_text(replay)
    assert 'data-replay="different"' in replay.get_data(as_text=True)
    assert "outputs.dibao_monthly 999 363" in text and "未比较计算过程" in text


# -- batch review --------------------------------------------------------------------------------


def _roll(n: int) -> bytes:
    lines = [json.dumps(h, ensure_ascii=False) for h in synth_households(["431322"], n, seed=7)]
    lines.insert(100, '{"household_id": "BAD-1", "county": "431322", "members": [{"id": "m1", "age": -3}]}')
    return ("\n".join(lines) + "\n").encode()


def _wait(client, job: str) -> dict:
    for _ in range(300):
        status = client.get(f"/batch/{job}/status.json").get_json()
        if status["state"] != "running":
            return status
        time.sleep(0.1)
    raise AssertionError("the batch did not finish")


def test_a_roll_is_reviewed_in_the_background(app, sign_in):
    client = sign_in("xinhua")
    response = client.post("/batch/", data={"as_of": "2019-06-30", "roll": (io.BytesIO(_roll(300)), "roll.jsonl")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    job = response.location.rsplit("/", 1)[1]
    status = _wait(client, job)
    assert status["state"] == "done" and status["done"] == status["total"] == 301 and status["errors"] == 1
    page = client.get(f"/batch/{job}")
    body, text = page.get_data(as_text=True), page_text(page)
    summary = {k: float(v.replace(" 元/月", "").replace(" 元", "")) for k, v in
               re.findall(r'data-summary="([\w.]+)">([^<]+)</td>', body)}
    assert summary["households"] == 301 and summary["errors"] == 1
    assert sum(summary[f"review_action.{a}"] for a in ("enroll", "continue", "exit", "none")) == 300
    assert summary["dibao_monthly_total"] > 0 and "<svg" in body and "审核处理分布" in body
    assert "月低保金合计" in text and "符合低保条件户数" in text
    assert "共 301 户" in text
    # filters: one review action, the changed ones, the errors
    for which, actions in (("exit", {"exit"}), ("continue", {"continue"})):
        filtered = client.get(f"/batch/{job}?filter=review_action:{which}").get_data(True)
        shown = set(re.findall(r'data-output="review_action" data-value="(\w+)"', filtered))
        assert shown == actions, which
        assert f"共 {int(summary[f'review_action.{which}'])} 户" in page_text(client.get(
            f"/batch/{job}?filter=review_action:{which}"))
    eligible = client.get(f"/batch/{job}?filter=dibao_eligible:true").get_data(True)
    assert "符合低保条件：是" in eligible and 'data-output="dibao_monthly" data-value="0"' not in eligible
    errors = client.get(f"/batch/{job}?filter=errors")
    assert "BAD-1" in page_text(errors) and "members[0].age：-3 小于最小值 0" in page_text(errors)
    assert "共 1 户" in page_text(errors)
    second = page_text(client.get(f"/batch/{job}?page=4"))
    assert "第 4 / 4 页" in second
    download = client.get(f"/batch/{job}/results.csv")
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 301 and rows[100]["household_id"] == "BAD-1" and rows[100]["status"] == "error"
    assert sum(1 for r in rows if r["status"] == "ok") == 300 and rows[0]["dibao_monthly"] != ""
    # the job is its owner's only; the run is audited
    assert sign_in("loudi").get(f"/batch/{job}").status_code == 404
    assert sign_in("loudi").get(f"/batch/{job}/results.csv").status_code == 404
    audit = page_text(sign_in("reviewer").get("/audit/?action=batch"))
    assert "运行批量审核" in audit and "roll.jsonl" in audit


def test_batch_jobs_outlive_a_restart_of_the_server(app, sign_in):
    client = sign_in("xinhua")
    response = client.post("/batch/", data={"as_of": "2019-06-30", "roll": (io.BytesIO(_roll(120)), "县名册.jsonl")},
                           content_type="multipart/form-data")
    job = response.location.rsplit("/", 1)[1]
    assert _wait(client, job)["state"] == "done"
    before = page_text(client.get(f"/batch/{job}"))
    restarted = create_app(app.config)  # the same database and batch folder, nothing in memory
    client = restarted.test_client()
    client.post("/login", data={"username": "xinhua", "password": PASSWORD})
    listing = client.get("/batch/").get_data(as_text=True)
    assert f'href="/batch/{job}"' in listing and "县名册.jsonl" in listing
    assert page_text(client.get(f"/batch/{job}")) == before and "共 121 户" in before
    assert client.get(f"/batch/{job}/status.json").get_json()["errors"] == 1
    assert sign_in("loudi").get(f"/batch/{job}").status_code == 404
    assert client.get("/batch/..%2Fsecret").status_code == 404


def test_a_roll_of_another_county_and_a_csv_roll(sign_in):
    client = sign_in("xinhua")
    rows = ("household_id,county,registered_poor,member_id,age,wages\n"
            "CSV-1,431322,是,m1,80,\nCSV-1,,,m2,76,\nCSV-2,430121,否,m1,40,3000\n")
    response = client.post("/batch/", data={"as_of": "2019-06-30", "roll": (io.BytesIO(rows.encode()), "r.csv")},
                           content_type="multipart/form-data")
    job = response.location.rsplit("/", 1)[1]
    assert _wait(client, job)["errors"] == 1
    text = page_text(client.get(f"/batch/{job}"))
    assert "CSV-1" in text and "CSV-2" in text and "430121 不在您的管辖范围" in text
    bad = client.post("/batch/", data={"as_of": "someday"}, content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "请选择名册文件" in page_text(bad) and "日期请写成 YYYY-MM-DD" in page_text(bad)


# -- audit log -----------------------------------------------------------------------------------


def test_the_audit_log_shows_the_checks(sign_in):
    check(sign_in("xinhua"))
    reviewer = sign_in("reviewer")
    page = reviewer.get("/audit/")
    text = page_text(page)
    assert "操作日志" in text and "核查家庭" in text and "登录" in text
    filtered = page_text(reviewer.get("/audit/?action=evaluate"))
    assert "XH-0001 2019-06-01 v1: enroll 363" in filtered and "登录" not in filtered.split("时间")[-1]
    assert page_text(reviewer.get("/audit/?user=nobody")).count("没有符合条件的记录") == 1
    assert sign_in("xinhua").get("/audit/").status_code == 403


# -- user administration -------------------------------------------------------------------------


def test_the_admin_adds_an_account_and_issues_a_token(app, sign_in):
    admin = sign_in("admin")
    page = page_text(admin.get("/admin/users/"))
    assert "用户管理" in page and "经办人" in page and "新化县（431322）" in page
    added = admin.post("/admin/users/", data={"username": "shaoyang", "name": "邵阳经办", "role": "caseworker",
                                              "jurisdiction": "430522", "password": "long-enough-1"})
    assert added.status_code == 302
    assert "邵阳经办" in page_text(admin.get("/admin/users/"))
    issued = admin.post("/admin/users/shaoyang/token", data={"label": "数据交换"})
    token = re.search(r'value="(dd_[^"]+)" readonly', issued.get_data(as_text=True))[1]
    assert "只显示这一次" in page_text(issued)
    with app.app_context():
        assert users.user_for_token(get_db(), token).username == "shaoyang"
    assert token not in admin.get("/admin/users/shaoyang").get_data(as_text=True)
    # role and jurisdiction must fit; passwords are long enough; an account can be disabled
    wrong = admin.post("/admin/users/", data={"username": "x1", "role": "caseworker", "jurisdiction": "431300",
                                              "password": "long-enough-1"})
    assert wrong.status_code == 422 and "经办人只能设在县级行政区划" in page_text(wrong)
    short = admin.post("/admin/users/shaoyang/password", data={"password": "short"})
    assert short.status_code == 422 and "密码至少 8 位" in page_text(short)
    assert admin.post("/admin/users/shaoyang/role", data={"role": "reviewer", "jurisdiction": "430500"}).status_code \
        == 302
    admin.post("/admin/users/shaoyang/active")
    with app.app_context():
        account = users.get_user(get_db(), "shaoyang")
    assert (account.role, account.jurisdiction, account.active) == ("reviewer", "430500", False)
    assert "已停用" in page_text(admin.get("/admin/users/"))


def test_only_administrators_manage_users(sign_in):
    assert sign_in("xinhua").get("/admin/users/").status_code == 403
    assert sign_in("reviewer").post("/admin/users/", data={"username": "x"}).status_code == 403
    assert sign_in("admin").get("/check/").status_code == 403  # an administrator checks no households


# -- translations --------------------------------------------------------------------------------


def _catalog(area: str) -> dict[str, str]:
    with open(WEB / "translations" / area / "zh_CN" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


@pytest.mark.parametrize("area", AREAS)
def test_every_string_of_the_pages_has_its_chinese(area):
    sources = [(path, "python", {}) for path in sorted((WEB / "views").glob(f"{area}*.py"))] + [
        (path, "jinja2.ext:babel_extract", {"extensions": "jinja2.ext.i18n"})
        for path in sorted((WEB / "templates" / area).glob("*.html"))]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    found = {message for path, method, options in sources
             for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=keywords,
                                                                          options=options)}
    catalog = _catalog(area)
    assert sorted(m for m in found if not catalog.get(m)) == []


def test_no_other_catalog_translates_these_strings_differently():
    """Flask-Babel merges every area's catalog: a msgid translated twice shows whichever is read last."""
    mine = {area: _catalog(area) for area in AREAS}
    others = {p.parts[-4]: None for p in (WEB / "translations").glob("*/zh_CN/LC_MESSAGES/messages.po")}
    clashes = []
    for other in others:
        theirs = _catalog(other)
        for area, catalog in mine.items():
            clashes += [(area, other, m, s, theirs[m]) for m, s in catalog.items() if theirs.get(m, s) != s]
    assert clashes == []
