"""A pack the platform has never seen (an elders allowance and a heating subsidy, no dibao) through doudi batch
(CSV columns filled, its summary), the batch and check result pages and the API decision schema: every output
of the pack shown with its labels, and no word of the Hunan pack anywhere in what is printed."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import elders
import pytest
from click.testing import CliRunner
from test_web_cases import page_text

from doudi.cli import cli
from engine import users
from web import create_app
from web.db import get_db, init_db

HUNAN_WORDS = ("dibao", "低保", "兜底", "湖南", "review_action", "safety_net", "medical", "医疗", "temporary",
               "临时救助", "premium", "审核处理", "430000")
PASSWORD = "secret-pass-1"
OUTPUTS = ["elder_count", "allowance_monthly", "heating_subsidy", "allowance_granted", "tier", "elders"]


def _no_hunan(text: str) -> None:
    found = [w for w in HUNAN_WORDS if w in text]
    assert found == [], found


@pytest.fixture()
def folder(tmp_path):
    return elders.write(tmp_path / "elders")


@pytest.fixture()
def roll(tmp_path):
    households = [elders.household(1, "990101", 82, 85), elders.household(2, "990101", 81, 40),
                  elders.household(3, "990102", 30), elders.household(4, "990102", 90, 88, 86)]
    path = tmp_path / "roll.jsonl"
    path.write_text("".join(json.dumps(h) + "\n" for h in households) + '{"household_id": "bad"}\n',
                    encoding="utf-8")
    return path


def _batch(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_batch_writes_the_packs_columns_and_sums_its_totals(folder, roll, tmp_path):
    target = tmp_path / "out.csv"
    status, out, err = _batch("batch", roll, "-o", target, "--rules", folder, "--as-of", "2026-01-01",
                              "--workers", 1)
    assert status == 1  # one bad record
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert list(rows[0]) == ["line", "household_id", "county", "as_of", "status", *OUTPUTS, "rule_digest",
                             "error_path", "error_message"]
    first = rows[0]
    assert (first["elder_count"], first["allowance_monthly"], first["heating_subsidy"], first["allowance_granted"],
            first["tier"]) == ("2", "300", "600", "true", "high")
    assert json.loads(first["elders"]) == [{"member": "m1", "age": 82, "amount": 150},
                                           {"member": "m2", "age": 85, "amount": 150}]
    assert [r["tier"] for r in rows] == ["high", "base", "none", "high", ""]
    assert rows[4]["status"] == "error" and rows[4]["household_id"] == "bad" and rows[4]["error_message"]
    summary = json.loads(out)
    assert summary["households"] == 5 and summary["errors"] == 1
    assert summary["summary"]["by_tier"]["total"] == {"base": 1, "high": 2, "none": 1}
    assert summary["summary"]["allowance_total"] == {"total": 900, "counties": {"990101": 450, "990102": 450}}
    assert "按档次: 高龄档 2, 普通档 1, 无 1" in err and "津贴月合计: 900 元/月" in err
    _no_hunan(out + err + target.read_text(encoding="utf-8"))


def test_a_pack_without_summary_gets_the_totals_of_its_amounts_and_flags(tmp_path, roll):
    folder = elders.write(tmp_path / "plain", presentation=False)
    status, out, err = _batch("batch", roll, "-o", tmp_path / "out.jsonl", "--rules", folder, "--as-of",
                              "2026-01-01", "--workers", 1)
    assert status == 1
    summary = json.loads(out)["summary"]
    assert summary["allowance_granted"]["total"] == 3 and summary["heating_subsidy"]["total"] == 1800
    assert summary["allowance_monthly"]["counties"] == {"990101": 450, "990102": 450}
    assert "享受高龄津贴: 3" in err and "一次性取暖补贴: 1800 元" in err and "补贴档次: 高龄档" not in err
    _no_hunan(out + err)


def test_headers_in_chinese_and_a_resumed_csv_keeps_its_summary(folder, roll, tmp_path):
    full, part = tmp_path / "full.csv", tmp_path / "part.csv"
    _batch("batch", roll, "-o", full, "--rules", folder, "--as-of", "2026-01-01", "--workers", 1, "--labels", "zh")
    text = full.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ("行号,户编号,县（市、区）,核查日期,状态,高龄老人人数,高龄津贴（月）,一次性取暖补贴,"
                                    "享受高龄津贴,补贴档次,elders,规则版本摘要,错误字段,错误信息")
    lines = text.splitlines(keepends=True)
    part.write_text("".join(lines[:3]) + lines[3][:10], encoding="utf-8")  # two records, then a torn line
    _status, out, _err = _batch("batch", roll, "-o", part, "--rules", folder, "--as-of", "2026-01-01",
                                "--workers", 1, "--resume", "--labels", "zh")
    assert part.read_text(encoding="utf-8") == text
    summary = json.loads(out)
    assert summary["skipped_resumed"] == 2 and summary["households"] == 5
    assert summary["summary"]["allowance_total"]["total"] == 900
    assert summary["summary"]["by_tier"]["counties"]["990101"] == {"base": 1, "high": 1}


@pytest.fixture()
def app(tmp_path, folder):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "SECRET_KEY": "t", "RULES": str(folder),
                      "WTF_CSRF_ENABLED": False, "BATCH_FOLDER": str(tmp_path / "batch")})
    init_db(app)
    with app.app_context():
        users.add_user(get_db(), None, "east", PASSWORD, "caseworker", "990101", "东县经办")
    return app


@pytest.fixture()
def client(app):
    c = app.test_client()
    assert c.post("/login", data={"username": "east", "password": PASSWORD}).status_code == 302
    return c


def _decision_part(response) -> str:
    body = response.get_data(as_text=True)
    return body.split('<section aria-labelledby="members-title">')[0].split("<main")[1]


def test_the_check_result_shows_every_output_of_the_pack(client):
    response = client.post("/check/", data={"household_id": "T-1", "county": "990101", "as_of": "2026-01-01",
                                            "members[0].id": "m1", "members[0].age": "82",
                                            "members[1].id": "m2", "members[1].age": "85"})
    assert response.status_code == 302, page_text(response)[:600]
    page = client.get(response.location)
    part = _decision_part(page)
    text = page_text(page)
    assert re.search(r'data-output="allowance_granted">享受高龄津贴：<strong>是', part)
    assert "高龄津贴（月）：<strong>300 元/月</strong>" in part
    for path in OUTPUTS:
        assert f'data-output="{path}"' in part, path
    assert "补贴档次 高龄档" in text and "一次性取暖补贴 600 元" in text and "高龄老人人数 2" in text
    table = part.split('<table data-output="elders">')[1].split("</table>")[0]
    assert re.sub(r"<[^>]+>", " ", table).split() == ["elders", "member", "age", "个人津贴", "m1", "82", "150", "元",
                                                      "m2", "85", "150", "元"]
    _no_hunan(re.sub(r"<[^>]+>", " ", part))
    history = client.get("/decisions/").get_data(as_text=True)
    assert "享受高龄津贴" in history and "300 元/月" in history


def test_the_batch_page_shows_the_packs_summary_and_filters(client, roll):
    response = client.post("/batch/", data={"as_of": "2026-01-01", "roll": (io.BytesIO(roll.read_bytes()), "r.jsonl")},
                           content_type="multipart/form-data")
    job = response.location.rsplit("/", 1)[1]
    for _ in range(300):
        if client.get(f"/batch/{job}/status.json").get_json()["state"] != "running":
            break
        time.sleep(0.1)
    body = client.get(f"/batch/{job}").get_data(as_text=True)
    cells = dict(re.findall(r'data-summary="([\w.]+)">([^<]+)</td>', body))
    # the caseworker's county only: the two households of 西县 are refused, as is the bad line
    assert cells == {"households": "5", "errors": "3", "by_tier.high": "1", "by_tier.base": "1",
                     "allowance_total": "450 元/月"}
    assert "补贴档次分布" in body or "按档次分布" in body
    high = client.get(f"/batch/{job}?filter=tier:high").get_data(as_text=True)
    assert "T-0001" in high and "T-0002" not in high and "补贴档次：高龄档" in high  # the filter by its name
    assert re.findall(r'data-output="allowance_monthly" data-value="(\w+)"', high) == ["300"]
    csv_zh = client.get(f"/batch/{job}/results.csv?labels=zh").get_data(as_text=True)
    assert csv_zh.lstrip("\ufeff").startswith("行号,户编号") and "高龄津贴（月）" in csv_zh
    main = body.split("<main")[1]
    _no_hunan(re.sub(r"<[^>]+>", " ", main))


def test_the_api_decision_schema_is_the_packs(client, app):
    schema = client.get("/api/v1/schemas/decision").get_json()
    outputs = schema["properties"]["outputs"]
    assert outputs["required"] == OUTPUTS
    assert outputs["properties"]["tier"]["enum"] == ["high", "base", "none", None]
    assert outputs["properties"]["elders"]["items"]["required"] == ["member", "age", "amount"]
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["components"]["schemas"]["Decision"]["properties"]["outputs"] == outputs
    _no_hunan(json.dumps(schema, ensure_ascii=False))
