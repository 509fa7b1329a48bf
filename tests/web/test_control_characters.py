"""NUL characters in what a request sends get the same clear 400 on both office backends.

PostgreSQL refuses NUL in text outright, so an unchecked ``?purpose=%00`` was a 500 there while
SQLite stored it. The refusal happens at the edge, before any route, audit entry or query.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from watchhouse.office.accounts.roles import Role
from watchhouse.office.services import Office
from watchhouse.web.input_hygiene import MESSAGE

from .web_helpers import Clock, add_user, alert, api_login, client_for, make_office


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    office = make_office(db_url, tmp_path, Clock())
    add_user(office, "ana", Role.ANALYST, Role.INVESTIGATOR)
    office.alerts.save([alert(1)])
    yield office
    office.close()


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/alerts", {"purpose": "triage\x00x"}),
        ("/api/v1/alerts", {"detector": "web\x00x"}),
        ("/api/v1/alerts/{alert}", {"purpose": "a\x00b"}),
        ("/api/v1/cases", {"purpose": "\x00"}),
        ("/api/v1/alerts/wh-%00", {}),
    ],
)
def test_nul_in_path_or_query_is_refused_before_anything_is_read(
    office: Office, path: str, params: dict[str, str]
) -> None:
    api = api_login(client_for(office), "ana")
    entries = office.audit.count()
    answer = api.client.get(path.format(alert=alert(1).id), params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"error": "InputError", "detail": MESSAGE}
    assert answer.headers["x-content-type-options"] == "nosniff"  # the security headers still wrap it
    assert office.audit.count() == entries


def test_nul_in_a_json_body_is_refused_and_the_same_body_without_it_is_accepted(office: Office) -> None:
    api = api_login(client_for(office), "ana")
    target = f"/api/v1/alerts/{alert(1).id}/status"
    refused = api.client.post(
        target,
        content='{"value": "triaged\\u0000"}',
        headers={"X-CSRF-Token": api.csrf, "Content-Type": "application/json"},
    )
    assert refused.status_code == 400 and refused.json()["detail"] == MESSAGE
    accepted = api.post(target, {"value": "triaged"})
    assert accepted.status_code == 200, accepted.text


def test_nul_in_a_console_form_is_refused_with_a_plain_message(office: Office) -> None:
    client = client_for(office)
    answer = client.post("/login", data={"username": "ana\x00", "password": "x"})
    assert answer.status_code == 400 and answer.text == MESSAGE
    assert answer.headers["content-type"].startswith("text/plain")
