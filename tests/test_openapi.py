"""The API against its own OpenAPI document, by Schemathesis: for every role, generated requests valid and
invalid by the document, sent in process to the WSGI app (no network). Any 5xx, a status, content type or
body the document does not describe, or an invalid request the server accepts fails the test."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from engine import decisions, drafts, users, versions
from engine.evaluate import evaluate
from web import create_app
from web.db import get_db, init_db

# one account per role; a local officer and a caseworker of 新化县 (431322), whose draft and decision exist
ROLES = {"province_officer": "430000", "local_officer": "431322", "reviewer": "430000",
         "caseworker": "431322", "admin": None}
HOUSEHOLD = {"household_id": "XH-0001", "county": "431322", "members": [{"id": "m1", "age": 75}]}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """An app over a database with the Hunan pack as version 1, a token per role, an editing and a submitted
    draft (ids 1 and 2) and a stored decision (id 1), so that generated ids meet real records too."""
    path = tmp_path_factory.mktemp("fuzz") / "doudi.db"
    app = create_app({"TESTING": True, "DATABASE": str(path), "SYNTHETIC_LIMIT": 50, "BATCH_LIMIT": 20})
    init_db(app)
    with app.app_context():
        db = get_db()
        _, pack = versions.pack_of(db)
        tokens = {}
        for role, code in ROLES.items():
            users.add_user(db, "test", role, "password-1", role, code, pack=pack)
            tokens[role] = users.issue_token(db, "test", role, "fuzz")
        officer = users.get_user(db, "local_officer")
        for _ in range(2):
            draft = drafts.create_draft(db, officer, "fuzz")
            drafts.set_parameter_value(db, draft.id, officer, jurisdiction="431322", parameter="dibao_standard",
                                       effective="2019-01-01", value=4100, document="新政发〔2019〕9号",
                                       revision=draft.revision)
        drafts.submit(db, 2, officer)
        decisions.record(db, evaluate(pack, HOUSEHOLD, "2019-06-01", version=1), HOUSEHOLD, "caseworker")
    return app, tokens


def _run(app, token, max_examples):
    """Every operation, with requests valid (positive) and invalid (negative) by the document; the failures."""
    config = schemathesis.Config.from_dict({"auth": {"openapi": {"bearer": {"bearer": token}}}})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(operation.as_strategy(generation_mode=mode))
            @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
            def check(case):
                response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
                statuses[response.status_code] += 1

            try:
                check()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation is tried; all failures listed
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    return failures, statuses


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_operation_for_every_role_keeps_to_the_document(fuzzed, role):
    app, tokens = fuzzed
    failures, statuses = _run(app, tokens[role], 6)
    assert not failures, "\n\n".join(failures)
    print(role, sorted(statuses.items()))
    assert sum(n for status, n in statuses.items() if status < 300) > 20  # the token works: not all refused
