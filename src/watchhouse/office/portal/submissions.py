"""Storing new reports: everything before the write lock, then many reports per transaction.

``prepare`` does what needs no lock (validation, the reference and status secret, contact
encryption, pseudonyms, and the attachments' bytes written to the evidence vault and fsynced).
``write`` then stores a whole batch of prepared submissions in one write-locked transaction
(see ``group_commit``): the abuse limits checked and recorded, the evidence items with their
custody events, the reports with their identifiers, attachment rows and first events, and one
segment of the audit chain. Until that transaction commits, the vault's new blobs are just
unreferenced files, and nobody has been told their report is stored.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from watchhouse.core.errors import UsageError
from watchhouse.office.audit.entries import Action
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.errors import PolicyError
from watchhouse.office.evidence.batch import SealRequest, seal_in
from watchhouse.office.evidence.models import Acquisition
from watchhouse.office.evidence.service import EvidenceService
from watchhouse.office.portal import limits
from watchhouse.office.portal.crypto import PortalKeys
from watchhouse.office.portal.limits import SubmitGuard
from watchhouse.office.portal.models import (
    CATEGORIES,
    RESTRICTED_CRIMES,
    IdentifierKind,
    Receipt,
    ReportDraft,
    ReportStatus,
    Upload,
)
from watchhouse.office.portal.records import REPORT_OBJECT, REPORTER_ACTOR
from watchhouse.office.portal.tables import portal_attachments, portal_events, portal_identifiers, portal_reports

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford base32: no I, L, O, U, so a reference read aloud or copied by hand survives."""
REFERENCE_LENGTH = 10


def new_reference() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Submission:
    """A validated submission waiting for the group commit; rows are ready to insert."""

    receipt: Receipt
    row: dict[str, Any]
    identifiers: list[dict[str, str]]
    seals: list[SealRequest]
    uploads: tuple[Upload, ...]
    audit_details: dict[str, Any]
    guard: SubmitGuard


def acquisition(upload: Upload, reference: str) -> Acquisition:
    return Acquisition(
        original_name=upload.name,
        media_type=upload.media_type,
        source=f"public report portal, report {reference}",
        method="upload by a member of the public",
        tool="watchhouse portal",
        details={"report": reference},
    )


def attachment_rows(reference: str, sealed: list[tuple[str, str, Upload]], now: datetime) -> list[dict[str, Any]]:
    return [
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
    ]


