"""The JSON API on both backends: each call leaves its audit entry; roles and need-to-know hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from watchhouse.core.identity import Pseudonymizer
from watchhouse.office.accounts.roles import Role
from watchhouse.office.services import Office

from .web_helpers import Api, Clock, add_user, alert, api_login, client_for, last_entry, make_office

A1, A2 = "wh-000000000000000000000001", "wh-000000000000000000000002"


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    office = make_office(db_url, tmp_path, Clock())
    log = tmp_path / "access.log"
    log.write_text("".join(f"203.0.113.9 - - GET /login?id={n} HTTP/1.1 200\n" for n in range(1, 4)))
    office.alerts.save([alert(1, log=str(log)), alert(2, log=str(log))])
    for name, role in (("ana", Role.ANALYST), ("ivy", Role.INVESTIGATOR), ("aud", Role.AUDITOR), ("leo", Role.LEGAL)):
        add_user(office, name, role)
    yield office
    office.close()


def _as(office: Office, name: str) -> Api:
    return api_login(client_for(office), name)


def _audited(
    office: Office, answer: httpx.Response, actor: str, action: str, object_type: str, status: int = 200
) -> None:
    assert answer.status_code == status, answer.text
    entry = last_entry(office)
    assert (entry.actor, entry.action, entry.object_type) == (actor, action, object_type)


def test_every_office_call_leaves_an_audit_entry_naming_the_user(office: Office) -> None:
    ivy = _as(office, "ivy")
    _audited(office, ivy.get("/api/v1/alerts", min_severity="high"), "ivy", "search", "alert")
    assert ivy.get("/api/v1/alerts", min_severity="high").json()["count"] == 2
    _audited(office, ivy.get(f"/api/v1/alerts/{A1}"), "ivy", "read", "alert")
    _audited(office, ivy.post(f"/api/v1/alerts/{A1}/status", {"value": "in_progress"}), "ivy", "change", "alert")
    _audited(office, ivy.post(f"/api/v1/alerts/{A1}/assign", {"value": "ana"}), "ivy", "change", "alert")
    _audited(
        office,
        ivy.post(f"/api/v1/alerts/{A2}/verdict", {"value": "true_positive", "reason": "seen"}),
        "ivy",
        "change",
        "alert",
    )
    bulk = ivy.post(
        "/api/v1/alerts/bulk", {"action": "status", "value": "triaged", "filter": {"status": "in_progress"}}
    )
    _audited(office, bulk, "ivy", "change", "alert")
    assert bulk.json() == {"selected": 1, "changed": [A1]}
    opened = ivy.post("/api/v1/cases", {"title": "stuffing", "crime_codes": ["illegal_access"], "reviewer": "leo"})
    _audited(office, opened, "ivy", "create", "case", 201)
    case = opened.json()["id"]
    _audited(office, ivy.get("/api/v1/cases"), "ivy", "search", "case")
    _audited(office, ivy.get(f"/api/v1/cases/{case}"), "ivy", "read", "case")
    _audited(office, ivy.post(f"/api/v1/cases/{case}/notes", {"body": "first look"}), "ivy", "change", "case", 201)
    task = ivy.post(f"/api/v1/cases/{case}/tasks", {"title": "ask the platform"})
    _audited(office, task, "ivy", "change", "case", 201)
    done = ivy.post(f"/api/v1/cases/{case}/tasks/{task.json()['id']}", {"status": "done"})
    _audited(office, done, "ivy", "change", "case")
    _audited(office, ivy.post(f"/api/v1/cases/{case}/links", {"kind": "alert", "target": A1}), "ivy", "change", "case")
    moved = ivy.post(f"/api/v1/cases/{case}/transition", {"to": "investigating"})
    _audited(office, moved, "ivy", "change", "case")
    _audited(office, ivy.get(f"/api/v1/cases/{case}/timeline"), "ivy", "read", "case")
    sealed = ivy.post("/api/v1/evidence/seal-alert", {"alert_id": A1, "purpose": "keep"})
    _audited(office, sealed, "ivy", "create", "evidence", 201)
    item = sealed.json()["id"]
    _audited(office, ivy.get("/api/v1/evidence"), "ivy", "search", "evidence")
    _audited(office, ivy.get(f"/api/v1/evidence/{item}"), "ivy", "read", "evidence")
    exported = ivy.post(f"/api/v1/evidence/{item}/export", {"purpose": "court"})
    _audited(office, exported, "ivy", "export", "evidence")
    assert b"GET /login?id=1" in exported.content
    assert exported.headers["content-disposition"].startswith('attachment; filename="')
    _audited(
        office, ivy.post(f"/api/v1/cases/{case}/links", {"kind": "evidence", "target": item}), "ivy", "change", "case"
    )
    timeline = ivy.get(f"/api/v1/cases/{case}").json()
    assert timeline["alerts"] == [A1] and timeline["evidence"] == [item]


def test_export_is_refused_when_the_sealed_bytes_changed(office: Office, tmp_path: Path) -> None:
    ivy = _as(office, "ivy")
    item = ivy.post("/api/v1/evidence/seal-alert", {"alert_id": A1}).json()
    blob = next(p for p in (tmp_path / "evidence").rglob("*") if p.is_file())
    blob.chmod(0o600)
    blob.write_bytes(b"tampered")
    refused = ivy.post(f"/api/v1/evidence/{item['id']}/export", {"purpose": "court"})
    _audited(office, refused, "ivy", "export-refused", "evidence", 409)
    assert "changed" in refused.json()["detail"]


def test_roles_are_enforced_and_refusals_audited(office: Office) -> None:
    aud = _as(office, "aud")
    _audited(office, aud.get("/api/v1/alerts"), "aud", "refused", "alert", 403)
    assert last_entry(office).details == {"attempted": "alert:read", "refusal": "role", "path": "/api/v1/alerts"}
    _audited(office, aud.post(f"/api/v1/alerts/{A1}/status", {"value": "closed"}), "aud", "refused", "alert", 403)
    report = aud.get("/api/v1/audit/verify")
    assert report.status_code == 200 and report.json()["ok"] is True
    assert aud.get("/api/v1/audit/tail", limit=3).json()["entries"][-1]["actor"] == "aud"
    ana = _as(office, "ana")
    _audited(office, ana.get("/api/v1/audit/verify"), "ana", "refused", "audit", 403)
    _audited(office, ana.post("/api/v1/evidence/x/export", {"purpose": "p"}), "ana", "refused", "evidence", 403)
    assert (
        _as(office, "leo").post(f"/api/v1/alerts/{A1}/verdict", {"value": "benign", "reason": "r"}).status_code == 403
    )


def test_reveal_needs_case_access_a_purpose_and_is_rate_limited(office: Office) -> None:
    assert office.identities is not None
    pseudonym = Pseudonymizer(b"k" * 32).pseudonym("alice@example.org")
    office.identities.record({"alice@example.org": pseudonym})
    ivy, ana = _as(office, "ivy"), _as(office, "ana")
    case = ivy.post(
        "/api/v1/cases", {"title": "closed group", "crime_codes": ["illegal_access"], "need_to_know": True}
    ).json()["id"]
    body = {"pseudonym": pseudonym, "purpose": "referral", "case": case}
    _audited(office, ana.post("/api/v1/identity/reveal", body), "ana", "refused", "identity", 403)
    assert last_entry(office).details["refusal"] == "need-to-know"
    _audited(office, ivy.post(f"/api/v1/cases/{case}/access", {"principal": "ana"}), "ivy", "change", "case")
    _audited(office, ana.post("/api/v1/identity/reveal", {**body, "purpose": " "}), "ana", "refused", "identity", 400)
    revealed = ana.post("/api/v1/identity/reveal", body)
    _audited(office, revealed, "ana", "reveal", "identity")
    assert revealed.json()["identifier"] == "alice@example.org"
    assert last_entry(office).details == {"case": case}


def test_reveal_rate_limit_answers_429(db_url: str, tmp_path: Path) -> None:
    office = make_office(db_url, tmp_path, Clock(), reveal_limit=1)
    try:
        assert office.identities is not None
        add_user(office, "ivy", Role.INVESTIGATOR)
        pseudonym = Pseudonymizer(b"k" * 32).pseudonym("bob")
        office.identities.record({"bob": pseudonym})
        ivy = _as(office, "ivy")
        case = ivy.post("/api/v1/cases", {"title": "t", "crime_codes": ["computer_fraud"]}).json()["id"]
        body = {"pseudonym": pseudonym, "purpose": "referral", "case": case}
        assert ivy.post("/api/v1/identity/reveal", body).status_code == 200
        _audited(office, ivy.post("/api/v1/identity/reveal", body), "ivy", "refused", "identity", 429)
    finally:
        office.close()


def test_bad_input_gets_clear_4xx_answers(office: Office) -> None:
    ivy = _as(office, "ivy")
    assert ivy.get("/api/v1/alerts", crime_code="jaywalking").status_code == 400
    assert ivy.get("/api/v1/alerts/wh-nope").status_code == 404
    assert ivy.post("/api/v1/alerts/bulk", {"action": "status", "value": "closed", "filter": {}}).status_code == 400
    assert ivy.post("/api/v1/cases", {"title": "t", "crime_codes": ["computer_fraud"], "extra": 1}).status_code == 422
    case = ivy.post("/api/v1/cases", {"title": "t", "crime_codes": ["computer_fraud"]}).json()["id"]
    assert ivy.post(f"/api/v1/cases/{case}/transition", {"to": "closed"}).status_code == 409


def test_openapi_spec_lists_the_api_and_not_the_console(office: Office) -> None:
    spec = TestClient(client_for(office).app).get("/api/v1/openapi.json").json()
    assert "/api/v1/alerts/bulk" in spec["paths"] and "/api/v1/identity/reveal" in spec["paths"]
    assert not any(not p.startswith("/api/v1/") for p in spec["paths"])
