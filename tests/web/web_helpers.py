"""An office over a fresh database, a web app over it, users to log in as, and alerts to work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from watchhouse.core.alerts import Alert
from watchhouse.core.findings import EventRef, Severity, Stage, Subject
from watchhouse.core.identity import Pseudonymizer
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.accounts.models import LoginPolicy
from watchhouse.office.accounts.passwords import PasswordCost
from watchhouse.office.accounts.roles import Role
from watchhouse.office.audit.entries import AuditEntry
from watchhouse.office.identity.vault import RevealPolicy
from watchhouse.office.services import Office, OfficeLocation, open_office
from watchhouse.web.app import create_app
from watchhouse.web.settings import WebSettings

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
CHEAP = PasswordCost(time_cost=1, memory_kib=1024, parallelism=1)
"""Low argon2id cost so tests stay fast; production hashes use the default (stored per hash)."""


class Clock:
    """Moves 1 ms per reading (so entries keep their order) and jumps when a test says so."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def make_office(url: str, tmp_path: Path, clock: Clock, reveal_limit: int = 10) -> Office:
    where = OfficeLocation(
        url,
        tmp_path / "audit-signing.key",
        tmp_path / "evidence",
        vault_key=tmp_path / "identity-vault.key",
        reveal_policy=RevealPolicy(limit=reveal_limit),
        password_cost=CHEAP,
        login_policy=LoginPolicy(max_failures=3, lockout=timedelta(minutes=15)),
    )
    return open_office(where, clock)


def client_for(office: Office, **settings: object) -> TestClient:
    """A client over HTTPS (so Secure cookies travel) from 127.0.0.1."""
    app = create_app(office, WebSettings(**settings))  # type: ignore[arg-type]
    return TestClient(app, base_url="https://testserver", client=("127.0.0.1", 50000))


def add_user(office: Office, name: str, *roles: Role) -> None:
    office.accounts.add("local:admin", name, PASSWORD, roles)


@dataclass
class Api:
    """A logged-in API client: sends the CSRF header on every call, like a well-behaved script."""

    client: TestClient
    csrf: str

    def get(self, url: str, **params: str | int) -> httpx.Response:
        answer: httpx.Response = self.client.get(url, params=params)
        return answer

    def post(self, url: str, body: Mapping[str, object]) -> httpx.Response:
        answer: httpx.Response = self.client.post(url, json=body, headers={"X-CSRF-Token": self.csrf})
        return answer


def api_login(client: TestClient, name: str, password: str = PASSWORD, totp: str | None = None) -> Api:
    answer = client.post("/api/v1/session", json={"username": name, "password": password, "totp": totp})
    assert answer.status_code == 200, answer.text
    return Api(client, answer.json()["csrf_token"])


def last_entry(office: Office) -> AuditEntry:
    return office.audit.tail(1)[0]


def alert(
    n: int,
    *,
    explanation: str = "matched",
    subject: str = "203.0.113.9",
    kind: str = "source.ip",
    log: str = "/var/log/access.log",
) -> Alert:
    seen = T0 + timedelta(minutes=n)
    return Alert(
        id=f"wh-{n:024d}",
        detector="web.attack_patterns",
        detector_version="1",
        key=f"k{n}",
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        stage=Stage.ATTEMPTED,
        severity=Severity.HIGH,
        confidence=0.9,
        title=f"alert {n}",
        explanation=explanation,
        subject=Subject(kind, subject),
        first_seen=seen,
        last_seen=seen + timedelta(seconds=30),
        evidence=(EventRef(log, n),),
        details={"url.path": "/login"},
    )


ACCOUNT_A = Pseudonymizer(b"k" * 32).pseudonym("alice@example.org")
ACCOUNT_B = Pseudonymizer(b"k" * 32).pseudonym("bob@example.org")
"""Pseudonyms as the office stores them (the web API never sees a real identifier)."""
ORDER = {"instrument": "production order", "reference": "AZ 12 Js 345/26", "issuer": "Amtsgericht Berlin-Tiergarten"}


def disclosure_body(**changes: object) -> dict[str, object]:
    """A well-formed subscriber-information request from the BKA; ``changes`` override fields."""
    body: dict[str, object] = {
        "authority": "Bundeskriminalamt",
        "country": "DE",
        "type": "subscriber_info",
        "accounts": [ACCOUNT_A, ACCOUNT_B],
        "start": "2026-01-01",
        "end": "2026-02-28",
        "categories": ["subscriber", "ip_logs"],
        "legal_basis": ORDER,
    }
    body.update(changes)
    return body


def console_login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log a console client in through the login form; returns the session's CSRF token."""
    form = client.get("/login").text
    token = form.split('name="login_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": name, "password": password, "login_token": token}, follow_redirects=False)
    for url in ("/disclosures", "/cases", "/audit"):  # any page the roles allow carries the logout form
        page = client.get(url).text
        if 'name="csrf_token" value="' in page:
            return str(page.split('name="csrf_token" value="')[1].split('"')[0])
    raise AssertionError(f"{name} could not log in to the console")
