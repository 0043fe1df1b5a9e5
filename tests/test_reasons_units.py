"""Counts with their unit in reasons (``{n:persons}``, ``{n:days}``: 1 person, 3 persons) and code names
read from the pack's code lists (``codes:``), small letter inside an English sentence."""

from __future__ import annotations

import pytest

from engine.errors import RulePackError
from engine.evaluate import evaluate
from engine.load import load_files, read_files
from engine.reasons import format_value, lowered, plural, render
from tests.conftest import HUNAN

ALONE = {"household_id": "U1", "county": "431322", "registered_poor": True, "enrolled": True,
         "last_review": "2018-05-01", "members": [{"id": "m1", "name": "张三", "relation": "head", "age": 75}],
         "medical_claims": [{"member": "m1", "disease": "gastric_cancer", "in_policy_selfpaid": 1000},
                            {"member": "m1", "disease": "parkinsons", "in_policy_selfpaid": 2000}],
         "incidents": [{"type": "fire", "severity": "moderate", "date": "2019-05-02"}]}
THREE = ALONE | {"members": ALONE["members"] + [{"id": "m2", "relation": "spouse", "age": 70},
                                                {"id": "m3", "relation": "child", "age": 40, "labour_capable": False}]}


def _en(pack, household):
    return [s.rsplit(" (", 1)[0] for s in evaluate(pack, household, "2019-06-01").reasons["en"]]


def test_a_one_person_household_reads_person_in_every_sentence(pack):
    en = _en(pack, ALONE)
    assert "The household counts 1 person with a countable income of 0 yuan a year: 0 yuan per person" in en
    assert ("Per-capita income of 0 yuan a year is below the local dibao standard of 3960 yuan a year (household "
            "income 0 yuan, below 3960 yuan × 1 person = 3960 yuan); the income test passes") in en
    assert ("Deposits of 0 yuan are within 1 person × 2 × the standard of 3960 yuan = 7920 yuan and there is no "
            "private car; the asset test passes") in en
    assert ("The individual premium of 250 yuan is paid for 1 person, 250 yuan in all: 50% by local finance "
            "(125 yuan) and 125 yuan by the medical assistance fund") in en
    assert ("The fire of 2 May 2019 (moderate hardship) is within the 90-day window: 2 × the monthly standard of "
            "330 yuan a month × 1 person = 660 yuan") in en
    assert ("The last review was on 1 May 2018, at least 365 days before 1 June 2019: the annual review is due"
            in en)
    assert en[-1] == ("Conclusion: eligible for rural dibao and a safety-net household; dibao of 363 yuan a month, "
                      "premiums paid for 1 person, medical assistance of 1700 yuan and temporary assistance of "
                      "660 yuan")
    assert not [s for s in en if "1 persons" in s]


def test_a_three_person_household_reads_persons(pack):
    en = _en(pack, THREE)
    assert "The household counts 3 persons with a countable income of 0 yuan a year: 0 yuan per person" in en
    assert ("Paid as the difference: base = (standard 3960 yuan × 3 persons − household income 0 yuan) ÷ 12 = "
            "990 yuan a month, at least 20 yuan a month × 3 persons = 60 yuan a month, so 990 yuan a month; with "
            "supplements of 66 yuan a month, in all 1056 yuan a month (rounded to the yuan)") in en
    assert ("Incidents in all 1980 yuan, capped at 12 × the monthly standard of 330 yuan a month × 3 persons = "
            "11880 yuan: temporary assistance of 1980 yuan (rounded to the yuan)") in en
    assert en[-1].startswith("Conclusion: eligible for rural dibao and a safety-net household; dibao of 1056 yuan "
                             "a month, premiums paid for 3 persons,")
    zh = evaluate(pack, THREE, "2019-06-01").reasons["zh"]
    assert zh[0].startswith("家庭计入人口3人，家庭年可计收入0元")


def test_units_agree_with_the_count():
    assert [plural(n, "person", "persons") for n in (0, 1, 2)] == ["0 persons", "1 person", "2 persons"]
    assert format_value(1, "days", "en") == "1 day" and format_value(90, "days", "en") == "90 days"
    assert format_value(1, "persons", "zh") == "1人" and format_value(90, "days", "zh") == "90天"


def test_disease_names_come_from_the_code_list_small_inside_an_english_sentence(pack):
    assert "labels" not in (HUNAN / "rules" / "30-medical.yaml").read_text(encoding="utf-8")
    assert pack.labels["disease"]["gastric_cancer"] == {"zh": "胃癌", "en": "Gastric cancer"}
    en = _en(pack, ALONE)
    assert ("张三 has gastric cancer, one of the nine major diseases: in-policy self-paid 1000 yuan × 70% = 700 "
            "yuan; medical assistance of 700 yuan") in en
    assert any(s.startswith("张三 has Parkinson's disease, not one of the nine") for s in en)
    assert any(s.startswith("张三患胃癌，属九种大病") for s in evaluate(pack, ALONE, "2019-06-01").reasons["zh"])
    assert [lowered(n) for n in ("Gastric cancer", "COPD", "Parkinson's disease", "")] == \
        ["gastric cancer", "COPD", "Parkinson's disease", ""]
    table = {"x": {"zh": "胃癌", "en": "Gastric cancer"}}
    slot = type("S", (), {"fn": staticmethod(lambda env: "x"), "format": "label", "table": table, "source": "d"})
    assert render((slot, " first."), "en", None) == "Gastric cancer first."
    assert render(("Has ", slot, ". ", slot), "en", None) == "Has gastric cancer. Gastric cancer"


def test_a_labels_table_repeating_a_code_list_is_refused():
    files = read_files(HUNAN)
    path = "rules/30-medical.yaml"
    repeated = "labels:\n  disease:\n    esrd: {zh: 终末期肾病, en: ESRD}\nrules:\n"
    files[path] = files[path].replace("rules:\n", repeated, 1)
    with pytest.raises(RulePackError) as info:
        load_files(files)
    [problem] = info.value.problems
    assert (problem.file, problem.path) == (path, "labels.disease")
    assert "repeats the code list 'disease'" in problem.message and "重复" in problem.message_zh
