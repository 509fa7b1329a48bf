"""Runtime view of the disclosure tables; their history lives in ``storage/migrations`` (rev 0007).

``disclosure_requests`` holds the current state of each request; everything that happens to it
(review, each approval, rejection, production, follow-up, closing) is a row of the append-only
``disclosure_events``, so approvals are counted from history rather than trusted from a column.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

disclosure_requests = Table(
    "disclosure_requests",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("authority_name", String(300), nullable=False),
    Column("authority_country", String(2), nullable=False),
    Column("request_type", String(20), nullable=False),
    Column("legal_instrument", String(200), nullable=True),
    Column("legal_reference", String(200), nullable=True),
    Column("legal_issuer", String(300), nullable=True),
    Column("scope_accounts", JSON, nullable=False),
    Column("scope_from", Date, nullable=False),
    Column("scope_to", Date, nullable=False),
    Column("scope_categories", JSON, nullable=False),
    Column("nondisclosure_order", Boolean, nullable=False),
    Column("nondisclosure_until", Date, nullable=True),
    Column("notice_decision", String(20), nullable=False),
    Column("notice_reason", Text, nullable=True),
    Column("notice_until", Date, nullable=True),
    Column("justification", Text, nullable=True),
    Column("status", String(20), nullable=False),
    Column("requester", String(200), nullable=False),
    Column("case_id", String(20), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("followup_due", DateTime(timezone=True), nullable=True),
    Column("followup_received_at", DateTime(timezone=True), nullable=True),
    Index("ix_disclosure_requests_received", "received_at"),
    Index("ix_disclosure_requests_status", "status"),
)

disclosure_events = Table(
    "disclosure_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(20), ForeignKey("disclosure_requests.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("target", String(200), nullable=True),
    Column("old_value", String(40), nullable=True),
    Column("new_value", String(40), nullable=True),
    Column("reason", Text, nullable=True),
    Column("audit_seq", BigInteger, nullable=False),
    Index("ix_disclosure_events_request", "request_id"),
)
