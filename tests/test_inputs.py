"""Bounded input: the probes of issue 12 (anchors and aliases, huge and deep JSON, non-finite numbers,
integers past SQLite's range, undecodable rolls, oversized bodies) each refused with the one error shape."""

from __future__ import annotations

import json

import pytest
from conftest import HUNAN

from engine import drafts, users, versions
from engine.errors import RulePackError, quoted
from engine.load import load_files, read_files
from web import create_app
from web.db import get_db, init_db

LAUGHS = "lol: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A client of an app with the Hunan pack as version 1, a province officer's token and draft 1."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path_factory.mktemp("inputs") / "doudi.db"),
                      "MAX_CONTENT_LENGTH": 256 * 1024})
    init_db(app)
    with app.app_context():
        db = get_db()
        _, pack = versions.pack_of(db)
        users.add_user(db, "test", "officer", "password-1", "province_officer", "430000", pack=pack)
        token = users.issue_token(db, "test", "officer", "tests")
        drafts.create_draft(db, users.get_user(db, "officer"), "probe")
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return test_client


def test_a_billion_laughs_in_a_pack_is_refused_at_its_line_without_expanding_it():
    files = read_files(HUNAN) | {"values/laughs.yaml": "kind: values\njurisdiction: \"431322\"\n" + LAUGHS}
    with pytest.raises(RulePackError) as caught:
        load_files(files)
    problem = caught.value.problems[0]
    assert (problem.file, problem.line) == ("values/laughs.yaml", 3)
    assert "anchors and aliases" in problem.message and "锚点" in problem.message_zh
    assert len(str(caught.value)) < 1000


def test_a_billion_laughs_saved_into_a_draft_is_a_small_422(client):
    text = "kind: rules\n" + LAUGHS
    assert len(text.encode()) < 800
    response = client.put("/api/v1/drafts/1/files/rules/99-laughs.yaml", json={"text": text, "revision": 0})
    assert response.status_code == 422
    assert len(response.data) < 4000
    detail = response.get_json()["error"]["details"][0]
    assert (detail["file"], detail["line"], detail["path"]) == ("rules/99-laughs.yaml", 2, "text")


@pytest.mark.parametrize("url", ["/api/v1/drafts/9223372036854775808", "/api/v1/versions/99999999999999999999",
                                 "/api/v1/decisions/" + "9" * 5000])
def test_an_id_past_sqlites_range_finds_nothing(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("url", "field"), [("/api/v1/compare?from=1&to=²", "to"),
                                            ("/api/v1/compare?from=draft:9223372036854775808&to=1", "from"),
                                            ("/api/v1/audit?offset=9223372036854775808", "offset"),
                                            ("/api/v1/jurisdictions?version=1.0", "version")])
def test_a_query_outside_the_document_is_a_422_naming_it(client, url, field):
    response = client.get(url)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["path"] == field


@pytest.mark.parametrize(("raw", "status", "path"), [
    ("[" * 100_000, 400, None),
    ('{"household": {"household_id": "x", "county": "431322", "members": [{"id": "m1", "age": ' + "9" * 5000 + "}]}}",
     400, None),
    ('{"household": {"household_id": "x", "county": "431322", "members": [{"id": "m1", "age": 40, '
     '"income": {"wages": 1e999}}]}}', 422, "household.members[0].income.wages"),
    ('{"household": {"household_id": "x", "county": "431322", "members": [{"id": "m1", "age": NaN}]}}', 422,
     "household.members[0].age"),
])
def test_json_python_cannot_hold_is_refused_in_the_error_shape(client, raw, status, path):
    response = client.post("/api/v1/evaluate", data=raw, content_type="application/json")
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["status"] == status and len(response.data) < 4000
    if path:
        assert error["details"][0]["path"] == path


def test_a_long_value_is_quoted_short_and_a_long_list_of_problems_counted(client):
    household = {"household_id": "x", "county": "431322",
                 "members": [{"id": "m1", "age": 40, "name": "名" * 5000}],
                 **{f"typo{i}": 1 for i in range(100)}}
    response = client.post("/api/v1/evaluate", json={"household": household})
    assert response.status_code == 422
    assert len(response.data) < 7000  # 10 problems, each naming the household's allowed fields in en and zh
    details = response.get_json()["error"]["details"]
    assert details[-1]["message"].startswith("… and ")
    assert quoted(list(range(10_000))) == "[0, 1, 2, 3, 4, ...]"


def test_a_body_over_the_limit_is_a_413_in_the_error_shape(client):
    response = client.post("/api/v1/evaluate/batch", data=json.dumps({"households": ["x" * 300_000]}),
                           content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


@pytest.mark.parametrize(("name", "data"), [
    ("gbk.csv", "household_id,county,member_id,age,name\nx,431322,m1,40,张三\n".encode("gbk")),
    ("binary.jsonl", bytes(range(256)) * 8)])
def test_doudi_batch_of_an_undecodable_roll_exits_2_naming_the_line(tmp_path, name, data):
    from click.testing import CliRunner

    from doudi.cli import cli

    (tmp_path / name).write_bytes(data)
    result = CliRunner().invoke(cli, ["batch", str(tmp_path / name), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 2
    assert "line " in result.output and "not UTF-8 text" in result.output


def test_a_gbk_line_in_a_jsonl_roll_is_an_error_record_and_the_others_are_decided(tmp_path):
    from click.testing import CliRunner

    from doudi.cli import cli

    good = json.dumps({"household_id": "x1", "county": "431322", "members": [{"id": "m1", "age": 75}]})
    bad = json.dumps({"household_id": "x2", "county": "431322", "members": [{"id": "m1", "age": 75, "name": "张三"}]},
                     ensure_ascii=False)
    (tmp_path / "roll.jsonl").write_bytes(good.encode() + b"\n" + bad.encode("gbk") + b"\n")
    result = CliRunner().invoke(cli, ["batch", str(tmp_path / "roll.jsonl"), "-o", str(tmp_path / "out.jsonl"),
                                      "--as-of", "2019-06-01", "--workers", "1"])
    assert result.exit_code == 1
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert "outputs" in records[0] and "not UTF-8 text" in records[1]["error"]["message"]
