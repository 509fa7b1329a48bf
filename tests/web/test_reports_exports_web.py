"""The transparency report and case exports through the API and the console, on both backends.

The report's figures are checked against a small office whose requests are known one by one
(two countries, every outcome the columns count); exports are checked by parsing what comes
back with the formats' own libraries and by the custody record they leave behind.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.accounts.roles import Role
from watchhouse.office.exports.html_report import STYLE as REPORT_STYLE
from watchhouse.office.reports.render import STYLE
from watchhouse.office.services import Office

from .web_helpers import (
    ACCOUNT_A,
    ACCOUNT_B,
    Api,
    Clock,
    add_user,
    alert,
    api_login,
    client_for,
    console_login,
    disclosure_body,
    last_entry,
    make_office,
)

YEAR = {"from": "2026-01-01", "to": "2026-12-31"}
A1 = "wh-000000000000000000000001"


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    office = make_office(db_url, tmp_path, Clock())
    log = tmp_path / "access.log"
    log.write_text("".join(f"203.0.113.9 - - GET /login?id={n} HTTP/1.1 401\n" for n in range(1, 4)))
    office.alerts.save([alert(1, log=str(log)), alert(2, log=str(log))])
    for name, role in (
        ("ivy", Role.INVESTIGATOR),
        ("leo", Role.LEGAL),
        ("pat", Role.APPROVER),
        ("ada", Role.ADMIN),
        ("ana", Role.ANALYST),
        ("aud", Role.AUDITOR),
    ):
        add_user(office, name, role)
    yield office
    office.close()


def _as(office: Office, name: str) -> Api:
    return api_login(client_for(office), name)


def _case(office: Office, *, need_to_know: bool = False) -> str:
    case = office.cases.open(
        "ivy", "credential stuffing on /login", [CrimeCode.ILLEGAL_ACCESS], Severity.HIGH, need_to_know=need_to_know
    )
    office.cases.link_alert("ivy", case.id, A1, "same source")
    return case.id


def _requests(office: Office) -> None:
    """DE: produced subscriber request (2 accounts) + rejected content request; FR: preservation (produced
    but only preserved) + emergency still under review."""
    ivy, leo, pat, ada = _as(office, "ivy"), _as(office, "leo"), _as(office, "pat"), _as(office, "ada")
    case = _case(office)
    data = {"name": "export.txt", "content_base64": base64.b64encode(b"rows\n").decode()}

    def opened(**changes: object) -> str:
        answer = ivy.post("/api/v1/disclosures", disclosure_body(case=case, **changes))
        assert answer.status_code == 201, answer.text
        dr: str = answer.json()["id"]
        leo.post(f"/api/v1/disclosures/{dr}/review", {})
        return dr

    produced = opened()
    for signer in (leo, pat):
        signer.post(f"/api/v1/disclosures/{produced}/approve", {})
    assert leo.post(f"/api/v1/disclosures/{produced}/produce", data).json()["status"] == "produced"
    rejected = opened(type="content", accounts=[ACCOUNT_A])
    assert pat.post(f"/api/v1/disclosures/{rejected}/reject", {"reason": "overbroad"}).json()["status"] == "rejected"
    preserved = opened(type="preservation", country="FR", authority="OFAC", accounts=[ACCOUNT_B])
    for signer in (pat, ada):
        signer.post(f"/api/v1/disclosures/{preserved}/approve", {})
    assert ada.post(f"/api/v1/disclosures/{preserved}/produce", data).json()["status"] == "produced"
    opened(type="emergency", country="FR", authority="OFAC", legal_basis=None, justification="kidnapping")


def test_transparency_json_counts_what_the_records_say(office: Office) -> None:
    _requests(office)
    leo = _as(office, "leo")
    answer = leo.get("/api/v1/reports/transparency", **YEAR)
    assert answer.status_code == 200, answer.text
    entry = last_entry(office)
    assert (entry.actor, entry.action, entry.object_type, entry.object_id) == (
        "leo",
        "export",
        "report",
        "transparency:2026-01-01..2026-12-31",
    )
    report = answer.json()
    by_country = {r["label"]: r for r in report["by_country"]}
    assert set(by_country) == {"DE", "FR"}
    de, fr = by_country["DE"], by_country["FR"]
    assert (de["requests"], de["accounts_specified"], de["some_data_produced"], de["rejected"]) == (2, 3, 1, 1)
    assert de["share_some_data_produced"] == "50.0%"
    assert (fr["requests"], fr["preservation_requests"], fr["emergency_requests"], fr["some_data_produced"]) == (
        2,
        1,
        1,
        0,
    )
    assert report["total"]["requests"] == 4 and report["total"]["share_some_data_produced"] == "25.0%"
    assert report["actions"]["case opened"] == 1
    outside = leo.get("/api/v1/reports/transparency", **{"from": "2025-01-01", "to": "2025-12-31"}).json()
    assert outside["total"]["requests"] == 0


def test_transparency_csv_tables_and_bad_periods(office: Office) -> None:
    _requests(office)
    leo = _as(office, "leo")
    answer = leo.get("/api/v1/reports/transparency.csv", **YEAR, table="by_type")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = {r["type"]: r for r in csv.DictReader(io.StringIO(answer.text))}
    assert rows["preservation"]["preservation_requests"] == "1" and rows["total"]["requests"] == "4"
    assert rows["subscriber_info"]["share_some_data_produced"] == "100.0%"
    assert last_entry(office).action == "export"
    actions = leo.get("/api/v1/reports/transparency.csv", **YEAR, table="actions").text
    assert "case opened,1" in actions and actions.rstrip().endswith("appeals,0")
    assert leo.get("/api/v1/reports/transparency.csv", **YEAR, table="secrets").status_code == 422
    assert leo.get("/api/v1/reports/transparency", **{"from": "2026-12-31", "to": "2026-01-01"}).status_code == 400
    assert leo.get("/api/v1/reports/transparency", **{"from": "yesterday", "to": "2026-01-01"}).status_code == 422
    assert leo.get("/api/v1/reports/transparency").status_code == 422
    assert leo.get("/api/v1/reports/transparency", **{"from": "2026-01-01", "to": "9999-12-31"}).status_code == 400


def test_report_is_for_legal_and_admins_only(office: Office) -> None:
    for name in ("aud", "ana", "pat", "ivy"):
        refused = _as(office, name).get("/api/v1/reports/transparency", **YEAR)
        assert refused.status_code == 403, name
        assert (last_entry(office).actor, last_entry(office).action) == (name, "refused")
    assert _as(office, "ada").get("/api/v1/reports/transparency", **YEAR).status_code == 200


def _exported(office: Office, answer: httpx.Response, case: str, fmt: str) -> str:
    assert answer.status_code == 200, answer.text
    item = answer.headers["x-evidence-id"]
    sealed, custody = office.evidence.view(item, "aud")
    assert sealed.sha256 == hashlib.sha256(answer.content).hexdigest()
    assert sealed.details == {"case": case, "format": fmt, "alerts": 1}
    assert custody[-2].event.value == "exported" and custody[-2].actor == "ivy"
    return item


def test_case_exports_are_valid_sealed_and_recorded(office: Office) -> None:
    case = _case(office)
    ivy = _as(office, "ivy")
    stix = ivy.post(f"/api/v1/exports/cases/{case}/stix", {"purpose": "CERT-Bund referral"})
    _exported(office, stix, case, "stix")
    bundle = orjson.loads(stix.content)
    assert bundle["type"] == "bundle" and stix.headers["content-type"].startswith("application/stix+json")
    import stix2

    parsed = stix2.parse(stix.content.decode(), allow_custom=True)
    assert any(o["type"] == "indicator" or o["type"] == "observed-data" for o in parsed.objects)

    misp = ivy.post(f"/api/v1/exports/cases/{case}/misp", {"purpose": "sharing group"})
    _exported(office, misp, case, "misp")
    event = orjson.loads(misp.content)
    assert case in event["info"] and any(a["value"] == "203.0.113.9" for a in event["Attribute"])

    html = ivy.post(f"/api/v1/exports/cases/{case}/html", {"purpose": "management"})
    item = _exported(office, html, case, "html")
    assert "<svg" in html.text and case in html.text and "<script" not in html.text
    policy = html.headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(REPORT_STYLE.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy and "sandbox" in policy and "script" not in policy
    assert item in ivy.get(f"/api/v1/cases/{case}").json()["evidence"]


def test_case_export_refusals_are_4xx(office: Office) -> None:
    case, secret = _case(office), _case(office, need_to_know=True)
    ivy, leo, ana = _as(office, "ivy"), _as(office, "leo"), _as(office, "ana")
    assert ivy.post(f"/api/v1/exports/cases/{case}/pdf", {"purpose": "p"}).status_code == 400
    assert ivy.post(f"/api/v1/exports/cases/{case}/stix", {"purpose": ""}).status_code == 422
    assert ivy.post(f"/api/v1/exports/cases/{case}/stix", {"purpose": "  "}).status_code == 400
    assert ivy.post("/api/v1/exports/cases/WH-2026-9999/stix", {"purpose": "p"}).status_code == 404
    assert ivy.client.get(f"/api/v1/exports/cases/{case}/stix").status_code == 405
    refused = ana.post(f"/api/v1/exports/cases/{case}/stix", {"purpose": "p"})
    assert refused.status_code == 403 and last_entry(office).details["attempted"] == "case:export"
    hidden = leo.post(f"/api/v1/exports/cases/{secret}/stix", {"purpose": "p"})
    assert hidden.status_code == 403 and last_entry(office).details["refusal"] == "need-to-know"
    assert office.evidence.search("aud") == []  # nothing refused was sealed


# -- the console -------------------------------------------------------------------------------


def test_console_transparency_page_and_its_downloads(office: Office) -> None:
    _requests(office)
    client = client_for(office)
    console_login(client, "leo")
    form = client.get("/reports/transparency")
    assert form.status_code == 200 and 'name="from"' in form.text and "Requests by country" not in form.text
    page = client.get("/reports/transparency", params=YEAR)
    assert page.status_code == 200
    row = re.search(r'<tr><th scope="row">DE</th>(.*?)</tr>', page.text)
    assert row is not None and re.findall(r"<td>(.*?)</td>", row.group(1)) == ["2", "3", "50.0%", "0", "0", "1"]
    assert 'href="/reports/transparency.csv?from=2026-01-01&amp;to=2026-12-31&amp;table=by_country"' in page.text
    assert last_entry(office).action == "export"

    html = client.get("/reports/transparency.html", params=YEAR)
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in html.headers["content-security-policy"]
    assert "script-src" not in html.headers["content-security-policy"] and "<style>" in html.text
    download = client.get("/reports/transparency.csv", params={**YEAR, "table": "by_country"})
    assert download.text.splitlines()[1:3] == ["DE,2,3,50.0%,0,0,1", "FR,2,3,0.0%,1,1,0"]
    assert client.get("/reports/transparency.csv", params={**YEAR, "table": "x"}).status_code == 400
    assert client.get("/reports/transparency", params={"from": "2026-02-30", "to": "2026-03-01"}).status_code == 400

    analyst = client_for(office)
    console_login(analyst, "ivy")
    assert analyst.get("/reports/transparency", params=YEAR).status_code == 403
    assert 'href="/reports/transparency"' not in analyst.get("/cases").text
    assert 'href="/reports/transparency"' in client.get("/disclosures").text


def test_console_case_page_exports_for_investigators_only(office: Office) -> None:
    case = _case(office)
    ivy = client_for(office)
    csrf = console_login(ivy, "ivy")
    page = ivy.get(f"/cases/{case}").text
    assert f'action="/cases/{case}/export"' in page and 'value="misp"' in page
    answer = ivy.post(f"/cases/{case}/export", data={"csrf_token": csrf, "format": "misp", "purpose": "sharing"})
    assert (
        answer.status_code == 200
        and answer.headers["content-disposition"] == f'attachment; filename="{case}.misp.json"'
    )
    _exported(office, answer, case, "misp")
    assert ivy.post(f"/cases/{case}/export", data={"format": "misp", "purpose": "x"}).status_code == 403

    ana = client_for(office)
    ana_csrf = console_login(ana, "ana")
    assert f'action="/cases/{case}/export"' not in ana.get(f"/cases/{case}").text
    refused = ana.post(f"/cases/{case}/export", data={"csrf_token": ana_csrf, "format": "stix", "purpose": "x"})
    assert refused.status_code == 403
