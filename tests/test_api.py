"""The JSON API under /api/v1: the review workflow end to end, concurrency, the permission matrix,
the error shape, and every response checked against the OpenAPI document the API serves."""

from __future__ import annotations

import json
import re
import shutil
import threading
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from engine import decisions, drafts, users, versions
from engine.evaluate import evaluate
from engine.schemas import SCHEMA_DIR, schema
from web import create_app
from web.db import get_db, init_db

PREFIX = "/api/v1"
# one account per role, in and out of 新化县 (431322, in 娄底市 431300) and 长沙县 (430121, in 长沙市 430100)
PEOPLE = {
    "province": ("province_officer", "430000"),
    "xinhua": ("local_officer", "431322"),
    "loudi": ("local_officer", "431300"),
    "changsha": ("local_officer", "430121"),
    "reviewer": ("reviewer", "430000"),
    "loudi_reviewer": ("reviewer", "431300"),
    "changsha_reviewer": ("reviewer", "430100"),
    "caseworker": ("caseworker", "431322"),
    "changsha_caseworker": ("caseworker", "430121"),
    "admin": ("admin", None),
}
XINHUA_ELDER = {"household_id": "XH-0001", "county": "431322", "members": [{"id": "m1", "age": 75}]}
CHANGSHA_ELDER = {"household_id": "CS-0001", "county": "430121", "members": [{"id": "m1", "age": 75}]}
# what the template database holds besides version 1 (ids the permission matrix refers to)
EDITING_DRAFT, SUBMITTED_DRAFT, XINHUA_DECISION = 1, 2, 1
VALUES_FILE = "values/431322-新化县.yaml"


# -- the OpenAPI document as the contract of every response --------------------------------------


class Contract:
    """The served OpenAPI document: finds the operation of a request and checks a response against it."""

    URI = "urn:doudi:openapi"

    def __init__(self, document: dict[str, Any]):
        self.document = document
        self.registry: Registry[Any] = Registry().with_resource(self.URI, DRAFT202012.create_resource(document))
        self.routes = [(re.compile("^" + re.sub(r"\{(\w+)\}", lambda m: "(.+)" if m[1] == "path" else "[^/]+",
                                                path) + "$"), path) for path in document["paths"]]
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            self._validators[pointer] = Draft202012Validator(
                {"$ref": f"{self.URI}#{pointer}"}, registry=self.registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER)
        return self._validators[pointer]

    def check(self, method: str, url: str, response: Any) -> None:
        path = url.split("?")[0]
        assert response.mimetype == "application/json", f"{method} {url}: {response.mimetype}"
        data = response.get_json()
        template = next((t for rx, t in self.routes if rx.match(path)), None)
        operation = self.document["paths"].get(template, {}).get(method.lower()) if template else None
        if operation is None:  # no such route or method: the error shape all the same
            assert response.status_code in (404, 405), f"{method} {url}: {response.status_code}"
            pointer = "/components/schemas/Error"
        else:
            status = str(response.status_code)
            assert status in operation["responses"], f"{method} {template}: {status} is not documented: {data}"
            documented = operation["responses"][status]
            if "$ref" in documented:
                pointer = documented["$ref"][1:] + "/content/application~1json/schema"
            else:
                escaped = template.replace("~", "~0").replace("/", "~1")
                pointer = f"/paths/{escaped}/{method.lower()}/responses/{status}/content/application~1json/schema"
        errors = sorted(self.validator(pointer).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
        assert not errors, f"{method} {url} {response.status_code} breaks {pointer}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5])


class Api:
    """The Flask test client speaking as one of PEOPLE; every response is checked against the contract."""

    def __init__(self, app: Any, tokens: dict[str, str], contract: Contract):
        self.app, self.tokens, self.contract = app, tokens, contract

    def request(self, method: str, url: str, user: str | None = None, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if user is not None:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        response = self.app.test_client().open(PREFIX + url, method=method, headers=headers, **kwargs)
        self.contract.check(method, url, response)
        return response

    def get(self, url: str, user: str | None = None, **kwargs: Any) -> Any:
        return self.request("GET", url, user, **kwargs)

    def post(self, url: str, user: str | None = None, **kwargs: Any) -> Any:
        return self.request("POST", url, user, **kwargs)

    def put(self, url: str, user: str | None = None, **kwargs: Any) -> Any:
        return self.request("PUT", url, user, **kwargs)


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """A database file with the Hunan pack as version 1, an account and a token per entry of PEOPLE, an
    editing and a submitted draft of xinhua's, and one stored decision; tests work on copies of it."""
    path = tmp_path_factory.mktemp("api") / "template.db"
    app = create_app({"TESTING": True, "DATABASE": str(path)})
    version, created = init_db(app)
    assert (version.number, created) == (1, True)
    assert init_db(app)[1] is False  # a second init changes nothing
    with app.app_context():
        db = get_db()
        _, pack = versions.pack_of(db)
        tokens = {}
        for name, (role, code) in PEOPLE.items():
            users.add_user(db, "test", name, "password-1", role, code, pack=pack)
            tokens[name] = users.issue_token(db, "test", name, "tests")
        xinhua = users.get_user(db, "xinhua")
        for title, value in (("editing", 4000), ("submitted", 4100)):
            draft = drafts.create_draft(db, xinhua, title)
            drafts.set_parameter_value(db, draft.id, xinhua, jurisdiction="431322", parameter="dibao_standard",
                                       effective="2019-01-01", value=value, document="新政发〔2019〕9号",
                                       revision=draft.revision)
        drafts.submit(db, SUBMITTED_DRAFT, xinhua)
        decisions.record(db, evaluate(pack, XINHUA_ELDER, "2019-06-01", version=1), XINHUA_ELDER, "caseworker")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path, tokens


@pytest.fixture(scope="session")
def contract(template):
    """The OpenAPI document as served (no token needed), valid OpenAPI 3.1."""
    app = create_app({"TESTING": True, "DATABASE": str(template[0])})
    response = app.test_client().get(PREFIX + "/openapi.json")
    assert response.status_code == 200
    validate_spec(response.get_json())
    return Contract(response.get_json())


@pytest.fixture()
def app(template, tmp_path):
    """The application over a fresh copy of the template database."""
    shutil.copy(template[0], tmp_path / "doudi.db")
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "doudi.db")})


