"""Transparency report and case exports (STIX 2.1, MISP, HTML) on both backends."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import stix2
from pymisp import MISPEvent

from watchhouse.core.findings import Severity, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.disclosure.models import RequestType
from watchhouse.office.errors import IntegrityError
from watchhouse.office.exports.misp import validate_misp
from watchhouse.office.exports.service import ExportFormat
from watchhouse.office.reports.render import write_transparency
from watchhouse.office.reports.transparency import APPEALS_NOTE
from watchhouse.office.services import Office
from watchhouse.office.triage.models import Verdict

from .disclosure_helpers import ALICE, make_office, request
from .office_helpers import alert


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    office = make_office(db_url, tmp_path)
    yield office
    office.close()


def produced(office: Office, case_id: str, **kwargs: object) -> str:
    dr = request(office, case=case_id, **kwargs)  # type: ignore[arg-type]
    office.disclosures.review("lena", dr.id)
    office.disclosures.approve("lena", dr.id, "checked")
    office.disclosures.approve("omar", dr.id, "checked")
    office.disclosures.produce("sam", dr.id, f"data for {dr.id}".encode(), name="data.txt")
    return dr.id


def test_transparency_report_counts_the_records(office: Office, tmp_path: Path) -> None:
    case_id = office.cases.open("rita", "Fraud", [CrimeCode.COMPUTER_FRAUD], Severity.HIGH).id
    produced(office, case_id)  # DE subscriber_info, 2 accounts, produced
    produced(office, case_id, kind=RequestType.PRESERVATION)  # DE preservation: sealed, not "produced"
    rejected = request(office, country="FR", kind=RequestType.CONTENT)
    office.disclosures.review("lena", rejected.id)
    office.disclosures.reject("lena", rejected.id, "overbroad")
    office.disclosures.close("lena", rejected.id)
    request(office, country="us", kind=RequestType.EMERGENCY, basis=None, justification="threat to life")
    office.alerts.save([alert(1)])
    office.triage.set_verdict("ana", [alert(1).id], Verdict.TRUE_POSITIVE, "confirmed")

    report = office.transparency.generate("pr-team", date(2026, 3, 1), date(2026, 3, 31))
    rows = {r.label: r.to_dict() for r in report.by_country}
    assert list(rows) == ["DE", "FR", "US"]
    assert rows["DE"]["requests"] == 2 and rows["DE"]["accounts_specified"] == 4
    assert rows["DE"]["some_data_produced"] == 1 and rows["DE"]["share_some_data_produced"] == "50.0%"
    assert rows["DE"]["preservation_requests"] == 1 and rows["FR"]["rejected"] == 1
    assert rows["US"]["emergency_requests"] == 1 and rows["US"]["share_some_data_produced"] == "0.0%"
    types = {r.label: r for r in report.by_type}
    assert types["content"].requests == 1 and types["non_content"].produced_share == "—"
    assert (report.total.requests, report.total.produced_share) == (4, "25.0%")
    actions = dict(report.actions)
    assert actions["case opened"] == 1 and any(k.startswith("alert verdict") for k in actions)
    assert report.appeals == 0 and report.notes == (APPEALS_NOTE,)
    entry = office.audit.tail(1)[0]
    assert (entry.actor, entry.action, entry.object_type, entry.object_id) == (
        "pr-team",
        "export",
        "report",
        "transparency:2026-03-01..2026-03-31",
    )
    assert office.transparency.generate("pr-team", date(2025, 1, 1), date(2025, 12, 31)).total.requests == 0

    files = write_transparency(report, tmp_path / "out")
    assert [p.name for p in files] == [
        "transparency.html",
        "requests_by_country.csv",
        "requests_by_type.csv",
        "actions.csv",
    ]
    with (tmp_path / "out" / "requests_by_country.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [r["country"] for r in table] == ["DE", "FR", "US", "total"] and table[-1]["requests"] == "4"
    html = (tmp_path / "out" / "transparency.html").read_text()
    assert "<caption>Requests by country (ISO 3166-1)</caption>" in html and '<th scope="row">DE</th>' in html
    assert "<script" not in html and "http" not in html.replace("http://", "")  # self-contained
    with pytest.raises(Exception, match="already exists"):
        write_transparency(report, tmp_path / "out")


def case_with_alerts(office: Office) -> str:
    ua = "Mozilla/5.0 <script>alert(1)</script>"
    account = alert(2, ip="x")
    account = type(account)(
        **{**account.__dict__, "subject": Subject("user.name", ALICE), "tags": ("attack.t1110.004",)}
    )
    web = alert(1, ip="203.0.113.9")
    web = type(web)(
        **{**web.__dict__, "details": {"url.original": "https://shop.example/login", "user_agent.original": ua}}
    )
    v6 = alert(3, ip="2001:db8::1")
    office.alerts.save([web, account, v6])
    if office.identities is not None:
        office.identities.record({"alice@example.org": ALICE})
    case_id = office.cases.open("rita", "Takeover <ring>", [CrimeCode.ILLEGAL_ACCESS], Severity.HIGH).id
    for a in (web, account, v6):
        office.cases.link_alert("rita", case_id, a.id)
    office.cases.note("rita", case_id, "Suspect reused <b>passwords</b>")
    return case_id


def custody_of(office: Office, item_id: str) -> list[str]:
    _, events = office.evidence.view(item_id, "auditor")
    return [e.event.value for e in events]


def test_stix_export_validates_and_holds_pseudonyms_only(office: Office, tmp_path: Path) -> None:
    case_id = case_with_alerts(office)
    result = office.exports.export("rita", case_id, ExportFormat.STIX, tmp_path / "case.stix.json", "share with CERT")
    raw = result.path.read_text()
    assert "alice@example.org" not in raw
    bundle = stix2.parse(raw, allow_custom=False)
    by_type: dict[str, list[Any]] = {}  # stix2 ships no types
    for obj in bundle.objects:
        by_type.setdefault(obj.type, []).append(obj)
    (report,) = by_type["report"]
    assert report.name == f"{case_id}: Takeover <ring>" and len(report.object_refs) == len(bundle.objects) - 1
    assert {o.value for o in by_type["ipv4-addr"]} == {"203.0.113.9"}
    assert {o.value for o in by_type["ipv6-addr"]} == {"2001:db8::1"}
    assert [o.user_id for o in by_type["user-account"]] == [ALICE]
    assert {o.value for o in by_type["url"]} == {"https://shop.example/login", "/login"}
    assert len(by_type["indicator"]) == 2 and len(by_type["relationship"]) == 2
    names = {o.name for o in by_type["attack-pattern"]}
    assert "Illegal access to a computer system" in names and "T1110.004" in names
    assert by_type["note"][0].content == "Suspect reused <b>passwords</b>"
    assert report.object_marking_refs == [stix2.TLP_AMBER.id]

    assert custody_of(office, result.evidence_id)[:2] == ["collected", "exported"]
    assert result.evidence_id in office.cases.show("rita", case_id).evidence
    exported = [e for e in office.audit.for_object("evidence", result.evidence_id) if e.action == "export"]
    assert exported[0].details["to"] == str(tmp_path / "case.stix.json") and exported[0].purpose == "share with CERT"
    reads = [e.details.get("view") for e in office.audit.for_object("case", case_id) if e.action == "read"]
    assert reads[:2] == [None, "timeline"]
    with pytest.raises(Exception, match="already exists"):
        office.exports.export("rita", case_id, ExportFormat.STIX, tmp_path / "case.stix.json")


def test_misp_export_tags_attributes_and_validates(office: Office, tmp_path: Path) -> None:
    case_id = case_with_alerts(office)
    result = office.exports.export("rita", case_id, ExportFormat.MISP, tmp_path / "case.misp.json")
    raw = result.path.read_text()
    assert "alice@example.org" not in raw
    validate_misp(raw, json.loads(raw)["uuid"])  # the export already did; it must hold for the file too
    event = MISPEvent()
    event.load(raw)
    tags = {t.name for t in event.tags}
    assert {"tlp:amber", 'watchhouse:crime="illegal_access"', 'rsit:intrusion-attempts="exploit-known-vuln"'} <= tags
    attributes = {(a.type, a.value) for a in event.attributes}
    assert ("ip-src", "203.0.113.9") in attributes and ("ip-src", "2001:db8::1") in attributes
    assert ("url", "https://shop.example/login") in attributes and ("text", ALICE) in attributes
    assert ("user-agent", "Mozilla/5.0 <script>alert(1)</script>") in attributes
    assert custody_of(office, result.evidence_id)[:2] == ["collected", "exported"]


@pytest.mark.parametrize(
    ("damage", "where"),
    [
        (lambda event: event["Attribute"][0].update(value=["203.0.113.9"]), "Attribute/0/value"),
        (lambda event: event["Attribute"][0].update(type=7), "Attribute/0/type"),
        (lambda event: event.update(Tag="tlp:amber"), "Tag"),
    ],
)
def test_misp_validation_refuses_an_event_that_breaks_the_schema(
    office: Office, tmp_path: Path, damage: Any, where: str
) -> None:
    """The schema check is real: a structurally broken event is refused, naming where it broke
    (pymisp's own ``validate=True`` only warns now, and passed all of these)."""
    case_id = case_with_alerts(office)
    raw = office.exports.export("rita", case_id, ExportFormat.MISP, tmp_path / "case.misp.json").path.read_text()
    event = json.loads(raw)
    damage(event)
    with pytest.raises(IntegrityError, match=f"does not validate at {where}"):
        validate_misp(json.dumps(event), event["uuid"])


def test_html_report_is_escaped_self_contained_with_a_timeline_chart(office: Office, tmp_path: Path) -> None:
    case_id = case_with_alerts(office)
    result = office.exports.export("rita", case_id, ExportFormat.HTML, tmp_path / "case.html")
    html = result.path.read_text()
    assert "<svg" in html and 'role="img"' in html and html.count("<circle") >= 4
    assert "Takeover &lt;ring&gt;" in html and "<b>passwords</b>" not in html
    assert "&lt;b&gt;passwords&lt;/b&gt;" in html and "<script" not in html
    assert ALICE in html and "alice@example.org" not in html
    assert "TLP:AMBER" in html
    assert json.loads(json.dumps(custody_of(office, result.evidence_id)))[:2] == ["collected", "exported"]
    assert office.audit.verify().ok
