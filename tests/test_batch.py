"""doudi batch: every record out, in order, bad lines as error records, resumable, JSONL and CSV."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile

import pytest
from conftest import HUNAN
from households import synth_households

from engine import batch, evaluate, load_pack, rolls
from engine.batch import evaluate_chunk, evaluate_records, run_batch, summarise_file
from engine.decision import dumps
from engine.rolls import jsonl_slices, read_records, slice_records

AS_OF = dt.date(2019, 6, 30)


@pytest.fixture()
def roll(tmp_path):
    """300 synthetic households with three bad lines among them (bad JSON, bad field, unknown county)."""
    path = tmp_path / "roll.jsonl"
    households = list(synth_households(300, seed=11))
    lines = [json.dumps(h, ensure_ascii=False) for h in households]
    lines.insert(10, "{not json")
    lines.insert(100, json.dumps({"household_id": "bad-age", "county": "430626", "members": [{"id": "m1", "age": -1}]}))
    lines.insert(200, json.dumps({"household_id": "bad-county", "county": "999999",
                                  "members": [{"id": "m1", "age": 3}]}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, households


def _records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("workers", [1, 2])
def test_every_good_result_and_one_error_per_bad_line(pack, roll, tmp_path, workers):
    source, households = roll
    target = tmp_path / "out.jsonl"
    summary = run_batch(HUNAN, source, target, as_of=AS_OF, workers=workers)
    records = _records(target)
    assert [r["line"] for r in records] == list(range(1, 304))
    errors = {r["line"]: r for r in records if "error" in r}
    assert sorted(errors) == [11, 101, 201]
    assert errors[11]["error"]["details"][0]["path"] == "(line)" and "invalid JSON" in errors[11]["error"]["message"]
    assert errors[101]["household_id"] == "bad-age"
    assert errors[101]["error"]["details"][0] == {"path": "members[0].age", "message": "-1 is below the minimum 0",
                                                  "message_zh": "-1 小于最小值 0"}
    assert errors[101]["error"]["message_zh"] == "家庭信息有误"
    assert errors[201]["error"]["details"][0]["path"] == "county"
    good = [r for r in records if "error" not in r]
    assert [r["household_id"] for r in good] == [h["household_id"] for h in households]
    for record, household in list(zip(good, households, strict=True))[::25]:
        expected = json.loads(evaluate(pack, household, AS_OF, trace=False).to_json())["outputs"]
        assert record["outputs"] == expected
    assert summary.households == 303 and summary.errors == 3
    assert sum(summary.by_action.values()) == 300
    assert summary.dibao_monthly_total == sum(r["outputs"]["dibao_monthly"] for r in good)


@pytest.mark.parametrize("workers", [1, 2])
def test_an_interrupted_run_resumes_without_losing_or_repeating(roll, tmp_path, workers):
    source, _ = roll
    full, partial = tmp_path / "full.jsonl", tmp_path / "partial.jsonl"
    run_batch(HUNAN, source, full, as_of=AS_OF, workers=1)
    text = full.read_text(encoding="utf-8")
    cut = text.index("\n", len(text) // 2) + 40  # half the records, then a torn line
    partial.write_text(text[:cut], encoding="utf-8")
    summary = run_batch(HUNAN, source, partial, as_of=AS_OF, workers=workers, resume=True)
    assert partial.read_text(encoding="utf-8") == text
    assert summary.skipped == text[:cut].count("\n")
    assert summarise_file(partial)["households"] == 303
    # the summary of the resumed run covers the whole roll, the records kept included
    assert summary.as_dict() | {"skipped_resumed": 0} == summarise_file(partial)
    assert summary.households == 303 and summary.errors == 3


def test_worker_outputs_are_appended_in_input_order_and_leave_no_files(roll, tmp_path, monkeypatch):
    source, _ = roll
    one, two, copied = tmp_path / "one.jsonl", tmp_path / "two.jsonl", tmp_path / "copied.jsonl"
    run_batch(HUNAN, source, one, as_of=AS_OF, workers=1)
    spill = tmp_path / "tmp"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    monkeypatch.setattr(batch, "TASK", 40)  # eight tasks, each worker's output in a file of its own
    summary = run_batch(HUNAN, source, two, as_of=AS_OF, workers=2)
    assert two.read_bytes() == one.read_bytes()
    assert summary.households == 303 and summary.errors == 3

    resumed = tmp_path / "resumed.jsonl"
    text = one.read_bytes()
    resumed.write_bytes(text[:text.index(b"\n", len(text) // 3) + 1])
    refused = []
    sendfile = os.sendfile

    def watched(*args):
        try:
            return sendfile(*args)
        except OSError as exc:
            refused.append(exc)
            raise

    monkeypatch.setattr(os, "sendfile", watched)
    run_batch(HUNAN, source, resumed, as_of=AS_OF, workers=2, resume=True)
    assert resumed.read_bytes() == one.read_bytes()
    assert refused == []  # a resumed file is appended to by sendfile too (not opened with O_APPEND)

    def no_sendfile(*args):
        raise OSError("sendfile between files is not supported here")

    monkeypatch.setattr(os, "sendfile", no_sendfile)
    run_batch(HUNAN, source, copied, as_of=AS_OF, workers=2)
    assert copied.read_bytes() == one.read_bytes()
    assert list(spill.iterdir()) == []


def test_workers_read_their_own_blocks_of_the_roll_line_for_line(tmp_path, monkeypatch):
    """Blank lines, Windows line ends and a byte that is not UTF-8 keep their line numbers in every block."""
    good = json.dumps({"household_id": "十", "county": "430626", "members": [{"id": "m1", "age": 70}]},
                      ensure_ascii=False).encode()
    path = tmp_path / "roll.jsonl"
    path.write_bytes(b"\n".join([good, b"", good + b"\r", b"{\xff}", good, b"   ", good]) + b"\n")
    blocks = list(jsonl_slices(path, 3))
    assert [first for first, _, _ in blocks] == [1, 4, 7]
    records = [r for block in blocks for r in slice_records(path, *block)]
    assert [r.line for r in records] == [1, 3, 4, 5, 7]
    assert [r.line for r in read_records(path)] == [1, 3, 4, 5, 7]
    assert [r.parsed().household_id for r in records] == ["十", "十", None, "十", "十"]
    assert [b[0] for b in jsonl_slices(path, 3, skip=2)] == [4, 7]  # resuming after two records
    monkeypatch.setattr(rolls, "_READ", 5)  # blocks found across many small reads are the same blocks
    assert list(jsonl_slices(path, 3)) == blocks
    assert [b[0] for b in jsonl_slices(path, 3, skip=2)] == [4, 7]
    monkeypatch.undo()
    two = tmp_path / "two.jsonl"
    run_batch(HUNAN, path, two, as_of=AS_OF, workers=2)
    assert [(r["line"], "error" in r) for r in _records(two)] == [(1, False), (3, False), (4, True), (5, False),
                                                                 (7, False)]


def test_csv_roll_with_several_members_per_household(pack, tmp_path):
    source = tmp_path / "roll.csv"
    source.write_text(
        "household_id,county,registered_poor,farm_net,member_id,age,student,wages,incidents\n"
        "E01,430626,是,3000,m1,66,,,\n"
        "E01,,,,m2,63,,,\n"
        "E01,,,,m3,12,compulsory,,\n"
        'F02,433124,true,,m1,80,,,"[{""type"": ""disaster"", ""severity"": ""severe"", ""date"": ""2019-06-10""}]"\n'
        "G03,430626,maybe,,m1,40,,,\n",
        encoding="utf-8")
    records = list(read_records(source, pack.facts))
    assert [r.line for r in records] == [2, 5, 6]
    assert [m["age"] for m in records[0].household["members"]] == [66, 63, 12]
    target = tmp_path / "out.csv"
    summary = run_batch(HUNAN, source, target, as_of=dt.date(2019, 8, 15), workers=1)
    rows = target.read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("line,household_id,county,as_of,status,household_size")
    assert rows[1].startswith("2,E01,430626,2019-08-15,ok,3,0,3000,1000,3960,330,true,true,true,true,")
    assert ",1333,county," in rows[2]  # F02: severe flood in 花垣县: multiple 4 × 333.33 × 1 person
    assert rows[3].startswith("6,G03,,,error,") and "registered_poor" in rows[3] and "'maybe'" in rows[3]
    assert summary.errors == 1


def test_a_chunk_is_written_as_dumps_writes_each_record(tmp_path):
    good = {"household_id": "户-1\"引号", "county": "430626", "members": [{"id": "m1", "age": 70}]}
    path = tmp_path / "roll.jsonl"
    path.write_text(json.dumps(good, ensure_ascii=False) + "\n{bad\n", encoding="utf-8")
    pack = load_pack(HUNAN)
    text, summary = evaluate_chunk(pack, ((str(path), 1, 0, path.stat().st_size), AS_OF, 7, False))
    records = evaluate_records(pack, slice_records(path, 1, 0, path.stat().st_size), AS_OF, 7)
    assert text.decode("utf-8") == "".join(dumps(r) + "\n" for r in records)
    assert summary.households == 2 and summary.errors == 1