@pytest.fixture()
def api(app, template, contract):
    """A client for ``app`` that signs requests as one of PEOPLE and checks each response's contract."""
    return Api(app, template[1], contract)


@pytest.fixture(scope="module")
def reader(template, contract, tmp_path_factory):
    """Like ``api``, over one copy of the template shared by the requests that change nothing."""
    path = tmp_path_factory.mktemp("reader") / "doudi.db"
    shutil.copy(template[0], path)
    return Api(create_app({"TESTING": True, "DATABASE": str(path)}), template[1], contract)


# -- 1. the review workflow end to end, through the API alone --------------------------------------


def test_a_county_raises_its_standard_and_the_province_approves_it(api):
    stored = api.post("/evaluate", "caseworker", json={"household": XINHUA_ELDER, "as_of": "2019-06-01"})
    assert stored.status_code == 200
    before = stored.get_json()
    assert (before["rule_version"]["number"], before["outputs"]["dibao_standard"]) == (1, 3960)

    created = api.post("/drafts", "xinhua", json={"title": "新化县 2019 年低保标准调整"})
    assert created.status_code == 201
    draft = created.get_json()
    url, revision = f"/drafts/{draft['id']}", draft["revision"]
    change = {"jurisdiction": "431322", "parameter": "dibao_standard", "effective": "2019-01-01",
              "document": "新政发〔2019〕9号", "reason": "物价上涨", "revision": revision}

    below = api.put(f"{url}/parameters", "xinhua", json=change | {"value": 3900})
    assert below.status_code == 422
    detail = below.get_json()["error"]["details"][0]
    assert detail["path"] == "value"
    assert "3960" in detail["message"] and "湘民发〔2017〕33号 二（二）" in detail["message"]
    assert "低于" in detail["message_zh"]

    saved = api.put(f"{url}/parameters", "xinhua", json=change | {"value": 4100})
    assert saved.status_code == 200
    assert (saved.get_json()["revision"], saved.get_json()["jurisdictions"]) == (revision + 1, ["431322"])
    revision += 1
    elsewhere = api.put(f"{url}/parameters", "xinhua",
                        json=change | {"jurisdiction": "430121", "value": 7000, "revision": revision})
    assert elsewhere.status_code == 403
    assert "430121" in elsewhere.get_json()["error"]["message"]

    assert api.post(f"{url}/submit", "xinhua").get_json()["status"] == "submitted"
    own = api.post(f"{url}/approve", "xinhua", json={"comment": "自己批"})
    assert own.status_code == 403 and "may not draft.decide" in own.get_json()["error"]["message"]

    diff = api.get(f"/compare?from=1&to=draft:{draft['id']}", "reviewer").get_json()
    [raised] = diff["parameters"]
    assert (raised["jurisdiction"], raised["parameter"], raised["old"], raised["new"], raised["delta"]) == \
        ("431322", "dibao_standard", 3960, 4100, 140)
    assert diff["affected_counties"] == ["431322"]
    roll = api.post("/impact", "reviewer", json={"from": 1, "to": f"draft:{draft['id']}", "as_of": "2019-06-30",
                                                 "households": [XINHUA_ELDER, CHANGSHA_ELDER]}).get_json()
    monthly = roll["amounts"]["dibao_monthly"]
    gained = roll["flags"]["dibao_eligible"]["gained"]
    assert (roll["households"], monthly["up"], monthly["down"], gained) == (2, 1, 0, 0)
    assert (monthly["delta"], roll["movers_by"], roll["legend"]["dibao_monthly"]["label"]["zh"]) == (
        13, "dibao_monthly", "月低保金")
    assert [(m["household_id"], m["old"], m["new"], m["flags"]["dibao_eligible"]) for m in roll["top"]] == \
        [("XH-0001", 363, 376, {"old": True, "new": True})]
    sample = api.post("/impact", "reviewer", json={"from": 1, "to": f"draft:{draft['id']}", "as_of": "2019-06-30",
                                                   "synthetic": {"n": 300, "seed": 7}}).get_json()
    assert sample["population"] == {"synthetic": {"n": 300, "seed": 7}} and sample["households"] == 300
    assert {c["code"] for c in sample["counties"] if c["evaluated"]} <= {"431322"}

    approved = api.post(f"{url}/approve", "reviewer", json={"comment": "同意"})
    assert approved.status_code == 201 and approved.get_json()["number"] == 2
    assert api.get(url, "reviewer").get_json()["status"] == "approved"
    assert api.get("/compare?from=1&to=2", "reviewer").get_json()["parameters"][0]["new"] == 4100

    after = api.post("/evaluate", "caseworker", json={"household": XINHUA_ELDER, "as_of": "2019-06-01"}).get_json()
    assert (after["rule_version"]["number"], after["outputs"]["dibao_standard"], after["outputs"]["dibao_monthly"]) \
        == (2, 4100, 376)
    replay = api.post(f"/decisions/{before['decision_id']}/replay", "caseworker").get_json()
    assert replay["identical"] is True and replay["rule_version"]["number"] == 1
    assert replay["replayed"]["outputs"]["dibao_standard"] == 3960

    log = api.get("/audit?limit=1000", "reviewer").get_json()["entries"]
    steps = {(e["action"], e["user"], e["object_id"]) for e in log}
    draft_id = str(draft["id"])
    stored_id, new_id = str(before["decision_id"]), str(after["decision_id"])
    assert {("draft.create", "xinhua", draft_id), ("draft.save", "xinhua", draft_id),
            ("draft.submit", "xinhua", draft_id), ("draft.approve", "reviewer", draft_id),
            ("publish", "reviewer", "2"), ("evaluate", "caseworker", stored_id), ("evaluate", "caseworker", new_id),
            ("replay", "caseworker", stored_id)} <= steps
    saves = [e for e in log if e["action"] == "draft.save" and e["object_id"] == draft_id]
    assert [(e["document"], e["reason"]) for e in saves] == [("新政发〔2019〕9号", "物价上涨")]
    only_approvals = api.get("/audit?action=draft.approve", "admin").get_json()["entries"]
    assert [e["user"] for e in only_approvals] == ["reviewer"]


