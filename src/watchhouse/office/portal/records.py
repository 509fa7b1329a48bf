"""Reading portal rows back into models, shared by the reporter side and the office desk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.errors import NotFoundError
from watchhouse.office.portal.models import (
    Appeal,
    Attachment,
    Decision,
    Money,
    Outcome,
    Report,
    ReporterRole,
    ReportEvent,
    ReportStatus,
)
from watchhouse.office.portal.tables import (
    portal_appeals,
    portal_attachments,
    portal_decisions,
    portal_events,
    portal_identifiers,
    portal_links,
    portal_reports,
)

REPORT_OBJECT = "portal-report"
REPORTER_ACTOR = "portal:reporter"
"""Audit actor for anything a member of the public does (never an office account: names hold no ':')."""


def utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def report_from_row(row: Any) -> Report:
    money = None
    if row["money_amount"] is not None:
        money = Money(row["money_amount"], row["money_currency"], row["money_method"] or "", row["money_paid_on"])
    return Report(
        reference=row["reference"],
        status=ReportStatus(row["status"]),
        category=row["category"],
        crime_code=CrimeCode(row["crime_code"]),
        role=ReporterRole(row["role"]),
        urgent=bool(row["urgent"]),
        restricted=bool(row["restricted"]),
        narrative=row["narrative"],
        occurred=row["occurred"],
        locations=tuple(json.loads(row["locations"])),
        money=money,
        has_contact=row["contact_ciphertext"] is not None,
        reporter=row["reporter"],
        client=row["client"],
        received_at=utc(row["received_at"]),
        updated_at=utc(row["updated_at"]),
    )


def load_report(conn: Connection, reference: str) -> Report:
    row = conn.execute(select(portal_reports).where(portal_reports.c.reference == reference)).first()
    if row is None:
        raise NotFoundError(f"no report {reference!r}")
    return report_from_row(row._mapping)


def decisions_of(conn: Connection, reference: str) -> tuple[Decision, ...]:
    rows = conn.execute(
        select(portal_decisions).where(portal_decisions.c.reference == reference).order_by(portal_decisions.c.id)
    )
    return tuple(
        Decision(
            id=int(r.id),
            reference=r.reference,
            outcome=Outcome(r.outcome),
            reasons=r.reasons,
            public_reasons=r.public_reasons,
            decided_by=r.decided_by,
            decided_at=utc(r.decided_at),
            appeal_of=r.appeal_of,
        )
        for r in rows
    )


def appeal_from_row(r: Any) -> Appeal:
    return Appeal(
        id=int(r.id),
        reference=r.reference,
        decision_id=int(r.decision_id),
        text=r.text,
        filed_at=utc(r.filed_at),
        status=r.status,
        reviewed_by=r.reviewed_by,
        review_reasons=r.review_reasons,
    )


def appeals_of(conn: Connection, reference: str) -> tuple[Appeal, ...]:
    rows = conn.execute(
        select(portal_appeals).where(portal_appeals.c.reference == reference).order_by(portal_appeals.c.id)
    )
    return tuple(appeal_from_row(r) for r in rows)


def attachments_of(conn: Connection, reference: str) -> tuple[Attachment, ...]:
    rows = conn.execute(
        select(portal_attachments).where(portal_attachments.c.reference == reference).order_by(portal_attachments.c.id)
    )
    return tuple(
        Attachment(evidence_id=r.evidence_id, sha256=r.sha256, size=int(r.size), media_type=r.media_type, name=r.name)
        for r in rows
    )


def identifiers_of(conn: Connection, reference: str) -> tuple[tuple[str, str], ...]:
    rows = conn.execute(
        select(portal_identifiers.c.kind, portal_identifiers.c.value)
        .where(portal_identifiers.c.reference == reference)
        .order_by(portal_identifiers.c.kind, portal_identifiers.c.value)
    )
    return tuple((r.kind, r.value) for r in rows)


def events_of(conn: Connection, reference: str) -> tuple[ReportEvent, ...]:
    rows = conn.execute(
        select(portal_events).where(portal_events.c.reference == reference).order_by(portal_events.c.id)
    )
    return tuple(
        ReportEvent(at=utc(r.at), actor=r.actor, kind=r.kind, new_status=r.new_status, body=r.body) for r in rows
    )


def links_of(conn: Connection, reference: str) -> tuple[tuple[str, str], ...]:
    rows = conn.execute(
        select(portal_links.c.kind, portal_links.c.target)
        .where(portal_links.c.reference == reference)
        .order_by(portal_links.c.id)
    )
    return tuple((r.kind, r.target) for r in rows)


def add_event(
    conn: Connection,
    reference: str,
    at: datetime,
    actor: str,
    kind: str,
    audit_seq: int,
    new_status: str | None = None,
    body: str | None = None,
) -> None:
    conn.execute(
        portal_events.insert().values(
            reference=reference, at=at, actor=actor, kind=kind, new_status=new_status, body=body, audit_seq=audit_seq
        )
    )
