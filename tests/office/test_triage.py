"""Triage on both backends: audited reads, per-alert history, bulk actions, verdicts feeding suppressions."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from watchhouse.core.alerts import Alert
from watchhouse.core.errors import UsageError
from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detect.suppression import load_suppressions
from watchhouse.office.errors import NotFoundError
from watchhouse.office.services import Office
from watchhouse.office.triage.cluster import ClusterKey
from watchhouse.office.triage.models import AlertStatus, Verdict
from watchhouse.office.triage.service import SuppressRequest
from watchhouse.storage.alert_store import AlertFilter, QueueCursor, count_capped

from .audit_helpers import T0
from .office_helpers import alert, make_office


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    office = make_office(db_url, tmp_path)
    office.alerts.save(
        [
            alert(1),
            alert(2, minutes=5),
            alert(3, ip="198.51.100.7", severity=Severity.LOW, minutes=200),
            alert(4, detector="accounts.failed_login_burst", crime=CrimeCode.COMPUTER_FRAUD, minutes=400),
        ]
    )
    yield office
    office.close()


def test_search_and_show_are_audited_with_what_was_seen(office: Office) -> None:
    found = office.triage.search("ana", AlertFilter(min_severity=Severity.HIGH), "queue")
    assert {v.alert.id for v in found} == {alert(1).id, alert(2).id, alert(4).id}
    assert all(v.triage.status == "new" for v in found)
    (entry,) = office.audit.tail(1)
    assert (entry.actor, entry.action, entry.object_type, entry.purpose) == ("ana", "search", "alert", "queue")
    assert entry.details["filter"]["min_severity"] == "high" and set(entry.details["ids"]) == {
        v.alert.id for v in found
    }

    view, history = office.triage.show("ana", alert(3).id[:27])
    assert view.alert.id == alert(3).id and view.alert.severity == Severity.LOW and history == []
    assert office.audit.for_object("alert", alert(3).id)[-1].action == "read"
    with pytest.raises(NotFoundError):
        office.triage.show("ana", "wh-nope")


def test_status_assignment_and_history(office: Office) -> None:
    a1 = alert(1).id
    assert office.triage.set_status("ana", [a1], AlertStatus.TRIAGED, "looked") == [a1]
    assert office.triage.set_status("ana", [a1], AlertStatus.TRIAGED) == []  # no change, no entry
    office.triage.assign("ana", [a1], "bob")
    view, history = office.triage.show("bob", a1)
    assert (view.triage.status, view.triage.assignee) == ("triaged", "bob")
    assert [(h.field, h.old_value, h.new_value) for h in history] == [
        ("status", "new", "triaged"),
        ("assignee", None, "bob"),
    ]
    actions = [(e.actor, e.action, e.details.get("field")) for e in office.audit.for_object("alert", a1)]
    assert actions == [("ana", "change", "status"), ("ana", "change", "assignee"), ("bob", "read", None)]
    assert office.triage.search("x", AlertFilter(assignee="bob"))[0].alert.id == a1


def test_bulk_over_a_filter_and_refusal_of_everything(office: Office) -> None:
    flt = AlertFilter(crime_code=CrimeCode.ILLEGAL_ACCESS, since=T0, until=T0 + timedelta(minutes=60))
    ids = office.triage.select_ids("ana", flt)
    assert sorted(ids) == sorted([alert(1).id, alert(2).id])
    assert sorted(office.triage.set_status("ana", ids, AlertStatus.IN_PROGRESS)) == sorted(ids)
    assert {v.alert.id for v in office.triage.search("ana", AlertFilter(status="in_progress"))} == set(ids)
    with pytest.raises(UsageError, match="at least one filter"):
        office.triage.select_ids("ana", AlertFilter())


def test_false_positive_verdict_creates_a_suppression_the_scan_honours(office: Office, tmp_path: Path) -> None:
    a1, a2 = alert(1).id, alert(2).id
    expires = T0 + timedelta(days=30)
    with pytest.raises(UsageError, match="only false_positive or benign"):
        office.triage.set_verdict("ana", [a1], Verdict.TRUE_POSITIVE, "real", SuppressRequest("x", expires))
    with pytest.raises(UsageError, match="expire in the future"):
        office.triage.set_verdict("ana", [a1], Verdict.BENIGN, "ok", SuppressRequest("pentest", T0 - timedelta(days=1)))
    with pytest.raises(UsageError, match="at most 365 days"):
        office.triage.set_verdict(
            "ana", [a1], Verdict.BENIGN, "ok", SuppressRequest("pentest", T0 + timedelta(days=400))
        )
    result = office.triage.set_verdict(
        "ana", [a1, a2], Verdict.FALSE_POSITIVE, "our scanner", SuppressRequest("weekly pentest", expires)
    )
    assert sorted(result.changed) == sorted([a1, a2]) and len(result.rule_ids) == 1  # same detector + subject
    view, _ = office.triage.show("ana", a1)
    assert (view.triage.verdict, view.triage.status) == ("false_positive", "closed")
    (rule_entry,) = office.audit.for_object("suppression", str(result.rule_ids[0]))
    assert rule_entry.action == "create" and rule_entry.details["subject"] == "source.ip=203.0.113.9"

    path = tmp_path / "suppressions.toml"
    assert office.suppressions.export_toml(path) == 1
    (rule,) = load_suppressions(path)
    assert (rule.reason, rule.expires, rule.detector) == ("weekly pentest", expires, "web.attack_patterns")
    assert rule.matches(alert(9)) and not rule.matches(alert(3, ip="198.51.100.7"))

    office.suppressions.revoke("lead", result.rule_ids[0], "pentest over")
    assert office.suppressions.export_toml(path) == 0 and load_suppressions(path) == []
    with pytest.raises(UsageError, match="already revoked"):
        office.suppressions.revoke("lead", result.rule_ids[0], "again")


def test_clusters_by_subject_and_time_window(office: Office) -> None:
    clusters = office.triage.cluster("ana", AlertFilter(limit=100), ClusterKey.SUBJECT, timedelta(minutes=30))
    assert clusters[0].alert_ids == (alert(1).id, alert(2).id)
    assert len(clusters) == 3  # alert 4 is the same subject but 400 minutes later
    by_target = office.triage.cluster("ana", AlertFilter(limit=100), ClusterKey.TARGET, timedelta(days=1))
    assert len(by_target) == 1 and by_target[0].key == "url.path=/login"
    (entry,) = office.audit.tail(1)
    assert entry.action == "search" and entry.details["cluster_by"] == "target"


def _queue(n: int) -> list[Alert]:
    """``n`` alerts over three severities and two crime codes, with ties on severity *and* time."""
    return [
        alert(
            100 + i,
            severity=(Severity.LOW, Severity.MEDIUM, Severity.CRITICAL)[i % 3],
            crime=CrimeCode.ILLEGAL_ACCESS if i % 4 else CrimeCode.COMPUTER_FRAUD,
            minutes=(i // 2) * 7,  # pairs share a first sighting: only the id orders them
        )
        for i in range(n)
    ]


def test_keyset_pages_walk_the_whole_queue_in_order_once(office: Office) -> None:
    """Paging by cursor visits every match exactly once, in queue order, whatever the ties."""
    office.alerts.save(_queue(47))
    flt = AlertFilter(crime_code=CrimeCode.ILLEGAL_ACCESS, min_severity=Severity.MEDIUM, limit=5)
    expected = sorted(
        (a for a in [*_queue(47), alert(1), alert(2)] if a.crime_code is CrimeCode.ILLEGAL_ACCESS and a.severity >= 2),
        key=lambda a: (a.severity, a.first_seen, a.id),
        reverse=True,
    )
    seen: list[str] = []
    page = office.triage.page("ana", flt, "queue")
    assert (page.total, page.total_capped) == (len(expected), False)
    while True:
        seen += [v.alert.id for v in page.views]
        if page.next is None:
            break
        assert len(page.views) == 5
        cursor = QueueCursor.decode(page.next.encode())  # what travels through a URL comes back equal
        assert cursor == page.next
        page = office.triage.page("ana", replace(flt, after=cursor), "queue")
    assert seen == [a.id for a in expected]
    pages = [e for e in office.audit.tail(20) if e.action == "search"]
    assert pages[-1].details["filter"]["after"] is not None and pages[0].details["filter"]["after"] is None
    assert sorted(i for e in pages for i in e.details["ids"]) == sorted(seen)  # who saw what, page by page


def test_queue_totals_are_capped_not_scanned(office: Office) -> None:
    office.alerts.save(_queue(30))
    with office.engine.connect() as conn:
        assert count_capped(conn, AlertFilter()) == (34, False)
        assert count_capped(conn, AlertFilter(), cap=10) == (10, True)
        assert count_capped(conn, AlertFilter(min_severity=Severity.CRITICAL), cap=10) == (10, False)  # exactly 10
        assert count_capped(conn, AlertFilter(min_severity=Severity.CRITICAL), cap=9) == (9, True)
        assert count_capped(conn, AlertFilter(crime_code=CrimeCode.COMPUTER_FRAUD)) == (9, False)
    assert office.triage.page("ana", AlertFilter(limit=3)).total == 34


def test_a_cursor_that_is_not_ours_is_the_callers_error() -> None:
    forged = base64.urlsafe_b64encode(f"9|{T0.isoformat()}|wh-1".encode()).decode()  # no severity 9
    for junk in ("", "not base64!", "bm9waXBlcw", forged):
        with pytest.raises(UsageError):
            QueueCursor.decode(junk)