def test_a_draft_save_breaking_declared_limits_answers_422_with_every_breach(api):
    """Raising the poverty line leaves the province and two counties below it (两线合一, rules/README.md)."""
    draft = api.post("/drafts", "province", json={"title": "国家扶贫标准调整"}).get_json()
    change = {"jurisdiction": "430000", "parameter": "national_poverty_line", "effective": "2019-01-01",
              "value": 4000, "document": "湘民发〔2019〕1号", "revision": draft["revision"]}
    refused = api.put(f"/drafts/{draft['id']}/parameters", "province", json=change)
    assert refused.status_code == 422
    details = refused.get_json()["error"]["details"]
    assert sorted(d["jurisdiction"] for d in details) == ["430000", "430822", "431322"]
    for d in details:
        assert (d["value"], d["bound"], d["bound_parameter"], d["start"]) == ("3960", "4000", "national_poverty_line",
                                                                            "2019-01-01")
        assert "湘民发〔2017〕33号 二（二）" in d["message"] and "低于湖南省的国家扶贫标准" in d["message_zh"]
    share = api.put(f"/drafts/{draft['id']}/parameters", "province",
                    json=change | {"parameter": "premium_local_finance_share", "value": 0.2})
    assert share.status_code == 422 and "must be 0.50" in share.get_json()["error"]["details"][0]["message"]


# -- 2. concurrent saves ----------------------------------------------------------------------------


