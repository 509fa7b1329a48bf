"""API tokens on both backends: shown once, stored hashed, bearer on the API only, narrowed, revoked, audited."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from watchhouse.cli import user_cmd
from watchhouse.office.accounts.roles import Role
from watchhouse.office.accounts.tables import api_tokens
from watchhouse.office.services import Office

from .web_helpers import Clock, add_user, alert, api_login, client_for, last_entry, make_office


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def office(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[Office]:
    office = make_office(db_url, tmp_path, clock)
    add_user(office, "ana", Role.ANALYST, Role.AUDITOR)
    add_user(office, "bob", Role.ANALYST)
    add_user(office, "root", Role.ADMIN)
    office.alerts.save([alert(1), alert(2)])
    yield office
    office.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _create(office: Office, user: str, **body: object) -> dict[str, object]:
    api = api_login(client_for(office), user)
    answer = api.post("/api/v1/tokens", {"name": "nightly export", **body})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_secret_is_shown_once_and_only_its_sha256_is_stored(office: Office) -> None:
    created = _create(office, "ana")
    secret = str(created["token"])
    assert secret.startswith(f"whk_{created['id']}_") and len(secret) > 60
    assert str(created["expires_at"]) > str(created["created_at"]) and created["roles"] is None
    entry = last_entry(office)
    assert (entry.actor, entry.action, entry.object_type, entry.object_id) == (
        "ana",
        "create",
        "api-token",
        created["id"],
    )
    assert secret not in str(entry.to_dict())
    with office.engine.connect() as conn:
        row = conn.execute(select(api_tokens)).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in [str(v) for v in row]
    listing = api_login(client_for(office), "ana").get("/api/v1/tokens").json()["tokens"]
    assert [t["id"] for t in listing] == [created["id"]] and secret not in str(listing)
    assert "token" not in listing[0] and listing[0]["state"] == "active"


def test_bearer_needs_no_csrf_but_a_cookie_session_still_does(office: Office) -> None:
    secret = str(_create(office, "bob")["token"])
    script = client_for(office)
    answer = script.post(
        "/api/v1/alerts/" + alert(1).id + "/status", json={"value": "triaged"}, headers=_bearer(secret)
    )
    assert answer.status_code == 200, answer.text
    assert (last_entry(office).actor, last_entry(office).object_id) == ("bob", alert(1).id)
    browser = api_login(client_for(office), "bob")
    assert (
        browser.client.post("/api/v1/alerts/" + alert(2).id + "/status", json={"value": "triaged"}).status_code == 403
    )
    me = script.get("/api/v1/session", headers=_bearer(secret)).json()
    assert me["username"] == "bob" and "csrf_token" not in me


def test_a_token_never_opens_console_pages(office: Office) -> None:
    secret = str(_create(office, "bob")["token"])
    script = client_for(office)
    answer = script.get("/alerts", headers=_bearer(secret), follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    assert script.get("/api/v1/alerts", headers=_bearer(secret)).status_code == 200


def test_narrower_roles_and_the_account_s_current_roles_both_bound_a_token(office: Office) -> None:
    secret = str(_create(office, "ana", roles=["analyst"])["token"])
    script = client_for(office)
    assert script.get("/api/v1/alerts", headers=_bearer(secret)).status_code == 200
    assert script.get("/api/v1/audit/verify", headers=_bearer(secret)).status_code == 403
    refused = last_entry(office)
    assert (refused.actor, refused.action, refused.details["attempted"]) == ("ana", "refused", "audit:read")
    assert api_login(client_for(office), "ana").get("/api/v1/audit/verify").status_code == 200
    too_wide = api_login(client_for(office), "bob").post("/api/v1/tokens", {"name": "x", "roles": ["admin"]})
    assert too_wide.status_code == 400
    office.accounts.set_roles("local:admin", "ana", [Role.AUDITOR])
    assert script.get("/api/v1/alerts", headers=_bearer(secret)).status_code == 401
    assert last_entry(office).details["reason"] == "roles-withdrawn"


def test_expiry_revocation_and_disabled_accounts_refuse_and_are_audited(office: Office, clock: Clock) -> None:
    short = _create(office, "bob", days=2)
    other = _create(office, "bob")
    script = client_for(office)
    assert script.get("/api/v1/alerts", headers=_bearer(str(short["token"]))).status_code == 200
    clock.advance(timedelta(days=2, minutes=1))
    assert script.get("/api/v1/alerts", headers=_bearer(str(short["token"]))).status_code == 401
    failed = last_entry(office)
    assert (failed.actor, failed.action, failed.object_id, failed.details["reason"]) == (
        "web:anonymous",
        "login-failed",
        short["id"],
        "expired",
    )
    revoked = script.delete(f"/api/v1/tokens/{other['id']}", headers=_bearer(str(other["token"])))
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert (last_entry(office).action, last_entry(office).details["op"]) == ("change", "revoke")
    assert script.get("/api/v1/alerts", headers=_bearer(str(other["token"]))).status_code == 401
    assert last_entry(office).details["reason"] == "revoked"
    third = _create(office, "bob")
    office.accounts.disable("local:admin", "bob")
    assert script.get("/api/v1/alerts", headers=_bearer(str(third["token"]))).status_code == 401
    assert last_entry(office).details["reason"] == "account-disabled"


@pytest.mark.parametrize(
    ("bearer", "reason"),
    [("whk_0123456789abcdef_guess", "unknown"), ("not-a-token", "malformed"), ("whk_short_x", "malformed")],
)
def test_unknown_and_malformed_tokens_are_refused_and_audited(office: Office, bearer: str, reason: str) -> None:
    answer = client_for(office).get("/api/v1/alerts", headers=_bearer(bearer))
    assert answer.status_code == 401
    assert (last_entry(office).object_type, last_entry(office).details["reason"]) == ("api-token", reason)


def test_a_right_id_with_a_wrong_secret_is_refused(office: Office) -> None:
    created = _create(office, "bob")
    forged = f"whk_{created['id']}_" + "A" * 43
    assert client_for(office).get("/api/v1/alerts", headers=_bearer(forged)).status_code == 401
    assert (last_entry(office).object_id, last_entry(office).details["reason"]) == (created["id"], "bad-secret")


def test_who_may_create_list_and_revoke_whose_tokens(office: Office) -> None:
    bob = api_login(client_for(office), "bob")
    assert bob.post("/api/v1/tokens", {"name": "x", "username": "ana"}).status_code == 403
    assert last_entry(office).details == {"attempted": "account:admin", "path": "/api/v1/tokens", "refusal": "role"}
    assert bob.get("/api/v1/tokens", username="ana").status_code == 403
    root = api_login(client_for(office), "root")
    made = root.post("/api/v1/tokens", {"name": "ana's exporter", "username": "ana", "days": 30})
    assert made.status_code == 201 and made.json()["username"] == "ana" and made.json()["created_by"] == "root"
    assert (
        bob.client.delete(f"/api/v1/tokens/{made.json()['id']}", headers={"X-CSRF-Token": bob.csrf}).status_code == 403
    )
    secret = str(made.json()["token"])
    again = client_for(office).post("/api/v1/tokens", json={"name": "child"}, headers=_bearer(secret))
    assert again.status_code == 403  # a token cannot mint tokens
    assert root.post("/api/v1/tokens", {"name": "too long", "days": 366}).status_code == 422
    listed = root.get("/api/v1/tokens", username="ana").json()["tokens"]
    assert [t["name"] for t in listed] == ["ana's exporter"]


def test_last_used_is_recorded_at_most_once_a_minute(office: Office, clock: Clock) -> None:
    created = _create(office, "bob")
    script = client_for(office)
    script.get("/api/v1/alerts", headers=_bearer(str(created["token"])))
    first = office.accounts.tokens.get(str(created["id"])).last_used_at
    assert first is not None
    script.get("/api/v1/alerts", headers=_bearer(str(created["token"])))
    assert office.accounts.tokens.get(str(created["id"])).last_used_at == first
    clock.advance(timedelta(minutes=2))
    script.get("/api/v1/alerts", headers=_bearer(str(created["token"])))
    later = office.accounts.tokens.get(str(created["id"])).last_used_at
    assert later is not None and later > first


def test_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200", "WATCHHOUSE_ACTOR": "tester", "WATCHHOUSE_DB_URL": None})
    home = ["--home", str(tmp_path / "wh")]
    added = runner.invoke(user_cmd.app, ["add", "ana", "--role", "analyst", "--password-stdin", *home], input="x" * 16)
    assert added.exit_code == 0, added.output
    made = runner.invoke(user_cmd.app, ["token", "create", "ana", "--name", "ci", "--days", "7", *home])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("whk_")
    token_id = secret[4:20]
    listed = runner.invoke(user_cmd.app, ["token", "list", "ana", *home]).output
    assert token_id in listed and "active" in listed and secret not in listed
    assert runner.invoke(user_cmd.app, ["token", "revoke", secret, *home]).exit_code == 0
    assert "revoked" in runner.invoke(user_cmd.app, ["token", "list", "ana", *home]).output


def test_client_without_a_cookie_or_token_gets_401(office: Office) -> None:
    client: TestClient = client_for(office)
    assert client.get("/api/v1/tokens").status_code == 401


def test_a_password_reset_revokes_the_accounts_tokens_and_says_how_many(office: Office) -> None:
    mine = str(_create(office, "bob")["token"])
    other = str(_create(office, "ana")["token"])
    script = client_for(office)
    assert script.get("/api/v1/session", headers=_bearer(mine)).status_code == 200
    office.accounts.set_password("root", "bob", "a brand new long passphrase")
    entry = last_entry(office)
    assert (entry.actor, entry.object_id, entry.details["op"], entry.details["tokens_revoked"]) == (
        "root",
        "bob",
        "password",
        1,
    )
    assert script.get("/api/v1/session", headers=_bearer(mine)).status_code == 401
    assert script.get("/api/v1/session", headers=_bearer(other)).status_code == 200
    with office.engine.connect() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.username == "bob")).one()
    assert row.revoked_by == "root" and row.revoked_at is not None


def test_guessing_tokens_is_throttled_per_address_before_the_audit_log_is_touched(office: Office) -> None:
    good = str(_create(office, "bob")["token"])
    script = client_for(office, client_login_attempts=3)
    assert script.get("/api/v1/session", headers=_bearer(good)).status_code == 200  # successes are not counted
    guesses = [f"whk_{i:016x}_{'x' * 43}" for i in range(5)]
    answers = [script.get("/api/v1/session", headers=_bearer(g)).status_code for g in guesses[:3]]
    assert answers == [401, 401, 401]
    entries_before = office.audit.count()
    assert script.get("/api/v1/session", headers=_bearer(guesses[3])).status_code == 429
    assert script.get("/api/v1/session", headers=_bearer(good)).status_code == 429
    assert office.audit.count() == entries_before
