"""Cases on both backends: numbering, transition table, four-eyes, notes, tasks, links, need-to-know."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from watchhouse.core.errors import UsageError
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.cases.models import CaseStatus, TaskStatus, Tlp
from watchhouse.office.errors import AccessDeniedError, FourEyesError, NotFoundError, TransitionError
from watchhouse.office.evidence.models import Acquisition
from watchhouse.office.services import Office

from .office_helpers import alert, make_office

FRAUD = [CrimeCode.COMPUTER_FRAUD]


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    office = make_office(db_url, tmp_path)
    office.alerts.save([alert(1), alert(2)])
    yield office
    office.close()


def refusals(office: Office, object_id: str) -> list[tuple[str, str]]:
    return [
        (e.actor, e.details["refusal"]) for e in office.audit.for_object("case", object_id) if e.action == "refused"
    ]


def test_numbering_marking_and_need_to_know_defaults(office: Office) -> None:
    first = office.cases.open("ana", "Card testing", FRAUD, Severity.HIGH)
    second = office.cases.open("ana", "Shared images", [CrimeCode.CHILD_SEXUAL_ABUSE_MATERIAL], Severity.CRITICAL)
    assert (first.id, second.id) == ("WH-2026-0001", "WH-2026-0002")
    assert (first.tlp, first.need_to_know) == (Tlp.AMBER, False)
    assert (second.tlp, second.need_to_know) == (Tlp.RED, True)
    assert Tlp.parse("tlp:amber+strict") is Tlp.AMBER_STRICT
    (opened,) = office.audit.for_object("case", first.id)
    assert opened.action == "create" and opened.details["new"] == "open"
    with pytest.raises(UsageError, match="title"):
        office.cases.open("ana", " ", FRAUD, Severity.LOW)
    with pytest.raises(FourEyesError):
        office.cases.open("ana", "x", FRAUD, Severity.LOW, reviewer="ana")


def test_transition_table_and_four_eyes_close(office: Office) -> None:
    case = office.cases.open("ana", "Card testing", FRAUD, Severity.HIGH)
    with pytest.raises(TransitionError, match="cannot go from open to closed; allowed: investigating"):
        office.cases.transition("ana", case.id, CaseStatus.CLOSED)
    office.cases.transition("ana", case.id, CaseStatus.INVESTIGATING, "started")
    with pytest.raises(FourEyesError, match="needs a reviewer"):
        office.cases.transition("ana", case.id, CaseStatus.AWAITING_REVIEW)
    with pytest.raises(FourEyesError, match="other than the owner"):
        office.cases.transition("ana", case.id, CaseStatus.AWAITING_REVIEW, reviewer="ana")
    office.cases.transition("ana", case.id, CaseStatus.AWAITING_REVIEW, reviewer="rita")
    with pytest.raises(FourEyesError, match=r"owner \(ana\) cannot close"):
        office.cases.transition("ana", case.id, CaseStatus.CLOSED)
    with pytest.raises(FourEyesError, match=r"only its reviewer \(rita\)"):
        office.cases.transition("carl", case.id, CaseStatus.CLOSED)
    closed = office.cases.transition("rita", case.id, CaseStatus.CLOSED, "reviewed")
    assert closed.status is CaseStatus.CLOSED
    with pytest.raises(UsageError, match="needs a reason"):
        office.cases.transition("ana", case.id, CaseStatus.INVESTIGATING)
    assert refusals(office, case.id) == [
        ("ana", "transition"),
        ("ana", "four-eyes"),
        ("ana", "four-eyes"),
        ("ana", "four-eyes"),
        ("carl", "four-eyes"),
    ]
    statuses = [e.details["new"] for e in office.audit.for_object("case", case.id) if e.details.get("op") == "status"]
    assert statuses == ["investigating", "awaiting_review", "closed"]


def test_notes_are_append_only_and_corrections_reference_the_original(office: Office) -> None:
    case = office.cases.open("ana", "Card testing", FRAUD, Severity.HIGH)
    first = office.cases.note("ana", case.id, "Suspect used 40 cards")
    fix = office.cases.note("ana", case.id, "It was 41 cards", corrects=first.id)
    with pytest.raises(NotFoundError):
        office.cases.note("ana", case.id, "x", corrects=999)
    shown = office.cases.show("bob", case.id)
    assert [(n.id, n.corrects, n.corrected_by) for n in shown.notes] == [
        (first.id, None, (fix.id,)),
        (fix.id, first.id, ()),
    ]
    for statement in ("UPDATE case_notes SET body = 'gone'", "DELETE FROM case_notes"):
        with pytest.raises(DBAPIError, match="append-only"), office.engine.begin() as conn:
            conn.execute(text(statement))


def test_tasks_links_and_timeline(office: Office) -> None:
    case = office.cases.open("ana", "Card testing", FRAUD, Severity.HIGH)
    task = office.cases.add_task("ana", case.id, "Ask the bank", assignee="bob")
    office.cases.set_task("bob", case.id, task.id, TaskStatus.DONE)
    with pytest.raises(UsageError, match="already done"):
        office.cases.set_task("bob", case.id, task.id, TaskStatus.DONE)
    office.cases.link_alert("ana", case.id, alert(1).id, "same card")
    with pytest.raises(UsageError, match="already linked"):
        office.cases.link_alert("ana", case.id, alert(1).id)
    office.cases.link_alert("ana", case.id, alert(2).id)
    office.cases.unlink_alert("ana", case.id, alert(2).id, "different actor")
    with pytest.raises(NotFoundError):
        office.cases.link_alert("ana", case.id, "wh-none")
    item, _ = office.evidence.seal(b"lines", Acquisition("a.log", "text/plain", "test", "copy", "pytest"), "ana")
    office.cases.link_evidence("ana", case.id, item.id)
    office.evidence.view(item.id, "bob", "check")
    office.cases.note("ana", case.id, "bank confirmed")

    shown = office.cases.show("ana", case.id)
    assert shown.alerts == (alert(1).id,) and shown.evidence == (item.id,)
    assert shown.tasks[0].status is TaskStatus.DONE
    view, history = office.triage.show("ana", alert(2).id)
    assert view.cases == () and [(h.field, h.old_value, h.new_value) for h in history] == [
        ("case", None, case.id),
        ("case", case.id, None),
    ]
    assert office.triage.show("ana", alert(1).id)[0].cases == (case.id,)

    kinds = [i.kind for i in office.cases.timeline("ana", case.id)]
    assert kinds == [
        "opened",
        "task-added",
        "task-status",
        "alert-linked",
        "alert-linked",
        "alert-unlinked",
        "custody",  # collected: sealed before it was linked, still part of the case's story
        "evidence-linked",
        "custody",  # viewed by bob
        "note",
    ]
    assert office.audit.tail(1)[0].details == {"view": "timeline"}


def test_need_to_know_refuses_and_audits_everyone_not_on_the_list(office: Office) -> None:
    case = office.cases.open("ana", "Images", [CrimeCode.CHILD_SEXUAL_ABUSE_MATERIAL], Severity.CRITICAL)
    with pytest.raises(AccessDeniedError, match="need-to-know"):
        office.cases.show("mallory", case.id)
    with pytest.raises(AccessDeniedError):
        office.cases.note("mallory", case.id, "hello")
    with pytest.raises(AccessDeniedError):
        office.cases.timeline("mallory", case.id)
    assert office.cases.search("mallory") == []
    assert office.audit.tail(1)[0].details["withheld"] == 1

    with pytest.raises(AccessDeniedError, match="rita is not on its access list"):
        office.cases.grant("rita", case.id, "mallory")  # rita is not even on the list
    office.cases.grant("ana", case.id, "ivan", "assigned investigator")
    assert office.cases.show("ivan", case.id).access == ("ana", "ivan")
    with pytest.raises(AccessDeniedError, match="owner"):
        office.cases.grant("ivan", case.id, "mallory")
    office.cases.revoke("ana", case.id, "ivan", "reassigned")
    with pytest.raises(AccessDeniedError):
        office.cases.show("ivan", case.id)
    assert refusals(office, case.id) == [
        ("mallory", "need-to-know"),
        ("mallory", "need-to-know"),
        ("mallory", "need-to-know"),
        ("rita", "need-to-know"),
        ("ivan", "owner-only"),
        ("ivan", "need-to-know"),
    ]
    open_case = office.cases.open("ana", "Fraud", FRAUD, Severity.LOW)
    assert office.cases.show("mallory", open_case.id).case.id == open_case.id
    with pytest.raises(UsageError, match="not need-to-know"):
        office.cases.grant("ana", open_case.id, "bob")