def test_two_concurrent_saves_one_wins_the_other_gets_a_conflict_and_nothing_is_lost(api):
    """The author saves from two browser tabs at once (nobody else may write into the draft)."""
    draft = api.post("/drafts", "xinhua", json={"title": "并发"}).get_json()
    url = f"/drafts/{draft['id']}/parameters"
    edits = {"tab 1": {"parameter": "dibao_standard", "value": 4100},
             "tab 2": {"parameter": "medical_annual_cap", "value": 35000}}
    start, statuses = threading.Barrier(2), {}

    def save(tab: str) -> None:
        start.wait()
        statuses[tab] = api.put(url, "xinhua", json=edits[tab] | {
            "jurisdiction": "431322", "effective": "2019-01-01", "document": "新政发〔2019〕9号",
            "revision": draft["revision"]}).status_code

    threads = [threading.Thread(target=save, args=(tab,)) for tab in edits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses.values()) == [200, 409]
    winner, loser = sorted(statuses, key=statuses.get)
    held = api.get(f"/drafts/{draft['id']}", "xinhua").get_json()
    assert held["revision"] == draft["revision"] + 1
    assert [(c["user"], c["parameter"]) for c in held["changes"]] == [("xinhua", edits[winner]["parameter"])]
    text = api.get(f"/drafts/{draft['id']}/files/{VALUES_FILE}", "xinhua").get_json()["text"]
    assert f"value: {edits[winner]['value']}" in text and f"value: {edits[loser]['value']}" not in text

    # the loser reloads and applies the change again: both are kept
    again = api.put(url, "xinhua", json=edits[loser] | {"jurisdiction": "431322", "effective": "2019-01-01",
                                                        "document": "新政发〔2019〕9号", "revision": held["revision"]})
    assert again.status_code == 200
    text = api.get(f"/drafts/{draft['id']}/files/{VALUES_FILE}", "xinhua").get_json()["text"]
    assert "value: 4100" in text and "value: 35000" in text


