"""Disclosure requests on both backends: legal basis, the state table, two approvers, sealed production."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from watchhouse.core.errors import UsageError
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.disclosure.models import Authority as Auth
from watchhouse.office.disclosure.models import (
    DisclosureStatus,
    LegalBasis,
    NoticeDecision,
    RequestType,
    Scope,
    UserNotice,
)
from watchhouse.office.errors import AccessDeniedError, FourEyesError, LegalBasisError, TransitionError
from watchhouse.office.services import Office

from .disclosure_helpers import ALICE, NOTIFY, ORDER, SCOPE, make_office, request


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    office = make_office(db_url, tmp_path)
    yield office
    office.close()


def entries(office: Office, request_id: str) -> list[tuple[str, str, str]]:
    return [
        (e.actor, e.action, e.details.get("op") or e.details.get("refusal", ""))
        for e in office.audit.for_object("disclosure", request_id)
    ]


def open_case(office: Office, **kwargs: object) -> str:
    return office.cases.open("rita", "Account takeover ring", [CrimeCode.ILLEGAL_ACCESS], Severity.HIGH, **kwargs).id  # type: ignore[arg-type]


def test_two_approvers_then_production_is_sealed_linked_and_disclosed(office: Office) -> None:
    case_id = open_case(office)
    dr = request(office, case=case_id)
    assert (dr.id, dr.status, dr.requester, dr.followup_due) == (
        "DR-2026-0001",
        DisclosureStatus.RECEIVED,
        "rita",
        None,
    )
    office.disclosures.review("lena", dr.id)
    first = office.disclosures.approve("lena", dr.id, "order checked")
    assert first.status is DisclosureStatus.UNDER_REVIEW and first.approvers == ("lena",)
    second = office.disclosures.approve("omar", dr.id)
    assert second.status is DisclosureStatus.APPROVED and second.approvers == ("lena", "omar")

    produced = office.disclosures.produce("sam", dr.id, b"subscriber: ...\n", name="subscriber.txt")
    assert produced.status is DisclosureStatus.PRODUCED and produced.case_id == case_id
    (item_id,) = produced.evidence
    item, custody = office.evidence.view(item_id, "auditor")
    assert item.acquired_by == "sam" and "DR-2026-0001" in item.source
    assert [c.event.value for c in custody[:2]] == ["collected", "disclosed"]
    assert custody[1].details == {
        "request": dr.id,
        "authority": "Bundeskriminalamt",
        "country": "DE",
        "legal_reference": ORDER.reference,
    }
    assert item_id in office.cases.show("rita", case_id).evidence
    closed = office.disclosures.close("rita", dr.id, "done")
    assert closed.status is DisclosureStatus.CLOSED

    assert entries(office, dr.id) == [
        ("rita", "create", "received"),
        ("lena", "change", "status"),
        ("lena", "change", "approval"),
        ("omar", "change", "approval"),
        ("omar", "change", "status"),
        ("sam", "disclose", "produced"),
        ("sam", "change", "status"),
        ("rita", "change", "status"),
    ]
    created = office.audit.for_object("disclosure", dr.id)[0]
    assert created.details["accounts"] == 2 and ALICE not in str(created.details)  # counts, never accounts
    assert office.audit.verify().ok


def test_refusals_are_raised_and_audited(office: Office) -> None:
    with pytest.raises(LegalBasisError, match="legal instrument, reference number and issuer"):
        request(office, basis=None)
    with pytest.raises(LegalBasisError):
        request(office, basis=LegalBasis("production order", " ", "court"))
    refused = [e for e in office.audit.tail(5) if e.action == "refused"]
    assert [(e.actor, e.details["refusal"], e.details["attempted"]) for e in refused] == [
        ("rita", "legal-basis", "open"),
        ("rita", "legal-basis", "open"),
    ]

    dr = request(office)
    with pytest.raises(TransitionError, match="only a request under review"):
        office.disclosures.approve("lena", dr.id)
    with pytest.raises(TransitionError, match="cannot go from received to produced"):
        office.disclosures.produce("lena", dr.id, b"x", name="x", case="WH-2026-0001")
    office.disclosures.review("lena", dr.id)
    with pytest.raises(FourEyesError, match=r"requester \(rita\) cannot approve"):
        office.disclosures.approve("rita", dr.id)
    office.disclosures.approve("lena", dr.id)
    with pytest.raises(FourEyesError, match="already approved; a second person must"):
        office.disclosures.approve("lena", dr.id)
    with pytest.raises(TransitionError, match="cannot go from under_review to produced"):
        office.disclosures.produce("lena", dr.id, b"x", name="x", case="WH-2026-0001")
    assert office.disclosures.show("auditor", dr.id).status is DisclosureStatus.UNDER_REVIEW
    assert [(a, r) for a, act, r in entries(office, dr.id) if act == "refused"] == [
        ("lena", "transition"),
        ("lena", "transition"),
        ("rita", "requester"),
        ("lena", "same-approver"),
        ("lena", "transition"),
    ]
    assert office.evidence.search("auditor") == []  # nothing was sealed by the refused productions


def test_production_needs_a_case_the_producer_may_act_on(office: Office) -> None:
    secret = open_case(office, need_to_know=True)
    dr = request(office)
    office.disclosures.review("lena", dr.id)
    office.disclosures.approve("lena", dr.id)
    office.disclosures.approve("omar", dr.id)
    with pytest.raises(UsageError, match="not linked to a case"):
        office.disclosures.produce("sam", dr.id, b"x", name="x")
    with pytest.raises(AccessDeniedError, match="need-to-know"):
        office.disclosures.produce("sam", dr.id, b"x", name="x", case=secret)
    assert entries(office, dr.id)[-1] == ("sam", "refused", "need-to-know")
    assert office.disclosures.produce("rita", dr.id, b"x", name="x", case=secret).status is DisclosureStatus.PRODUCED


def test_reject_then_close_and_the_state_table_is_final(office: Office) -> None:
    dr = request(office)
    office.disclosures.review("lena", dr.id)
    with pytest.raises(UsageError, match="needs a reason"):
        office.disclosures.reject("lena", dr.id, " ")
    assert office.disclosures.reject("lena", dr.id, "overbroad scope").status is DisclosureStatus.REJECTED
    closed = office.disclosures.close("lena", dr.id)
    assert closed.status is DisclosureStatus.CLOSED and closed.rejected
    with pytest.raises(TransitionError, match=r"allowed: none \(final\)"):
        office.disclosures.review("lena", dr.id)


def test_emergency_path_one_justified_signoff_and_overdue_followup(office: Office) -> None:
    case_id = open_case(office)
    with pytest.raises(UsageError, match="needs a justification"):
        request(office, kind=RequestType.EMERGENCY, basis=None)
    dr = request(office, kind=RequestType.EMERGENCY, basis=None, justification="threat to life", case=case_id)
    assert dr.legal_basis is None and dr.followup_due is not None and dr.followup_due > dr.received_at
    office.disclosures.review("lena", dr.id)
    with pytest.raises(UsageError, match="written justification"):
        office.disclosures.approve("lena", dr.id)
    with pytest.raises(FourEyesError):
        office.disclosures.approve("rita", dr.id, "I asked for it")
    approved = office.disclosures.approve("lena", dr.id, "imminent danger confirmed by phone")
    assert approved.status is DisclosureStatus.APPROVED and approved.approvers == ("lena",)
    office.disclosures.produce("sam", dr.id, b"last login ip\n", name="login.txt")
    with pytest.raises(LegalBasisError, match="cannot close before its follow-up"):
        office.disclosures.close("lena", dr.id)
    assert entries(office, dr.id)[-1] == ("lena", "refused", "followup")

    assert office.disclosures.overdue("auditor") == []  # not due yet
    for _ in range(20):  # time passes (each audited read is one tick of the test clock)
        office.disclosures.show("auditor", dr.id)
    (late,) = office.disclosures.overdue("auditor")
    assert late.id == dr.id and late.followup_overdue(office.disclosures.now())
    assert office.audit.tail(1)[0].details == {"view": "overdue-followups", "results": 1, "ids": [dr.id]}

    with pytest.raises(UsageError, match="instrument, reference number and issuer"):
        office.disclosures.followup("lena", dr.id, LegalBasis("order", "", "court"))
    done = office.disclosures.followup("lena", dr.id, ORDER)
    assert done.legal_basis == ORDER and done.followup_received_at is not None
    assert office.audit.for_object("disclosure", dr.id)[-1].details["late"] is True
    assert office.disclosures.overdue("auditor") == []
    with pytest.raises(UsageError, match="not waiting"):
        office.disclosures.followup("lena", dr.id, ORDER)
    assert office.disclosures.close("lena", dr.id).status is DisclosureStatus.CLOSED


def test_preservation_is_sealed_but_not_disclosed(office: Office) -> None:
    case_id = open_case(office)
    dr = request(office, kind=RequestType.PRESERVATION, case=case_id)
    office.disclosures.review("lena", dr.id)
    office.disclosures.approve("lena", dr.id)
    office.disclosures.approve("omar", dr.id)
    produced = office.disclosures.produce("sam", dr.id, b"preserved snapshot", name="snapshot.bin")
    _, custody = office.evidence.view(produced.evidence[0], "auditor")
    assert [c.event.value for c in custody] == ["collected", "viewed"]
    assert entries(office, dr.id)[-2] == ("sam", "change", "produced")


def test_input_is_checked_with_one_clear_line(office: Office) -> None:
    with pytest.raises(UsageError, match="not an ISO 3166-1 alpha-2"):
        request(office, country="XX")
    with pytest.raises(UsageError, match="must be pseudonyms"):
        request(office, scope=Scope(("alice@example.org",), date(2026, 1, 1), date(2026, 1, 2), SCOPE.categories))
    with pytest.raises(UsageError, match="reversed"):
        request(office, scope=Scope(SCOPE.accounts, date(2026, 2, 1), date(2026, 1, 1), SCOPE.categories))
    open_ = office.disclosures.open
    with pytest.raises(UsageError, match="non-disclosure order forbids"):
        open_("rita", Auth("FBI", "us"), RequestType.CONTENT, ORDER, SCOPE, NOTIFY, nondisclosure_order=True)
    with pytest.raises(UsageError, match="reason and the date"):
        open_("rita", Auth("FBI", "US"), RequestType.CONTENT, ORDER, SCOPE, UserNotice(NoticeDecision.DELAY, "x"))
    with pytest.raises(UsageError, match="legal reason"):
        open_("rita", Auth("FBI", "US"), RequestType.CONTENT, ORDER, SCOPE, UserNotice(NoticeDecision.NOT_NOTIFY))
    delayed = UserNotice(NoticeDecision.DELAY, "ongoing investigation", date(2026, 9, 1))
    dr = open_(
        "rita",
        Auth("FBI", "us"),
        RequestType.CONTENT,
        ORDER,
        SCOPE,
        delayed,
        nondisclosure_order=True,
        nondisclosure_until=date(2026, 8, 31),
    )
    shown = office.disclosures.show("auditor", dr.id).to_dict()
    assert shown["authority"] == {"name": "FBI", "country": "US"}
    assert shown["user_notice"] == {"decision": "delay", "reason": "ongoing investigation", "until": "2026-09-01"}
    assert shown["nondisclosure_until"] == "2026-08-31"
    assert [r.id for r in office.disclosures.search("auditor", DisclosureStatus.RECEIVED)] == [dr.id]


def test_disclosure_events_are_append_only(office: Office) -> None:
    dr = request(office)
    with pytest.raises(DBAPIError), office.engine.begin() as conn:
        conn.execute(text("UPDATE disclosure_events SET actor = 'mallory' WHERE request_id = :id"), {"id": dr.id})
    with pytest.raises(DBAPIError), office.engine.begin() as conn:
        conn.execute(text("DELETE FROM disclosure_events"))
