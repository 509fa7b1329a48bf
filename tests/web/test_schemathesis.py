"""Property-based fuzzing of the JSON API from its own OpenAPI spec (Schemathesis, in-process ASGI).

Every operation in ``/api/v1/openapi.json`` is called with generated parameters and bodies, as a
logged-in admin (every permission, so the calls reach the services rather than stopping at the
role check), against an office seeded with alerts, a case and evidence. Two properties must hold
for every generated call: no 5xx answer (bad input is the caller's error: 4xx), and an answer
that the spec documents must match its documented schema.

The number of examples per operation is bounded (``WATCHHOUSE_FUZZ_EXAMPLES``, default 12) so the
whole run takes about a minute; ``bench/api_fuzz.py`` runs the same with more.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.accounts.roles import Role
from watchhouse.office.evidence.seal_alert import seal_alert_evidence
from watchhouse.office.services import Office

from .web_helpers import Clock, add_user, alert, api_login, client_for, make_office

EXAMPLES = int(os.environ.get("WATCHHOUSE_FUZZ_EXAMPLES", "12"))
NOT_FUZZED = {("DELETE", "/api/v1/session")}
"""Logging out would end the session every later call authenticates with."""


class Fuzzed:
    """The office under fuzzing and the credentials each generated call carries."""

    def __init__(self, office: Office, tmp: Path) -> None:
        log = tmp / "access.log"
        log.write_text("".join(f"203.0.113.9 - - GET /login?id={n} HTTP/1.1 401\n" for n in range(1, 6)))
        office.alerts.save([alert(n, log=str(log)) for n in range(1, 6)], "scan-1")
        add_user(office, "adm", Role.ADMIN)
        case = office.cases.open("adm", "credential stuffing", [CrimeCode.ILLEGAL_ACCESS], Severity.HIGH)
        office.cases.link_alert("adm", case.id, alert(1).id, "same source")
        item, _ = seal_alert_evidence(
            alert(1).id, alerts=office.alerts, evidence=office.evidence, audit=office.audit, actor="adm"
        )
        api = api_login(client_for(office), "adm")
        self.real: dict[str, list[str]] = {
            "alert_id": [alert(n).id for n in range(1, 6)],
            "case_id": [case.id],
            "item_id": [item.id],
            "fmt": ["stix", "misp", "html"],
        }
        """Seeded objects to put in path parameters, so generated calls also reach real records."""
        self.office = office
        self.app = cast(FastAPI, api.client.app)
        self.headers = {"X-CSRF-Token": api.csrf}
        self.cookies = {"wh_session": api.client.cookies["wh_session"]}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    tmp = tmp_path_factory.mktemp("fuzz")
    office = make_office(f"sqlite:///{tmp / 'office.db'}", tmp, Clock())
    yield Fuzzed(office, tmp)
    office.close()


def fuzz(fuzzed: Fuzzed, examples: int, only: str = "") -> tuple[Counter[str], list[str]]:
    """Run every operation of the spec; returns (answers per operation and status class, failures).

    Schemathesis' pytest plugin does not load under this pytest, so the operations' Hypothesis
    strategies are driven directly; every operation runs even when an earlier one fails.
    """
    api = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed.app)
    ran: Counter[str] = Counter()
    failures: list[str] = []
    for result in api.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"the spec has an operation Schemathesis cannot read: {result.err()}")
            continue
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if (operation.method.upper(), operation.path) in NOT_FUZZED or only not in operation.path:
            continue
        try:
            _run(operation, label, fuzzed, examples, ran)
        except Exception as exc:
            failures.append(f"{label}: {exc}")
    return ran, failures


def _run(operation: Any, label: str, fuzzed: Fuzzed, examples: int, ran: Counter[str]) -> None:
    @given(case=operation.as_strategy(), data=st.data())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any, data: st.DataObject) -> None:
        # Random ids mostly meet 404; half the time, name a real record instead (and keep the
        # generated bodies and queries), so the services behind each path are fuzzed too.
        for name in list(case.path_parameters or {}):
            if name in fuzzed.real and data.draw(st.booleans(), label=f"real {name}"):
                case.path_parameters[name] = data.draw(st.sampled_from(fuzzed.real[name]), label=name)
        answer = case.call_and_validate(
            headers=fuzzed.headers,
            cookies=fuzzed.cookies,
            checks=[not_a_server_error, response_schema_conformance],
        )
        ran[f"{label} {answer.status_code // 100}xx"] += 1

    check()


def test_no_server_errors_and_documented_answers_match_the_spec(fuzzed: Fuzzed) -> None:
    ran, failures = fuzz(fuzzed, EXAMPLES)
    assert not failures, "\n\n".join(failures)
    operations = {key.rsplit(" ", 1)[0] for key in ran}
    assert len(operations) > 30, sorted(operations)
    # The run got past authentication into the services (a run of 401s would prove nothing):
    assert ran["GET /api/v1/alerts 2xx"] > 0 and ran["GET /api/v1/cases 2xx"] > 0, ran
    assert sum(n for key, n in ran.items() if key.endswith("2xx")) > 5 * len(operations) // 2, ran


def test_the_fuzzer_reports_a_server_error(fuzzed: Fuzzed) -> None:
    """The harness can fail: an operation that crashes on some input is reported with its path."""

    @fuzzed.app.get("/api/v1/alerts-by-letter/{letter}")
    def crashes(letter: str) -> dict[str, int]:
        return {"position": "abc".index(letter[:1])}  # ValueError (500) outside a, b, c

    fuzzed.app.openapi_schema = None  # the spec is cached; let it list the new operation
    try:
        _, failures = fuzz(fuzzed, 5)
    finally:
        fuzzed.app.router.routes.pop()
        fuzzed.app.openapi_schema = None
    assert any(f.startswith("GET /api/v1/alerts-by-letter/{letter}") for f in failures), failures


def test_the_fuzzed_session_stays_logged_in(fuzzed: Fuzzed) -> None:
    """Guard against a run that only ever saw 401s (it would prove nothing)."""
    from fastapi.testclient import TestClient

    client = TestClient(fuzzed.app, base_url="https://testserver", cookies=fuzzed.cookies)
    answer = client.get("/api/v1/alerts", params={"min_severity": "high"})
    assert answer.status_code == 200 and answer.json()["count"] == 5
