"""The console on both backends: hostile content renders inert, headers hold, forms work without JS
(htmx only enhances them; these requests are plain HTTP, as a browser without JavaScript sends them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from watchhouse.core.identity import Pseudonymizer
from watchhouse.office.accounts.roles import Role
from watchhouse.office.services import Office
from watchhouse.web.security import CSP

from .web_helpers import PASSWORD, Clock, add_user, alert, client_for, last_entry, make_office

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'
A1 = "wh-000000000000000000000001"


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    office = make_office(db_url, tmp_path, Clock())
    pseudonym = Pseudonymizer(b"k" * 32).pseudonym("mallory@example.org")
    assert office.identities is not None
    office.identities.record({"mallory@example.org": pseudonym})
    office.alerts.save([alert(1, explanation=HOSTILE), alert(2, subject=pseudonym, kind="user.id")])
    for name, role in (("ivy", Role.INVESTIGATOR), ("aud", Role.AUDITOR)):
        add_user(office, name, role)
    yield office
    office.close()


def _browser(office: Office, name: str) -> tuple[TestClient, str]:
    client = client_for(office)
    form = client.get("/login").text
    token = form.split('name="login_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": name, "password": PASSWORD, "login_token": token})
    page = client.get("/cases")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0] if "csrf_token" in page.text else ""
    if not csrf:
        csrf = client.get("/audit").text.split('name="csrf_token" value="')[1].split('"')[0]
    return client, csrf


OUR_SCRIPT = '<script src="/static/htmx.min.js" defer>'


def _scripts(html: str) -> list[str]:
    """Every opening script tag on a page: hostile content must never add one to ours."""
    return re.findall(r"<script[^>]*>", html)


def test_hostile_alert_and_note_content_renders_inert(office: Office) -> None:
    client, csrf = _browser(office, "ivy")
    page = client.get(f"/alerts/{A1}")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert _scripts(page.text) == [OUR_SCRIPT] and "onerror=" not in page.text.replace("onerror=&#34;", "")
    assert "<img" not in page.text
    opened = client.post(
        "/cases", data={"csrf_token": csrf, "title": HOSTILE, "crime_codes": ["illegal_access"]}, follow_redirects=False
    )
    assert opened.status_code == 303
    case_url = opened.headers["location"].split("?")[0]
    client.post(f"{case_url}/note", data={"csrf_token": csrf, "body": HOSTILE})
    case_page = client.get(case_url).text
    assert _scripts(case_page) == [OUR_SCRIPT] and "<img" not in case_page
    assert case_page.count("&lt;script&gt;") >= 2  # title and note, escaped


def test_security_headers_on_pages_api_and_errors(office: Office) -> None:
    client, _ = _browser(office, "ivy")
    for url in ("/login", "/alerts", f"/alerts/{A1}", "/api/v1/alerts", "/alerts/wh-missing", "/audit"):
        answer = client.get(url)
        assert answer.headers["content-security-policy"] == CSP, url
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
    assert "script-src 'self';" in CSP and "'unsafe-inline'" not in CSP and "unsafe-eval" not in CSP
    assert client.get("/alerts/wh-missing").status_code == 404
    assert client.get("/audit").status_code == 403


def test_bulk_triage_from_the_queue_form(office: Office) -> None:
    client, csrf = _browser(office, "ivy")
    queue = client.get("/alerts", params={"min_severity": "high"})
    assert A1 in queue.text and 'name="ids"' in queue.text
    done = client.post(
        "/alerts/bulk",
        data={
            "csrf_token": csrf,
            "action": "assign",
            "value": "ivy",
            "reason": "mine",
            "ids": [A1, "wh-000000000000000000000002"],
        },
    )
    assert done.status_code == 200 and "2 alert(s) changed" in done.text
    changes = [e for e in office.audit.tail(4) if e.action == "change" and e.details.get("new") == "ivy"]
    assert [e.object_id for e in changes] == [A1, "wh-000000000000000000000002"]
    assert all(e.actor == "ivy" for e in changes)


def test_pseudonyms_are_shown_and_reveal_needs_the_form(office: Office) -> None:
    client, csrf = _browser(office, "ivy")
    alert_page = client.get("/alerts/wh-000000000000000000000002").text
    assert "mallory@example.org" not in alert_page
    assert 'action="/reveal"' in alert_page and 'name="purpose"' in alert_page and 'name="case"' in alert_page
    case = (
        client.post(
            "/cases", data={"csrf_token": csrf, "title": "t", "crime_codes": ["illegal_access"]}, follow_redirects=False
        )
        .headers["location"]
        .split("/")[-1]
        .split("?")[0]
    )
    pseudonym = alert_page.split('name="pseudonym" value="')[1].split('"')[0]
    shown = client.post(
        "/reveal", data={"csrf_token": csrf, "pseudonym": pseudonym, "purpose": "referral", "case": case}
    )
    assert shown.status_code == 200 and "mallory@example.org" in shown.text
    assert last_entry(office).action == "reveal"


def test_case_evidence_and_audit_pages_render(office: Office, tmp_path: Path) -> None:
    client, csrf = _browser(office, "ivy")
    location = client.post(
        "/cases",
        data={"csrf_token": csrf, "title": "stuffing", "crime_codes": ["illegal_access"], "reviewer": "aud"},
        follow_redirects=False,
    ).headers["location"]
    case_url = location.split("?")[0]
    client.post(f"{case_url}/task", data={"csrf_token": csrf, "title": "call the bank"})
    client.post(f"{case_url}/link", data={"csrf_token": csrf, "kind": "alert", "target": A1})
    page = client.get(case_url)
    assert "call the bank" in page.text and A1 in page.text and "Timeline" in page.text
    assert client.get("/evidence").status_code == 200
    auditor, _ = _browser(office, "aud")
    audit = auditor.get("/audit")
    assert audit.status_code == 200 and "Verified:" in audit.text
    assert auditor.get("/alerts").status_code == 403
