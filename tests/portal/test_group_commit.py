"""Group commit of submissions, on SQLite and PostgreSQL: many reporters at once, one audit chain.

Submissions from concurrent threads share transactions; each must still come back only once
stored, with its own evidence and custody, and the audit chain must verify as if every entry had
been appended alone. A failing item must fail only its own caller.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from watchhouse.core.errors import UsageError
from watchhouse.office.evidence.tables import custody_events
from watchhouse.office.portal.group_commit import GroupCommit
from watchhouse.office.portal.limits import ReplayedChallengeError, SubmitGuard, TooManyReportsError
from watchhouse.office.portal.models import Receipt, Upload
from watchhouse.office.portal.tables import portal_attachments, portal_events, portal_reports
from watchhouse.office.services import Office

from .portal_helpers import PNG, draft, make_office


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    found = make_office(db_url, tmp_path)
    yield found
    found.close()


def _submit(office: Office, n: int) -> tuple[Receipt, bytes]:
    data = PNG + n.to_bytes(4, "big")
    upload = Upload(f"shot{n}.png", "image/png", data)
    return office.portal.submit(draft(email=f"seller{n % 3}@fraud.example", uploads=(upload,)), f"203.0.113.{n}"), data


def test_concurrent_submissions_are_all_stored_with_one_verifiable_chain(office: Office) -> None:
    before = office.audit.count()
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda n: _submit(office, n), range(60)))
    references = {r.reference for r, _ in results}
    assert len(references) == 60
    with office.engine.connect() as conn:
        stored = set(conn.execute(select(portal_reports.c.reference)).scalars())
        attachments = {
            r.reference: r.evidence_id
            for r in conn.execute(select(portal_attachments.c.reference, portal_attachments.c.evidence_id))
        }
        collected = conn.execute(
            select(func.count()).select_from(custody_events).where(custody_events.c.event == "collected")
        ).scalar_one()
        event_seqs = list(conn.execute(select(portal_events.c.audit_seq)).scalars())
    assert references <= stored and set(attachments) == references
    assert collected == 60
    checks = office.evidence.verify("ana", list(attachments.values()))
    assert len(checks) == 60 and all(c.ok for c in checks)
    # one evidence entry + one report entry per submission, then the integrity check's own entry
    assert office.audit.count() == before + 121
    report = office.audit.verify()
    assert report.ok, report.problems
    for seq in event_seqs:  # each report's first event points at that report's own audit entry
        entry = office.audit.get(seq)
        assert entry.object_type == "portal-report" and entry.object_id in references


def test_same_attachment_twice_in_one_batch_is_one_evidence_item(office: Office) -> None:
    upload = Upload("same.png", "image/png", PNG + b"same")
    with ThreadPoolExecutor(max_workers=4) as pool:
        receipts = list(pool.map(lambda _: office.portal.submit(draft(uploads=(upload,)), "192.0.2.1"), range(4)))
    ids = {office.portal_desk.show("ana", r.reference).attachments[0].evidence_id for r in receipts}
    assert len(ids) == 1
    assert office.audit.verify().ok


@pytest.fixture
def second_worker(db_url: str, tmp_path: Path, office: Office) -> Iterator[Office]:
    """Another server process's view: its own engine and memory on the same database and keys."""
    found = make_office(db_url, tmp_path)
    yield found
    found.close()


def test_a_challenge_is_used_once_whichever_worker_sees_it(office: Office, second_worker: Office) -> None:
    guard = SubmitGuard(challenge="5f1c0ffee5f1c0ffee5f1c0f")
    first = office.portal.submit(draft(), "198.51.100.7", guard)
    with pytest.raises(ReplayedChallengeError, match="already submitted"):
        second_worker.portal.submit(draft(), "198.51.100.7", guard)
    with office.engine.connect() as conn:
        assert list(conn.execute(select(portal_reports.c.reference)).scalars()) == [first.reference]
    with ThreadPoolExecutor(max_workers=4) as pool:  # the same token raced within one batch
        races = list(pool.map(lambda _: _outcome(office, SubmitGuard(challenge="race" * 6)), range(4)))
    assert sorted(races) == ["accepted", "replayed", "replayed", "replayed"]


def _outcome(office: Office, guard: SubmitGuard, client: str = "198.51.100.8") -> str:
    try:
        office.portal.submit(draft(), client, guard)
    except ReplayedChallengeError:
        return "replayed"
    except TooManyReportsError:
        return "limited"
    return "accepted"


def test_the_per_client_limit_holds_across_workers(office: Office, second_worker: Office) -> None:
    limit = SubmitGuard(per_client=3, window=timedelta(minutes=10))
    got = [_outcome(w, limit, "192.0.2.50") for w in (office, second_worker, office, second_worker)]
    assert got == ["accepted", "accepted", "accepted", "limited"]
    assert _outcome(second_worker, limit, "192.0.2.51") == "accepted"  # another client is not affected
    assert _outcome(office, SubmitGuard(per_client=3, window=timedelta(0)), "192.0.2.50") == "accepted"
    assert office.audit.verify().ok


def test_a_failing_item_fails_only_its_own_caller() -> None:
    written: list[list[int]] = []
    gate = threading.Barrier(5)

    class FakeTransaction:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    def write(_conn: object, items: list[int]) -> list[int]:
        if 13 in items:
            raise UsageError("thirteen is refused")
        written.append(items)
        return [i * 10 for i in items]

    commit: GroupCommit[int, int] = GroupCommit(FakeTransaction, write)  # type: ignore[arg-type]

    def run(n: int) -> int | str:
        gate.wait()
        try:
            return commit.run(n)
        except UsageError as exc:
            return str(exc)

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(run, [11, 12, 13, 14, 15]))
    assert answers == [110, 120, "thirteen is refused", 140, 150]
    assert sorted(i for batch in written for i in batch) == [11, 12, 14, 15]
