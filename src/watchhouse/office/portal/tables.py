"""Runtime view of the portal tables; their history lives in ``storage/migrations`` (0008_portal, 0011_portal_perf)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

portal_reports = Table(
    "portal_reports",
    metadata,
    Column("reference", String(12), primary_key=True),
    Column("secret_hash", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("category", String(40), nullable=False),
    Column("crime_code", String(40), nullable=False),
    Column("role", String(20), nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("restricted", Boolean, nullable=False),
    Column("narrative", Text, nullable=False),
    Column("occurred", String(40), nullable=True),
    Column("locations", Text, nullable=False),
    Column("money_amount", String(24), nullable=True),
    Column("money_currency", String(3), nullable=True),
    Column("money_method", String(40), nullable=True),
    Column("money_paid_on", String(10), nullable=True),
    Column("bona_fide", Boolean, nullable=False),
    Column("consent", Boolean, nullable=False),
    Column("contact_key_id", String(16), nullable=True),
    Column("contact_nonce", LargeBinary, nullable=True),
    Column("contact_ciphertext", LargeBinary, nullable=True),
    Column("reporter", String(40), nullable=True),
    Column("client", String(40), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

portal_identifiers = Table(
    "portal_identifiers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(12), ForeignKey("portal_reports.reference"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("value", String(300), nullable=False),
    UniqueConstraint("reference", "kind", "value", name="uq_portal_identifier"),
)

portal_attachments = Table(
    "portal_attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(12), ForeignKey("portal_reports.reference"), nullable=False),
    Column("evidence_id", String(40), ForeignKey("evidence_items.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("name", String(255), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

portal_events = Table(
    "portal_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(12), ForeignKey("portal_reports.reference"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("new_status", String(20), nullable=True),
    Column("body", Text, nullable=True),
    Column("audit_seq", BigInteger, nullable=False),
)

portal_decisions = Table(
    "portal_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(12), ForeignKey("portal_reports.reference"), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("reasons", Text, nullable=False),
    Column("public_reasons", Text, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("appeal_of", Integer, nullable=True),
)

portal_appeals = Table(
    "portal_appeals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(12), ForeignKey("portal_reports.reference"), nullable=False),
    Column("decision_id", Integer, ForeignKey("portal_decisions.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("reviewed_by", String(200), nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("review_reasons", Text, nullable=True),
)

portal_links = Table(
    "portal_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(12), ForeignKey("portal_reports.reference"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("target", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("reference", "kind", "target", name="uq_portal_link"),
)

portal_restricted_readers = Table(
    "portal_restricted_readers",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("granted_by", String(200), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
)

portal_challenge_uses = Table(
    "portal_challenge_uses",
    metadata,
    Column("salt", String(32), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
"""Each form challenge used for an accepted report, until it expires: replay refused across processes."""

INDEXES = (
    Index("ix_portal_identifiers_value", portal_identifiers.c.kind, portal_identifiers.c.value),
    Index("ix_portal_identifiers_reference", portal_identifiers.c.reference),
    Index("ix_portal_attachments_reference", portal_attachments.c.reference),
    Index("ix_portal_events_reference", portal_events.c.reference),
    Index("ix_portal_decisions_reference", portal_decisions.c.reference),
    Index("ix_portal_appeals_reference", portal_appeals.c.reference),
    Index("ix_portal_reports_status", portal_reports.c.status),
    Index("ix_portal_reports_received", portal_reports.c.received_at),
    Index("ix_portal_reports_client_received", portal_reports.c.client, portal_reports.c.received_at),
    Index("ix_portal_challenge_uses_expires", portal_challenge_uses.c.expires_at),
)
