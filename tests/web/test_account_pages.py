"""Account pages: admins manage accounts, everyone enrols TOTP and manages their own API tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from watchhouse.office.accounts import totp
from watchhouse.office.accounts.roles import Role
from watchhouse.office.services import Office

from .web_helpers import PASSWORD, Clock, add_user, api_login, client_for, last_entry, make_office

NEW_PASSWORD = "a different long passphrase"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def office(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[Office]:
    office = make_office(db_url, tmp_path, clock)
    add_user(office, "root", Role.ADMIN)
    add_user(office, "ana", Role.ANALYST, Role.LEGAL)
    yield office
    office.close()


def _login(office: Office, name: str, password: str = PASSWORD, code: str = "") -> TestClient:
    client = client_for(office)
    form = client.get("/login").text
    token = form.split('name="login_token" value="')[1].split('"')[0]
    answer = client.post(
        "/login",
        data={"username": name, "password": password, "login_token": token, "totp": code},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def _csrf(client: TestClient) -> str:
    page: str = client.get("/account").text
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def _can_log_in(office: Office, name: str, password: str) -> bool:
    answer: httpx.Response = client_for(office).post("/api/v1/session", json={"username": name, "password": password})
    return answer.status_code == 200


def test_admin_lists_and_creates_accounts_with_roles(office: Office) -> None:
    root = _login(office, "root")
    listing = root.get("/accounts")
    assert listing.status_code == 200 and "ana" in listing.text and "analyst, legal" in listing.text
    assert last_entry(office).action == "search" and last_entry(office).actor == "root"
    answer = root.post(
        "/accounts",
        data={"csrf_token": _csrf(root), "username": "Ivan", "password": PASSWORD, "roles": ["investigator", "legal"]},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and "notice=account%20ivan%20created" in answer.headers["location"]
    created = office.accounts.get("ivan")
    assert created.roles == (Role.INVESTIGATOR, Role.LEGAL)
    assert _can_log_in(office, "ivan", PASSWORD)
    entry = next(e for e in reversed(office.audit.tail(5)) if e.action == "create")
    assert (entry.actor, entry.object_id, entry.details["roles"]) == ("root", "ivan", ["investigator", "legal"])
    no_roles = root.post("/accounts", data={"csrf_token": _csrf(root), "username": "eve", "password": PASSWORD})
    assert no_roles.status_code == 400


def test_non_admins_are_refused_and_the_refusal_is_audited(office: Office) -> None:
    ana = _login(office, "ana")
    assert ana.get("/accounts").status_code == 403
    assert (last_entry(office).action, last_entry(office).details["attempted"]) == ("refused", "account:admin")
    posted = ana.post("/accounts/root/disable", data={"csrf_token": _csrf(ana)})
    assert posted.status_code == 403 and not office.accounts.get("root").disabled


def test_forms_without_the_session_csrf_token_are_refused(office: Office) -> None:
    root = _login(office, "root")
    assert root.post("/accounts/ana/disable", data={"csrf_token": "forged"}).status_code == 403
    assert root.post("/account/tokens", data={"name": "x"}).status_code == 403
    assert not office.accounts.get("ana").disabled and office.accounts.tokens.list("root", "root") == []


def test_disable_enable_and_password_reset_take_effect(office: Office) -> None:
    ana = _login(office, "ana")
    root = _login(office, "root")
    assert root.post("/accounts/ana/disable", data={"csrf_token": _csrf(root)}).status_code == 200
    assert ana.get("/account", follow_redirects=False).headers["location"] == "/login"  # session ended
    assert not _can_log_in(office, "ana", PASSWORD)
    assert root.post("/accounts/root/disable", data={"csrf_token": _csrf(root)}).status_code == 400
    root.post("/accounts/ana/enable", data={"csrf_token": _csrf(root)})
    assert _can_log_in(office, "ana", PASSWORD)
    reset = root.post("/accounts/ana/password", data={"csrf_token": _csrf(root), "password": NEW_PASSWORD})
    assert reset.status_code == 200 and "password of ana reset" in reset.text
    assert not _can_log_in(office, "ana", PASSWORD) and _can_log_in(office, "ana", NEW_PASSWORD)
    short = root.post("/accounts/ana/password", data={"csrf_token": _csrf(root), "password": "short"})
    assert short.status_code == 400
    ops = [e.details["op"] for e in office.audit.tail(40) if e.action == "change" and e.actor == "root"]
    assert ops == ["disable", "enable", "password"]


def test_enrolling_totp_needs_a_matching_code_and_then_guards_the_login(office: Office, clock: Clock) -> None:
    ana = _login(office, "ana")
    started = ana.post("/account/totp/start", data={"csrf_token": _csrf(ana)})
    assert started.status_code == 200
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', started.text)
    pending = re.search(r'name="pending" value="([^"]+)"', started.text)
    assert secret and pending and "otpauth://totp/Watchhouse%3Aana" in started.text
    code = totp.code_at(secret.group(1), clock.now)
    wrong = "000000" if code != "000000" else "111111"
    refused = ana.post(
        "/account/totp/confirm", data={"csrf_token": _csrf(ana), "pending": pending.group(1), "code": wrong}
    )
    assert refused.status_code == 400 and secret.group(1) in refused.text
    assert not office.accounts.get("ana").totp_enabled
    confirmed = ana.post(
        "/account/totp/confirm", data={"csrf_token": _csrf(ana), "pending": pending.group(1), "code": code}
    )
    assert confirmed.status_code == 200 and "two-factor login is on" in confirmed.text
    assert office.accounts.get("ana").totp_enabled
    assert not _can_log_in(office, "ana", PASSWORD)  # a code is now required
    clock.advance(timedelta(seconds=totp.STEP_SECONDS))  # the enrolment code cannot be replayed
    _login(office, "ana", code=totp.code_at(secret.group(1), clock.now))


def test_tokens_are_created_shown_once_listed_and_revoked_from_the_console(office: Office) -> None:
    ana = _login(office, "ana")
    made = ana.post(
        "/account/tokens", data={"csrf_token": _csrf(ana), "name": "<b>nightly</b>", "days": "30", "roles": ["legal"]}
    )
    assert made.status_code == 201
    secret = re.search(r'id="new-token">(whk_[0-9a-f]{16}_[A-Za-z0-9_-]+)<', made.text)
    assert secret and "&lt;b&gt;nightly&lt;/b&gt;" in made.text and "<b>nightly</b>" not in made.text
    page = ana.get("/account").text
    assert secret.group(1) not in page and "legal" in page and "active" in page
    assert client_for(office).get("/api/v1/session", headers={"Authorization": f"Bearer {secret.group(1)}"}).json()[
        "roles"
    ] == ["legal"]
    token_id = secret.group(1)[4:20]
    root = _login(office, "root")
    assert root.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": _csrf(root)}).status_code == 403
    revoked = ana.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": _csrf(ana)})
    assert revoked.status_code == 200 and "revoked" in revoked.text
    assert office.accounts.tokens.get(token_id).revoked_by == "ana"


def test_a_bearer_token_does_not_open_account_pages(office: Office) -> None:
    created = api_login(client_for(office), "root").post("/api/v1/tokens", {"name": "ops"}).json()
    bare = client_for(office)
    answer = bare.get("/accounts", headers={"Authorization": f"Bearer {created['token']}"}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