class Submissions:
    """Prepares submissions and writes batches of them (the group commit's ``write``)."""

    def __init__(
        self, audit: AuditLog, evidence: EvidenceService, keys: PortalKeys, clock: Callable[[], datetime]
    ) -> None:
        self._audit = audit
        self._evidence = evidence
        self._keys = keys
        self._clock = clock
        self._batches = 0

    def prepare(self, draft: ReportDraft, client: str, guard: SubmitGuard) -> Submission:
        """Everything a submission needs that does not need the write lock, done before taking it:
        validation, the reference and secret, contact encryption, pseudonyms, and the attachments'
        bytes written to the vault and fsynced (unreferenced until the commit records them)."""
        category = CATEGORIES.get(draft.category)
        if category is None:
            raise UsageError(f"unknown category {draft.category!r}")
        if not draft.bona_fide:
            raise UsageError("please confirm that the report is made in good faith")
        reference, secret = new_reference(), secrets.token_urlsafe(16)
        seals = [
            SealRequest(self._evidence.store_bytes(u.data), acquisition(u, reference), REPORTER_ACTOR, "public report")
            for u in draft.uploads
        ]
        restricted = category.crime in RESTRICTED_CRIMES
        now = self._clock()
        contact = draft.contact if draft.contact is not None and not draft.contact.is_empty() else None
        box = self._keys.seal(reference, contact) if contact is not None and draft.consent else None
        reporter = None
        if box is not None and contact is not None:
            reporter = self._keys.pseudonym("rp", contact.email.lower() or contact.phone or contact.name.lower())
        identifiers = set(draft.identifiers)
        identifiers.update((IdentifierKind.SHA256, s.digests.sha256) for s in seals)
        money = draft.money
        row = {
            "reference": reference,
            "secret_hash": secret_hash(secret),
            "status": ReportStatus.RECEIVED.value,
            "category": category.key,
            "crime_code": category.crime.value,
            "role": draft.role.value,
            "urgent": draft.urgent,
            "restricted": restricted,
            "narrative": draft.narrative,
            "occurred": draft.occurred,
            "locations": json.dumps(list(draft.locations)),
            "money_amount": money.amount if money else None,
            "money_currency": money.currency if money else None,
            "money_method": money.method if money else None,
            "money_paid_on": money.paid_on if money else None,
            "bona_fide": draft.bona_fide,
            "consent": draft.consent,
            "contact_key_id": box.key_id if box else None,
            "contact_nonce": box.nonce if box else None,
            "contact_ciphertext": box.ciphertext if box else None,
            "reporter": reporter,
            "client": self._keys.pseudonym("cl", client),
            "received_at": now,
            "updated_at": now,
        }
        return Submission(
            receipt=Receipt(reference, secret),
            row=row,
            identifiers=[{"reference": reference, "kind": k.value, "value": v} for k, v in sorted(identifiers)],
            seals=seals,
            uploads=draft.uploads,
            guard=guard,
            audit_details={
                "category": category.key,
                "urgent": draft.urgent,
                "restricted": restricted,
                "identifiers": len(identifiers),
            },
        )

    def write(self, conn: Connection, submissions: list[Submission]) -> list[Receipt | UsageError | PolicyError]:
        """One transaction for the whole batch: evidence, reports, rows and one audit chain segment.

        The chain's head is locked first, so the limits below are checked and recorded while no
        other process can store a report (SQLite's ``BEGIN IMMEDIATE`` already holds the lock).
        """
        chain = self._audit.chain(conn)
        now = self._clock()
        attempts = [limits.Attempt(sub.guard, sub.row["client"]) for sub in submissions]
        refused = limits.refusals(conn, attempts, now)
        batch = [sub for i, sub in enumerate(submissions) if i not in refused]
        self._batches += 1
        if self._batches % 256 == 0:
            limits.forget_expired(conn, now)
        limits.record(conn, [sub.guard for sub in batch], now)
        sealed = seal_in(conn, chain, [s for sub in batch for s in sub.seals], now)
        reports, identifiers, attachments, events = [], [], [], []
        at = 0
        for sub in batch:
            items = [item for item, _ in sealed[at : at + len(sub.seals)]]
            at += len(sub.seals)
            reference, received = sub.receipt.reference, sub.row["received_at"]
            entry = chain.add(
                REPORTER_ACTOR,
                Action.CREATE,
                REPORT_OBJECT,
                reference,
                None,
                {**sub.audit_details, "attachments": [item.id for item in items]},
            )
            reports.append(sub.row)
            identifiers.extend(sub.identifiers)
            attachments.extend(
                attachment_rows(
                    reference, [(i.id, i.sha256, u) for i, u in zip(items, sub.uploads, strict=True)], received
                )
            )
            events.append(
                {
                    "reference": reference,
                    "at": received,
                    "actor": REPORTER_ACTOR,
                    "kind": "submitted",
                    "new_status": ReportStatus.RECEIVED.value,
                    "body": None,
                    "audit_seq": entry.seq,
                }
            )
        chain.write()
        if reports:
            conn.execute(portal_reports.insert(), reports)
        for table, rows in (
            (portal_identifiers, identifiers),
            (portal_attachments, attachments),
            (portal_events, events),
        ):
            if rows:
                conn.execute(table.insert(), rows)
        return [refused.get(i) or sub.receipt for i, sub in enumerate(submissions)]
