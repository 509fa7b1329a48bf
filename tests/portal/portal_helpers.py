"""An office and a web app with the portal, drafts and forms to submit, and small valid files."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from watchhouse.office.accounts.passwords import PasswordCost
from watchhouse.office.accounts.roles import Role
from watchhouse.office.portal.models import Contact, IdentifierKind, Money, ReportDraft, ReporterRole, Upload
from watchhouse.office.services import Office, OfficeLocation, open_office
from watchhouse.web.app import create_app
from watchhouse.web.portal.settings import PortalSettings
from watchhouse.web.settings import WebSettings

PASSWORD = "correct horse battery staple"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


def make_office(url: str, tmp_path: Path) -> Office:
    where = OfficeLocation(
        url,
        tmp_path / "audit-signing.key",
        tmp_path / "evidence",
        password_cost=PasswordCost(time_cost=1, memory_kib=1024, parallelism=1),
        portal_ignore_hosts=frozenset({"platform.example"}),
    )
    return open_office(where)


def draft(
    *,
    email: str = "scammer@fraud.example",
    role: ReporterRole = ReporterRole.VICTIM,
    category: str = "scam",
    uploads: tuple[Upload, ...] = (),
    contact: Contact | None = None,
    urgent: bool = False,
) -> ReportDraft:
    return ReportDraft(
        role=role,
        category=category,
        narrative="They sold me a phone that never came and stopped answering.",
        occurred="2026-02-01",
        locations=("https://platform.example/item/42",),
        identifiers=((IdentifierKind.EMAIL, email),),
        money=Money("250.00", "EUR", "bank_transfer", "2026-02-01"),
        contact=contact,
        consent=contact is not None,
        urgent=urgent,
        bona_fide=True,
        uploads=uploads,
    )


def client_for(office: Office, **portal: Any) -> TestClient:
    settings = PortalSettings(**{"submissions_per_client": 1000, "pow_difficulty": 8, **portal})
    app = create_app(office, WebSettings(), settings)
    return TestClient(app, base_url="https://testserver", client=("127.0.0.1", 50000))


def add_user(office: Office, name: str, *roles: Role) -> None:
    office.accounts.add("local:admin", name, PASSWORD, roles)


def login(client: TestClient, name: str) -> str:
    answer = client.post("/api/v1/session", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["csrf_token"])


def challenge_fields(client: TestClient) -> dict[str, str]:
    """The no-JavaScript path: read the question from the form page and answer it."""
    page = client.get("/report").text
    token = re.search(r'name="challenge_token" value="([^"]+)"', page)
    question = re.search(r"What is (\w+) plus (\w+)\?", page)
    assert token and question
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    answer = words.index(question.group(1)) + words.index(question.group(2))
    return {"challenge_token": token.group(1).replace("&#43;", "+"), "challenge_answer": str(answer)}


def form(**overrides: str) -> dict[str, str]:
    fields = {
        "role": "victim",
        "category": "scam",
        "narrative": "They sold me a phone that never came and stopped answering.",
        "occurred": "2026-02-01",
        "locations": "https://platform.example/item/42",
        "emails": "Scammer@Fraud.example",
        "phones": "+44 20 7946 0000",
        "banks": "GB29 NWBK 6016 1331 9268 19",
        "amount": "250",
        "currency": "EUR",
        "method": "bank_transfer",
        "paid_on": "2026-02-01",
        "bona_fide": "yes",
    }
    fields.update(overrides)
    return fields


def submit(
    client: TestClient, fields: dict[str, str], files: list[tuple[str, tuple[str, bytes, str]]] | None = None
) -> httpx.Response:
    data = {**fields, **challenge_fields(client)}
    answer: httpx.Response = client.post(
        "/report", data=data, files=files or [], headers={"Accept": "application/json"}
    )
    return answer


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()
