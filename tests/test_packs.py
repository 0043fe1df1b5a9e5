"""Packs as first-class data: several packs in one database, each its own line of versions; no publishing or
comparing across packs; ``doudi serve --rules`` and its demo accounts; the web's pack picker; ``?pack=``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import HUNAN
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

import doudi.admin  # noqa: F401,I001 - registers the database commands
from doudi.cli import cli
from engine import store, users, versions
from engine.errors import Conflict, NotFound
from engine.load import read_files
from engine.store import open_db
from web import create_app
from web.db import get_db, init_db

PASSWORD = "secret-pass-1"
# a made-up province with the base facts only and outputs of its own (no output of Hunan's)
LINGNAN = {
    "pack.yaml": """kind: pack
id: lingnan
title: {zh: 岭南省高龄补贴规则包（示例）, en: Lingnan elder allowance pack (example)}
root: "990000"
illustrative: true
notice: {zh: 示例取值，非正式数字, en: Sample values (not official figures)}
documents:
  - number: 岭民发〔2020〕1号
    title: 关于高龄补贴的通知
    issuer: 岭南省民政厅
    clauses:
      一: {zh: 补贴对象, en: Who receives it}
outputs:
  elder_count: elder_count
  elder_allowance: elder_allowance
""",
    "jurisdictions.yaml": """kind: jurisdictions
jurisdictions:
  - {code: "990000", name: 岭南省, level: province}
  - {code: "990100", name: 北江市, level: city, parent: "990000"}
  - {code: "990102", name: 清溪县, level: county, parent: "990100"}
""",
    "parameters.yaml": """kind: parameters
parameters:
  elder_allowance_rate:
    label: {zh: 高龄补贴标准, en: Elder allowance rate}
    unit: 元/人·月
    type: money
    reference: 岭民发〔2020〕1号 一
    minimum: 0
""",
    "values/990000-岭南省.yaml": """kind: values
jurisdiction: "990000"
values:
  elder_allowance_rate:
    - {from: 2018-01-01, value: 100, document: 岭民发〔2020〕1号}
""",
    "rules/10-elder.yaml": """kind: rules
programme: elder
title: {zh: 高龄补贴, en: Elder allowance}
variables:
  elder_count: {type: int, default: 0, label: {zh: 七十岁以上人数, en: Members aged 70 or more}}
  elder_allowance: {type: money, default: 0, label: {zh: 高龄补贴, en: Elder allowance}}
rules:
  - id: elder.allowance
    title: {zh: 七十岁以上老人按月补贴, en: Monthly allowance for members aged 70 or more}
    reference: 岭民发〔2020〕1号 一
    set:
      elder_count: count(m for m in members if m.age >= 70)
      elder_allowance: elder_count * elder_allowance_rate
