"""The reporter's side of the portal: submit a report, follow it, add to it, appeal a decision.

A submission is stored in two steps: each attachment's bytes are written to the evidence vault
first (fsynced and renamed into place), then the evidence items with their custody events, the
report, its identifiers, its attachment rows, its first event and the audit entries commit in
one write-locked transaction. That transaction is shared by every submission waiting at the
time (``group_commit``; the two steps are in ``submissions``): one disk sync for many reports.
The reporter gets a reference only after that commit, so an accepted report is never lost;
a crash between the steps leaves sealed bytes that no record points to, never a report without
its evidence.

The reference (10 characters, Crockford base32, 50 random bits) names the report; the status
secret (128 random bits) proves the reporter may read it. The office stores only the secret's
SHA-256 (a 128-bit random secret needs no slow hash: there is nothing to guess from).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update

from watchhouse.core.errors import UsageError
from watchhouse.office.audit.entries import Action
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.errors import NotFoundError, PolicyError, TransitionError
from watchhouse.office.evidence.service import EvidenceService
from watchhouse.office.portal import records
from watchhouse.office.portal.crypto import PortalKeys
from watchhouse.office.portal.group_commit import GroupCommit
from watchhouse.office.portal.limits import SubmitGuard
from watchhouse.office.portal.models import (
    CATEGORIES,
    STATUS_LABELS,
    Receipt,
    ReportDraft,
    ReporterView,
    ReportStatus,
    Upload,
)
from watchhouse.office.portal.records import REPORT_OBJECT, REPORTER_ACTOR
from watchhouse.office.portal.submissions import (
    Submission,
    Submissions,
    acquisition,
    attachment_rows,
    secret_hash,
)
from watchhouse.office.portal.tables import (
    portal_appeals,
    portal_attachments,
    portal_identifiers,
    portal_reports,
)

DECIDED = frozenset({ReportStatus.ACTION_TAKEN, ReportStatus.REFERRED, ReportStatus.NO_ACTION})


def normal_reference(text: str) -> str:
    """Accept what people type: lower case, spaces, dashes, O for 0 and I/L for 1."""
    cleaned = text.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("OIL", "011"))


class PortalService:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        evidence: EvidenceService,
        keys: PortalKeys,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._evidence = evidence
        self.keys = keys
        self._clock = clock
        self._new = Submissions(audit, evidence, keys, clock)
        self._submissions: GroupCommit[Submission, Receipt | UsageError | PolicyError] = GroupCommit(
            audit.transaction, self._new.write
        )

    def submit(self, draft: ReportDraft, client: str, guard: SubmitGuard | None = None) -> Receipt:
        """Store a report durably and return its receipt (only after the commit that stores it).

        ``guard`` carries the abuse limits (single-use challenge, reports per client) to check in
        the storing transaction itself, where they hold whichever server process took the request.
        """
        result = self._submissions.run(self._new.prepare(draft, client, guard or SubmitGuard()))
        if isinstance(result, Exception):
            raise result
        return result

    def _seal_uploads(self, uploads: tuple[Upload, ...], reference: str) -> list[tuple[str, str, Upload]]:
        """Seal each attachment as evidence: (evidence id, sha256, upload)."""
        out = []
        for upload in uploads:
            item, _ = self._evidence.seal(upload.data, acquisition(upload, reference), REPORTER_ACTOR, "public report")
            out.append((item.id, item.sha256, upload))
        return out

    def _attach(self, conn: Connection, reference: str, sealed: list[tuple[str, str, Upload]], now: datetime) -> None:
        if sealed:
            conn.execute(portal_attachments.insert(), attachment_rows(reference, sealed, now))

    def authenticate(self, reference: str, secret: str) -> str:
        """The normalised reference when ``secret`` opens it; one answer for every failure."""
        ref = normal_reference(reference)
        with self._engine.connect() as conn:
            stored = conn.execute(
                select(portal_reports.c.secret_hash).where(portal_reports.c.reference == ref)
            ).scalar_one_or_none()
        expected = stored or secret_hash(secrets.token_hex(16))
        if not hmac.compare_digest(expected, secret_hash(secret.strip())) or stored is None:
            raise NotFoundError("no report matches this reference and status code")
        return ref

    def status(self, reference: str) -> ReporterView:
        """What the reporter may see (call :meth:`authenticate` first); each look is audited."""
        with self._audit.transaction() as conn:
            report = records.load_report(conn, reference)
            decisions = records.decisions_of(conn, reference)
            appeals = records.appeals_of(conn, reference)
            additions = sum(1 for e in records.events_of(conn, reference) if e.kind == "reporter-added")
            self._audit.append(REPORTER_ACTOR, Action.READ, REPORT_OBJECT, reference, "status page", {}, conn=conn)
        latest = decisions[-1] if decisions else None
        may_appeal = (
            latest is not None
            and report.status in DECIDED
            and latest.appeal_of is None
            and not any(a.decision_id == latest.id for a in appeals)
        )
        return ReporterView(
            reference=reference,
            status=report.status,
            status_label=STATUS_LABELS[report.status.value],
            category_label=CATEGORIES[report.category].label,
            received_at=report.received_at,
            decisions=decisions,
            appeals=appeals,
            additions=additions,
            may_appeal=may_appeal,
        )

    def add_information(self, reference: str, text: str, uploads: tuple[Upload, ...]) -> None:
        if not text.strip() and not uploads:
            raise UsageError("write something or attach a file to add to the report")
        sealed = self._seal_uploads(uploads, reference)
        now = self._clock()
        with self._audit.transaction() as conn:
            report = records.load_report(conn, reference)
            if report.status is ReportStatus.INVALIDATED:
                raise TransitionError("this report was closed and cannot be added to")
            self._attach(conn, reference, sealed, now)
            if sealed:
                conn.execute(
                    portal_identifiers.insert(),
                    [{"reference": reference, "kind": "sha256", "value": s[1]} for s in sealed],
                )
            entry = self._audit.append(
                REPORTER_ACTOR,
                Action.CHANGE,
                REPORT_OBJECT,
                reference,
                None,
                {"op": "reporter-added", "attachments": [s[0] for s in sealed], "chars": len(text)},
                conn=conn,
            )
            records.add_event(conn, reference, now, REPORTER_ACTOR, "reporter-added", entry.seq, body=text or None)
            conn.execute(update(portal_reports).where(portal_reports.c.reference == reference).values(updated_at=now))

    def appeal(self, reference: str, text: str) -> int:
        """Appeal the latest decision (once); someone other than its decider will review it."""
        if not text.strip():
            raise UsageError("say why the decision should be looked at again")
        now = self._clock()
        with self._audit.transaction() as conn:
            report = records.load_report(conn, reference)
            decisions = records.decisions_of(conn, reference)
            if report.status not in DECIDED or not decisions:
                raise TransitionError("there is no decision on this report to appeal yet")
            latest = decisions[-1]
            if latest.appeal_of is not None:
                raise TransitionError("this decision already answers an appeal; it is final")
            if any(a.decision_id == latest.id for a in records.appeals_of(conn, reference)):
                raise TransitionError("this decision has already been appealed")
            new_id = conn.execute(
                portal_appeals.insert().values(
                    reference=reference, decision_id=latest.id, text=text, filed_at=now, status="open"
                )
            ).inserted_primary_key
            assert new_id is not None
            entry = self._audit.append(
                REPORTER_ACTOR,
                Action.CREATE,
                REPORT_OBJECT,
                reference,
                None,
                {"op": "appeal", "decision": latest.id},
                conn=conn,
            )
            records.add_event(conn, reference, now, REPORTER_ACTOR, "appealed", entry.seq, body=text)
            return int(new_id[0])
