"""Every route of the app, API and console, leaves an audit entry or is a documented exemption.

The walk enumerates the routes the app really has (so a route another engineer adds tomorrow is
walked too), calls each one as a real user over a seeded office — alerts from a scan with their
log, a case, sealed evidence, disclosure requests at each step of their workflow, portal reports
— and checks that the audit log grew by an entry by that user naming the object in the path.
A route that is neither audited nor listed in ``watchhouse.web.audit_exemptions`` fails the test
with its path named; so does a route whose path parameters or request this walk cannot fill
(add a :class:`Probe` below, or an exemption with its reason).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from watchhouse.core.findings import Severity
from watchhouse.core.identity import Pseudonymizer
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.accounts.roles import Role
from watchhouse.office.accounts.totp import code_at
from watchhouse.office.audit.entries import AuditEntry
from watchhouse.office.evidence.seal_alert import seal_alert_evidence
from watchhouse.office.portal.models import Contact, Outcome
from watchhouse.office.services import Office
from watchhouse.web.audit_exemptions import EXEMPT_ROUTES

from ..portal.portal_helpers import draft
from .web_helpers import Clock, add_user, alert, api_login, client_for, make_office

A1, A2, A3 = (f"wh-{n:024d}" for n in (1, 2, 3))
USERS = {"adm": Role.ADMIN, "ivy": Role.INVESTIGATOR, "leo": Role.LEGAL, "apr": Role.APPROVER, "old": Role.ANALYST}
PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def _disclosure(kind: str = "subscriber_info", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "authority": "Bundeskriminalamt",
        "country": "DE",
        "type": kind,
        "accounts": ["{pseudonym}"],
        "start": "2026-01-01",
        "end": "2026-02-28",
        "categories": ["subscriber", "ip_logs"],
    }
    if kind != "emergency":
        body["legal_basis"] = {
            "instrument": "production order",
            "reference": "AZ 12 Js 345/26",
            "issuer": "Amtsgericht Berlin-Tiergarten",
        }
    return {**body, **extra}


def _disclosure_form(kind: str = "subscriber_info") -> dict[str, Any]:
    form = _disclosure(kind)
    basis = form.pop("legal_basis", {})
    return {**form, **basis, "request_type": form.pop("type"), "accounts": "{pseudonym}"}


@dataclass(frozen=True)
class Probe:
    """A realistic call of one route: who makes it, with what, and which seeded object it names."""

    user: str = "adm"
    body: dict[str, Any] | None = None
    """JSON for API routes, form fields for console routes; ``{name}`` placeholders are filled."""
    values: dict[str, str] = field(default_factory=dict)
    """Path parameter -> key of the seeded/captured object to use (default: the parameter's name)."""
    query: dict[str, str] = field(default_factory=dict)
    capture: str | None = None
    """Remember the created object's id (JSON ``id``, or the redirect's last path segment) under this key."""
    upload: bool = False


# Calls that change state, in workflow order (GET routes need no probe: any reader may call them).
PROBES: dict[tuple[str, str], Probe] = {
    ("POST", "/api/v1/disclosures"): Probe(body=_disclosure(), capture="request_id"),
    ("POST", "/disclosures"): Probe(body=_disclosure_form(), capture="console_request"),
    ("POST", "/api/v1/cases"): Probe(
        "ivy", {"title": "credential stuffing wave", "crime_codes": ["illegal_access"]}, capture="new_case"
    ),
    ("POST", "/cases"): Probe("ivy", {"title": "carding shop", "crime_codes": ["computer_fraud"]}, capture="c2"),
    ("POST", "/api/v1/alerts/{alert_id}/status"): Probe(body={"value": "in_progress"}),
    ("POST", "/api/v1/alerts/{alert_id}/assign"): Probe(body={"value": "ivy"}),
    ("POST", "/api/v1/alerts/{alert_id}/verdict"): Probe(
        body={"value": "false_positive", "reason": "our own scanner", "suppress_days": 7}, values={"alert_id": "a3"}
    ),
    ("POST", "/api/v1/alerts/bulk"): Probe(body={"action": "assign", "value": "adm", "ids": [A2]}),
    ("POST", "/alerts/bulk"): Probe(body={"action": "status", "value": "triaged", "ids": [A2]}),
    ("POST", "/alerts/{alert_id}/triage"): Probe(body={"action": "assign", "value": "leo"}),
    ("POST", "/alerts/{alert_id}/seal"): Probe(body={"purpose": "keep the source lines"}, values={"alert_id": "a2"}),
    ("POST", "/alerts/{alert_id}/link"): Probe(body={"case": "{case_id}"}, values={"alert_id": "a2"}),
    ("POST", "/reveal"): Probe(
        body={"pseudonym": "{subject}", "purpose": "identify the attacker", "case": "{case_id}"}
    ),
    ("POST", "/api/v1/identity/reveal"): Probe(
        body={"pseudonym": "{subject}", "purpose": "identify the attacker", "case": "{case_id}"}
    ),
    ("POST", "/api/v1/cases/{case_id}/notes"): Probe(body={"body": "first look at the logs"}),
    ("POST", "/api/v1/cases/{case_id}/tasks"): Probe(body={"title": "ask the platform"}, capture="task_id"),
    ("POST", "/api/v1/cases/{case_id}/tasks/{task_id}"): Probe(body={"status": "done"}),
    ("POST", "/api/v1/cases/{case_id}/links"): Probe(body={"kind": "evidence", "target": "{item_id}"}),
    ("POST", "/api/v1/cases/{case_id}/access"): Probe(
        "ivy", {"principal": "leo", "reason": "legal review"}, {"case_id": "ntk_case"}
    ),
    ("POST", "/api/v1/cases/{case_id}/transition"): Probe(body={"to": "investigating"}),
    ("POST", "/cases/{case_id}/note"): Probe(body={"body": "second look"}),
    ("POST", "/cases/{case_id}/task"): Probe(body={"title": "preserve the logs"}),
    ("POST", "/cases/{case_id}/task/{task_id}"): Probe(body={"status": "open"}),
    ("POST", "/cases/{case_id}/link"): Probe(body={"kind": "alert", "target": A3}),
    ("POST", "/cases/{case_id}/access"): Probe(
        "ivy", {"principal": "adm", "reason": "supervises"}, {"case_id": "ntk_case"}
    ),
    ("POST", "/cases/{case_id}/transition"): Probe(body={"to": "investigating"}, values={"case_id": "c2"}),
    ("POST", "/cases/{case_id}/export"): Probe(body={"format": "stix", "purpose": "share with CERT"}),
    ("POST", "/api/v1/exports/cases/{case_id}/{fmt}"): Probe(body={"purpose": "share with CERT"}),
    ("POST", "/api/v1/evidence/seal-alert"): Probe(body={"alert_id": A3, "purpose": "keep"}),
    ("POST", "/api/v1/evidence/{item_id}/export"): Probe(body={"purpose": "hand to the prosecutor"}),
    ("POST", "/evidence/{item_id}/export"): Probe(body={"purpose": "hand to the prosecutor"}),
    ("POST", "/api/v1/disclosures/{request_id}/review"): Probe("leo", {"reason": "checking the order"}),
    ("POST", "/api/v1/disclosures/{request_id}/approve"): Probe("leo", {"reason": "order is valid"}),
    ("POST", "/disclosures/{request_id}/approve"): Probe("apr", {"reason": "proportionate"}),
    ("POST", "/api/v1/disclosures/{request_id}/produce"): Probe(
        "leo",
        {
            "name": "subscriber.csv",
            "content_base64": base64.b64encode(b"account,email\n").decode(),
            "case": "{case_id}",
        },
    ),
    ("POST", "/api/v1/disclosures/{request_id}/close"): Probe("leo", {"reason": "produced"}),
    ("POST", "/disclosures/{request_id}/review"): Probe(
        "leo", {"reason": "checking"}, {"request_id": "console_request"}
    ),
    ("POST", "/disclosures/{request_id}/reject"): Probe(
        "apr", {"reason": "order is out of scope"}, {"request_id": "console_request"}
    ),
    ("POST", "/api/v1/disclosures/{request_id}/reject"): Probe("apr", {"reason": "duplicate"}, {"request_id": "d3"}),
    ("POST", "/api/v1/disclosures/{request_id}/followup"): Probe(
        body={"instrument": "emergency order", "reference": "AZ 1/26", "issuer": "Staatsanwaltschaft Berlin"},
        values={"request_id": "emergency"},
    ),
    ("POST", "/disclosures/{request_id}/followup"): Probe(
        body={"instrument": "emergency order", "reference": "AZ 2/26", "issuer": "Staatsanwaltschaft Berlin"},
        values={"request_id": "emergency2"},
    ),
    ("POST", "/disclosures/{request_id}/produce"): Probe(
        "leo", {"media_type": "text/csv", "case": "{case_id}"}, {"request_id": "approved"}, upload=True
    ),
    ("POST", "/disclosures/{request_id}/close"): Probe("leo", {"reason": "done"}, {"request_id": "approved"}),
    ("POST", "/api/v1/portal/reports/{reference}/decision"): Probe(
        body={"outcome": "no_action", "reasons": "not a crime"}, values={"reference": "api_report"}
    ),
    ("GET", "/api/v1/reports/transparency"): Probe(query={"from": "2026-01-01", "to": "2026-12-31"}),
    ("GET", "/api/v1/reports/transparency.csv"): Probe(query={"from": "2026-01-01", "to": "2026-12-31"}),
    ("GET", "/reports/transparency"): Probe(query={"from": "2026-01-01", "to": "2026-12-31"}),
    ("GET", "/reports/transparency.html"): Probe(query={"from": "2026-01-01", "to": "2026-12-31"}),
    ("GET", "/reports/transparency.csv"): Probe(query={"from": "2026-01-01", "to": "2026-12-31"}),
    ("POST", "/portal/reports/{reference}/review"): Probe(values={"reference": "fresh_report"}),
    ("POST", "/portal/reports/{reference}/link"): Probe(
        body={"kind": "case", "target": "{case_id}"}, values={"reference": "fresh_report"}
    ),
    ("POST", "/portal/reports/{reference}/decide"): Probe(
        body={"outcome": "referred", "reasons": "police matter"}, values={"reference": "fresh_report"}
    ),
    ("POST", "/portal/appeals/{appeal_id}/review"): Probe(
        body={"reference": "{appealed}", "outcome": "action_taken", "reasons": "on review, it was"}
    ),
    ("POST", "/portal/invalidate"): Probe(body={"pseudonym": "{reporter}", "reason": "bad-faith reporter"}),
    ("POST", "/api/v1/tokens"): Probe(body={"name": "nightly triage export", "days": 30}, capture="token_id"),
    ("DELETE", "/api/v1/tokens/{token_id}"): Probe(),
    ("POST", "/account/totp/start"): Probe("ivy"),
    ("POST", "/account/totp/confirm"): Probe(body={"pending": "{pending}", "code": "{totp_code}"}),
    ("POST", "/account/tokens"): Probe("ivy", {"name": "my laptop script", "days": 7}),
    ("POST", "/account/tokens/{token_id}/revoke"): Probe(values={"token_id": "seed_token"}),
    ("POST", "/accounts"): Probe(body={"username": "nina", "password": "a long new passphrase", "roles": ["analyst"]}),
    ("POST", "/accounts/{username}/password"): Probe(body={"password": "another long passphrase"}),
    ("POST", "/accounts/{username}/disable"): Probe(),
    ("POST", "/accounts/{username}/enable"): Probe(),
    ("POST", "/login"): Probe(body={"username": "ivy", "password": "correct horse battery staple"}),
    ("POST", "/logout"): Probe("ivy"),
    ("DELETE", "/api/v1/session"): Probe("ivy"),
}


@dataclass
class Walk:
    office: Office
    app: FastAPI
    known: dict[str, str]
    users: dict[str, tuple[TestClient, str]] = field(default_factory=dict)

    def as_user(self, name: str) -> tuple[TestClient, str]:
        if name not in self.users:
            api = api_login(TestClient(self.app, base_url="https://testserver", client=("127.0.0.1", 50000)), name)
            self.users[name] = (api.client, api.csrf)
        return self.users[name]


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    """An office with something behind every kind of path parameter the routes take."""
    clock = Clock()
    office = make_office(f"sqlite:///{tmp_path / 'office.db'}", tmp_path, clock)
    assert office.identities is not None
    subject = Pseudonymizer(b"k" * 32).pseudonym("mallory@example.org")
    office.identities.record({"mallory@example.org": subject})
    log = tmp_path / "access.log"
    log.write_text("".join(f"203.0.113.9 - - GET /login?id={n} HTTP/1.1 401\n" for n in range(1, 5)))
    office.alerts.save([alert(n, log=str(log), subject=subject, kind="user.email") for n in (1, 2, 3)], "scan-1")
    for name, role in USERS.items():
        add_user(office, name, role)
    case = office.cases.open("ivy", "account takeover", [CrimeCode.ILLEGAL_ACCESS], Severity.HIGH)
    office.cases.link_alert("ivy", case.id, A1, "same source")
    ntk = office.cases.open("ivy", "grooming", [CrimeCode.CHILD_SEXUAL_ABUSE_MATERIAL], Severity.CRITICAL)
    item, _ = seal_alert_evidence(A1, alerts=office.alerts, evidence=office.evidence, audit=office.audit, actor="ivy")
    decided = office.portal.submit(draft(contact=Contact("Mallory Victim", "victim@example.org", "")), "198.51.100.7")
    office.portal_desk.decide("ivy", decided.reference, Outcome.NO_ACTION, "no evidence of a crime")
    appeal_id = office.portal.appeal(decided.reference, "I sent the bank statement")
    fresh = office.portal.submit(draft(email="other@fraud.example"), "198.51.100.8")
    api_report = office.portal.submit(draft(email="third@fraud.example"), "198.51.100.9")
    secret, pending = office.accounts.start_totp_enrolment("adm")
    seed_token = office.accounts.tokens.create("adm", "adm", "old deploy script").token.id
    reporter = office.portal_desk.show("ivy", decided.reference).report.reporter
    known = {
        "alert_id": A1,
        "a2": A2,
        "a3": A3,
        "subject": subject,
        "pseudonym": subject,
        "case_id": case.id,
        "ntk_case": ntk.id,
        "item_id": item.id,
        "reference": decided.reference,
        "appealed": decided.reference,
        "fresh_report": fresh.reference,
        "api_report": api_report.reference,
        "appeal_id": str(appeal_id),
        "reporter": reporter or "",
        "fmt": "stix",
        "pending": pending,
        "totp_code": code_at(secret, clock.now),
        "seed_token": seed_token,
        "username": "old",
        "name": "portal.css",
    }
    app = client_for(office).app
    assert isinstance(app, FastAPI)
    yield Walk(office, app, known)
    office.close()


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves, HEAD aside (Starlette adds it to each GET)."""
    found = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD" and route.path is not None:
                found.append((method, route.path))
    return found


def _fill(value: Any, known: dict[str, str]) -> Any:
    if isinstance(value, str):
        return PARAM.sub(lambda m: known[m.group(1)], value)
    if isinstance(value, list):
        return [_fill(v, known) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, known) for k, v in value.items()}
    return value


def call(walk: Walk, method: str, path: str, probe: Probe) -> tuple[httpx.Response, list[str]]:
    """Make the call; returns the answer and the path parameter values it named."""
    values = []
    for name in PARAM.findall(path):
        key = probe.values.get(name, name)
        if key not in walk.known:
            raise LookupError(f"{method} {path}: no seeded object for path parameter {name!r}; extend the walk's seed")
        values.append(walk.known[key])
    url = PARAM.sub(lambda m: walk.known[probe.values.get(m.group(1), m.group(1))], path)
    client, csrf = walk.as_user(probe.user)
    body = _fill(probe.body or {}, walk.known)
    if method == "GET":
        return client.get(url, params=probe.query, follow_redirects=False), values
    if path.startswith("/api/"):
        headers = {"X-CSRF-Token": csrf}
        if method == "DELETE":
            return client.delete(url, headers=headers), values
        return client.post(url, json=body, headers=headers), values
    files = {"data": ("subscriber.csv", b"account,email\n", "text/csv")} if probe.upload else None
    return client.post(url, data={**body, "csrf_token": csrf}, files=files, follow_redirects=False), values


def _capture(answer: httpx.Response) -> str:
    if answer.headers.get("location"):
        return answer.headers["location"].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return str(answer.json()["id"])


def audit_problems(walk: Walk) -> list[str]:
    """Call every route of ``walk.app`` in workflow order; one line per route that breaks the rule."""
    served = routes(walk.app)
    unknown = [f"{m} {p}" for m, p in served if m != "GET" and (m, p) not in PROBES and p not in EXEMPT_ROUTES]
    problems = [f"{route}: no realistic request in this walk (add a Probe, or an exemption)" for route in unknown]
    order = [k for k in PROBES if PROBES[k].capture] + [k for k in served if k[0] == "GET"]
    order += [k for k in PROBES if not PROBES[k].capture and k[0] != "GET"]
    walked: set[tuple[str, str]] = set()
    for method, path in order:
        if (method, path) not in served or (method, path) in walked or path in EXEMPT_ROUTES:
            continue
        walked.add((method, path))
        probe = PROBES.get((method, path), Probe())
        before = walk.office.audit.count()
        try:
            answer, values = call(walk, method, path, probe)
        except LookupError as exc:
            problems.append(str(exc))
            continue
        if answer.status_code not in (200, 201, 204, 303):
            problems.append(f"{method} {path}: answered {answer.status_code}: {answer.text[:300]}")
            continue
        if probe.capture:
            walk.known[probe.capture] = _capture(answer)
        grown = walk.office.audit.count() - before
        mine = [e for e in walk.office.audit.tail(max(grown, 0)) if e.actor == probe.user and e.action != "refused"]
        if grown <= 0 or not mine:
            problems.append(f"{method} {path}: no audit entry by {probe.user} (audit it, or exempt it with a reason)")
        elif values and not any(_names(e, values) for e in mine):
            problems.append(f"{method} {path}: audited, but no entry names {values}: {[e.to_dict() for e in mine]}")
    return problems


def test_every_route_is_audited_or_a_documented_exemption(walk: Walk) -> None:
    served = routes(walk.app)
    assert ("GET", "/api/v1/alerts") in served and ("GET", "/alerts/{alert_id}") in served  # both trees seen
    assert len(served) > 60
    _seed_disclosures(walk)
    problems = audit_problems(walk)
    assert not problems, "\n".join(problems)
    walked = walk.office.audit.tail(walk.office.audit.count())
    assert {e.actor for e in walked} >= {"adm", "ivy", "leo", "apr"}


def test_the_walk_names_an_unaudited_route_and_an_unfillable_one(walk: Walk) -> None:
    """The walk itself can fail: a read that skips the audit log, and a parameter it cannot fill."""

    @walk.app.get("/api/v1/alerts/{alert_id}/peek")
    def peek(alert_id: str) -> dict[str, Any]:
        found = walk.office.alerts.get(alert_id)
        return {"title": found.title if found else None}

    @walk.app.get("/api/v1/widgets/{widget_id}")
    def widget(widget_id: str) -> dict[str, str]:
        return {"id": widget_id}

    @walk.app.post("/api/v1/alerts/{alert_id}/poke")
    def poke(alert_id: str) -> dict[str, str]:
        return {"id": alert_id}

    problems = audit_problems(walk)
    assert any(p.startswith("GET /api/v1/alerts/{alert_id}/peek: no audit entry") for p in problems), problems
    assert any(p.startswith("GET /api/v1/widgets/{widget_id}: no seeded object") for p in problems), problems
    assert any(p.startswith("POST /api/v1/alerts/{alert_id}/poke: no realistic request") for p in problems), problems


def _names(entry: AuditEntry, values: list[str]) -> bool:
    text, named = json.dumps(entry.details, sort_keys=True), (entry.object_id or "").upper()
    return any(v and (named == v.upper() or v in text) for v in values)


def _seed_disclosures(walk: Walk) -> None:
    """Requests at the steps the later routes need: approved (to produce), emergency (follow-up), fresh (reject)."""
    client, csrf = walk.as_user("adm")

    def opened(body: dict[str, Any]) -> str:
        answer = client.post("/api/v1/disclosures", json=_fill(body, walk.known), headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    walk.known["d3"] = opened(_disclosure())
    peer, token = walk.as_user("leo")
    reviewed = peer.post(f"/api/v1/disclosures/{walk.known['d3']}/review", json={}, headers={"X-CSRF-Token": token})
    assert reviewed.status_code == 200, reviewed.text
    justification = {"justification": "threat to life: a user announced a suicide attempt"}
    walk.known["emergency"] = opened(_disclosure("emergency", **justification))
    walk.known["emergency2"] = opened(_disclosure("emergency", **justification))
    walk.known["approved"] = approved = opened(_disclosure())
    for user, step in (("leo", "review"), ("leo", "approve"), ("apr", "approve")):
        peer, token = walk.as_user(user)
        url = f"/api/v1/disclosures/{approved}/{step}"
        answer = peer.post(url, json={"reason": "valid order"}, headers={"X-CSRF-Token": token})
        assert answer.status_code == 200, answer.text
