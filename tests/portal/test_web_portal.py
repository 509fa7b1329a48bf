"""The public portal over HTTP: form, challenge, status page, reporter session, office pages, hostile input."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from watchhouse.office.accounts.roles import Role
from watchhouse.office.services import Office
from watchhouse.web.portal.challenge import solve

from .portal_helpers import PNG, add_user, client_for, form, login, make_office, submit, zip_bytes


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    found = make_office(f"sqlite:///{tmp_path / 'office.db'}", tmp_path)
    yield found
    found.close()


@pytest.fixture
def client(office: Office) -> TestClient:
    made: TestClient = client_for(office)
    return made


def test_form_is_accessible_and_allows_only_our_script(client: TestClient) -> None:
    page = client.get("/report")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    for field in ("narrative", "amount", "currency", "attachments", "contact_email", "challenge_answer"):
        assert f'<label for="{field}"' in html
    assert html.count("<fieldset") >= 8 and "someone is in danger now" in html.lower()
    assert "<script>" not in html  # no inline script: the CSP would refuse it


def test_no_javascript_submission_then_status_add_and_appeal(client: TestClient, office: Office) -> None:
    answer = submit(client, form(), [("attachments", ("shot.png", PNG, "image/png"))])
    assert answer.status_code == 201, answer.text
    ref, secret = answer.json()["reference"], answer.json()["secret"]
    assert re.fullmatch(r"[0-9A-Z]{10}", ref)
    assert client.post("/report/status", data={"reference": ref, "secret": "nope"}).status_code == 404
    opened = client.post("/report/status", data={"reference": ref.lower(), "secret": secret}, follow_redirects=False)
    assert opened.status_code == 303 and "wh_reporter" in opened.cookies
    view = client.get("/report/status/view")
    assert 'data-status="received"' in view.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', view.text)
    assert csrf
    assert client.post("/report/status/add", data={"text": "x", "csrf_token": "forged"}).status_code == 403
    added = client.post("/report/status/add", data={"text": "He wrote again today.", "csrf_token": csrf.group(1)})
    assert added.status_code == 200 and "information was added" in added.text
    office.portal_desk.decide("ana", ref, office_outcome("no_action"), "insufficient", "Not enough to act on.")
    view = client.get("/report/status/view").text
    assert "Not enough to act on." in view and "insufficient" not in view  # internal reasons stay inside
    appealed = client.post("/report/status/appeal", data={"text": "Please look again", "csrf_token": csrf.group(1)})
    assert "appeal was filed" in appealed.text


def office_outcome(name: str):  # type: ignore[no-untyped-def]
    from watchhouse.office.portal.models import Outcome

    return Outcome(name)


def test_proof_of_work_path_and_challenge_replay(client: TestClient) -> None:
    found = client.get("/report/challenge").json()
    fields = {**form(), "challenge_token": found["token"], "pow_nonce": solve(found["salt"], found["difficulty"])}
    headers = {"Accept": "application/json"}
    assert client.post("/report", data=fields, headers=headers).status_code == 201
    again = client.post("/report", data=fields, headers=headers)
    assert again.status_code == 400 and "already" in again.json()["errors"]["challenge_answer"]
    missing = client.post("/report", data=form(), headers=headers)
    assert missing.status_code == 400 and "challenge_answer" in missing.json()["errors"]


def test_rate_limit_per_client(office: Office) -> None:
    client = client_for(office, submissions_per_client=2)
    assert [submit(client, form()).status_code for _ in range(3)] == [201, 201, 429]


def test_reporter_cookie_opens_nothing_in_the_office(client: TestClient) -> None:
    answer = submit(client, form()).json()
    client.post("/report/status", data={"reference": answer["reference"], "secret": answer["secret"]})
    assert client.get("/api/v1/portal/queue").status_code == 401
    assert client.get("/portal", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/alerts").status_code == 401


def test_office_pages_group_escape_and_decide(client: TestClient, office: Office) -> None:
    hostile = "<script>alert(1)</script> they took my money"
    first = submit(client, form(narrative=hostile)).json()["reference"]
    submit(client, form(emails="SCAMMER@fraud.example", phones="", banks=""))
    add_user(office, "ana", Role.ANALYST)
    csrf = login(client, "ana")
    page = client.get(f"/portal/reports/{first}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    queue = client.get("/portal").text
    assert queue.count('class="campaign"') == 2
    campaigns = client.get("/api/v1/portal/campaigns").json()
    assert len(campaigns) == 1 and campaigns[0]["victims"] == 2
    decided = client.post(
        f"/api/v1/portal/reports/{first}/decision",
        json={"outcome": "referred", "reasons": "fraud ring", "public_reasons": "Passed to police."},
        headers={"X-CSRF-Token": csrf},
    )
    assert decided.status_code == 200
    assert client.get(f"/api/v1/portal/reports/{first}").json()["status"] == "referred"
    assert client.get("/api/v1/portal/stats").json()["by_status"] == {"received": 1, "referred": 1}


def _hostile_corpus() -> list[tuple[str, dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]]:
    bomb = zip_bytes({"a.txt": b"\x00" * 20_000_000})
    return [
        ("oversized narrative", form(narrative="x" * 10_001), []),
        ("oversized field part", form(locations="y" * 70_000), []),
        ("script tag narrative", form(narrative="<script>alert(1)</script><img src=x onerror=alert(2)>"), []),
        ("control characters", form(narrative="hello\x00\x1b[31m world"), []),
        ("unknown category", form(category="hate_speech"), []),
        ("unknown role", form(role="admin"), []),
        ("bad e-mail", form(emails="not-an-email"), []),
        ("bad IBAN", form(banks="GB29 NWBK 6016 1331 9268 18"), []),
        ("javascript url", form(urls="javascript:alert(1)"), []),
        ("negative amount", form(amount="-5"), []),
        ("NaN amount", form(amount="NaN"), []),
        ("float junk amount", form(amount="1e400"), []),
        ("unknown currency", form(currency="XXX"), []),
        ("future date", form(occurred="2999-01-01"), []),
        ("sql in location", form(locations="'; DROP TABLE portal_reports; --"), []),
        ("too many lines", form(emails="\n".join(f"a{i}@x.example" for i in range(30))), []),
        ("no good faith", form(bona_fide=""), []),
        ("path trick name", form(), [("attachments", ("../../../etc/passwd.png", PNG, "image/png"))]),
        ("exe as png", form(), [("attachments", ("holiday.png", b"MZ\x90\x00" + b"\x00" * 100, "image/png"))]),
        ("wrong declared type", form(), [("attachments", ("a.pdf", PNG, "application/pdf"))]),
        ("zip bomb", form(), [("attachments", ("bomb.zip", bomb, "application/zip"))]),
        ("nested zip", form(), [("attachments", ("n.zip", zip_bytes({"in.zip": b"PK"}), "application/zip"))]),
        ("empty file", form(), [("attachments", ("e.png", b"", "image/png"))]),
        ("too many files", form(), [("attachments", (f"{i}.png", PNG, "image/png")) for i in range(6)]),
        ("oversize file", form(), [("attachments", ("big.png", PNG + b"\x00" * (6 * 1024 * 1024), "image/png"))]),
    ]


def test_hostile_corpus_gets_clear_errors_or_is_stored_inert(client: TestClient, office: Office) -> None:
    outcomes: dict[str, int] = {}
    for name, fields, files in _hostile_corpus():
        answer = submit(client, fields, files)
        outcomes[name] = answer.status_code
        assert answer.status_code < 500, name
        if answer.status_code != 201:
            errors = answer.json()["errors"]
            assert errors and all(isinstance(m, str) and len(m) > 10 for m in errors.values()), name
    stored = {n for n, s in outcomes.items() if s == 201}
    # stored inert: script text kept as text (escaped on every page), path stripped from the name
    assert stored == {"script tag narrative", "path trick name", "wrong declared type"}, outcomes
    add_user(office, "ana", Role.ANALYST)
    login(client, "ana")
    for item in office.portal_desk.queue("ana"):
        page = client.get(f"/portal/reports/{item.report.reference}").text
        assert "<script>alert" not in page and "<img" not in page
        for a in office.portal_desk.show("ana", item.report.reference).attachments:
            assert "/" not in a.name and a.media_type == "image/png"


def test_raw_hostile_bodies_never_cause_a_500(client: TestClient) -> None:
    bodies = [
        (b"\xff\xfe\xfa invalid utf-8 \x80", "application/x-www-form-urlencoded"),
        (b"role=victim&narrative=%ff%fe%80%80", "application/x-www-form-urlencoded"),
        (
            b'--b\r\nContent-Disposition: form-data; name="narrative"\r\n\r\n\xff\xfe\x80\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
        ),
        (b"--broken", "multipart/form-data; boundary=b"),
        (b"{}", "application/json"),
        (b"x" * 100, "multipart/form-data"),
    ]
    for body, content_type in bodies:
        answer = client.post(
            "/report", content=body, headers={"Content-Type": content_type, "Accept": "application/json"}
        )
        assert 400 <= answer.status_code < 500, (body[:30], answer.status_code, answer.text[:200])
    big = client.post(
        "/report",
        content=b"x",
        headers={"Content-Length": str(50 * 1024 * 1024), "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert big.status_code in (400, 413)


def test_hostile_reporter_cookies_never_cause_a_500(client: TestClient) -> None:
    """A forged cookie is sent back to the status form, whatever bytes it holds: "²" passed
    ``str.isdigit`` (then ``int`` raised) and a non-ASCII signature made ``compare_digest`` raise."""
    for cookie in (b"wh_reporter=ABCDEFGHJK.\xb2\xb3.00", b"wh_reporter=ABCDEFGHJK.99999999999.\xe9", b"wh_reporter=."):
        answer = client.get("/report/status/view", headers={"Cookie": cookie}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/report/status", cookie


def test_replay_and_rate_limit_hold_across_two_workers(office: Office, tmp_path: Path) -> None:
    """Two server processes = two apps, each with its own memory, on one office database."""
    other_office = make_office(f"sqlite:///{tmp_path / 'office.db'}", tmp_path)
    try:
        first, second = client_for(office, submissions_per_client=2), client_for(other_office, submissions_per_client=2)
        found = first.get("/report/challenge").json()
        fields = {**form(), "challenge_token": found["token"], "pow_nonce": solve(found["salt"], found["difficulty"])}
        headers = {"Accept": "application/json"}
        assert first.post("/report", data=fields, headers=headers).status_code == 201
        replayed = second.post("/report", data=fields, headers=headers)
        assert replayed.status_code == 400 and "already submitted" in replayed.json()["errors"]["challenge_answer"]
        assert submit(second, form()).status_code == 201  # the client's second report, via the other worker
        limited = submit(first, form())  # this worker's memory has seen one report only; the database two
        assert limited.status_code == 429 and "Too many reports" in limited.json()["errors"]["form"]
        assert len(office.portal_desk.queue("ana")) == 2
    finally:
        other_office.close()
