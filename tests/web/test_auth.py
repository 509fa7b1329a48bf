"""Logging in on both backends: wrong passwords, lockout, TOTP, cookies, CSRF, sessions ending."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from watchhouse.office.accounts import totp
from watchhouse.office.accounts.roles import Role
from watchhouse.office.services import Office

from .web_helpers import PASSWORD, Clock, add_user, alert, api_login, client_for, last_entry, make_office


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def office(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[Office]:
    office = make_office(db_url, tmp_path, clock)
    add_user(office, "ana", Role.ANALYST)
    office.alerts.save([alert(1)])
    yield office
    office.close()


@pytest.fixture
def client(office: Office) -> TestClient:
    return client_for(office)


def _login(client: TestClient, password: str, code: str | None = None) -> int:
    body = {"username": "ana", "password": password, "totp": code}
    status: int = client.post("/api/v1/session", json=body).status_code
    return status


def test_wrong_password_is_refused_and_audited_and_right_one_sets_a_strict_cookie(
    office: Office, client: TestClient
) -> None:
    assert _login(client, "not the password at all") == 401
    failed = last_entry(office)
    assert (failed.action, failed.object_id, failed.details["reason"]) == ("login-failed", "ana", "bad-password")
    assert failed.actor == "web:anonymous"
    answer = client.post("/api/v1/session", json={"username": "ana", "password": PASSWORD})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    assert (last_entry(office).action, last_entry(office).actor) == ("login", "ana")
    assert client.get("/api/v1/session").json()["username"] == "ana"


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(office: Office, client: TestClient) -> None:
    answer = client.post("/api/v1/session", json={"username": "nobody", "password": PASSWORD})
    assert answer.status_code == 401
    assert "wrong user name, password" in answer.json()["detail"]
    assert last_entry(office).details["reason"] == "unknown-user"


def test_repeated_failures_lock_the_account_until_the_lockout_ends(
    office: Office, client: TestClient, clock: Clock
) -> None:
    for _ in range(3):
        assert _login(client, "guess guess guess") == 401
    assert any(e.action == "change" and e.details.get("op") == "locked" for e in office.audit.tail(5))
    assert _login(client, PASSWORD) == 401  # the right password does not help while locked
    assert last_entry(office).details["reason"] == "locked"
    clock.advance(timedelta(minutes=16))
    assert _login(client, PASSWORD) == 200


def test_totp_second_factor_is_required_checked_and_not_replayable(
    office: Office, client: TestClient, clock: Clock
) -> None:
    secret = office.accounts.enable_totp("local:admin", "ana")
    assert _login(client, PASSWORD) == 401
    assert last_entry(office).details["reason"] == "totp-missing"
    code = totp.code_at(secret, clock.now)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert _login(client, PASSWORD, wrong) == 401
    assert last_entry(office).details["reason"] == "bad-totp"
    assert _login(client, PASSWORD, code) == 200
    assert _login(client, PASSWORD, code) == 401  # same code again: replay


def test_calls_without_a_session_are_refused_and_console_redirects_to_login(client: TestClient) -> None:
    assert client.get("/api/v1/alerts").status_code == 401
    page = client.get("/alerts", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"


def test_state_changes_without_the_csrf_token_are_refused(office: Office, client: TestClient) -> None:
    api = api_login(client, "ana")
    before = office.audit.count()
    refused = client.post("/api/v1/alerts/wh-000000000000000000000001/status", json={"value": "triaged"})
    assert refused.status_code == 403 and refused.json()["error"] == "CsrfError"
    forged = client.post(
        "/api/v1/alerts/wh-000000000000000000000001/status",
        json={"value": "triaged"},
        headers={"X-CSRF-Token": api.csrf + "x"},
    )
    assert forged.status_code == 403
    form = client.post("/alerts/wh-000000000000000000000001/triage", data={"action": "status", "value": "triaged"})
    assert form.status_code == 403 and "did not come from the console" in form.text
    assert office.audit.count() == before  # nothing changed, nothing recorded as done
    assert client.get("/api/v1/alerts/wh-000000000000000000000001").json()["status"] == "new"


def test_console_login_needs_its_form_token(office: Office, client: TestClient) -> None:
    assert client.post("/login", data={"username": "ana", "password": PASSWORD}).status_code == 403
    form = client.get("/login")
    token = form.text.split('name="login_token" value="')[1].split('"')[0]
    done = client.post(
        "/login", data={"username": "ana", "password": PASSWORD, "login_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert client.get("/alerts").status_code == 200


def test_logout_and_disabling_end_sessions(office: Office, client: TestClient) -> None:
    api = api_login(client, "ana")
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": api.csrf}).status_code == 204
    assert client.get("/api/v1/alerts").status_code == 401
    api_login(client, "ana")
    office.accounts.disable("local:admin", "ana")
    assert client.get("/api/v1/alerts").status_code == 401
    assert _login(client, PASSWORD) == 401


def test_one_client_address_is_throttled_across_accounts(office: Office) -> None:
    client = client_for(office, client_login_attempts=2)
    for name in ("x1", "x2"):
        assert client.post("/api/v1/session", json={"username": name, "password": PASSWORD}).status_code == 401
    assert client.post("/api/v1/session", json={"username": "ana", "password": PASSWORD}).status_code == 429
