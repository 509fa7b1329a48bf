"""``watchhouse portal`` as an office worker drives it: the queue, one report, campaigns, decisions,
appeals under four eyes, bad-faith invalidation, contact reveals and the restricted list.

Reports are submitted through the office's portal service into the same office home the command
opens; every assertion reads the command's JSON output or the office's own records afterwards
(the audit log, the report file), so a command that printed the right thing but stored nothing
fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from watchhouse.cli import portal_cmd
from watchhouse.office.audit.entries import Action
from watchhouse.office.errors import AccessDeniedError, FourEyesError, NotFoundError, TransitionError
from watchhouse.office.portal.models import Contact, IdentifierKind, Money, ReportDraft, ReporterRole, Upload
from watchhouse.office.portal.records import REPORT_OBJECT
from watchhouse.office.services import Office, OfficeLocation, open_office

runner = CliRunner(env={"COLUMNS": "200"})
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(48))


def _office(home: Path) -> Office:
    """The office exactly as ``portal_cmd`` opens it from ``--home``."""
    return open_office(OfficeLocation(f"sqlite:///{home / 'office.db'}", home / "audit-signing.key", home / "evidence"))


def _draft(
    email: str,
    *,
    category: str = "scam",
    urgent: bool = False,
    contact: Contact | None = None,
    uploads: tuple[Upload, ...] = (),
) -> ReportDraft:
    return ReportDraft(
        role=ReporterRole.VICTIM,
        category=category,
        narrative="Paid for a phone through the platform; the seller vanished.",
        occurred="2026-03-02",
        locations=("https://platform.example/item/7",),
        identifiers=((IdentifierKind.EMAIL, email),),
        money=Money("120.00", "EUR", "bank_transfer", "2026-03-02"),
        contact=contact,
        consent=contact is not None,
        urgent=urgent,
        bona_fide=True,
        uploads=uploads,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "wh"


@pytest.fixture
def office(home: Path) -> Iterator[Office]:
    found = _office(home)
    yield found
    found.close()


def _run(home: Path, *args: str, actor: str = "ana") -> Any:
    """Run a command that must succeed; its JSON output."""
    out = runner.invoke(portal_cmd.app, [*args, "--home", str(home), "--actor", actor])
    assert out.exit_code == 0, (out.output, out.exception)
    return json.loads(out.output)


def _entries(office: Office, reference: str) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in office.audit.for_object(REPORT_OBJECT, reference)]


def test_queue_lists_open_reports_urgent_first_and_is_audited(office: Office, home: Path) -> None:
    calm = office.portal.submit(_draft("seller@fraud.example"), "198.51.100.1")
    urgent = office.portal.submit(_draft("threat@fraud.example", urgent=True), "198.51.100.2")
    before = office.audit.count()
    queue = _run(home, "queue")
    assert [i["reference"] for i in queue] == [urgent.reference, calm.reference]
    assert queue[0]["urgent"] is True and queue[1]["urgent"] is False
    assert {i["status"] for i in queue} == {"received"} and {i["category"] for i in queue} == {"scam"}
    [search] = office.audit.tail(office.audit.count() - before)
    assert (search.actor, search.action, search.details["results"]) == ("ana", Action.SEARCH, 2)


def test_show_prints_the_file_with_its_sealed_attachment_and_audits_the_read(office: Office, home: Path) -> None:
    receipt = office.portal.submit(
        _draft("seller@fraud.example", uploads=(Upload("chat.png", "image/png", PNG),)), "198.51.100.1"
    )
    shown = _run(home, "show", receipt.reference)
    assert shown["reference"] == receipt.reference and shown["status"] == "received"
    assert shown["money"] == {"amount": "120.00", "currency": "EUR", "method": "bank_transfer", "paid_on": "2026-03-02"}
    [attachment] = shown["attachments"]
    assert attachment["name"] == "chat.png" and attachment["size"] == len(PNG)
    assert {"kind": "sha256", "value": attachment["sha256"]} in shown["identifiers"]
    assert office.evidence.verify("ana", [attachment["evidence_id"]])[0].ok
    assert ("ana", Action.READ) in _entries(office, receipt.reference)
    missing = runner.invoke(portal_cmd.app, ["show", "0000000000", "--home", str(home), "--actor", "ana"])
    assert missing.exit_code != 0 and isinstance(missing.exception, NotFoundError)
    assert "no report '0000000000'" in str(missing.exception)


def test_campaigns_group_victims_of_one_scammer(office: Office, home: Path) -> None:
    same = [office.portal.submit(_draft("bad.seller@fraud.example"), f"203.0.113.{n}") for n in range(3)]
    other = office.portal.submit(_draft("someone.else@elsewhere.example"), "203.0.113.9")
    campaigns = _run(home, "campaigns")
    grouped = [c for c in campaigns if len(c["reports"]) > 1]
    assert len(grouped) == 1
    [campaign] = grouped
    assert sorted(campaign["reports"]) == sorted(r.reference for r in same)
    assert other.reference not in campaign["reports"]
    assert campaign["victims"] == 3 and campaign["money_lost"] == {"EUR": "360.00"}
    assert {"kind": "email", "value": "bad.seller@fraud.example"} in campaign["shared"]


def test_decide_records_the_decision_once_and_refuses_a_second(office: Office, home: Path) -> None:
    receipt = office.portal.submit(_draft("seller@fraud.example"), "198.51.100.1")
    ref = receipt.reference
    decided = _run(
        home, "decide", ref, "--outcome", "referred", "--reasons", "Sent to the police", "--public", "Sent on"
    )
    assert isinstance(decided["decision"], int)
    view = office.portal.status(ref)
    assert view.status.value == "referred" and view.decisions[-1].public_reasons == "Sent on"
    assert view.decisions[-1].decided_by == "ana" and view.decisions[-1].reasons == "Sent to the police"
    [entry] = [e for e in office.audit.for_object(REPORT_OBJECT, ref) if e.details.get("op") == "decision"]
    assert (entry.actor, entry.details["outcome"], entry.details["decision"]) == (
        "ana",
        "referred",
        decided["decision"],
    )
    again = runner.invoke(
        portal_cmd.app, ["decide", ref, "--outcome", "no_action", "--reasons", "x", "--home", str(home)]
    )
    assert again.exit_code != 0 and isinstance(again.exception, TransitionError)
    assert "changes only on appeal" in str(again.exception)
    assert office.portal.status(ref).status.value == "referred"
    wrong = runner.invoke(portal_cmd.app, ["decide", ref, "--outcome", "shrug", "--reasons", "x", "--home", str(home)])
    assert wrong.exit_code == 2 and "'shrug' is not one of" in wrong.output


def test_appeal_review_needs_someone_other_than_the_decider(office: Office, home: Path) -> None:
    ref = office.portal.submit(_draft("seller@fraud.example"), "198.51.100.1").reference
    _run(home, "decide", ref, "--outcome", "no_action", "--reasons", "Not enough to act on", actor="ana")
    appeal_id = office.portal.appeal(ref, "The seller has more victims, see the forum thread.")
    review = ["appeal", str(appeal_id), "--outcome", "action_taken", "--reasons", "Second look", "--home", str(home)]
    refused = runner.invoke(portal_cmd.app, [*review, "--actor", "ana"])
    assert refused.exit_code != 0 and isinstance(refused.exception, FourEyesError)
    assert "someone else must review it" in str(refused.exception)
    assert ("ana", Action.REFUSED) in _entries(office, ref)
    assert office.portal.status(ref).status.value == "no_action"
    reviewed = _run(home, *review[:-2], actor="bob")
    assert isinstance(reviewed["decision"], int)
    view = office.portal.status(ref)
    assert view.status.value == "action_taken" and view.decisions[-1].decided_by == "bob"
    assert view.decisions[-1].appeal_of is not None and view.appeals[0].status != "open"


def test_invalidate_closes_every_report_of_a_bad_faith_client(office: Office, home: Path) -> None:
    spam = [office.portal.submit(_draft(f"victim{n}@example.org"), "192.0.2.66") for n in range(2)]
    honest = office.portal.submit(_draft("seller@fraud.example"), "192.0.2.7")
    client = _run(home, "show", spam[0].reference)["client"]
    assert client.startswith("cl-")
    done = _run(home, "invalidate", client, "--reason", "Fabricated reports from one address")
    assert done == {"invalidated": sorted(r.reference for r in spam)}
    assert {office.portal.status(r.reference).status.value for r in spam} == {"invalidated"}
    assert office.portal.status(honest.reference).status.value == "received"
    [entry] = [e for e in office.audit.tail(5) if e.details.get("op") == "invalidate"]
    assert entry.actor == "ana" and entry.purpose == "Fabricated reports from one address"
    again = runner.invoke(portal_cmd.app, ["invalidate", client, "--reason", "again", "--home", str(home)])
    assert again.exit_code != 0 and "no open reports from" in str(again.exception)
    blank = runner.invoke(portal_cmd.app, ["invalidate", client, "--reason", " ", "--home", str(home)])
    assert blank.exit_code != 0 and "needs a reason" in str(blank.exception)


def test_contact_is_revealed_only_with_a_purpose_and_audited(office: Office, home: Path) -> None:
    contact = Contact("Mia Example", "mia@example.org", "+31 6 1234 5678")
    ref = office.portal.submit(_draft("seller@fraud.example", contact=contact), "198.51.100.1").reference
    shown = _run(home, "show", ref)
    assert "mia@example.org" not in json.dumps(shown) and shown["reporter"].startswith("rp-")
    no_purpose = runner.invoke(portal_cmd.app, ["contact", ref, "--purpose", "", "--home", str(home)])
    assert no_purpose.exit_code != 0 and "needs a purpose" in str(no_purpose.exception)
    revealed = _run(home, "contact", ref, "--purpose", "Police asked for a witness statement")
    assert revealed == {"name": "Mia Example", "email": "mia@example.org", "phone": "+31 6 1234 5678"}
    [reveal] = [e for e in office.audit.for_object(REPORT_OBJECT, ref) if e.action == Action.REVEAL]
    assert reveal.actor == "ana" and reveal.purpose == "Police asked for a witness statement"


def test_restricted_reports_need_a_grant(office: Office, home: Path) -> None:
    ref = office.portal.submit(_draft("abuser@example.net", category="child_abuse"), "198.51.100.1").reference
    assert ref not in [i["reference"] for i in _run(home, "queue")]
    denied = runner.invoke(portal_cmd.app, ["show", ref, "--home", str(home), "--actor", "ana"])
    assert denied.exit_code != 0 and isinstance(denied.exception, AccessDeniedError)
    assert "need-to-know" in str(denied.exception)
    assert ("ana", Action.REFUSED) in _entries(office, ref)
    assert _run(home, "grant-restricted", "ana", actor="lead") == {"granted": "ana"}
    granted = [e for e in office.audit.tail(3) if e.details.get("op") == "grant-restricted"]
    assert [(e.actor, e.details["to"]) for e in granted] == [("lead", "ana")]
    shown = _run(home, "show", ref)
    assert shown["restricted"] is True and shown["content_withheld"] is True
    assert shown["narrative"].startswith("(withheld") and shown["locations"] == []
    assert ref in [i["reference"] for i in _run(home, "queue")]


def test_the_installed_command_prints_a_refusal_and_exits_with_its_code(office: Office, home: Path) -> None:
    ref = office.portal.submit(_draft("seller@fraud.example"), "198.51.100.1").reference
    _run(home, "decide", ref, "--outcome", "no_action", "--reasons", "Nothing to act on", actor="ana")
    appeal_id = office.portal.appeal(ref, "Please look again.")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from watchhouse.cli.main import main; main()",
            "portal",
            "appeal",
            str(appeal_id),
            "--outcome",
            "referred",
            "--reasons",
            "x",
            "--home",
            str(home),
            "--actor",
            "ana",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == FourEyesError.exit_code
    assert "error:" in done.stderr and "someone else must review it" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