def test_of_two_decisions_at_once_exactly_one_wins_and_the_other_is_told_where_the_draft_stands(api):
    """Approve + approve and approve + reject of the same draft at the same moment, a few times over: one
    201/200, one 409 whose details give the draft's status as it ended, never a 500."""
    for round_, (first, second) in enumerate([("approve", "approve"), ("approve", "reject")] * 3):
        draft = api.post("/drafts", "xinhua", json={"title": f"竞争 {round_}"}).get_json()
        url = f"/drafts/{draft['id']}"
        assert api.put(f"{url}/parameters", "xinhua", json={
            "jurisdiction": "431322", "parameter": "dibao_standard", "effective": "2030-01-01",
            "value": 5000 + round_, "document": "新政发〔2030〕1号", "revision": 0}).status_code == 200
        assert api.post(f"{url}/submit", "xinhua").status_code == 200
        start, answers = threading.Barrier(2), {}

        def decide(side: str, how: str, who: str, url: str = url, start: threading.Barrier = start,
                   answers: dict[str, Any] = answers) -> None:
            start.wait()
            answers[side] = api.post(f"{url}/{how}", who, json={"comment": "同意" if how == "approve" else "退回"})

        threads = [threading.Thread(target=decide, args=("a", first, "reviewer")),
                   threading.Thread(target=decide, args=("b", second, "loudi_reviewer"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status_code for r in answers.values())
        assert statuses in ([201, 409], [200, 409]), statuses
        final = api.get(url, "reviewer").get_json()
        [lost] = [r for r in answers.values() if r.status_code == 409]
        error = lost.get_json()["error"]
        assert error["code"] == "conflict" and f"is {final['status']} (decided by {final['decided_by']}" in \
            error["message"]
        assert {k: error["details"][0][k] for k in ("status", "decided_by", "published_version")} == \
            {k: final[k] for k in ("status", "decided_by", "published_version")}
        published = [v["number"] for v in api.get("/versions", "reviewer").get_json()["versions"]
                     if v["draft_id"] == draft["id"]]
        assert published == ([final["published_version"]] if final["status"] == "approved" else [])


# -- 3. the permission matrix ---------------------------------------------------------------------------

PROVINCE, REVIEWERS = {"province"}, {"reviewer", "loudi_reviewer", "changsha_reviewer"}
OFFICERS = {"province", "xinhua", "loudi", "changsha"}
EVERYONE = set(PEOPLE)
FOR_XINHUA = {"province", "xinhua", "loudi", "reviewer", "loudi_reviewer", "caseworker"}  # 新化县 is in their scope
FOR_CHANGSHA = {"province", "changsha", "reviewer", "changsha_reviewer", "changsha_caseworker"}
OUTSIDE_XINHUA = {"changsha", "changsha_reviewer"}  # 长沙: xinhua's drafts are outside their scope
_EDIT = {"jurisdiction": "431322", "parameter": "dibao_standard", "effective": "2019-01-01", "value": 4200,
         "document": "新政发〔2019〕9号", "revision": 1}
_RULES_FILE = "rules/60-review.yaml"

# (action, method, url, body, who may do it) — everyone else gets 403 (404 where HIDDEN says so: xinhua's drafts
# do not exist for those outside 新化县's chain), and nobody gets in without a token
POLICY = [
    ("read the versions", "GET", "/versions", None, EVERYONE),
    ("read a version", "GET", "/versions/1", None, EVERYONE),
    ("read a version's file", "GET", f"/versions/1/files/{VALUES_FILE}", None, EVERYONE),
    ("browse the jurisdictions", "GET", "/jurisdictions", None, EVERYONE),
    ("read 新化县's parameters", "GET", "/jurisdictions/431322/parameters?date=2019-06-01", None, EVERYONE),
    ("see who they are", "GET", "/me", None, EVERYONE),
    ("evaluate a 新化县 household", "POST", "/evaluate", {"household": XINHUA_ELDER, "as_of": "2019-06-01"},
     FOR_XINHUA),
    ("evaluate a 长沙县 household", "POST", "/evaluate", {"household": CHANGSHA_ELDER, "as_of": "2019-06-01"},
     FOR_CHANGSHA),
    ("evaluate a roll", "POST", "/evaluate/batch", {"households": [XINHUA_ELDER], "as_of": "2019-06-01"},
     EVERYONE - {"admin"}),
    ("search stored decisions", "GET", "/decisions", None, EVERYONE - {"admin"}),
    ("read a 新化县 decision", "GET", f"/decisions/{XINHUA_DECISION}", None, FOR_XINHUA),
    ("replay a 新化县 decision", "POST", f"/decisions/{XINHUA_DECISION}/replay", None, FOR_XINHUA),
    ("create a draft", "POST", "/drafts", {"title": "x"}, OFFICERS),
    ("list the drafts", "GET", "/drafts", None, OFFICERS | REVIEWERS),
    ("read a draft", "GET", f"/drafts/{EDITING_DRAFT}", None, (OFFICERS | REVIEWERS) - OUTSIDE_XINHUA),
    ("read a draft's file", "GET", f"/drafts/{EDITING_DRAFT}/files/{VALUES_FILE}", None,
     (OFFICERS | REVIEWERS) - OUTSIDE_XINHUA),
    ("set 新化县's standard", "PUT", f"/drafts/{EDITING_DRAFT}/parameters", _EDIT, {"xinhua"}),  # its author only
    ("set 长沙县's standard", "PUT", f"/drafts/{EDITING_DRAFT}/parameters",
     _EDIT | {"jurisdiction": "430121", "value": 6100}, set()),
    ("edit a rules file", "PUT", f"/drafts/{EDITING_DRAFT}/files/{_RULES_FILE}", "RULES_TEXT", set()),
    ("submit their own draft", "POST", f"/drafts/{EDITING_DRAFT}/submit", None, {"xinhua"}),
    ("approve a 新化县 draft", "POST", f"/drafts/{SUBMITTED_DRAFT}/approve", {"comment": "同意"},
     {"reviewer", "loudi_reviewer"}),
    ("reject a 新化县 draft", "POST", f"/drafts/{SUBMITTED_DRAFT}/reject", {"comment": "请附文件"},
     {"reviewer", "loudi_reviewer"}),
    ("compare with a 新化县 draft", "GET", f"/compare?from=1&to=draft:{SUBMITTED_DRAFT}", None,
     (OFFICERS | REVIEWERS) - OUTSIDE_XINHUA),
    ("run an impact report", "POST", "/impact",
     {"from": 1, "to": 1, "as_of": "2019-06-30", "synthetic": {"n": 20, "seed": 1}},
     OFFICERS | REVIEWERS),
    ("read the audit log", "GET", "/audit", None, PROVINCE | REVIEWERS | {"admin"}),
    ("list the accounts", "GET", "/users", None, {"admin"}),
    ("add an account", "POST", "/users",
     {"username": "newcomer", "password": "password-2", "role": "caseworker", "jurisdiction": "431322"}, {"admin"}),
    ("issue a token", "POST", "/users/caseworker/tokens", {"label": "roll import"}, {"admin"}),
]


HIDDEN = {  # the role is checked first: only those whose role may do it learn nothing more than "no such draft"
    **{action: OUTSIDE_XINHUA for action in ("read a draft", "read a draft's file", "compare with a 新化县 draft")},
    **{action: {"changsha"} for action in ("set 新化县's standard", "set 长沙县's standard", "submit their own draft")},
    **{action: {"changsha_reviewer"} for action in ("approve a 新化县 draft", "reject a 新化县 draft")}}


def _body(body: Any) -> Any:
    if body == "RULES_TEXT":  # the same rules file with one more comment line: a valid edit of the rules
        return {"text": "# 复核（示例）\n" + versions.version_files(get_db(), 1)[_RULES_FILE], "revision": 1,
                "document": "湘民发〔2017〕33号", "reason": "注释"}
    return body


@pytest.mark.parametrize(("user", "action", "method", "url", "body"), [
    pytest.param(user, action, method, url, body, id=f"{action}-{user or 'no token'}")
    for action, method, url, body, allowed in POLICY for user in [*PEOPLE, None]
])
def test_permission_matrix(request, user, action, method, url, body):
    allowed = next(row[4] for row in POLICY if row[0] == action)
    api = request.getfixturevalue("reader" if method == "GET" or user is None else "api")
    with api.app.app_context():
        data = _body(body)
    response = api.request(method, url, user, json=data)
    expected = 401 if user is None else (200, 201) if user in allowed else 404 if user in HIDDEN.get(action, ()) \
        else 403
    assert response.status_code in (expected if isinstance(expected, tuple) else (expected,)), \
        f"{user} may {'' if user in allowed else 'not '}{action}: {response.get_json()}"


def test_batch_results_keep_their_order_and_an_out_of_scope_household_is_refused_alone(api):
    roll = [XINHUA_ELDER, CHANGSHA_ELDER, XINHUA_ELDER | {"household_id": "XH-0002", "members": [
        {"id": "m1", "age": 40, "income": {"wages": 30000}}]}, {"household_id": "XH-0003", "county": "431322"}]
    result = api.post("/evaluate/batch", "caseworker", json={"households": roll, "as_of": "2019-06-01"}).get_json()
    assert [r["index"] for r in result["results"]] == [0, 1, 2, 3]
    first, other_county, earner, no_members = result["results"]
    assert (first["outputs"]["dibao_monthly"], earner["outputs"]["dibao_eligible"]) == (363, False)
    assert other_county["error"]["code"] == "forbidden" and "outputs" not in other_county
    assert no_members["error"]["code"] == "invalid_household"
    assert (result["count"], result["evaluated"], result["errors"]) == (4, 2, 2)
    assert api.get("/decisions?household_id=XH-0002", "caseworker").get_json()["decisions"] == []  # not stored


def test_a_decision_stored_without_its_trace_is_read_with_it_evaluated_again(app, api):
    stored = api.post("/evaluate", "caseworker", json={"household": XINHUA_ELDER, "as_of": "2019-06-01"}).get_json()
    assert api.get(f"/decisions/{stored['decision_id']}", "caseworker").get_json()["trace_stored"] is True
    app.config["STORE_TRACE"] = False
    bare = api.post("/evaluate", "caseworker", json={"household": XINHUA_ELDER, "as_of": "2019-06-01"}).get_json()
    read = api.get(f"/decisions/{bare['decision_id']}", "caseworker").get_json()
    assert read["trace_stored"] is False and read["decision"]["trace"] == bare["trace"] != []
    replay = api.post(f"/decisions/{bare['decision_id']}/replay", "caseworker").get_json()
    assert (replay["identical"], replay["trace_stored"], replay["differences"]) == (True, False, [])
    assert replay["stored"]["trace"] == [] and replay["replayed"]["trace"] == bare["trace"]


def test_an_undeclared_disease_code_is_refused_with_the_closest_codes(reader):
    household = {**XINHUA_ELDER, "medical_claims": [{"member": "m1", "disease": "gastric_cancr",
                                                     "in_policy_selfpaid": 100}]}
    response = reader.post("/evaluate", "caseworker", json={"household": household, "as_of": "2019-06-01"})
    assert response.status_code == 422
    detail, = response.get_json()["error"]["details"]
    assert detail["path"] == "household.medical_claims[0].disease"
    assert "did you mean 'gastric_cancer'" in detail["message"]
    assert "胃癌" in detail["message_zh"]


def test_a_batch_over_the_limit_is_refused(api):
    response = api.post("/evaluate/batch", "caseworker", json={"households": [XINHUA_ELDER] * 1001})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["path"] == "households"


def test_caseworkers_see_their_own_countys_decisions_only(api):
    api.post("/evaluate", "changsha_caseworker", json={"household": CHANGSHA_ELDER, "as_of": "2019-06-01"})
    mine = api.get("/decisions", "caseworker").get_json()["decisions"]
    assert {d["county"] for d in mine} == {"431322"}
    assert api.get("/decisions?county=430121", "caseworker").status_code == 403
    assert {d["county"] for d in api.get("/decisions", "reviewer").get_json()["decisions"]} == {"431322", "430121"}
    assert {d["county"] for d in api.get("/decisions", "changsha_reviewer").get_json()["decisions"]} == {"430121"}


def test_an_admin_adds_an_account_whose_token_works(api):
    added = api.post("/users", "admin", json={"username": "wang", "name": "王经办", "password": "password-3",
                                              "role": "caseworker", "jurisdiction": "431322"})
    assert added.status_code == 201 and added.get_json()["role_label"]["zh"] == "经办人"
    token = api.post("/users/wang/tokens", "admin", json={"label": "测试"}).get_json()["token"]
    me = api.get("/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (me["username"], me["jurisdiction"], "evaluate" in me["permissions"]) == ("wang", "431322", True)
    wrong_level = api.post("/users", "admin", json={"username": "li", "password": "password-3", "role": "caseworker",
                                                    "jurisdiction": "431300"})
    assert wrong_level.status_code == 422 and wrong_level.get_json()["error"]["details"][0]["path"] == "jurisdiction"
    assert api.post("/users", "admin", json={"username": "wang", "password": "password-3", "role": "admin"}) \
        .status_code == 409
    assert api.get("/me", headers={"Authorization": "Bearer dd_not-a-token"}).status_code == 401
    assert api.request("DELETE", "/users/wang/tokens", "caseworker").status_code == 403
    revoked = api.request("DELETE", "/users/wang/tokens", "admin")
    assert revoked.status_code == 200 and revoked.get_json() == {"username": "wang", "revoked": 1}
    assert api.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert api.request("DELETE", "/users/nobody/tokens", "admin").status_code == 404


# -- reading versions, jurisdictions and parameters ----------------------------------------------------


def test_versions_and_their_files(api):
    [v1] = api.get("/versions", "caseworker").get_json()["versions"]
    detail = api.get("/versions/1", "caseworker").get_json()
    assert detail["digest"] == v1["digest"] and VALUES_FILE in [f["path"] for f in detail["files"]]
    text = api.get(f"/versions/1/files/{VALUES_FILE}", "caseworker").get_json()["text"]
    assert "3960" in text and "kind: values" in text
    assert api.get("/versions/9", "caseworker").status_code == 404
    assert api.get("/versions/1/files/values/none.yaml", "caseworker").status_code == 404


def test_jurisdictions_and_resolved_parameters_with_their_floor(api):
    root = api.get("/jurisdictions", "caseworker").get_json()["root"]
    assert (root["code"], root["level"], len(root["children"])) == ("430000", "province", 14)
    loudi = next(c for c in root["children"] if c["code"] == "431300")
    assert {"code": "431322", "name": "新化县", "level": "county", "parent": "431300", "children": []} in \
        loudi["children"]
    got = api.get("/jurisdictions/431322/parameters?date=2018-06-01", "caseworker").get_json()
    by_name = {p["name"]: p for p in got["parameters"]}
    standard = by_name["dibao_standard"]
    assert (standard["value"], standard["from"], standard["effective"], standard["own"]) == \
        (3720, "431322", "2018-01-01", True)
    assert (standard["floor"]["value"], standard["floor"]["jurisdiction"], standard["floor"]["reference"]) == \
        (3600, "430000", "湘民发〔2017〕33号 二（二）")
    cap = by_name["medical_annual_cap"]
    assert (cap["value"], cap["from"], cap["own"], cap["floor"]) == (30000, "430000", False, None)
    assert by_name["medical_bands"]["value"][0] == {"upto": 5000, "rate": 0.5}
    drafted = api.get(f"/jurisdictions/431322/parameters?date=2019-06-01&draft={SUBMITTED_DRAFT}", "xinhua")
    assert {p["name"]: p["value"] for p in drafted.get_json()["parameters"]}["dibao_standard"] == 4100
    assert api.get("/jurisdictions/999999/parameters", "caseworker").status_code == 404
    bad_date = api.get("/jurisdictions/431322/parameters?date=2019-02-30", "caseworker")
    assert bad_date.status_code == 422 and bad_date.get_json()["error"]["details"][0]["path"] == "date"


def test_a_rejected_draft_goes_back_with_the_comment(api):
    assert api.post(f"/drafts/{SUBMITTED_DRAFT}/reject", "reviewer", json={}).status_code == 422  # comment needed
    rejected = api.post(f"/drafts/{SUBMITTED_DRAFT}/reject", "reviewer", json={"comment": "请附文件"}).get_json()
    assert (rejected["status"], rejected["comment"], rejected["decided_by"]) == ("rejected", "请附文件", "reviewer")
    assert api.post(f"/drafts/{SUBMITTED_DRAFT}/approve", "reviewer", json={}).status_code == 409  # not submitted
    assert [d["id"] for d in api.get("/drafts?status=rejected", "reviewer").get_json()["drafts"]] == [SUBMITTED_DRAFT]


def test_the_draft_list_shows_the_drafts_that_concern_the_caller(api):
    """Both of xinhua's drafts change 新化县 (431322, in 娄底市): seen there and above, not in 长沙."""
    both = [SUBMITTED_DRAFT, EDITING_DRAFT]
    for user in ("xinhua", "loudi", "loudi_reviewer", "reviewer", "province"):
        assert [d["id"] for d in api.get("/drafts", user).get_json()["drafts"]] == both, user
    for user in ("changsha", "changsha_reviewer"):
        assert api.get("/drafts", user).get_json()["drafts"] == [], user
        assert api.get("/drafts?all=true", user).get_json()["drafts"] == [], user  # all: still within the scope
    assert [d["id"] for d in api.get("/drafts?status=submitted", "loudi").get_json()["drafts"]] == [SUBMITTED_DRAFT]


# -- 4. the OpenAPI document ---------------------------------------------------------------------------


def test_the_openapi_document_embeds_the_household_and_decision_schemas(contract, api):
    components = contract.document["components"]["schemas"]
    for name, component in (("household", "Household"), ("decision", "Decision")):
        original = schema(name)
        assert components[component]["properties"].keys() == original["properties"].keys()
        assert components[component]["required"] == original["required"]
    evaluate_op = contract.document["paths"]["/evaluate"]["post"]
    assert evaluate_op["requestBody"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/EvaluateRequest"}
    for path, item in contract.document["paths"].items():
        for method, op in item.items():
            public = op.get("security") == []
            assert public == (path in ("/openapi.json", "/schemas/{name}")), path
            assert public or "401" in op["responses"], f"{method} {path} does not document 401"


def test_the_schemas_are_served_as_they_are_in_schemas(api):
    on_disk = json.loads((SCHEMA_DIR / "household.schema.json").read_text("utf-8"))
    assert api.get("/schemas/household").get_json() == on_disk
    assert api.get("/schemas/secrets").status_code == 404


def test_the_decision_schema_is_the_served_packs(api):
    on_disk = json.loads((SCHEMA_DIR / "decision.schema.json").read_text("utf-8"))
    served = api.get("/schemas/decision.schema.json").get_json()
    assert served["required"] == on_disk["required"]
    outputs = served["properties"]["outputs"]
    # every output of the pack, those docs/semantics.md §8 fixes and those the pack added, and nothing else
    assert set(on_disk["properties"]["outputs"]["required"]) < set(outputs["required"])
    assert {"safety_net_action", "out_of_school_members", "below_poverty_line"} <= set(outputs["required"])
    assert outputs["additionalProperties"] is False
    assert outputs["properties"]["review_action"]["enum"] == ["enroll", "continue", "exit", "none", None]
    assert outputs["properties"]["premium_subsidy"]["required"] == ["per_person", "persons", "local_finance",
                                                                    "medical_assistance_fund"]
    assert outputs["properties"]["medical_claims"]["items"]["required"] == ["member", "disease", "amount"]
    component = api.get("/openapi.json").get_json()["components"]["schemas"]["Decision"]
    assert component["properties"]["outputs"] == outputs


# -- 5. the error shape ------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_a_400(api):
    response = api.post("/evaluate", "caseworker", data="{household: ", content_type="application/json")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request" and "not valid JSON" in error["message"] and "JSON" in error["message_zh"]


def test_an_unknown_route_is_a_json_404_even_without_a_token(api):
    for user in ("caseworker", None):
        response = api.get("/no-such-thing", user)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_a_wrong_method_is_a_json_405_naming_the_allowed_ones(api):
    response = api.request("DELETE", "/versions", "caseworker")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"] and "allowed: GET" in response.get_json()["error"]["message"]


def test_a_typo_in_a_household_is_a_422_naming_the_field(api):
    household = {**XINHUA_ELDER, "members": [{"id": "m1", "age": 75, "incom": {"wages": 100}}]}
    response = api.post("/evaluate", "caseworker", json={"household": household, "as_of": "2019-06-01"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert [d["path"] for d in error["details"]] == ["household.members[0].incom"]
    assert "unknown field 'incom'" in error["details"][0]["message"] and "未知字段" in error["details"][0]["message_zh"]


@pytest.mark.parametrize(("body", "path"), [
    ({"household": XINHUA_ELDER, "as_of": "2019-02-30"}, "as_of"),
    ({"household": XINHUA_ELDER, "asof": "2019-06-01"}, "asof"),
    ({"as_of": "2019-06-01"}, "(body)"),
    ({"household": XINHUA_ELDER | {"county": "439999"}, "as_of": "2019-06-01"}, "household.county"),
    ({"household": XINHUA_ELDER, "as_of": "2019-06-01", "version": 7}, None),
])
def test_bad_evaluate_requests_name_the_field(api, body, path):
    response = api.post("/evaluate", "province", json=body)
    error = response.get_json()["error"]
    if path is None:
        assert (response.status_code, error["code"]) == (404, "not_found")
    else:
        assert response.status_code == 422 and path in [d["path"] for d in error["details"]], error


def test_a_stale_revision_is_a_409_in_the_error_shape(api):
    response = api.put(f"/drafts/{EDITING_DRAFT}/parameters", "xinhua", json=_EDIT | {"revision": 0})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict" and "刷新" in response.get_json()["error"]["message_zh"]


def test_an_unexpected_failure_is_a_json_500_without_a_traceback(template, tmp_path, contract):
    shutil.copy(template[0], tmp_path / "doudi.db")
    app = create_app({"DATABASE": str(tmp_path / "doudi.db")})  # not TESTING: errors are handled, not raised

    def fail() -> None:
        raise RuntimeError("secret detail")

    app.add_url_rule(PREFIX + "/boom", "boom", fail)
    response = app.test_client().get(PREFIX + "/boom")
    assert response.status_code == 500 and response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "internal_error" and b"secret" not in response.data
    assert b"Traceback" not in response.data
    assert app.test_client().get("/not-the-api").mimetype == "text/html"  # the editor's pages keep their own
