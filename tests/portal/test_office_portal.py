"""The portal's office services on SQLite and PostgreSQL: storage, privacy, campaigns, notices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from watchhouse.office.errors import AccessDeniedError, FourEyesError, NotFoundError, TransitionError
from watchhouse.office.portal.models import Contact, Outcome, ReporterRole, ReportStatus, Upload
from watchhouse.office.portal.tables import portal_reports
from watchhouse.office.services import Office

from .portal_helpers import PNG, draft, make_office


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    found = make_office(db_url, tmp_path)
    yield found
    found.close()


def test_submission_is_stored_with_sealed_evidence_and_hashed_secret(office: Office, tmp_path: Path) -> None:
    receipt = office.portal.submit(draft(uploads=(Upload("shot.png", "image/png", PNG),)), "198.51.100.7")
    assert len(receipt.reference) == 10 and len(receipt.secret) >= 20
    with office.engine.connect() as conn:
        row = conn.execute(select(portal_reports).where(portal_reports.c.reference == receipt.reference)).one()
    assert receipt.secret not in row.secret_hash and len(row.secret_hash) == 64
    assert row.client.startswith("cl-") and "198.51.100.7" not in row.client
    found = office.portal_desk.show("ana", receipt.reference)
    [attachment] = found.attachments
    assert (attachment.name, attachment.media_type, attachment.size) == ("shot.png", "image/png", len(PNG))
    assert ("sha256", attachment.sha256) in found.identifiers
    assert office.evidence.verify("ana", [attachment.evidence_id])[0].ok
    assert office.portal.authenticate(receipt.reference.lower(), receipt.secret) == receipt.reference
    with pytest.raises(NotFoundError):
        office.portal.authenticate(receipt.reference, "wrong")
    assert office.audit.verify().ok


def test_contact_is_encrypted_at_rest_and_pseudonymised(office: Office, tmp_path: Path) -> None:
    who = Contact("Alice Victim", "alice@mail.example", "+441234567890")
    receipt = office.portal.submit(draft(contact=who), "198.51.100.7")
    with office.engine.connect() as conn:
        row = conn.execute(select(portal_reports).where(portal_reports.c.reference == receipt.reference)).one()
    assert b"alice" not in row.contact_ciphertext and b"Alice" not in row.contact_ciphertext
    assert row.reporter.startswith("rp-")
    shown = office.portal_desk.show("ana", receipt.reference)
    assert shown.report.reporter == row.reporter and shown.report.has_contact
    assert office.portal_desk.contact("ana", receipt.reference, "call back the victim") == who
    assert office.audit.tail(1)[0].action == "reveal"
    assert (tmp_path / "portal-contact.key").stat().st_mode & 0o777 == 0o600


def test_every_office_view_is_audited(office: Office) -> None:
    receipt = office.portal.submit(draft(), "198.51.100.7")
    before = office.audit.count()
    office.portal_desk.queue("ana")
    office.portal_desk.show("ana", receipt.reference)
    office.portal_desk.campaigns("ana")
    entries = office.audit.tail(3)
    assert office.audit.count() == before + 3
    assert [(e.actor, e.action) for e in entries] == [("ana", "search"), ("ana", "read"), ("ana", "search")]
    assert entries[1].object_id == receipt.reference


def test_many_victims_of_one_scammer_are_one_campaign(office: Office) -> None:
    a = office.portal.submit(draft(email="scammer@fraud.example"), "10.0.0.1")
    b = office.portal.submit(draft(email="scammer@fraud.example"), "10.0.0.2")
    c = office.portal.submit(draft(email="other@fraud.example", role=ReporterRole.WITNESS), "10.0.0.3")
    # c shares only the platform host (ignored) and the e-mail differs: not grouped yet.
    [campaign] = office.portal_desk.campaigns("ana")
    assert set(campaign.references) == {a.reference, b.reference} and campaign.victims == 2
    assert campaign.money_lost == (("EUR", "500.00"),)
    # the same screenshot links the witness's report to the campaign
    shot = (Upload("s.png", "image/png", PNG),)
    office.portal.add_information(a.reference, "another screenshot", shot)
    office.portal.add_information(c.reference, "I saw the same", shot)
    [campaign] = office.portal_desk.campaigns("ana")
    assert set(campaign.references) == {a.reference, b.reference, c.reference} and campaign.victims == 2
    items = {i.report.reference: i.campaign for i in office.portal_desk.queue("ana")}
    grouped = items[c.reference]
    assert grouped is not None and grouped.id == campaign.id
    assert dict(office.portal_desk.stats("ana").by_category) == {"scam": 3}


def test_decision_appeal_and_four_eyes_feed_the_transparency_report(office: Office) -> None:
    receipt = office.portal.submit(draft(), "10.0.0.1")
    office.portal_desk.start_review("ana", receipt.reference)
    with pytest.raises(Exception, match="statement of reasons"):
        office.portal_desk.decide("ana", receipt.reference, Outcome.NO_ACTION, " ")
    office.portal_desk.decide("ana", receipt.reference, Outcome.NO_ACTION, "no evidence", "We found no grounds.")
    with pytest.raises(TransitionError):
        office.portal_desk.decide("ana", receipt.reference, Outcome.ACTION_TAKEN, "changed my mind")
    view = office.portal.status(receipt.reference)
    assert view.status is ReportStatus.NO_ACTION and view.may_appeal
    assert view.decisions[0].public_reasons == "We found no grounds."
    appeal = office.portal.appeal(receipt.reference, "Here is the bank statement.")
    with pytest.raises(TransitionError):
        office.portal.appeal(receipt.reference, "again")
    with pytest.raises(FourEyesError):
        office.portal_desk.review_appeal("ana", appeal, Outcome.ACTION_TAKEN, "self review")
    assert office.audit.tail(1)[0].action == "refused"
    office.portal_desk.review_appeal(
        "ben", appeal, Outcome.ACTION_TAKEN, "statement proves payment", "Account removed."
    )
    view = office.portal.status(receipt.reference)
    assert view.status is ReportStatus.ACTION_TAKEN and not view.may_appeal
    assert [a.status for a in view.appeals] == ["overturned"]
    today = datetime.now(UTC).date()
    report = office.transparency.generate("legal", date(2020, 1, 1), today)
    assert report.appeals == 1
    actions = dict(report.actions)
    assert actions["public report decision: no_action"] == 1
    assert actions["public report appeal decision: action_taken"] == 1
    assert actions["public report appeal: overturned"] == 1


def test_bad_faith_reporter_is_invalidated_together(office: Office) -> None:
    refs = [office.portal.submit(draft(email=f"x{i}@fraud.example"), "203.0.113.66").reference for i in range(3)]
    other = office.portal.submit(draft(), "10.9.9.9").reference
    client = office.portal_desk.show("ana", refs[0]).report.client
    assert office.portal_desk.invalidate("ana", client, "fabricated reports") == sorted(refs)
    entry = office.audit.tail(1)[0]
    assert entry.details["op"] == "invalidate" and sorted(entry.details["reports"]) == sorted(refs)
    assert {i.report.reference for i in office.portal_desk.queue("ana")} == {other}
    with pytest.raises(TransitionError):
        office.portal.add_information(refs[0], "more", ())


def test_child_abuse_reports_are_restricted_and_handled_by_hash(office: Office) -> None:
    receipt = office.portal.submit(
        draft(category="child_abuse", uploads=(Upload("x.png", "image/png", PNG),)), "10.0.0.1"
    )
    assert receipt.reference not in {i.report.reference for i in office.portal_desk.queue("ana")}
    with pytest.raises(AccessDeniedError):
        office.portal_desk.show("ana", receipt.reference)
    assert office.audit.tail(1)[0].details["refusal"] == "need-to-know"
    office.portal_desk.grant_restricted("admin", "csam-lead")
    hidden = office.portal_desk.show("csam-lead", receipt.reference)
    assert hidden.content_withheld and "withheld" in hidden.report.narrative
    assert hidden.attachments[0].sha256 and hidden.report.restricted
    with pytest.raises(Exception, match="purpose"):
        office.portal_desk.show("csam-lead", receipt.reference, view_content=True)
    full = office.portal_desk.show("csam-lead", receipt.reference, "referral to NCMEC", view_content=True)
    assert not full.content_withheld and "phone" in full.report.narrative


def test_links_need_an_existing_case(office: Office) -> None:
    receipt = office.portal.submit(draft(), "10.0.0.1")
    with pytest.raises(NotFoundError):
        office.portal_desk.link("ana", receipt.reference, "case", "C-404")
    with pytest.raises(Exception, match="alert or a case"):
        office.portal_desk.link("ana", receipt.reference, "user", "x")