""",
}


@pytest.fixture
def lingnan(tmp_path) -> Path:
    folder = tmp_path / "lingnan"
    for name, text in LINGNAN.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def two(db, lingnan):
    """The Hunan pack as version 1, the made-up one as version 2."""
    version, created = versions.import_folder(db, lingnan, "test")
    assert (version.number, version.pack_id, created) == (2, "lingnan", True)
    return db


def test_each_pack_is_its_own_line_of_versions(two, tmp_path):
    assert [(p.id, p.latest, p.versions) for p in versions.packs(two)] == [("hunan", 1, 1), ("lingnan", 2, 1)]
    assert [v.number for v in versions.list_versions(two, "lingnan")] == [2]
    assert versions.get_version(two).pack_id == "hunan"  # no pack named: the first imported
    assert versions.pack_of(two, pack="lingnan")[1].root == "990000"
    with versions.working_pack("lingnan"):
        assert versions.get_version(two).number == 2
    with pytest.raises(NotFound, match="no pack 'guangxi'"):
        versions.get_version(two, pack="guangxi")
    # a pack already in the database keeps its versions: a changed folder of it is not imported on top
    changed = tmp_path / "hunan"
    shutil.copytree(HUNAN, changed)
    path = changed / "values" / "431322-新化县.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("value: 3960", "value: 4100"), encoding="utf-8")
    again, created = versions.import_folder(two, changed, "test")
    assert (again.number, created) == (1, False)
    assert len(versions.list_versions(two)) == 2


def test_a_draft_is_not_published_into_another_pack(two):
    admin = users.add_user(two, "test", "a1", PASSWORD, "province_officer", "990000",
                           pack=versions.pack_holding(two, "990000"))
    from engine import drafts

    draft = drafts.create_draft(two, admin, "改名", base_version=2)
    files = versions.version_files(two, 2)
    files["pack.yaml"] = files["pack.yaml"].replace("id: lingnan", "id: hunan")
    with pytest.raises(Conflict, match="based on pack 'lingnan' but its pack.yaml says 'hunan'") as info:
        versions.publish(two, files, "a1", f"draft {draft.id}", draft.id)
    assert "草稿只能发布到本规则包的版本序列中" in info.value.message_zh
    assert len(versions.list_versions(two)) == 2


def test_versions_published_before_get_the_id_of_their_stored_pack(tmp_path):
    path = tmp_path / "old.db"
    old = Migrations("doudi")
    for step in (store.m001_initial, store.m002_decisions_immutable, store.m003_audit_jurisdiction,
                 store.m004_draft_author_jurisdiction, store.m005_sign_in_throttle):
        old()(step)
    database = Database(path)
    old.apply(database)
    files = read_files(HUNAN)
    database.table("versions").insert({"number": 1, "digest": "sha256:" + "0" * 64, "created_at": "2020-01-01",
                                       "files": json.dumps(files, ensure_ascii=False)})
    database.conn.close()
    migrated = open_db(path)
    assert versions.get_version(migrated, 1).pack_id == "hunan"
    with pytest.raises(Exception, match="immutable"):
        migrated.execute("update versions set title = 'x'")


def _run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def test_cli_refuses_to_compare_two_packs(lingnan, tmp_path):
    database = tmp_path / "d.db"
    assert _run("init", "--db", database).exit_code == 0
    imported = _run("init", "--db", database, "--rules", lingnan)
    assert "imported as version 2" in imported.output
    listed = _run("versions", "--db", database).output.splitlines()
    assert [line.split()[:2] for line in listed] == [["1", "hunan"], ["2", "lingnan"]]
    for command in ("diff", "impact"):
        refused = _run(command, 1, 2, "--db", database)
        assert refused.exit_code == 2
        assert "pack 'hunan' and pack 'lingnan' are different packs" in refused.output
        assert "只能比较同一规则包的版本" in refused.output
    assert _run("diff", HUNAN, lingnan, "--db", database).exit_code == 2
    added = _run("users", "add", "qx", "--role", "caseworker", "--jurisdiction", "990102", "--password", PASSWORD,
                 "--db", database)
    assert added.exit_code == 0, added.output


def test_serve_imports_its_pack_and_makes_demo_accounts_in_its_jurisdictions(lingnan, tmp_path):
    from doudi.serve import prepare

    alone = tmp_path / "alone.db"
    pack_id, created = prepare(alone, lingnan)
    db = open_db(alone)
    accounts = {u.username: (u.role, u.jurisdiction, u.name) for u in users.list_users(db)}
    assert pack_id == "lingnan" and len(created) == 5
    assert accounts["province"] == ("province_officer", "990000", "岭南省 政策处")
    assert accounts["local"] == ("local_officer", "990102", "清溪县民政局")
    assert accounts["caseworker"] == ("caseworker", "990102", "清溪县 经办人")
    # a database already serving Hunan: the other pack is a line of its own, with its own demo accounts
    both = tmp_path / "both.db"
    assert prepare(both)[0] == "hunan"
    versions.import_folder(open_db(both), lingnan, "doudi init")  # imported before: serve still adds its accounts
    pack_id, created = prepare(both, lingnan)
    assert pack_id == "lingnan"
    assert sorted(name for name, _, _ in created) == ["lingnan-caseworker", "lingnan-local", "lingnan-province",
                                                       "lingnan-reviewer"]
    db = open_db(both)
    assert users.get_user(db, "lingnan-local").jurisdiction == "990102"
    assert users.get_user(db, "local").jurisdiction.startswith("43")
    assert [(p.id, p.latest) for p in versions.packs(db)] == [("hunan", 1), ("lingnan", 2)]
    assert prepare(both, lingnan) == ("lingnan", [])  # the second start changes nothing


@pytest.fixture
def app(tmp_path, lingnan):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "w.db"), "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": False, "BATCH_FOLDER": str(tmp_path / "batch")})
    init_db(app)
    with app.app_context():
        db = get_db()
        versions.import_folder(db, lingnan, "test")
        for username, role, code in (("admin", "admin", None), ("xinhua", "local_officer", "431322"),
                                     ("qingxi", "local_officer", "990102"), ("reviewer", "reviewer", "430000")):
            users.add_user(db, None, username, PASSWORD, role, code, pack=versions.pack_holding(db, code))
    return app


def _client(app, username):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def test_the_web_lists_both_packs_and_switching_works(app):
    admin = _client(app, "admin")
    home = admin.get("/").get_data(as_text=True)
    assert 'name="pack"' in home and "（hunan）" in home and "（lingnan）" in home
    assert "湖南省社会保障兜底一批" in home  # the first pack, until another is chosen
    assert admin.post("/packs/choose", data={"pack": "lingnan", "next": "/versions/"}).status_code == 302
    page = admin.get("/versions/").get_data(as_text=True)
    assert "岭南省高龄补贴规则包" in page and "湖南省社会保障兜底一批" not in page.split("</header>")[1]
    standards = admin.get("/jurisdictions/")
    assert standards.status_code == 200 and "清溪县" in standards.get_data(as_text=True)
    assert "elder_allowance_rate" in standards.get_data(as_text=True)
    refused = _client(app, "reviewer").get("/versions/compare?from=1&to=2&n=0")
    assert refused.status_code == 409 and "只能比较同一规则包的版本" in refused.get_data(as_text=True)
    assert admin.post("/packs/choose", data={"pack": "guangxi"}).status_code == 404


def test_a_user_keeps_their_jurisdiction_and_is_refused_another_pack(app):
    qingxi = _client(app, "qingxi")
    assert "岭南省高龄补贴规则包" in qingxi.get("/").get_data(as_text=True)  # the pack holding 990102
    refused = qingxi.post("/packs/choose", data={"pack": "hunan"})
    assert refused.status_code == 403 and "不在规则包 hunan 中" in refused.get_data(as_text=True)
    xinhua = _client(app, "xinhua")
    assert xinhua.post("/packs/choose", data={"pack": "lingnan"}).status_code == 403
    assert "湖南省社会保障兜底一批" in xinhua.get("/").get_data(as_text=True)


def test_the_api_takes_the_pack_as_a_parameter(app):
    with app.app_context():
        token = users.issue_token(get_db(), "test", "reviewer", "tests")
    api, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    packs = api.get("/api/v1/packs", headers=headers).get_json()["packs"]
    assert [(p["id"], p["latest"]) for p in packs] == [("hunan", 1), ("lingnan", 2)]
    line = api.get("/api/v1/versions?pack=lingnan", headers=headers).get_json()["versions"]
    assert [(v["number"], v["pack"]) for v in line] == [(2, "lingnan")]
    tree = api.get("/api/v1/jurisdictions?pack=lingnan", headers=headers)
    assert tree.status_code == 200 and "990102" in tree.get_data(as_text=True)
    assert api.get("/api/v1/jurisdictions", headers=headers).get_json()
    assert "431322" in api.get("/api/v1/jurisdictions", headers=headers).get_data(as_text=True)
    refused = api.get("/api/v1/compare?from=1&to=2", headers=headers)
    assert refused.status_code == 409 and "different packs" in refused.get_json()["error"]["message"]
