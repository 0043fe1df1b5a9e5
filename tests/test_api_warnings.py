"""Draft saves through the API answer the warnings validate and the editor show: a value more than twice or
less than half the one in force is saved, and the response says so (path, message, message_zh, figures)."""

from __future__ import annotations

from test_api import VALUES_FILE, api, app, contract, template  # noqa: F401  (fixtures)


def _county_standard(api, value):  # noqa: F811  (the fixture)
    draft = api.post("/drafts", "xinhua", json={"title": "新化县低保标准"}).get_json()
    return api.put(f"/drafts/{draft['id']}/parameters", "xinhua", json={
        "jurisdiction": "431322", "parameter": "dibao_standard", "effective": "2019-07-01", "value": value,
        "document": "新政发〔2019〕9号", "revision": draft["revision"]})


def test_a_pasted_county_standard_is_saved_with_a_warning_naming_it(api):  # noqa: F811  (the fixture)
    saved = _county_standard(api, 39603900)
    assert saved.status_code == 200
    body = saved.get_json()
    assert body["revision"] == 1 and body["jurisdictions"] == ["431322"]
    [warning] = body["warnings"]
    assert (warning["path"], warning["jurisdiction"], warning["parameter"], warning["value"], warning["previous"],
            warning["start"], warning["warning"]) == ("value", "431322", "dibao_standard", "39603900", "3960",
                                                      "2019-07-01", "jump")
    assert "431322 新化县" in warning["message"] and "dibao_standard 39603900" in warning["message"]
    assert "more than twice the value in force before it, 3960" in warning["message"]
    assert "新化县" in warning["message_zh"] and "39603900" in warning["message_zh"]
    assert "超过此前取值 3960 的两倍" in warning["message_zh"]


def test_exactly_twice_is_saved_without_a_warning_and_a_yuan_more_with_one(api):  # noqa: F811  (the fixture)
    assert _county_standard(api, 7920).get_json()["warnings"] == []
    [warning] = _county_standard(api, 7921).get_json()["warnings"]
    assert (warning["value"], warning["previous"]) == ("7921", "3960")


def test_a_file_save_answers_the_warnings_of_that_file(api):  # noqa: F811  (the fixture)
    draft = api.post("/drafts", "province", json={"title": "新化县文件"}).get_json()
    text = api.get(f"/drafts/{draft['id']}/files/{VALUES_FILE}", "province").get_json()["text"]
    assert "value: 3960" in text
    saved = api.put(f"/drafts/{draft['id']}/files/{VALUES_FILE}", "province",
                    json={"text": text.replace("value: 3960", "value: 39600"), "revision": draft["revision"]})
    assert saved.status_code == 200
    [warning] = saved.get_json()["warnings"]
    assert (warning["path"], warning["file"], warning["line"], warning["parameter"], warning["value"],
            warning["previous"]) == ("text", VALUES_FILE, 7, "dibao_standard", "39600", "3720")
    assert "more than twice" in warning["message"] and "超过" in warning["message_zh"]
    untouched = api.put(f"/drafts/{draft['id']}/files/values/430000-empty.yaml", "province",
                        json={"text": "kind: values\njurisdiction: \"430000\"\nvalues: {}\n", "revision": 1})
    assert untouched.status_code == 200 and untouched.get_json()["warnings"] == []  # the other file's is not its
