"""The permission matrix (issue 12, A1/A2): role × action × own/other jurisdiction × own/other draft, through
the JSON API and through the editor's forms; every cell's answer is read from the one explicit TABLE below.

The order of the checks, the same everywhere: the role (403), the scope (404: a draft outside it answers
as if it did not exist), ownership and four eyes (403), then the draft's state (409).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from engine import drafts, users, versions
from web import create_app
from web.db import get_db, init_db

PEOPLE = {
    "province": ("province_officer", "430000"),
    "county": ("local_officer", "431322"),  # 新化县
    "city": ("local_officer", "431300"),  # 娄底市, above 新化县
    "reviewer": ("reviewer", "430000"),
    "city_reviewer": ("reviewer", "431300"),
    "caseworker": ("caseworker", "431322"),
    "admin": ("admin", None),
    "far": ("local_officer", "430121"),  # 长沙县: writes the drafts of another jurisdiction; not a column below
}
# the drafts of the matrix: their author and the jurisdiction they change (None: a rules file, the province's)
KINDS = {"county": ("county", "431322"), "city": ("city", "431300"), "far": ("far", "430121"),
         "province": ("province", None)}
RULES_FILE = "rules/60-review.yaml"

# "ok" is 200 (201 for create and approve) in the API, 200 for a page and 302 for a form in the editor.
# For the rows naming a draft: the county officer wrote the "county" draft (新化县), the city officer the "city"
# one (娄底市, above 新化县), the province officer the "province" one; nobody below the province oversees 长沙县.
TABLE = """
action          draft     province county city reviewer city_reviewer caseworker admin
create          -         ok       ok     ok   403      403           403        403
list            -         ok       ok     ok   ok       ok            403        403
read_audit      -         ok       403    403  ok       ok            403        ok
read            county    ok       ok     ok   ok       ok            403        403
read            city      ok       404    ok   ok       ok            403        403
read            far       ok       404    404  ok       404           403        403
read            province  ok       404    404  ok       404           403        403
read_file       county    ok       ok     ok   ok       ok            403        403
read_file       city      ok       404    ok   ok       ok            403        403
read_file       far       ok       404    404  ok       404           403        403
read_file       province  ok       404    404  ok       404           403        403
compare         county    ok       ok     ok   ok       ok            403        403
compare         far       ok       404    404  ok       404           403        403
impact          county    ok       ok     ok   ok       ok            403        403
impact          far       ok       404    404  ok       404           403        403
edit_parameter  county    403      ok     403  403      403           403        403
edit_parameter  city      403      404    ok   403      403           403        403
edit_parameter  far       403      404    404  403      403           403        403
edit_parameter  province  ok       404    404  403      403           403        403
edit_elsewhere  county    403      403    403  403      403           403        403
edit_elsewhere  province  ok       404    404  403      403           403        403
edit_file       county    403      403    403  403      403           403        403
edit_file       province  ok       403    403  403      403           403        403
submit          county    403      ok     403  403      403           403        403
submit          city      403      404    ok   403      403           403        403
submit          far       403      404    404  403      403           403        403
submit          province  ok       404    404  403      403           403        403
approve         county    403      403    403  ok       ok            403        403
approve         city      403      403    403  ok       ok            403        403
approve         far       403      403    403  ok       404           403        403
approve         province  403      403    403  ok       404           403        403
reject          county    403      403    403  ok       ok            403        403
reject          city      403      403    403  ok       ok            403        403
reject          far       403      403    403  ok       404           403        403
reject          province  403      403    403  ok       404           403        403
"""
# which drafts each user finds in the lists (API, the drafts page, the compare pickers), and whose draft.create
# entries each reader of the audit log sees
LISTED = {"province": {"county", "city", "far", "province"}, "county": {"county"}, "city": {"county", "city"},
          "reviewer": {"county", "city", "far", "province"}, "city_reviewer": {"county", "city"}}
AUDITED = {"province": {"county", "city", "far", "province"}, "reviewer": {"county", "city", "far", "province"},
           "city_reviewer": {"county", "city"}, "admin": {"county", "city", "far", "province"}}


def _table() -> dict[tuple[str, str, str], str]:
    lines = [line.split() for line in TABLE.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    return {(row[0], row[1], user): cell for row in rows for user, cell in zip(header[2:], row[2:], strict=True)}


CELLS = _table()
SUBJECTS = [name for name in PEOPLE if name != "far"]
MUTATING = {"edit_parameter", "edit_elsewhere", "edit_file", "submit", "approve", "reject"}
STATE = {"submit": "editing", "approve": "submitted", "reject": "submitted"}  # edits: "editing"


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    """One database for the module: version 1, an account per entry of PEOPLE, a draft of each kind (created
    through the engine, so that the audit log has their draft.create), and for each cell expected to change
    something, a draft of its own in the state it needs (written directly: the same rows the engine writes)."""
    path = tmp_path_factory.mktemp("permissions") / "doudi.db"
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
    init_db(app)
    with app.app_context():
        db = get_db()
        _, pack = versions.pack_of(db)
        base = versions.version_files(db, 1)
        tokens = {}
        for name, (role, code) in PEOPLE.items():
            users.add_user(db, "test", name, "password-1", role, code, pack=pack)
            tokens[name] = users.issue_token(db, "test", name)
        counter = iter(range(1, 10_000))
        valued = {code: drafts.with_value(base, pack, code, "dibao_standard",  # each draft its own value (below)
                                          {"from": "2030-01-01", "value": 5000, "document": "测试"})
                  for _author, code in KINDS.values() if code}

        def changed(kind: str, draft_id: int | None = None, status: str = "editing") -> int:
            author, code = KINDS[kind]
            n = next(counter)
            if code:
                path_, files = valued[code]
                files = files | {path_: files[path_].replace("value: 5000, document: 测试",
                                                             f"value: {5000 + n}, document: 测试")}
            else:
                path_, files = RULES_FILE, base | {RULES_FILE: base[RULES_FILE].replace(
                    "title: {zh: 动态管理, en: Dynamic management}", f"title: {{zh: 动态管理{n}, en: Review {n}}}", 1)}
            row = {"files": json.dumps(files, ensure_ascii=False), "jurisdictions": json.dumps([code or pack.root]),
                   "status": status, "revision": 1, "submitted_at": "2030-01-01" if status == "submitted" else None}
            if draft_id is None:
                draft_id = db.table("drafts").insert(row | {
                    "base_version": 1, "title": f"{kind} {n}", "author": author,
                    "author_jurisdiction": PEOPLE[author][1], "created_at": "2030-01-01", "updated_at": "2030-01-01"}
                ).last_pk
            else:
                db.table("drafts").update(draft_id, row)
            db.table("draft_changes").insert({"draft_id": draft_id, "at": "2030-01-01", "user": author,
                                              "kind": "parameter" if code else "file", "jurisdiction": code,
                                              "parameter": "dibao_standard" if code else None, "path": path_})
            return int(draft_id)

        shared = {}
        for kind, (author, _code) in KINDS.items():
            created = drafts.create_draft(db, users.get_user(db, author), f"{kind}")
            shared[kind, "editing"] = changed(kind, created.id)
            shared[kind, "submitted"] = changed(kind, status="submitted")
        own = {(channel, action, kind, user): changed(kind, status=STATE.get(action, "editing"))
               for (action, kind, user), cell in CELLS.items() if action in MUTATING and cell == "ok"
               for channel in ("api", "web")}
        kinds = {draft_id: kind for (kind, _), draft_id in shared.items()} | {
            draft_id: key[2] for key, draft_id in own.items()}
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    clients = {}
    for name in SUBJECTS:
        clients[name] = app.test_client()
        signed_in = clients[name].post("/login", data={"username": name, "password": "password-1"})
        assert signed_in.status_code == 302, name
    return {"app": app, "tokens": tokens, "clients": clients, "shared": shared, "own": own, "kinds": kinds}


def _draft(matrix: dict[str, Any], channel: str, action: str, kind: str, user: str) -> int:
    return matrix["own"].get((channel, action, kind, user)) or matrix["shared"][kind, STATE.get(action, "editing")]


def _api(matrix: dict[str, Any], action: str, kind: str, user: str) -> Any:
    client = matrix["app"].test_client()
    headers = {"Authorization": f"Bearer {matrix['tokens'][user]}"}
    if action == "create":
        return client.post("/api/v1/drafts", json={"title": "新草稿"}, headers=headers)
    if action == "list":
        return client.get("/api/v1/drafts?all=true", headers=headers)
    if action == "read_audit":
        return client.get("/api/v1/audit?action=draft.create", headers=headers)
    draft_id = _draft(matrix, "api", action, kind, user)
    url = f"/api/v1/drafts/{draft_id}"
    code = KINDS[kind][1] or "431322"
    edit = {"parameter": "dibao_standard", "effective": "2031-01-01", "value": 5100, "document": "测试〔2031〕1号",
            "revision": 1}
    requests = {
        "read": lambda: client.get(url, headers=headers),
        "read_file": lambda: client.get(f"{url}/files/pack.yaml", headers=headers),
        "compare": lambda: client.get(f"/api/v1/compare?from=1&to=draft:{draft_id}", headers=headers),
        "impact": lambda: client.post("/api/v1/impact", headers=headers, json={
            "from": 1, "to": f"draft:{draft_id}", "as_of": "2019-06-30", "synthetic": {"n": 3, "seed": 1}}),
        "edit_parameter": lambda: client.put(f"{url}/parameters", headers=headers, json=edit | {"jurisdiction": code}),
        "edit_elsewhere": lambda: client.put(f"{url}/parameters", headers=headers,
                                             json=edit | {"jurisdiction": "430121"}),
        "edit_file": lambda: client.put(f"{url}/files/{RULES_FILE}", headers=headers, json={
            "text": "# 改\n" + versions.version_files(get_db(), 1)[RULES_FILE], "revision": 1, "document": "测试"}),
        "submit": lambda: client.post(f"{url}/submit", headers=headers),
        "approve": lambda: client.post(f"{url}/approve", headers=headers, json={"comment": "同意"}),
        "reject": lambda: client.post(f"{url}/reject", headers=headers, json={"comment": "退回"}),
    }
    with matrix["app"].app_context():
        return requests[action]()


def _web(matrix: dict[str, Any], action: str, kind: str, user: str) -> Any:
    client = matrix["clients"][user]
    if action == "create":
        return client.post("/drafts/", data={"title": "新草稿"})
    if action == "list":
        return client.get("/drafts/")
    if action == "read_audit":
        return client.get("/audit/?action=draft.create")
    draft_id = _draft(matrix, "web", action, kind, user)
    code = KINDS[kind][1] or "431322"
    edit = {"draft": str(draft_id), "revision": "1", "parameter": "dibao_standard", "effective": "2031-01-01",
            "value": "5100", "document": "测试〔2031〕1号", "reason": "测试"}
    requests = {
        "read": lambda: client.get(f"/drafts/{draft_id}"),
        "read_file": lambda: client.get(f"/rules/doc/pack.yaml?draft={draft_id}"),
        "compare": lambda: client.get(f"/versions/compare?from=1&to=draft:{draft_id}&n=0"),
        "impact": lambda: client.get(f"/versions/compare?from=1&to=draft:{draft_id}&n=3&as_of=2019-06-30"),
        "edit_parameter": lambda: client.post("/parameters/save", data=edit | {"jurisdiction": code}),
        "edit_elsewhere": lambda: client.post("/parameters/save", data=edit | {"jurisdiction": "430121"}),
        "edit_file": lambda: client.post(f"/rules/draft/{draft_id}/{RULES_FILE}", data={
            "text": "# 改\n" + _base_rules(matrix), "revision": "1", "document": "测试", "reason": "测试"}),
        "submit": lambda: client.post(f"/drafts/{draft_id}/submit"),
        "approve": lambda: client.post(f"/drafts/{draft_id}/approve", data={"comment": "同意"}),
        "reject": lambda: client.post(f"/drafts/{draft_id}/reject", data={"comment": "退回"}),
    }
    return requests[action]()


def _base_rules(matrix: dict[str, Any]) -> str:
    with matrix["app"].app_context():
        return versions.version_files(get_db(), 1)[RULES_FILE]


def _ok(channel: str, action: str) -> int:
    if channel == "api":
        return 201 if action in ("create", "approve") else 200
    return 200 if action in ("list", "read_audit", "read", "read_file", "compare", "impact") else 302


@pytest.mark.parametrize(("channel", "action", "kind", "user"), [
    pytest.param(channel, action, kind, user, id=f"{channel}-{action}-{kind}-{user}")
    for (action, kind, user) in CELLS for channel in ("api", "web")])
def test_permission_matrix(matrix, channel, action, kind, user):
    cell = CELLS[action, kind, user]
    response = (_api if channel == "api" else _web)(matrix, action, kind, user)
    expected = _ok(channel, action) if cell == "ok" else int(cell)
    assert response.status_code == expected, f"{user} {action} {kind}: {response.text[:300]}"
    if channel == "api" and cell != "ok":
        error = response.get_json()["error"]
        assert (error["status"], error["code"]) == (expected, {403: "forbidden", 404: "not_found"}[expected])
    if cell == "404":  # a draft outside the scope reads exactly like one that does not exist
        draft_id = _draft(matrix, channel, action, kind, user)
        if channel == "api":
            assert response.get_json()["error"]["message"] == f"no draft {draft_id}"
        else:
            assert f"草稿 {draft_id} 不存在" in response.text
    if channel == "web" and cell == "ok" and response.status_code == 302:
        assert "/login" not in response.headers["Location"]


@pytest.mark.parametrize("user", LISTED)
def test_the_lists_and_the_pickers_offer_the_drafts_in_scope_only(matrix, user):
    kinds = {draft_id: kind for (kind, _), draft_id in matrix["shared"].items()}  # no cell changes these
    api = _api(matrix, "list", "-", user).get_json()["drafts"]
    assert {kinds[d["id"]] for d in api if d["id"] in kinds} == LISTED[user]
    page = _web(matrix, "list", "-", user).text
    assert {kinds[int(i)] for i in re.findall(r'href="/drafts/(\d+)"', page) if int(i) in kinds} == LISTED[user]
    pickers = matrix["clients"][user].get("/versions/").text
    assert {kinds[int(i)] for i in re.findall(r'value="draft:(\d+)"', pickers) if int(i) in kinds} == LISTED[user]
    for kind in set(KINDS) - LISTED[user]:  # nor can they reach one through the compare page
        hidden = matrix["shared"][kind, "editing"]
        assert matrix["clients"][user].get(f"/versions/compare?from=1&to=draft:{hidden}&n=0").status_code == 404


@pytest.mark.parametrize("user", AUDITED)
def test_the_audit_log_shows_the_entries_in_scope_only(matrix, user):
    created = {matrix["shared"][kind, "editing"]: kind for kind in KINDS}
    api = _api(matrix, "read_audit", "-", user).get_json()["entries"]
    assert {created[int(e["object_id"])] for e in api if int(e["object_id"]) in created} == AUDITED[user]
    page = _web(matrix, "read_audit", "-", user).text
    shown = re.findall(r'data-action="draft.create">[^<]*</td>\s*<td>[^<]*?(\d+)</td>', page)
    assert {created[int(i)] for i in shown if int(i) in created} == AUDITED[user]
