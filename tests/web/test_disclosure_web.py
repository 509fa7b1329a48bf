"""Disclosure requests through the API and the console, on both backends.

The issue's bar: a disclosure cannot be produced with one approver, with the requester as
approver, or without a legal basis — API and console both refuse, with a 4xx and a message, and
the refusal is on the audit record. Every call, reads included, leaves an entry naming the user.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.accounts.roles import Permission, Role, allowed, parse_roles
from watchhouse.office.services import Office

from .web_helpers import (
    ACCOUNT_A,
    ORDER,
    Api,
    Clock,
    add_user,
    api_login,
    client_for,
    console_login,
    disclosure_body,
    last_entry,
    make_office,
)

USERS = (
    ("ivy", Role.INVESTIGATOR),
    ("leo", Role.LEGAL),
    ("pat", Role.APPROVER),
    ("ada", Role.ADMIN),
    ("ana", Role.ANALYST),
    ("aud", Role.AUDITOR),
)
PRODUCED = b"subscriber: alice, registered 2025-11-02 from 198.51.100.23\n"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def office(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[Office]:
    office = make_office(db_url, tmp_path, clock)
    for name, role in USERS:
        add_user(office, name, role)
    yield office
    office.close()


@pytest.fixture
def case(office: Office) -> str:
    return office.cases.open("ivy", "account takeover ring", [CrimeCode.ILLEGAL_ACCESS], Severity.HIGH).id


def _as(office: Office, name: str) -> Api:
    return api_login(client_for(office), name)


def _audited(
    office: Office, answer: httpx.Response, actor: str, action: str, status: int, object_type: str = "disclosure"
) -> None:
    assert answer.status_code == status, answer.text
    entry = last_entry(office)
    assert (entry.actor, entry.action, entry.object_type) == (actor, action, object_type)


def _produce_body(case: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "subscriber.txt",
        "content_base64": base64.b64encode(PRODUCED).decode(),
        "media_type": "text/plain",
    }
    if case:
        body["case"] = case
    return body


def test_request_two_approvals_and_production_sealed_as_disclosed_evidence(office: Office, case: str) -> None:
    ivy, leo, pat = _as(office, "ivy"), _as(office, "leo"), _as(office, "pat")
    opened = ivy.post("/api/v1/disclosures", disclosure_body(case=case))
    _audited(office, opened, "ivy", "create", 201)
    dr = opened.json()
    assert (dr["status"], dr["requester"], dr["case"], dr["legal_basis"]) == ("received", "ivy", case, ORDER)
    _audited(office, pat.get("/api/v1/disclosures"), "pat", "search", 200)
    _audited(office, pat.get(f"/api/v1/disclosures/{dr['id']}"), "pat", "read", 200)
    _audited(office, leo.post(f"/api/v1/disclosures/{dr['id']}/review", {}), "leo", "change", 200)

    first = leo.post(f"/api/v1/disclosures/{dr['id']}/approve", {"reason": "order checked"})
    _audited(office, first, "leo", "change", 200)
    assert (first.json()["status"], first.json()["approvers"]) == ("under_review", ["leo"])
    second = pat.post(f"/api/v1/disclosures/{dr['id']}/approve", {})
    assert (second.json()["status"], second.json()["approvers"]) == ("approved", ["leo", "pat"])

    produced = leo.post(f"/api/v1/disclosures/{dr['id']}/produce", _produce_body())
    _audited(office, produced, "leo", "change", 200)  # the status move, right after the disclosure itself
    disclosed = office.audit.tail(2)[0]
    assert (disclosed.actor, disclosed.action, disclosed.details["op"]) == ("leo", "disclose", "produced")
    (item,) = produced.json()["evidence"]
    assert produced.json()["status"] == "produced"
    sealed = ivy.get(f"/api/v1/evidence/{item}").json()
    assert sealed["size"] == len(PRODUCED) and sealed["media_type"] == "text/plain"
    assert [e["event"] for e in sealed["custody"]][-2:] == ["disclosed", "viewed"]
    assert item in ivy.get(f"/api/v1/cases/{case}").json()["evidence"]
    closed = leo.post(f"/api/v1/disclosures/{dr['id']}/close", {"reason": "handed over"})
    assert closed.json()["status"] == "closed"
    assert pat.get("/api/v1/disclosures", status="closed").json()["count"] == 1


def test_no_legal_basis_means_no_request_and_the_refusal_is_audited(office: Office) -> None:
    ivy = _as(office, "ivy")
    refused = ivy.post("/api/v1/disclosures", disclosure_body(legal_basis=None))
    _audited(office, refused, "ivy", "refused", 403)
    assert "legal instrument, reference number and issuer" in refused.json()["detail"]
    assert last_entry(office).details["refusal"] == "legal-basis"
    partial = ivy.post("/api/v1/disclosures", disclosure_body(legal_basis={**ORDER, "issuer": "  "}))
    _audited(office, partial, "ivy", "refused", 403)
    assert ivy.get("/api/v1/disclosures").json()["count"] == 0


def test_requester_one_approver_and_repeat_signatures_cannot_produce(office: Office, case: str) -> None:
    leo, pat, ada = _as(office, "leo"), _as(office, "pat"), _as(office, "ada")
    dr = leo.post("/api/v1/disclosures", disclosure_body(case=case)).json()["id"]
    leo.post(f"/api/v1/disclosures/{dr}/review", {})

    own = leo.post(f"/api/v1/disclosures/{dr}/approve", {"reason": "mine anyway"})
    _audited(office, own, "leo", "refused", 409)
    assert "its requester (leo) cannot approve it" in own.json()["detail"]
    assert last_entry(office).details["refusal"] == "requester"

    assert pat.post(f"/api/v1/disclosures/{dr}/approve", {}).json()["approvers"] == ["pat"]
    again = pat.post(f"/api/v1/disclosures/{dr}/approve", {})
    _audited(office, again, "pat", "refused", 409)
    assert "a second person must" in again.json()["detail"]

    one = leo.post(f"/api/v1/disclosures/{dr}/produce", _produce_body())
    _audited(office, one, "leo", "refused", 409)
    assert "cannot go from under_review to produced" in one.json()["detail"]
    assert office.evidence.search("aud") == []  # nothing was sealed

    ada.post(f"/api/v1/disclosures/{dr}/approve", {})
    assert leo.post(f"/api/v1/disclosures/{dr}/produce", _produce_body()).json()["status"] == "produced"


def test_each_step_needs_its_role(office: Office, case: str) -> None:
    pat, ana, aud, ivy = _as(office, "pat"), _as(office, "ana"), _as(office, "aud"), _as(office, "ivy")
    _audited(office, pat.post("/api/v1/disclosures", disclosure_body()), "pat", "refused", 403)
    assert last_entry(office).details["attempted"] == "disclosure:request"
    _audited(office, ana.get("/api/v1/disclosures"), "ana", "refused", 403)
    _audited(office, aud.get("/api/v1/disclosures"), "aud", "refused", 403)
    dr = ivy.post("/api/v1/disclosures", disclosure_body(case=case)).json()["id"]
    _audited(office, ivy.post(f"/api/v1/disclosures/{dr}/review", {}), "ivy", "refused", 403)
    assert last_entry(office).details["attempted"] == "disclosure:approve"
    _audited(office, pat.post(f"/api/v1/disclosures/{dr}/produce", _produce_body()), "pat", "refused", 403)
    assert last_entry(office).details["attempted"] == "disclosure:produce"
    no_csrf = ivy.client.post(f"/api/v1/disclosures/{dr}/close", json={})
    assert no_csrf.status_code == 403 and "X-CSRF-Token" in no_csrf.json()["detail"]


def test_the_approver_role_signs_disclosures_and_does_nothing_else() -> None:
    approver = (Role.APPROVER,)
    assert {p for p in Permission if allowed(approver, p)} == {
        Permission.DISCLOSURE_READ,
        Permission.DISCLOSURE_APPROVE,
    }
    assert parse_roles("approver,legal") == (Role.APPROVER, Role.LEGAL)
    assert not allowed((Role.INVESTIGATOR,), Permission.DISCLOSURE_APPROVE)
    assert not allowed((Role.AUDITOR,), Permission.REPORT_READ)


def test_emergency_path_one_reasoned_approval_and_a_mandatory_followup(office: Office, case: str, clock: Clock) -> None:
    ivy, pat, leo = _as(office, "ivy"), _as(office, "pat"), _as(office, "leo")
    body = disclosure_body(type="emergency", legal_basis=None, case=case, justification="threat to life, live stream")
    opened = ivy.post("/api/v1/disclosures", body)
    _audited(office, opened, "ivy", "create", 201)
    dr = opened.json()
    assert dr["legal_basis"] is None and dr["followup_due"] and dr["followup_overdue"] is False
    assert ivy.post("/api/v1/disclosures", {**body, "justification": " "}).status_code == 400
    pat.post(f"/api/v1/disclosures/{dr['id']}/review", {})
    unreasoned = pat.post(f"/api/v1/disclosures/{dr['id']}/approve", {})
    assert unreasoned.status_code == 400 and "written justification" in unreasoned.json()["detail"]
    signed = pat.post(f"/api/v1/disclosures/{dr['id']}/approve", {"reason": "imminent danger confirmed by phone"})
    assert (signed.json()["status"], signed.json()["approvers"]) == ("approved", ["pat"])
    assert leo.post(f"/api/v1/disclosures/{dr['id']}/produce", _produce_body()).json()["status"] == "produced"

    early = leo.post(f"/api/v1/disclosures/{dr['id']}/close", {})
    _audited(office, early, "leo", "refused", 403)
    assert "follow-up legal instrument" in early.json()["detail"]
    assert ivy.get("/api/v1/disclosures/overdue").json()["count"] == 0
    clock.advance(timedelta(hours=73))
    ivy, leo = _as(office, "ivy"), _as(office, "leo")  # the sessions expired meanwhile
    late = ivy.get("/api/v1/disclosures/overdue")
    _audited(office, late, "ivy", "search", 200)
    assert [r["id"] for r in late.json()["disclosures"]] == [dr["id"]]
    assert late.json()["disclosures"][0]["followup_overdue"] is True

    incomplete = ivy.post(f"/api/v1/disclosures/{dr['id']}/followup", {**ORDER, "reference": ""})
    assert incomplete.status_code == 400
    followed = ivy.post(f"/api/v1/disclosures/{dr['id']}/followup", ORDER)
    _audited(office, followed, "ivy", "change", 200)
    assert followed.json()["legal_basis"] == ORDER and followed.json()["followup_received_at"]
    assert leo.post(f"/api/v1/disclosures/{dr['id']}/close", {}).json()["status"] == "closed"


def test_malformed_input_gets_4xx_never_500(office: Office, case: str) -> None:
    ivy, leo = _as(office, "ivy"), _as(office, "leo")
    assert ivy.post("/api/v1/disclosures", disclosure_body(type="gossip")).status_code == 400
    assert ivy.post("/api/v1/disclosures", disclosure_body(categories=["dreams"])).status_code == 400
    assert ivy.post("/api/v1/disclosures", disclosure_body(accounts=["alice@example.org"])).status_code == 400
    assert ivy.post("/api/v1/disclosures", disclosure_body(country="Atlantis")).status_code == 400
    assert ivy.post("/api/v1/disclosures", disclosure_body(start="2026-13-01")).status_code == 422
    assert ivy.post("/api/v1/disclosures", disclosure_body(start="2026-03-01")).status_code == 400  # reversed
    assert ivy.post("/api/v1/disclosures", disclosure_body(accounts=[])).status_code == 422
    assert ivy.get("/api/v1/disclosures", status="lost").status_code == 400
    assert ivy.get("/api/v1/disclosures/DR-2026-9999").status_code == 404
    # a NUL anywhere in a request is refused at the edge (web/input_hygiene.py), before any route
    assert ivy.get("/api/v1/disclosures/DR-2026-0001%00").status_code == 400
    assert ivy.post("/api/v1/disclosures", disclosure_body(authority="BKA\x00")).status_code == 400
    dr = leo.post("/api/v1/disclosures", disclosure_body(case=case)).json()["id"]
    assert leo.post(f"/api/v1/disclosures/{dr}/reject", {"reason": ""}).status_code == 422
    bad = leo.post(f"/api/v1/disclosures/{dr}/produce", {**_produce_body(), "content_base64": "!!"})
    assert bad.status_code == 400 and "base64" in bad.json()["detail"]


# -- the console -------------------------------------------------------------------------------


def _console(office: Office, name: str) -> tuple[TestClient, str]:
    client = client_for(office)
    return client, console_login(client, name)


def _form(**changes: str | list[str]) -> dict[str, str | list[str]]:
    fields: dict[str, str | list[str]] = {
        "authority": "Bundeskriminalamt",
        "country": "DE",
        "request_type": "subscriber_info",
        "accounts": ACCOUNT_A,
        "start": "2026-01-01",
        "end": "2026-02-28",
        "categories": ["subscriber", "ip_logs"],
        **ORDER,
    }
    fields.update(changes)
    return fields


def test_console_refuses_a_request_without_legal_basis_and_keeps_what_was_typed(office: Office) -> None:
    client, csrf = _console(office, "ivy")
    form = client.get("/disclosures/new")
    assert form.status_code == 200 and 'name="instrument"' in form.text
    refused = client.post("/disclosures", data={**_form(instrument="", reference="", issuer=""), "csrf_token": csrf})
    assert refused.status_code == 403
    assert 'role="alert"' in refused.text and "needs its legal instrument, reference number and issuer" in refused.text
    assert 'value="Bundeskriminalamt"' in refused.text and ACCOUNT_A in refused.text
    assert (last_entry(office).action, last_entry(office).details["refusal"]) == ("refused", "legal-basis")
    forged = client.post("/disclosures", data=_form(), follow_redirects=False)
    assert forged.status_code == 403 and "expired" in forged.text
    assert client.get("/disclosures").text.count("/disclosures/DR-") == 0


def test_console_workflow_shows_refusals_and_produces_an_upload(office: Office, case: str) -> None:
    ivy, ivy_csrf = _console(office, "ivy")
    made = ivy.post("/disclosures", data={**_form(case=case), "csrf_token": ivy_csrf}, follow_redirects=False)
    assert made.status_code == 303
    url = made.headers["location"].split("?")[0]
    assert ivy.get("/disclosures").text.count(url) == 1

    leo, leo_csrf = _console(office, "leo")
    assert "Approve" not in ivy.get(url).text  # an investigator may request, not sign off
    leo.post(f"{url}/review", data={"csrf_token": leo_csrf})
    signed = leo.post(f"{url}/approve", data={"csrf_token": leo_csrf, "reason": "checked"}, follow_redirects=False)
    assert signed.status_code == 303
    page = leo.get(url).text
    assert 'id="status">under_review' in page and 'id="approvers">leo' in page

    leo_again = leo.post(f"{url}/approve", data={"csrf_token": leo_csrf})
    assert (
        leo_again.status_code == 409 and "a second person must" in leo_again.text and 'role="alert"' in leo_again.text
    )

    pat, pat_csrf = _console(office, "pat")
    pat.post(f"{url}/approve", data={"csrf_token": pat_csrf})
    approved = leo.get(url).text
    assert 'id="status">approved' in approved and 'enctype="multipart/form-data"' in approved
    assert 'id="produce"' not in pat.get(url).text  # approvers sign; legal hands over

    produced = leo.post(
        f"{url}/produce",
        data={"csrf_token": leo_csrf, "media_type": "text/plain"},
        files={"data": ("subscriber.txt", PRODUCED, "text/plain")},
        follow_redirects=False,
    )
    assert produced.status_code == 303 and "produced" in produced.headers["location"]
    request = office.disclosures.show("leo", url.rsplit("/", 1)[1])
    (item,) = request.evidence
    assert office.evidence.view(item, "leo")[0].size == len(PRODUCED)
    assert f'href="/evidence/{item}"' in leo.get(url).text


def test_console_refuses_the_requesters_own_signature(office: Office, case: str) -> None:
    leo, csrf = _console(office, "leo")
    made = leo.post("/disclosures", data={**_form(case=case), "csrf_token": csrf}, follow_redirects=False)
    url = made.headers["location"].split("?")[0]
    leo.post(f"{url}/review", data={"csrf_token": csrf})
    own = leo.post(f"{url}/approve", data={"csrf_token": csrf, "reason": "urgent"})
    assert own.status_code == 409 and "its requester (leo) cannot approve it" in own.text
    assert 'id="approvers">none yet' in own.text
    refusal, reread = office.audit.tail(2)  # the refusal, then the page showing it
    assert (refusal.actor, refusal.action, refusal.details["refusal"]) == ("leo", "refused", "requester")
    assert (reread.action, reread.object_id) == ("read", url.rsplit("/", 1)[1])
