"""The reporter's side of the portal: submit a report, follow it, add to it, appeal a decision.

A submission is stored in two steps: each attachment is sealed as evidence first (its own custody
record), then the report, its identifiers, its attachment rows, its first event and its audit
entry commit in one write-locked transaction. The reporter gets a reference only after that
commit, so an accepted report is never lost; a crash between the steps leaves sealed evidence
that no report points to, never a report without its evidence.

The reference (10 characters, Crockford base32, 50 random bits) names the report; the status
secret (128 random bits) proves the reporter may read it. The office stores only the secret's
SHA-256 (a 128-bit random secret needs no slow hash: there is nothing to guess from).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update

from watchhouse.core.errors import UsageError
from watchhouse.office.audit.entries import Action
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.errors import NotFoundError, TransitionError
from watchhouse.office.evidence.models import Acquisition
from watchhouse.office.evidence.service import EvidenceService
from watchhouse.office.portal import records
from watchhouse.office.portal.crypto import PortalKeys
from watchhouse.office.portal.models import (
    CATEGORIES,
    RESTRICTED_CRIMES,
    STATUS_LABELS,
    IdentifierKind,
    Receipt,
    ReportDraft,
    ReporterView,
    ReportStatus,
    Upload,
)
from watchhouse.office.portal.records import REPORT_OBJECT, REPORTER_ACTOR
from watchhouse.office.portal.tables import portal_appeals, portal_attachments, portal_identifiers, portal_reports

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford base32: no I, L, O, U, so a reference read aloud or copied by hand survives."""
REFERENCE_LENGTH = 10
DECIDED = frozenset({ReportStatus.ACTION_TAKEN, ReportStatus.REFERRED, ReportStatus.NO_ACTION})


def new_reference() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))


def normal_reference(text: str) -> str:
    """Accept what people type: lower case, spaces, dashes, O for 0 and I/L for 1."""
    cleaned = text.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("OIL", "011"))


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


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

    def submit(self, draft: ReportDraft, client: str) -> Receipt:
        category = CATEGORIES.get(draft.category)
        if category is None:
            raise UsageError(f"unknown category {draft.category!r}")
        if not draft.bona_fide:
            raise UsageError("please confirm that the report is made in good faith")
        reference, secret = new_reference(), secrets.token_urlsafe(16)
        sealed = self._seal_uploads(draft.uploads, reference)
        restricted = category.crime in RESTRICTED_CRIMES
        now = self._clock()
        contact = draft.contact if draft.contact is not None and not draft.contact.is_empty() else None
        box = self.keys.seal(reference, contact) if contact is not None and draft.consent else None
        reporter = None
        if box is not None and contact is not None:
            reporter = self.keys.pseudonym("rp", contact.email.lower() or contact.phone or contact.name.lower())
        identifiers = set(draft.identifiers)
        identifiers.update((IdentifierKind.SHA256, u[1]) for u in sealed)
        money = draft.money
        with self._audit.transaction() as conn:
            conn.execute(
                portal_reports.insert().values(
                    reference=reference,
                    secret_hash=secret_hash(secret),
                    status=ReportStatus.RECEIVED.value,
                    category=category.key,
                    crime_code=category.crime.value,
                    role=draft.role.value,
                    urgent=draft.urgent,
                    restricted=restricted,
                    narrative=draft.narrative,
                    occurred=draft.occurred,
                    locations=json.dumps(list(draft.locations)),
                    money_amount=money.amount if money else None,
                    money_currency=money.currency if money else None,
                    money_method=money.method if money else None,
                    money_paid_on=money.paid_on if money else None,
                    bona_fide=draft.bona_fide,
                    consent=draft.consent,
                    contact_key_id=box.key_id if box else None,
                    contact_nonce=box.nonce if box else None,
                    contact_ciphertext=box.ciphertext if box else None,
                    reporter=reporter,
                    client=self.keys.pseudonym("cl", client),
                    received_at=now,
                    updated_at=now,
                )
            )
            if identifiers:
                conn.execute(
                    portal_identifiers.insert(),
                    [{"reference": reference, "kind": k.value, "value": v} for k, v in sorted(identifiers)],
                )
            self._attach(conn, reference, sealed, now)
            entry = self._audit.append(
                REPORTER_ACTOR,
                Action.CREATE,
                REPORT_OBJECT,
                reference,
                None,
                {
                    "category": category.key,
                    "urgent": draft.urgent,
                    "restricted": restricted,
                    "attachments": [s[0] for s in sealed],
                    "identifiers": len(identifiers),
                },
                conn=conn,
            )
            records.add_event(conn, reference, now, REPORTER_ACTOR, "submitted", entry.seq, ReportStatus.RECEIVED)
        return Receipt(reference, secret)

    def _seal_uploads(self, uploads: tuple[Upload, ...], reference: str) -> list[tuple[str, str, Upload]]:
        """Seal each attachment as evidence: (evidence id, sha256, upload)."""
        out = []
        for upload in uploads:
            acquisition = Acquisition(
                original_name=upload.name,
                media_type=upload.media_type,
                source=f"public report portal, report {reference}",
                method="upload by a member of the public",
                tool="watchhouse portal",
                details={"report": reference},
            )
            item, _ = self._evidence.seal(upload.data, acquisition, REPORTER_ACTOR, "public report")
            out.append((item.id, item.sha256, upload))
        return out

    def _attach(self, conn: Connection, reference: str, sealed: list[tuple[str, str, Upload]], now: datetime) -> None:
        if sealed:
            conn.execute(
                portal_attachments.insert(),
                [
                    {
                        "reference": reference,
                        "evidence_id": ev,
                        "sha256": sha,
                        "size": len(u.data),
                        "media_type": u.media_type,
                        "name": u.name,
                        "added_at": now,
                    }
                    for ev, sha, u in sealed
                ],
            )

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
